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

const char* FileTypeName(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unknown type";
}

bool IsPositionalFile(mode_t mode) { return S_ISREG(mode) || S_ISBLK(mode); }

// FAILED_PRECONDITION (not INVALID_ARGUMENT, which FdFile::Open reads as
// "the filesystem refused O_DIRECT") saying what `what` is instead.
Status NotPositionalError(std::string_view what, mode_t mode, std::string_view detail = "") {
  return FailedPreconditionError(std::string(what) + " is " + FileTypeName(mode) +
                                 std::string(detail) +
                                 ", not a regular file or block device; halio needs one "
                                 "(positional I/O needs a seekable file)");
}

bool IsRegularPath(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

int OpenRetryingEintr(const std::string& path, int oflags) {
  int fd;
  do {
    fd = ::open(path.c_str(), oflags, 0644);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// open(2) with `oflags | O_NONBLOCK`, so a FIFO without a writer (or a
// device that waits for a carrier) cannot block the caller. For regular
// files and block devices O_NONBLOCK changes nothing at open (O_DIRECT
// included) except under a lease, below.
int OpenNonBlocking(const std::string& path, int oflags) {
  const int fd = OpenRetryingEintr(path, oflags | O_NONBLOCK);
  if (fd >= 0 || errno != EWOULDBLOCK) return fd;
  // Another process holds a lease (fcntl F_SETLEASE) on this regular file:
  // wait for the lease break as a plain open does.
  if (IsRegularPath(path)) return OpenRetryingEintr(path, oflags);
  errno = EWOULDBLOCK;
  return -1;
}

// Why open failed. ENXIO is a FIFO opened for writing with no reader, or a
// socket: say which rather than "no such device or address".
Status OpenError(int error, const std::string& path) {
  struct stat st;
  if (error == ENXIO && ::stat(path.c_str(), &st) == 0 && !IsPositionalFile(st.st_mode)) {
    return NotPositionalError(path, st.st_mode,
                              S_ISFIFO(st.st_mode) ? " with no reader" : "");
  }
  return ErrnoToStatus(error, "open " + path);
}

// Refuses anything but a regular file or block device, then clears the
// O_NONBLOCK of OpenNonBlocking: left set, io_uring would return EAGAIN for
// reads that miss the page cache instead of waiting for the disk.
Status CheckOpenedFile(NativeHandle fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoToStatus(errno, "fstat " + path);
  if (!IsPositionalFile(st.st_mode)) {
    return NotPositionalError(path, st.st_mode);
  }
  const int status_flags = ::fcntl(fd, F_GETFL);
  if (status_flags < 0 || ::fcntl(fd, F_SETFL, status_flags & ~O_NONBLOCK) != 0) {
    return ErrnoToStatus(errno, "clear O_NONBLOCK on " + path);
  }
  return Status();
}

}  // namespace

std::string HandleText(NativeHandle fd) { return "fd " + std::to_string(fd); }

Result<NativeHandle> HandleOfDescriptor(int fd) { return fd; }

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
  const int fd = OpenNonBlocking(path, oflags);
  if (fd < 0) return OpenError(errno, path);
  Status checked = CheckOpenedFile(fd, path);
  if (!checked.ok()) {
    ::close(fd);
    return checked;
  }
  return fd;
}

Result<NativeHandle> DuplicateHandle(NativeHandle fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return ErrnoToStatus(errno, "duplicate " + HandleText(fd));
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
  return NotPositionalError(what, st.st_mode);
}

Result<OpenFlags> HandleAccess(NativeHandle fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return ErrnoToStatus(errno, "query access mode of " + HandleText(fd));
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
