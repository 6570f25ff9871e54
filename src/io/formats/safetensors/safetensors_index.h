// Sharded safetensors checkpoints: the `*.safetensors.index.json` file that
// maps each tensor to the shard file holding it.
//
// Format (Hugging Face transformers/safetensors convention, e.g.
// `model.safetensors.index.json`): a JSON object
//   {"metadata": {"total_size": 123, ...}, "weight_map": {"tensor": "shard"}}
// with shard names relative to the index file's directory. "metadata" is
// optional and free-form; other top-level members are ignored.
//
// The input is untrusted: a shard name must stay inside the index's
// directory, so absolute names and `..` components are rejected (an index
// downloaded with a model must not make a loader open /etc/shadow or
// ../../secrets), as are empty names and names with NUL bytes. The index
// is limited to kSafetensorsMaxIndexSize bytes.
//
// Ownership: results own their strings. Thread-safety: stateless.
// Errors: INVALID_ARGUMENT naming the file and the tensor or key.
#ifndef HALIO_SRC_IO_FORMATS_SAFETENSORS_SAFETENSORS_INDEX_H_
#define HALIO_SRC_IO_FORMATS_SAFETENSORS_SAFETENSORS_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "halio/status.h"
#include "string_map.h"

namespace halio {

// The same 100 MB bound as a safetensors header: real indexes are a few MB
// for tens of thousands of tensors.
inline constexpr uint64_t kSafetensorsMaxIndexSize = 100'000'000;

struct SafetensorsShardIndex {
  // "metadata" with every value as text: strings as they are, other JSON
  // values (numbers such as total_size, arrays, objects) minified.
  StringMap metadata;
  // Distinct shard paths, resolved against the index's directory, sorted.
  std::vector<std::string> shards;
  // Tensor name -> index into `shards`.
  std::map<std::string, size_t, std::less<>> tensor_shard;
};

// Parses the index JSON in `bytes`; `index_path` names the file in messages
// and gives the directory shard names are resolved against. Errors:
// INVALID_ARGUMENT (invalid JSON, missing or mistyped weight_map, a shard
// name that escapes the directory, duplicate tensors).
Result<SafetensorsShardIndex> ParseSafetensorsIndex(std::span<const std::byte> bytes,
                                                    std::string_view index_path);

// Checks one shard name from an index (see above). Errors: INVALID_ARGUMENT
// saying why the name is refused.
Status ValidateShardName(std::string_view shard, std::string_view index_path,
                         std::string_view tensor);

}  // namespace halio

#endif  // HALIO_SRC_IO_FORMATS_SAFETENSORS_SAFETENSORS_INDEX_H_
