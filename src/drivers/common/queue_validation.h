// The checks every device runs on a queue call before touching any
// semaphore: null arguments, semaphore lists, access rights and ranges.
// Shared so every device rejects exactly the same requests; CoreDevice
// (core_device.h) runs them before handing an op to its scheduler.
#ifndef HALIO_SRC_DRIVERS_COMMON_QUEUE_VALIDATION_H_
#define HALIO_SRC_DRIVERS_COMMON_QUEUE_VALIDATION_H_

#include <cstdint>
#include <span>

#include "halio/hal/device.h"
#include "halio/hal/transfer.h"

namespace halio {

// Both lists name no null semaphore. Inline: every queue call runs it, and
// the lists are nearly always one or two points long.
inline bool HasNullSemaphore(SemaphoreList points) {
  for (const SemaphorePoint& point : points) {
    if (point.semaphore == nullptr) [[unlikely]] return true;
  }
  return false;
}
// The INVALID_ARGUMENT naming the first null entry of `wait` or `signal`.
Status SemaphoreListError(SemaphoreList wait, SemaphoreList signal);
inline Status ValidateQueueLists(SemaphoreList wait, SemaphoreList signal) {
  if (HasNullSemaphore(wait) || HasNullSemaphore(signal)) [[unlikely]] {
    return SemaphoreListError(wait, signal);
  }
  return Status();
}
Status ValidateQueueDealloca(const BufferRef& buffer);
// The INVALID_ARGUMENT "<what> is null".
Status NullArgumentError(const char* what);

// The memory ops are inline: a null check in front of transfer.h's check,
// with no extra call and Status return per queue call.
inline Status ValidateQueueFill(const BufferRef& target, uint64_t offset, uint64_t length,
                                uint32_t pattern_length) {
  if (!target) [[unlikely]] return NullArgumentError("fill target");
  return ValidateFill(*target, offset, length, pattern_length);
}
inline Status ValidateQueueUpdate(std::span<const std::byte> source, const BufferRef& target,
                                  uint64_t target_offset) {
  if (!target) [[unlikely]] return NullArgumentError("update target");
  return ValidateUpdate(*target, target_offset, source.size());
}
inline Status ValidateQueueCopy(const BufferRef& source, uint64_t source_offset,
                                const BufferRef& target, uint64_t target_offset,
                                uint64_t length) {
  if (!source) [[unlikely]] return NullArgumentError("copy source");
  if (!target) [[unlikely]] return NullArgumentError("copy target");
  return ValidateCopy(*source, source_offset, *target, target_offset, length);
}
Status ValidateQueueRead(const FileRef& source, uint64_t source_offset,
                         const BufferRef& target, uint64_t target_offset, uint64_t length);
Status ValidateQueueWrite(const BufferRef& source, uint64_t source_offset,
                          const FileRef& target, uint64_t target_offset, uint64_t length);
Status ValidateQueueDispatch(const ExecutableRef& executable, uint32_t entry_point,
                             WorkgroupCount workgroup_count,
                             std::span<const BufferBinding> bindings);
Status ValidateQueueExecute(const CommandBufferRef& command_buffer);

}  // namespace halio

#endif  // HALIO_SRC_DRIVERS_COMMON_QUEUE_VALIDATION_H_
