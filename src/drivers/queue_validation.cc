#include "queue_validation.h"

#include <string>

#include "halio/hal/transfer.h"

namespace halio {
namespace {

Status Null(const char* what) { return InvalidArgumentError(std::string(what) + " is null"); }

}  // namespace

Status ValidateQueueLists(SemaphoreList wait, SemaphoreList signal) {
  HALIO_RETURN_IF_ERROR(ValidateSemaphoreList(wait, "wait"));
  return ValidateSemaphoreList(signal, "signal");
}

Status ValidateQueueDealloca(const BufferRef& buffer) {
  return buffer ? Status() : Null("dealloca buffer");
}

Status ValidateQueueFill(const BufferRef& target, uint64_t offset, uint64_t length,
                         uint32_t pattern_length) {
  if (!target) return Null("fill target");
  return ValidateFill(*target, offset, length, pattern_length);
}

Status ValidateQueueUpdate(std::span<const std::byte> source, const BufferRef& target,
                           uint64_t target_offset) {
  if (!target) return Null("update target");
  return ValidateUpdate(*target, target_offset, source.size());
}

Status ValidateQueueCopy(const BufferRef& source, uint64_t source_offset,
                         const BufferRef& target, uint64_t target_offset, uint64_t length) {
  if (!source) return Null("copy source");
  if (!target) return Null("copy target");
  return ValidateCopy(*source, source_offset, *target, target_offset, length);
}

Status ValidateQueueRead(const FileRef& source, uint64_t source_offset,
                         const BufferRef& target, uint64_t target_offset, uint64_t length) {
  if (!source) return Null("read source file");
  if (!target) return Null("read target buffer");
  return ValidateFileRead(*source, source_offset, *target, target_offset, length);
}

Status ValidateQueueWrite(const BufferRef& source, uint64_t source_offset,
                          const FileRef& target, uint64_t target_offset, uint64_t length) {
  if (!source) return Null("write source buffer");
  if (!target) return Null("write target file");
  return ValidateFileWrite(*target, target_offset, *source, source_offset, length);
}

Status ValidateQueueDispatch(const ExecutableRef& executable, uint32_t entry_point,
                             WorkgroupCount workgroup_count,
                             std::span<const BufferBinding> bindings) {
  if (!executable) return Null("dispatch executable");
  return executable->ValidateDispatch(entry_point, workgroup_count, bindings);
}

Status ValidateQueueExecute(const CommandBufferRef& command_buffer) {
  if (!command_buffer) return Null("command buffer");
  if (!command_buffer->finalized()) {
    return FailedPreconditionError("command buffer must be finalized before execution");
  }
  return Status();
}

Status ReadFileInline(File& source, uint64_t source_offset, Buffer& target,
                      uint64_t target_offset, uint64_t length) {
  if (length == 0) return Status();
  // Memory files: a plain buffer copy, no file-interface detour.
  if (const BufferRef& storage = source.storage_buffer()) {
    return CopyInline(*storage, source_offset, target, target_offset, length);
  }
  return source.Read(source_offset, target, target_offset, length);
}

}  // namespace halio
