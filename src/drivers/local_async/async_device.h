// local_async's scheduler: queue calls (CoreDevice, common/core_device.h)
// validate, then Schedule packages the op and returns; the op runs once its
// wait list is reached, on a worker (memory ops, and chunks of files without
// an async handle) or through the file's async engine (read/write). Internal.
//
// Scheduling costs O(1) per op however many ops are pending: each wait point
// is an intrusive timepoint in its semaphore's sorted list (appended at the
// tail for increasing targets), and a signal touches only the timepoints it
// satisfies. An op that waits for exactly what the op queued before it
// signals skips the semaphore: it is chained to that op (Op::AttachTo), so
// a pipelined timeline costs no semaphore lock and no reference count on
// the submitting thread. Ops never complete inline in another op's signal:
// ready ops go to the worker queue (a worker's first one to its own next
// slot), so long chains cannot recurse.
//
// Where the rest lives: op.h (an op's lifecycle), worker_pool.h (threads and
// ready queue), file_op.h (chunked reads and writes).
//
// Ownership: the scheduler counts every op from Schedule to Finish; its
// destructor aborts reads of remote files in flight (cancel_token(): their
// ops fail CANCELLED, naming the URL and range), cancels ops whose waits
// were never reached, waits for the rest and joins the workers. To find those ops it remembers (weakly) every
// semaphore its ops waited on, not the ops: so a worker finishing an op
// touches no list and no lock the submitting thread holds.
// Thread-safety: every method may be called from any thread.
#ifndef HALIO_SRC_DRIVERS_LOCAL_ASYNC_ASYNC_DEVICE_H_
#define HALIO_SRC_DRIVERS_LOCAL_ASYNC_ASYNC_DEVICE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "halio/drivers.h"
#include "cancel_token.h"
#include "common/op_bodies.h"
#include "local_async/op.h"
#include "local_async/worker_pool.h"

namespace halio::local_async {

class AsyncScheduler {
 public:
  AsyncScheduler(BufferAllocator& allocator, const DeviceOptions& options);
  ~AsyncScheduler() { Shutdown(); }
  AsyncScheduler(const AsyncScheduler&) = delete;
  AsyncScheduler& operator=(const AsyncScheduler&) = delete;

  // Errors: RESOURCE_EXHAUSTED naming the worker that did not start (the
  // ones started stay until the destructor joins them).
  Status StartWorkers(uint32_t count) { return workers_.Start(count); }

  HostAllocator& host() const { return allocator_.host_allocator(); }
  uint32_t queue_depth() const { return queue_depth_; }
  uint64_t chunk_size() const { return chunk_size_; }
  // Op bodies that block a worker on something outside halio run under it
  // (CancelScope, file_op.cc): Shutdown cancels it, so they end at once.
  CancelToken& cancel_token() { return cancel_; }

  // Queues `body` (a view, copied here into an owned op). Returns OK once the
  // op is queued; its own errors fail the signal list. Errors of queuing:
  // RESOURCE_EXHAUSTED, INVALID_ARGUMENT (Op::CaptureLists).
  template <typename Body>
  Status Schedule(SemaphoreList wait, SemaphoreList signal, const Body& body) {
    return Launch<BodyOp<decltype(body.Own())>>(Body::kName, 0, wait, signal, body.Own());
  }
  Status Schedule(SemaphoreList wait, SemaphoreList signal, const UpdateBody& body);
  Status Schedule(SemaphoreList wait, SemaphoreList signal, const ReadBody& body);
  Status Schedule(SemaphoreList wait, SemaphoreList signal, const WriteBody& body);
  Status Schedule(SemaphoreList wait, SemaphoreList signal, const DispatchBody& body);
  Status WaitIdle(Timeout timeout);

  // Op lifecycle hooks (op.h, file_op.h).
  // Remembers `semaphore` for shutdown's cancellation. Called on queueing
  // for each wait (the Locked form under tracking_mutex_, which Start holds
  // while it captures an op's lists). Errors: RESOURCE_EXHAUSTED.
  Status TrackWaitSemaphore(const SemaphoreRef& semaphore);
  Status TrackWaitSemaphoreLocked(const SemaphoreRef& semaphore);
  void BecomeReady(Op* op);  // queues the op (or runs it, see .cc)
  void Enqueue(Task* task) { workers_.Enqueue(task); }
  void OpFinished();

