// Raw file calls that bypass halio's platform layer, so tests can set up
// files and check what halio did from outside it: POSIX open/pread/pwrite/
// ftruncate, or their Win32 twins. Handles are NativeHandle (an fd or a
// HANDLE's bits); every call returns what the OS said (-1/false on failure,
// with errno or GetLastError set).
#ifndef HALIO_TESTS_TESTING_RAW_FILE_H_
#define HALIO_TESTS_TESTING_RAW_FILE_H_

#if defined(_WIN32)
#include <windows.h>
#include <winioctl.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "halio/native_handle.h"

namespace halio::testing {

enum class RawMode { kRead, kWrite, kReadWrite };

#if defined(_WIN32)
inline HANDLE RawWin32(NativeHandle handle) { return reinterpret_cast<HANDLE>(handle); }

// A synchronous (not overlapped) handle, shared as POSIX files are.
inline NativeHandle RawOpen(const std::string& path, RawMode mode, bool create_truncate = false) {
  DWORD access = 0;
  if (mode != RawMode::kWrite) access |= GENERIC_READ;
  if (mode != RawMode::kRead) access |= GENERIC_WRITE;
  HANDLE file = ::CreateFileA(path.c_str(), access,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                              create_truncate ? CREATE_ALWAYS : OPEN_EXISTING,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
  return reinterpret_cast<NativeHandle>(file);
}

inline int64_t RawTransfer(bool read, NativeHandle handle, void* data, size_t length,
                           uint64_t offset) {
  OVERLAPPED overlapped = {};
  overlapped.Offset = static_cast<DWORD>(offset);
  overlapped.OffsetHigh = static_cast<DWORD>(offset >> 32);
  DWORD moved = 0;
  const BOOL ok = read ? ::ReadFile(RawWin32(handle), data, static_cast<DWORD>(length), &moved,
                                    &overlapped)
                       : ::WriteFile(RawWin32(handle), data, static_cast<DWORD>(length), &moved,
                                     &overlapped);
  if (!ok) return ::GetLastError() == ERROR_HANDLE_EOF ? 0 : -1;
  return moved;
}

inline int64_t RawPread(NativeHandle handle, void* dst, size_t length, uint64_t offset) {
  return RawTransfer(true, handle, dst, length, offset);
}
inline int64_t RawPwrite(NativeHandle handle, const void* src, size_t length, uint64_t offset) {
  return RawTransfer(false, handle, const_cast<void*>(src), length, offset);
}

// Sets the length; the file is made sparse first, so a large length costs
// no disk.
inline bool RawTruncate(NativeHandle handle, uint64_t length) {
  DWORD ignored = 0;
  ::DeviceIoControl(RawWin32(handle), FSCTL_SET_SPARSE, nullptr, 0, nullptr, 0, &ignored,
                    nullptr);
  FILE_END_OF_FILE_INFO end = {};
  end.EndOfFile.QuadPart = static_cast<LONGLONG>(length);
  return ::SetFileInformationByHandle(RawWin32(handle), FileEndOfFileInfo, &end, sizeof(end));
}

inline void RawClose(NativeHandle handle) { ::CloseHandle(RawWin32(handle)); }
inline bool RawIsOpen(NativeHandle handle) {
  DWORD flags = 0;
  return ::GetHandleInformation(RawWin32(handle), &flags) != 0;
}
// Whether a child process would inherit the handle (close-on-exec's twin).
inline bool RawIsInherited(NativeHandle handle) {
  DWORD flags = 0;
  return ::GetHandleInformation(RawWin32(handle), &flags) && (flags & HANDLE_FLAG_INHERIT);
}
// A device that is not a file: NUL on Windows, /dev/null elsewhere.
inline constexpr char kNullDevice[] = "NUL";
// How halio's messages name a bare handle, and its flush.
inline constexpr char kHandleWord[] = "handle ";
inline constexpr char kDataSyncCall[] = "FlushFileBuffers";
#else
inline NativeHandle RawOpen(const std::string& path, RawMode mode, bool create_truncate = false) {
  int flags = O_CLOEXEC;
  flags |= mode == RawMode::kRead ? O_RDONLY : mode == RawMode::kWrite ? O_WRONLY : O_RDWR;
  if (create_truncate) flags |= O_CREAT | O_TRUNC;
  return ::open(path.c_str(), flags, 0600);
}
inline int64_t RawPread(NativeHandle fd, void* dst, size_t length, uint64_t offset) {
  return ::pread(fd, dst, length, static_cast<off_t>(offset));
}
inline int64_t RawPwrite(NativeHandle fd, const void* src, size_t length, uint64_t offset) {
  return ::pwrite(fd, src, length, static_cast<off_t>(offset));
}
inline bool RawTruncate(NativeHandle fd, uint64_t length) {
  return ::ftruncate(fd, static_cast<off_t>(length)) == 0;
}
inline void RawClose(NativeHandle fd) { ::close(fd); }
inline bool RawIsOpen(NativeHandle fd) { return ::fcntl(fd, F_GETFD) != -1; }
inline bool RawIsInherited(NativeHandle fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0; }
inline constexpr char kNullDevice[] = "/dev/null";
inline constexpr char kHandleWord[] = "fd ";
inline constexpr char kDataSyncCall[] = "fdatasync";
#endif

// Environment variables (setenv/unsetenv, _putenv_s).
inline void SetEnv(const char* name, const char* value) {
#if defined(_WIN32)
  ::_putenv_s(name, value);
#else
  ::setenv(name, value, 1);
#endif
}
inline void UnsetEnv(const char* name) {
#if defined(_WIN32)
  ::_putenv_s(name, "");  // an empty value removes it
#else
  ::unsetenv(name);
#endif
}

// Anonymous memory committed lazily: only the pages touched cost RAM (for
// > 4 GiB reads). data() is null when the OS refused.
class LazyMemory {
 public:
  explicit LazyMemory(size_t size) : size_(size) {
#if defined(_WIN32)
    data_ = static_cast<std::byte*>(
        ::VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
#else
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<std::byte*>(p);
#endif
  }
  ~LazyMemory() {
    if (data_ == nullptr) return;
#if defined(_WIN32)
    ::VirtualFree(data_, 0, MEM_RELEASE);
#else
    ::munmap(data_, size_);
#endif
  }
  LazyMemory(const LazyMemory&) = delete;
  LazyMemory& operator=(const LazyMemory&) = delete;
  std::byte* data() const { return data_; }

 private:
  size_t size_;
  std::byte* data_ = nullptr;
};

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_RAW_FILE_H_
