// Real faults (no injection) on every device x I/O backend: a full tmpfs, a
// file truncated while a load reads it, and a descriptor closed or replaced
// underneath an FdFile. The FUSE faults are in fuse_faults_test.cc.
//
// Facilities that are missing (not root, mount refused) make tests skip with
// the reason.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "halio/loader.h"
#include "halio/params.h"
#include "faults/real/fault_fs_layout.h"
#include "faults/real/mounts.h"
#include "faults/real/real_fault_util.h"
#include "testing/device_buffers.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::vector<std::byte> ToBytes(const std::vector<uint8_t>& bytes) {
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// A buffer of `length` pattern bytes (seeded, so files written from it are
// recognizable).
Result<BufferRef> PatternBuffer(Device& device, uint64_t length, uint32_t seed) {
  HALIO_ASSIGN_OR_RETURN(BufferRef buffer, testing::NewBuffer(device, length));
  std::vector<std::byte> bytes(length);
  for (uint64_t i = 0; i < length; ++i) {
    bytes[i] = static_cast<std::byte>(faultfs::HashByte(i, seed));
  }
  HALIO_RETURN_IF_ERROR(testing::WriteBufferBytes(device, buffer, bytes));
  return buffer;
}

// Bytes the filesystem stored for `path` (its allocated blocks), not its
// apparent size: chunks of one write run at once, so a later chunk may land
// while an earlier one fails, leaving a hole and an st_size past the data.
uint64_t StoredBytes(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// --- a full tmpfs -----------------------------------------------------------------

// 1 MiB of space and writes of 2 MiB: the kernel writes what fits (a short
// write), then the next call fails with ENOSPC.
constexpr uint64_t kTmpfsBytes = uint64_t{1} << 20;
constexpr uint64_t kOverflowingWrite = uint64_t{2} << 20;

class FullTmpfsTest : public testing::MatrixTest {
 protected:
  void SetUp() override {
    MatrixTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto mount = testing::TmpfsMount::Create(kTmpfsBytes);
    if (!mount.ok()) GTEST_SKIP() << "no tmpfs: " << mount.status().ToString();
    tmpfs_ = *std::move(mount);
  }

  Result<FileRef> NewFile(const std::string& name) {
    return FdFile::Open(tmpfs_->path() + "/" + name,
                        OpenMode::kWrite | OpenMode::kCreate | OpenMode::kTruncate,
                        FileOptions());
  }

  std::unique_ptr<testing::TmpfsMount> tmpfs_;
};

TEST_P(FullTmpfsTest, WritePastTheSpaceFailsNamingFileAndRangeAndClaimsNothing) {
  const std::string path = tmpfs_->path() + "/big.bin";
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, NewFile("big.bin"));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef source, PatternBuffer(*device_, kOverflowingWrite, 7));
  Status written = testing::RunWrite(*device_, source, file, 0, kOverflowingWrite);
  EXPECT_THAT(written, StatusIs(StatusCode::kResourceExhausted, HasSubstr(path)));
  EXPECT_TRUE(testing::NamesFileAndRange(written, path, 0, kOverflowingWrite,
                                         {0, kOverflowingWrite}));
  // The kernel stored what fit; halio must not count any of it as written.
  EXPECT_LT(StoredBytes(path), kOverflowingWrite);
  EXPECT_EQ(file->length(), 0u) << "a failed write raised the file's length";
}

TEST_P(FullTmpfsTest, WriteIntoAFullFilesystemFailsAtItsFirstByte) {
  // Fill the filesystem from outside halio, until ENOSPC.
  const std::string filler = tmpfs_->path() + "/filler.bin";
  int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  std::vector<char> block(65536, 'x');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  EXPECT_EQ(errno, ENOSPC);
  ::close(fd);

  const std::string path = tmpfs_->path() + "/late.bin";
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, NewFile("late.bin"));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef source, PatternBuffer(*device_, 65536, 8));
  Status written = testing::RunWrite(*device_, source, file, 4096, 65536);
  EXPECT_THAT(written, StatusIs(StatusCode::kResourceExhausted,
                                AllOf(HasSubstr(path), HasSubstr("at offset 4096"))));
  EXPECT_TRUE(testing::NamesFileAndRange(written, path, 4096, 4096 + 65536, {4096, 4097}));
  EXPECT_EQ(file->length(), 0u);
}

INSTANTIATE_TEST_SUITE_P(DevicesAndBackends, FullTmpfsTest,
                         ::testing::ValuesIn(testing::FdFileMatrix()), testing::MatrixParamName);

// --- a file truncated during a load ---------------------------------------------

