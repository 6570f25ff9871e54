#include "local_async/async_device.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include "host_new.h"
#include "common/core_device.h"
#include "local_async/file_op.h"
#include "device_memory.h"

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
      workers_(allocator.host_allocator(),
               WorkerHooks{
                   [](void* pool) { OpPool::BatchFreesOnThisThread(static_cast<OpPool*>(pool)); },
                   [](void*) { OpPool::FlushThisThread(); }, &op_pool_}) {}

Status AsyncScheduler::OutOfMemoryFor(const char* name) {
  return ResourceExhaustedError("out of host memory for " + std::string(name) +
                                " on local_async");
}

Status AsyncScheduler::StartLocked(Op* op, SemaphoreList wait, SemaphoreList signal,
                                   std::unique_lock<std::mutex> lock, Op* predecessor) {
  Status status = op->CaptureLists(wait, signal, predecessor != nullptr);
  if (!status.ok()) {
    lock.unlock();
    delete op;
    return status;
  }
  // Counted before the op can run (attached, its predecessor may finish it
  // at once). Relaxed: the op's own finish happens after this through its
  // wait chain; WaitIdle and OpFinished order the rest.
  queued_ops_.fetch_add(1, std::memory_order_relaxed);
  // The op queued last stays held (its block outlives it) until the next
  // one has tried to attach to it.
  Op* previous = std::exchange(last_op_, nullptr);
  if (signal.size() == 1) {
    OpPool::Hold(op);
    last_op_ = op;
    last_signal_ = signal[0];
  }
  const bool attached = predecessor != nullptr && op->AttachTo(predecessor);
  lock.unlock();
  if (previous != nullptr) OpPool::Free(previous);
  if (predecessor != nullptr && !attached) op->WaitUnchained();
  IoStartScope queue_call;
  op->Start();
  return Status();
}

Op* AsyncScheduler::ChainPredecessorLocked(SemaphoreList wait) const {
  // Exactly the point the last op signals: a wait for a lower value may be
  // reached already, and should not be held back until that op finishes.
  if (last_op_ == nullptr || wait.size() != 1) return nullptr;
  const bool same = wait[0].semaphore == last_signal_.semaphore &&
                    wait[0].value == last_signal_.value;
  return same ? last_op_ : nullptr;
}

Status AsyncScheduler::TrackWaitSemaphore(const SemaphoreRef& semaphore) {
  std::lock_guard<std::mutex> lock(tracking_mutex_);
  return TrackWaitSemaphoreLocked(semaphore);
}

Status AsyncScheduler::TrackWaitSemaphoreLocked(const SemaphoreRef& semaphore) {
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
  // An update must copy the caller's bytes before returning anyway (the
  // caller may reuse `source` at once). When its waits are already reached,
  // copying them straight into the target instead costs this thread no more,
  // and saves the op, the worker's second copy and the bytes' trip to
  // another core. Not for device memory: that copy goes through the copy
  // engine, which this thread must not wait for.
  //
  // A wait for exactly what the op queued last signals, while that op has
  // not finished (it closes its link after signalling), is not reached:
  // asking the op, not the semaphore, keeps a stream of updates queued
  // behind running ops from reading the semaphore's line while a worker
  // writes it. One hold of the lock covers the check and the queueing.
  std::unique_lock<std::mutex> lock(tracking_mutex_);
  Op* predecessor = ChainPredecessorLocked(wait);
  if (body.target->host_visible() && ReachedLocked(wait, predecessor)) {
    lock.unlock();
    return EndInline(signal, body.Run());
  }
  return LaunchLocked<UpdateOp>(UpdateBody::kName, body.source.size(), wait, signal,
                                std::move(lock), predecessor, body);
}

