// The I/O engines on their own: selection, fallback rules, and requests
// submitted straight to each backend.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <type_traits>
#include <vector>

#include "halio/file.h"
#include "async_io.h"
#include "testing/matrix.h"
#include "testing/raw_file.h"
#include "fd_io.h"
#include "fd_transfer.h"
#include "testing/sanitizers.h"
#include "testing/param_names.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::HasSubstr;

// IoEngine is not for subclassing (halio/io_backend.h): a user's engine type
// may be declared but never constructed, neither from scratch nor by copying
// one of halio's engines.
class UserEngine : public IoEngine {
 public:
  IoBackend backend() const override { return IoBackend::kSync; }
};
static_assert(!std::is_default_constructible_v<UserEngine>);
static_assert(!std::is_copy_constructible_v<UserEngine>);
static_assert(!std::is_move_constructible_v<UserEngine>);

// Collects completions of requests submitted to an engine.
class Completions {
 public:
  static void OnDone(AsyncRequest* request, Status status) {
    auto* self = static_cast<Completions*>(request->user_data);
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (!status.ok() && self->first_error_.ok()) self->first_error_ = status;
    ++self->done_;
    self->cv_.notify_all();
  }
  void Prepare(AsyncRequest* request) {
    request->completion = &Completions::OnDone;
    request->user_data = this;
  }
  Status WaitFor(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return done_ >= count; })) {
      return DeadlineExceededError("only " + std::to_string(done_) + " of " +
                                   std::to_string(count) + " requests completed");
    }
    return first_error_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t done_ = 0;
  Status first_error_;
};

AsyncIoEngineRef MakeEngine(IoBackend backend, uint32_t ring_entries = 256) {
  IoEngineOptions options;
  options.backend = backend;
  options.use_environment = false;
  options.ring_entries = ring_entries;
  auto engine = IoEngine::Create(options);
  if (!engine.ok()) return nullptr;
  return std::static_pointer_cast<AsyncIoEngine>(*engine);
}

class EngineTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override {
    BackendAvailability available = IoEngine::Probe(GetParam());
    if (!available.status.ok()) {
      GTEST_SKIP() << IoBackendName(GetParam()) << " cannot run here: "
                   << available.status.ToString();
    }
    engine_ = MakeEngine(GetParam(), /*ring_entries=*/64);
    ASSERT_NE(engine_, nullptr);
  }

  // Submits one read of `length` bytes at offset 0 of `fd` into `data` and
  // waits for its completion.
  Status ReadOnce(int fd, std::byte* data, size_t length) {
    AsyncRequest request;
    request.fd = fd;
    request.data = data;
    request.length = length;
    Completions completions;
    completions.Prepare(&request);
    engine_->Submit(&request);
    return completions.WaitFor(1);
  }

  AsyncIoEngineRef engine_;
};

TEST_P(EngineTest, ReportsItsBackend) { EXPECT_EQ(engine_->backend(), GetParam()); }

TEST_P(EngineTest, CompletesThousandsOfReadsSubmittedAtOnce) {
  constexpr size_t kRequests = 4096;
  constexpr size_t kBlock = 4096;
  auto contents = testing::PatternBytes(kRequests * kBlock, 21);
  testing::TempFile file(contents);
  NativeHandle fd = testing::RawOpen(file.path(), testing::RawMode::kRead);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> out(contents.size());
  std::vector<AsyncRequest> requests(kRequests);
  Completions completions;
  const std::string name = file.path();
  // Reverse order, so completions cannot match the file order by accident.
  for (size_t i = 0; i < kRequests; ++i) {
    size_t block = kRequests - 1 - i;
    AsyncRequest& request = requests[i];
    request.fd = fd;
    request.offset = block * kBlock;
    request.data = out.data() + block * kBlock;
    request.length = kBlock;
    request.description = &name;
    completions.Prepare(&request);
    engine_->Submit(&request);
  }
  HALIO_EXPECT_OK(completions.WaitFor(kRequests));
  EXPECT_TRUE(out == contents);
  testing::RawClose(fd);
}

TEST_P(EngineTest, ShortFileIsOutOfRangeNotSilentZeroes) {
  testing::TempFile file(testing::PatternBytes(1000, 22));
  NativeHandle fd = testing::RawOpen(file.path(), testing::RawMode::kRead);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> out(4096);
  EXPECT_THAT(ReadOnce(fd, out.data(), out.size()),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("end of file at offset 1000")));
  testing::RawClose(fd);
}

