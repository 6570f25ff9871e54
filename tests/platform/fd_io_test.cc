// Positional file I/O: the chunked ReadAt/WriteAt loops (through wrapped
// IoSyscalls tables that inject short counts, EINTR, EAGAIN and errors) and
// the open/dup/length/access/sync wrappers (POSIX's and Windows'), on real
// temp files.
#include "fd_io.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#endif

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "testing/fifo.h"
#include "testing/raw_file.h"
#if defined(_WIN32)
#include "win32/win32_util.h"
#endif
#include "testing/status_matchers.h"

namespace halio::platform {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using halio::testing::RawClose;
using halio::testing::RawMode;
using halio::testing::RawOpen;
using halio::testing::RawPread;
using halio::testing::RawPwrite;

std::vector<std::byte> Pattern(size_t length, uint8_t seed) {
  std::vector<std::byte> bytes(length);
  for (size_t i = 0; i < length; ++i) {
    bytes[i] = static_cast<std::byte>((i * 31 + seed) & 0xFF);
  }
  return bytes;
}

// An IoSyscalls table whose calls go to std::functions, so each test scripts
// its own faults around the real pread/pwrite (SystemIoSyscalls()).
class ScriptedSyscalls {
 public:
  using ReadFn = std::function<int64_t(NativeHandle, void*, size_t, uint64_t)>;
  using WriteFn = std::function<int64_t(NativeHandle, const void*, size_t, uint64_t)>;

  ScriptedSyscalls() {
    table_.read_at = &ReadThunk;
    table_.write_at = &WriteThunk;
    table_.context = this;
    table_.max_bytes_per_call = SystemIoSyscalls().max_bytes_per_call;
    read_ = &RealRead;
    write_ = &RealWrite;
  }

  static int64_t RealRead(NativeHandle fd, void* dst, size_t length, uint64_t offset) {
    const IoSyscalls& sys = SystemIoSyscalls();
    return sys.read_at(sys.context, fd, dst, length, offset);
  }
  static int64_t RealWrite(NativeHandle fd, const void* src, size_t length,
                           uint64_t offset) {
    const IoSyscalls& sys = SystemIoSyscalls();
    return sys.write_at(sys.context, fd, src, length, offset);
  }

  void set_read(ReadFn fn) { read_ = std::move(fn); }
  void set_write(WriteFn fn) { write_ = std::move(fn); }
  void set_max_bytes_per_call(size_t max) { table_.max_bytes_per_call = max; }

  const IoSyscalls& table() const { return table_; }
  int calls() const { return calls_; }
  size_t largest_request() const { return largest_request_; }

 private:
  static int64_t ReadThunk(void* context, NativeHandle fd, void* dst, size_t length,
                           uint64_t offset) {
    auto* self = static_cast<ScriptedSyscalls*>(context);
    self->Count(length);
    return self->read_(fd, dst, length, offset);
  }
  static int64_t WriteThunk(void* context, NativeHandle fd, const void* src,
                            size_t length, uint64_t offset) {
    auto* self = static_cast<ScriptedSyscalls*>(context);
    self->Count(length);
    return self->write_(fd, src, length, offset);
  }
  void Count(size_t length) {
    ++calls_;
    largest_request_ = std::max(largest_request_, length);
  }

