// Status, Result<T> and the HALIO_RETURN_IF_ERROR / HALIO_ASSIGN_OR_RETURN
// macros.
#include "halio/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// --- Status -----------------------------------------------------------------

TEST(StatusTest, DefaultConstructedIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_TRUE(status.message().empty());
  EXPECT_EQ(status.ToString(), "OK");
  EXPECT_EQ(status, Status::Ok());
}

TEST(StatusTest, OkIsAPointerWide) {
  // OK is a null pointer: the whole object is one pointer, nothing allocated.
  static_assert(sizeof(Status) == sizeof(void*));
  Status status;
  EXPECT_EQ(status.location().line, 0);
}

TEST(StatusTest, OkCodeWithMessageIsOk) {
  Status status(StatusCode::kOk, "x");
  EXPECT_TRUE(status.ok());
  EXPECT_TRUE(status.message().empty());
  EXPECT_EQ(status, Status());
}

TEST(StatusTest, NonOkCarriesCodeMessageAndLocation) {
  Status status = NotFoundError("no such tensor 'w'"); const int line = __LINE__;
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such tensor 'w'");
  EXPECT_THAT(std::string(status.location().file), EndsWith("status_test.cc"));
  EXPECT_GT(status.location().line, 0);
  EXPECT_EQ(status.location().line, line);
}

TEST(StatusTest, ConstructorRecordsCallerLocation) {
  Status status(StatusCode::kDataLoss, "torn write"); const int line = __LINE__;
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.location().file), EndsWith("status_test.cc"));
  EXPECT_EQ(status.location().line, line);
}

TEST(StatusTest, CopyIsDeepAndEqual) {
  Status original = OutOfRangeError("offset 9 past 8");
  Status copy(original);
  EXPECT_EQ(copy, original);
  EXPECT_EQ(copy.location().line, original.location().line);
  // Annotating the copy leaves the original alone.
  copy.Annotate("ctx");
  EXPECT_EQ(original.message(), "offset 9 past 8");
  EXPECT_NE(copy, original);
}

TEST(StatusTest, CopyAssignment) {
  Status target = InternalError("old");
  Status source = AbortedError("new");
  target = source;
  EXPECT_EQ(target.code(), StatusCode::kAborted);
  EXPECT_EQ(target.message(), "new");
  target = Status();
  EXPECT_TRUE(target.ok());
  Status& self = source;
  source = self;  // self-assignment keeps the value
  EXPECT_EQ(source.message(), "new");
}

TEST(StatusTest, MoveTransfersTheError) {
  Status original = PermissionDeniedError("read-only");
  Status moved(std::move(original));
  EXPECT_EQ(moved.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(moved.message(), "read-only");
  Status assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(assigned.message(), "read-only");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(InvalidArgumentError("a"), InvalidArgumentError("a"));
  EXPECT_NE(InvalidArgumentError("a"), InvalidArgumentError("b"));
  EXPECT_NE(InvalidArgumentError("a"), NotFoundError("a"));
  EXPECT_NE(InvalidArgumentError("a"), Status());
}

TEST(StatusTest, ToStringWithoutLocation) {
  EXPECT_EQ(DataLossError("bad crc").ToString(), "DATA_LOSS: bad crc");
  EXPECT_EQ(CancelledError("").ToString(), "CANCELLED");
}

TEST(StatusTest, ToStringWithLocation) {
  Status status = UnavailableError("no ring"); const int line = __LINE__;
  std::string text = status.ToString(/*with_location=*/true);
  EXPECT_THAT(text, StartsWith("UNAVAILABLE: no ring ["));
  EXPECT_THAT(text, EndsWith("status_test.cc:" + std::to_string(line) + "]"));
  EXPECT_EQ(Status().ToString(true), "OK");
}

TEST(StatusTest, AnnotatePrefixesContext) {
  Status status = NotFoundError("open /x: No such file");
  status.Annotate("loading tensor w");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "loading tensor w: open /x: No such file");
  status.Annotate("model m");
  EXPECT_EQ(status.message(), "model m: loading tensor w: open /x: No such file");
}

TEST(StatusTest, AnnotateIsNoOpOnOkAndEmptyContext) {
  Status ok;
  ok.Annotate("context");
  EXPECT_TRUE(ok.ok());
  Status error = InternalError("boom");
  error.Annotate("");
  EXPECT_EQ(error.message(), "boom");
}

