// What every part of the C ABI (include/halio/halio.h) shares: the handle
// structs, the status conversion, the exception barrier, argument and
// versioned-options checks. Internal.
//
// Every exported function that can fail is `return Guard(__func__, [&](const
// char* api) -> Status {...});`: the body is ordinary C++ returning a
// halio::Status, and Guard turns it (or any exception) into a C status.
#ifndef HALIO_SRC_CAPI_CAPI_INTERNAL_H_
#define HALIO_SRC_CAPI_CAPI_INTERNAL_H_

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "halio/file.h"
#include "halio/hal/buffer.h"
#include "halio/hal/command_buffer.h"
#include "halio/hal/device.h"
#include "halio/hal/semaphore.h"
#include "halio/halio.h"
#include "halio/loader.h"
#include "halio/params.h"
#include "halio/status.h"

// The handles: each holds the C++ object (or a reference to it).
struct halio_status_s {
  halio_status_code_t code;
  std::string message;
};
struct halio_file_s {
  halio::FileRef file;
};
struct halio_semaphore_s {
  halio::SemaphoreRef semaphore;
};
struct halio_buffer_s {
  halio::BufferRef buffer;
};
struct halio_mapping_s {
  halio::MappedMemory mapped;
};
struct halio_device_s {
  std::unique_ptr<halio::Device> device;
};
struct halio_index_s {
  halio::ParameterIndex index;
};
struct halio_loaded_s {
  halio::LoadedParameters loaded;
};
struct halio_executable_s {
  halio::ExecutableRef executable;
};
struct halio_command_buffer_s {
  halio::CommandBufferRef command_buffer;
};

namespace halio::capi {

// The status returned when even a status cannot be allocated: static, and
// halio_status_free knows not to free it.
halio_status_t OutOfMemoryStatus();

// NULL for OK, else a new status handle (OutOfMemoryStatus() when that
// cannot be had). Never throws.
halio_status_t ToC(const Status& status) noexcept;

// Takes a status a C callback returned: the C++ status, the handle freed.
// Throws std::bad_alloc (the handle is freed all the same).
Status FromC(halio_status_t status);

// The exception barrier: runs `body(api)`, converting its Status, and
// std::bad_alloc (RESOURCE_EXHAUSTED) or any other exception (INTERNAL).
template <typename Body>
halio_status_t Guard(const char* api, Body&& body) noexcept {
  try {
    return ToC(body(api));
  } catch (const std::bad_alloc&) {
    return OutOfMemoryStatus();
  } catch (const std::exception& e) {
    return ToC(InternalError(std::string(api) + ": unexpected C++ exception: " + e.what()));
  } catch (...) {
    return ToC(InternalError(std::string(api) + ": unexpected C++ exception"));
  }
}

// INVALID_ARGUMENT "<api>: <name> is NULL" when `pointer` is null.
inline Status Required(const char* api, const void* pointer, const char* name) {
  if (pointer != nullptr) return Status();
  return InvalidArgumentError(std::string(api) + ": " + name + " is NULL");
}

// Reads a versioned options struct: `init`'s defaults, overwritten by the
// first struct_size bytes the caller passed (NULL: all defaults). Errors:
// INVALID_ARGUMENT for a struct_size below this version's struct.
template <typename T>
Result<T> ReadOptions(const char* api, const T* in, void (*init)(T*), const char* name) {
  T out;
  init(&out);
  if (in == nullptr) return out;
  if (in->struct_size < sizeof(T)) {
    return InvalidArgumentError(std::string(api) + ": " + name + "->struct_size is " +
                                std::to_string(in->struct_size) + ", expected at least " +
                                std::to_string(sizeof(T)) + "; fill the struct with its " +
                                "_init() function first");
  }
  std::memcpy(&out, in, sizeof(T));  // fields a newer caller added are not known here
  out.struct_size = sizeof(T);
  return out;
}

// Caller memory as a buffer (no copy, any alignment), so file transfers
// into it are validated and worded exactly as the C++ API's. `access` is
// what the transfer needs of the memory. Errors: INVALID_ARGUMENT (NULL
// with a nonzero length), RESOURCE_EXHAUSTED.
Result<BufferRef> WrapCallerMemory(const char* api, const void* data, size_t length,
                                   MemoryAccess access);

// BufferParams from the C struct (NULL: defaults). Errors: as ReadOptions.
Result<BufferParams> ToBufferParams(const char* api, const halio_buffer_params_t* params);

// A C release callback as halio's ReleaseCallback: the pair is allocated
// and freed by the trampoline after the call. Null when `release` is NULL.
// Call DropRelease on it when the import failed (the callback is not run).
ReleaseCallback MakeRelease(halio_release_fn_t release, void* user_data);
void DropRelease(const ReleaseCallback& callback);

// A C semaphore list as the C++ one; a NULL semaphore stays null so the
// device's own ValidateSemaphoreList reports it. Errors: INVALID_ARGUMENT
// for NULL points with a nonzero count.
class Points {
 public:
  static Result<Points> From(const char* api, halio_semaphore_list_t list, const char* which);
  SemaphoreList list() const { return points_; }

 private:
  std::vector<SemaphorePoint> points_;
};

// The wait and signal lists of one queue call on `device` (checked non-NULL).
struct QueueLists {
  Points wait;
  Points signal;
};
Result<QueueLists> ToLists(const char* api, halio_device_t* device, halio_semaphore_list_t wait,
                           halio_semaphore_list_t signal);

// Guard for a queue operation: checks `device` and converts the lists,
// then runs `body(api, device, wait_list, signal_list)`.
template <typename Body>
halio_status_t QueueCall(const char* api, halio_device_t* device, halio_semaphore_list_t wait,
                         halio_semaphore_list_t signal, Body&& body) noexcept {
  return Guard(api, [&](const char* name) -> Status {
    HALIO_ASSIGN_OR_RETURN(QueueLists lists, ToLists(name, device, wait, signal));
    return body(name, *device->device, lists.wait.list(), lists.signal.list());
  });
}

// A new handle (throws std::bad_alloc, caught by Guard).
template <typename Handle, typename Value>
Handle* NewHandle(Value&& value) {
  return new Handle{std::forward<Value>(value)};
}

}  // namespace halio::capi

#endif  // HALIO_SRC_CAPI_CAPI_INTERNAL_H_
