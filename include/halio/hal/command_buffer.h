// CommandBuffer: a recorded list of fill, update, copy and dispatch commands
// replayed by Device::QueueExecute.
//
// Commands are validated when recorded (ranges, access, pattern sizes), so a
// finalized command buffer fails at execution only if a kernel fails or a
// transient buffer it uses was deallocated. Update copies its source bytes at
// record time: the caller may reuse its memory as soon as Update returns.
// Recorded buffers and executables are retained until the command buffer is
// destroyed.
//
// Thread-safety: recording is single-threaded; once Finalize() returned, the
// command buffer is immutable and may be executed from several queues.
#ifndef HALIO_HAL_COMMAND_BUFFER_H_
#define HALIO_HAL_COMMAND_BUFFER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "halio/hal/buffer.h"
#include "halio/hal/executable.h"
#include "halio/host_allocator.h"
#include "halio/status.h"

namespace halio {

class CommandBuffer;
using CommandBufferRef = std::shared_ptr<CommandBuffer>;

class CommandBuffer {
 public:
  // The command buffer and what it records are allocated from `host`, which
  // must outlive it. Errors: RESOURCE_EXHAUSTED.
  static Result<CommandBufferRef> Create(HostAllocator& host = HostAllocator::System());

  // Use Create(). Public for std::allocate_shared.
  explicit CommandBuffer(HostAllocator& host)
      : commands_(HostAllocatorAdapter<Command>(host)),
        data_(HostAllocatorAdapter<std::byte>(host)),
        constants_(HostAllocatorAdapter<uint32_t>(host)) {}

  // Each recorder returns the validation error and records nothing on error
  // (RESOURCE_EXHAUSTED when the host allocator has no memory).
  // Errors: FAILED_PRECONDITION after Finalize(); INVALID_ARGUMENT (pattern
  // length not 1/2/4, length not a multiple of it); OUT_OF_RANGE;
  // PERMISSION_DENIED (buffer lacks write/read access).
  Status Fill(const BufferRef& target, uint64_t offset, uint64_t length,
              uint32_t pattern, uint32_t pattern_length);
  Status Update(std::span<const std::byte> source, const BufferRef& target,
                uint64_t offset);
  Status Copy(const BufferRef& source, uint64_t source_offset,
              const BufferRef& target, uint64_t target_offset, uint64_t length);
  Status Dispatch(const ExecutableRef& executable, uint32_t entry_point,
                  WorkgroupCount workgroup_count,
                  std::span<const uint32_t> push_constants,
                  std::span<const BufferBinding> bindings);
  // Ends recording. Errors: FAILED_PRECONDITION if already finalized.
  Status Finalize();

  bool finalized() const { return finalized_; }
  size_t command_count() const { return commands_.size(); }

  // Runs every command in order on the calling thread; stops at the first
  // error, annotated with the command's index. Errors: FAILED_PRECONDITION if
  // not finalized, plus whatever a command returns.
  Status ExecuteInline() const;

 private:
  struct FillCmd {
    BufferRef target;
    uint64_t offset, length;
    uint32_t pattern, pattern_length;
  };
  struct UpdateCmd {
    BufferRef target;
    uint64_t offset;
    size_t data_offset, length;  // into data_
  };
  struct CopyCmd {
    BufferRef source;
    uint64_t source_offset;
    BufferRef target;
    uint64_t target_offset, length;
  };
  struct DispatchCmd {
    ExecutableRef executable;
    uint32_t entry_point;
    WorkgroupCount workgroup_count;
    size_t constants_offset, constants_count;  // into constants_
    std::vector<BufferBinding, HostAllocatorAdapter<BufferBinding>> bindings;
  };
  using Command = std::variant<FillCmd, UpdateCmd, CopyCmd, DispatchCmd>;

  Status CheckRecording() const;
  Status Execute(const Command& command) const;

  bool finalized_ = false;
  std::vector<Command, HostAllocatorAdapter<Command>> commands_;
  std::vector<std::byte, HostAllocatorAdapter<std::byte>> data_;     // update payloads
  std::vector<uint32_t, HostAllocatorAdapter<uint32_t>> constants_;  // dispatch push constants
};

}  // namespace halio

#endif  // HALIO_HAL_COMMAND_BUFFER_H_
