// Turning parsed headers into ParameterIndex files and entries (the public
// ParameterIndex is in include/halio/params.h). Kept apart from the file
// reading in parameter_open.cc so tests and fuzzers can index parsed bytes
// without touching the filesystem.
//
// Thread-safety: stateless functions.
#ifndef HALIO_SRC_IO_PARAMETER_INDEX_H_
#define HALIO_SRC_IO_PARAMETER_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "halio/params.h"
#include "gguf/gguf_parser.h"
#include "safetensors/safetensors_parser.h"

namespace halio {

// One file's worth of a ParameterIndex, ready for ParameterIndex::AddFile.
struct IndexedFile {
  ParameterFile file;
  std::vector<ParameterEntry> entries;
};

// Dtypes and shapes as the header has them; metadata copied.
IndexedFile IndexSafetensors(const SafetensorsHeader& header, std::string path,
                             uint64_t file_length);
// ggml type names; dims reversed into row-major shapes; metadata values as
// GgufValueToString text.
IndexedFile IndexGguf(const GgufFile& gguf, std::string path, uint64_t file_length);

}  // namespace halio

#endif  // HALIO_SRC_IO_PARAMETER_INDEX_H_
