// Positional file I/O on a native descriptor: the only place halio calls the
// OS to read, write, open, size or flush files.
//
// ReadAt/WriteAt never ask the kernel for more than it moves in one call
// (kMaxIoBytesPerCall), loop on short counts, retry EINTR, and report end of
// file before the requested end as OUT_OF_RANGE, never as success: each
// call's result goes to a TransferStep (platform/transfer_step.h), which
// every other transfer path uses too. The syscalls are reached through an
// IoSyscalls table so tests and the fault injector can wrap the real ones.
//
// Thread-safety: every function is thread-safe (positional I/O has no shared
// file offset).
#ifndef HALIO_PLATFORM_FD_IO_H_
#define HALIO_PLATFORM_FD_IO_H_

#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "halio/host_allocator.h"
#include "halio/native_handle.h"
#include "halio/status.h"

namespace halio::platform {

// Linux moves at most MAX_RW_COUNT = INT_MAX rounded down to a page
// (0x7ffff000) per read/write/pread/pwrite, whatever the count asked for.
inline constexpr size_t kLinuxMaxIoBytes = 0x7ffff000;
// macOS read/write fail with EINVAL for counts above INT_MAX.
inline constexpr size_t kDarwinMaxIoBytes = INT_MAX;
// Windows ReadFile/WriteFile take a DWORD byte count; stay a page below its
// maximum so chunks keep page alignment.
inline constexpr size_t kWin32MaxIoBytes = 0xFFFFF000u;

#if defined(__APPLE__)
inline constexpr size_t kMaxIoBytesPerCall = kDarwinMaxIoBytes;
#elif defined(_WIN32)
inline constexpr size_t kMaxIoBytesPerCall = kWin32MaxIoBytes;
#else
inline constexpr size_t kMaxIoBytesPerCall = kLinuxMaxIoBytes;
#endif

// The handle every function here takes; FdFile keeps one of these, and the
// engines convert it to what their API wants (EngineFile, async_io.h).
using halio::NativeHandle;
using halio::kInvalidHandle;

// One positional transfer: returns bytes moved (>= 0) or -errno.
struct IoSyscalls {
  int64_t (*read_at)(void* context, NativeHandle handle, void* dst, size_t length,
                     uint64_t offset) = nullptr;
  int64_t (*write_at)(void* context, NativeHandle handle, const void* src,
                      size_t length, uint64_t offset) = nullptr;
  void* context = nullptr;
  // Largest count passed to one call; lower it to exercise chunking in tests.
  size_t max_bytes_per_call = kMaxIoBytesPerCall;
};

// The OS's own pread/pwrite.
const IoSyscalls& SystemIoSyscalls();

// Reads exactly dst.size() bytes at `offset`. `what` names the file in
// errors. Errors: OUT_OF_RANGE ("end of file at offset X during read of
// <what> [a, b)"), INTERNAL for a count larger than asked, and the mapped
// errno naming the file, the range and the offset reached.
Status ReadAt(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
              std::string_view what, const IoSyscalls& sys = SystemIoSyscalls());

// Writes all of src at `offset`. A call that moves 0 bytes is reported as
// RESOURCE_EXHAUSTED (the device may be full) rather than retried forever;
// other errors as ReadAt's.
Status WriteAt(NativeHandle handle, uint64_t offset, std::span<const std::byte> src,
               std::string_view what, const IoSyscalls& sys = SystemIoSyscalls());

// On some x86 machines the kernel copies page-cache data to user memory with
// `rep movsb` about 5x slower (2.4 vs 13 GB/s, PERF_NOTES.md) when the
// destination sits 1..31 bytes past the source's offset within a page, and
// glibc malloc of >= 128 KiB returns page offset 16, so ordinary caller
// buffers hit it. Other machines barely care (0.85x measured on another
// host of the same kind), where bouncing would only add a copy. So the
// penalty is measured once per process, on first need.
inline bool IsSlowKernelCopyOffset(const void* dst, uint64_t file_offset) {
  const uint64_t delta = (reinterpret_cast<uintptr_t>(dst) - file_offset) % 4096;
  return delta >= 1 && delta <= 31;
}

// Throughput of a hot pread into a destination 16 bytes past the source's
// page offset, relative to an aligned one (1.0 = no penalty), measured once
// on a memfd (a few ms); 1.0 where it cannot be measured.
double SlowKernelCopyRatio();

// Realign reads whose destination is at a slow offset when the measured
// ratio is below this: the bounce's extra user-space copy costs about that.
inline constexpr double kRealignBelowRatio = 0.7;

// True when a read into `dst` at `file_offset` is worth realigning here.
inline bool HasSlowKernelCopyAlignment(const void* dst, uint64_t file_offset) {
  return IsSlowKernelCopyOffset(dst, file_offset) && SlowKernelCopyRatio() < kRealignBelowRatio;
}

// ReadAt for destinations with slow kernel-copy alignment: reads through an
// aligned bounce chunk (from `host`) that fits in L2 and copies out with
// memcpy, which has no such penalty. Errors as ReadAt, plus
// RESOURCE_EXHAUSTED without memory.
Status ReadAtRealigned(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
                       std::string_view what, const IoSyscalls& sys = SystemIoSyscalls(),
                       HostAllocator& host = HostAllocator::System());

// Reads what the page cache already holds of [offset, offset + dst.size()),
// without waiting for the device (preadv2 with RWF_NOWAIT), and returns how
// many bytes it read from the start: all of them when the range is cached, 0
// when nothing is, or when the OS lacks RWF_NOWAIT. Errors: the mapped errno
// of a failed read (not EAGAIN, which only ends the prefix).
Result<size_t> ReadCachedPrefix(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
                                std::string_view what);

struct OpenFlags {
  bool read = false;
  bool write = false;
  bool create = false;
  bool truncate = false;
  bool direct = false;  // O_DIRECT: bypass the page cache
};

// What O_DIRECT transfers must be aligned to: the memory address and the
// file offset/length. From statx(STATX_DIOALIGN) where the kernel (6.1+) and
// filesystem report it, else the filesystem's block size.
struct DirectAlignment {
  uint32_t memory = 4096;
  uint32_t offset = 4096;
  bool from_statx = false;
};

// Errors: the mapped errno of statx/fstat naming `what`.
Result<DirectAlignment> HandleDirectAlignment(NativeHandle handle, std::string_view what);

// ReadAt for a descriptor opened with O_DIRECT, for any offset, length and
// memory: the aligned middle goes straight into `dst`; unaligned heads,
// tails and unaligned memory go through aligned bounce memory (from `host`).
// Errors as ReadAt, plus RESOURCE_EXHAUSTED when bounce memory cannot be had.
Status ReadAtDirect(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
                    std::string_view what, const DirectAlignment& alignment,
                    const IoSyscalls& sys = SystemIoSyscalls(),
                    HostAllocator& host = HostAllocator::System());

// WriteAt for an O_DIRECT descriptor: aligned ranges go direct (through
// bounce memory when `src` is unaligned); unaligned heads and tails go
// through `buffered`, a descriptor for the same file without O_DIRECT,
// because a read-modify-write of a partial block would race with other
// writers and could extend the file past the written end.
Status WriteAtDirect(NativeHandle direct, NativeHandle buffered, uint64_t offset,
                     std::span<const std::byte> src, std::string_view what,
                     const DirectAlignment& alignment,
                     const IoSyscalls& sys = SystemIoSyscalls(),
                     HostAllocator& host = HostAllocator::System());

// Opens `path` (close-on-exec always) without ever blocking in open: a FIFO,
// character device, directory or socket is refused. Errors: mapped errno
// naming the path; FAILED_PRECONDITION when it is not a regular file or
// block device.
Result<NativeHandle> OpenPath(const std::string& path, OpenFlags flags);
// A close-on-exec duplicate. Errors: mapped errno (EBADF ->
// FAILED_PRECONDITION).
Result<NativeHandle> DuplicateHandle(NativeHandle handle);
// The handle behind a C runtime descriptor (the `int fd` of the C ABI): the
// descriptor itself on POSIX, _get_osfhandle's HANDLE on Windows. Errors:
// FAILED_PRECONDITION when `fd` is not an open descriptor (Windows).
Result<NativeHandle> HandleOfDescriptor(int fd);
// How messages name a handle that has no path: "fd 3", "handle 0x1c" (decimal).
std::string HandleText(NativeHandle handle);
void CloseHandle(NativeHandle handle);
// File size from fstat. Errors: mapped errno; FAILED_PRECONDITION if the
// handle is not a regular file or block device.
Result<uint64_t> HandleLength(NativeHandle handle, std::string_view what);
// Which of read/write the descriptor was opened for.
Result<OpenFlags> HandleAccess(NativeHandle handle);
// fdatasync (data_only) or fsync.
Status SyncHandle(NativeHandle handle, bool data_only, std::string_view what);

}  // namespace halio::platform

#endif  // HALIO_PLATFORM_FD_IO_H_
