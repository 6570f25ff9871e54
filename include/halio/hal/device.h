// Device: a queue that runs transfer, file and dispatch operations ordered by
// timeline semaphores.
//
// Every queue operation takes a wait list and a signal list. It runs once
// every wait point is reached, then signals every signal point; if a wait
// semaphore fails or the operation fails, every signal semaphore is failed
// with that status instead (waiters see ABORTED carrying it).
//
// Validation first: each call checks its arguments (access rights, buffer and
// file ranges with overflow-safe arithmetic, pattern sizes) before touching
// any semaphore. A bad request returns its error at once, leaves every
// semaphore untouched and blocks nothing.
//
// Errors that happen while running an operation are delivered by failing the
// signal semaphores. Synchronous devices (local_sync) also return them from
// the call; asynchronous devices return OK once the operation is queued.
// A length of 0 makes read/write/fill/copy a barrier.
//
// Ownership: a device retains what an in-flight operation needs (buffers,
// files, executables, command buffers, semaphores) until it completes. The
// caller must keep semaphores named in SemaphoreLists alive for the call.
// Destroying an asynchronous device fails with CANCELLED the operations
// whose waits were not reached, aborts reads of remote files in flight
// (CANCELLED naming the URL and range; remote_file.h), and waits for the
// rest.
//
// Thread-safety: queue operations may be called from any thread.
#ifndef HALIO_HAL_DEVICE_H_
#define HALIO_HAL_DEVICE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "halio/file.h"
#include "halio/hal/allocator.h"
#include "halio/hal/buffer.h"
#include "halio/hal/command_buffer.h"
#include "halio/hal/executable.h"
#include "halio/hal/semaphore.h"
#include "halio/status.h"

namespace halio {

class Device {
 public:
  virtual ~Device() = default;

  // "local_sync", ...
  virtual const std::string& id() const = 0;
  virtual BufferAllocator& allocator() = 0;

  // Allocates a transient buffer (zero-filled) usable once `signal` is
  // reached. Errors: RESOURCE_EXHAUSTED, INVALID_ARGUMENT.
  virtual Result<BufferRef> QueueAlloca(SemaphoreList wait, SemaphoreList signal,
                                        const BufferParams& params,
                                        uint64_t byte_length) = 0;
  // Frees a transient buffer's storage once `wait` is reached; for other
  // buffers it is a barrier.
  virtual Status QueueDealloca(SemaphoreList wait, SemaphoreList signal,
                               const BufferRef& buffer) = 0;
  // Fills [offset, offset + length) with a 1, 2 or 4 byte pattern.
  virtual Status QueueFill(SemaphoreList wait, SemaphoreList signal,
                           const BufferRef& target, uint64_t offset, uint64_t length,
                           uint32_t pattern, uint32_t pattern_length) = 0;
  // Copies `source` into the buffer. The bytes are captured before the call
  // returns: the caller may reuse `source` immediately.
  virtual Status QueueUpdate(SemaphoreList wait, SemaphoreList signal,
                             std::span<const std::byte> source,
                             const BufferRef& target, uint64_t target_offset) = 0;
  virtual Status QueueCopy(SemaphoreList wait, SemaphoreList signal,
                           const BufferRef& source, uint64_t source_offset,
                           const BufferRef& target, uint64_t target_offset,
                           uint64_t length) = 0;
  // Reads file bytes into a buffer. Validation errors: PERMISSION_DENIED
  // (file not readable, buffer not writable), OUT_OF_RANGE (past the end of
  // the file or buffer, or offset + length overflows).
  virtual Status QueueRead(SemaphoreList wait, SemaphoreList signal,
                           const FileRef& source, uint64_t source_offset,
                           const BufferRef& target, uint64_t target_offset,
                           uint64_t length) = 0;
  // Writes buffer bytes to a file. Validation errors: PERMISSION_DENIED,
  // OUT_OF_RANGE.
  virtual Status QueueWrite(SemaphoreList wait, SemaphoreList signal,
                            const BufferRef& source, uint64_t source_offset,
                            const FileRef& target, uint64_t target_offset,
                            uint64_t length) = 0;
  virtual Status QueueDispatch(SemaphoreList wait, SemaphoreList signal,
                               const ExecutableRef& executable, uint32_t entry_point,
                               WorkgroupCount workgroup_count,
                               std::span<const uint32_t> push_constants,
                               std::span<const BufferBinding> bindings) = 0;
  // Replays a finalized command buffer. Errors: FAILED_PRECONDITION if it is
  // not finalized.
  virtual Status QueueExecute(SemaphoreList wait, SemaphoreList signal,
                              const CommandBufferRef& command_buffer) = 0;
  virtual Status QueueBarrier(SemaphoreList wait, SemaphoreList signal) = 0;

  // Blocks until every operation queued so far has completed (or failed).
  virtual Status WaitIdle(Timeout timeout = Timeout::Infinite()) = 0;
};

}  // namespace halio

#endif  // HALIO_HAL_DEVICE_H_