  IoSyscalls table_;
  ReadFn read_;
  WriteFn write_;
  int calls_ = 0;
  size_t largest_request_ = 0;
};

class FdIoTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (NativeHandle fd : fds_) RawClose(fd);
    std::error_code ignored;
    for (const auto& path : paths_) std::filesystem::remove_all(path, ignored);
  }

  // A unique path in the temp directory, removed in TearDown.
  std::string TempPath(const std::string& suffix = "") {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto path = std::filesystem::temp_directory_path() /
                ("halio_fd_io_" + std::to_string(::getpid()) + "_" + info->name() + "_" +
                 std::to_string(counter++) + suffix);
    paths_.push_back(path.string());
    return path.string();
  }

  // Opens (creating) a temp file read-write; closed in TearDown.
  NativeHandle OpenTemp(std::string* path_out = nullptr) {
    std::string path = TempPath();
    NativeHandle fd = RawOpen(path, RawMode::kReadWrite, /*create_truncate=*/true);
    EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
    if (fd >= 0) fds_.push_back(fd);
    if (path_out) *path_out = path;
    return fd;
  }

  NativeHandle OpenTempWith(const std::vector<std::byte>& contents) {
    NativeHandle fd = OpenTemp();
    EXPECT_EQ(RawPwrite(fd, contents.data(), contents.size(), 0),
              static_cast<int64_t>(contents.size()));
    return fd;
  }

  NativeHandle Track(NativeHandle fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }

  std::vector<std::string> paths_;
  std::vector<NativeHandle> fds_;
};

// --- ReadAt / WriteAt -------------------------------------------------------

TEST_F(FdIoTest, WriteAtReadAtRoundTrip) {
  NativeHandle fd = OpenTemp();
  auto data = Pattern(4096 + 13, 1);
  HALIO_ASSERT_OK(WriteAt(fd, 100, data, "round trip file"));

  std::vector<std::byte> on_disk(data.size());
  ASSERT_EQ(RawPread(fd, on_disk.data(), on_disk.size(), 100),
            static_cast<int64_t>(on_disk.size()));
  EXPECT_EQ(on_disk, data);

  std::vector<std::byte> read_back(data.size());
  HALIO_ASSERT_OK(ReadAt(fd, 100, read_back, "round trip file"));
  EXPECT_EQ(read_back, data);
}

TEST(SlowCopyAlignmentTest, FlagsDestinations1To31BytesPastTheSourcePageOffset) {
  alignas(4096) static std::byte page[2 * 4096];
  EXPECT_FALSE(IsSlowKernelCopyOffset(page, 0));
  EXPECT_TRUE(IsSlowKernelCopyOffset(page + 16, 0));
  EXPECT_TRUE(IsSlowKernelCopyOffset(page + 1, 0));
  EXPECT_TRUE(IsSlowKernelCopyOffset(page + 31, 0));
  EXPECT_FALSE(IsSlowKernelCopyOffset(page + 32, 0));
  // Relative to the file offset: offset 100 into page + 116 is 16 past.
  EXPECT_TRUE(IsSlowKernelCopyOffset(page + 116, 100));
  EXPECT_FALSE(IsSlowKernelCopyOffset(page + 100, 100));
}

TEST(SlowCopyAlignmentTest, MeasuredRatioIsPlausibleAndStable) {
  double ratio = SlowKernelCopyRatio();
  EXPECT_GT(ratio, 0.05);
  EXPECT_LT(ratio, 5.0);
  EXPECT_EQ(SlowKernelCopyRatio(), ratio);  // measured once
}

TEST_F(FdIoTest, RealignedReadNeverHandsTheKernelASlowDestination) {
  auto contents = Pattern(700 * 1024 + 3, 9);
  NativeHandle fd = OpenTempWith(contents);
  ScriptedSyscalls sys;
  bool slow_seen = false;
  sys.set_read([&](NativeHandle handle, void* dst, size_t length, uint64_t offset) {
    slow_seen |= IsSlowKernelCopyOffset(dst, offset);
    return ScriptedSyscalls::RealRead(handle, dst, length, offset);
  });
  std::vector<std::byte> out(contents.size() + 4096);
  std::byte* dst = out.data() + (4096 - reinterpret_cast<uintptr_t>(out.data()) % 4096) + 16;
  const size_t length = contents.size() - 5000;
  HALIO_ASSERT_OK(ReadAtRealigned(fd, 5000, {dst, length}, "realigned", sys.table()));
  EXPECT_FALSE(slow_seen);
  EXPECT_GT(sys.calls(), 2);  // 256 KiB chunks
  EXPECT_EQ(std::memcmp(dst, contents.data() + 5000, length), 0);
}

