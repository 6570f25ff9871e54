#include "parameter_index.h"

#include <algorithm>
#include <unordered_set>

#include "glob.h"

namespace halio {
namespace {

Status CheckEntryRanges(const ParameterFile& file, const std::vector<ParameterEntry>& entries) {
  for (const ParameterEntry& entry : entries) {
    uint64_t end = 0;
    if (__builtin_add_overflow(entry.offset, entry.length, &end) || end > file.length) {
      return OutOfRangeError(file.path + ": tensor '" + entry.name + "' at offset " +
                             std::to_string(entry.offset) + " (" +
                             std::to_string(entry.length) + " bytes) runs past the end of "
                             "the file (" + std::to_string(file.length) + " bytes)");
    }
  }
  return Status::Ok();
}

Status CheckNewNames(const std::vector<ParameterFile>& files,
                     const std::map<std::string, size_t, std::less<>>& by_name,
                     const std::vector<ParameterEntry>& existing, const ParameterFile& file,
                     const std::vector<ParameterEntry>& entries) {
  std::unordered_set<std::string_view> names;
  for (const ParameterEntry& entry : entries) {
    if (const auto it = by_name.find(entry.name); it != by_name.end()) {
      return InvalidArgumentError(file.path + ": tensor '" + entry.name + "' is also in " +
                                  files[existing[it->second].file_index].path +
                                  "; a parameter set needs unique names");
    }
    if (!names.insert(entry.name).second) {
      return InvalidArgumentError(file.path + ": tensor '" + entry.name + "' appears twice");
    }
  }
  return Status::Ok();
}

}  // namespace

const char* ParameterFileFormatName(ParameterFileFormat format) {
  return format == ParameterFileFormat::kGguf ? "gguf" : "safetensors";
}

Status ParameterIndex::AddFile(ParameterFile file, std::vector<ParameterEntry> entries) {
  HALIO_RETURN_IF_ERROR(CheckEntryRanges(file, entries));
  HALIO_RETURN_IF_ERROR(CheckNewNames(files_, by_name_, entries_, file, entries));
  std::stable_sort(entries.begin(), entries.end(),
                   [](const ParameterEntry& a, const ParameterEntry& b) {
                     return a.offset < b.offset;
                   });
  const auto file_index = static_cast<uint32_t>(files_.size());
  files_.push_back(std::move(file));
  for (ParameterEntry& entry : entries) {
    entry.file_index = file_index;
    by_name_.emplace(entry.name, entries_.size());
    entries_.push_back(std::move(entry));
  }
  return Status::Ok();
}

const ParameterEntry* ParameterIndex::Find(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

std::vector<const ParameterEntry*> ParameterIndex::Match(std::string_view pattern) const {
  std::vector<const ParameterEntry*> matches;
  for (const ParameterEntry& entry : entries_) {
    if (GlobMatch(pattern, entry.name)) matches.push_back(&entry);
  }
  return matches;
}

IndexedFile IndexSafetensors(const SafetensorsHeader& header, std::string path,
                             uint64_t file_length) {
  IndexedFile indexed;
  indexed.file = {std::move(path), file_length, ParameterFileFormat::kSafetensors,
                  header.metadata};
  indexed.entries.reserve(header.tensors.size());
  for (const SafetensorsTensor& tensor : header.tensors) {
    indexed.entries.push_back({tensor.name, 0, tensor.offset, tensor.length,
                               std::string(tensor.dtype_name), tensor.shape});
  }
  return indexed;
}

IndexedFile IndexGguf(const GgufFile& gguf, std::string path, uint64_t file_length) {
  IndexedFile indexed;
  indexed.file = {std::move(path), file_length, ParameterFileFormat::kGguf, {}};
  for (const GgufMetadataEntry& entry : gguf.metadata) {
    indexed.file.metadata.emplace(entry.key, GgufValueToString(entry.value));
  }
  indexed.entries.reserve(gguf.tensors.size());
  for (const GgufTensorInfo& tensor : gguf.tensors) {
    indexed.entries.push_back({tensor.name, 0, tensor.offset, tensor.length,
                               std::string(tensor.type_name),
                               std::vector<uint64_t>(tensor.dims.rbegin(), tensor.dims.rend())});
  }
  return indexed;
}

}  // namespace halio
