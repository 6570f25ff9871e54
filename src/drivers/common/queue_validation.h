// The checks every device runs on a queue call before touching any
// semaphore: null arguments, semaphore lists, access rights and ranges.
// Shared so every device rejects exactly the same requests; CoreDevice
// (core_device.h) runs them before handing an op to its scheduler.
#ifndef HALIO_SRC_DRIVERS_COMMON_QUEUE_VALIDATION_H_
#define HALIO_SRC_DRIVERS_COMMON_QUEUE_VALIDATION_H_

#include <cstdint>
#include <span>

#include "halio/hal/device.h"

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
Status ValidateQueueFill(const BufferRef& target, uint64_t offset, uint64_t length,
                         uint32_t pattern_length);
Status ValidateQueueUpdate(std::span<const std::byte> source, const BufferRef& target,
                           uint64_t target_offset);
Status ValidateQueueCopy(const BufferRef& source, uint64_t source_offset,
                         const BufferRef& target, uint64_t target_offset, uint64_t length);
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
