// The one errno -> Status mapping.
#include "errno_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Mapping {
  int error_number;
  StatusCode code;
};

class ErrnoMappingTest : public ::testing::TestWithParam<Mapping> {};

TEST_P(ErrnoMappingTest, CodeMatches) {
  EXPECT_EQ(ErrnoToStatusCode(GetParam().error_number), GetParam().code)
      << "errno " << GetParam().error_number;
}

TEST_P(ErrnoMappingTest, StatusHasTheCode) {
  Status status = ErrnoToStatus(GetParam().error_number, "pread of /x [0, 8)");
  EXPECT_THAT(status, StatusIs(GetParam().code));
}

INSTANTIATE_TEST_SUITE_P(
    Canonical, ErrnoMappingTest,
    ::testing::Values(Mapping{ENOENT, StatusCode::kNotFound},
                      Mapping{EACCES, StatusCode::kPermissionDenied},
                      Mapping{EPERM, StatusCode::kPermissionDenied},
                      Mapping{ENOSPC, StatusCode::kResourceExhausted},
                      Mapping{ENOMEM, StatusCode::kResourceExhausted},
                      Mapping{EBADF, StatusCode::kFailedPrecondition},
                      Mapping{EFBIG, StatusCode::kOutOfRange},
                      Mapping{EOVERFLOW, StatusCode::kOutOfRange},
                      Mapping{EIO, StatusCode::kDataLoss},
                      Mapping{9999, StatusCode::kUnknown}),
    [](const ::testing::TestParamInfo<Mapping>& param_info) {
      return "errno" + std::to_string(param_info.param.error_number);
    });

TEST(ErrnoStatusTest, ZeroIsOkCodeButNeverAnOkStatus) {
  EXPECT_EQ(ErrnoToStatusCode(0), StatusCode::kOk);
  // A caller that passes a stale errno of 0 must still get an error.
  EXPECT_THAT(ErrnoToStatus(0, "close fd 3"), StatusIs(StatusCode::kUnknown));
}

TEST(ErrnoStatusTest, MessageNamesWhatStrerrorAndErrno) {
  Status status = ErrnoToStatus(ENOENT, "open /data/model.bin");
  std::string message(status.message());
  EXPECT_THAT(message, StartsWith("open /data/model.bin: "));
  EXPECT_THAT(message, HasSubstr(std::strerror(ENOENT)));
  EXPECT_THAT(message, HasSubstr("(errno " + std::to_string(ENOENT) + ")"));
}

TEST(ErrnoStatusTest, MessageCarriesHintWhereKnown) {
  EXPECT_THAT(ErrnoToStatus(ENOSPC, "pwrite of /x [0, 8)"),
              StatusIs(StatusCode::kResourceExhausted, HasSubstr("free space")));
  EXPECT_THAT(ErrnoToStatus(EIO, "pread of /x [0, 8)"),
              StatusIs(StatusCode::kDataLoss, HasSubstr("I/O error")));
}

TEST(ErrnoStatusTest, UnknownErrnoStillNamesTheNumber) {
  Status status = ErrnoToStatus(9999, "ioctl fd 4");
  EXPECT_THAT(status, StatusIs(StatusCode::kUnknown, HasSubstr("ioctl fd 4")));
  EXPECT_THAT(std::string(status.message()), HasSubstr(std::strerror(9999)));
  EXPECT_THAT(std::string(status.message()), EndsWith("(errno 9999)"));
}

TEST(ErrnoStatusTest, LocationIsTheCaller) {
  Status status = ErrnoToStatus(EBADF, "fstat fd 9"); const int line = __LINE__;
  EXPECT_THAT(std::string(status.location().file), EndsWith("errno_status_test.cc"));
  EXPECT_EQ(status.location().line, line);
}

}  // namespace
}  // namespace halio
