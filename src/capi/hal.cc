// The C HAL: devices, buffers, semaphores and queue operations, each a shim
// over the C++ call of the same name (its validation and error wording).
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "capi_internal.h"

namespace halio::capi {
namespace {

static_assert(HALIO_MEMORY_HOST == static_cast<uint32_t>(MemoryType::kHost));
static_assert(HALIO_MEMORY_DEVICE_LOCAL == static_cast<uint32_t>(MemoryType::kDeviceLocal));
static_assert(HALIO_USAGE_DEFAULT == static_cast<uint32_t>(BufferUsage::kDefault));
static_assert(HALIO_ACCESS_ALL == static_cast<uint32_t>(MemoryAccess::kAll));
static_assert(HALIO_ACCESS_UNALIGNED == static_cast<uint32_t>(MemoryAccess::kUnaligned));

Timeout ToTimeout(uint64_t timeout_ns) {
  if (timeout_ns > static_cast<uint64_t>(INT64_MAX)) return Timeout::Infinite();
  return Timeout::After(std::chrono::nanoseconds(static_cast<int64_t>(timeout_ns)));
}

Status ReturnBuffer(Result<BufferRef> made, halio_buffer_t** out_buffer) {
  HALIO_RETURN_IF_ERROR(made.status());
  *out_buffer = NewHandle<halio_buffer_t>(*std::move(made));
  return Status();
}

// Maps `length` bytes of a host-visible buffer and copies them either way.
Status CopyHostBytes(const char* api, halio_buffer_t* buffer, uint64_t offset, void* host,
                     size_t length, bool to_buffer) {
  HALIO_RETURN_IF_ERROR(Required(api, buffer, "buffer"));
  if (host == nullptr && length > 0) return Required(api, host, "data");
  HALIO_ASSIGN_OR_RETURN(
      MappedMemory mapped,
      buffer->buffer->Map(to_buffer ? MemoryAccess::kWrite : MemoryAccess::kRead, offset,
                          length));
  if (length == 0) return Status();
  if (to_buffer) {
    std::memcpy(mapped.data(), host, length);
  } else {
    std::memcpy(host, mapped.data(), length);
  }
  return Status();
}

}  // namespace

Result<Points> Points::From(const char* api, halio_semaphore_list_t list, const char* which) {
  if (list.count > 0 && list.points == nullptr) {
    return InvalidArgumentError(std::string(api) + ": " + which + ".points is NULL for " +
                                std::to_string(list.count) + " points");
  }
  Points points;
  points.points_.reserve(list.count);
  for (size_t i = 0; i < list.count; ++i) {
    const halio_semaphore_point_t& point = list.points[i];
    points.points_.push_back(
        {point.semaphore != nullptr ? point.semaphore->semaphore.get() : nullptr, point.value});
  }
  return points;
}

Result<QueueLists> ToLists(const char* api, halio_device_t* device, halio_semaphore_list_t wait,
                           halio_semaphore_list_t signal) {
  HALIO_RETURN_IF_ERROR(Required(api, device, "device"));
  HALIO_ASSIGN_OR_RETURN(Points wait_points, Points::From(api, wait, "wait"));
  HALIO_ASSIGN_OR_RETURN(Points signal_points, Points::From(api, signal, "signal"));
  return QueueLists{std::move(wait_points), std::move(signal_points)};
}

}  // namespace halio::capi

using namespace halio;        // NOLINT: the C functions below are thin shims
using namespace halio::capi;  // NOLINT

extern "C" {

// --- semaphores ---------------------------------------------------------------

halio_status_t halio_semaphore_create(uint64_t initial_value, halio_semaphore_t** out) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, out, "out_semaphore"));
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef semaphore, Semaphore::Create(initial_value));
    *out = NewHandle<halio_semaphore_t>(std::move(semaphore));
    return Status();
  });
}

void halio_semaphore_free(halio_semaphore_t* semaphore) { delete semaphore; }

halio_status_t halio_semaphore_query(halio_semaphore_t* semaphore, uint64_t* out_value) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, semaphore, "semaphore"));
    HALIO_RETURN_IF_ERROR(Required(api, out_value, "out_value"));
    HALIO_ASSIGN_OR_RETURN(*out_value, semaphore->semaphore->Query());
    return Status();
  });
}