bool AsyncScheduler::ReachedLocked(SemaphoreList wait, Op* predecessor) {
  if (predecessor != nullptr && !Op::Finished(predecessor)) return false;
  for (const SemaphorePoint& point : wait) {
    Result<uint64_t> value = point.semaphore->Query();
    if (!value.ok() || *value < point.value) return false;  // a failure: the op path reports it
  }
  return true;
}

Status AsyncScheduler::EndInline(SemaphoreList signal, Status status) {
  // As a worker ends an op (Op::Finish): an error fails the signal list and
  // the call still returns OK, so what a caller sees does not depend on
  // whether the waits happened to be reached.
  if (status.ok()) [[likely]] status = SignalSemaphores(signal);
  if (!status.ok()) [[unlikely]] FailSemaphores(signal, status);
  return Status();
}

Status AsyncScheduler::Schedule(SemaphoreList wait, SemaphoreList signal,
                                const ReadBody& body) {
  // A small read whose waits are reached and whose bytes the page cache
  // holds is copied by the call itself, as a started op would copy it here
  // anyway (FileOp::SubmitSlot): without the op, a stream of hot reads costs
  // what local_sync's does. Anything else (not cached, not an fd file,
  // device memory, O_DIRECT) goes the op's way.
  // Behind an unfinished op (a pipelined stream) the read is queued under
  // the same hold of the lock that found it so.
  FdFile* fd_file = FdTransfer::Of(*body.file);
  if (fd_file != nullptr && body.length <= FileOp::kInlineCachedReadBytes &&
      body.buffer->host_visible()) {
    std::unique_lock<std::mutex> lock(tracking_mutex_);
    Op* predecessor = ChainPredecessorLocked(wait);
    if (!ReachedLocked(wait, predecessor)) {
      return LaunchLocked<FileOp>(ReadBody::kName, 0, wait, signal, std::move(lock),
                                  predecessor, IoOp::kRead, body.file, body.file_offset,
                                  body.buffer, body.buffer_offset, body.length);
    }
    lock.unlock();
    if (std::optional<Status> done = ReadCachedNow(*fd_file, body)) {
      return EndInline(signal, *std::move(done));
    }
  }
  return Launch<FileOp>(ReadBody::kName, 0, wait, signal, IoOp::kRead, body.file,
                        body.file_offset, body.buffer, body.buffer_offset, body.length);
}

std::optional<Status> AsyncScheduler::ReadCachedNow(FdFile& file, const ReadBody& body) {
  auto mapped = body.buffer->MapUnretained(MemoryAccess::kWrite, body.buffer_offset, body.length);
  if (!mapped.ok()) return std::nullopt;  // the op path reports it
  Result<bool> copied = FdTransfer::ReadIfCached(file, body.file_offset, *mapped);
  if (!copied.ok()) return copied.status();
  if (!*copied) return std::nullopt;
  return Status();
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
  // An op that only submits I/O starts it on the engine thread whose
  // completion made it ready, or in the queue call that made it (MayStartIoHere).
  const bool run_here = MayStartIoHere() && op->SubmitsIoOnly();
  // The op is live until it runs, so the device outlives this call.
  if (run_here) {
    op->RunNow();
  } else {
    workers_.Enqueue(op->task());
  }
}

