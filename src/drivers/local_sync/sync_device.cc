// local_sync: runs every queue operation inline on the calling thread as
// wait -> do the work -> signal (or fail the signal list), like IREE's
// local_sync device, except that a failed wait fails the signal semaphores
// instead of leaving them untouched, so waiters downstream learn of it.
//
// The queue calls themselves are CoreDevice's (common/core_device.h); this
// file is only the scheduler. Fill, update, copy, read and write allocate
// nothing: the bodies are views of the caller's arguments and run before the
// call returns.
#include <memory>

#include "halio/drivers.h"
#include "host_new.h"
#include "common/core_device.h"

namespace halio {
namespace {

class SyncScheduler {
 public:
  explicit SyncScheduler(BufferAllocator& /*allocator*/) {}

  // queue_op_begin -> body -> queue_op_end. A failed wait skips the body and
  // fails the signal list with the wait's status.
  template <typename Body>
  Status Schedule(SemaphoreList wait, SemaphoreList signal, const Body& body) {
    // The lists were validated by CoreDevice: wait on each point directly.
    Status status;
    for (const SemaphorePoint& point : wait) {
      status = point.semaphore->Wait(point.value);
      if (!status.ok()) [[unlikely]] break;
    }
    if (status.ok()) [[likely]] status = body.Run();
    return EndOp(signal, std::move(status));
  }

  Status WaitIdle(Timeout) { return Status(); }  // nothing is ever pending

 private:
  static Status EndOp(SemaphoreList signal, Status status) {
    if (status.ok()) [[likely]] {
      // SignalSemaphores, inline: the loop is most of an op's fixed cost.
      for (const SemaphorePoint& point : signal) {
        status = point.semaphore->Signal(point.value);
        if (!status.ok()) [[unlikely]] break;
      }
      if (status.ok()) [[likely]] return status;
    }
    FailSemaphores(signal, status);
    return status;
  }
};

using SyncDevice = CoreDevice<SyncScheduler>;

}  // namespace

Result<std::unique_ptr<Device>> CreateLocalSyncDevice(const DeviceOptions& options) {
  if (options.host_allocator == nullptr) {
    return InvalidArgumentError("DeviceOptions::host_allocator is null");
  }
  HALIO_ASSIGN_OR_RETURN(SyncDevice * device,
                         HostNew<SyncDevice>(*options.host_allocator, "the local_sync device",
                                             "local_sync", *options.host_allocator));
  return std::unique_ptr<Device>(device);
}

}  // namespace halio
