// Status handles and the helpers every part of the C ABI shares.
#include <cstddef>
#include <span>

#include "halio/hal/allocator.h"
#include "capi_internal.h"

namespace halio::capi {
namespace {

// The codes are numbered alike on both sides of the boundary.
static_assert(HALIO_STATUS_DATA_LOSS == static_cast<int>(StatusCode::kDataLoss));
static_assert(HALIO_STATUS_CANCELLED == static_cast<int>(StatusCode::kCancelled));
static_assert(HALIO_STATUS_RESOURCE_EXHAUSTED ==
              static_cast<int>(StatusCode::kResourceExhausted));

// Built at load time, so reporting out of memory needs no memory.
halio_status_s out_of_memory{HALIO_STATUS_RESOURCE_EXHAUSTED,
                             "out of host memory in a halio C API call"};

struct ReleasePair {
  halio_release_fn_t release;
  void* user_data;
};

void RunRelease(void* user_data, std::span<std::byte> memory) {
  auto* pair = static_cast<ReleasePair*>(user_data);
  pair->release(pair->user_data, memory.data(), memory.size());
  delete pair;
}

}  // namespace

halio_status_t OutOfMemoryStatus() { return &out_of_memory; }

halio_status_t ToC(const Status& status) noexcept {
  if (status.ok()) return nullptr;
  try {
    return new halio_status_s{static_cast<halio_status_code_t>(status.code()),
                              std::string(status.message())};
  } catch (const std::bad_alloc&) {
    return OutOfMemoryStatus();
  }
}

Status FromC(halio_status_t status) {
  if (status == nullptr) return Status();
  // The handle is freed even if building the C++ status throws.
  std::unique_ptr<halio_status_s, void (*)(halio_status_t)> owned(status, &halio_status_free);
  const StatusCode code = status->code == HALIO_STATUS_OK ? StatusCode::kUnknown
                                                           : static_cast<StatusCode>(status->code);
  return Status(code, status->message);
}

Result<BufferRef> WrapCallerMemory(const char* api, const void* data, size_t length,
                                   MemoryAccess access) {
  if (data == nullptr && length > 0) {
    return InvalidArgumentError(std::string(api) + ": data is NULL for " +
                                std::to_string(length) + " bytes");
  }
  // A zero-length transfer still validates its file range; any address does.
  static std::byte empty;
  std::byte* bytes = data != nullptr ? static_cast<std::byte*>(const_cast<void*>(data)) : &empty;
  BufferParams params;
  params.access = access | MemoryAccess::kUnaligned;
  return BufferAllocator().Import(params, {bytes, length}, ReleaseCallback());
}

Result<BufferParams> ToBufferParams(const char* api, const halio_buffer_params_t* in) {
  HALIO_ASSIGN_OR_RETURN(halio_buffer_params_t c,
                         ReadOptions(api, in, &halio_buffer_params_init, "params"));
  BufferParams params;
  params.type = static_cast<MemoryType>(c.memory_type);
  params.usage = static_cast<BufferUsage>(c.usage);
  params.access = static_cast<MemoryAccess>(c.access);
  params.zero_initialize = c.zero_initialize != 0;
  return params;
}

ReleaseCallback MakeRelease(halio_release_fn_t release, void* user_data) {
  if (release == nullptr) return ReleaseCallback();
  return ReleaseCallback{&RunRelease, new ReleasePair{release, user_data}};
}

void DropRelease(const ReleaseCallback& callback) {
  delete static_cast<ReleasePair*>(callback.user_data);
}

}  // namespace halio::capi

using halio::capi::OutOfMemoryStatus;

extern "C" {

halio_status_code_t halio_status_code(halio_status_t status) {
  return status != nullptr ? status->code : HALIO_STATUS_OK;
}

const char* halio_status_message(halio_status_t status) {
  return status != nullptr ? status->message.c_str() : "";
}

const char* halio_status_code_name(halio_status_code_t code) {
  return halio::StatusCodeName(static_cast<halio::StatusCode>(code));
}

halio_status_t halio_status_create(halio_status_code_t code, const char* message) {
  if (code == HALIO_STATUS_OK) return nullptr;
  try {
    return new halio_status_s{code, message != nullptr ? message : ""};
  } catch (const std::bad_alloc&) {
    return OutOfMemoryStatus();
  }
}

void halio_status_free(halio_status_t status) {
  if (status != OutOfMemoryStatus()) delete status;
}

const char* halio_backend_name(halio_backend_t backend) {
  if (backend == HALIO_BACKEND_NONE) return "none";
  if (backend < HALIO_BACKEND_AUTO || backend > HALIO_BACKEND_SYNC) return "unknown";
  return halio::IoBackendName(static_cast<halio::IoBackend>(backend));
}

void halio_buffer_params_init(halio_buffer_params_t* params) {
  if (params == nullptr) return;
  *params = halio_buffer_params_t{};
  params->struct_size = sizeof(*params);
  params->memory_type = HALIO_MEMORY_HOST;
  params->usage = HALIO_USAGE_DEFAULT;
  params->access = HALIO_ACCESS_ALL;
  params->zero_initialize = 1;
}

}  // extern "C"
