// A local_async operation's lifecycle. Internal.
//
//   CaptureLists -> Start (one timepoint per wait point) -> ready (the last
//   wait resolved: AsyncScheduler::BecomeReady queues it) -> Execute on a
//   worker or an engine thread -> Finish (signal or fail the signal list,
//   resolve the chained successor, delete the op, tell the scheduler).
//
// An op whose only wait is exactly the point the op queued just before it
// signals is chained: AttachTo links it to that op instead of adding a
// timepoint, and that op resolves it when it finishes (see AttachTo).
//
// Op is the base; BodyOp runs a common body (op_bodies.h), UpdateOp carries
// an update's bytes, FileOp (file_op.h) splits reads and writes into chunks.
//
// Ownership: an op is allocated from the device's OpPool and deletes itself
// in Finish(). It retains its semaphores (and, in subclasses, the
// buffers and files it uses) until then. Its block may outlive it: the
// scheduler holds the block of the op it queued last (OpPool::Hold), so
// that the next op can try to attach to it.
// Thread-safety: the wait callbacks may run on any thread; Execute runs once.
#ifndef HALIO_SRC_DRIVERS_LOCAL_ASYNC_OP_H_
#define HALIO_SRC_DRIVERS_LOCAL_ASYNC_OP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <span>

#include "halio/hal/semaphore.h"
#include "semaphore_impl.h"
#include "halio/hal/transfer.h"
#include "host_new.h"
#include "small_array.h"
#include "common/op_bodies.h"
#include "local_async/worker_pool.h"

namespace halio::local_async {

class AsyncScheduler;

// True while this thread may start ops that only submit I/O itself
// (BecomeReady) instead of handing them to a worker: an I/O engine thread
// running a completion of a local_async op (a chain of reads then pays no
// hop to a worker and back per read), and a queue call whose op is ready at
// once (a request then reaches the engine without waking a worker, as fio's
// submission does). Submitting never blocks, so neither thread is held up.
bool MayStartIoHere();
// Marks the current thread as one that may, for its lifetime.
class IoStartScope {
 public:
  IoStartScope();
  ~IoStartScope();
  IoStartScope(const IoStartScope&) = delete;
  IoStartScope& operator=(const IoStartScope&) = delete;

 private:
  bool could_before_;
};

// Recycles op blocks, per size class from 256 B to 64 KiB, so a
// steady stream of ops allocates nothing after warm-up (and an op freed on a
// worker does not go back through malloc's arena lock). Larger ops go to the
// host.
//
// Bound: every freed block is kept, and TrimToBound (called when WaitIdle
// finds the device idle, and so on its destruction) gives each class's
// excess over ~1 MiB (at least 16 blocks) back to the host. So the pool
// never holds more than the most ops that were in flight at once since the
// last WaitIdle: a submitter that runs ahead of the workers (a million
// queued ops) reuses what finished instead of allocating fresh memory each
// time a burst of frees overflowed a fixed bound (with a fixed 1 MiB bound,
// 0.8-0.9 of a pipelined op's blocks came from the host).
//
// Ownership: the pool owns the blocks it caches and frees them in its
// destructor; every block handed out must have been freed by then.
// Thread-safety: Allocate and Free may be called from any thread. Free is a
// lock-free push (on the device's workers, of a batch of kFreeBatch blocks:
// BatchFreesOnThisThread); Allocate takes a mutex that only allocating
// threads use, and refills from the freed blocks with one exchange, so the
// stack is never popped one node at a time (no ABA).
class OpPool {
 public:
  explicit OpPool(HostAllocator& host) : host_(host) {}
  ~OpPool();
  OpPool(const OpPool&) = delete;
  OpPool& operator=(const OpPool&) = delete;

  // `bytes` aligned to max_align_t, or null when the host has no memory.
  // The block starts with one hold (its object's).
  void* Allocate(std::size_t bytes) noexcept;
  // Drops a hold on a block from Allocate; the last one returns the block to
  // the pool it came from.
  static void Free(void* object) noexcept;
  // Adds a hold, so that the block outlives its object's destructor: the
  // scheduler holds the op it queued last, to link the next op to it
  // (AsyncScheduler::Start). Only before other threads can see the block.
  static void Hold(void* object) noexcept { HeaderOf(object)->holds.fetch_add(1); }
  // A word in the block's header that outlives its object like the block:
  // an op's successor link (Op::AttachTo).
  static std::atomic<void*>& Link(void* object) noexcept { return HeaderOf(object)->link; }
  // Gives the blocks above each class's bound back to the host. Cheap (a
  // lock and two reads per class) when no class is over it.
  void TrimToBound() noexcept;

