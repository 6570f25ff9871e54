// The test matrix shared by the conformance, fault, allocation and stress
// suites: every device x I/O backend x file kind, with readable gtest names,
// a skip (with halio's own reason) for what cannot run here, test files of
// each kind, and the helpers that run one op to completion.
//
//   class MyTest : public testing::MatrixTest {};
//   TEST_P(MyTest, Reads) { ... device_ ... }
//   INSTANTIATE_TEST_SUITE_P(AllDevices, MyTest,
//       ::testing::ValuesIn(testing::Matrix({FileKind::kFd, FileKind::kMemory})),
//       testing::MatrixParamName);
//
// Names: "<device>_<backend>_<kind>" for fd kinds ("local_sync_io_uring_fd",
// "local_async_sync_fd_cold"), "<device>_memory" for memory files and
// "<device>" for cases without a file. tests/reliability_report.py parses
// them: keep the two in step.
//
// Thread-safety: the helpers may be called from any thread; one TestFiles
// or MatrixTest object belongs to one test.
#ifndef HALIO_TESTS_TESTING_MATRIX_H_
#define HALIO_TESTS_TESTING_MATRIX_H_

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "halio/drivers.h"
#include "halio/file.h"
#include "halio/hal/device.h"
#include "halio/io_backend.h"
#include "halio/status.h"

namespace halio::testing {

// What the file of a case is.
enum class FileKind {
  kNone,      // the case uses no file: one case per device
  kFd,        // an FdFile on a file just written (its pages hot in the cache)
  kFdCold,    // an FdFile whose pages are dropped before each read, so reads
              // take the engine's (or pread's) own path, not a cache copy
  kFdDirect,  // an FdFile opened with OpenMode::kDirect (O_DIRECT)
  kMemory,    // a MemoryFile over caller memory 16 bytes past a 64-byte line
};

// "none", "fd", "fd_cold", "fd_direct", "memory".
const char* FileKindName(FileKind kind);
bool IsFdKind(FileKind kind);

struct MatrixParam {
  std::string device;                   // a name AvailableDevices() returns
  IoBackend backend = IoBackend::kSync;  // fd kinds: forced; else unused
  FileKind file_kind = FileKind::kNone;
};

// gtest prints a failing case's parameter with this.
void PrintTo(const MatrixParam& param, std::ostream* os);
// The name scheme above.
std::string MatrixName(const MatrixParam& param);
std::string MatrixParamName(const ::testing::TestParamInfo<MatrixParam>& info);

// io_uring, asio, sync: the backends an fd file can be forced onto.
const std::vector<IoBackend>& AllBackends();

// Every device x (fd kinds x backends, plus one case per device for kMemory
// and kNone) of `kinds`, restricted to `backends` and `devices`.
std::vector<MatrixParam> Matrix(std::initializer_list<FileKind> kinds,
                                const std::vector<IoBackend>& backends = AllBackends(),
                                const std::vector<std::string>& devices = AvailableDevices());

// device.h's contract for errors that happen while an op runs: a device that
// runs ops inline (local_sync) returns them from the queue call, one that
// queues them (local_async) returns OK. Fails the test for a device this
// library does not know yet (add it to kDeviceContracts in matrix.cc).
bool RunsInline(std::string_view device);

// Whether `device`'s own memory (MemoryType::kDeviceLocal) is host-visible:
// true on local_sync and local_async, false on local_discrete, whose Map of
// such a buffer must refuse. Fails the test for an unknown device, as
// RunsInline.
bool DeviceLocalIsHostVisible(std::string_view device);

// Why `param` cannot run here, in halio's words ("io_uring cannot run here:
// UNAVAILABLE: ..." from IoEngine::Probe, or why O_DIRECT was refused), or
// empty when it can.
std::string SkipReason(const MatrixParam& param);

// In a fixture's SetUp or a test body: skips the case, with the reason.
#define HALIO_SKIP_IF_UNAVAILABLE(param)                                           \
  if (const std::string halio_skip_reason = ::halio::testing::SkipReason(param);   \
      !halio_skip_reason.empty())                                                  \
  GTEST_SKIP() << halio_skip_reason

// Deterministic bytes: byte i of a pattern seeded with `seed`.
std::vector<std::byte> PatternBytes(size_t length, uint32_t seed);

// --- files ----------------------------------------------------------------------

// A directory on a disk-backed filesystem (not tmpfs) that grants O_DIRECT:
// the temp directory, else /var/tmp. kFdCold and kFdDirect files live there,
// so dropped pages really leave memory and O_DIRECT really bypasses it.
// Empty where there is none, with why (FdFile::direct_fallback_reason() or
// the filesystem) in `reason`. Probed once per process.
std::filesystem::path StorageDirectory(std::string* reason = nullptr);

// fdatasync, then posix_fadvise(POSIX_FADV_DONTNEED) over the whole file:
// its pages leave the page cache (dirty pages would stay). Errors: the
// mapped errno, naming the path.
Status DropCachedPages(const std::string& path);
// How many pages of [0, length) of the file are in the page cache now
// (mincore). Errors: the mapped errno, naming the path.
Result<uint64_t> CachedPages(const std::string& path, uint64_t length);
// read_bytes of /proc/self/io: bytes this process caused to be fetched from
// storage. Errors: UNAVAILABLE where the kernel has no I/O accounting.
Result<uint64_t> StorageReadBytes();

// Creates files of one kind (each Make replaces the previous file at the
// same path) and reads their current contents back from outside halio.
// Removes its file on destruction.
class TestFiles {
 public:
  TestFiles(FileKind kind, IoBackend backend = IoBackend::kSync);
  ~TestFiles();
  TestFiles(const TestFiles&) = delete;
  TestFiles& operator=(const TestFiles&) = delete;

