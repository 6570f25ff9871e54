// gtest matchers and macros for halio::Status and halio::Result<T>.
//
//   EXPECT_THAT(status, IsOk());
//   EXPECT_THAT(result, StatusIs(StatusCode::kOutOfRange, HasSubstr("end of file")));
//   HALIO_ASSERT_OK(DoThing());
//   HALIO_ASSERT_OK_AND_ASSIGN(auto value, MakeValue());
#ifndef HALIO_TESTS_TESTING_STATUS_MATCHERS_H_
#define HALIO_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "halio/status.h"

namespace halio {

inline void PrintTo(const Status& status, std::ostream* os) {
  *os << status.ToString(/*with_location=*/true);
}
inline void PrintTo(StatusCode code, std::ostream* os) { *os << StatusCodeName(code); }
template <typename T>
void PrintTo(const Result<T>& result, std::ostream* os) {
  if (result.ok()) {
    *os << "OK (value)";
  } else {
    *os << result.status().ToString(true);
  }
}

namespace testing_internal {

inline const Status& GetStatus(const Status& status) { return status; }
template <typename T>
const Status& GetStatus(const Result<T>& result) {
  return result.status();
}

}  // namespace testing_internal

MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const Status& status = testing_internal::GetStatus(arg);
  if (!status.ok()) *result_listener << status.ToString(true);
  return status.ok();
}

MATCHER_P(StatusIs, code,
          std::string(negation ? "does not have" : "has") + " code " +
              StatusCodeName(code)) {
  const Status& status = testing_internal::GetStatus(arg);
  *result_listener << status.ToString(true);
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string(negation ? "does not have" : "has") + " code " +
               StatusCodeName(code) + " and a matching message") {
  const Status& status = testing_internal::GetStatus(arg);
  *result_listener << status.ToString(true);
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

}  // namespace halio

#define HALIO_EXPECT_OK(expr) EXPECT_THAT((expr), ::halio::IsOk())
#define HALIO_ASSERT_OK(expr) ASSERT_THAT((expr), ::halio::IsOk())

#define HALIO_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                   \
  HALIO_ASSERT_OK_AND_ASSIGN_IMPL_(HALIO_STATUS_CONCAT_(halio_test_result_, __LINE__), \
                                   lhs, rexpr)
#define HALIO_ASSERT_OK_AND_ASSIGN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                     \
  ASSERT_THAT(result, ::halio::IsOk());                      \
  lhs = std::move(result).value()

#endif  // HALIO_TESTS_TESTING_STATUS_MATCHERS_H_
