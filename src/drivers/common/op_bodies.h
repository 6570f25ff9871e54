// The work of each queue op, written once for every device: one small struct
// per op holding its arguments, with `Status Run()`, what the op does once
// its waits are reached. A body is built only from arguments that passed the
// op's check in queue_validation.h, so Run() does not check them again.
//
// Views and owned copies. `FooBody<>` (Hold::kView) refers to the caller's
// arguments: building one copies no reference count, for a scheduler that
// runs the op before the queue call returns (local_sync). `Own()` returns
// `FooBody<Hold::kOwned>`, which retains the buffers, files and executables,
// for a scheduler that runs the op later (local_async). Two bodies have no
// generic owned form: an update's bytes and a dispatch's spans must be copied
// into memory the scheduler allocates (UpdateBody, DispatchBody).
//
// `kName` names the queue call in errors ("queue_fill").
//
// Thread-safety: a body is a value; Run() may be called from any thread once.
#ifndef HALIO_SRC_DRIVERS_COMMON_OP_BODIES_H_
#define HALIO_SRC_DRIVERS_COMMON_OP_BODIES_H_

#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

#include "halio/file.h"
#include "halio/hal/buffer.h"
#include "halio/hal/command_buffer.h"
#include "halio/hal/executable.h"
#include "halio/hal/transfer.h"
#include "halio/status.h"
#include "buffer_internals.h"
#include "transfer_validated.h"

namespace halio {

enum class Hold { kView, kOwned };

// A reference to the caller's shared_ptr (kView) or a retained copy (kOwned).
template <Hold kHold, typename T>
using Held = std::conditional_t<kHold == Hold::kView, const std::shared_ptr<T>&,
                                std::shared_ptr<T>>;

// Reads file bytes into the buffer on the calling thread: a buffer copy for
// memory files, the file's synchronous read otherwise.
Status ReadFileInline(File& source, uint64_t source_offset, Buffer& target,
                      uint64_t target_offset, uint64_t length);

// queue_barrier: orders, does nothing.
struct BarrierBody {
  static constexpr const char* kName = "queue_barrier";
  Status Run() const { return Status(); }
  BarrierBody Own() const { return *this; }
};

// queue_alloca: the buffer is allocated when the op is queued (so the call
// can return it); the op only orders its first use after `wait`.
struct AllocaBody {
  static constexpr const char* kName = "queue_alloca";
  Status Run() const { return Status(); }
  AllocaBody Own() const { return *this; }
};

template <Hold kHold = Hold::kView>
struct DeallocaBody {
  static constexpr const char* kName = "queue_dealloca";
  Held<kHold, Buffer> buffer;
  Status Run() const {
    BufferInternals::Decommit(*buffer);
    return Status();
  }
  DeallocaBody<Hold::kOwned> Own() const { return {buffer}; }
};

template <Hold kHold = Hold::kView>
struct FillBody {
  static constexpr const char* kName = "queue_fill";
  Held<kHold, Buffer> target;
  uint64_t offset;
  uint64_t length;
  uint32_t pattern;
  uint32_t pattern_length;
  Status Run() const { return FillValidated(*target, offset, length, pattern, pattern_length); }
  FillBody<Hold::kOwned> Own() const { return {target, offset, length, pattern, pattern_length}; }
};

// View only: a scheduler that runs it later copies `source` first (the
// caller may reuse it as soon as the call returns) and runs UpdateValidated
// on its copy.
struct UpdateBody {
  static constexpr const char* kName = "queue_update";
  std::span<const std::byte> source;
  const BufferRef& target;
  uint64_t target_offset;
  Status Run() const { return UpdateValidated(source, *target, target_offset); }
};

template <Hold kHold = Hold::kView>
struct CopyBody {
  static constexpr const char* kName = "queue_copy";
  Held<kHold, Buffer> source;
  uint64_t source_offset;
  Held<kHold, Buffer> target;
  uint64_t target_offset;
  uint64_t length;
  Status Run() const {
    return CopyValidated(*source, source_offset, *target, target_offset, length);
  }
  CopyBody<Hold::kOwned> Own() const {
    return {source, source_offset, target, target_offset, length};
  }
};

// queue_read and queue_write run in one piece on the calling thread here; a
// scheduler may instead split them (local_async's FileOp) from the same
// fields.
struct ReadBody {
  static constexpr const char* kName = "queue_read";
  const FileRef& file;
  uint64_t file_offset;
  const BufferRef& buffer;
  uint64_t buffer_offset;
  uint64_t length;
  Status Run() const {
    return ReadFileInline(*file, file_offset, *buffer, buffer_offset, length);
  }
};

struct WriteBody {
  static constexpr const char* kName = "queue_write";
  const BufferRef& buffer;
  uint64_t buffer_offset;
  const FileRef& file;
  uint64_t file_offset;
  uint64_t length;
  Status Run() const {
    if (length == 0) return Status();
    return file->Write(file_offset, *buffer, buffer_offset, length);
  }
};

// View only: the owned form needs the push constants and bindings copied
// into scheduler memory (local_async's DispatchOp).
struct DispatchBody {
  static constexpr const char* kName = "queue_dispatch";
  const ExecutableRef& executable;
  uint32_t entry_point;
  WorkgroupCount workgroup_count;
  std::span<const uint32_t> push_constants;
  std::span<const BufferBinding> bindings;
  Status Run() const {
    return InlineDispatch(*executable, entry_point, workgroup_count, push_constants, bindings);
  }
};

template <Hold kHold = Hold::kView>
struct ExecuteBody {
  static constexpr const char* kName = "queue_execute";
  Held<kHold, CommandBuffer> command_buffer;
  Status Run() const { return command_buffer->ExecuteInline(); }
  ExecuteBody<Hold::kOwned> Own() const { return {command_buffer}; }
};

}  // namespace halio

#endif  // HALIO_SRC_DRIVERS_COMMON_OP_BODIES_H_
