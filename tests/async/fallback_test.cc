// Backend fallback when io_uring is blocked. tests/meson.build runs this
// binary through seccomp_launcher, which makes io_uring_setup fail with EPERM
// (as Docker's default seccomp profile does) or ENOSYS (as a kernel without
// io_uring does) and says which in HALIO_EXPECT_URING_BLOCKED. Run directly,
// every case skips: with io_uring working there is nothing to fall back from.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio/file.h"
#include "halio/io_backend.h"
#include "halio_config.h"
#include "testing/matrix.h"
#include "fd_transfer.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// What `auto` must land on once io_uring is out: asio when it was built in.
constexpr IoBackend kExpectedFallback = HALIO_HAVE_ASIO ? IoBackend::kAsio : IoBackend::kSync;

std::string IoUringDisabledSysctl() {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  std::string value;
  in >> value;
  return value;
}

class UringBlockedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* blocked = std::getenv("HALIO_EXPECT_URING_BLOCKED");
    if (blocked == nullptr) {
      GTEST_SKIP() << "run through seccomp_launcher (meson test seccomp_eperm_fallback)";
    }
    blocked_ = blocked;
    ASSERT_TRUE(blocked_ == "EPERM" || blocked_ == "ENOSYS")
        << "HALIO_EXPECT_URING_BLOCKED=" << blocked_ << "; expected EPERM or ENOSYS";
    // These cases test `auto` itself; a user's override would change the pick.
    ::unsetenv("HALIO_BACKEND");
  }

  // The explanation the io_uring engine must give for the blocked errno. An
  // EPERM is blamed on the sysctl when that is set, else on seccomp.
  std::string ExpectedExplanation() const {
    if (blocked_ == "ENOSYS") return "no io_uring";
    const std::string sysctl = IoUringDisabledSysctl();
    return !sysctl.empty() && sysctl != "0" ? "kernel.io_uring_disabled" : "seccomp";
  }
  std::string ExpectedErrno() const {
    return blocked_ == "EPERM" ? "(errno 1)" : "(errno 38)";
  }

  std::string blocked_;
};

TEST_F(UringBlockedTest, ProbeGivesTheErrnoAndTheReason) {
  if (!HALIO_HAVE_URING) GTEST_SKIP() << "built without liburing: io_uring_setup is never called";
  BackendAvailability uring = IoEngine::Probe(IoBackend::kIoUring);
  EXPECT_EQ(uring.backend, IoBackend::kIoUring);
  EXPECT_THAT(uring.status,
              StatusIs(StatusCode::kUnavailable,
                       AllOf(HasSubstr("io_uring_setup"), HasSubstr(ExpectedErrno()),
                             HasSubstr(ExpectedExplanation()))));
}

TEST_F(UringBlockedTest, ForcedIoUringIsUnavailableNotASilentFallback) {
  IoEngineOptions options;
  options.backend = IoBackend::kIoUring;
  options.use_environment = false;
  EXPECT_THAT(IoEngine::Create(options),
              StatusIs(StatusCode::kUnavailable, HasSubstr("io_uring")));
}

TEST_F(UringBlockedTest, AutoFallsBackAndSaysWhy) {
  IoEngineOptions options;
  options.use_environment = false;
  std::vector<std::string> logged;
  options.log = [&](std::string_view line) { logged.emplace_back(line); };
  HALIO_ASSERT_OK_AND_ASSIGN(IoEngineRef engine, IoEngine::Create(options));
  EXPECT_EQ(engine->backend(), kExpectedFallback);
  EXPECT_THAT(engine->fallback_reason(), HasSubstr("io_uring unavailable"));
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], HasSubstr(engine->fallback_reason()));
}

TEST_F(UringBlockedTest, DefaultFdFileIsImportedIntoTheFallback) {
  testing::TempFile file(testing::PatternBytes(100, 1));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, FdFile::Open(file.path(), OpenMode::kRead));
  auto* fd_file = static_cast<FdFile*>(opened.get());
  EXPECT_EQ(fd_file->io_backend(), kExpectedFallback);
  EXPECT_EQ(FdTransfer::async_file(*fd_file) != nullptr, kExpectedFallback != IoBackend::kSync);
}

TEST_F(UringBlockedTest, FdFileForcedOntoIoUringFailsNamingThePath) {
  testing::TempFile file(testing::PatternBytes(100, 2));
  FdFileOptions options;
  options.backend = IoBackend::kIoUring;
  EXPECT_THAT(FdFile::Open(file.path(), OpenMode::kRead, options),
              StatusIs(StatusCode::kUnavailable,
                       AllOf(HasSubstr(file.path()), HasSubstr("io_uring"))));
}

// The whole path a user gets by default: auto-imported file, async device.
TEST_F(UringBlockedTest, LocalAsyncRoundTripThroughTheFallback) {
  constexpr size_t kLength = 3 * 1024 * 1024 + 17;  // several chunks, ragged end
  const auto data = testing::PatternBytes(kLength, 3);
  testing::TempFile file{std::vector<std::byte>(kLength)};
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, FdFile::Open(file.path(), OpenMode::kReadWrite));
  ASSERT_EQ(static_cast<FdFile*>(opened.get())->io_backend(), kExpectedFallback);
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateDevice("local_async"));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef source, device->allocator().Allocate({}, kLength));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef target, device->allocator().Allocate({}, kLength));
  {
    auto mapping = source->Map(MemoryAccess::kWrite);
    std::copy(data.begin(), data.end(), mapping->data());
  }
  auto timeline = *Semaphore::Create(0);
  SemaphorePoint written[] = {{timeline.get(), 1}};
  SemaphorePoint read[] = {{timeline.get(), 2}};
  HALIO_ASSERT_OK(device->QueueWrite({}, written, source, 0, opened, 0, kLength));
  HALIO_ASSERT_OK(device->QueueRead(written, read, opened, 0, target, 0, kLength));
  HALIO_ASSERT_OK(timeline->Wait(2, Timeout::After(std::chrono::seconds(60))));
  EXPECT_TRUE(file.Read() == data) << "the bytes on disk differ from what was written";
  auto mapping = target->Map(MemoryAccess::kRead);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), mapping->data()))
      << "the bytes read back differ from the file";
}

}  // namespace
}  // namespace halio
