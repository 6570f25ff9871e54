// ReadCachedPrefix with preadv2(RWF_NOWAIT) (Linux 4.14+).
#include <sys/uio.h>

#include <cerrno>

#include "fd_io.h"
#include "transfer_step.h"
#include "errno_status.h"

namespace halio::platform {
namespace {

// Results that only end the prefix: not cached (EAGAIN), or no RWF_NOWAIT
// here. The caller reads the rest the ordinary way.
bool EndsCachedPrefix(int64_t result) {
  return result == -EAGAIN || result == -EOPNOTSUPP || result == -ENOSYS || result == -EINVAL;
}

}  // namespace

Result<size_t> ReadCachedPrefix(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
                                std::string_view what) {
  TransferStep step{.op = IoOp::kRead, .offset = offset, .length = dst.size()};
  Status final;
  while (step.done < step.length) {
    struct iovec vector = {dst.data() + step.done, step.NextCallLength()};
    const ssize_t moved = ::preadv2(handle, &vector, 1, static_cast<off_t>(step.position()),
                                    RWF_NOWAIT);
    const int64_t result = moved < 0 ? -int64_t{errno} : moved;
    if (EndsCachedPrefix(result)) break;
    const StepResult next = step.Advance(result, what, &final);
    if (next == StepResult::kFailed) return final;
    // Done, or the end of the file: the caller's full read meets the same
    // end and reports it.
    if (next != StepResult::kContinue) break;
  }
  return step.done;
}

}  // namespace halio::platform