halio_status_t halio_semaphore_signal(halio_semaphore_t* semaphore, uint64_t value) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, semaphore, "semaphore"));
    return semaphore->semaphore->Signal(value);
  });
}

halio_status_t halio_semaphore_fail(halio_semaphore_t* semaphore, halio_status_code_t code,
                                    const char* message) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, semaphore, "semaphore"));
    if (code < HALIO_STATUS_OK || code > HALIO_STATUS_DATA_LOSS) {
      return InvalidArgumentError(std::string(api) + ": code " +
                                  std::to_string(static_cast<int>(code)) +
                                  " is not a halio_status_code_t");
    }
    const StatusCode cause =
        code == HALIO_STATUS_OK ? StatusCode::kUnknown : static_cast<StatusCode>(code);
    semaphore->semaphore->Fail(Status(cause, message != nullptr ? message : ""));
    return Status();
  });
}

halio_status_t halio_semaphore_wait(halio_semaphore_t* semaphore, uint64_t value,
                                    uint64_t timeout_ns) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, semaphore, "semaphore"));
    return semaphore->semaphore->Wait(value, ToTimeout(timeout_ns));
  });
}

halio_status_t halio_semaphores_wait(halio_semaphore_list_t points, int any,
                                     uint64_t timeout_ns) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_ASSIGN_OR_RETURN(Points list, Points::From(api, points, "points"));
    HALIO_RETURN_IF_ERROR(ValidateSemaphoreList(list.list(), "wait"));
    return WaitSemaphores(list.list(), any != 0 ? WaitMode::kAny : WaitMode::kAll,
                          ToTimeout(timeout_ns));
  });
}

// --- buffers -------------------------------------------------------------------

void halio_buffer_free(halio_buffer_t* buffer) { delete buffer; }

uint64_t halio_buffer_length(const halio_buffer_t* buffer) {
  return buffer != nullptr ? buffer->buffer->byte_length() : 0;
}

uint32_t halio_buffer_memory_type(const halio_buffer_t* buffer) {
  return buffer != nullptr ? static_cast<uint32_t>(buffer->buffer->memory_type()) : 0;
}

uint32_t halio_buffer_access(const halio_buffer_t* buffer) {
  return buffer != nullptr ? static_cast<uint32_t>(buffer->buffer->allowed_access()) : 0;
}

int halio_buffer_host_visible(const halio_buffer_t* buffer) {
  return buffer != nullptr && buffer->buffer->host_visible() ? 1 : 0;
}

halio_status_t halio_buffer_device_address(const halio_buffer_t* buffer,
                                           halio_device_address_t* out_address) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, buffer, "buffer"));
    HALIO_RETURN_IF_ERROR(Required(api, out_address, "out_address"));
    HALIO_ASSIGN_OR_RETURN(DeviceAddress address, buffer->buffer->GetDeviceAddress());
    *out_address = {static_cast<uint32_t>(address.kind), address.ordinal, address.address};
    return Status();
  });
}

halio_status_t halio_buffer_subspan(halio_buffer_t* buffer, uint64_t offset, uint64_t length,
                                    halio_buffer_t** out_view) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, buffer, "buffer"));
    HALIO_RETURN_IF_ERROR(Required(api, out_view, "out_view"));
    return ReturnBuffer(buffer->buffer->Subspan(offset, length), out_view);
  });
}

halio_status_t halio_buffer_map(halio_buffer_t* buffer, uint32_t access, uint64_t offset,
                                uint64_t length, halio_mapping_t** out_mapping) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, buffer, "buffer"));
    HALIO_RETURN_IF_ERROR(Required(api, out_mapping, "out_mapping"));
    HALIO_ASSIGN_OR_RETURN(MappedMemory mapped,
                           buffer->buffer->Map(static_cast<MemoryAccess>(access), offset, length));
    *out_mapping = NewHandle<halio_mapping_t>(std::move(mapped));
    return Status();
  });
}

void* halio_mapping_data(const halio_mapping_t* mapping) {
  return mapping != nullptr ? mapping->mapped.data() : nullptr;
}

size_t halio_mapping_length(const halio_mapping_t* mapping) {
  return mapping != nullptr ? mapping->mapped.size() : 0;
}

void halio_mapping_unmap(halio_mapping_t* mapping) { delete mapping; }

