// O_DIRECT: any offset, length and memory address works on a filesystem with
// direct I/O (the kernel itself rejects a misaligned transfer with EINVAL, so
// a passing read proves the alignment logic; where it does not, as under
// Wine, an interceptor enforces it), and tmpfs falls back.
#if !defined(_WIN32)
#include <fcntl.h>
#endif
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "halio/drivers.h"
#include "testing/matrix.h"
#include "testing/param_names.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::HasSubstr;

constexpr size_t kFileSize = 3 * 1024 * 1024 + 777;

class DirectIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    contents_ = testing::PatternBytes(kFileSize, 41);
    file_.Write(contents_);
  }
  FileRef OpenDirect(OpenMode mode = OpenMode::kRead, IoBackend backend = IoBackend::kSync,
                     IoInterceptorRef interceptor = nullptr) {
    FdFileOptions options;
    options.backend = backend;
    options.interceptor = std::move(interceptor);
    auto opened = FdFile::Open(file_.path(), mode | OpenMode::kDirect, options);
    EXPECT_THAT(opened, IsOk());
    if (!opened.ok()) return nullptr;
    if (!static_cast<FdFile*>(opened->get())->direct()) {
      skip_reason_ = static_cast<FdFile*>(opened->get())->direct_fallback_reason();
    }
    return *opened;
  }
  BufferRef NewBuffer(size_t length) {
    return *BufferAllocator().Allocate({}, length);
  }
  static std::vector<std::byte> Slice(const BufferRef& buffer, size_t offset, size_t length) {
    auto mapping = buffer->Map(MemoryAccess::kRead, offset, length);
    return std::vector<std::byte>(mapping->data(), mapping->data() + length);
  }
  std::vector<std::byte> Expected(size_t offset, size_t length) const {
    return std::vector<std::byte>(contents_.begin() + offset, contents_.begin() + offset + length);
  }

  testing::TempFile file_;
  std::vector<std::byte> contents_;
  std::string skip_reason_;
};

TEST_F(DirectIoTest, SynchronousReadsAtUnalignedOffsetsLengthsAndMemory) {
  FileRef file = OpenDirect();
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  auto* fd_file = static_cast<FdFile*>(file.get());
  EXPECT_GT(fd_file->direct_offset_alignment(), 0u);
  BufferRef buffer = NewBuffer(kFileSize + 64);
  struct Case { size_t file_offset, buffer_offset, length; } cases[] = {
      {0, 0, 4096},              // fully aligned
      {0, 0, kFileSize},         // whole file, unaligned tail at end of file
      {1, 0, 10},                // inside one block
      {4095, 0, 2},              // straddles a block boundary
      {1000, 7, 300000},         // unaligned everything
      {8192, 3, 1 << 20},        // aligned file range, unaligned memory
      {kFileSize - 5, 0, 5},     // last bytes
  };
  for (const Case& c : cases) {
    HALIO_ASSERT_OK(file->Read(c.file_offset, *buffer, c.buffer_offset, c.length));
    EXPECT_TRUE(Slice(buffer, c.buffer_offset, c.length) == Expected(c.file_offset, c.length))
        << "file offset " << c.file_offset << " length " << c.length;
  }
}

TEST_F(DirectIoTest, SynchronousWritesAtUnalignedOffsetsReadBackExactly) {
  FileRef file = OpenDirect(OpenMode::kReadWrite);
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  auto data = testing::PatternBytes(200000, 42);
  BufferRef source = NewBuffer(data.size() + 16);
  std::memcpy(source->Map(MemoryAccess::kWrite)->data() + 16, data.data(), data.size());
  HALIO_ASSERT_OK(file->Write(5000, *source, 16, data.size()));
  // Extending the file with a tail that is not a whole block.
  HALIO_ASSERT_OK(file->Write(kFileSize - 10, *source, 16, 5000));
  auto expected = contents_;
  std::copy(data.begin(), data.end(), expected.begin() + 5000);
  expected.resize(kFileSize - 10 + 5000);
  std::copy(data.begin(), data.begin() + 5000, expected.begin() + (kFileSize - 10));
  EXPECT_TRUE(file_.Read() == expected);
  EXPECT_EQ(file->length(), expected.size());
}

// Fails (EINVAL) every call on the direct handle whose offset, length or
// memory is not aligned, as Windows' unbuffered I/O and Linux's O_DIRECT
// do. Wine and some filesystems accept misaligned direct calls, so this is
// what shows halio never makes one there.
class AlignmentEnforcer : public IoInterceptor {
 public:
  void Watch(const FdFile& file) {
    offset_alignment_ = file.direct_offset_alignment();
    memory_alignment_ = file.direct_memory_alignment();
    direct_handle_ = static_cast<intptr_t>(file.fd());
  }
  int64_t OnResult(const IoCall& call, int64_t result) override {
    if (call.fd != direct_handle_.load()) return result;
    ++direct_calls_;
    const bool aligned = call.offset % offset_alignment_ == 0 &&
                         call.length % offset_alignment_ == 0 &&
                         reinterpret_cast<uintptr_t>(call.data) % memory_alignment_ == 0;
    if (aligned) return result;
    ++misaligned_calls_;
    return -EINVAL;
  }
  int direct_calls() const { return direct_calls_; }
  int misaligned_calls() const { return misaligned_calls_; }

 private:
  std::atomic<intptr_t> direct_handle_{-2};
  uint32_t offset_alignment_ = 1, memory_alignment_ = 1;
  std::atomic<int> direct_calls_{0}, misaligned_calls_{0};
};

