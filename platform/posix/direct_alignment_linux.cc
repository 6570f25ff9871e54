// Direct-I/O alignment from statx(STATX_DIOALIGN) (Linux 6.1+). glibc's
// struct statx predates the dio fields, so this file uses the kernel's
// definition and the raw syscall, and includes no glibc stat header.
#include <linux/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fcntl.h>
#include <string>

#include "fd_io.h"
#include "errno_status.h"

namespace halio::platform {

Result<DirectAlignment> HandleDirectAlignment(NativeHandle handle, std::string_view what) {
  struct statx stx {};
  long rc = ::syscall(SYS_statx, handle, "", AT_EMPTY_PATH, STATX_DIOALIGN | STATX_BASIC_STATS,
                      &stx);
  if (rc != 0) return ErrnoToStatus(errno, "statx " + std::string(what));
  DirectAlignment alignment;
  if ((stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align != 0) {
    alignment.memory = stx.stx_dio_mem_align;
    alignment.offset = stx.stx_dio_offset_align;
    alignment.from_statx = true;
  } else if (stx.stx_blksize != 0) {
    // The block size is a multiple of the logical block size, so it is a
    // safe (if sometimes larger than needed) alignment.
    alignment.memory = alignment.offset = stx.stx_blksize;
  }
  return alignment;
}

}  // namespace halio::platform