TEST_F(FdIoTest, ZeroLengthTransfersMakeNoCalls) {
  NativeHandle fd = OpenTemp();
  ScriptedSyscalls sys;
  HALIO_ASSERT_OK(ReadAt(fd, 1000, {}, "empty", sys.table()));
  HALIO_ASSERT_OK(WriteAt(fd, 1000, {}, "empty", sys.table()));
  EXPECT_EQ(sys.calls(), 0);
}

TEST_F(FdIoTest, ReadPastEndOfFileIsOutOfRange) {
  NativeHandle fd = OpenTempWith(Pattern(8, 2));
  std::vector<std::byte> dst(8);
  EXPECT_THAT(ReadAt(fd, 4, dst, "short.bin"),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("end of file at offset 8"), HasSubstr("[4, 12)"),
                             HasSubstr("short.bin"))));
}

TEST_F(FdIoTest, ReadOneByteAtEndOfFileIsOutOfRange) {
  NativeHandle fd = OpenTempWith(Pattern(8, 3));
  std::vector<std::byte> dst(1);
  EXPECT_THAT(ReadAt(fd, 8, dst, "eight.bin"),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("end of file at offset 8"), HasSubstr("[8, 9)"))));
}

TEST_F(FdIoTest, ChunksNeverExceedMaxBytesPerCall) {
  NativeHandle fd = OpenTemp();
  auto data = Pattern(100, 4);
  ScriptedSyscalls write_sys;
  write_sys.set_max_bytes_per_call(7);
  HALIO_ASSERT_OK(WriteAt(fd, 3, data, "chunked", write_sys.table()));
  EXPECT_EQ(write_sys.calls(), 15);  // ceil(100 / 7)
  EXPECT_EQ(write_sys.largest_request(), 7u);

  ScriptedSyscalls read_sys;
  read_sys.set_max_bytes_per_call(7);
  std::vector<std::byte> read_back(data.size());
  HALIO_ASSERT_OK(ReadAt(fd, 3, read_back, "chunked", read_sys.table()));
  EXPECT_EQ(read_sys.calls(), 15);
  EXPECT_EQ(read_sys.largest_request(), 7u);
  EXPECT_EQ(read_back, data);
}

// Every odd call fails with EINTR; every other call moves at most one byte.
int64_t FlakyRead(int* n, NativeHandle fd, void* dst, size_t length, uint64_t offset) {
  if ((*n)++ % 2 == 0) return -EINTR;
  return ScriptedSyscalls::RealRead(fd, dst, std::min<size_t>(length, 1), offset);
}
int64_t FlakyWrite(int* n, NativeHandle fd, const void* src, size_t length,
                   uint64_t offset) {
  if ((*n)++ % 2 == 0) return -EINTR;
  return ScriptedSyscalls::RealWrite(fd, src, std::min<size_t>(length, 1), offset);
}

TEST_F(FdIoTest, RetriesEintrAndLoopsOnShortCounts) {
  NativeHandle fd = OpenTemp();
  auto data = Pattern(50, 5);
  int n = 0;
  ScriptedSyscalls sys;
  sys.set_read([&](NativeHandle h, void* d, size_t l, uint64_t o) {
    return FlakyRead(&n, h, d, l, o);
  });
  sys.set_write([&](NativeHandle h, const void* s, size_t l, uint64_t o) {
    return FlakyWrite(&n, h, s, l, o);
  });
  HALIO_ASSERT_OK(WriteAt(fd, 10, data, "flaky", sys.table()));
  EXPECT_EQ(sys.calls(), 100);  // 50 EINTRs + 50 one-byte writes

  std::vector<std::byte> on_disk(data.size());
  ASSERT_EQ(RawPread(fd, on_disk.data(), on_disk.size(), 10), 50);
  EXPECT_EQ(on_disk, data);

  std::vector<std::byte> read_back(data.size());
  HALIO_ASSERT_OK(ReadAt(fd, 10, read_back, "flaky", sys.table()));
  EXPECT_EQ(read_back, data);
}

