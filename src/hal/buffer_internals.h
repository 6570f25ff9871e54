// BufferInternals: halio's access to a Buffer beyond the user API. Internal.
//
// Creating buffers (the allocator, Subspan), the unchecked data pointer and
// the freed-buffer error for ranges a Validate call already checked (the
// transfer bodies of queue operations), and Decommit for queue_dealloca.
//
// Thread-safety: as Buffer. Decommit must not race with users of the memory;
// the device orders it after them with semaphores.
#ifndef HALIO_SRC_HAL_BUFFER_INTERNALS_H_
#define HALIO_SRC_HAL_BUFFER_INTERNALS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "halio/hal/buffer.h"
#include "halio/host_allocator.h"
#include "halio/status.h"
#include "buffer_storage.h"

namespace halio {

class BufferInternals {
 public:
  // A buffer over [byte_offset, byte_offset + byte_length) of `storage`,
  // allocated from `host`. `what` names the object in the error.
  // Errors: RESOURCE_EXHAUSTED.
  static Result<BufferRef> Create(HostAllocator& host, std::string_view what,
                                  std::shared_ptr<BufferStorage> storage, uint64_t byte_offset,
                                  uint64_t byte_length, const BufferParams& params,
                                  bool transient);

  // The address of byte `offset` of a range the caller already validated,
  // or nullptr once queue_dealloca freed the storage. No checks, no copy.
  static std::byte* ValidatedData(const Buffer& buffer, uint64_t offset) {
    if (buffer.storage_->released()) [[unlikely]] return nullptr;
    return buffer.storage_->data() + buffer.byte_offset_ + offset;
  }

  // The device memory the buffer lives in, or null for host memory. A
  // buffer in device memory has no host address: ValidatedData returns the
  // device's address, for DeviceCopy only.
  static DeviceMemory* DeviceMemoryOf(const Buffer& buffer) {
    return buffer.storage_->device_memory();
  }

  // The FAILED_PRECONDITION a freed buffer reports.
  static Status FreedError(const Buffer& buffer);

  // Frees the storage of a transient buffer now (queue_dealloca): later maps
  // and transfers fail with FAILED_PRECONDITION. Idempotent; a no-op for
  // buffers that are not transient.
  static void Decommit(Buffer& buffer) {
    if (buffer.transient_) buffer.storage_->Release();
  }
};

}  // namespace halio

#endif  // HALIO_SRC_HAL_BUFFER_INTERNALS_H_