// 16 tensors of a little over 1 MiB: with one tensor per read and 2 MiB in
// flight, most reads are queued after the first progress report.
constexpr int kTruncatedTensors = 16;
constexpr uint64_t kTruncatedTensorBytes = (uint64_t{1} << 20) + 13;
constexpr uint32_t kTruncatedSeed = 9;

struct TruncationFile {
  std::vector<std::string> names;
  std::string prefix;
  std::vector<std::byte> contents;
};

const TruncationFile& TruncationContents() {
  static const TruncationFile file = [] {
    TruncationFile made;
    for (int i = 0; i < kTruncatedTensors; ++i) made.names.push_back("t" + std::to_string(i));
    std::vector<faultfs::TensorSpec> specs;
    for (const std::string& name : made.names) {
      specs.push_back({name.c_str(), kTruncatedTensorBytes});
    }
    made.prefix = faultfs::SafetensorsPrefix(specs);
    std::vector<uint8_t> bytes(made.prefix.begin(), made.prefix.end());
    for (uint64_t i = 0; i < kTruncatedTensors * kTruncatedTensorBytes; ++i) {
      bytes.push_back(faultfs::HashByte(i, kTruncatedSeed));
    }
    made.contents = ToBytes(bytes);
    return made;
  }();
  return file;
}

// Mid-tensor, a little over a third of the way in.
uint64_t TruncatedSize() {
  return TruncationContents().prefix.size() + 5 * kTruncatedTensorBytes + 4321;
}

enum class Truncation {
  kBeforeLoadContinues,  // the load waits in its first progress report
  kConcurrently,         // the load runs on while another thread truncates
};

class TruncatedDuringLoadTest : public testing::MatrixTest {
 protected:
  // Loads a fresh copy of the file, truncating it from another thread after
  // the first progress report. Returns the load's outcome.
  Result<LoadedParameters> LoadWhileTruncating(const testing::TempFile& file, Truncation when,
                                               bool direct = false) {
    file.Write(TruncationContents().contents);
    auto index = OpenParameterIndex(file.path());
    if (!index.ok()) return index.status();
    index_ = *std::move(index);
    std::promise<void> first_progress;
    std::promise<void> truncated;
    std::thread truncator([&] {
      first_progress.get_future().wait();
      EXPECT_EQ(::truncate(file.path().c_str(), static_cast<off_t>(TruncatedSize())), 0);
      truncated.set_value();
    });
    std::shared_future<void> truncated_done = truncated.get_future().share();
    LoadOptions options;
    options.file_options = FileOptions();
    options.max_inflight_bytes = uint64_t{2} << 20;
    options.max_read_bytes = 1;  // one tensor per read
    options.direct = direct;
    bool reported = false;
    options.progress = [&](const LoadProgress&) {
      if (reported) return;
      reported = true;
      first_progress.set_value();
      if (when == Truncation::kBeforeLoadContinues) truncated_done.wait();
    };
    auto loaded = LoadParameters(*device_, index_, options);
    if (!reported) first_progress.set_value();
    truncator.join();
    return loaded;
  }

  void ExpectCorrectBytes(const LoadedParameters& loaded) {
    const std::vector<std::byte>& contents = TruncationContents().contents;
    ASSERT_EQ(loaded.tensors.size(), static_cast<size_t>(kTruncatedTensors));
    for (const LoadedTensor& tensor : loaded.tensors) {
      auto actual = testing::BufferBytes(*device_, tensor.buffer, 0, tensor.entry->length);
      const auto* expected = reinterpret_cast<const uint8_t*>(contents.data()) +
                             tensor.entry->offset;
      EXPECT_TRUE(testing::SameBytes(actual, {expected, tensor.entry->length}))
          << tensor.entry->name;
    }
  }

  void ExpectTruncationError(const Status& status, const std::string& path) {
    EXPECT_THAT(status, StatusIs(StatusCode::kOutOfRange,
                                 AllOf(HasSubstr(path), HasSubstr("was it truncated?"))));
  }

  ParameterIndex index_;
};

TEST_P(TruncatedDuringLoadTest, TruncatedBeforeTheRestIsQueuedFailsWithOutOfRange) {
  testing::TempFile file;
  for (int round = 0; round < 4; ++round) {
    // O_DIRECT (where the filesystem takes it) meets the new end mid-block.
    const bool direct = round % 2 == 1;
    auto loaded = LoadWhileTruncating(file, Truncation::kBeforeLoadContinues, direct);
    ASSERT_FALSE(loaded.ok()) << "round " << round << (direct ? " (O_DIRECT)" : "")
                              << ": tensors past the new end of file were reported loaded";
    ExpectTruncationError(loaded.status(), file.path());
    const uint64_t data_start = TruncationContents().prefix.size();
    EXPECT_TRUE(testing::NamesFileAndRange(
        loaded.status(), file.path(), data_start,
        data_start + kTruncatedTensors * kTruncatedTensorBytes, {TruncatedSize(), UINT64_MAX}))
        << "round " << round;
  }
}

