#include "common/queue_validation.h"

#include <string>

#include "halio/hal/transfer.h"

namespace halio {

Status NullArgumentError(const char* what) {
  return InvalidArgumentError(std::string(what) + " is null");
}

Status SemaphoreListError(SemaphoreList wait, SemaphoreList signal) {
  HALIO_RETURN_IF_ERROR(ValidateSemaphoreList(wait, "wait"));
  return ValidateSemaphoreList(signal, "signal");
}

Status ValidateQueueDealloca(const BufferRef& buffer) {
  return buffer ? Status() : NullArgumentError("dealloca buffer");
}

Status ValidateQueueRead(const FileRef& source, uint64_t source_offset,
                         const BufferRef& target, uint64_t target_offset, uint64_t length) {
  if (!source) return NullArgumentError("read source file");
  if (!target) return NullArgumentError("read target buffer");
  return ValidateFileRead(*source, source_offset, *target, target_offset, length);
}

Status ValidateQueueWrite(const BufferRef& source, uint64_t source_offset,
                          const FileRef& target, uint64_t target_offset, uint64_t length) {
  if (!source) return NullArgumentError("write source buffer");
  if (!target) return NullArgumentError("write target file");
  return ValidateFileWrite(*target, target_offset, *source, source_offset, length);
}

Status ValidateQueueDispatch(const ExecutableRef& executable, uint32_t entry_point,
                             WorkgroupCount workgroup_count,
                             std::span<const BufferBinding> bindings) {
  if (!executable) return NullArgumentError("dispatch executable");
  return executable->ValidateDispatch(entry_point, workgroup_count, bindings);
}

Status ValidateQueueExecute(const CommandBufferRef& command_buffer) {
  if (!command_buffer) return NullArgumentError("command buffer");
  if (!command_buffer->finalized()) {
    return FailedPreconditionError("command buffer must be finalized before execution");
  }
  return Status();
}

}  // namespace halio