halio_status_t halio_buffer_read(halio_buffer_t* buffer, uint64_t offset, void* data,
                                 size_t length) {
  return Guard(__func__, [&](const char* api) {
    return CopyHostBytes(api, buffer, offset, data, length, /*to_buffer=*/false);
  });
}

halio_status_t halio_buffer_write(halio_buffer_t* buffer, uint64_t offset, const void* data,
                                  size_t length) {
  return Guard(__func__, [&](const char* api) {
    return CopyHostBytes(api, buffer, offset, const_cast<void*>(data), length,
                         /*to_buffer=*/true);
  });
}

// --- devices -------------------------------------------------------------------

void halio_device_options_init(halio_device_options_t* options) {
  if (options == nullptr) return;
  const DeviceOptions defaults;
  *options = halio_device_options_t{};
  options->struct_size = sizeof(*options);
  options->worker_count = defaults.worker_count;
  options->queue_depth = defaults.queue_depth;
  options->chunk_size = defaults.chunk_size;
  options->staging_buffer_size = defaults.staging_buffer_size;
  options->staging_buffer_count = defaults.staging_buffer_count;
  options->cuda_device = defaults.cuda_device;
}

halio_status_t halio_available_devices(const char** names, size_t capacity,
                                       size_t* out_count) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, out_count, "out_count"));
    if (capacity > 0) HALIO_RETURN_IF_ERROR(Required(api, names, "names"));
    // Built once (AvailableDevices probes cuda once too); never destroyed,
    // so the names stay valid for the life of the process.
    static const std::vector<std::string>* const available =
        new std::vector<std::string>(AvailableDevices());
    for (size_t i = 0; i < capacity && i < available->size(); ++i) {
      names[i] = (*available)[i].c_str();
    }
    *out_count = available->size();
    return Status();
  });
}

halio_status_t halio_device_create(const char* name, const halio_device_options_t* options,
                                   halio_device_t** out_device) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, name, "name"));
    HALIO_RETURN_IF_ERROR(Required(api, out_device, "out_device"));
    HALIO_ASSIGN_OR_RETURN(halio_device_options_t c,
                           ReadOptions(api, options, &halio_device_options_init, "options"));
    DeviceOptions device_options;
    device_options.worker_count = c.worker_count;
    device_options.queue_depth = c.queue_depth;
    device_options.chunk_size = c.chunk_size;
    device_options.staging_buffer_size = c.staging_buffer_size;
    device_options.staging_buffer_count = c.staging_buffer_count;
    device_options.cuda_device = c.cuda_device;
    auto handle = std::make_unique<halio_device_t>();
    HALIO_ASSIGN_OR_RETURN(handle->device, CreateDevice(name, device_options));
    *out_device = handle.release();
    return Status();
  });
}

void halio_device_free(halio_device_t* device) { delete device; }

const char* halio_device_id(const halio_device_t* device) {
  return device != nullptr ? device->device->id().c_str() : "";
}

halio_status_t halio_device_wait_idle(halio_device_t* device, uint64_t timeout_ns) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, device, "device"));
    return device->device->WaitIdle(ToTimeout(timeout_ns));
  });
}

halio_status_t halio_device_allocate_buffer(halio_device_t* device,
                                            const halio_buffer_params_t* params, uint64_t length,
                                            halio_buffer_t** out_buffer) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, device, "device"));
    HALIO_RETURN_IF_ERROR(Required(api, out_buffer, "out_buffer"));
    HALIO_ASSIGN_OR_RETURN(BufferParams buffer_params, ToBufferParams(api, params));
    return ReturnBuffer(device->device->allocator().Allocate(buffer_params, length), out_buffer);
  });
}

halio_status_t halio_device_import_buffer(halio_device_t* device,
                                          const halio_buffer_params_t* params, void* data,
                                          size_t length, halio_release_fn_t release,
                                          void* user_data, halio_buffer_t** out_buffer) {
  return Guard(__func__, [&](const char* api) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, device, "device"));
    HALIO_RETURN_IF_ERROR(Required(api, out_buffer, "out_buffer"));
    if (data == nullptr && length > 0) return Required(api, data, "data");
    HALIO_ASSIGN_OR_RETURN(BufferParams buffer_params, ToBufferParams(api, params));
    // The handle first: once Import succeeded nothing may fail, or the
    // release callback would be owed twice over.
    auto handle = std::make_unique<halio_buffer_t>();
    ReleaseCallback callback = MakeRelease(release, user_data);
    auto imported = device->device->allocator().Import(
        buffer_params, {static_cast<std::byte*>(data), length}, callback);
    if (!imported.ok()) {
      DropRelease(callback);
      return imported.status();
    }
    handle->buffer = *std::move(imported);
    *out_buffer = handle.release();
    return Status();
  });
}

