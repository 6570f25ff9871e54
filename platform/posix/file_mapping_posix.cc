#include "file_mapping.h"

#include <sys/mman.h>

#include <cerrno>
#include <limits>
#include <string>

#include "errno_status.h"

namespace halio {

Result<std::span<std::byte>> MapWholeFile(NativeHandle handle, uint64_t length,
                                          std::string_view description) {
  const std::string what =
      "mmap of " + std::string(description) + " (" + std::to_string(length) + " bytes)";
  if (length == 0 || length > std::numeric_limits<size_t>::max()) {
    return InvalidArgumentError(what + ": the length must be between 1 and SIZE_MAX");
  }
  void* address = ::mmap(nullptr, static_cast<size_t>(length), PROT_READ, MAP_PRIVATE, handle, 0);
  if (address == MAP_FAILED) {
    const int error = errno;
    if (error == ENODEV) {
      return UnimplementedError(what + ": this file cannot be mapped (its filesystem or "
                                       "device does not support mmap); load it without map");
    }
    return ErrnoToStatus(error, what);
  }
  return std::span<std::byte>(static_cast<std::byte*>(address), static_cast<size_t>(length));
}

void UnmapFile(std::span<std::byte> mapping) noexcept {
  if (!mapping.empty()) ::munmap(mapping.data(), mapping.size());
}

}  // namespace halio
