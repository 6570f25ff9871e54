// Direct-I/O alignment on POSIX systems without statx: the filesystem's
// block size, a multiple of the device's logical block size.
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "fd_io.h"
#include "errno_status.h"

namespace halio::platform {

Result<DirectAlignment> HandleDirectAlignment(NativeHandle handle, std::string_view what) {
  struct stat st {};
  if (::fstat(handle, &st) != 0) return ErrnoToStatus(errno, "fstat " + std::string(what));
  DirectAlignment alignment;
  if (st.st_blksize > 0) {
    alignment.memory = alignment.offset = static_cast<uint32_t>(st.st_blksize);
  }
  return alignment;
}

}  // namespace halio::platform
