// POSIX implementations of the platform file functions.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "fd_io.h"
#include "errno_status.h"

namespace halio::platform {
namespace {

int64_t PosixReadAt(void*, NativeHandle fd, void* dst, size_t length, uint64_t offset) {
  ssize_t n = ::pread(fd, dst, length, static_cast<off_t>(offset));
  return n < 0 ? -int64_t{errno} : n;
}

int64_t PosixWriteAt(void*, NativeHandle fd, const void* src, size_t length,
                     uint64_t offset) {
  ssize_t n = ::pwrite(fd, src, length, static_cast<off_t>(offset));
  return n < 0 ? -int64_t{errno} : n;
}

std::string FdText(NativeHandle fd) { return "fd " + std::to_string(fd); }

}  // namespace

const IoSyscalls& SystemIoSyscalls() {
  static const IoSyscalls syscalls{&PosixReadAt, &PosixWriteAt, nullptr,
                                   kMaxIoBytesPerCall};
  return syscalls;
}

Result<NativeHandle> OpenPath(const std::string& path, OpenFlags flags) {
  int oflags = O_CLOEXEC;
  if (flags.read && flags.write) {
    oflags |= O_RDWR;
  } else if (flags.write) {
    oflags |= O_WRONLY;
  } else if (flags.read) {
    oflags |= O_RDONLY;
  } else {
    return InvalidArgumentError("open " + path +
                                ": the mode must include read and/or write");
  }
  if (flags.create) oflags |= O_CREAT;
  if (flags.truncate) oflags |= O_TRUNC;
  if (flags.direct) oflags |= O_DIRECT;
  int fd;
  do {
    fd = ::open(path.c_str(), oflags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoToStatus(errno, "open " + path);
  return fd;
}

Result<NativeHandle> DuplicateHandle(NativeHandle fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return ErrnoToStatus(errno, "duplicate " + FdText(fd));
  return copy;
}

void CloseHandle(NativeHandle fd) {
  // No retry on EINTR: on Linux the descriptor is released even then, and a
  // retry could close a descriptor another thread just opened.
  if (fd >= 0) ::close(fd);
}

Result<uint64_t> HandleLength(NativeHandle fd, std::string_view what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoToStatus(errno, "fstat " + std::string(what));
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) return ErrnoToStatus(errno, "size of block device " + std::string(what));
    return static_cast<uint64_t>(end);
  }
  return FailedPreconditionError(std::string(what) +
                                 " is not a regular file or block device; "
                                 "positional I/O needs a seekable file");
}

Result<OpenFlags> HandleAccess(NativeHandle fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return ErrnoToStatus(errno, "query access mode of " + FdText(fd));
  OpenFlags access;
  switch (flags & O_ACCMODE) {
    case O_RDONLY: access.read = true; break;
    case O_WRONLY: access.write = true; break;
    case O_RDWR: access.read = access.write = true; break;
    default: break;
  }
  return access;
}

Status SyncHandle(NativeHandle fd, bool data_only, std::string_view what) {
  int rc;
  do {
    rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return ErrnoToStatus(errno, (data_only ? "fdatasync " : "fsync ") +
                                               std::string(what));
  return Status();
}

}  // namespace halio::platform
