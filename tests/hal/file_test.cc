// Files: FdFile on real temp files (open modes, fd import, positional I/O
// checked against the bytes on disk) and MemoryFile over caller memory.
#include "halio/file.h"


#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#endif

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "halio/hal/allocator.h"
#include "testing/fifo.h"
#include "testing/raw_file.h"
#include "fd_transfer.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<uint8_t> Pattern(size_t length, uint8_t seed) {
  std::vector<uint8_t> bytes(length);
  for (size_t i = 0; i < length; ++i) bytes[i] = static_cast<uint8_t>(i * 7 + seed);
  return bytes;
}

BufferRef MakeBuffer(uint64_t size, MemoryAccess access = MemoryAccess::kAll) {
  BufferParams params;
  params.access = access;
  Result<BufferRef> buffer = BufferAllocator().Allocate(params, size);
  EXPECT_THAT(buffer, IsOk());
  return buffer.ok() ? std::move(buffer).value() : nullptr;
}

// Unit tests pin the synchronous backend: what they check is FdFile's own
// validation and pread/pwrite path, independent of io_uring/asio availability
// and of HALIO_BACKEND.
FdFileOptions SyncOptions() {
  FdFileOptions options;
  options.backend = IoBackend::kSync;
  return options;
}

void Store(const BufferRef& buffer, const std::vector<uint8_t>& bytes, uint64_t offset = 0) {
  Result<MappedMemory> mapped = buffer->Map(MemoryAccess::kWrite, offset, bytes.size());
  ASSERT_THAT(mapped, IsOk());
  std::memcpy(mapped->data(), bytes.data(), bytes.size());
}

std::vector<uint8_t> Load(const BufferRef& buffer, uint64_t offset = 0,
                          uint64_t length = kWholeBuffer) {
  Result<MappedMemory> mapped = buffer->Map(MemoryAccess::kRead, offset, length);
  EXPECT_THAT(mapped, IsOk());
  if (!mapped.ok()) return {};
  return std::vector<uint8_t>(reinterpret_cast<uint8_t*>(mapped->data()),
                              reinterpret_cast<uint8_t*>(mapped->data()) + mapped->size());
}

class FdFileTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (NativeHandle fd : fds_) testing::RawClose(fd);
    std::error_code ignored;
    for (const auto& path : paths_) std::filesystem::remove(path, ignored);
  }

  std::string TempPath() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto path = std::filesystem::temp_directory_path() /
                ("halio_file_" + std::to_string(::getpid()) + "_" + info->name() + "_" +
                 std::to_string(counter++));
    paths_.push_back(path.string());
    return path.string();
  }

  std::string TempFileWith(const std::vector<uint8_t>& contents) {
    std::string path = TempPath();
    NativeHandle fd = testing::RawOpen(path, testing::RawMode::kWrite, /*create_truncate=*/true);
    EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
    EXPECT_EQ(testing::RawPwrite(fd, contents.data(), contents.size(), 0),
              static_cast<int64_t>(contents.size()));
    testing::RawClose(fd);
    return path;
  }

  // The file's bytes as a plain read sees them.
  static std::vector<uint8_t> ReadDisk(const std::string& path) {
    EXPECT_TRUE(std::filesystem::exists(path)) << path;
    const std::vector<std::byte> bytes = testing::ReadFileBytes(path);
    return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size());
  }

  NativeHandle OpenFd(const std::string& path, testing::RawMode mode) {
    NativeHandle fd = testing::RawOpen(path, mode);
    EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }

  std::vector<std::string> paths_;
  std::vector<NativeHandle> fds_;
};

// --- FdFile::Open -----------------------------------------------------------

TEST_F(FdFileTest, OpenCreatesForReadWrite) {
  std::string path = TempPath();
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             FdFile::Open(path, OpenMode::kReadWrite | OpenMode::kCreate,
                                          SyncOptions()));
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(file->length(), 0u);
  EXPECT_EQ(file->allowed_access(), MemoryAccess::kReadWrite);
  EXPECT_EQ(file->description(), path);
}

TEST_F(FdFileTest, OpenExistingCapturesLengthAndAccess) {
  std::string path = TempFileWith(Pattern(100, 1));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, FdFile::Open(path, OpenMode::kRead, SyncOptions()));
  EXPECT_EQ(file->length(), 100u);
  EXPECT_EQ(file->allowed_access(), MemoryAccess::kRead);
}

