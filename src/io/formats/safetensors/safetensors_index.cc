#include "safetensors/safetensors_index.h"

#include <algorithm>

#include "json_document.h"

namespace halio {
namespace {

Status ShardError(std::string_view index_path, std::string_view tensor,
                  std::string_view shard, std::string_view why) {
  return InvalidArgumentError(std::string(index_path) + ": weight_map: tensor '" +
                              std::string(tensor) + "' names shard \"" + std::string(shard) +
                              "\", " + std::string(why));
}

bool HasParentComponent(std::string_view path) {
  // Both separators: an index written on Windows may use backslashes.
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

// The directory part of `path` with a trailing '/', or "" for a bare name.
std::string DirectoryOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash + 1));
}

Result<StringMap> ReadMetadata(simdjson::dom::element element, std::string_view index_path) {
  HALIO_ASSIGN_OR_RETURN(simdjson::dom::object object,
                         AsObject(element, index_path, "metadata"));
  HALIO_RETURN_IF_ERROR(CheckNoDuplicateKeys(object, index_path, "metadata"));
  StringMap metadata;
  for (const simdjson::dom::key_value_pair field : object) {
    std::string_view text;
    metadata.emplace(std::string(field.key),
                     field.value.get_string().get(text) == simdjson::SUCCESS
                         ? std::string(text)
                         : simdjson::minify(field.value));
  }
  return metadata;
}

Result<SafetensorsShardIndex> ReadWeightMap(simdjson::dom::object root,
                                            std::string_view index_path) {
  simdjson::dom::element weight_map;
  if (root.at_key("weight_map").get(weight_map) != simdjson::SUCCESS) {
    return InvalidArgumentError(std::string(index_path) +
                                ": has no \"weight_map\" (tensor name -> shard file)");
  }
  HALIO_ASSIGN_OR_RETURN(StringMap tensors, ReadStringMap(weight_map, index_path, "weight_map"));
  SafetensorsShardIndex index;
  for (const auto& [tensor, shard] : tensors) {
    HALIO_RETURN_IF_ERROR(ValidateShardName(shard, index_path, tensor));
    index.shards.push_back(shard);
  }
  std::sort(index.shards.begin(), index.shards.end());
  index.shards.erase(std::unique(index.shards.begin(), index.shards.end()), index.shards.end());
  for (const auto& [tensor, shard] : tensors) {
    const auto it = std::lower_bound(index.shards.begin(), index.shards.end(), shard);
    index.tensor_shard.emplace(tensor, static_cast<size_t>(it - index.shards.begin()));
  }
  const std::string directory = DirectoryOf(index_path);
  for (std::string& shard : index.shards) shard = directory + shard;
  return index;
}

}  // namespace

Status ValidateShardName(std::string_view shard, std::string_view index_path,
                         std::string_view tensor) {
  if (shard.empty()) return ShardError(index_path, tensor, shard, "an empty file name");
  if (shard.find('\0') != std::string_view::npos) {
    return ShardError(index_path, tensor, shard,
                      "which contains a NUL byte and would name a different file");
  }
  if (shard.front() == '/' || shard.front() == '\\' ||
      (shard.size() >= 2 && shard[1] == ':')) {
    return ShardError(index_path, tensor, shard,
                      "an absolute path; shards must be relative to the index's directory so "
                      "an index cannot point a loader at arbitrary files");
  }
  if (HasParentComponent(shard)) {
    return ShardError(index_path, tensor, shard,
                      "which has a '..' component; shards must stay inside the index's "
                      "directory so an index cannot point a loader at arbitrary files");
  }
  return Status::Ok();
}

Result<SafetensorsShardIndex> ParseSafetensorsIndex(std::span<const std::byte> bytes,
                                                    std::string_view index_path) {
  if (bytes.size() > kSafetensorsMaxIndexSize) {
    return InvalidArgumentError(std::string(index_path) + ": " + std::to_string(bytes.size()) +
                                " bytes exceeds the 100 MB limit for an index file");
  }
  simdjson::dom::parser parser;
  HALIO_ASSIGN_OR_RETURN(simdjson::dom::element root,
                         ParseJsonDocument(parser, bytes, index_path, "index"));
  HALIO_ASSIGN_OR_RETURN(simdjson::dom::object object, AsObject(root, index_path, "index"));
  HALIO_RETURN_IF_ERROR(CheckNoDuplicateKeys(object, index_path, "index"));
  HALIO_ASSIGN_OR_RETURN(SafetensorsShardIndex index, ReadWeightMap(object, index_path));
  simdjson::dom::element metadata;
  // `"metadata": null` is read as no metadata, as Python writers may emit it.
  if (object.at_key("metadata").get(metadata) == simdjson::SUCCESS && !metadata.is_null()) {
    HALIO_ASSIGN_OR_RETURN(index.metadata, ReadMetadata(metadata, index_path));
  }
  return index;
}

}  // namespace halio