TEST(StatusTest, JoinStatusKeepsBothMessages) {
  Status primary = DataLossError("read failed"); const int line = __LINE__;
  Status joined = JoinStatus(primary, ResourceExhaustedError("close failed"));
  EXPECT_EQ(joined.code(), StatusCode::kDataLoss);
  EXPECT_THAT(std::string(joined.message()), HasSubstr("read failed"));
  EXPECT_THAT(std::string(joined.message()),
              HasSubstr("while cleaning up: RESOURCE_EXHAUSTED: close failed"));
  EXPECT_EQ(joined.location().line, line);
}

TEST(StatusTest, JoinStatusPrimaryOkYieldsCleanup) {
  Status joined = JoinStatus(Status(), FailedPreconditionError("close: EBADF"));
  EXPECT_THAT(joined, StatusIs(StatusCode::kFailedPrecondition, "close: EBADF"));
}

TEST(StatusTest, JoinStatusCleanupOkYieldsPrimary) {
  Status joined = JoinStatus(AbortedError("first"), Status());
  EXPECT_THAT(joined, StatusIs(StatusCode::kAborted, "first"));
  EXPECT_THAT(JoinStatus(Status(), Status()), IsOk());
}

TEST(StatusTest, EveryStatusCodeName) {
  const std::pair<StatusCode, const char*> names[] = {
      {StatusCode::kOk, "OK"},
      {StatusCode::kCancelled, "CANCELLED"},
      {StatusCode::kUnknown, "UNKNOWN"},
      {StatusCode::kInvalidArgument, "INVALID_ARGUMENT"},
      {StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
      {StatusCode::kNotFound, "NOT_FOUND"},
      {StatusCode::kAlreadyExists, "ALREADY_EXISTS"},
      {StatusCode::kPermissionDenied, "PERMISSION_DENIED"},
      {StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED"},
      {StatusCode::kFailedPrecondition, "FAILED_PRECONDITION"},
      {StatusCode::kAborted, "ABORTED"},
      {StatusCode::kOutOfRange, "OUT_OF_RANGE"},
      {StatusCode::kUnimplemented, "UNIMPLEMENTED"},
      {StatusCode::kInternal, "INTERNAL"},
      {StatusCode::kUnavailable, "UNAVAILABLE"},
      {StatusCode::kDataLoss, "DATA_LOSS"},
  };
  for (const auto& [code, name] : names) {
    EXPECT_STREQ(StatusCodeName(code), name) << static_cast<int>(code);
  }
  EXPECT_STREQ(StatusCodeName(static_cast<StatusCode>(99)), "UNKNOWN_CODE");
  EXPECT_STREQ(StatusCodeName(static_cast<StatusCode>(-1)), "UNKNOWN_CODE");
}

TEST(StatusTest, NamedConstructorsUseTheirCode) {
  EXPECT_EQ(CancelledError("m").code(), StatusCode::kCancelled);
  EXPECT_EQ(UnknownError("m").code(), StatusCode::kUnknown);
  EXPECT_EQ(InvalidArgumentError("m").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DeadlineExceededError("m").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(NotFoundError("m").code(), StatusCode::kNotFound);
  EXPECT_EQ(AlreadyExistsError("m").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(PermissionDeniedError("m").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ResourceExhaustedError("m").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(FailedPreconditionError("m").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(AbortedError("m").code(), StatusCode::kAborted);
  EXPECT_EQ(OutOfRangeError("m").code(), StatusCode::kOutOfRange);
  EXPECT_EQ(UnimplementedError("m").code(), StatusCode::kUnimplemented);
  EXPECT_EQ(InternalError("m").code(), StatusCode::kInternal);
  EXPECT_EQ(UnavailableError("m").code(), StatusCode::kUnavailable);
  EXPECT_EQ(DataLossError("m").code(), StatusCode::kDataLoss);
}

// --- Result<T> --------------------------------------------------------------

TEST(ResultTest, HoldsAValue) {
  Result<int> result = 42;
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result.status(), IsOk());
  EXPECT_EQ(result.value(), 42);
  EXPECT_EQ(*result, 42);
}

TEST(ResultTest, ArrowReachesTheValue) {
  Result<std::string> result = std::string("halio");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->size(), 5u);
}

TEST(ResultTest, ConvertsFromConstructibleType) {
  Result<std::string> result = "from a C string";
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, "from a C string");
}

TEST(ResultTest, HoldsAnError) {
  Result<int> result = OutOfRangeError("offset 10 past 8");
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result, StatusIs(StatusCode::kOutOfRange, "offset 10 past 8"));
}

TEST(ResultTest, FromOkStatusIsInternal) {
  Result<int> result = Status();
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result, StatusIs(StatusCode::kInternal, HasSubstr("OK status")));
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(7);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(**result, 7);
  std::unique_ptr<int> taken = std::move(result).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
}

TEST(ResultTest, MoveOnlyErrorStatusCanBeTaken) {
  Result<std::unique_ptr<int>> result = NotFoundError("gone");
  Status status = std::move(result).status();
  EXPECT_THAT(status, StatusIs(StatusCode::kNotFound, "gone"));
}

// One or more digits: gtest's simple regex on Windows has \d but no
// brackets, POSIX extended regex brackets but no \d.
#if defined(_WIN32)
#define kDigits "\\d+"
#else
#define kDigits "[0-9]+"
#endif

// Reading the value of a failed Result is a programming error: it stops the
// program with the status (and where it was made) on stderr, as Abseil's
// StatusOr does, instead of dereferencing an empty optional.
TEST(ResultDeathTest, EveryAccessorOnAnErrorStopsWithTheStatus) {
  Result<std::string> result = NotFoundError("no tensor matches 'x*'");
  const Result<std::string>& constant = result;
  const char* printed =
      "halio: Result accessed with error: NOT_FOUND: no tensor matches 'x\\*' "
      "\\[.*status_test.cc:" kDigits "\\]";
  EXPECT_DEATH(result.value().size(), printed);
  EXPECT_DEATH(constant.value().size(), printed);
  EXPECT_DEATH(std::move(result).value().size(), printed);
  EXPECT_DEATH((*result).size(), printed);
  EXPECT_DEATH((*constant).size(), printed);
  EXPECT_DEATH((*std::move(result)).size(), printed);
  EXPECT_DEATH(result->size(), printed);
  EXPECT_DEATH(constant->size(), printed);
}

TEST(ResultDeathTest, ValueAfterTheStatusWasMovedOutStops) {
  Result<std::unique_ptr<int>> result = NotFoundError("gone");
  Status taken = std::move(result).status();
  EXPECT_THAT(taken, StatusIs(StatusCode::kNotFound));
  EXPECT_DEATH(result->get(), "halio: Result accessed with error: no value \\(its status was "
                              "moved out\\)");
}

// --- Macros -----------------------------------------------------------------

Status Check(bool fail, int* reached) {
  if (fail) return InvalidArgumentError("bad input");
  ++*reached;
  return Status();
}

Status TwoChecks(bool fail_first, int* reached) {
  HALIO_RETURN_IF_ERROR(Check(fail_first, reached));
  HALIO_RETURN_IF_ERROR(Check(false, reached));
  return Status();
}

Result<int> ParsePositive(int value) {
  if (value <= 0) return InvalidArgumentError("not positive: " + std::to_string(value));
  return value;
}

Result<int> DoubledPlusOne(int value, bool* after_assign) {
  HALIO_ASSIGN_OR_RETURN(int parsed, ParsePositive(value));
  *after_assign = true;
  return parsed * 2 + 1;
}

Result<std::unique_ptr<int>> MakeBox(int value) {
  if (value < 0) return OutOfRangeError("negative");
  return std::make_unique<int>(value);
}

Result<int> Unbox(int value) {
  HALIO_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(value));
  return *box;
}

