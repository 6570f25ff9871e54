#include "local_async/async_device.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include "host_new.h"
#include "common/core_device.h"
#include "local_async/file_op.h"

namespace halio::local_async {
namespace {

// queue_dispatch's owned body: the push constants and bindings copied into
// the device's memory.
struct OwnedDispatch {
  ExecutableRef executable;
  uint32_t entry_point;
  WorkgroupCount workgroup_count;
  HostVector<uint32_t> push_constants;
  HostVector<BufferBinding> bindings;
  Status Run() const {
    return DispatchBody{executable, entry_point, workgroup_count, push_constants, bindings}
        .Run();
  }
};

}  // namespace

AsyncScheduler::AsyncScheduler(BufferAllocator& allocator, const DeviceOptions& options)
    : allocator_(allocator),
      queue_depth_(options.queue_depth),
      chunk_size_(options.chunk_size),
      tracked_(HostAllocatorAdapter<std::weak_ptr<Semaphore>>(allocator.host_allocator())),
      op_pool_(allocator.host_allocator()),
      workers_(allocator.host_allocator()) {}

Status AsyncScheduler::OutOfMemoryFor(const char* name) {
  return ResourceExhaustedError("out of host memory for " + std::string(name) +
                                " on local_async");
}

Status AsyncScheduler::Start(Op* op, SemaphoreList wait, SemaphoreList signal) {
  Status status = op->CaptureLists(wait, signal);
  if (!status.ok()) {
    delete op;
    return status;
  }
  // Relaxed: the op's own finish (which decrements) happens after this
  // through its wait chain; WaitIdle and OpFinished order the rest.
  live_ops_.fetch_add(1, std::memory_order_relaxed);
  op->Start();
  return Status();
}

Status AsyncScheduler::TrackWaitSemaphore(const SemaphoreRef& semaphore) {
  std::lock_guard<std::mutex> lock(tracking_mutex_);
  const bool same_as_last =
      !last_tracked_.owner_before(semaphore) && !semaphore.owner_before(last_tracked_);
  if (same_as_last) return Status();
  try {
    if (tracked_.size() >= tracked_bound_) CompactTrackedLocked();
    tracked_.push_back(semaphore);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of host memory tracking the wait semaphores of "
                                  "local_async operations");
  }
  last_tracked_ = semaphore;
  return Status();
}

void AsyncScheduler::CompactTrackedLocked() {
  std::erase_if(tracked_, [](const std::weak_ptr<Semaphore>& s) { return s.expired(); });
  std::owner_less<std::weak_ptr<Semaphore>> before;
  std::sort(tracked_.begin(), tracked_.end(), before);
  auto same = [&](const auto& a, const auto& b) { return !before(a, b) && !before(b, a); };
  tracked_.erase(std::unique(tracked_.begin(), tracked_.end(), same), tracked_.end());
  // Amortized O(1) per append: the bound doubles while most entries live.
  if (tracked_.size() > tracked_bound_ / 2) tracked_bound_ *= 2;
}

Status AsyncScheduler::Schedule(SemaphoreList wait, SemaphoreList signal,
                                const UpdateBody& body) {
  // The bytes are captured now: the caller may reuse `source` at once.
  return Launch<UpdateOp>(UpdateBody::kName, body.source.size(), wait, signal, body);
}

Status AsyncScheduler::Schedule(SemaphoreList wait, SemaphoreList signal,
                                const ReadBody& body) {
  return Launch<FileOp>(ReadBody::kName, 0, wait, signal, IoOp::kRead, body.file,
                        body.file_offset, body.buffer, body.buffer_offset, body.length);
}

Status AsyncScheduler::Schedule(SemaphoreList wait, SemaphoreList signal,
                                const WriteBody& body) {
  return Launch<FileOp>(WriteBody::kName, 0, wait, signal, IoOp::kWrite, body.file,
                        body.file_offset, body.buffer, body.buffer_offset, body.length);
}

Status AsyncScheduler::Schedule(SemaphoreList wait, SemaphoreList signal,
                                const DispatchBody& body) {
  OwnedDispatch owned{body.executable, body.entry_point, body.workgroup_count,
                      HostVector<uint32_t>(HostAllocatorAdapter<uint32_t>(host())),
                      HostVector<BufferBinding>(HostAllocatorAdapter<BufferBinding>(host()))};
  try {
    owned.push_constants.assign(body.push_constants.begin(), body.push_constants.end());
    owned.bindings.assign(body.bindings.begin(), body.bindings.end());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory capturing dispatch arguments");
  }
  return Launch<BodyOp<OwnedDispatch>>(DispatchBody::kName, 0, wait, signal, std::move(owned));
}

