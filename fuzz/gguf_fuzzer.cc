// libFuzzer target: the GGUF header parser on arbitrary bytes, whole and
// as a prefix of a longer file, then the parameter index built from what
// parses. Checks the parser's promises: no crash or sanitizer report (deep
// nesting, huge counts and lengths included), only INVALID_ARGUMENT /
// OUT_OF_RANGE errors, a prefix request that is longer than the prefix and
// within the file, and accepted tensors aligned, inside the file and
// disjoint. Built by fuzz/run_fuzzers.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_checks.h"
#include "gguf/gguf_parser.h"
#include "parameter_index.h"

namespace {

using halio::fuzz::Check;
using halio::fuzz::CheckErrorCode;

void CheckFile(const halio::GgufFile& file, uint64_t file_length) {
  Check(file.version == 2 || file.version == 3);
  Check(file.alignment != 0 && (file.alignment & (file.alignment - 1)) == 0);
  Check(file.header_length <= file.data_offset && file.data_offset <= file_length &&
        file.data_offset % file.alignment == 0);
  for (const halio::GgufTensorInfo& tensor : file.tensors) {
    Check(tensor.dims.size() <= halio::kGgufMaxDims);
    Check(tensor.offset % file.alignment == 0 && tensor.offset >= file.data_offset);
    Check(tensor.length <= file_length && tensor.offset <= file_length - tensor.length);
  }
  for (const halio::GgufMetadataEntry& entry : file.metadata) {
    (void)halio::GgufValueToString(entry.value);
  }
  const halio::IndexedFile indexed = halio::IndexGguf(file, "fuzz", file_length);
  halio::ParameterIndex index;
  Check(index.AddFile(indexed.file, indexed.entries).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span bytes(reinterpret_cast<const std::byte*>(data), size);
  uint64_t needed = 0;
  halio::Result<halio::GgufFile> file = halio::ParseGgufHeader(bytes, size, "fuzz", &needed);
  if (file.ok()) {
    CheckFile(*file, size);
  } else {
    CheckErrorCode(file.status());
    Check(needed == 0);  // the whole file was given: nothing more to read
  }
  // The same bytes as the first half of a file twice as long.
  const size_t half = size / 2;
  halio::Result<halio::GgufFile> prefix =
      halio::ParseGgufHeader(bytes.first(half), size, "fuzz", &needed);
  if (prefix.ok()) {
    Check(needed == 0 && prefix->header_length <= half);
  } else {
    CheckErrorCode(prefix.status());
    Check(needed == 0 || (needed > half && needed <= size));
  }
  return 0;
}
