// libFuzzer target: the safetensors header parser and the sharded-index
// parser on arbitrary bytes, then the parameter index built from what
// parses. Checks the parser's promises: no crash or sanitizer report, only
// INVALID_ARGUMENT / OUT_OF_RANGE errors, and every accepted tensor inside
// the file, disjoint and sized by its shape. Built by fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "fuzz_checks.h"
#include "safetensors/safetensors_index.h"
#include "safetensors/safetensors_parser.h"
#include "parameter_index.h"

namespace {

using halio::fuzz::Check;
using halio::fuzz::CheckErrorCode;

void CheckHeader(const halio::SafetensorsHeader& header, uint64_t file_length) {
  Check(header.data_offset == 8 + header.header_size && header.data_offset <= file_length);
  uint64_t previous_end = header.data_offset;
  for (const halio::SafetensorsTensor& tensor : header.tensors) {
    Check(tensor.offset >= header.data_offset && tensor.length <= file_length &&
          tensor.offset <= file_length - tensor.length);
    // Sorted by offset and disjoint (empty tensors may sit anywhere).
    if (tensor.length != 0) {
      Check(tensor.offset >= previous_end);
      previous_end = tensor.offset + tensor.length;
    }
  }
  halio::IndexedFile indexed = halio::IndexSafetensors(header, "fuzz", file_length);
  halio::ParameterIndex index;
  Check(index.AddFile(std::move(indexed.file), std::move(indexed.entries)).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span bytes(reinterpret_cast<const std::byte*>(data), size);
  halio::Result<halio::SafetensorsHeader> header =
      halio::ParseSafetensorsHeader(bytes, size, "fuzz");
  if (header.ok()) {
    CheckHeader(*header, size);
    // A prefix of exactly 8 + N bytes parses the same.
    Check(halio::ParseSafetensorsHeader(bytes.first(header->data_offset), size, "fuzz").ok());
  } else {
    CheckErrorCode(header.status());
  }
  halio::Result<halio::SafetensorsShardIndex> index =
      halio::ParseSafetensorsIndex(bytes, "dir/model.safetensors.index.json");
  if (index.ok()) {
    for (const auto& [tensor, shard] : index->tensor_shard) Check(shard < index->shards.size());
  } else {
    CheckErrorCode(index.status());
  }
  return 0;
}
