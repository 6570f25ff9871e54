// Windows implementations of the platform file functions (fd_io.h): files
// opened by UTF-8 path with CreateFileW, positional transfers through
// OVERLAPPED offsets, errors through the one errno mapping.
#include <io.h>
#include <windows.h>
#include <winternl.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "fd_io.h"
#include "transfer_step.h"
#include "win32_util.h"

namespace halio::platform {
namespace {

// One manual-reset event per thread for the OVERLAPPED of its synchronous
// transfers (a handle opened with FILE_FLAG_OVERLAPPED has no synchronous
// mode). Created on first use, closed when the thread ends.
HANDLE ThreadEvent() {
  struct Event {
    HANDLE handle = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
    ~Event() {
      if (handle != nullptr) ::CloseHandle(handle);
    }
  };
  thread_local Event event;
  return event.handle;
}

// Errors of a transfer as the POSIX calls report them: reading a handle
// opened for writing only (and the reverse) is EBADF there, "access denied" here.
int TransferErrno(DWORD error) {
  return error == ERROR_ACCESS_DENIED ? EBADF : Win32ErrorToErrno(error);
}

// One ReadFile/WriteFile at `offset`, waited for: bytes moved, 0 at the end
// of the file, or -errno. Each call moves at most kWin32MaxIoBytes (below
// the DWORD limit); the caller's loop (TransferStep) asks again for the rest.
int64_t Win32Transfer(IoOp op, NativeHandle handle, void* data, size_t length,
                      uint64_t offset) {
  HANDLE event = ThreadEvent();
  if (event == nullptr) return -int64_t{ENOMEM};
  OVERLAPPED overlapped = {};
  overlapped.Offset = static_cast<DWORD>(offset);
  overlapped.OffsetHigh = static_cast<DWORD>(offset >> 32);
  // The low bit keeps this completion off the I/O completion port the file
  // may be associated with (the asio backend's), whose thread would not know it.
  overlapped.hEvent = reinterpret_cast<HANDLE>(reinterpret_cast<uintptr_t>(event) | 1);
  const DWORD count = static_cast<DWORD>(std::min(length, kWin32MaxIoBytes));
  const HANDLE file = ToWin32(handle);
  const BOOL started = op == IoOp::kRead ? ::ReadFile(file, data, count, nullptr, &overlapped)
                                         : ::WriteFile(file, data, count, nullptr, &overlapped);
  if (!started) {
    const DWORD error = ::GetLastError();
    if (error == ERROR_HANDLE_EOF) return 0;
    if (error != ERROR_IO_PENDING) return -int64_t{TransferErrno(error)};
  }
  DWORD moved = 0;
  if (!::GetOverlappedResult(file, &overlapped, &moved, TRUE)) {
    const DWORD error = ::GetLastError();
    if (error == ERROR_HANDLE_EOF) return 0;
    return -int64_t{TransferErrno(error)};
  }
  return moved;
}

int64_t Win32ReadAt(void*, NativeHandle handle, void* dst, size_t length, uint64_t offset) {
  return Win32Transfer(IoOp::kRead, handle, dst, length, offset);
}

int64_t Win32WriteAt(void*, NativeHandle handle, const void* src, size_t length,
                     uint64_t offset) {
  return Win32Transfer(IoOp::kWrite, handle, const_cast<void*>(src), length, offset);
}

// FAILED_PRECONDITION, as on POSIX for a FIFO or directory.
Status NotPositionalError(std::string_view what, std::string_view kind) {
  return FailedPreconditionError(std::string(what) + " is " + std::string(kind) +
                                 ", not a regular file or block device; halio needs one "
                                 "(positional I/O needs a seekable file)");
}

const char* FileTypeName(DWORD type) {
  switch (type) {
    case FILE_TYPE_PIPE: return "a pipe (FIFO)";
    case FILE_TYPE_CHAR: return "a character device";
    default: return "of an unknown type";
  }
}

DWORD CreationDisposition(const OpenFlags& flags) {
  if (flags.create && flags.truncate) return CREATE_ALWAYS;
  if (flags.create) return OPEN_ALWAYS;
  if (flags.truncate) return TRUNCATE_EXISTING;
  return OPEN_EXISTING;
}

}  // namespace

std::string HandleText(NativeHandle handle) {
  return "handle " + std::to_string(static_cast<long long>(handle));
}

Result<NativeHandle> HandleOfDescriptor(int fd) {
  const intptr_t handle = ::_get_osfhandle(fd);
  if (handle == -1 || handle == -2) {
    return FailedPreconditionError("fd " + std::to_string(fd) +
                                   " is not an open C runtime descriptor");
  }
  return static_cast<NativeHandle>(handle);
}

const IoSyscalls& SystemIoSyscalls() {
  static const IoSyscalls syscalls{&Win32ReadAt, &Win32WriteAt, nullptr, kMaxIoBytesPerCall};
  return syscalls;
}

Result<NativeHandle> OpenPath(const std::string& path, OpenFlags flags) {
  if (!flags.read && !flags.write) {
    return InvalidArgumentError("open " + path + ": the mode must include read and/or write");
  }
  HALIO_ASSIGN_OR_RETURN(std::wstring wide, WidePath(path));
  // CreateFileW refuses a directory with "access denied"; say what it is.
  const DWORD attributes = ::GetFileAttributesW(wide.c_str());
  if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY)) {
    return NotPositionalError(path, "a directory");
  }
  DWORD access = 0;
  if (flags.read) access |= GENERIC_READ;
  if (flags.write) access |= GENERIC_WRITE;
  // Overlapped always, so the asio backend can put the file on its I/O
  // completion port; unbuffered for direct I/O (O_DIRECT's twin). Every
  // share mode, as POSIX files have no share locks.
  DWORD attributes_and_flags = FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED;
  if (flags.direct) attributes_and_flags |= FILE_FLAG_NO_BUFFERING;
  HANDLE file = ::CreateFileW(wide.c_str(), access,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                              CreationDisposition(flags), attributes_and_flags, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    const DWORD error = ::GetLastError();
    // A named pipe whose instances are all taken: still a pipe, not a file.
    if (error == ERROR_PIPE_BUSY) {
      return NotPositionalError(path, "a pipe (FIFO) (all instances busy)");
    }
    return Win32ErrorToStatus(error, "open " + path);
  }
  const DWORD type = ::GetFileType(file);
  if (type != FILE_TYPE_DISK) {
    ::CloseHandle(file);
    return NotPositionalError(path, FileTypeName(type));
  }
  return FromWin32(file);
}

