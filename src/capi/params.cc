// The C parameter index and loader: OpenParameterIndex (several paths merged
// into one index) and LoadParameters with C callbacks for progress and
// cancel.
#include <cstdint>
#include <string>
#include <vector>

#include "capi_internal.h"

namespace halio::capi {
namespace {

// Adds every file of `more` (with its tensors) to `index`. Errors: AddFile's
// (a name already in the index, naming both files).
Status MergeInto(ParameterIndex& index, const ParameterIndex& more) {
  for (uint32_t i = 0; i < more.files().size(); ++i) {
    std::vector<ParameterEntry> entries;
    for (const ParameterEntry& entry : more.entries()) {
      if (entry.file_index == i) entries.push_back(entry);
    }
    HALIO_RETURN_IF_ERROR(index.AddFile(more.files()[i], std::move(entries)));
  }
  return Status();
}

Result<LoadOptions> ToLoadOptions(const char* api, const halio_load_options_t* in) {
  HALIO_ASSIGN_OR_RETURN(halio_load_options_t c,
                         ReadOptions(api, in, &halio_load_options_init, "options"));
  if (c.select_count > 0 && c.select == nullptr) {
    return InvalidArgumentError(std::string(api) + ": options->select is NULL for " +
                                std::to_string(c.select_count) + " globs");
  }
  if (c.backend < HALIO_BACKEND_AUTO || c.backend > HALIO_BACKEND_SYNC) {
    return InvalidArgumentError(std::string(api) + ": options->backend " +
                                std::to_string(static_cast<int>(c.backend)) +
                                " is not a backend");
  }
  LoadOptions options;
  for (size_t i = 0; i < c.select_count; ++i) {
    HALIO_RETURN_IF_ERROR(Required(api, c.select[i], "options->select[i]"));
    options.select.emplace_back(c.select[i]);
  }
  options.memory_type = static_cast<MemoryType>(c.memory_type);
  options.file_options.backend = static_cast<IoBackend>(c.backend);
  options.direct = c.direct != 0;
  options.map = c.map != 0;
  if (c.max_inflight_bytes != 0) options.max_inflight_bytes = c.max_inflight_bytes;
  if (c.max_read_bytes != 0) options.max_read_bytes = c.max_read_bytes;
  if (c.file_count > 0 && c.files == nullptr) {
    return InvalidArgumentError(std::string(api) + ": options->files is NULL for " +
                                std::to_string(c.file_count) + " files");
  }
  for (size_t i = 0; i < c.file_count; ++i) {
    HALIO_RETURN_IF_ERROR(Required(api, c.files[i], "options->files[i]"));
    options.files.push_back(c.files[i]->file);
  }
  if (c.progress != nullptr) {
    options.progress = [fn = c.progress, user_data = c.progress_user_data](
                           const LoadProgress& progress) {
      const halio_load_progress_t report{progress.bytes_done, progress.bytes_total,
                                         progress.tensors_done, progress.tensors_total};
      fn(user_data, &report);
    };
  }
  if (c.cancel != nullptr) {
    options.cancel = [fn = c.cancel, user_data = c.cancel_user_data] {
      return fn(user_data) != 0;
    };
  }
  return options;
}

}  // namespace
}  // namespace halio::capi

using namespace halio;        // NOLINT: the C functions below are thin shims
using namespace halio::capi;  // NOLINT

extern "C" {

halio_status_t halio_index_open(const char* const* paths, size_t path_count,
                                halio_index_t** out_index) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, paths, "paths"));
    HALIO_RETURN_IF_ERROR(Required(api, out_index, "out_index"));
    if (path_count == 0) {
      return InvalidArgumentError(std::string(api) + ": no paths (path_count is 0)");
    }
    auto handle = std::make_unique<halio_index_t>();
    for (size_t i = 0; i < path_count; ++i) {
      HALIO_RETURN_IF_ERROR(Required(api, paths[i], "paths[i]"));
      HALIO_ASSIGN_OR_RETURN(ParameterIndex opened, OpenParameterIndex(paths[i]));
      if (i == 0) {
        handle->index = std::move(opened);
      } else {
        HALIO_RETURN_IF_ERROR(MergeInto(handle->index, opened));
      }
    }
    *out_index = handle.release();
    return Status();
  });
}

void halio_index_free(halio_index_t* index) { delete index; }