TEST_F(FdIoTest, ReadEioIsDataLossNamingFileAndRange) {
  NativeHandle fd = OpenTempWith(Pattern(64, 6));
  ScriptedSyscalls sys;
  sys.set_read([](NativeHandle, void*, size_t, uint64_t) -> int64_t { return -EIO; });
  std::vector<std::byte> dst(32);
  EXPECT_THAT(ReadAt(fd, 16, dst, "weights.bin", sys.table()),
              StatusIs(StatusCode::kDataLoss,
                       AllOf(HasSubstr("read of weights.bin [16, 48)"),
                             HasSubstr("at offset 16"), HasSubstr("errno 5"))));
  EXPECT_EQ(sys.calls(), 1);  // EIO is not retried
}

TEST_F(FdIoTest, ErrorAfterProgressNamesTheFailingOffset) {
  NativeHandle fd = OpenTempWith(Pattern(64, 7));
  ScriptedSyscalls sys;
  int n = 0;
  sys.set_read([&](NativeHandle h, void* d, size_t, uint64_t o) -> int64_t {
    if (n++ == 0) return ScriptedSyscalls::RealRead(h, d, 8, o);
    return -EIO;
  });
  std::vector<std::byte> dst(32);
  EXPECT_THAT(ReadAt(fd, 16, dst, "weights.bin", sys.table()),
              StatusIs(StatusCode::kDataLoss,
                       AllOf(HasSubstr("[16, 48)"), HasSubstr("at offset 24"))));
}

TEST_F(FdIoTest, WriteEioIsDataLossNamingFileAndRange) {
  NativeHandle fd = OpenTemp();
  ScriptedSyscalls sys;
  sys.set_write([](NativeHandle, const void*, size_t, uint64_t) -> int64_t { return -EIO; });
  auto data = Pattern(10, 8);
  EXPECT_THAT(WriteAt(fd, 90, data, "out.bin", sys.table()),
              StatusIs(StatusCode::kDataLoss, HasSubstr("write of out.bin [90, 100)")));
}

TEST_F(FdIoTest, WriteOfZeroBytesIsResourceExhausted) {
  NativeHandle fd = OpenTemp();
  ScriptedSyscalls sys;
  sys.set_write([](NativeHandle, const void*, size_t, uint64_t) -> int64_t { return 0; });
  auto data = Pattern(10, 9);
  EXPECT_THAT(WriteAt(fd, 0, data, "full.bin", sys.table()),
              StatusIs(StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("full.bin [0, 10)"),
                             HasSubstr("wrote 0 bytes at offset 0"))));
  EXPECT_EQ(sys.calls(), 1);  // not retried forever
}

TEST_F(FdIoTest, PersistentEagainGivesUpOnRead) {
  NativeHandle fd = OpenTempWith(Pattern(16, 10));
  ScriptedSyscalls sys;
  sys.set_read([](NativeHandle, void*, size_t, uint64_t) -> int64_t { return -EAGAIN; });
  std::vector<std::byte> dst(16);
  EXPECT_THAT(ReadAt(fd, 0, dst, "stuck.bin", sys.table()),
              StatusIs(StatusCode::kUnavailable, HasSubstr("stuck.bin [0, 16)")));
  EXPECT_GT(sys.calls(), 1);        // it did retry
  EXPECT_LT(sys.calls(), 1000000);  // but gave up
}

TEST_F(FdIoTest, PersistentEagainGivesUpOnWrite) {
  NativeHandle fd = OpenTemp();
  ScriptedSyscalls sys;
  sys.set_write([](NativeHandle, const void*, size_t, uint64_t) -> int64_t {
    return -EAGAIN;
  });
  auto data = Pattern(16, 11);
  EXPECT_THAT(WriteAt(fd, 0, data, "stuck.bin", sys.table()),
              StatusIs(StatusCode::kUnavailable, HasSubstr("stuck.bin")));
  EXPECT_GT(sys.calls(), 1);
  EXPECT_LT(sys.calls(), 1000000);
}

