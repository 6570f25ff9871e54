// CoreDevice<Scheduler>: the ten Device::Queue* methods, written once. Each
// validates its arguments (queue_validation.h) before any semaphore work,
// builds the op's body (op_bodies.h) and hands both lists and the body to
// the device's scheduler, which decides when and where the body runs.
//
// A device is a scheduler (plus a name and an allocator). A Scheduler type
// provides:
//
//   // `allocator` is the device's; it outlives the scheduler.
//   explicit Scheduler(BufferAllocator& allocator, ...);
//   // Runs `body` once every wait point is reached, then signals `signal`,
//   // or fails `signal` with the wait's or the body's error. The lists and
//   // the body were validated. Returns what the device's contract says:
//   // local_sync the op's own status, local_async OK once it is queued.
//   template <typename Body>
//   Status Schedule(SemaphoreList wait, SemaphoreList signal, const Body& body);
//   Status WaitIdle(Timeout timeout);
//
// Schedule receives view bodies (references to the caller's arguments); a
// scheduler that runs an op after the call returns must keep its own copy
// (Body::Own(), or its own capture for UpdateBody, ReadBody, WriteBody and
// DispatchBody). The scheduler is destroyed before the allocator, so its
// destructor may still drain ops that use it.
//
// Ownership: allocated from the caller's HostAllocator (HostAllocated).
// Thread-safety: as Device; the scheduler must accept calls from any thread.
#ifndef HALIO_SRC_DRIVERS_COMMON_CORE_DEVICE_H_
#define HALIO_SRC_DRIVERS_COMMON_CORE_DEVICE_H_

#include <string>
#include <string_view>
#include <utility>

#include "halio/hal/device.h"
#include "host_new.h"
#include "common/op_bodies.h"
#include "common/queue_validation.h"

namespace halio {

template <typename Scheduler>
class CoreDevice final : public Device, public HostAllocated {
 public:
  template <typename... SchedulerArgs>
  CoreDevice(std::string_view id, HostAllocator& host, SchedulerArgs&&... args)
      : id_(id), allocator_(host), scheduler_(allocator_, std::forward<SchedulerArgs>(args)...) {}
  // A device with its own allocator: a discrete device's, whose kDeviceLocal
  // buffers live in its DeviceMemory.
  template <typename... SchedulerArgs>
  CoreDevice(std::string_view id, BufferAllocator allocator, SchedulerArgs&&... args)
      : id_(id),
        allocator_(std::move(allocator)),
        scheduler_(allocator_, std::forward<SchedulerArgs>(args)...) {}

  const std::string& id() const override { return id_; }
  BufferAllocator& allocator() override { return allocator_; }
  Scheduler& scheduler() { return scheduler_; }

  Result<BufferRef> QueueAlloca(SemaphoreList wait, SemaphoreList signal,
                                const BufferParams& params, uint64_t byte_length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_ASSIGN_OR_RETURN(BufferRef buffer,
                           allocator_.Allocate(params, byte_length, /*transient=*/true));
    HALIO_RETURN_IF_ERROR(scheduler_.Schedule(wait, signal, AllocaBody{}));
    return buffer;
  }

  Status QueueDealloca(SemaphoreList wait, SemaphoreList signal,
                       const BufferRef& buffer) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(ValidateQueueDealloca(buffer));
    return scheduler_.Schedule(wait, signal, DeallocaBody<>{buffer});
  }

  Status QueueFill(SemaphoreList wait, SemaphoreList signal, const BufferRef& target,
                   uint64_t offset, uint64_t length, uint32_t pattern,
                   uint32_t pattern_length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(ValidateQueueFill(target, offset, length, pattern_length));
    return scheduler_.Schedule(wait, signal,
                               FillBody<>{target, offset, length, pattern, pattern_length});
  }

  Status QueueUpdate(SemaphoreList wait, SemaphoreList signal,
                     std::span<const std::byte> source, const BufferRef& target,
                     uint64_t target_offset) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(ValidateQueueUpdate(source, target, target_offset));
    return scheduler_.Schedule(wait, signal, UpdateBody{source, target, target_offset});
  }

  Status QueueCopy(SemaphoreList wait, SemaphoreList signal, const BufferRef& source,
                   uint64_t source_offset, const BufferRef& target, uint64_t target_offset,
                   uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(
        ValidateQueueCopy(source, source_offset, target, target_offset, length));
    return scheduler_.Schedule(
        wait, signal, CopyBody<>{source, source_offset, target, target_offset, length});
  }

  Status QueueRead(SemaphoreList wait, SemaphoreList signal, const FileRef& source,
                   uint64_t source_offset, const BufferRef& target, uint64_t target_offset,
                   uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(
        ValidateQueueRead(source, source_offset, target, target_offset, length));
    return scheduler_.Schedule(
        wait, signal, ReadBody{source, source_offset, target, target_offset, length});
  }

  Status QueueWrite(SemaphoreList wait, SemaphoreList signal, const BufferRef& source,
                    uint64_t source_offset, const FileRef& target, uint64_t target_offset,
                    uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(
        ValidateQueueWrite(source, source_offset, target, target_offset, length));
    return scheduler_.Schedule(
        wait, signal, WriteBody{source, source_offset, target, target_offset, length});
  }

  Status QueueDispatch(SemaphoreList wait, SemaphoreList signal,
                       const ExecutableRef& executable, uint32_t entry_point,
                       WorkgroupCount workgroup_count,
                       std::span<const uint32_t> push_constants,
                       std::span<const BufferBinding> bindings) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(
        ValidateQueueDispatch(executable, entry_point, workgroup_count, bindings));
    return scheduler_.Schedule(
        wait, signal,
        DispatchBody{executable, entry_point, workgroup_count, push_constants, bindings});
  }

  Status QueueExecute(SemaphoreList wait, SemaphoreList signal,
                      const CommandBufferRef& command_buffer) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(ValidateQueueExecute(command_buffer));
    return scheduler_.Schedule(wait, signal, ExecuteBody<>{command_buffer});
  }

  Status QueueBarrier(SemaphoreList wait, SemaphoreList signal) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    return scheduler_.Schedule(wait, signal, BarrierBody{});
  }

  Status WaitIdle(Timeout timeout) override { return scheduler_.WaitIdle(timeout); }

 private:
  const std::string id_;
  BufferAllocator allocator_;
  Scheduler scheduler_;  // after allocator_: destroyed (and drained) first
};

}  // namespace halio

#endif  // HALIO_SRC_DRIVERS_COMMON_CORE_DEVICE_H_