TEST_F(FdFileTest, OpenTruncates) {
  std::string path = TempFileWith(Pattern(100, 2));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             FdFile::Open(path, OpenMode::kWrite | OpenMode::kTruncate,
                                          SyncOptions()));
  EXPECT_EQ(file->length(), 0u);
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
  EXPECT_EQ(file->allowed_access(), MemoryAccess::kWrite);
}

TEST_F(FdFileTest, OpenMissingPathIsNotFound) {
  std::string path = TempPath() + "_missing";
  EXPECT_THAT(FdFile::Open(path, OpenMode::kRead, SyncOptions()),
              StatusIs(StatusCode::kNotFound, HasSubstr(path)));
}

TEST_F(FdFileTest, OpenWithoutReadOrWriteIsInvalidArgument) {
  std::string path = TempPath();
  EXPECT_THAT(FdFile::Open(path, OpenMode::kCreate, SyncOptions()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr(path)));
  EXPECT_FALSE(std::filesystem::exists(path));
}

// A FIFO with no writer used to block FdFile::Open forever; now every mode
// (O_DIRECT too, and with the default backend) is refused at once.
TEST_F(FdFileTest, OpenRefusesAFifoAtOnce) {
  testing::TempFifo fifo;
  for (const OpenMode mode : {OpenMode::kRead, OpenMode::kWrite, OpenMode::kReadWrite,
                              OpenMode::kRead | OpenMode::kDirect}) {
    for (const FdFileOptions& options : {SyncOptions(), FdFileOptions{}}) {
      Result<FileRef> file =
          fifo.OpenWithin([&] { return FdFile::Open(fifo.path(), mode, options); });
      EXPECT_THAT(file, StatusIs(StatusCode::kFailedPrecondition,
                                 AllOf(HasSubstr(fifo.path()), HasSubstr("FIFO"),
                                       HasSubstr("not a regular file or block device"))))
          << "mode " << static_cast<unsigned>(mode);
    }
  }
}

TEST_F(FdFileTest, OpenRefusesCharacterDevicesAndDirectories) {
  EXPECT_THAT(FdFile::Open(testing::kNullDevice, OpenMode::kRead, SyncOptions()),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(testing::kNullDevice), HasSubstr("a character device"))));
  std::string dir = TempPath();
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  EXPECT_THAT(FdFile::Open(dir, OpenMode::kRead, SyncOptions()),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(dir), HasSubstr("a directory"))));
}

TEST_F(FdFileTest, SyncBackendHasNoAsyncHandleNorStorageBuffer) {
  std::string path = TempFileWith(Pattern(8, 3));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, FdFile::Open(path, OpenMode::kRead, SyncOptions()));
  EXPECT_EQ(FdTransfer::async_file(*file), nullptr);
  EXPECT_TRUE(file->supports_synchronous_io());
  EXPECT_EQ(file->storage_buffer(), nullptr);
  auto* fd_file = static_cast<FdFile*>(file.get());
  EXPECT_EQ(fd_file->io_backend(), IoBackend::kSync);
  EXPECT_FALSE(fd_file->async_fallback_reason().empty());
}

// --- FdFile I/O -------------------------------------------------------------

TEST_F(FdFileTest, WriteReadRoundTripMatchesDisk) {
  std::string path = TempPath();
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             FdFile::Open(path, OpenMode::kReadWrite | OpenMode::kCreate,
                                          SyncOptions()));
  BufferRef source = MakeBuffer(64);
  auto data = Pattern(64, 4);
  Store(source, data);
  // Buffer bytes [8, 40) go to file bytes [0, 32).
  HALIO_ASSERT_OK(file->Write(0, *source, 8, 32));
  std::vector<uint8_t> expected(data.begin() + 8, data.begin() + 40);
  EXPECT_EQ(ReadDisk(path), expected);

  BufferRef target = MakeBuffer(48);
  HALIO_ASSERT_OK(file->Read(4, *target, 16, 28));
  EXPECT_THAT(Load(target, 0, 16), Each(0));
  EXPECT_EQ(Load(target, 16, 28), std::vector<uint8_t>(expected.begin() + 4, expected.end()));
  EXPECT_THAT(Load(target, 44), Each(0));
}