void AsyncScheduler::OpFinished() {
  // On a worker the count takes no lock and, unless WaitIdle sleeps, wakes
  // nobody: the finished count's line stays with the workers, and the
  // waiters count is only read. The destructor joins the workers before the
  // device's memory goes, so a worker may still be here when WaitIdle has
  // seen the device idle. Other threads (an engine's completion) are not
  // joined: they count under the lock, so WaitIdle can only see the device
  // idle once such a thread is done with it.
  if (workers_.OnWorkerThread()) {
    // seq_cst on both sides (here and in WaitIdle): either the waiter sees
    // this op counted or this thread sees the waiter.
    finished_ops_.fetch_add(1, std::memory_order_seq_cst);
    if (idle_waiters_.load(std::memory_order_seq_cst) == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.notify_all();
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  finished_ops_.fetch_add(1, std::memory_order_seq_cst);
  if (idle_waiters_.load(std::memory_order_seq_cst) != 0) idle_.notify_all();
}

uint64_t AsyncScheduler::PendingOps() const {
  const uint64_t finished = finished_ops_.load(std::memory_order_seq_cst);
  return queued_ops_.load(std::memory_order_seq_cst) - finished;
}

Status AsyncScheduler::WaitIdle(Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_waiters_.fetch_add(1, std::memory_order_seq_cst);
  auto idle = [&] { return PendingOps() == 0; };
  // Idle: the op blocks a burst left cached go back to the host (OpPool's
  // bound). Not on every return to idle: a worker that catches up with the
  // submitting thread makes the device idle often within one burst.
  bool reached = true;
  if (timeout.infinite()) {
    idle_.wait(lock, idle);
  } else {
    reached = idle_.wait_until(lock, timeout.deadline(), idle);
  }
  idle_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  if (reached) {
    op_pool_.TrimToBound();
    return Status();
  }
  return DeadlineExceededError("local_async still has " + std::to_string(PendingOps()) +
                               " operations pending");
}

void AsyncScheduler::Shutdown() {
  // Reads of remote files running on the workers abort the requests they
  // sent (the server may take up to their deadline), and reads that start
  // from here on fail at once; staged transfers of device memory still
  // running stop at their next chunk. All with CANCELLED, instead of holding
  // up the destruction.
  cancel_.Cancel("the device was destroyed while the read ran");
  if (const std::shared_ptr<DeviceMemory>& memory = allocator_.device_memory()) {
    memory->Cancel();
  }
  // Ops still waiting will never run if nobody signals their waits: cancel
  // their timepoints in every semaphore ops waited on. A cancelled op fails
  // its signal list on a worker. Queueing is over (the device is being
  // destroyed), so tracked_ no longer changes; it is moved out so that no
  // lock is held while callbacks run. A destructor must not need memory:
  // this allocates only the one status message.
  HostVector<std::weak_ptr<Semaphore>> tracked(tracked_.get_allocator());
  Op* last_op;
  {
    std::lock_guard<std::mutex> lock(tracking_mutex_);
    tracked.swap(tracked_);
    last_tracked_.reset();
    last_op = std::exchange(last_op_, nullptr);
  }
  // The hold on the op queued last (Start); its block goes back to the pool
  // when the op is done too.
  if (last_op != nullptr) OpPool::Free(last_op);
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

Result<std::unique_ptr<Device>> local_async::CreateDeviceWithMemory(
    std::string_view id, const DeviceOptions& options, std::shared_ptr<DeviceMemory> memory) {
  using AsyncDevice = CoreDevice<local_async::AsyncScheduler>;
  if (options.host_allocator == nullptr) {
    return InvalidArgumentError("DeviceOptions::host_allocator is null");
  }
  if (options.queue_depth == 0 || options.chunk_size == 0) {
    return InvalidArgumentError(std::string(id) +
                                " needs queue_depth >= 1 and chunk_size >= 1");
  }
  uint32_t workers = options.worker_count;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  HostAllocator& host = *options.host_allocator;
  const std::string what = "the " + std::string(id) + " device";
  HALIO_ASSIGN_OR_RETURN(AsyncDevice * raw,
                         HostNew<AsyncDevice>(host, what, id,
                                              BufferAllocator(host, std::move(memory)),
                                              options));
  std::unique_ptr<AsyncDevice> device(raw);
  // On failure the destructor joins only the workers that started.
  HALIO_RETURN_IF_ERROR(device->scheduler().StartWorkers(workers));
  return std::unique_ptr<Device>(std::move(device));
}

Result<std::unique_ptr<Device>> CreateLocalAsyncDevice(const DeviceOptions& options) {
  return local_async::CreateDeviceWithMemory("local_async", options, nullptr);
}

}  // namespace halio
