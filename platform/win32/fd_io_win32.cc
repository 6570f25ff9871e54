// Windows implementations of the platform file functions. Kept compilable
// for a future Windows build; not built on POSIX systems.
#if defined(_WIN32)
#include <windows.h>

#include <string>

#include "fd_io.h"

namespace halio::platform {
namespace {

int64_t Win32ReadAt(void*, NativeHandle handle, void* dst, size_t length,
                    uint64_t offset) {
  OVERLAPPED overlapped = {};
  overlapped.Offset = static_cast<DWORD>(offset);
  overlapped.OffsetHigh = static_cast<DWORD>(offset >> 32);
  DWORD moved = 0;
  if (!::ReadFile(reinterpret_cast<HANDLE>(handle), dst, static_cast<DWORD>(length),
                  &moved, &overlapped)) {
    DWORD error = ::GetLastError();
    if (error == ERROR_HANDLE_EOF) return 0;
    return -static_cast<int64_t>(EIO);
  }
  return moved;
}

int64_t Win32WriteAt(void*, NativeHandle handle, const void* src, size_t length,
                     uint64_t offset) {
  OVERLAPPED overlapped = {};
  overlapped.Offset = static_cast<DWORD>(offset);
  overlapped.OffsetHigh = static_cast<DWORD>(offset >> 32);
  DWORD moved = 0;
  if (!::WriteFile(reinterpret_cast<HANDLE>(handle), src, static_cast<DWORD>(length),
                   &moved, &overlapped)) {
    return -static_cast<int64_t>(EIO);
  }
  return moved;
}

}  // namespace

const IoSyscalls& SystemIoSyscalls() {
  static const IoSyscalls syscalls{&Win32ReadAt, &Win32WriteAt, nullptr,
                                   kMaxIoBytesPerCall};
  return syscalls;
}

}  // namespace halio::platform
#endif  // _WIN32
