// The one little-endian decoder of the formats (safetensors' header size,
// GGUF's fields) and of the format sniffing in parameter_open.cc: byte by
// byte, so it is right on any host and at any alignment.
#ifndef HALIO_SRC_IO_FORMATS_LITTLE_ENDIAN_H_
#define HALIO_SRC_IO_FORMATS_LITTLE_ENDIAN_H_

#include <cstddef>
#include <cstdint>

namespace halio {

// The unsigned value of the `width` (<= 8) bytes at `bytes`, least
// significant first. The caller checks that `width` bytes are there.
inline uint64_t LoadLittleEndian(const std::byte* bytes, size_t width) {
  uint64_t value = 0;
  for (size_t i = width; i > 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[i - 1]);
  return value;
}

}  // namespace halio

#endif  // HALIO_SRC_IO_FORMATS_LITTLE_ENDIAN_H_
