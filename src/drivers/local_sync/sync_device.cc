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
#include "halio/hal/transfer.h"

namespace halio {
namespace {

Status NullArgument(const char* what) {
  return InvalidArgumentError(std::string(what) + " is null");
}

class SyncDevice final : public Device {
 public:
  explicit SyncDevice(const DeviceOptions& options)
      : allocator_(*options.host_allocator) {}

  const std::string& id() const override { return id_; }
  HeapAllocator& allocator() override { return allocator_; }
  // How many operations have ended (signaled or failed); for tests and stats.
  uint64_t epoch() const { return epoch_.load(std::memory_order_relaxed); }

  Result<BufferRef> QueueAlloca(SemaphoreList wait, SemaphoreList signal,
                                const BufferParams& params, uint64_t byte_length) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    HALIO_ASSIGN_OR_RETURN(BufferRef buffer,
                           allocator_.Allocate(params, byte_length, /*transient=*/true));
    HALIO_RETURN_IF_ERROR(RunOp(wait, signal, [] { return Status(); }));
    return buffer;
  }

  Status QueueDealloca(SemaphoreList wait, SemaphoreList signal,
                       const BufferRef& buffer) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    if (!buffer) return NullArgument("dealloca buffer");
    return RunOp(wait, signal, [&] {
      buffer->Decommit();
      return Status();
    });
  }

  Status QueueFill(SemaphoreList wait, SemaphoreList signal, const BufferRef& target,
                   uint64_t offset, uint64_t length, uint32_t pattern,
                   uint32_t pattern_length) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    if (!target) return NullArgument("fill target");
    HALIO_RETURN_IF_ERROR(ValidateFill(*target, offset, length, pattern_length));
    return RunOp(wait, signal, [&] {
      return FillInline(*target, offset, length, pattern, pattern_length);
    });
  }

  Status QueueUpdate(SemaphoreList wait, SemaphoreList signal,
                     std::span<const std::byte> source, const BufferRef& target,
                     uint64_t target_offset) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    if (!target) return NullArgument("update target");
    HALIO_RETURN_IF_ERROR(ValidateUpdate(*target, target_offset, source.size()));
    // Inline, so the source is consumed before the call returns.
    return RunOp(wait, signal, [&] { return UpdateInline(source, *target, target_offset); });
  }

  Status QueueCopy(SemaphoreList wait, SemaphoreList signal, const BufferRef& source,
                   uint64_t source_offset, const BufferRef& target, uint64_t target_offset,
                   uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    if (!source) return NullArgument("copy source");
    if (!target) return NullArgument("copy target");
    HALIO_RETURN_IF_ERROR(ValidateCopy(*source, source_offset, *target, target_offset, length));
    return RunOp(wait, signal, [&] {
      return CopyInline(*source, source_offset, *target, target_offset, length);
    });
  }

  Status QueueRead(SemaphoreList wait, SemaphoreList signal, const FileRef& source,
                   uint64_t source_offset, const BufferRef& target, uint64_t target_offset,
                   uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    if (!source) return NullArgument("read source file");
    if (!target) return NullArgument("read target buffer");
    HALIO_RETURN_IF_ERROR(
        ValidateFileRead(*source, source_offset, *target, target_offset, length));
    return RunOp(wait, signal, [&] {
      if (length == 0) return Status();
      // Memory files: a plain buffer copy, no file-interface detour.
      if (const BufferRef& storage = source->storage_buffer()) {
        return CopyInline(*storage, source_offset, *target, target_offset, length);
      }
      return source->Read(source_offset, *target, target_offset, length);
    });
  }

  Status QueueWrite(SemaphoreList wait, SemaphoreList signal, const BufferRef& source,
                    uint64_t source_offset, const FileRef& target, uint64_t target_offset,
                    uint64_t length) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    if (!source) return NullArgument("write source buffer");
    if (!target) return NullArgument("write target file");
    HALIO_RETURN_IF_ERROR(
        ValidateFileWrite(*target, target_offset, *source, source_offset, length));
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
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    if (!executable) return NullArgument("dispatch executable");
    HALIO_RETURN_IF_ERROR(executable->ValidateDispatch(entry_point, workgroup_count, bindings));
    return RunOp(wait, signal, [&] {
      return InlineDispatch(*executable, entry_point, workgroup_count, push_constants,
                            bindings);
    });
  }

  Status QueueExecute(SemaphoreList wait, SemaphoreList signal,
                      const CommandBufferRef& command_buffer) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    if (!command_buffer) return NullArgument("command buffer");
    if (!command_buffer->finalized()) {
      return FailedPreconditionError("command buffer must be finalized before execution");
    }
    return RunOp(wait, signal, [&] { return command_buffer->ExecuteInline(); });
  }

  Status QueueBarrier(SemaphoreList wait, SemaphoreList signal) override {
    HALIO_RETURN_IF_ERROR(ValidateLists(wait, signal));
    return RunOp(wait, signal, [] { return Status(); });
  }

  Status WaitIdle(Timeout) override { return Status(); }  // nothing is ever pending

 private:
  static Status ValidateLists(SemaphoreList wait, SemaphoreList signal) {
    HALIO_RETURN_IF_ERROR(ValidateSemaphoreList(wait, "wait"));
    return ValidateSemaphoreList(signal, "signal");
  }

  // queue_op_begin -> body -> queue_op_end. A failed wait skips the body and
  // fails the signal list with the wait's status.
  template <typename Body>
  Status RunOp(SemaphoreList wait, SemaphoreList signal, Body&& body) {
    Status status = WaitSemaphores(wait, WaitMode::kAll);
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
  HeapAllocator allocator_;
  std::atomic<uint64_t> epoch_{0};
};

}  // namespace

Result<std::unique_ptr<Device>> CreateLocalSyncDevice(const DeviceOptions& options) {
  if (options.host_allocator == nullptr) {
    return InvalidArgumentError("DeviceOptions::host_allocator is null");
  }
  try {
    return std::unique_ptr<Device>(new SyncDevice(options));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory creating the local_sync device");
  }
}

}  // namespace halio