TEST_F(FdIoTest, TransientEagainIsRetried) {
  auto data = Pattern(16, 12);
  NativeHandle fd = OpenTempWith(data);
  ScriptedSyscalls sys;
  int eagains = 3;
  sys.set_read([&](NativeHandle h, void* d, size_t l, uint64_t o) -> int64_t {
    if (eagains > 0) {
      --eagains;
      return -EAGAIN;
    }
    return ScriptedSyscalls::RealRead(h, d, l, o);
  });
  std::vector<std::byte> dst(16);
  HALIO_ASSERT_OK(ReadAt(fd, 0, dst, "busy.bin", sys.table()));
  EXPECT_EQ(dst, data);
  EXPECT_EQ(sys.calls(), 4);
}

// --- Open / duplicate / length / access / sync ------------------------------

TEST_F(FdIoTest, OpenPathMissingFileIsNotFound) {
  std::string path = TempPath("_missing");
  OpenFlags flags;
  flags.read = true;
  EXPECT_THAT(OpenPath(path, flags),
              StatusIs(StatusCode::kNotFound, HasSubstr(path)));
}

TEST_F(FdIoTest, OpenPathWithoutReadOrWriteIsInvalidArgument) {
  std::string path = TempPath();
  OpenFlags flags;
  flags.create = true;
  EXPECT_THAT(OpenPath(path, flags),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr(path)));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(FdIoTest, OpenPathCreatesAndIsCloseOnExec) {
  std::string path = TempPath();
  OpenFlags flags;
  flags.read = flags.write = flags.create = true;
  HALIO_ASSERT_OK_AND_ASSIGN(NativeHandle fd, OpenPath(path, flags));
  Track(fd);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(halio::testing::RawIsInherited(fd));
}

TEST_F(FdIoTest, OpenPathTruncates) {
  std::string path;
  NativeHandle fd = OpenTemp(&path);
  ASSERT_EQ(RawPwrite(fd, "abcdef", 6, 0), 6);
  OpenFlags flags;
  flags.write = flags.truncate = true;
  HALIO_ASSERT_OK_AND_ASSIGN(NativeHandle truncated, OpenPath(path, flags));
  Track(truncated);
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

// --- Paths that are not regular files or block devices are refused --------

constexpr char kNeedsAFile[] = "not a regular file or block device";

OpenFlags ReadFlags() { return {.read = true}; }
OpenFlags WriteFlags() { return {.write = true}; }
OpenFlags ReadWriteFlags() { return {.read = true, .write = true}; }

// A FIFO with no writer would block open(2) for reading forever; with no
// reader, open for writing; read-write opens it without waiting. Every
// direction is refused, at once, naming the path and what it is.
TEST_F(FdIoTest, OpenPathRefusesAFifoWithoutBlocking) {
  testing::TempFifo fifo;
  for (const OpenFlags flags : {ReadFlags(), WriteFlags(), ReadWriteFlags()}) {
    Result<NativeHandle> fd = fifo.OpenWithin([&] { return OpenPath(fifo.path(), flags); });
    if (fd.ok()) Track(*fd);
    EXPECT_THAT(fd, StatusIs(StatusCode::kFailedPrecondition,
                             AllOf(HasSubstr(fifo.path()), HasSubstr("FIFO"),
                                   HasSubstr(kNeedsAFile))))
        << "read " << flags.read << " write " << flags.write;
  }
#if !defined(_WIN32)  // a FIFO's "no reader": POSIX's ENXIO
  Result<NativeHandle> writer =
      fifo.OpenWithin([&] { return OpenPath(fifo.path(), WriteFlags()); });
  EXPECT_THAT(writer, StatusIs(StatusCode::kFailedPrecondition, HasSubstr("no reader")));
#endif
}

TEST_F(FdIoTest, OpenPathRefusesACharacterDevice) {
  for (const OpenFlags flags : {ReadFlags(), WriteFlags()}) {
    EXPECT_THAT(OpenPath(halio::testing::kNullDevice, flags),
                StatusIs(StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr(halio::testing::kNullDevice), HasSubstr("a character device"),
                               HasSubstr(kNeedsAFile))));
  }
}