// The engines' completions and the platform's ReadAt word the end of the
// file alike: the same TransferStep decides both.
TEST_P(EngineTest, EndOfFileIsWordedAsReadAtWordsIt) {
  testing::TempFile file(testing::PatternBytes(1000, 24));
  NativeHandle fd = testing::RawOpen(file.path(), testing::RawMode::kRead);
  ASSERT_GE(fd, 0);
  const std::string name = file.path();
  std::vector<std::byte> out(3000);
  AsyncRequest request;
  request.fd = fd;
  request.offset = 500;
  request.data = out.data();
  request.length = out.size();
  request.description = &name;
  Completions completions;
  completions.Prepare(&request);
  engine_->Submit(&request);
  const Status completed = completions.WaitFor(1);
  const Status read_at = platform::ReadAt(fd, 500, out, name);
  EXPECT_THAT(completed, StatusIs(StatusCode::kOutOfRange,
                                  HasSubstr("end of file at offset 1000 during read of " + name +
                                            " [500, 3500)")));
  EXPECT_EQ(completed.message(), read_at.message());
  testing::RawClose(fd);
}

TEST_P(EngineTest, ReadingAWriteOnlyDescriptorReportsTheErrno) {
  testing::TempFile file(testing::PatternBytes(100, 23));
  NativeHandle fd = testing::RawOpen(file.path(), testing::RawMode::kWrite);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> out(100);
  EXPECT_THAT(ReadOnce(fd, out.data(), out.size()),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("errno")));
  testing::RawClose(fd);
}

// One request larger than 4 GiB: the engine must split it into calls the
// kernel accepts (0x7ffff000 bytes; sqe->len is 32 bits) and land every byte.
TEST_P(EngineTest, ReadsASpanLargerThan4GiBFromASparseFile) {
  if (testing::kThreadSanitizer) {
    GTEST_SKIP() << "a 4 GiB buffer needs ~16 GiB of ThreadSanitizer shadow memory; the "
                    "plain and ASan runs cover this case";
  }
  constexpr uint64_t kSize = (uint64_t{4} << 30) + 8192;
  testing::TempFile file;
  NativeHandle fd = testing::RawOpen(file.path(), testing::RawMode::kReadWrite, /*create_truncate=*/true);
  ASSERT_GE(fd, 0);
  if (!testing::RawTruncate(fd, kSize)) {
    testing::RawClose(fd);
    GTEST_SKIP() << "cannot make a sparse file of " << kSize << " bytes here";
  }
  const uint64_t markers[] = {0, 0x7ffff000 - 1, 0x7ffff000, uint64_t{4} << 30, kSize - 1};
  for (size_t i = 0; i < std::size(markers); ++i) {
    char value = static_cast<char>(0x40 + i);
    ASSERT_EQ(testing::RawPwrite(fd, &value, 1, markers[i]), 1);
  }
  testing::LazyMemory memory(kSize);
  ASSERT_NE(memory.data(), nullptr);
  std::byte* bytes = memory.data();
  HALIO_EXPECT_OK(ReadOnce(fd, bytes, kSize));
  for (size_t i = 0; i < std::size(markers); ++i) {
    EXPECT_EQ(bytes[markers[i]], static_cast<std::byte>(0x40 + i)) << "marker " << i;
  }
  EXPECT_EQ(bytes[markers[1] - 1], std::byte{0});
  testing::RawClose(fd);
}

// A completion may drop the last reference to its engine (a file closing as
// its last read finishes): the engine must shut down on its own thread
// without deadlocking or freeing state the thread still uses.
TEST_P(EngineTest, CompletionMayDropTheLastEngineReference) {
  testing::TempFile file(testing::PatternBytes(4096, 26));
  NativeHandle fd = testing::RawOpen(file.path(), testing::RawMode::kRead);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> out(4096);
  struct Holder {
    AsyncIoEngineRef engine;
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    Status status;
  } holder;
  holder.engine = std::move(engine_);
  AsyncRequest request;
  request.fd = fd;
  request.data = out.data();
  request.length = out.size();
  request.user_data = &holder;
  request.completion = [](AsyncRequest* r, Status status) {
    auto* h = static_cast<Holder*>(r->user_data);
    h->engine.reset();  // the last reference, on the engine's own thread
    std::lock_guard<std::mutex> lock(h->mutex);
    h->status = std::move(status);
    h->done = true;
    h->cv.notify_all();
  };
  AsyncIoEngine* engine = holder.engine.get();
  engine->Submit(&request);
  std::unique_lock<std::mutex> lock(holder.mutex);
  ASSERT_TRUE(holder.cv.wait_for(lock, std::chrono::seconds(30), [&] { return holder.done; }));
  HALIO_EXPECT_OK(holder.status);
  testing::RawClose(fd);
}

