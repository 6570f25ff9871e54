#include "tensor_ranges.h"

#include <algorithm>

namespace halio {

std::optional<uint64_t> CheckedProduct(std::span<const uint64_t> dims) {
  uint64_t product = 1;
  for (uint64_t dim : dims) {
    if (__builtin_mul_overflow(product, dim, &product)) return std::nullopt;
  }
  return product;
}

Status CheckRangesDisjoint(std::vector<TensorRange>& ranges, std::string_view file_name) {
  std::sort(ranges.begin(), ranges.end(), [](const TensorRange& a, const TensorRange& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // The non-empty range seen so far that reaches furthest: any later range
  // starting before its end shares a byte with it.
  const TensorRange* furthest = nullptr;
  for (const TensorRange& range : ranges) {
    if (range.begin == range.end) continue;
    if (furthest != nullptr && range.begin < furthest->end) {
      return InvalidArgumentError(
          std::string(file_name) + ": tensors '" + std::string(furthest->name) + "' [" +
          std::to_string(furthest->begin) + ", " + std::to_string(furthest->end) + ") and '" +
          std::string(range.name) + "' [" + std::to_string(range.begin) + ", " +
          std::to_string(range.end) + ") overlap; every tensor needs bytes of its own");
    }
    if (furthest == nullptr || range.end > furthest->end) furthest = &range;
  }
  return Status::Ok();
}

std::string FormatDims(std::span<const uint64_t> dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

}  // namespace halio
