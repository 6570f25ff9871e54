// ReadCachedPrefix with preadv2(RWF_NOWAIT) (Linux 4.14+).
#include <sys/uio.h>

#include <cerrno>
#include <string>

#include "fd_io.h"
#include "errno_status.h"

namespace halio::platform {

Result<size_t> ReadCachedPrefix(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
                                std::string_view what) {
  size_t done = 0;
  while (done < dst.size()) {
    struct iovec vector = {dst.data() + done,
                           std::min(dst.size() - done, kMaxIoBytesPerCall)};
    ssize_t moved = ::preadv2(handle, &vector, 1, static_cast<off_t>(offset + done), RWF_NOWAIT);
    if (moved > 0) {
      done += static_cast<size_t>(moved);
      continue;
    }
    if (moved == 0) break;  // end of file: the caller's full read reports it
    if (errno == EINTR) continue;
    // Not cached (EAGAIN) or no RWF_NOWAIT here: the caller reads the rest.
    if (errno == EAGAIN || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) break;
    // Named like the full read's errors: the file, the range, the offset.
    return ErrnoToStatus(errno, "read of " + std::string(what) + " [" + std::to_string(offset) +
                                    ", " + std::to_string(offset + dst.size()) +
                                    ") at offset " + std::to_string(offset + done));
  }
  return done;
}

}  // namespace halio::platform