  // A file holding `contents`, opened/imported with `access`. Errors: those
  // of FdFile::Open / MemoryFile::Wrap; INTERNAL when the file cannot be
  // written, or when a kFdDirect file was not granted O_DIRECT.
  Result<FileRef> Make(const std::vector<std::byte>& contents, MemoryAccess access);
  // The bytes of the most recently made file as stored now.
  std::vector<std::byte> Contents() const;
  // Call before each read: kFdCold drops the file's cached pages; the other
  // kinds need nothing. Errors: as DropCachedPages.
  Status PrepareRead() const;

  FileKind kind() const { return kind_; }
  // Where fd kinds keep the file.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::byte* MemoryStart();
  const std::byte* MemoryStart() const;

  FileKind kind_;
  IoBackend backend_;
  std::filesystem::path path_;
  // Memory files live here, deliberately at a 16-byte (not 64-byte) offset:
  // embedded data is often only 16-byte aligned.
  std::vector<std::byte> arena_;
  size_t memory_size_ = 0;
};

// --- running ops ----------------------------------------------------------------

// Far beyond any op of these suites: only a hang reaches it, and then the
// test fails instead of blocking the run.
inline constexpr std::chrono::seconds kOpDeadline{60};

// Waits for `semaphore` to reach `value`: OK, DEADLINE_EXCEEDED, or ABORTED
// carrying the failure (what a waiter sees).
Status Await(Semaphore& semaphore, uint64_t value,
             std::chrono::seconds deadline = kOpDeadline);
inline Status Await(const SemaphoreRef& semaphore, uint64_t value,
                    std::chrono::seconds deadline = kOpDeadline) {
  return Await(*semaphore, value, deadline);
}
// As Await, but a failed semaphore reports the status it was failed with
// (the cause, with its own code).
Status AwaitCause(Semaphore& semaphore, uint64_t value,
                  std::chrono::seconds deadline = kOpDeadline);

// What one queued op delivered: `queued` is what its queue call returned and
// `done` its signal semaphore, signaled to `value` on success. A call refused
// before running (the semaphore untouched) yields its error; otherwise waits
// and yields OK or the cause `done` was failed with, and fails the test if
// the call's own error disagrees with it.
Status Outcome(const Status& queued, Semaphore& done, uint64_t value = 1,
               std::chrono::seconds deadline = kOpDeadline);

// One queue_read / queue_write between file offset `offset` and buffer
// offset 0, run to completion: its Outcome.
Status RunRead(Device& device, const FileRef& file, uint64_t offset, const BufferRef& buffer,
               uint64_t length);
Status RunWrite(Device& device, const BufferRef& buffer, const FileRef& file, uint64_t offset,
                uint64_t length);

// Checks device.h's contract for an op that fails while running with `code`:
// on a device that runs inline the call itself returned `code`; on one that
// queues, the call returned OK. Either way `signal` is failed with a cause of
// that code (waits for it).
void ExpectFailsWhileRunning(std::string_view device, const Status& returned, Semaphore& signal,
                             StatusCode code);

// --- the fixture ------------------------------------------------------------------

// Skips what cannot run here, then creates the parameter's device (default
// DeviceOptions).
class MatrixTest : public ::testing::TestWithParam<MatrixParam> {
 protected:
  void SetUp() override;
  // Options for an FdFile on the parameter's backend (forced, never a
  // fallback).
  FdFileOptions FileOptions() const;

  std::unique_ptr<Device> device_;
};

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_MATRIX_H_
