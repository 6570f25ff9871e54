// safetensors header parser: tensor names, dtypes, shapes and absolute byte
// ranges, plus the `__metadata__` string map.
//
// Format (https://github.com/huggingface/safetensors, README "Format"):
// an 8-byte little-endian header size N, N bytes of UTF-8 JSON mapping each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section) plus an optional "__metadata__" string map,
// then the data section, which runs to the end of the file.
//
// The input is untrusted: every size, offset and product is checked
// (overflow-safe) against the header and the file length before use, and
// the header is limited to 100,000,000 bytes as the reference
// implementation does (MAX_HEADER_SIZE in safetensors/src/tensor.rs), so a
// hostile file cannot make a reader parse gigabytes of JSON. This parser is
// deliberately a little more permissive than the reference in two ways
// that cost nothing to read correctly: gaps between tensors and bytes after
// the last one are allowed (overlaps are not).
//
// Ownership: the parser copies what it keeps; results own their strings.
// Thread-safety: stateless functions, callable from any thread.
//
// Errors: INVALID_ARGUMENT for content that breaks the format (bad JSON,
// wrong types, unknown dtype, size mismatch, overlap, duplicates) and
// OUT_OF_RANGE for ranges past the end of the file or of the bytes given;
// every message names the file and the tensor or key.
#ifndef HALIO_SRC_IO_FORMATS_SAFETENSORS_SAFETENSORS_PARSER_H_
#define HALIO_SRC_IO_FORMATS_SAFETENSORS_SAFETENSORS_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "halio/status.h"
#include "string_map.h"

namespace halio {

// The header-size prefix.
inline constexpr uint64_t kSafetensorsPrefixSize = 8;
// The reference implementation's cap on N (safetensors/src/tensor.rs
// MAX_HEADER_SIZE): a header is a few KB per thousand tensors, so 100 MB is
// far beyond any real checkpoint and keeps hostile JSON bounded.
inline constexpr uint64_t kSafetensorsMaxHeaderSize = 100'000'000;

// Every dtype the safetensors spec defines. The reference Dtype enum
// (safetensors/src/tensor.rs, 0.6: `bitsize()`) lists BOOL, F4, F6_E2M3,
// F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16, BF16, I32,
// U32, F32, C64, F64, I64, U64; F4 and F6 are the OCP MX sub-byte formats
// (4 and 6 bits, packed). F8_E4M3FNUZ and F8_E5M2FNUZ are the two later
// additions seen in code written against safetensors 0.7/0.8 (the stored
// copy of the reference file predates them).
enum class SafetensorsDtype : uint8_t {
  kBool,
  kF4,
  kF6E2M3,
  kF6E3M2,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kF8E8M0,
  kF8E4M3Fnuz,
  kF8E5M2Fnuz,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kC64,
  kF64,
  kI64,
  kU64,
};

// The header's spelling ("F32", "F8_E4M3", ...).
std::string_view SafetensorsDtypeName(SafetensorsDtype dtype);
// Bits per element: 4 for F4, 6 for F6_*, 8 for BOOL, 64 for C64, ...
uint32_t SafetensorsDtypeBits(SafetensorsDtype dtype);
// nullopt for names the spec does not define (case-sensitive).
std::optional<SafetensorsDtype> SafetensorsDtypeFromName(std::string_view name);
// Every dtype, in enum order (for tests and tools).
std::span<const SafetensorsDtype> AllSafetensorsDtypes();

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kU8;
  std::string_view dtype_name;  // static storage
  std::vector<uint64_t> shape;  // row-major, outermost first; [] is a scalar
  uint64_t offset = 0;          // absolute file offset: 8 + N + begin
  uint64_t length = 0;          // end - begin
};

struct SafetensorsHeader {
  uint64_t header_size = 0;  // N
  uint64_t data_offset = 0;  // 8 + N: where the data section starts
  // Sorted by offset (then name), the order a loader reads them in.
  std::vector<SafetensorsTensor> tensors;
  StringMap metadata;  // "__metadata__", empty when absent
};

// N from the first 8 bytes, checked against the cap and `file_length`, so a
// caller knows how many bytes to read next (8 + N). Errors:
// INVALID_ARGUMENT (file shorter than 8 bytes, N above the cap),
// OUT_OF_RANGE (N runs past the end of the file, or `prefix` holds fewer
// than 8 bytes of a longer file).
Result<uint64_t> ReadSafetensorsHeaderSize(std::span<const std::byte> prefix,
                                           uint64_t file_length, std::string_view file_name);

// Parses the header from `bytes`, the file's first bytes (at least 8 + N of
// them; more are ignored), for a file of `file_length` bytes. Errors as
// above; OUT_OF_RANGE with the byte count to read when `bytes` is shorter
// than 8 + N.
Result<SafetensorsHeader> ParseSafetensorsHeader(std::span<const std::byte> bytes,
                                                 uint64_t file_length,
                                                 std::string_view file_name);

}  // namespace halio

#endif  // HALIO_SRC_IO_FORMATS_SAFETENSORS_SAFETENSORS_PARSER_H_