INSTANTIATE_TEST_SUITE_P(Backends, EngineTest,
                         ::testing::Values(IoBackend::kIoUring, IoBackend::kAsio,
                                           IoBackend::kSync),
                         testing::BackendName);

TEST(EngineSelectionTest, ParsesBackendNames) {
  EXPECT_THAT(ParseIoBackend("io_uring"), IsOk());
  EXPECT_EQ(*ParseIoBackend("asio"), IoBackend::kAsio);
  EXPECT_THAT(ParseIoBackend("uring"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("auto, io_uring, asio, sync")));
}

TEST(EngineSelectionTest, AutoPicksTheFirstBackendThatRuns) {
  IoEngineOptions options;
  options.use_environment = false;
  HALIO_ASSERT_OK_AND_ASSIGN(IoEngineRef engine, IoEngine::Create(options));
  IoBackend expected = IoEngine::Probe(IoBackend::kIoUring).status.ok() ? IoBackend::kIoUring
                       : IoEngine::Probe(IoBackend::kAsio).status.ok()  ? IoBackend::kAsio
                                                                        : IoBackend::kSync;
  EXPECT_EQ(engine->backend(), expected);
  EXPECT_EQ(engine->fallback_reason().empty(), expected == IoBackend::kIoUring);
}

class EnvironmentTest : public ::testing::Test {
 protected:
  void TearDown() override { testing::UnsetEnv("HALIO_BACKEND"); }
};

TEST_F(EnvironmentTest, HalioBackendOverridesAuto) {
  testing::SetEnv("HALIO_BACKEND", "sync");
  HALIO_ASSERT_OK_AND_ASSIGN(IoEngineRef engine, IoEngine::Create());
  EXPECT_EQ(engine->backend(), IoBackend::kSync);
}

TEST_F(EnvironmentTest, HalioBackendDoesNotOverrideAForcedChoice) {
  testing::SetEnv("HALIO_BACKEND", "sync");
  IoEngineOptions options;
  options.backend = IoBackend::kAsio;
  HALIO_ASSERT_OK_AND_ASSIGN(IoEngineRef engine, IoEngine::Create(options));
  EXPECT_EQ(engine->backend(), IoBackend::kAsio);
}

TEST_F(EnvironmentTest, BadHalioBackendIsAnError) {
  testing::SetEnv("HALIO_BACKEND", "fastest");
  EXPECT_THAT(IoEngine::Create(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("HALIO_BACKEND")));
}

TEST(FdFileImportTest, ImportsIntoTheRequestedBackend) {
  testing::TempFile file(testing::PatternBytes(64, 24));
  for (IoBackend backend : {IoBackend::kIoUring, IoBackend::kAsio}) {
    if (!IoEngine::Probe(backend).status.ok()) continue;
    FdFileOptions options;
    options.backend = backend;
    HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened,
                               FdFile::Open(file.path(), OpenMode::kRead, options));
    auto* fd_file = static_cast<FdFile*>(opened.get());
    EXPECT_EQ(fd_file->io_backend(), backend);
    EXPECT_NE(FdTransfer::async_file(*fd_file), nullptr);
    EXPECT_EQ(fd_file->async_fallback_reason(), "");
  }
}

TEST(FdFileImportTest, SyncBackendLeavesNoAsyncHandleAndSaysWhy) {
  testing::TempFile file(testing::PatternBytes(64, 25));
  std::vector<std::string> logged;
  FdFileOptions options;
  options.backend = IoBackend::kSync;
  options.log = [&](std::string_view line) { logged.emplace_back(line); };
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, FdFile::Open(file.path(), OpenMode::kRead, options));
  auto* fd_file = static_cast<FdFile*>(opened.get());
  EXPECT_EQ(FdTransfer::async_file(*fd_file), nullptr);
  EXPECT_EQ(fd_file->io_backend(), IoBackend::kSync);
  EXPECT_THAT(fd_file->async_fallback_reason(), HasSubstr("sync"));
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], HasSubstr(file.path()));
}

}  // namespace
}  // namespace halio