TEST_F(FdIoTest, OpenPathRefusesADirectory) {
  std::string dir = TempPath("_dir");
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  EXPECT_THAT(OpenPath(dir, ReadFlags()),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(dir), HasSubstr("a directory"), HasSubstr(kNeedsAFile))));
  // The kernel refuses writing first (EISDIR), in its own words.
  EXPECT_THAT(OpenPath(dir, WriteFlags()),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr(dir)));
}

#if !defined(_WIN32)  // Unix-domain sockets and O_NONBLOCK are POSIX's
TEST_F(FdIoTest, OpenPathRefusesASocket) {
  std::string path = TempPath("_sock");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int sock = Track(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(sock, 0);
  ASSERT_EQ(::bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0)
      << std::strerror(errno);
  EXPECT_THAT(OpenPath(path, ReadFlags()),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(path), HasSubstr("a socket"), HasSubstr(kNeedsAFile))));
}

// The open is non-blocking only until the type is known: later I/O on a
// regular file must wait for the disk (io_uring would otherwise return
// EAGAIN for reads that miss the page cache).
TEST_F(FdIoTest, OpenPathLeavesRegularFilesBlocking) {
  std::string path;
  OpenTemp(&path);
  for (const OpenFlags flags : {ReadFlags(), WriteFlags(), ReadWriteFlags()}) {
    HALIO_ASSERT_OK_AND_ASSIGN(NativeHandle fd, OpenPath(path, flags));
    Track(fd);
    EXPECT_EQ(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  }
}

#endif  // !_WIN32

TEST_F(FdIoTest, HandleLengthOfRegularFile) {
  NativeHandle fd = OpenTempWith(Pattern(123, 13));
  HALIO_ASSERT_OK_AND_ASSIGN(uint64_t length, HandleLength(fd, "f"));
  EXPECT_EQ(length, 123u);
}

#if !defined(_WIN32)  // a directory opened as a file: O_DIRECTORY
TEST_F(FdIoTest, HandleLengthOfDirectoryIsFailedPrecondition) {
  std::string dir = TempPath("_dir");
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  int fd = Track(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_GE(fd, 0);
  EXPECT_THAT(HandleLength(fd, dir),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(dir), HasSubstr("a directory"),
                             HasSubstr(kNeedsAFile))));
}

#endif  // !_WIN32

TEST_F(FdIoTest, HandleLengthOfClosedFdIsFailedPrecondition) {
  NativeHandle fd = RawOpen(halio::testing::kNullDevice, RawMode::kRead);
  ASSERT_GE(fd, 0);
  RawClose(fd);
  EXPECT_THAT(HandleLength(fd, "closed"), StatusIs(StatusCode::kFailedPrecondition));
}

TEST_F(FdIoTest, HandleAccessReportsReadAndWrite) {
  std::string path;
  OpenTemp(&path);
  struct Case {
    RawMode mode;
    bool read, write;
  };
  for (Case c : {Case{RawMode::kRead, true, false}, Case{RawMode::kWrite, false, true},
                 Case{RawMode::kReadWrite, true, true}}) {
    NativeHandle fd = Track(RawOpen(path, c.mode));
    ASSERT_GE(fd, 0);
    HALIO_ASSERT_OK_AND_ASSIGN(OpenFlags access, HandleAccess(fd));
    EXPECT_EQ(access.read, c.read) << static_cast<int>(c.mode);
    EXPECT_EQ(access.write, c.write) << static_cast<int>(c.mode);
  }
}