 private:
  // Allocates an OpType with `trailing` payload bytes and starts it. `name`
  // names the queue call in errors ("queue_fill"); a literal, so the fast
  // path builds no string.
  template <typename OpType, typename... Args>
  Status Launch(const char* name, size_t trailing, SemaphoreList wait, SemaphoreList signal,
                Args&&... args) {
    std::unique_lock<std::mutex> lock(tracking_mutex_);
    Op* predecessor = ChainPredecessorLocked(wait);
    return LaunchLocked<OpType>(name, trailing, wait, signal, std::move(lock), predecessor,
                                std::forward<Args>(args)...);
  }
  // Launch, for a caller that holds tracking_mutex_ (`lock`) and has found
  // the predecessor: one hold of the lock for its check and the queueing.
  template <typename OpType, typename... Args>
  Status LaunchLocked(const char* name, size_t trailing, SemaphoreList wait,
                      SemaphoreList signal, std::unique_lock<std::mutex> lock,
                      Op* predecessor, Args&&... args) {
    OpType* op = nullptr;
    try {
      op = new (op_pool_, trailing) OpType(this, std::forward<Args>(args)...);
    } catch (const std::bad_alloc&) {
    }
    if (op == nullptr) return OutOfMemoryFor(name);
    return StartLocked(op, wait, signal, std::move(lock), predecessor);
  }
  static Status OutOfMemoryFor(const char* name);
  // True when every point of `wait` is reached (none failed). `predecessor`
  // (ChainPredecessorLocked's) unfinished means not: `wait` is what it
  // signals. Under tracking_mutex_.
  static bool ReachedLocked(SemaphoreList wait, Op* predecessor);
  // Ends an op run by the queue call: signals, or fails the list with
  // `status`; returns OK either way, as a queued op's call does.
  static Status EndInline(SemaphoreList signal, Status status);
  // A read copied now from the page cache: its status, or nullopt when it
  // must go the op's way (not all cached, not a cache-first read).
  static std::optional<Status> ReadCachedNow(FdFile& file, const ReadBody& body);
  // Captures the lists and starts `op` (deleted on failure), attached to
  // `predecessor` (ChainPredecessorLocked's, found under `lock`, which it
  // releases) when it waits for exactly what that one signals
  // (Op::AttachTo explains why).
  Status StartLocked(Op* op, SemaphoreList wait, SemaphoreList signal,
                     std::unique_lock<std::mutex> lock, Op* predecessor);
  // The op `wait` can be chained to, or null.
  Op* ChainPredecessorLocked(SemaphoreList wait) const;
  // Drops expired and repeated entries of tracked_; grows the bound when
  // most entries are live.
  void CompactTrackedLocked();
  void Shutdown();
  // Queued minus finished.
  uint64_t PendingOps() const;

  BufferAllocator& allocator_;
  const uint32_t queue_depth_;
  const uint64_t chunk_size_;

  // Cancelled first thing in Shutdown: reads that block a worker on
  // something outside halio (remote files) abort what they sent.
  CancelToken cancel_;
  std::mutex mutex_;  // idle_ waits on it
  std::condition_variable idle_;
  // Every semaphore an op queued here waited on (duplicates and expired
  // entries are dropped when the vector reaches tracked_bound_). Only
  // queueing threads and Shutdown take tracking_mutex_; the workers never do.
  std::mutex tracking_mutex_;
  HostVector<std::weak_ptr<Semaphore>> tracked_;
  size_t tracked_bound_ = 64;
  // The last semaphore added, so a stream of ops on one timeline appends
  // nothing. Compared by owner (control block): this weak reference keeps
  // the control block alive, so another semaphore cannot reuse its address.
  std::weak_ptr<Semaphore> last_tracked_;
  // The op queued last when it has one signal, held (OpPool::Hold), and
  // that signal: the next op may chain to it. Guarded by tracking_mutex_.
  Op* last_op_ = nullptr;
  SemaphorePoint last_signal_{};
  // Ops queued and ops finished: the device is idle when they are equal.
  // Two counters, not one of live ops, so that the submitting thread and
  // the workers do not write one cache line for every op; each on its own
  // line (padding: the device is only max_align_t aligned). Queued changes
  // under tracking_mutex_; finished on workers without a lock (OpFinished).
  std::atomic<uint64_t> queued_ops_{0};
  char queued_separation_[64];
  std::atomic<uint64_t> finished_ops_{0};
  char finished_separation_[64];
  // Threads in WaitIdle: OpFinished takes the lock to wake them only when
  // there are some.
  std::atomic<uint32_t> idle_waiters_{0};
  OpPool op_pool_;  // before workers_: ops finish (and free) on the workers
  WorkerPool workers_;
};

// A device named `id` on this scheduler whose allocator puts kDeviceLocal
// buffers in `memory` (null: host memory, as local_async). For the discrete
// devices (local_discrete, cuda). Errors: as CreateLocalAsyncDevice.
Result<std::unique_ptr<Device>> CreateDeviceWithMemory(std::string_view id,
                                                       const DeviceOptions& options,
                                                       std::shared_ptr<DeviceMemory> memory);

}  // namespace halio::local_async

#endif  // HALIO_SRC_DRIVERS_LOCAL_ASYNC_ASYNC_DEVICE_H_
