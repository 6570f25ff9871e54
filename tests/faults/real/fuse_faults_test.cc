// Faults served by a real filesystem: fault_fs (FUSE) returns short reads,
// slow reads and EIO over a byte range, with direct_io so they reach pread
// as the server sent them. Checked first at the pread level (what the
// kernel delivers), then through every device x I/O backend and the
// parameter loader.
//
// One server is mounted for the whole program; tests skip with the reason
// when it cannot be (fuse3 not found at build time, no /dev/fuse, mount
// refused).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "halio/loader.h"
#include "halio/params.h"
#include "faults/real/fault_fs_layout.h"
#include "faults/real/mounts.h"
#include "faults/real/real_fault_util.h"
#include "testing/sanitizers.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Longer than RunRead's deadline (testing::kOpDeadline, 60 s): an op that
// hangs fails its test first, then the watchdog frees the device's stuck
// request.
constexpr auto kWatchdogLimit = 90s;

testing::FuseMount* g_fault_fs = nullptr;
std::string g_no_fault_fs_reason;

class FaultFsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
#ifdef HALIO_FAULT_FS
    auto mount = testing::FuseMount::Start(HALIO_FAULT_FS, 10s);
    if (mount.ok()) {
      g_fault_fs = mount->release();
    } else {
      g_no_fault_fs_reason = "FUSE unavailable: " + mount.status().ToString();
    }
#else
    g_no_fault_fs_reason = "fuse3 (libfuse3-dev) was not found at build time; fault_fs not built";
#endif
  }
  void TearDown() override {
    delete g_fault_fs;
    g_fault_fs = nullptr;
  }
};

[[maybe_unused]] ::testing::Environment* const kFaultFsEnvironment =
    ::testing::AddGlobalTestEnvironment(new FaultFsEnvironment);

const faultfs::FileSpec& Spec(const char* name) {
  const faultfs::FileSpec* spec = faultfs::FindFile(name);
  EXPECT_NE(spec, nullptr) << name;
  return *spec;
}

std::string ServedPath(const char* name) { return g_fault_fs->PathOf(name); }

// --- what the kernel delivers to pread ---------------------------------------------

class FaultFsKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (g_fault_fs == nullptr) GTEST_SKIP() << g_no_fault_fs_reason;
  }
  int Open(const char* name) {
    int fd = ::open(ServedPath(name).c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << name << ": " << std::strerror(errno);
    return fd;
  }
  // pread's result, or -errno.
  static int64_t Pread(int fd, std::vector<uint8_t>& out, uint64_t offset) {
    ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    return n < 0 ? -int64_t{errno} : n;
  }
};

TEST_F(FaultFsKernelTest, ShortRepliesReachPreadAsShortCounts) {
  int fd = Open("short.bin");
  std::vector<uint8_t> bytes(65536);
  EXPECT_EQ(Pread(fd, bytes, 0), faultfs::kShortReadBytes);
  bytes.resize(faultfs::kShortReadBytes);
  EXPECT_TRUE(testing::SameBytes(bytes, faultfs::FileBytes(Spec("short.bin"), 0, bytes.size())));
  bytes.resize(4096);
  EXPECT_EQ(Pread(fd, bytes, faultfs::kPatternFileSize - 10), 10);
  ::close(fd);
}

TEST_F(FaultFsKernelTest, EioRangeFailsEveryPreadOverlappingIt) {
  int fd = Open("eio.bin");
  std::vector<uint8_t> bytes(100);
  EXPECT_EQ(Pread(fd, bytes, faultfs::kPatternEioBegin), -EIO);
  bytes.resize(4096);
  EXPECT_EQ(Pread(fd, bytes, faultfs::kPatternEioBegin - 2048), -EIO);
  EXPECT_EQ(Pread(fd, bytes, faultfs::kPatternEioEnd), 4096);
  EXPECT_TRUE(testing::SameBytes(
      bytes, faultfs::FileBytes(Spec("eio.bin"), faultfs::kPatternEioEnd, bytes.size())));
  // A read the kernel splits into several requests: the whole call fails
  // (seen on Linux 6.x) or stops short before the range; never more.
  bytes.resize(uint64_t{1} << 20);
  const int64_t large = Pread(fd, bytes, 0);
  EXPECT_TRUE(large == -EIO || (large > 0 && static_cast<uint64_t>(large) <=
                                                   faultfs::kPatternEioBegin))
      << large;
  ::close(fd);
}

TEST_F(FaultFsKernelTest, SlowRepliesArriveWhole) {
  int fd = Open("slow.bin");
  std::vector<uint8_t> bytes(faultfs::kPatternFileSize);
  EXPECT_EQ(Pread(fd, bytes, 0), static_cast<int64_t>(bytes.size()));
  EXPECT_TRUE(testing::SameBytes(bytes, faultfs::FileBytes(Spec("slow.bin"), 0, bytes.size())));
  ::close(fd);
}

// --- every device x backend ---------------------------------------------------------