TEST_F(FdIoTest, DuplicateHandleIsCloseOnExecCopy) {
  NativeHandle fd = OpenTempWith(Pattern(4, 14));
  HALIO_ASSERT_OK_AND_ASSIGN(NativeHandle copy, DuplicateHandle(fd));
  Track(copy);
  EXPECT_NE(copy, fd);
  EXPECT_FALSE(halio::testing::RawIsInherited(copy));
  HALIO_ASSERT_OK_AND_ASSIGN(uint64_t length, HandleLength(copy, "copy"));
  EXPECT_EQ(length, 4u);
}

TEST_F(FdIoTest, DuplicateHandleOfClosedFdIsFailedPrecondition) {
  NativeHandle fd = RawOpen(halio::testing::kNullDevice, RawMode::kRead);
  ASSERT_GE(fd, 0);
  RawClose(fd);
  EXPECT_THAT(DuplicateHandle(fd), StatusIs(StatusCode::kFailedPrecondition,
                                            HasSubstr(halio::testing::kHandleWord + std::to_string(fd))));
}

TEST_F(FdIoTest, CloseHandleClosesAndIgnoresInvalid) {
  NativeHandle fd = RawOpen(halio::testing::kNullDevice, RawMode::kRead);
  ASSERT_GE(fd, 0);
  CloseHandle(fd);
  EXPECT_FALSE(halio::testing::RawIsOpen(fd));
  CloseHandle(kInvalidHandle);  // must not crash
}

TEST_F(FdIoTest, SyncHandleWorks) {
  NativeHandle fd = OpenTempWith(Pattern(32, 15));
  HALIO_EXPECT_OK(SyncHandle(fd, /*data_only=*/true, "synced.bin"));
  HALIO_EXPECT_OK(SyncHandle(fd, /*data_only=*/false, "synced.bin"));
}

TEST_F(FdIoTest, SyncHandleOfClosedFdNamesTheFile) {
  NativeHandle fd = RawOpen(halio::testing::kNullDevice, RawMode::kRead);
  ASSERT_GE(fd, 0);
  RawClose(fd);
  EXPECT_THAT(SyncHandle(fd, true, "gone.bin"),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(std::string(halio::testing::kDataSyncCall) + " gone.bin"),
                             HasSubstr("errno"))));
}

#if defined(_WIN32)
// GetLastError goes through the one errno mapping: the code and hint a POSIX
// caller would get, the caller's description of the operation and range,
// and Windows' own number and text.
TEST(Win32ErrorTest, MapsThroughTheErrnoMappingNamingTheOperation) {
  struct Case {
    DWORD error;
    StatusCode code;
  };
  for (const Case c : {Case{ERROR_FILE_NOT_FOUND, StatusCode::kNotFound},
                       Case{ERROR_PATH_NOT_FOUND, StatusCode::kNotFound},
                       Case{ERROR_ACCESS_DENIED, StatusCode::kPermissionDenied},
                       Case{ERROR_WRITE_PROTECT, StatusCode::kPermissionDenied},
                       Case{ERROR_DISK_FULL, StatusCode::kResourceExhausted},
                       Case{ERROR_NOT_ENOUGH_MEMORY, StatusCode::kResourceExhausted},
                       Case{ERROR_INVALID_HANDLE, StatusCode::kFailedPrecondition},
                       Case{ERROR_SHARING_VIOLATION, StatusCode::kFailedPrecondition},
                       Case{ERROR_INVALID_PARAMETER, StatusCode::kInvalidArgument},
                       Case{ERROR_OPERATION_ABORTED, StatusCode::kCancelled},
                       Case{ERROR_CRC, StatusCode::kDataLoss}}) {
    EXPECT_THAT(Win32ErrorToStatus(c.error, "read of f.bin [4096, 8192)"),
                StatusIs(c.code, AllOf(HasSubstr("read of f.bin [4096, 8192)"),
                                       HasSubstr("Windows error " + std::to_string(c.error)))))
        << c.error;
  }
  EXPECT_THAT(Win32ErrorToStatus(ERROR_DISK_FULL, "write of f.bin"),
              StatusIs(StatusCode::kResourceExhausted, HasSubstr("free space")));
}