  // Worker threads free the ops the submitting thread allocates: one block
  // per op would cross between the cores through the freed list's line. A
  // thread that called BatchFreesOnThisThread(pool) keeps that pool's freed
  // blocks in a thread-local batch and pushes them kFreeBatch at a time;
  // FlushThisThread pushes what it holds (a worker calls it before it
  // sleeps and before it exits, so no block is held by an idle thread and
  // every block is back before the pool, which outlives its workers, goes).
  static void BatchFreesOnThisThread(OpPool* pool) noexcept;
  static void FlushThisThread() noexcept;

 private:
  struct alignas(std::max_align_t) Header {
    Header(OpPool* owner, std::size_t block_bytes, int block_class)
        : pool(owner), bytes(block_bytes), size_class(block_class) {}
    OpPool* pool;
    std::size_t bytes;  // the block's size, header included
    int size_class;     // kNoClass for blocks that bypass the cache
    std::atomic<uint32_t> holds{1};
    std::atomic<void*> link{nullptr};
  };
  static Header* HeaderOf(void* object) { return static_cast<Header*>(object) - 1; }
  struct FreeBlock {
    FreeBlock* next;
  };
  struct FreeBatch {
    OpPool* pool = nullptr;  // the pool this thread batches for
    int size_class = kNoClass;
    FreeBlock* head = nullptr;
    FreeBlock* tail = nullptr;
    uint32_t count = 0;
  };
  static constexpr uint32_t kFreeBatch = 32;
  static thread_local FreeBatch t_batch_;
  // Pushes the list head..tail of `count` blocks to the class's freed list.
  void PushFreed(int size_class, FreeBlock* head, FreeBlock* tail, uint32_t count) noexcept;
  // Blocks cached = released - removed (modulo 2^32). Two counters, one on
  // each side's cache line, so that taking a cached block does not write the
  // line the freeing threads push to (each op would move it between cores).
  struct SizeClass {
    std::atomic<FreeBlock*> freed{nullptr};  // pushed by Free
    std::atomic<uint32_t> released{0};       // blocks ever pushed to freed
    // Keeps what allocating threads touch off the freeing threads' cache
    // line (padding, not alignas: the device is only max_align_t aligned).
    char separation[64];
    std::mutex mutex;             // guards cached and removed
    FreeBlock* cached = nullptr;  // refilled from freed
    uint32_t removed = 0;         // blocks ever taken or trimmed
  };
  // 256, 384, 512, 768, ... 64 KiB: steps of 1.5x and 1.33x, so a block
  // wastes at most a third of itself (an update's payload makes ops of any
  // size).
  static constexpr int kClasses = 17;
  static constexpr int kNoClass = -1;
  static int ClassOf(std::size_t bytes);
  static std::size_t ClassBytes(int size_class) {
    return std::size_t{size_class % 2 == 0 ? 256u : 384u} << (size_class / 2);
  }
  static uint32_t MaxCached(int size_class);
  FreeBlock* TakeCached(SizeClass& size_class);
  void Release(Header* header) noexcept;

  HostAllocator& host_;
  SizeClass classes_[kClasses];
};

// A queued operation. Subclasses implement Execute(), which must end with
// exactly one call to Finish() (possibly later, from an engine thread).
class Op {
 public:
  // `new (pool, trailing) T(...)`: from the device's OpPool, with `trailing`
  // payload bytes right after the object; null (no constructor run) when out
  // of memory.
  static void* operator new(std::size_t size, OpPool& pool, std::size_t trailing) noexcept {
    if (trailing > static_cast<std::size_t>(-1) / 2) return nullptr;
    return pool.Allocate(size + trailing);
  }
  static void operator delete(void* object, OpPool&, std::size_t) noexcept {
    OpPool::Free(object);
  }
  static void operator delete(void* object) noexcept { OpPool::Free(object); }

  explicit Op(AsyncScheduler* device) : device_(device) {
    task_.run = &Op::RunTask;
    task_.owner = this;
  }
  virtual ~Op() = default;

