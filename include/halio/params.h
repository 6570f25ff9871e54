// Parameter indexes: which tensors a model's parameter files hold and where.
//
// A ParameterIndex maps each tensor name to {file, byte offset, byte
// length, dtype, shape} across one file (safetensors or GGUF) or a sharded
// safetensors checkpoint (`*.safetensors.index.json` plus its shards), with
// each file's metadata. Loaders use it to issue reads; `halio info` prints
// it. OpenParameterIndex reads only the headers and checks every tensor's
// range against its file's length, so a loader can trust the ranges.
//
// Formats: safetensors (https://github.com/huggingface/safetensors),
// sharded safetensors indexes, GGUF v2/v3
// (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md). Files are
// untrusted input; every size and offset is validated before use.
//
// Shapes are row-major, outermost dimension first, for every format: GGUF
// lists dimensions innermost first, so its dims appear here reversed
// (a GGUF tensor with dims [4, 3] has shape [3, 4]). Dtypes are the
// format's own names: safetensors "F32", "BF16", "F8_E4M3"; GGUF ggml type
// names "F32", "Q4_K", "IQ2_XS".
//
// Ownership: the index owns its strings; pointers returned by Find and
// Match stay valid until the index is modified or destroyed.
// Thread-safety: const methods may be called concurrently; AddFile needs
// exclusive access.
#ifndef HALIO_PARAMS_H_
#define HALIO_PARAMS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "halio/remote_file.h"
#include "halio/status.h"

namespace halio {

enum class ParameterFileFormat : uint8_t {
  kSafetensors,
  kGguf,
};

// "safetensors", "gguf".
const char* ParameterFileFormatName(ParameterFileFormat format);

using ParameterMetadata = std::map<std::string, std::string, std::less<>>;

struct ParameterFile {
  std::string path;
  uint64_t length = 0;  // bytes, when the header was read
  ParameterFileFormat format = ParameterFileFormat::kSafetensors;
  // safetensors: `__metadata__`. GGUF: every key/value, scalars as text,
  // arrays as "[a, b, ...]" (long arrays cut, see GgufValueToString).
  ParameterMetadata metadata;
};

struct ParameterEntry {
  std::string name;
  uint32_t file_index = 0;  // into ParameterIndex::files()
  uint64_t offset = 0;      // absolute byte offset in the file
  uint64_t length = 0;      // bytes
  std::string dtype;
  std::vector<uint64_t> shape;  // row-major, outermost first
};

class ParameterIndex {
 public:
  // Adds `file` and its tensors (their file_index is set here). Errors:
  // INVALID_ARGUMENT (a name already in the index, naming both files),
  // OUT_OF_RANGE (a range past file.length); on error nothing is added.
  Status AddFile(ParameterFile file, std::vector<ParameterEntry> entries);

  const std::vector<ParameterFile>& files() const { return files_; }
  // In file order, then by offset within each file.
  const std::vector<ParameterEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

  // The entry named exactly `name`, or nullptr.
  const ParameterEntry* Find(std::string_view name) const;
  // Entries whose names match the shell glob `pattern` (`*`, `?`,
  // `[...]`, as fnmatch(3) without flags), in entries() order.
  std::vector<const ParameterEntry*> Match(std::string_view pattern) const;

  // Set-level metadata: a sharded index's "metadata" (total_size, ...);
  // empty for single files, whose metadata is in files().
  const ParameterMetadata& metadata() const { return metadata_; }
  void set_metadata(ParameterMetadata metadata) { metadata_ = std::move(metadata); }

 private:
  std::vector<ParameterFile> files_;
  std::vector<ParameterEntry> entries_;
  std::map<std::string, size_t, std::less<>> by_name_;
  ParameterMetadata metadata_;
};

// Opens a parameter file and indexes it: `.safetensors.index.json` (or any
// `.json`) as a sharded index whose shards are opened too, files starting
// with "GGUF" (or named `.gguf`) as GGUF, others as safetensors. Reads only
// headers: a safetensors file's first 8 bytes then exactly its header; a
// GGUF file's prefix, grown until the header fits (at most
// kGgufMaxHeaderBytes, 1 GiB). Errors: the open/read errors of FdFile
// (NOT_FOUND, PERMISSION_DENIED, ...) naming the path; INVALID_ARGUMENT and
// OUT_OF_RANGE from the parsers, naming the file and tensor or key; for
// sharded sets also INVALID_ARGUMENT when a tensor the index lists is not
// in its shard, is in another shard instead, or two shards hold one name.
Result<ParameterIndex> OpenParameterIndex(const std::string& path);
// As above; a path that is a URL (and the shards a sharded index names by
// URL) is opened as a RemoteFile with `remote` (halio/remote_file.h), which
// adds that file's errors.
Result<ParameterIndex> OpenParameterIndex(const std::string& path,
                                          const RemoteFileOptions& remote);

}  // namespace halio

#endif  // HALIO_PARAMS_H_
