// Without RWF_NOWAIT nothing can be read without risking a wait.
#include "fd_io.h"

namespace halio::platform {

Result<size_t> ReadCachedPrefix(NativeHandle, uint64_t, std::span<std::byte>, std::string_view) {
  return size_t{0};
}

}  // namespace halio::platform