  // Copies and retains the lists. With `chain` (the scheduler found that
  // the only wait is the point the op queued before this one signals), that
  // wait is not registered on the semaphore: the op is to be attached to
  // its predecessor (AttachTo). Errors: RESOURCE_EXHAUSTED for lists too
  // long to keep inline without memory, INVALID_ARGUMENT for a semaphore not
  // created by Semaphore::Create.
  Status CaptureLists(SemaphoreList wait, SemaphoreList signal, bool chain);
  // Chaining. A pipelined stream of ops on one timeline (op i waits for the
  // value op i - 1 signals) would otherwise have the submitting thread add a
  // timepoint under the semaphore's lock while a worker signals it, and
  // retain the semaphore while a worker releases it: every op would move
  // those cache lines between the cores. A chained op instead waits for its
  // predecessor to finish: the predecessor, after signalling, hands it its
  // reference to the semaphore and resolves the wait (HandOffSuccessor).
  //
  // Links this op (captured with `chain`) after `predecessor`, which must be
  // held (OpPool::Hold). False when the predecessor has already finished.
  bool AttachTo(Op* predecessor);
  // For an op captured with `chain` whose AttachTo failed: registers the
  // wait on the semaphore after all, like any other wait (an error of that
  // fails the op's signal list).
  void WaitUnchained();
  // Registers the wait timepoints; the op becomes ready when all are reached
  // (and its predecessor, when attached, has finished).
  void Start();
  // True when `timepoint` is a wait of an op queued on `device` (an
  // AsyncScheduler): shutdown cancels those (SemaphoreImpl::
  // CancelTimepointsWhere). Called under the semaphore's lock, while the
  // timepoint is linked, so its op is alive.
  static bool IsWaitOf(const SemaphoreTimepoint* timepoint, const void* device);
  // Signals (or fails) the signal list, then deletes the op.
  void Finish(Status status);

  // True once `op` has signalled (or failed) its list and handed off its
  // successor. Only for an op that is held (OpPool::Hold): its block
  // outlives it, so this reads the block's header, never the object, which
  // may be destroyed already (hence static, not a member call).
  static bool Finished(const Op* op) {
    return OpPool::Link(const_cast<Op*>(op)).load(std::memory_order_acquire) == ClosedLink();
  }
  Task* task() { return &task_; }
  // The device's allocator, for what the op allocates.
  HostAllocator& host() const;
  // Runs the op now on the calling thread (it is ready).
  void RunNow() { RunTask(&task_); }
  // True when Execute only submits I/O to an engine (it never blocks or
  // copies on the calling thread), so it may run on an engine thread.
  virtual bool SubmitsIoOnly() const { return false; }

 protected:
  virtual void Execute() = 0;
  AsyncScheduler* device_;  // the scheduler of the device that queued the op

 private:
  struct WaitPoint {
    SemaphoreRef semaphore;
    SemaphoreTimepoint timepoint;
    Op* op = nullptr;
  };
  bool IsWaitedOn(const Semaphore* semaphore);
  static void RunTask(Task* task);
  static void OnWaitResolved(void* user_data, Status status);
  void ResolveOne(Status status);
  // After signalling: resolves the chained successor, if one attached.
  void HandOffSuccessor();
  // Moves out this op's reference to `semaphore` (one it signalled).
  SemaphoreRef TakeRefTo(const Semaphore* semaphore);

  Task task_;
  // 1 + unresolved wait points; the op is ready when it drops to 0.
  std::atomic<int> pending_{1};
  // Almost every op waits on and signals one or two semaphores: inline.
  SmallArray<WaitPoint, 2> waits_;
  SmallArray<SemaphoreRef, 2> signal_refs_;  // null where a wait holds it
  SmallArray<SemaphorePoint, 2> signals_;
  // The semaphore of a chained wait (not in waits_), and the reference to it
  // the predecessor hands over (or WaitUnchained takes).
  Semaphore* chained_on_ = nullptr;
  uint64_t chained_target_ = 0;
  SemaphoreRef chained_ref_;
  // Link (OpPool::Link) of an op that finished: nothing may attach after it.
  static inline char closed_link_tag_ = 0;
  static void* ClosedLink() { return &closed_link_tag_; }
  // Set (release) after wait_failure_ is, so RunTask locks only on failure.
  std::atomic<bool> wait_failed_{false};
  std::mutex failure_mutex_;
  Status wait_failure_;
};

// Runs an owned body (op_bodies.h) on a worker: the memory ops, barriers,
// dispatch and execute.
template <typename Body>
class BodyOp final : public Op {
 public:
  BodyOp(AsyncScheduler* device, Body body) : Op(device), body_(std::move(body)) {}
  void Execute() override { Finish(body_.Run()); }

 private:
  Body body_;
};

// queue_update: the captured bytes live right after the op, in the same
// block from the device's OpPool (`new (pool, trailing)`), so an update costs
// at most one allocation.
class UpdateOp final : public Op {
 public:
  UpdateOp(AsyncScheduler* device, const UpdateBody& body)
      : Op(device), target_(body.target), target_offset_(body.target_offset),
        length_(body.source.size()) {
    if (length_ > 0) std::memcpy(payload(), body.source.data(), length_);
  }
  void Execute() override {
    Finish(UpdateBody{{payload(), length_}, target_, target_offset_}.Run());
  }

 private:
  std::byte* payload() { return reinterpret_cast<std::byte*>(this + 1); }

  const BufferRef target_;
  const uint64_t target_offset_;
  const size_t length_;
};

}  // namespace halio::local_async

#endif  // HALIO_SRC_DRIVERS_LOCAL_ASYNC_OP_H_