class FaultFsTest : public testing::MatrixTest {
 protected:
  void SetUp() override {
    if (g_fault_fs == nullptr) GTEST_SKIP() << g_no_fault_fs_reason;
    MatrixTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    g_fault_fs->Arm(kWatchdogLimit);
    armed_ = true;
  }
  void TearDown() override {
    // The device first: its destructor waits for requests a hung server
    // holds, which the still-armed watchdog frees.
    device_.reset();
    if (armed_) {
      EXPECT_FALSE(g_fault_fs->Disarm()) << "a read hung; the server was killed";
    }
  }

  Result<FileRef> OpenServed(const char* name, OpenMode mode = OpenMode::kRead) {
    return FdFile::Open(ServedPath(name), mode, FileOptions());
  }

  void ExpectReadsCorrectly(const char* name, uint64_t offset, uint64_t length,
                            OpenMode mode = OpenMode::kRead) {
    HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, OpenServed(name, mode));
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, testing::NewBuffer(*device_, length));
    HALIO_ASSERT_OK(testing::RunRead(*device_, file, offset, buffer, length));
    EXPECT_TRUE(testing::SameBytes(testing::BufferBytes(*device_, buffer, 0, length),
                                   faultfs::FileBytes(Spec(name), offset, length)))
        << name << " [" << offset << ", " << offset + length << ")";
  }

  // Reads [offset, offset + length) of eio.bin, which overlaps its EIO range.
  void ExpectEioReadFails(uint64_t offset, uint64_t length) {
    HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, OpenServed("eio.bin"));
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, testing::NewBuffer(*device_, length));
    const std::string path = ServedPath("eio.bin");
    Status read = testing::RunRead(*device_, file, offset, buffer, length);
    EXPECT_THAT(read, StatusIs(StatusCode::kDataLoss,
                               AllOf(HasSubstr(path), HasSubstr("Input/output error"))));
    EXPECT_TRUE(testing::NamesFileAndRange(read, path, offset, offset + length,
                                           faultfs::EioRange(Spec("eio.bin"))));
  }

  bool armed_ = false;
};

TEST_P(FaultFsTest, ShortReadFileReadsCorrectBytes) {
  ExpectReadsCorrectly("short.bin", 0, faultfs::kPatternFileSize);
  ExpectReadsCorrectly("short.bin", 4097, 300001);
}

// O_DIRECT does not promise full counts either: FUSE (like NFS) passes the
// server's short replies through, so a short count mid-file is not the end.
TEST_P(FaultFsTest, ShortReadFileReadsCorrectBytesWithODirect) {
  const OpenMode direct = OpenMode::kRead | OpenMode::kDirect;
  ExpectReadsCorrectly("short.bin", 0, faultfs::kPatternFileSize, direct);
  ExpectReadsCorrectly("short.bin", 4097, 300001, direct);
  ExpectReadsCorrectly("short.bin", 8192, 3 * 4096, direct);
}

TEST_P(FaultFsTest, SlowFileReadsCorrectBytes) {
  ExpectReadsCorrectly("slow.bin", 0, faultfs::kPatternFileSize);
  ExpectReadsCorrectly("slow.bin", 4097, 300001);
}

TEST_P(FaultFsTest, HealthyFileReadsCorrectBytes) {
  ExpectReadsCorrectly("healthy.bin", 0, faultfs::kPatternFileSize);
  ExpectReadsCorrectly("healthy.bin", 4097, 300001);
}

TEST_P(FaultFsTest, ReadOverTheEioRangeFailsWithDataLossNamingFileAndRange) {
  ExpectEioReadFails(0, faultfs::kPatternFileSize);
  ExpectEioReadFails(faultfs::kPatternEioBegin + 10, 100);
  ExpectEioReadFails(faultfs::kPatternEioBegin - 5000, 5001);
}

TEST_P(FaultFsTest, RangesBesideTheEioRangeReadCorrectBytes) {
  ExpectReadsCorrectly("eio.bin", 0, faultfs::kPatternEioBegin);
  ExpectReadsCorrectly("eio.bin", faultfs::kPatternEioEnd,
                       faultfs::kPatternFileSize - faultfs::kPatternEioEnd);
}

