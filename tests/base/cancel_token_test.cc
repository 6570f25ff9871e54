// CancelToken: callbacks run once on Cancel, registrations after it are
// refused, a registration gone is never called, scopes nest per thread.
#include "cancel_token.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace halio {
namespace {

struct Seen {
  int calls = 0;
  std::string why;
};

void Note(void* user_data, const char* why) {
  Seen& seen = *static_cast<Seen*>(user_data);
  ++seen.calls;
  seen.why = why;
}

TEST(CancelToken, CancelRunsEveryLiveRegistrationOnceWithTheReason) {
  CancelToken token;
  Seen first, second, gone;
  {
    const CancelToken::Registration removed(&token, &Note, &gone);
    EXPECT_TRUE(removed.active());
  }
  const CancelToken::Registration a(&token, &Note, &first);
  const CancelToken::Registration b(&token, &Note, &second);
  EXPECT_FALSE(token.cancelled());
  EXPECT_EQ(token.why(), nullptr);
  token.Cancel("shutting down");
  token.Cancel("a second time: ignored");
  EXPECT_TRUE(token.cancelled());
  EXPECT_STREQ(token.why(), "shutting down");
  EXPECT_EQ(first.calls, 1);
  EXPECT_EQ(second.calls, 1);
  EXPECT_EQ(first.why, "shutting down");
  EXPECT_EQ(gone.calls, 0);
}

TEST(CancelToken, RegistrationAfterCancelIsRefusedAndNullRegistersNothing) {
  CancelToken token;
  token.Cancel("done");
  Seen seen;
  const CancelToken::Registration late(&token, &Note, &seen);
  EXPECT_FALSE(late.active());
  EXPECT_EQ(seen.calls, 0);
  const CancelToken::Registration none(nullptr, &Note, &seen);
  EXPECT_TRUE(none.active());
}

TEST(CancelToken, ScopesNestAndArePerThread) {
  CancelToken outer, inner;
  EXPECT_EQ(CurrentCancelToken(), nullptr);
  {
    const CancelScope a(&outer);
    EXPECT_EQ(CurrentCancelToken(), &outer);
    {
      const CancelScope b(&inner);
      EXPECT_EQ(CurrentCancelToken(), &inner);
      CancelToken* elsewhere = &outer;
      std::thread([&] { elsewhere = CurrentCancelToken(); }).join();
      EXPECT_EQ(elsewhere, nullptr);
    }
    EXPECT_EQ(CurrentCancelToken(), &outer);
  }
  EXPECT_EQ(CurrentCancelToken(), nullptr);
}

// Registrations come and go on several threads while another cancels: each
// is called at most once, none after its destructor returned (the counter
// it points to is freed right after; ASan/TSan would see it), and every
// thread's registrations are refused once the token is cancelled.
TEST(CancelToken, ConcurrentRegistrationsAndCancel) {
  CancelToken token;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (bool refused_here = false; !refused_here;) {
        auto count = std::make_unique<std::atomic<int>>(0);
        {
          const CancelToken::Registration registration(
              &token, [](void* c, const char*) { ++*static_cast<std::atomic<int>*>(c); },
              count.get());
          refused_here = !registration.active();
        }
        EXPECT_LE(count->load(), refused_here ? 0 : 1);
      }
      ++refused;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  token.Cancel("stop");
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(refused.load(), 4);
}

}  // namespace
}  // namespace halio
