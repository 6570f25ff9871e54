// local_sync: runs every queue operation inline on the calling thread as
// wait -> do the work -> signal (or fail the signal list), like IREE's
// local_sync device, except that a failed wait fails the signal semaphores
// instead of leaving them untouched, so waiters downstream learn of it.
//
// Fill, update, copy, read and write allocate nothing: validation, waiting
// and signaling work on the caller's lists and buffers directly.
#include <atomic>
#include <new>
#include <string>

#include "halio/drivers.h"
#include "buffer_internals.h"
#include "host_new.h"
#include "queue_validation.h"
#include "transfer_validated.h"

namespace halio {
namespace {

// Allocated from the caller's HostAllocator (HostAllocated).
class SyncDevice final : public Device, public HostAllocated {
 public:
  explicit SyncDevice(const DeviceOptions& options)
      : allocator_(*options.host_allocator) {}

  const std::string& id() const override { return id_; }
  BufferAllocator& allocator() override { return allocator_; }
  // How many operations have ended (signaled or failed); for tests and stats.
  uint64_t epoch() const { return epoch_.load(std::memory_order_relaxed); }

  Result<BufferRef> QueueAlloca(SemaphoreList wait, SemaphoreList signal,
                                const BufferParams& params, uint64_t byte_length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_ASSIGN_OR_RETURN(BufferRef buffer,
                           allocator_.Allocate(params, byte_length, /*transient=*/true));
    HALIO_RETURN_IF_ERROR(RunOp(wait, signal, [] { return Status(); }));
    return buffer;
  }

  Status QueueDealloca(SemaphoreList wait, SemaphoreList signal,
                       const BufferRef& buffer) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(ValidateQueueDealloca(buffer));
    return RunOp(wait, signal, [&] {
      BufferInternals::Decommit(*buffer);
      return Status();
    });
  }

  Status QueueFill(SemaphoreList wait, SemaphoreList signal, const BufferRef& target,
                   uint64_t offset, uint64_t length, uint32_t pattern,
                   uint32_t pattern_length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(ValidateQueueFill(target, offset, length, pattern_length));
    return RunOp(wait, signal, [&] {
      return FillValidated(*target, offset, length, pattern, pattern_length);
    });
  }

  Status QueueUpdate(SemaphoreList wait, SemaphoreList signal,
                     std::span<const std::byte> source, const BufferRef& target,
                     uint64_t target_offset) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(ValidateQueueUpdate(source, target, target_offset));
    // Inline, so the source is consumed before the call returns.
    return RunOp(wait, signal, [&] { return UpdateValidated(source, *target, target_offset); });
  }

  Status QueueCopy(SemaphoreList wait, SemaphoreList signal, const BufferRef& source,
                   uint64_t source_offset, const BufferRef& target, uint64_t target_offset,
                   uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(
        ValidateQueueCopy(source, source_offset, target, target_offset, length));
    return RunOp(wait, signal, [&] {
      return CopyValidated(*source, source_offset, *target, target_offset, length);
    });
  }

  Status QueueRead(SemaphoreList wait, SemaphoreList signal, const FileRef& source,
                   uint64_t source_offset, const BufferRef& target, uint64_t target_offset,
                   uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(
        ValidateQueueRead(source, source_offset, target, target_offset, length));
    return RunOp(wait, signal, [&] {
      return ReadFileInline(*source, source_offset, *target, target_offset, length);
    });
  }

  Status QueueWrite(SemaphoreList wait, SemaphoreList signal, const BufferRef& source,
                    uint64_t source_offset, const FileRef& target, uint64_t target_offset,
                    uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(
        ValidateQueueWrite(source, source_offset, target, target_offset, length));
    return RunOp(wait, signal, [&] {
      if (length == 0) return Status();
      return target->Write(target_offset, *source, source_offset, length);
    });
  }

  Status QueueDispatch(SemaphoreList wait, SemaphoreList signal,
                       const ExecutableRef& executable, uint32_t entry_point,
                       WorkgroupCount workgroup_count,
                       std::span<const uint32_t> push_constants,
                       std::span<const BufferBinding> bindings) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(
        ValidateQueueDispatch(executable, entry_point, workgroup_count, bindings));
    return RunOp(wait, signal, [&] {
      return InlineDispatch(*executable, entry_point, workgroup_count, push_constants,
                            bindings);
    });
  }

  Status QueueExecute(SemaphoreList wait, SemaphoreList signal,
                      const CommandBufferRef& command_buffer) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    HALIO_RETURN_IF_ERROR(ValidateQueueExecute(command_buffer));
    return RunOp(wait, signal, [&] { return command_buffer->ExecuteInline(); });
  }

  Status QueueBarrier(SemaphoreList wait, SemaphoreList signal) override {
    HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
    return RunOp(wait, signal, [] { return Status(); });
  }

  Status WaitIdle(Timeout) override { return Status(); }  // nothing is ever pending

 private:
  // queue_op_begin -> body -> queue_op_end. A failed wait skips the body and
  // fails the signal list with the wait's status.
  template <typename Body>
  Status RunOp(SemaphoreList wait, SemaphoreList signal, Body&& body) {
    // The lists were validated by the caller: wait on each point directly.
    Status status;
    for (const SemaphorePoint& point : wait) {
      status = point.semaphore->Wait(point.value);
      if (!status.ok()) [[unlikely]] break;
    }
    if (status.ok()) [[likely]] status = body();
    return EndOp(signal, std::move(status));
  }

  Status EndOp(SemaphoreList signal, Status status) {
    epoch_.fetch_add(1, std::memory_order_relaxed);
    if (status.ok()) [[likely]] {
      status = SignalSemaphores(signal);
      if (status.ok()) [[likely]] return status;
    }
    FailSemaphores(signal, status);
    return status;
  }

  const std::string id_ = "local_sync";
  BufferAllocator allocator_;
  std::atomic<uint64_t> epoch_{0};
};

}  // namespace

Result<std::unique_ptr<Device>> CreateLocalSyncDevice(const DeviceOptions& options) {
  if (options.host_allocator == nullptr) {
    return InvalidArgumentError("DeviceOptions::host_allocator is null");
  }
  HALIO_ASSIGN_OR_RETURN(SyncDevice * device,
                         HostNew<SyncDevice>(*options.host_allocator, "the local_sync device",
                                             options));
  return std::unique_ptr<Device>(device);
}

}  // namespace halio
