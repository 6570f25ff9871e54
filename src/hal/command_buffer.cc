#include "halio/hal/command_buffer.h"

#include <cstring>
#include <new>
#include <string>

#include "halio/hal/transfer.h"
#include "host_new.h"

namespace halio {

Result<CommandBufferRef> CommandBuffer::Create(HostAllocator& host) {
  return HostMakeShared<CommandBuffer>(host, "a command buffer", host);
}

Status CommandBuffer::CheckRecording() const {
  if (finalized_) {
    return FailedPreconditionError("command buffer is finalized; record into a new one");
  }
  return Status();
}

// Recording allocates (the command list grows); bad_alloc becomes
// RESOURCE_EXHAUSTED with nothing recorded.
#define HALIO_RECORD(...)                                                   \
  try {                                                                     \
    __VA_ARGS__;                                                            \
  } catch (const std::bad_alloc&) {                                         \
    return ResourceExhaustedError("out of memory recording a command");     \
  }

static Status NullBuffer(const char* which) {
  return InvalidArgumentError(std::string(which) + " buffer is null");
}

Status CommandBuffer::Fill(const BufferRef& target, uint64_t offset, uint64_t length,
                           uint32_t pattern, uint32_t pattern_length) {
  HALIO_RETURN_IF_ERROR(CheckRecording());
  if (!target) return NullBuffer("fill target");
  HALIO_RETURN_IF_ERROR(ValidateFill(*target, offset, length, pattern_length));
  HALIO_RECORD(commands_.emplace_back(FillCmd{target, offset, length, pattern, pattern_length}));
  return Status();
}

Status CommandBuffer::Update(std::span<const std::byte> source, const BufferRef& target,
                             uint64_t offset) {
  HALIO_RETURN_IF_ERROR(CheckRecording());
  if (!target) return NullBuffer("update target");
  HALIO_RETURN_IF_ERROR(ValidateUpdate(*target, offset, source.size()));
  size_t data_offset = data_.size();
  // The command list grows first: once the payload is in, appending the
  // command cannot fail, so a failure records nothing.
  HALIO_RECORD({
    commands_.reserve(commands_.size() + 1);
    data_.insert(data_.end(), source.begin(), source.end());
    commands_.emplace_back(UpdateCmd{target, offset, data_offset, source.size()});
  });
  return Status();
}

Status CommandBuffer::Copy(const BufferRef& source, uint64_t source_offset,
                           const BufferRef& target, uint64_t target_offset,
                           uint64_t length) {
  HALIO_RETURN_IF_ERROR(CheckRecording());
  if (!source) return NullBuffer("copy source");
  if (!target) return NullBuffer("copy target");
  HALIO_RETURN_IF_ERROR(ValidateCopy(*source, source_offset, *target, target_offset, length));
  HALIO_RECORD(commands_.emplace_back(
      CopyCmd{source, source_offset, target, target_offset, length}));
  return Status();
}

Status CommandBuffer::Dispatch(const ExecutableRef& executable, uint32_t entry_point,
                               WorkgroupCount workgroup_count,
                               std::span<const uint32_t> push_constants,
                               std::span<const BufferBinding> bindings) {
  HALIO_RETURN_IF_ERROR(CheckRecording());
  if (!executable) return InvalidArgumentError("dispatch executable is null");
  HALIO_RETURN_IF_ERROR(executable->ValidateDispatch(entry_point, workgroup_count, bindings));
  size_t constants_offset = constants_.size();
  // Everything that can fail happens before the constants go in (see Update).
  HALIO_RECORD({
    DispatchCmd command{executable, entry_point, workgroup_count, constants_offset,
                        push_constants.size(),
                        {bindings.begin(), bindings.end(),
                         HostAllocatorAdapter<BufferBinding>(commands_.get_allocator().host())}};
    commands_.reserve(commands_.size() + 1);
    constants_.insert(constants_.end(), push_constants.begin(), push_constants.end());
    commands_.emplace_back(std::move(command));
  });
  return Status();
}

#undef HALIO_RECORD

Status CommandBuffer::Finalize() {
  HALIO_RETURN_IF_ERROR(CheckRecording());
  finalized_ = true;
  return Status();
}

Status CommandBuffer::Execute(const Command& command) const {
  if (auto* fill = std::get_if<FillCmd>(&command)) {
    return FillInline(*fill->target, fill->offset, fill->length, fill->pattern,
                      fill->pattern_length);
  }
  if (auto* update = std::get_if<UpdateCmd>(&command)) {
    return UpdateInline(
        std::span<const std::byte>(data_.data() + update->data_offset, update->length),
        *update->target, update->offset);
  }
  if (auto* copy = std::get_if<CopyCmd>(&command)) {
    return CopyInline(*copy->source, copy->source_offset, *copy->target,
                      copy->target_offset, copy->length);
  }
  const auto& dispatch = std::get<DispatchCmd>(command);
  return InlineDispatch(*dispatch.executable, dispatch.entry_point,
                        dispatch.workgroup_count,
                        std::span<const uint32_t>(constants_.data() + dispatch.constants_offset,
                                                  dispatch.constants_count),
                        dispatch.bindings);
}

Status CommandBuffer::ExecuteInline() const {
  if (!finalized_) {
    return FailedPreconditionError("command buffer must be finalized before execution");
  }
  for (size_t i = 0; i < commands_.size(); ++i) {
    Status status = Execute(commands_[i]);
    if (!status.ok()) [[unlikely]] {
      return status.Annotate("command " + std::to_string(i) + " of " +
                             std::to_string(commands_.size()));
    }
  }
  return Status();
}

}  // namespace halio