void AsyncScheduler::BecomeReady(Op* op) {
  // A chain of reads (each waiting on the one before) would otherwise pay a
  // hop to a worker and back per read; an op that only submits I/O starts
  // it on the engine thread whose completion made it ready.
  const bool run_here = InIoCompletion() && op->SubmitsIoOnly();
  // The op is live until it runs, so the device outlives this call.
  if (run_here) {
    op->RunNow();
  } else {
    workers_.Enqueue(op->task());
  }
}

void AsyncScheduler::OpFinished() {
  // Decrements that leave ops behind take no lock. The last one happens
  // under the lock, so WaitIdle (and so the destructor) can only see zero
  // once this thread is done with the device.
  uint64_t live = live_ops_.load(std::memory_order_acquire);
  while (live > 1 && !live_ops_.compare_exchange_weak(live, live - 1,
                                                      std::memory_order_acq_rel)) {
  }
  if (live > 1) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (live_ops_.fetch_sub(1, std::memory_order_acq_rel) == 1) idle_.notify_all();
}

Status AsyncScheduler::WaitIdle(Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto idle = [&] { return live_ops_ == 0; };
  // Idle: the op blocks a burst left cached go back to the host (OpPool's
  // bound). Not on every return to idle: a worker that catches up with the
  // submitting thread makes the device idle often within one burst.
  if (timeout.infinite()) {
    idle_.wait(lock, idle);
    op_pool_.TrimToBound();
    return Status();
  }
  if (idle_.wait_until(lock, timeout.deadline(), idle)) {
    op_pool_.TrimToBound();
    return Status();
  }
  return DeadlineExceededError("local_async still has " + std::to_string(live_ops_.load()) +
                               " operations pending");
}

void AsyncScheduler::Shutdown() {
  // Ops still waiting will never run if nobody signals their waits: cancel
  // their timepoints in every semaphore ops waited on. A cancelled op fails
  // its signal list on a worker. Queueing is over (the device is being
  // destroyed), so tracked_ no longer changes; it is moved out so that no
  // lock is held while callbacks run. A destructor must not need memory:
  // this allocates only the one status message.
  HostVector<std::weak_ptr<Semaphore>> tracked(tracked_.get_allocator());
  {
    std::lock_guard<std::mutex> lock(tracking_mutex_);
    tracked.swap(tracked_);
    last_tracked_.reset();
  }
  if (!tracked.empty()) {
    const Status cancelled =
        CancelledError("the device was destroyed before this operation's waits were reached");
    for (const std::weak_ptr<Semaphore>& weak : tracked) {
      if (SemaphoreRef semaphore = weak.lock()) {
        Impl(*semaphore).CancelTimepointsWhere(&Op::IsWaitOf, this, cancelled);
      }
    }
  }
  WaitIdle(Timeout::Infinite()).IgnoreError();
  workers_.Stop();
}

}  // namespace halio::local_async

namespace halio {

Result<std::unique_ptr<Device>> CreateLocalAsyncDevice(const DeviceOptions& options) {
  using AsyncDevice = CoreDevice<local_async::AsyncScheduler>;
  if (options.host_allocator == nullptr) {
    return InvalidArgumentError("DeviceOptions::host_allocator is null");
  }
  if (options.queue_depth == 0 || options.chunk_size == 0) {
    return InvalidArgumentError("local_async needs queue_depth >= 1 and chunk_size >= 1");
  }
  uint32_t workers = options.worker_count;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  HALIO_ASSIGN_OR_RETURN(AsyncDevice * raw,
                         HostNew<AsyncDevice>(*options.host_allocator, "the local_async device",
                                              "local_async", *options.host_allocator, options));
  std::unique_ptr<AsyncDevice> device(raw);
  // On failure the destructor joins only the workers that started.
  HALIO_RETURN_IF_ERROR(device->scheduler().StartWorkers(workers));
  return std::unique_ptr<Device>(std::move(device));
}

}  // namespace halio