// --- queue operations ----------------------------------------------------------

halio_status_t halio_queue_alloca(halio_device_t* device, halio_semaphore_list_t wait,
                                  halio_semaphore_list_t signal,
                                  const halio_buffer_params_t* params, uint64_t length,
                                  halio_buffer_t** out_buffer) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, out_buffer, "out_buffer"));
    HALIO_ASSIGN_OR_RETURN(BufferParams buffer_params, ToBufferParams(api, params));
    auto handle = std::make_unique<halio_buffer_t>();
    HALIO_ASSIGN_OR_RETURN(handle->buffer,
                           queue.QueueAlloca(waits, signals,
                                                       buffer_params, length));
    *out_buffer = handle.release();
    return Status();
  });
}

halio_status_t halio_queue_dealloca(halio_device_t* device, halio_semaphore_list_t wait,
                                    halio_semaphore_list_t signal, halio_buffer_t* buffer) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, buffer, "buffer"));
    return queue.QueueDealloca(waits, signals,
                                         buffer->buffer);
  });
}

halio_status_t halio_queue_fill(halio_device_t* device, halio_semaphore_list_t wait,
                                halio_semaphore_list_t signal, halio_buffer_t* target,
                                uint64_t offset, uint64_t length, uint32_t pattern,
                                uint32_t pattern_length) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, target, "target"));
    return queue.QueueFill(waits, signals, target->buffer,
                                     offset, length, pattern, pattern_length);
  });
}

halio_status_t halio_queue_update(halio_device_t* device, halio_semaphore_list_t wait,
                                  halio_semaphore_list_t signal, const void* data, size_t length,
                                  halio_buffer_t* target, uint64_t target_offset) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, target, "target"));
    if (data == nullptr && length > 0) return Required(api, data, "data");
    return queue.QueueUpdate(waits, signals,
                                       {static_cast<const std::byte*>(data), length},
                                       target->buffer, target_offset);
  });
}

halio_status_t halio_queue_copy(halio_device_t* device, halio_semaphore_list_t wait,
                                halio_semaphore_list_t signal, halio_buffer_t* source,
                                uint64_t source_offset, halio_buffer_t* target,
                                uint64_t target_offset, uint64_t length) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, source, "source"));
    HALIO_RETURN_IF_ERROR(Required(api, target, "target"));
    return queue.QueueCopy(waits, signals, source->buffer,
                                     source_offset, target->buffer, target_offset, length);
  });
}

halio_status_t halio_queue_read(halio_device_t* device, halio_semaphore_list_t wait,
                                halio_semaphore_list_t signal, halio_file_t* source,
                                uint64_t source_offset, halio_buffer_t* target,
                                uint64_t target_offset, uint64_t length) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, source, "source"));
    HALIO_RETURN_IF_ERROR(Required(api, target, "target"));
    return queue.QueueRead(waits, signals, source->file,
                                     source_offset, target->buffer, target_offset, length);
  });
}

halio_status_t halio_queue_write(halio_device_t* device, halio_semaphore_list_t wait,
                                 halio_semaphore_list_t signal, halio_buffer_t* source,
                                 uint64_t source_offset, halio_file_t* target,
                                 uint64_t target_offset, uint64_t length) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char* api, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    HALIO_RETURN_IF_ERROR(Required(api, source, "source"));
    HALIO_RETURN_IF_ERROR(Required(api, target, "target"));
    return queue.QueueWrite(waits, signals, source->buffer,
                                      source_offset, target->file, target_offset, length);
  });
}

halio_status_t halio_queue_barrier(halio_device_t* device, halio_semaphore_list_t wait,
                                   halio_semaphore_list_t signal) {
  return QueueCall(__func__, device, wait, signal,
                   [&](const char*, Device& queue, SemaphoreList waits,
                       SemaphoreList signals) -> Status {
    return queue.QueueBarrier(waits, signals);
  });
}

}  // extern "C"