// A transfer the OS refuses names the file, the range and the offset reached.
TEST_F(FdIoTest, AWriteThroughAReadOnlyHandleNamesTheFileAndRange) {
  std::string path;
  OpenTemp(&path);
  NativeHandle read_only = Track(RawOpen(path, RawMode::kRead));
  auto data = Pattern(100, 3);
  EXPECT_THAT(WriteAt(read_only, 4096, data, path),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(path), HasSubstr("[4096, 4196)"))));
}
#endif  // _WIN32

// --- The > 4 GiB single read ------------------------------------------------

TEST_F(FdIoTest, ReadsMoreThan4GiBInOneCallInKernelSizedChunks) {
  if (sizeof(size_t) < 8) GTEST_SKIP() << "needs a 64-bit address space";
  constexpr uint64_t k4GiB = uint64_t{1} << 32;
  constexpr uint64_t kSize = k4GiB + 8192;
  constexpr uint64_t kBoundary = kMaxIoBytesPerCall;  // where the first chunk ends
  const std::pair<uint64_t, std::byte> markers[] = {
      {0, std::byte{0xA1}},
      {kBoundary - 1, std::byte{0xB2}},
      {kBoundary, std::byte{0xC3}},
      {k4GiB, std::byte{0xD4}},
      {kSize - 1, std::byte{0xE5}},
  };

  std::string path;
  NativeHandle fd = OpenTemp(&path);
  ASSERT_GE(fd, 0);
  if (!halio::testing::RawTruncate(fd, kSize)) {
    int error = errno;
    if (error == ENOSPC || error == EFBIG) {
      GTEST_SKIP() << "the filesystem of " << path << " refuses a sparse file of "
                   << kSize << " bytes: " << std::strerror(error);
    }
    FAIL() << "ftruncate " << path << ": " << std::strerror(error);
  }
  for (const auto& [offset, value] : markers) {
    if (RawPwrite(fd, &value, 1, static_cast<off_t>(offset)) != 1) {
      int error = errno;
      if (error == ENOSPC || error == EFBIG) {
        GTEST_SKIP() << "cannot write a marker at " << offset << " of " << path << ": "
                     << std::strerror(error);
      }
      FAIL() << "pwrite marker at " << offset << ": " << std::strerror(error);
    }
  }

  halio::testing::LazyMemory buffer(kSize);  // only the pages the read touches cost RAM
  ASSERT_NE(buffer.data(), nullptr) << "mmap of " << kSize << " bytes: "
                                    << std::strerror(errno);

  ScriptedSyscalls sys;  // the real pread, counted, with the default chunk size
  ASSERT_EQ(sys.table().max_bytes_per_call, kMaxIoBytesPerCall);
  HALIO_ASSERT_OK(ReadAt(fd, 0, std::span<std::byte>(buffer.data(), kSize), path,
                         sys.table()));
  EXPECT_LE(sys.largest_request(), kMaxIoBytesPerCall);
  EXPECT_GE(sys.calls(), 3);

  for (const auto& [offset, value] : markers) {
    EXPECT_EQ(buffer.data()[offset], value) << "marker at offset " << offset;
  }
  // The holes around the markers read back as zeros.
  EXPECT_EQ(buffer.data()[1], std::byte{0});
  EXPECT_EQ(buffer.data()[kBoundary + 1], std::byte{0});
  EXPECT_EQ(buffer.data()[k4GiB - 1], std::byte{0});
  EXPECT_EQ(buffer.data()[kSize - 2], std::byte{0});
}

}  // namespace
}  // namespace halio::platform