Result<NativeHandle> DuplicateHandle(NativeHandle handle) {
  HANDLE copy = nullptr;
  // Not inheritable: close-on-exec's twin.
  if (!::DuplicateHandle(::GetCurrentProcess(), ToWin32(handle), ::GetCurrentProcess(), &copy, 0,
                         FALSE, DUPLICATE_SAME_ACCESS)) {
    return Win32ErrorToStatus(::GetLastError(), "duplicate " + HandleText(handle));
  }
  return FromWin32(copy);
}

void CloseHandle(NativeHandle handle) {
  if (handle != kInvalidHandle && handle != 0) ::CloseHandle(ToWin32(handle));
}

Result<uint64_t> HandleLength(NativeHandle handle, std::string_view what) {
  const DWORD type = ::GetFileType(ToWin32(handle));
  if (type != FILE_TYPE_DISK) {
    const DWORD error = ::GetLastError();  // set when the handle itself is bad
    if (type == FILE_TYPE_UNKNOWN && error != NO_ERROR) {
      return Win32ErrorToStatus(error, "query the type of " + std::string(what));
    }
    return NotPositionalError(what, FileTypeName(type));
  }
  LARGE_INTEGER size;
  if (!::GetFileSizeEx(ToWin32(handle), &size)) {
    return Win32ErrorToStatus(::GetLastError(), "size of " + std::string(what));
  }
  return static_cast<uint64_t>(size.QuadPart);
}

Result<OpenFlags> HandleAccess(NativeHandle handle) {
  // What the handle was opened for is its granted access mask.
  PUBLIC_OBJECT_BASIC_INFORMATION basic = {};
  const NTSTATUS status = ::NtQueryObject(ToWin32(handle), ObjectBasicInformation, &basic,
                                          sizeof(basic), nullptr);
  if (status < 0) {
    return Win32ErrorToStatus(::RtlNtStatusToDosError(status),
                              "query access mode of " + HandleText(handle));
  }
  OpenFlags access;
  access.read = (basic.GrantedAccess & FILE_READ_DATA) != 0;
  access.write = (basic.GrantedAccess & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
  return access;
}

Status SyncHandle(NativeHandle handle, bool /*data_only*/, std::string_view what) {
  // Windows has one flush for data and metadata alike.
  if (!::FlushFileBuffers(ToWin32(handle))) {
    return Win32ErrorToStatus(::GetLastError(), "FlushFileBuffers " + std::string(what));
  }
  return Status();
}

}  // namespace halio::platform