TEST_F(DirectIoTest, UnalignedReadsAndWritesNeverHandTheOsAMisalignedDirectCall) {
  auto enforcer = std::make_shared<AlignmentEnforcer>();
  FileRef file = OpenDirect(OpenMode::kReadWrite, IoBackend::kSync, enforcer);
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  enforcer->Watch(*static_cast<FdFile*>(file.get()));
  BufferRef buffer = NewBuffer(kFileSize + 64);
  HALIO_ASSERT_OK(file->Read(1000, *buffer, 7, 300000));
  EXPECT_TRUE(Slice(buffer, 7, 300000) == Expected(1000, 300000));
  HALIO_ASSERT_OK(file->Write(4097, *buffer, 7, 100000));
  HALIO_ASSERT_OK(file->Read(4097, *buffer, 3, 100000));
  EXPECT_TRUE(Slice(buffer, 3, 100000) == Expected(1000, 100000));
  EXPECT_GT(enforcer->direct_calls(), 0);
  EXPECT_EQ(enforcer->misaligned_calls(), 0);
}

class DirectIoDeviceTest : public DirectIoTest,
                           public ::testing::WithParamInterface<IoBackend> {};

TEST_P(DirectIoDeviceTest, AsyncDeviceReadsUnalignedRangesThroughEachBackend) {
  if (!IoEngine::Probe(GetParam()).status.ok()) GTEST_SKIP() << "backend unavailable";
  FileRef file = OpenDirect(OpenMode::kRead, GetParam());
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  DeviceOptions options;
  options.chunk_size = 64 * 1024;
  options.queue_depth = 4;
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateLocalAsyncDevice(options));
  BufferRef buffer = NewBuffer(kFileSize + 64);
  auto timeline = *Semaphore::Create(0);
  SemaphorePoint s1[] = {{timeline.get(), 1}}, s2[] = {{timeline.get(), 2}};
  HALIO_ASSERT_OK(device->QueueRead({}, s1, file, 1000, buffer, 7, 2000000));
  HALIO_ASSERT_OK(device->QueueRead(s1, s2, file, 0, buffer, 0, kFileSize));
  HALIO_ASSERT_OK(timeline->Wait(2, Timeout::After(std::chrono::seconds(60))));
  EXPECT_TRUE(Slice(buffer, 0, kFileSize) == contents_);
  // Check the first read separately on a fresh buffer.
  BufferRef second = NewBuffer(2000000 + 7);
  auto done = *Semaphore::Create(0);
  SemaphorePoint d1[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device->QueueRead({}, d1, file, 1000, second, 7, 2000000));
  HALIO_ASSERT_OK(done->Wait(1, Timeout::After(std::chrono::seconds(60))));
  EXPECT_TRUE(Slice(second, 7, 2000000) == Expected(1000, 2000000));
}

TEST_P(DirectIoDeviceTest, AsyncDeviceReadsNeverHandTheOsAMisalignedDirectCall) {
  if (!IoEngine::Probe(GetParam()).status.ok()) GTEST_SKIP() << "backend unavailable";
  auto enforcer = std::make_shared<AlignmentEnforcer>();
  FileRef file = OpenDirect(OpenMode::kRead, GetParam(), enforcer);
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  enforcer->Watch(*static_cast<FdFile*>(file.get()));
  DeviceOptions options;
  options.chunk_size = 64 * 1024;
  options.queue_depth = 4;
  HALIO_ASSERT_OK_AND_ASSIGN(auto device, CreateLocalAsyncDevice(options));
  BufferRef buffer = NewBuffer(2000000 + 7);
  auto done = *Semaphore::Create(0);
  SemaphorePoint d1[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device->QueueRead({}, d1, file, 1000, buffer, 7, 2000000));
  HALIO_ASSERT_OK(done->Wait(1, Timeout::After(std::chrono::seconds(60))));
  EXPECT_TRUE(Slice(buffer, 7, 2000000) == Expected(1000, 2000000));
  EXPECT_GT(enforcer->direct_calls(), 0);
  EXPECT_EQ(enforcer->misaligned_calls(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, DirectIoDeviceTest,
                         ::testing::Values(IoBackend::kIoUring, IoBackend::kAsio,
                                           IoBackend::kSync),
                         testing::BackendName);

#if !defined(_WIN32)  // tmpfs and procfs are Linux's
// tmpfs refused O_DIRECT before Linux 6.6; procfs still does. Either way the
// file must open, use buffered I/O and say why.
TEST(DirectIoFallbackTest, FilesystemWithoutDirectIoFallsBackAndSaysWhy) {
  std::vector<std::string> logged;
  FdFileOptions options;
  options.log = [&](std::string_view line) { logged.emplace_back(line); };
  std::string tmpfs_path = "/dev/shm/halio_direct_test_" + std::to_string(::getpid());
  {
    std::ofstream out(tmpfs_path, std::ios::binary);
    out << "tmpfs";
  }
  int probe = ::open(tmpfs_path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  const bool tmpfs_refuses = probe < 0 && errno == EINVAL;
  if (probe >= 0) ::close(probe);
  const std::string path = tmpfs_refuses ? tmpfs_path : "/proc/self/status";
  auto opened = FdFile::Open(path, OpenMode::kRead | OpenMode::kDirect, options);
  ASSERT_THAT(opened, IsOk());
  auto* fd_file = static_cast<FdFile*>(opened->get());
  EXPECT_FALSE(fd_file->direct());
  EXPECT_THAT(fd_file->direct_fallback_reason(),
              ::testing::AllOf(HasSubstr("O_DIRECT"), HasSubstr(path)));
  EXPECT_THAT(logged, ::testing::Contains(HasSubstr("O_DIRECT")));
  std::filesystem::remove(tmpfs_path);
}
#endif  // !_WIN32

}  // namespace
}  // namespace halio