TEST_F(FdFileTest, WriteExtendsLength) {
  std::string path = TempPath();
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             FdFile::Open(path, OpenMode::kReadWrite | OpenMode::kCreate,
                                          SyncOptions()));
  BufferRef source = MakeBuffer(8);
  Store(source, Pattern(8, 5));
  HALIO_ASSERT_OK(file->Write(100, *source, 0, 8));
  EXPECT_EQ(file->length(), 108u);
  EXPECT_EQ(std::filesystem::file_size(path), 108u);
  HALIO_ASSERT_OK(file->Write(0, *source, 0, 4));
  EXPECT_EQ(file->length(), 108u);  // never shrinks
  // The written range is now readable through the same file.
  BufferRef target = MakeBuffer(8);
  HALIO_ASSERT_OK(file->Read(100, *target, 0, 8));
  EXPECT_EQ(Load(target), Pattern(8, 5));
}

TEST_F(FdFileTest, ReadPastEndIsOutOfRangeAndLeavesBuffer) {
  std::string path = TempFileWith(Pattern(16, 6));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, FdFile::Open(path, OpenMode::kRead, SyncOptions()));
  BufferRef target = MakeBuffer(32);
  Store(target, std::vector<uint8_t>(32, 0xCD));
  EXPECT_THAT(file->Read(8, *target, 0, 16),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr(path), HasSubstr("[8, 24)"), HasSubstr("16 bytes"))));
  EXPECT_THAT(file->Read(17, *target, 0, 0), StatusIs(StatusCode::kOutOfRange));
  EXPECT_THAT(Load(target), Each(0xCD));
}

TEST_F(FdFileTest, FileShrunkUnderneathIsOutOfRange) {
  std::string path = TempFileWith(Pattern(64, 7));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, FdFile::Open(path, OpenMode::kRead, SyncOptions()));
  std::filesystem::resize_file(path, 16);
  BufferRef target = MakeBuffer(64);
  EXPECT_THAT(file->Read(0, *target, 0, 64),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("end of file at offset 16"), HasSubstr(path))));
}

TEST_F(FdFileTest, WriteToReadOnlyFileIsPermissionDenied) {
  auto original = Pattern(16, 8);
  std::string path = TempFileWith(original);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, FdFile::Open(path, OpenMode::kRead, SyncOptions()));
  BufferRef source = MakeBuffer(16);
  EXPECT_THAT(file->Write(0, *source, 0, 16),
              StatusIs(StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("cannot write " + path), HasSubstr("read access only"))));
  EXPECT_EQ(ReadDisk(path), original);
}

TEST_F(FdFileTest, ReadFromWriteOnlyFileIsPermissionDenied) {
  std::string path = TempFileWith(Pattern(16, 9));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, FdFile::Open(path, OpenMode::kWrite, SyncOptions()));
  BufferRef target = MakeBuffer(16);
  EXPECT_THAT(file->Read(0, *target, 0, 16),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("cannot read " + path)));
  EXPECT_THAT(Load(target), Each(0));
}

TEST_F(FdFileTest, ReadIntoReadOnlyBufferIsPermissionDenied) {
  std::string path = TempFileWith(Pattern(16, 10));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, FdFile::Open(path, OpenMode::kRead, SyncOptions()));
  BufferRef target = MakeBuffer(16, MemoryAccess::kRead);
  EXPECT_THAT(file->Read(0, *target, 0, 16),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("read target")));
}

TEST_F(FdFileTest, FlushSucceeds) {
  std::string path = TempPath();
  FdFileOptions options = SyncOptions();
  options.sync_on_close = true;
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             FdFile::Open(path, OpenMode::kWrite | OpenMode::kCreate, options));
  auto* fd_file = static_cast<FdFile*>(file.get());
  HALIO_EXPECT_OK(fd_file->Flush());
  HALIO_EXPECT_OK(fd_file->Flush(/*data_only=*/false));
}

// --- FdFile::FromHandle -----------------------------------------------------

TEST_F(FdFileTest, FromHandleDuplicatesTheFd) {
  auto data = Pattern(32, 11);
  std::string path = TempFileWith(data);
  NativeHandle fd = testing::RawOpen(path, testing::RawMode::kRead);
  ASSERT_GE(fd, 0);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             FdFile::FromHandle(fd, MemoryAccess::kRead, SyncOptions()));
  EXPECT_NE(static_cast<FdFile*>(file.get())->fd(), fd);
  EXPECT_EQ(file->description(), testing::kHandleWord + std::to_string(fd));
  EXPECT_EQ(file->length(), 32u);
  testing::RawClose(fd);  // the caller closes its own; the file keeps its duplicate

  BufferRef target = MakeBuffer(32);
  HALIO_ASSERT_OK(file->Read(0, *target, 0, 32));
  EXPECT_EQ(Load(target), data);
}

