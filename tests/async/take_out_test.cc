// TakeOutWhere (src/async/take_out.h): what the remote transfer thread uses
// to abort the requests of cancelled reads while other reads are cancelled
// on other threads.
#include "take_out.h"

#include <deque>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace halio {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(TakeOutWhere, ReturnsThePickedAndKeepsTheRestInOrder) {
  std::vector<int> items = {1, 2, 3, 4, 5, 6};
  const std::vector<int> taken = TakeOutWhere(items, [](int value) { return value % 2 == 0; });
  EXPECT_THAT(taken, ElementsAre(2, 4, 6));
  EXPECT_THAT(items, ElementsAre(1, 3, 5));
}

TEST(TakeOutWhere, AllNoneAndEmpty) {
  std::deque<int> items = {7, 8};
  EXPECT_THAT(TakeOutWhere(items, [](int) { return false; }), IsEmpty());
  EXPECT_THAT(items, ElementsAre(7, 8));
  EXPECT_THAT(TakeOutWhere(items, [](int) { return true; }), ElementsAre(7, 8));
  EXPECT_THAT(items, IsEmpty());
  EXPECT_THAT(TakeOutWhere(items, [](int) { return true; }), IsEmpty());
}

// The predicate's answer changes while the list is walked, as a read's
// "cancelled" flag does when another thread cancels it meanwhile: each
// element is asked about once, and whatever left the list was returned.
// (The code this replaced asked twice, once to collect and once to erase,
// and so dropped elements that turned "cancelled" in between.)
TEST(TakeOutWhere, AsksOncePerElementSoAnAnswerChangingMidwayLosesNothing) {
  for (size_t flip = 0; flip <= 6; ++flip) {
    std::deque<int> items = {0, 1, 2, 3, 4, 5};
    size_t asked = 0;
    // "Cancelled" for everything from the flip-th question on.
    const std::vector<int> taken = TakeOutWhere(items, [&](int) { return asked++ >= flip; });
    EXPECT_EQ(asked, 6u) << "flip " << flip;
    EXPECT_EQ(taken.size() + items.size(), 6u) << "flip " << flip << ": an element was lost";
    for (size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i], static_cast<int>(i));
    for (size_t i = 0; i < taken.size(); ++i) {
      EXPECT_EQ(taken[i], static_cast<int>(items.size() + i));
    }
  }
}

}  // namespace
}  // namespace halio