TEST_P(TruncatedDuringLoadTest, TruncatedWhileReadsRunLoadsCorrectBytesOrFails) {
  testing::TempFile file;
  for (int round = 0; round < 5; ++round) {
    auto loaded = LoadWhileTruncating(file, Truncation::kConcurrently);
    if (loaded.ok()) {
      ExpectCorrectBytes(*loaded);
    } else {
      ExpectTruncationError(loaded.status(), file.path());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DevicesAndBackends, TruncatedDuringLoadTest,
                         ::testing::ValuesIn(testing::FdFileMatrix()), testing::MatrixParamName);

// --- the descriptor changed underneath an FdFile ----------------------------------

constexpr uint64_t kDescriptorFileBytes = 256 << 10;

class DescriptorUnderneathTest : public testing::MatrixTest {
 protected:
  void SetUp() override {
    MatrixTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    file_.Write(ToBytes(faultfs::FileBytes({"", faultfs::Content::kPattern,
                                            faultfs::Behavior::kHealthy, 11},
                                           0, kDescriptorFileBytes)));
    HALIO_ASSERT_OK_AND_ASSIGN(fd_file_,
                               FdFile::Open(file_.path(), OpenMode::kReadWrite, FileOptions()));
    HALIO_ASSERT_OK_AND_ASSIGN(buffer_, testing::NewBuffer(*device_, kDescriptorFileBytes));
    fd_ = static_cast<FdFile*>(fd_file_.get())->fd();
  }

  // Puts `replacement` (closed afterwards) where the file's descriptor is.
  void Replace(int replacement) {
    ASSERT_GE(replacement, 0);
    ASSERT_EQ(::dup2(replacement, fd_), fd_);
    ::close(replacement);
  }

  Status Read() { return testing::RunRead(*device_, fd_file_, 0, buffer_, kDescriptorFileBytes); }
  Status Write() {
    return testing::RunWrite(*device_, buffer_, fd_file_, 0, kDescriptorFileBytes);
  }

  // EBADF maps to FAILED_PRECONDITION; the message names the file and the
  // range like any other I/O error.
  void ExpectBadDescriptor(const Status& status) {
    EXPECT_THAT(status, StatusIs(StatusCode::kFailedPrecondition,
                                 AllOf(HasSubstr(file_.path()), HasSubstr("errno 9"))));
    EXPECT_TRUE(testing::NamesFileAndRange(status, file_.path(), 0, kDescriptorFileBytes,
                                           {0, kDescriptorFileBytes}));
  }

  testing::TempFile file_;
  FileRef fd_file_;
  BufferRef buffer_;
  int fd_ = -1;
};

TEST_P(DescriptorUnderneathTest, ClosedDescriptorFailsWithFailedPreconditionNamingTheFile) {
  ASSERT_EQ(::close(fd_), 0);
  const Status read = Read();
  const Status written = Write();
  // Only meaningful if nobody reused the number meanwhile (nothing here
  // opens files; the check makes sure).
  const bool still_closed = ::fcntl(fd_, F_GETFD) == -1 && errno == EBADF;
  // The FdFile closes its descriptor again when destroyed: give it one of
  // its own so that close cannot hit anyone else's.
  Replace(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(still_closed) << "descriptor " << fd_ << " was reused during the test";
  ExpectBadDescriptor(read);
  ExpectBadDescriptor(written);
}

TEST_P(DescriptorUnderneathTest, PathOnlyDescriptorFailsWithFailedPreconditionNamingTheFile) {
  // O_PATH descriptors refuse read and write with EBADF: the closed case
  // without a window in which the number is free.
  Replace(::open(file_.path().c_str(), O_PATH | O_CLOEXEC));
  ExpectBadDescriptor(Read());
  ExpectBadDescriptor(Write());
}

TEST_P(DescriptorUnderneathTest, DevNullUnderneathReadsAsEndOfFile) {
  Replace(::open("/dev/null", O_RDWR | O_CLOEXEC));
  EXPECT_THAT(Read(), StatusIs(StatusCode::kOutOfRange,
                               AllOf(HasSubstr(file_.path()), HasSubstr("was it truncated?"))));
  // Writes to /dev/null succeed at the system level: nothing in halio can
  // tell (documented, not endorsed), and the FdFile counts them as written.
  HALIO_EXPECT_OK(Write());
}

INSTANTIATE_TEST_SUITE_P(DevicesAndBackends, DescriptorUnderneathTest,
                         ::testing::ValuesIn(testing::FdFileMatrix()), testing::MatrixParamName);

}  // namespace
}  // namespace halio