TEST_F(FdFileTest, DestroyingTheFileKeepsTheCallersFd) {
  std::string path = TempFileWith(Pattern(8, 12));
  NativeHandle fd = OpenFd(path, testing::RawMode::kReadWrite);
  {
    HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                               FdFile::FromHandle(fd, MemoryAccess::kReadWrite, SyncOptions()));
    EXPECT_EQ(file->allowed_access(), MemoryAccess::kReadWrite);
  }
  EXPECT_TRUE(testing::RawIsOpen(fd));
  uint8_t byte = 0;
  EXPECT_EQ(testing::RawPread(fd, &byte, 1, 0), 1);
}

TEST_F(FdFileTest, FromHandleOfReadOnlyFdWithWriteIsPermissionDenied) {
  std::string path = TempFileWith(Pattern(8, 13));
  NativeHandle fd = OpenFd(path, testing::RawMode::kRead);
  std::string fd_text = testing::kHandleWord + std::to_string(fd);
  EXPECT_THAT(FdFile::FromHandle(fd, MemoryAccess::kWrite, SyncOptions()),
              StatusIs(StatusCode::kPermissionDenied,
                       AllOf(HasSubstr(fd_text), HasSubstr("reading only"))));
  EXPECT_THAT(FdFile::FromHandle(fd, MemoryAccess::kReadWrite, SyncOptions()),
              StatusIs(StatusCode::kPermissionDenied));
}

TEST_F(FdFileTest, FromHandleOfWriteOnlyFdWithReadIsPermissionDenied) {
  std::string path = TempFileWith(Pattern(8, 14));
  NativeHandle fd = OpenFd(path, testing::RawMode::kWrite);
  EXPECT_THAT(FdFile::FromHandle(fd, MemoryAccess::kRead, SyncOptions()),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("writing only")));
}

TEST_F(FdFileTest, FromHandleOfClosedFdIsFailedPrecondition) {
  std::string path = TempFileWith(Pattern(8, 15));
  NativeHandle fd = testing::RawOpen(path, testing::RawMode::kRead);
  ASSERT_GE(fd, 0);
  testing::RawClose(fd);
  EXPECT_THAT(FdFile::FromHandle(fd, MemoryAccess::kRead, SyncOptions()),
              StatusIs(StatusCode::kFailedPrecondition,
                       HasSubstr(testing::kHandleWord + std::to_string(fd))));
}

TEST_F(FdFileTest, FromHandleWithoutAccessIsInvalidArgument) {
  std::string path = TempFileWith(Pattern(8, 16));
  NativeHandle fd = OpenFd(path, testing::RawMode::kReadWrite);
  EXPECT_THAT(FdFile::FromHandle(fd, MemoryAccess::kNone, SyncOptions()),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(FdFile::FromHandle(fd, MemoryAccess::kDiscard, SyncOptions()),
              StatusIs(StatusCode::kInvalidArgument));
}

#if !defined(_WIN32)  // a directory opened as a file: O_DIRECTORY
TEST_F(FdFileTest, FromHandleOfDirectoryIsFailedPrecondition) {
  std::string dir = TempPath();
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  NativeHandle fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  fds_.push_back(fd);
  EXPECT_THAT(FdFile::FromHandle(fd, MemoryAccess::kRead, SyncOptions()),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("not a regular file")));
}
#endif  // !_WIN32