// The descriptor closed while reads of it are in flight (the slow file keeps
// them there): requests already in the kernel hold their own reference to
// the file and finish; later ones fail with EBADF. Either way the op ends,
// with correct bytes or FAILED_PRECONDITION naming the file and range.
TEST_P(FaultFsTest, DescriptorClosedDuringReadsEndsWithCorrectBytesOrFailedPrecondition) {
  if (halio::testing::kThreadSanitizer) {
    GTEST_SKIP() << "closing a descriptor other threads are reading is the fault itself; "
                    "TSan reports it as a race (the normal and ASan builds run this case)";
  }
  DeviceOptions options;
  options.chunk_size = 64 << 10;  // many chunks, so some start after the close
  HALIO_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Device> device,
                             CreateDevice(GetParam().device, options));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, OpenServed("slow.bin"));
  const int fd = static_cast<FdFile*>(file.get())->fd();
  const uint64_t length = faultfs::kPatternFileSize;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, testing::NewBuffer(*device, length));
  std::thread closer([fd] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * faultfs::kSlowReadMillis));
    ::close(fd);
  });
  Status read = testing::RunRead(*device, file, 0, buffer, length);
  closer.join();
  const bool still_closed = ::fcntl(fd, F_GETFD) == -1 && errno == EBADF;
  // The FdFile closes the number again when destroyed: give it its own.
  ASSERT_EQ(::dup2(::open("/dev/null", O_RDONLY | O_CLOEXEC), fd), fd);
  ASSERT_TRUE(still_closed) << "descriptor " << fd << " was reused during the test";
  if (read.ok()) {
    EXPECT_TRUE(testing::SameBytes(testing::BufferBytes(*device, buffer, 0, length),
                                   faultfs::FileBytes(Spec("slow.bin"), 0, length)));
  } else {
    const std::string path = ServedPath("slow.bin");
    EXPECT_THAT(read, StatusIs(StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr(path), HasSubstr("errno 9"))));
    EXPECT_TRUE(testing::NamesFileAndRange(read, path, 0, length, {0, length}));
  }
}

// --- the parameter loader over FUSE ---------------------------------------------------

class FaultFsLoadTest : public FaultFsTest {
 protected:
  LoadOptions Options() const {
    LoadOptions options;
    options.file_options = FileOptions();
    return options;
  }

  void ExpectLoadsCorrectly(const char* name, const LoadOptions& options) {
    HALIO_ASSERT_OK_AND_ASSIGN(ParameterIndex index, OpenParameterIndex(ServedPath(name)));
    HALIO_ASSERT_OK_AND_ASSIGN(LoadedParameters loaded,
                               LoadParameters(*device_, index, options));
    const size_t expected_count =
        options.select.empty() ? std::size(faultfs::kTensors) : options.select.size();
    ASSERT_EQ(loaded.tensors.size(), expected_count);
    for (const LoadedTensor& tensor : loaded.tensors) {
      EXPECT_TRUE(testing::SameBytes(
          testing::BufferBytes(*device_, tensor.buffer, 0, tensor.entry->length),
          faultfs::FileBytes(Spec(name), tensor.entry->offset, tensor.entry->length)))
          << name << ": " << tensor.entry->name;
    }
  }

  Status LoadEioModel(const LoadOptions& options) {
    HALIO_ASSIGN_OR_RETURN(ParameterIndex index,
                           OpenParameterIndex(ServedPath("model_eio.safetensors")));
    return LoadParameters(*device_, index, options).status();
  }
};

TEST_P(FaultFsLoadTest, HealthyShortAndSlowModelsLoadCorrectBytes) {
  for (const char* name :
       {"model.safetensors", "model_short.safetensors", "model_slow.safetensors"}) {
    ExpectLoadsCorrectly(name, Options());
  }
}

TEST_P(FaultFsLoadTest, ShortReadModelLoadsCorrectBytesWithODirect) {
  LoadOptions options = Options();
  options.direct = true;
  ExpectLoadsCorrectly("model_short.safetensors", options);
}

TEST_P(FaultFsLoadTest, TensorOverTheEioRangeFailsTheLoadNamingTensorFileAndRange) {
  const std::string path = ServedPath("model_eio.safetensors");
  const faultfs::Range eio = faultfs::EioRange(Spec("model_eio.safetensors"));
  const uint64_t tensor_start = faultfs::TensorFileOffset(faultfs::kEioTensor);
  const uint64_t tensor_end = tensor_start + faultfs::TensorBytes(faultfs::kEioTensor);
  const std::string tensor = "tensor '" + std::string(faultfs::kEioTensor) + "'";
  // Default options coalesce the adjacent tensors into one read; when it
  // fails the loader re-reads them alone, so the error still names exactly
  // the damaged tensor. One tensor per read names it directly.
  LoadOptions per_tensor = Options();
  per_tensor.max_read_bytes = 1;
  for (const LoadOptions& options : {Options(), per_tensor}) {
    Status status = LoadEioModel(options);
    EXPECT_THAT(status, StatusIs(StatusCode::kDataLoss, AllOf(HasSubstr(path), HasSubstr(tensor))));
    EXPECT_TRUE(testing::NamesFileAndRange(status, path, tensor_start, tensor_end, eio));
  }
}

TEST_P(FaultFsLoadTest, TensorsBesideTheEioRangeLoadCorrectBytes) {
  LoadOptions options = Options();
  options.select = {"embed", "layer.0.w", "layer.1.w", "head"};
  ExpectLoadsCorrectly("model_eio.safetensors", options);
}

INSTANTIATE_TEST_SUITE_P(DevicesAndBackends, FaultFsTest,
                         ::testing::ValuesIn(testing::FdFileMatrix()), testing::MatrixParamName);
INSTANTIATE_TEST_SUITE_P(DevicesAndBackends, FaultFsLoadTest,
                         ::testing::ValuesIn(testing::FdFileMatrix()), testing::MatrixParamName);

}  // namespace
}  // namespace halio