TEST(MacroTest, ReturnIfErrorContinuesOnOk) {
  int reached = 0;
  EXPECT_THAT(TwoChecks(false, &reached), IsOk());
  EXPECT_EQ(reached, 2);
}

TEST(MacroTest, ReturnIfErrorReturnsTheError) {
  int reached = 0;
  EXPECT_THAT(TwoChecks(true, &reached),
              StatusIs(StatusCode::kInvalidArgument, "bad input"));
  EXPECT_EQ(reached, 0);
}

TEST(MacroTest, AssignOrReturnAssignsOnOk) {
  bool after_assign = false;
  Result<int> result = DoubledPlusOne(20, &after_assign);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(*result, 41);
  EXPECT_TRUE(after_assign);
}

TEST(MacroTest, AssignOrReturnReturnsTheError) {
  bool after_assign = false;
  Result<int> result = DoubledPlusOne(-3, &after_assign);
  EXPECT_THAT(result, StatusIs(StatusCode::kInvalidArgument, "not positive: -3"));
  EXPECT_FALSE(after_assign);
}

TEST(MacroTest, AssignOrReturnMovesMoveOnlyValues) {
  Result<int> ok = Unbox(5);
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(*ok, 5);
  EXPECT_THAT(Unbox(-1), StatusIs(StatusCode::kOutOfRange, "negative"));
}

TEST(MacroTest, TestAssertMacrosWork) {
  HALIO_ASSERT_OK(Status());
  HALIO_ASSERT_OK_AND_ASSIGN(int value, ParsePositive(3));
  EXPECT_EQ(value, 3);
}

}  // namespace
}  // namespace halio