#if defined(_WIN32)
// A file object can be on one I/O completion port only. One the caller has
// already put on a port of its own cannot join asio's: `auto` keeps the file
// working synchronously and says why; asking for asio is an error saying so.
TEST_F(FdFileTest, AFileOnAnotherCompletionPortFallsBackToSyncAndSaysWhy) {
  if (!IoEngine::Probe(IoBackend::kAsio).status.ok()) GTEST_SKIP() << "asio is not built";
  auto data = Pattern(64, 21);
  std::string path = TempFileWith(data);
  HANDLE file = ::CreateFileA(path.c_str(), GENERIC_READ,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                              OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
  ASSERT_NE(file, INVALID_HANDLE_VALUE);
  fds_.push_back(reinterpret_cast<NativeHandle>(file));
  HANDLE port = ::CreateIoCompletionPort(file, nullptr, 0, 1);
  ASSERT_NE(port, nullptr) << "error " << ::GetLastError();

  FdFileOptions asio;
  asio.backend = IoBackend::kAsio;
  EXPECT_THAT(FdFile::FromHandle(reinterpret_cast<NativeHandle>(file), MemoryAccess::kRead, asio),
              StatusIs(StatusCode::kUnavailable, HasSubstr("I/O completion port")));

  FdFileOptions automatic;
  automatic.engine = *IoEngine::Shared(IoBackend::kAsio);
  HALIO_ASSERT_OK_AND_ASSIGN(
      FileRef opened,
      FdFile::FromHandle(reinterpret_cast<NativeHandle>(file), MemoryAccess::kRead, automatic));
  auto* fd_file = static_cast<FdFile*>(opened.get());
  EXPECT_EQ(fd_file->io_backend(), IoBackend::kSync);
  EXPECT_THAT(fd_file->async_fallback_reason(), HasSubstr("I/O completion port"));
  BufferRef target = MakeBuffer(64);
  HALIO_ASSERT_OK(opened->Read(0, *target, 0, 64));
  EXPECT_EQ(Load(target), data);
  ::CloseHandle(port);
}
#endif  // _WIN32

// --- MemoryFile -------------------------------------------------------------

struct alignas(64) Arena {
  std::byte bytes[256] = {};
};

struct ReleaseCount {
  int calls = 0;
  std::span<std::byte> memory;
  static void Fn(void* user_data, std::span<std::byte> memory) {
    auto* self = static_cast<ReleaseCount*>(user_data);
    ++self->calls;
    self->memory = memory;
  }
  ReleaseCallback callback() { return ReleaseCallback{&Fn, this}; }
};

std::span<std::byte> FilledSpan(Arena& arena, size_t offset, size_t length) {
  std::span<std::byte> memory(arena.bytes + offset, length);
  for (size_t i = 0; i < length; ++i) memory[i] = static_cast<std::byte>(i + 1);
  return memory;
}

TEST(MemoryFileTest, WrapsSixteenByteAlignedMemory) {
  Arena arena;
  std::span<std::byte> memory = FilledSpan(arena, 16, 64);
  ASSERT_NE(reinterpret_cast<uintptr_t>(memory.data()) % 64, 0u);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, MemoryFile::Wrap(memory, MemoryAccess::kRead));
  EXPECT_EQ(file->length(), 64u);
  EXPECT_EQ(file->allowed_access(), MemoryAccess::kRead);
  EXPECT_TRUE(file->supports_synchronous_io());
  EXPECT_EQ(FdTransfer::async_file(*file), nullptr);
  EXPECT_THAT(file->description(), HasSubstr("memory file of 64 bytes"));
  ASSERT_NE(file->storage_buffer(), nullptr);
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped,
                             file->storage_buffer()->Map(MemoryAccess::kRead));
  EXPECT_EQ(mapped.data(), memory.data());
  EXPECT_EQ(mapped.size(), 64u);
}

TEST(MemoryFileTest, ReadsCopyAndAreRangeChecked) {
  Arena arena;
  std::span<std::byte> memory = FilledSpan(arena, 16, 64);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, MemoryFile::Wrap(memory, MemoryAccess::kRead));
  BufferRef target = MakeBuffer(8);
  HALIO_ASSERT_OK(file->Read(60, *target, 0, 4));
  EXPECT_THAT(Load(target), ElementsAre(61, 62, 63, 64, 0, 0, 0, 0));
  EXPECT_THAT(file->Read(60, *target, 0, 8),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("memory file of 64 bytes"), HasSubstr("[60, 68)"))));
  EXPECT_THAT(file->Read(0, *target, 4, 8),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("read target")));
}

TEST(MemoryFileTest, WritesLandInCallerMemory) {
  Arena arena;
  std::span<std::byte> memory = FilledSpan(arena, 16, 64);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             MemoryFile::Wrap(memory, MemoryAccess::kReadWrite));
  BufferRef source = MakeBuffer(4);
  Store(source, {0xA0, 0xA1, 0xA2, 0xA3});
  HALIO_ASSERT_OK(file->Write(10, *source, 0, 4));
  EXPECT_EQ(memory[9], std::byte{10});
  EXPECT_EQ(memory[10], std::byte{0xA0});
  EXPECT_EQ(memory[13], std::byte{0xA3});
  EXPECT_EQ(memory[14], std::byte{15});
}

TEST(MemoryFileTest, WritePastEndIsOutOfRange) {
  Arena arena;
  std::span<std::byte> memory = FilledSpan(arena, 16, 64);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             MemoryFile::Wrap(memory, MemoryAccess::kReadWrite));
  BufferRef source = MakeBuffer(8);
  Store(source, std::vector<uint8_t>(8, 0xFF));
  EXPECT_THAT(file->Write(60, *source, 0, 8),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("[60, 68)"), HasSubstr("cannot grow"))));
  EXPECT_THAT(file->Write(65, *source, 0, 0), StatusIs(StatusCode::kOutOfRange));
  EXPECT_EQ(file->length(), 64u);
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(memory[i], std::byte(i + 1)) << i;
  EXPECT_EQ(arena.bytes[16 + 64], std::byte{0});  // nothing past the end either
}