size_t halio_index_tensor_count(const halio_index_t* index) {
  return index != nullptr ? index->index.size() : 0;
}

size_t halio_index_file_count(const halio_index_t* index) {
  return index != nullptr ? index->index.files().size() : 0;
}

const char* halio_index_file_path(const halio_index_t* index, size_t i) {
  if (index == nullptr || i >= index->index.files().size()) return nullptr;
  return index->index.files()[i].path.c_str();
}

halio_status_t halio_index_tensor(const halio_index_t* index, size_t i,
                                  halio_tensor_info_t* info) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, index, "index"));
    HALIO_RETURN_IF_ERROR(Required(api, info, "info"));
    if (info->struct_size < sizeof(halio_tensor_info_t)) {
      return InvalidArgumentError(std::string(api) + ": info->struct_size is " +
                                  std::to_string(info->struct_size) + ", expected at least " +
                                  std::to_string(sizeof(halio_tensor_info_t)));
    }
    const auto& entries = index->index.entries();
    if (i >= entries.size()) {
      return OutOfRangeError(std::string(api) + ": tensor " + std::to_string(i) +
                             " of an index of " + std::to_string(entries.size()) + " tensors");
    }
    const ParameterEntry& entry = entries[i];
    info->name = entry.name.c_str();
    info->dtype = entry.dtype.c_str();
    info->rank = entry.shape.size();
    info->shape = entry.shape.data();
    info->file_index = entry.file_index;
    info->file = index->index.files()[entry.file_index].path.c_str();
    info->offset = entry.offset;
    info->size = entry.length;
    return Status();
  });
}

halio_status_t halio_index_find(const halio_index_t* index, const char* name, size_t* out_i) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, index, "index"));
    HALIO_RETURN_IF_ERROR(Required(api, name, "name"));
    HALIO_RETURN_IF_ERROR(Required(api, out_i, "out_i"));
    const ParameterEntry* entry = index->index.Find(name);
    if (entry == nullptr) {
      return NotFoundError("no tensor named '" + std::string(name) + "' in the index");
    }
    *out_i = static_cast<size_t>(entry - index->index.entries().data());
    return Status();
  });
}

void halio_load_options_init(halio_load_options_t* options) {
  if (options == nullptr) return;
  *options = halio_load_options_t{};
  options->struct_size = sizeof(*options);
  options->memory_type = HALIO_MEMORY_DEVICE_LOCAL;
  options->backend = HALIO_BACKEND_AUTO;
}

halio_status_t halio_load(halio_device_t* device, const halio_index_t* index,
                          const halio_load_options_t* options, halio_loaded_t** out_loaded) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, device, "device"));
    HALIO_RETURN_IF_ERROR(Required(api, index, "index"));
    HALIO_RETURN_IF_ERROR(Required(api, out_loaded, "out_loaded"));
    HALIO_ASSIGN_OR_RETURN(LoadOptions load_options, ToLoadOptions(api, options));
    auto handle = std::make_unique<halio_loaded_t>();
    HALIO_ASSIGN_OR_RETURN(handle->loaded,
                           LoadParameters(*device->device, index->index, load_options));
    *out_loaded = handle.release();
    return Status();
  });
}

void halio_loaded_free(halio_loaded_t* loaded) { delete loaded; }

size_t halio_loaded_count(const halio_loaded_t* loaded) {
  return loaded != nullptr ? loaded->loaded.tensors.size() : 0;
}

uint64_t halio_loaded_bytes(const halio_loaded_t* loaded) {
  return loaded != nullptr ? loaded->loaded.bytes : 0;
}

int halio_loaded_mapped(const halio_loaded_t* loaded) {
  return loaded != nullptr && loaded->loaded.mapped ? 1 : 0;
}

halio_status_t halio_loaded_tensor(const halio_loaded_t* loaded, size_t i,
                                   const char** out_name, halio_buffer_t** out_buffer) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, loaded, "loaded"));
    const auto& tensors = loaded->loaded.tensors;
    if (i >= tensors.size()) {
      return OutOfRangeError(std::string(api) + ": tensor " + std::to_string(i) + " of a load of " +
                             std::to_string(tensors.size()) + " tensors");
    }
    if (out_buffer != nullptr) *out_buffer = NewHandle<halio_buffer_t>(tensors[i].buffer);
    if (out_name != nullptr) *out_name = tensors[i].entry->name.c_str();
    return Status();
  });
}

}  // extern "C"
