#include "errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace halio {

StatusCode ErrnoToStatusCode(int error_number) {
  switch (error_number) {
    case 0: return StatusCode::kOk;
    case ENOENT: case ENOTDIR: case ENXIO: return StatusCode::kNotFound;
    case EEXIST: return StatusCode::kAlreadyExists;
    case EACCES: case EPERM: case EROFS: return StatusCode::kPermissionDenied;
    case ENOSPC: case ENOMEM: case EMFILE: case ENFILE:
#ifdef EDQUOT  // not in mingw-w64's errno.h
    case EDQUOT:
#endif
      return StatusCode::kResourceExhausted;
    case EBADF: case EISDIR: case ENOTEMPTY: case EBUSY: case ETXTBSY:
      return StatusCode::kFailedPrecondition;
    case EFBIG: case EOVERFLOW: case ERANGE: case ESPIPE:
      return StatusCode::kOutOfRange;
    case EINVAL: case ENAMETOOLONG: case ELOOP: case EFAULT:
      return StatusCode::kInvalidArgument;
    case EIO: return StatusCode::kDataLoss;
    case EAGAIN: case ETIMEDOUT: case EINTR:
      return StatusCode::kUnavailable;
    case ENOSYS: case EOPNOTSUPP: return StatusCode::kUnimplemented;
    case ECANCELED: return StatusCode::kCancelled;
    case EDEADLK: return StatusCode::kAborted;
    default: return StatusCode::kUnknown;
  }
}

namespace {

const char* HintFor(int error_number) {
  switch (error_number) {
    case ENOENT: return "check that the path exists";
    case EACCES: case EPERM: return "check the file's permissions and owner";
    case EROFS: return "the filesystem is read-only";
    case ENOSPC: return "free space on the device or use another directory";
#ifdef EDQUOT
    case EDQUOT: return "the disk quota is exhausted";
#endif
    case EMFILE: case ENFILE: return "too many open files; raise the limit (ulimit -n)";
    case EBADF: return "the descriptor is closed or was not opened for this access";
    case EISDIR: return "the path is a directory, not a file";
    case EIO: return "the storage device reported an I/O error; the data may be lost";
    default: return nullptr;
  }
}

}  // namespace

Status ErrnoToStatus(int error_number, std::string_view what, SourceLocation location) {
  std::string message(what);
  message += ": ";
  message += std::strerror(error_number);
  message += " (errno ";
  message += std::to_string(error_number);
  message += ")";
  if (const char* hint = HintFor(error_number)) {
    message += "; ";
    message += hint;
  }
  StatusCode code = ErrnoToStatusCode(error_number);
  if (code == StatusCode::kOk) code = StatusCode::kUnknown;
  return Status(code, message, location);
}

}  // namespace halio