TEST(MemoryFileTest, ReadOnlyWriteIsPermissionDenied) {
  Arena arena;
  std::span<std::byte> memory = FilledSpan(arena, 0, 32);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, MemoryFile::Wrap(memory, MemoryAccess::kRead));
  BufferRef source = MakeBuffer(4);
  EXPECT_THAT(file->Write(0, *source, 0, 4),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("memory file")));
  EXPECT_EQ(memory[0], std::byte{1});
  // Its storage buffer is read-only too.
  EXPECT_THAT(file->storage_buffer()->Map(MemoryAccess::kWrite),
              StatusIs(StatusCode::kPermissionDenied));
}

TEST(MemoryFileTest, WriteOnlyReadIsPermissionDenied) {
  Arena arena;
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             MemoryFile::Wrap(FilledSpan(arena, 0, 32), MemoryAccess::kWrite));
  BufferRef target = MakeBuffer(4);
  EXPECT_THAT(file->Read(0, *target, 0, 4), StatusIs(StatusCode::kPermissionDenied));
}

TEST(MemoryFileTest, ReleaseRunsOnceAfterFileAndStorageRefsDrop) {
  Arena arena;
  ReleaseCount release;
  std::span<std::byte> memory = FilledSpan(arena, 16, 64);
  HALIO_ASSERT_OK_AND_ASSIGN(
      FileRef file, MemoryFile::Wrap(memory, MemoryAccess::kRead, release.callback()));
  BufferRef storage = file->storage_buffer();
  file.reset();
  EXPECT_EQ(release.calls, 0);
  storage.reset();
  EXPECT_EQ(release.calls, 1);
  EXPECT_EQ(release.memory.data(), memory.data());
  EXPECT_EQ(release.memory.size(), 64u);
}

TEST(MemoryFileTest, WrapWithoutAccessFailsWithoutRelease) {
  Arena arena;
  ReleaseCount release;
  EXPECT_THAT(MemoryFile::Wrap(FilledSpan(arena, 0, 16), MemoryAccess::kNone,
                               release.callback()),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(release.calls, 0);
}

// --- ValidateFileRead / ValidateFileWrite -----------------------------------

TEST(ValidateFileTest, ReadOffsetNearMaxIsOutOfRange) {
  Arena arena;
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             MemoryFile::Wrap(FilledSpan(arena, 0, 64), MemoryAccess::kAll));
  BufferRef buffer = MakeBuffer(16);
  EXPECT_THAT(ValidateFileRead(*file, UINT64_MAX - 2, *buffer, 0, 8),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("overflows 64 bits")));
  EXPECT_THAT(ValidateFileRead(*file, 60, *buffer, 0, 8),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("past the end of the file")));
  HALIO_EXPECT_OK(ValidateFileRead(*file, 56, *buffer, 0, 8));
}

TEST(ValidateFileTest, WriteOffsetNearMaxIsOutOfRange) {
  Arena arena;
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             MemoryFile::Wrap(FilledSpan(arena, 0, 64), MemoryAccess::kAll));
  BufferRef buffer = MakeBuffer(16);
  EXPECT_THAT(ValidateFileWrite(*file, UINT64_MAX - 2, *buffer, 0, 8),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("overflows 64 bits"),
                             HasSubstr("largest file offset"))));
  EXPECT_THAT(ValidateFileWrite(*file, INT64_MAX - 2, *buffer, 0, 8),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("largest file offset")));
  HALIO_EXPECT_OK(ValidateFileWrite(*file, INT64_MAX - 8, *buffer, 0, 8));
}

TEST(ValidateFileTest, BufferRangeIsCheckedFirst) {
  Arena arena;
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file,
                             MemoryFile::Wrap(FilledSpan(arena, 0, 64), MemoryAccess::kAll));
  BufferRef buffer = MakeBuffer(16);
  EXPECT_THAT(ValidateFileRead(*file, 0, *buffer, 8, UINT64_MAX - 4),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("read target")));
  EXPECT_THAT(ValidateFileWrite(*file, 0, *buffer, 8, 16),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("write source")));
}

}  // namespace
}  // namespace halio
