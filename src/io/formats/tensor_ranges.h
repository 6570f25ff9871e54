// Checks shared by the parameter-file parsers: overflow-safe size arithmetic
// and "no two tensors share a byte" over the byte ranges a file's header
// declares.
//
// Input is untrusted: every product and sum is checked for overflow, and
// messages name the file and the tensors involved.
//
// Thread-safety: stateless functions.
#ifndef HALIO_SRC_IO_FORMATS_TENSOR_RANGES_H_
#define HALIO_SRC_IO_FORMATS_TENSOR_RANGES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "halio/status.h"

namespace halio {

// One tensor's bytes, [begin, end) in file offsets.
struct TensorRange {
  std::string_view name;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// The product of `dims` (1 for no dims), or nullopt when it overflows 64 bits.
std::optional<uint64_t> CheckedProduct(std::span<const uint64_t> dims);

// Fails with INVALID_ARGUMENT naming both tensors when two non-empty ranges
// share a byte. Empty ranges overlap nothing (safetensors writes zero-size
// tensors at the offset of their neighbour). Sorts `ranges` by begin.
Status CheckRangesDisjoint(std::vector<TensorRange>& ranges, std::string_view file_name);

// "[2, 3, 4]" for messages and metadata.
std::string FormatDims(std::span<const uint64_t> dims);

}  // namespace halio

#endif  // HALIO_SRC_IO_FORMATS_TENSOR_RANGES_H_
