// Windows has no file mapping in halio yet (CreateFileMapping/MapViewOfFile
// belong with the rest of the Windows port): a mapped load says so and the
// caller loads without map.
#include "file_mapping.h"

#include <string>

namespace halio {

Result<std::span<std::byte>> MapWholeFile(NativeHandle, uint64_t, std::string_view description) {
  return UnimplementedError("mapping " + std::string(description) +
                            ": file mappings are not implemented on Windows yet; load it "
                            "without map");
}

void UnmapFile(std::span<std::byte>) noexcept {}

}  // namespace halio
