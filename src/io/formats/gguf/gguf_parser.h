// GGUF header parser (versions 2 and 3): metadata key/values of every type,
// tensor infos, alignment, and each tensor's absolute byte range.
//
// Format: ggml docs/gguf.md (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
// "GGUF", u32 version, u64 tensor_count, u64 metadata_kv_count, the
// key/values (u64-length strings, u32 value types, arrays of any type
// including arrays), the tensor infos (name, u32 n_dims, u64 dims innermost
// first, u32 ggml type, u64 offset relative to the data section), padding
// to `general.alignment` (u32, default 32), then the tensor data. Version 1
// (32-bit counts) is refused; version 3 only added big-endian files, which
// cannot be told apart from their contents and are refused when their
// version field reads byte-swapped.
//
// The input is untrusted. Every count and length is checked against the
// bytes left in the file before anything is allocated for it (a tensor
// count of 2^63 or a string longer than the file fails at once), arrays
// nest at most kGgufMaxArrayDepth deep (the parser recurses), n_dims is at
// most 4 (GGML_MAX_DIMS), the alignment must be a non-zero power of two,
// tensor sizes come from the ggml type table with overflow checks, and
// every tensor must be aligned, inside the file and disjoint from the
// others. Duplicate tensor names are refused, as ggml does, and so are
// duplicate keys with different values; a key repeated with the same type
// and value is kept once, because gguf-py's GGUFWriter has written
// `general.architecture` twice (files from the gguf package, such as the
// third-party test files, have it). Not enforced, since they do not change
// where any byte is: gguf.md's 64-byte limit on tensor names and ASCII-only
// keys, and UTF-8 in string values.
//
// Callers may pass only a prefix of the file: when the header runs past it,
// the parser fails with OUT_OF_RANGE and reports through `bytes_needed` how
// long a prefix would get further, so the caller can read more and retry.
//
// Ownership: results own their strings and arrays. Thread-safety:
// stateless functions.
//
// Errors: INVALID_ARGUMENT for content that breaks the format and
// OUT_OF_RANGE for lengths and ranges past the end of the file (or of the
// prefix given); messages name the file and the key or tensor.
#ifndef HALIO_SRC_IO_FORMATS_GGUF_GGUF_PARSER_H_
#define HALIO_SRC_IO_FORMATS_GGUF_GGUF_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "halio/status.h"

namespace halio {

inline constexpr uint32_t kGgufDefaultAlignment = 32;
// GGML_MAX_DIMS.
inline constexpr uint32_t kGgufMaxDims = 4;
// Nested arrays are rare (gguf-py can write them, ggml cannot read them);
// the bound keeps a hostile file of 12-byte array headers from recursing
// the parser's stack away.
inline constexpr int kGgufMaxArrayDepth = 32;
// gguf.md: a key "must be at most 2^16-1/65535 bytes long".
inline constexpr uint64_t kGgufMaxKeyLength = 65535;
// OpenParameterIndex reads at most this much header: real headers, large
// tokenizers included, are tens of MB.
inline constexpr uint64_t kGgufMaxHeaderBytes = uint64_t{1} << 30;

// gguf.md gguf_metadata_value_type.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// "uint8", ..., "array"; "unknown" outside the enum.
std::string_view GgufValueTypeName(GgufValueType type);

struct GgufValue;

struct GgufArray {
  GgufValueType element_type = GgufValueType::kUint8;
  uint64_t size = 0;  // elements
  // Fixed-width elements stay as the file's little-endian bytes (size x
  // width): a 150k-entry token-type array costs its file size, not 150k
  // GgufValues. Strings and nested arrays are in `items`.
  std::vector<std::byte> scalars;
  std::vector<GgufValue> items;

  // Element `index` (< size) as a value.
  GgufValue Element(uint64_t index) const;

  friend bool operator==(const GgufArray&, const GgufArray&) = default;
};

struct GgufValue {
  GgufValueType type = GgufValueType::kUint8;
  // uint8/16/32/64 as uint64_t, int8..64 as int64_t, float32 as float,
  // float64 as double, bool, string, array.
  std::variant<uint64_t, int64_t, float, double, bool, std::string, GgufArray> data;

  friend bool operator==(const GgufValue&, const GgufValue&) = default;
};

// Text for metadata listings: integers in decimal, floats shortest
// round-trip, bools true/false, strings as they are (quoted inside arrays),
// arrays as "[a, b, c]", cut after `max_array_elements` with
// "... (N elements)".
std::string GgufValueToString(const GgufValue& value, size_t max_array_elements = 16);

// One ggml tensor type: names as gguf-py spells them ("Q4_K").
struct GgmlTypeInfo {
  std::string_view name;
  uint32_t block_size = 0;  // elements per block; 0 for removed types
  uint32_t type_size = 0;   // bytes per block
};

// The type's traits, or nullptr for ids ggml never had; removed types
// (Q4_2, Q4_0_4_4, ...) have block_size 0.
const GgmlTypeInfo* FindGgmlType(uint32_t type);

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // GGUF order: innermost (contiguous) first
  uint32_t type = 0;
  std::string_view type_name;  // static storage
  uint64_t relative_offset = 0;  // from the data section, as in the file
  uint64_t offset = 0;           // absolute file offset
  uint64_t length = 0;           // bytes
};

struct GgufMetadataEntry {
  std::string key;
  GgufValue value;
};

struct GgufFile {
  uint32_t version = 0;
  uint32_t alignment = kGgufDefaultAlignment;
  uint64_t header_length = 0;  // through the last tensor info
  uint64_t data_offset = 0;    // header_length rounded up to the alignment
  std::vector<GgufMetadataEntry> metadata;  // file order
  std::vector<GgufTensorInfo> tensors;      // file order

  // The value of `key`, or nullptr.
  const GgufValue* FindMetadata(std::string_view key) const;
};

// Parses the header from `bytes`, the file's first bytes, for a file of
// `file_length` bytes. When the header runs past `bytes` but not past the
// file, fails with OUT_OF_RANGE and sets `*bytes_needed` (if given) to a
// prefix length that gets further; otherwise leaves it 0. Errors as above.
Result<GgufFile> ParseGgufHeader(std::span<const std::byte> bytes, uint64_t file_length,
                                 std::string_view file_name,
                                 uint64_t* bytes_needed = nullptr);

}  // namespace halio

#endif  // HALIO_SRC_IO_FORMATS_GGUF_GGUF_PARSER_H_
