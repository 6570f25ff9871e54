// local_async: queue calls validate, package the op and return; the op runs
// once its wait list is reached, on a worker (memory ops, and chunks of files
// without an async handle) or through the file's async engine (read/write).
//
// Scheduling costs O(1) per op however many ops are pending: each wait point
// is an intrusive timepoint in its semaphore's sorted list (appended at the
// tail for increasing targets), and a signal touches only the timepoints it
// satisfies. Ops never complete inline in another op's signal: ready ops go
// to the worker queue, so long chains cannot recurse.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "halio/drivers.h"
#include "fd_io.h"
#include "async_io.h"
#include "buffer_internals.h"
#include "host_new.h"
#include "small_array.h"
#include "queue_validation.h"
#include "fd_transfer.h"
#include "semaphore_impl.h"
#include "transfer_validated.h"

namespace halio {
namespace {

class AsyncDevice;

// True while an I/O engine thread runs a completion for this device.
thread_local bool t_in_io_completion = false;

// A unit of work for the device's workers. Intrusive: queueing allocates
// nothing.
struct Task {
  void (*run)(Task* task) = nullptr;
  void* owner = nullptr;  // the Op or chunk slot this task belongs to
  Task* next = nullptr;
};

// A queued operation. Subclasses implement Execute(), which must end with
// exactly one call to Finish() (possibly later, from an engine thread).
// Allocated from the device's HostAllocator.
class Op : public HostAllocated {
 public:
  explicit Op(AsyncDevice* device) : device_(device) {
    task_.run = &Op::RunTask;
    task_.owner = this;
  }
  virtual ~Op() = default;

  // Copies and retains the lists. Errors: INVALID_ARGUMENT for a semaphore
  // not created by Semaphore::Create.
  Status CaptureLists(SemaphoreList wait, SemaphoreList signal);
  // Registers the wait timepoints; the op becomes ready when all are reached.
  void Start();
  // Cancels wait timepoints still pending (device shutdown).
  void CancelWaits();
  // Takes a guard count unless the op is already on its way to the queue.
  bool TryRetain() {
    int value = pending.load(std::memory_order_acquire);
    while (value > 0 && !pending.compare_exchange_weak(value, value + 1)) {
    }
    return value > 0;
  }
  // Signals (or fails) the signal list, then deletes the op.
  void Finish(Status status);

  Task* task() { return &task_; }
  // The device's allocator, for what the op allocates.
  HostAllocator& host() const;
  // Runs the op now on the calling thread (it is ready).
  void RunNow() { RunTask(&task_); }
  // True when Execute only submits I/O to an engine (it never blocks or
  // copies on the calling thread), so it may run on an engine thread.
  virtual bool SubmitsIoOnly() const { return false; }
  Op* prev_waiting = nullptr;
  Op* next_waiting = nullptr;
  Op* next_cancelled = nullptr;  // shutdown's list of ops to cancel
  // 1 + unresolved wait points; the op is ready when it drops to 0.
  std::atomic<int> pending{1};

 protected:
  virtual void Execute() = 0;
  AsyncDevice* device_;

 private:
  struct WaitPoint {
    SemaphoreRef semaphore;
    SemaphoreTimepoint timepoint;
    Op* op = nullptr;
  };
  static void RunTask(Task* task);
  static void OnWaitResolved(void* user_data, Status status);
  void ResolveOne(Status status);

  Task task_;
  // Almost every op waits on and signals one or two semaphores: inline.
  SmallArray<WaitPoint, 2> waits_;
  SmallArray<SemaphoreRef, 2> signal_refs_;
  SmallArray<SemaphorePoint, 2> signals_;
  std::mutex failure_mutex_;
  Status wait_failure_;
};

// One worker thread, allocated on its own so that failing to start the k-th
// one (no memory, or no thread) leaves exactly k - 1 to join.
struct Worker : public HostAllocated {
  std::thread thread;
};

class AsyncDevice final : public Device, public HostAllocated {
 public:
  explicit AsyncDevice(const DeviceOptions& options)
      : allocator_(*options.host_allocator),
        queue_depth_(options.queue_depth),
        chunk_size_(options.chunk_size),
        workers_(HostAllocatorAdapter<std::unique_ptr<Worker>>(*options.host_allocator)) {}
  ~AsyncDevice() override { Shutdown(); }

  // Starts `count` workers; on failure the ones started stay (the
  // destructor joins them). Errors: RESOURCE_EXHAUSTED naming the worker.
  Status StartWorkers(uint32_t count);

  const std::string& id() const override { return id_; }
  BufferAllocator& allocator() override { return allocator_; }
  HostAllocator& host() const { return allocator_.host_allocator(); }
  uint32_t queue_depth() const { return queue_depth_; }
  uint64_t chunk_size() const { return chunk_size_; }

  Result<BufferRef> QueueAlloca(SemaphoreList wait, SemaphoreList signal,
                                const BufferParams& params, uint64_t byte_length) override;
  Status QueueDealloca(SemaphoreList wait, SemaphoreList signal,
                       const BufferRef& buffer) override;
  Status QueueFill(SemaphoreList wait, SemaphoreList signal, const BufferRef& target,
                   uint64_t offset, uint64_t length, uint32_t pattern,
                   uint32_t pattern_length) override;
  Status QueueUpdate(SemaphoreList wait, SemaphoreList signal,
                     std::span<const std::byte> source, const BufferRef& target,
                     uint64_t target_offset) override;
  Status QueueCopy(SemaphoreList wait, SemaphoreList signal, const BufferRef& source,
                   uint64_t source_offset, const BufferRef& target, uint64_t target_offset,
                   uint64_t length) override;
  Status QueueRead(SemaphoreList wait, SemaphoreList signal, const FileRef& source,
                   uint64_t source_offset, const BufferRef& target, uint64_t target_offset,
                   uint64_t length) override;
  Status QueueWrite(SemaphoreList wait, SemaphoreList signal, const BufferRef& source,
                    uint64_t source_offset, const FileRef& target, uint64_t target_offset,
                    uint64_t length) override;
  Status QueueDispatch(SemaphoreList wait, SemaphoreList signal,
                       const ExecutableRef& executable, uint32_t entry_point,
                       WorkgroupCount workgroup_count,
                       std::span<const uint32_t> push_constants,
                       std::span<const BufferBinding> bindings) override;
  Status QueueExecute(SemaphoreList wait, SemaphoreList signal,
                      const CommandBufferRef& command_buffer) override;
  Status QueueBarrier(SemaphoreList wait, SemaphoreList signal) override;
  Status WaitIdle(Timeout timeout) override;

  // Op lifecycle hooks.
  void AddWaiting(Op* op);
  void BecomeReady(Op* op);  // removes from the waiting list, queues the op
  void Enqueue(Task* task);
  void OpFinished();

 private:
  // `what` names the queue call in errors ("queue_fill on local_async"); a
  // literal, so the fast path builds no string.
  template <typename OpType, typename... Args>
  Status Submit(const char* what, SemaphoreList wait, SemaphoreList signal, Args&&... args);
  // Captures the lists and starts `op` (deleted on failure).
  Status Launch(Op* op, SemaphoreList wait, SemaphoreList signal);
  Status StartWorker(uint32_t index, uint32_t count);
  void WorkerLoop();
  // Appends to the work queue; returns whether an idle worker should wake.
  bool PushLocked(Task* task);
  void Shutdown();

  const std::string id_ = "local_async";
  BufferAllocator allocator_;
  const uint32_t queue_depth_;
  const uint64_t chunk_size_;

  std::mutex mutex_;
  std::condition_variable work_available_;
  std::condition_variable idle_;
  Task* queue_head_ = nullptr;
  Task* queue_tail_ = nullptr;
  Op* waiting_head_ = nullptr;
  // Ops queued and not yet finished. Atomic so finishing an op takes no lock
  // unless it was the last one (then WaitIdle may be sleeping).
  std::atomic<uint64_t> live_ops_{0};
  uint32_t idle_workers_ = 0;
  bool stopping_ = false;
  HostVector<std::unique_ptr<Worker>> workers_;
};

// --- Op ---------------------------------------------------------------------

HostAllocator& Op::host() const { return device_->host(); }

Status Op::CaptureLists(SemaphoreList wait, SemaphoreList signal) {
  HostAllocator& host = this->host();
  if (!waits_.Resize(wait.size(), host) || !signal_refs_.Resize(signal.size(), host) ||
      !signals_.Resize(signal.size(), host)) {
    return ResourceExhaustedError("out of host memory for the semaphore lists (" +
                                  std::to_string(wait.size()) + " waits, " +
                                  std::to_string(signal.size()) +
                                  " signals) of an operation queued on local_async");
  }
  for (size_t i = 0; i < wait.size(); ++i) {
    WaitPoint& waiter = waits_[i];
    waiter.semaphore = wait[i].semaphore->weak_from_this().lock();
    if (!waiter.semaphore) {
      return InvalidArgumentError("wait semaphore was not created by Semaphore::Create");
    }
    waiter.op = this;
    waiter.timepoint.target = wait[i].value;
    waiter.timepoint.callback = &Op::OnWaitResolved;
  }
  for (size_t i = 0; i < signal.size(); ++i) {
    signal_refs_[i] = signal[i].semaphore->weak_from_this().lock();
    if (!signal_refs_[i]) {
      return InvalidArgumentError("signal semaphore was not created by Semaphore::Create");
    }
    signals_[i] = signal[i];
  }
  return Status();
}

void Op::Start() {
  pending.store(static_cast<int>(waits_.size()) + 1, std::memory_order_relaxed);
  device_->AddWaiting(this);
  for (WaitPoint& waiter : waits_) {
    waiter.timepoint.user_data = &waiter;
    Impl(*waiter.semaphore).AddTimepoint(&waiter.timepoint);
  }
  ResolveOne(Status());  // drop the guard count taken above
}

void Op::OnWaitResolved(void* user_data, Status status) {
  static_cast<WaitPoint*>(user_data)->op->ResolveOne(std::move(status));
}

void Op::ResolveOne(Status status) {
  if (!status.ok()) [[unlikely]] {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    if (wait_failure_.ok()) wait_failure_ = std::move(status);
  }
  if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) device_->BecomeReady(this);
}

void Op::CancelWaits() {
  for (WaitPoint& waiter : waits_) {
    if (Impl(*waiter.semaphore).CancelTimepoint(&waiter.timepoint)) {
      ResolveOne(CancelledError("the device was destroyed before this operation's waits "
                                "were reached"));
    }
  }
}

void Op::RunTask(Task* task) {
  Op* op = static_cast<Op*>(task->owner);
  Status failure;
  {
    std::lock_guard<std::mutex> lock(op->failure_mutex_);
    failure = op->wait_failure_;
  }
  if (!failure.ok()) return op->Finish(std::move(failure));
  op->Execute();
}

void Op::Finish(Status status) {
  if (status.ok()) [[likely]] {
    status = SignalSemaphores(signals_.span());
  }
  if (!status.ok()) FailSemaphores(signals_.span(), status);
  AsyncDevice* device = device_;
  delete this;  // releases buffers, files and semaphores before the device counts it done
  device->OpFinished();
}

// --- ops ----------------------------------------------------------------------

// Runs a callable on a worker: the memory ops.
template <typename Body>
class WorkerOp final : public Op {
 public:
  WorkerOp(AsyncDevice* device, Body body) : Op(device), body_(std::move(body)) {}
  void Execute() override { Finish(body_()); }

 private:
  Body body_;
};

// queue_update: the captured bytes live right after the op, in its own
// allocation (HostNewWithTrailing), so an update costs one allocation.
class UpdateOp final : public Op {
 public:
  UpdateOp(AsyncDevice* device, std::span<const std::byte> source, BufferRef target,
           uint64_t target_offset)
      : Op(device), target_(std::move(target)), target_offset_(target_offset),
        length_(source.size()) {
    if (length_ > 0) std::memcpy(payload(), source.data(), length_);
  }
  void Execute() override {
    Finish(UpdateValidated({payload(), length_}, *target_, target_offset_));
  }

 private:
  std::byte* payload() { return reinterpret_cast<std::byte*>(this + 1); }

  const BufferRef target_;
  const uint64_t target_offset_;
  const size_t length_;
};

// A read or write of a file range in chunks, up to queue_depth in flight.
class FileOp final : public Op {
 public:
  FileOp(AsyncDevice* device, IoOp io, FileRef file, uint64_t file_offset, BufferRef buffer,
         uint64_t buffer_offset, uint64_t length)
      : Op(device),
        io_(io),
        file_(std::move(file)),
        file_offset_(file_offset),
        buffer_(std::move(buffer)),
        buffer_offset_(buffer_offset),
        length_(length) {}

  void Execute() override;
  bool SubmitsIoOnly() const override { return FdTransfer::SubmitsIoOnly(*file_); }

 private:
  struct Slot {
    AsyncRequest request;
    Task task;
    FileOp* op;
  };
  static void OnChunkDone(AsyncRequest* request, Status status);
  static void RunSyncChunk(Task* task);
  // Fills `slot` with the next chunk; false when none is left.
  bool NextChunkLocked(Slot* slot);
  void SubmitSlot(Slot* slot);
  void ChunkDone(Slot* slot, Status status);
  // Drops one in-flight count; the last one finishes the op.
  void ReleaseOne();

  const IoOp io_;
  const FileRef file_;
  const uint64_t file_offset_;
  const BufferRef buffer_;
  const uint64_t buffer_offset_;
  const uint64_t length_;
  std::byte* data_ = nullptr;
  FdFile* fd_file_ = nullptr;
  HostVector<Slot> slots_{HostAllocatorAdapter<Slot>(host())};
  std::mutex mutex_;
  uint64_t next_ = 0;      // bytes handed out
  size_t in_flight_ = 0;   // slots submitted and not completed
  Status first_error_;
};

void FileOp::Execute() {
  if (length_ == 0) return Finish(Status());
  // Memory files and files that only do synchronous I/O in one piece when
  // they have a storage buffer; fd files go in chunks.
  if (file_->storage_buffer()) {
    return Finish(io_ == IoOp::kRead
                      ? ReadFileInline(*file_, file_offset_, *buffer_, buffer_offset_, length_)
                      : file_->Write(file_offset_, *buffer_, buffer_offset_, length_));
  }
  fd_file_ = FdTransfer::Of(*file_);
  if (fd_file_ == nullptr) {
    return Finish(io_ == IoOp::kRead
                      ? file_->Read(file_offset_, *buffer_, buffer_offset_, length_)
                      : file_->Write(file_offset_, *buffer_, buffer_offset_, length_));
  }
  auto mapped = buffer_->MapUnretained(
      io_ == IoOp::kRead ? MemoryAccess::kWrite : MemoryAccess::kRead, buffer_offset_, length_);
  if (!mapped.ok()) return Finish(mapped.status());
  data_ = mapped->data();
  const uint64_t chunk = device_->chunk_size();
  const size_t slot_count = static_cast<size_t>(
      std::min<uint64_t>(device_->queue_depth(), (length_ + chunk - 1) / chunk));
  try {
    slots_.resize(slot_count);
  } catch (const std::bad_alloc&) {
    return Finish(ResourceExhaustedError(
        "out of host memory for the " + std::to_string(slot_count) + " request slots of " +
        (io_ == IoOp::kRead ? "reading " : "writing ") + file_->description() + " [" +
        std::to_string(file_offset_) + ", " + std::to_string(file_offset_ + length_) + ")"));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // One count per slot plus a guard, so chunks that finish while the rest
    // are still being submitted cannot finish (and free) the op.
    in_flight_ = slot_count + 1;
    for (Slot& slot : slots_) {
      slot.task.owner = &slot;
      slot.op = this;
      FdTransfer::PrepareRequest(*fd_file_, io_, &slot.request);
      slot.request.completion = &FileOp::OnChunkDone;
      slot.request.user_data = &slot;
      slot.task.run = &FileOp::RunSyncChunk;
      NextChunkLocked(&slot);
    }
  }
  for (Slot& slot : slots_) SubmitSlot(&slot);
  ReleaseOne();
}

bool FileOp::NextChunkLocked(Slot* slot) {
  if (next_ >= length_ || !first_error_.ok()) return false;
  // Chunks end at file offsets that are multiples of the chunk size, so the
  // middle chunks of an O_DIRECT transfer stay block-aligned.
  const uint64_t chunk = device_->chunk_size();
  const uint64_t position = file_offset_ + next_;
  const uint64_t length = std::min(chunk - position % chunk, length_ - next_);
  slot->request.offset = file_offset_ + next_;
  slot->request.data = data_ + next_;
  slot->request.length = static_cast<size_t>(length);
  next_ += length;
  return true;
}

void FileOp::SubmitSlot(Slot* slot) {
  // The file decides where each chunk goes (src/hal/fd_transfer.h).
  if (FdTransfer::Route(*fd_file_, slot->request) == ChunkRoute::kEngine) {
    FdTransfer::SubmitToEngine(*fd_file_, &slot->request);
  } else {
    device_->Enqueue(&slot->task);
  }
}

void FileOp::RunSyncChunk(Task* task) {
  Slot* slot = static_cast<Slot*>(task->owner);
  Status status;
  // True when the rest went to the engine: its completion reports the chunk.
  if (FdTransfer::RunOnWorker(*slot->op->fd_file_, &slot->request, &status)) return;
  slot->op->ChunkDone(slot, std::move(status));
}

void FileOp::OnChunkDone(AsyncRequest* request, Status status) {
  Slot* slot = static_cast<Slot*>(request->user_data);
  // Ops this completion makes ready may start their I/O right here, on the
  // engine's thread, instead of hopping to a worker (see BecomeReady).
  const bool was_in_completion = t_in_io_completion;
  t_in_io_completion = true;
  slot->op->ChunkDone(slot, std::move(status));
  t_in_io_completion = was_in_completion;
}

void FileOp::ChunkDone(Slot* slot, Status status) {
  bool more;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status.ok() && first_error_.ok()) first_error_ = std::move(status);
    more = NextChunkLocked(slot);
  }
  if (more) return SubmitSlot(slot);
  ReleaseOne();
}

void FileOp::ReleaseOne() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--in_flight_ > 0) return;
  }
  if (io_ == IoOp::kWrite && first_error_.ok()) {
    FdTransfer::NoteWritten(*fd_file_, file_offset_ + length_);
  }
  Finish(std::move(first_error_));
}

// --- AsyncDevice ---------------------------------------------------------------

Status AsyncDevice::StartWorkers(uint32_t count) {
  try {
    workers_.reserve(count);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of host memory for " + std::to_string(count) +
                                  " local_async workers");
  }
  for (uint32_t i = 0; i < count; ++i) {
    HALIO_RETURN_IF_ERROR(StartWorker(i, count));
  }
  return Status();
}

Status AsyncDevice::StartWorker(uint32_t index, uint32_t count) {
  const std::string which = "local_async worker thread " + std::to_string(index + 1) +
                            " of " + std::to_string(count);
  HALIO_ASSIGN_OR_RETURN(Worker * raw, HostNew<Worker>(host(), which));
  std::unique_ptr<Worker> worker(raw);
  try {
    worker->thread = std::thread([this] { WorkerLoop(); });
  } catch (const std::system_error& e) {
    return ResourceExhaustedError("cannot start " + which + ": " + e.what() +
                                  "; lower DeviceOptions::worker_count or raise the "
                                  "process/thread limit");
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory starting " + which);
  }
  workers_.push_back(std::move(worker));  // reserved: cannot throw
  return Status();
}

// The device whose worker the current thread is, if any.
thread_local const AsyncDevice* t_worker_of = nullptr;

void AsyncDevice::WorkerLoop() {
  t_worker_of = this;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (queue_head_ == nullptr && !stopping_) {
      ++idle_workers_;
      work_available_.wait(lock, [&] { return queue_head_ != nullptr || stopping_; });
      --idle_workers_;
    }
    if (queue_head_ == nullptr) return;  // stopping and drained
    Task* task = queue_head_;
    queue_head_ = task->next;
    if (queue_head_ == nullptr) queue_tail_ = nullptr;
    lock.unlock();
    task->next = nullptr;
    task->run(task);
    lock.lock();
  }
}

bool AsyncDevice::PushLocked(Task* task) {
  const bool was_empty = queue_head_ == nullptr;
  task->next = nullptr;
  if (queue_tail_) {
    queue_tail_->next = task;
  } else {
    queue_head_ = task;
  }
  queue_tail_ = task;
  // A worker that makes work ready does so as its own task ends (an op's
  // signal readies the next op), so it picks the first such task up itself;
  // waking another worker for it would only add a futex round trip. Work
  // beyond that, or from other threads, wakes an idle worker.
  return idle_workers_ > 0 && !(t_worker_of == this && was_empty);
}

void AsyncDevice::Enqueue(Task* task) {
  // Notify under the lock: once it is released a worker may finish the last
  // op and let the device be destroyed while this thread (an engine's, or
  // one signaling a semaphore) would still touch the condition variable.
  std::lock_guard<std::mutex> lock(mutex_);
  if (PushLocked(task)) work_available_.notify_one();
}

void AsyncDevice::AddWaiting(Op* op) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++live_ops_;
  op->next_waiting = waiting_head_;
  op->prev_waiting = nullptr;
  if (waiting_head_) waiting_head_->prev_waiting = op;
  waiting_head_ = op;
}

void AsyncDevice::BecomeReady(Op* op) {
  // A chain of reads (each waiting on the one before) would otherwise pay a
  // hop to a worker and back per read; an op that only submits I/O starts
  // it on the engine thread whose completion made it ready.
  const bool run_here = t_in_io_completion && op->SubmitsIoOnly();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (op->prev_waiting) {
      op->prev_waiting->next_waiting = op->next_waiting;
    } else {
      waiting_head_ = op->next_waiting;
    }
    if (op->next_waiting) op->next_waiting->prev_waiting = op->prev_waiting;
    op->prev_waiting = op->next_waiting = nullptr;
    // Notified under the lock for the reason given in Enqueue.
    if (!run_here && PushLocked(op->task())) work_available_.notify_one();
  }
  if (run_here) op->RunNow();
}

void AsyncDevice::OpFinished() {
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

Status AsyncDevice::WaitIdle(Timeout timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto idle = [&] { return live_ops_ == 0; };
  if (timeout.infinite()) {
    idle_.wait(lock, idle);
    return Status();
  }
  if (idle_.wait_until(lock, timeout.deadline(), idle)) return Status();
  return DeadlineExceededError("local_async still has " + std::to_string(live_ops_.load()) +
                               " operations pending");
}

void AsyncDevice::Shutdown() {
  // Ops still waiting will never run if nobody signals their waits: cancel
  // them. A guard count keeps each alive while its timepoints are cancelled.
  // Intrusive (next_cancelled): a destructor must not need memory.
  Op* cancelled = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Op* op = waiting_head_; op; op = op->next_waiting) {
      if (!op->TryRetain()) continue;
      op->next_cancelled = cancelled;
      cancelled = op;
    }
  }
  for (Op* op = cancelled; op != nullptr;) {
    Op* next = op->next_cancelled;  // read first: the op may finish below
    op->CancelWaits();
    if (op->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) BecomeReady(op);
    op = next;
  }
  WaitIdle(Timeout::Infinite()).IgnoreError();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_available_.notify_all();
  for (std::unique_ptr<Worker>& worker : workers_) worker->thread.join();
}

template <typename OpType, typename... Args>
Status AsyncDevice::Submit(const char* what, SemaphoreList wait, SemaphoreList signal,
                           Args&&... args) {
  HALIO_ASSIGN_OR_RETURN(OpType * op,
                         HostNew<OpType>(host(), what, this, std::forward<Args>(args)...));
  return Launch(op, wait, signal);
}

Status AsyncDevice::Launch(Op* op, SemaphoreList wait, SemaphoreList signal) {
  Status status = op->CaptureLists(wait, signal);
  if (!status.ok()) {
    delete op;
    return status;
  }
  op->Start();
  return Status();
}

Result<BufferRef> AsyncDevice::QueueAlloca(SemaphoreList wait, SemaphoreList signal,
                                           const BufferParams& params, uint64_t byte_length) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_ASSIGN_OR_RETURN(BufferRef buffer,
                         allocator_.Allocate(params, byte_length, /*transient=*/true));
  auto body = [] { return Status(); };
  HALIO_RETURN_IF_ERROR((Submit<WorkerOp<decltype(body)>>("queue_alloca on local_async",
                                                          wait, signal, body)));
  return buffer;
}

Status AsyncDevice::QueueDealloca(SemaphoreList wait, SemaphoreList signal,
                                  const BufferRef& buffer) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_RETURN_IF_ERROR(ValidateQueueDealloca(buffer));
  auto body = [buffer] {
    BufferInternals::Decommit(*buffer);
    return Status();
  };
  return Submit<WorkerOp<decltype(body)>>("queue_dealloca on local_async",
                                          wait, signal, std::move(body));
}

Status AsyncDevice::QueueFill(SemaphoreList wait, SemaphoreList signal,
                              const BufferRef& target, uint64_t offset, uint64_t length,
                              uint32_t pattern, uint32_t pattern_length) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_RETURN_IF_ERROR(ValidateQueueFill(target, offset, length, pattern_length));
  auto body = [=] { return FillValidated(*target, offset, length, pattern, pattern_length); };
  return Submit<WorkerOp<decltype(body)>>("queue_fill on local_async",
                                          wait, signal, std::move(body));
}

Status AsyncDevice::QueueUpdate(SemaphoreList wait, SemaphoreList signal,
                                std::span<const std::byte> source, const BufferRef& target,
                                uint64_t target_offset) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_RETURN_IF_ERROR(ValidateQueueUpdate(source, target, target_offset));
  // The bytes are captured now: the caller may reuse `source` at once.
  HALIO_ASSIGN_OR_RETURN(UpdateOp * op,
                         HostNewWithTrailing<UpdateOp>(host(), "queue_update on local_async",
                                                       source.size(), this, source, target,
                                                       target_offset));
  return Launch(op, wait, signal);
}

Status AsyncDevice::QueueCopy(SemaphoreList wait, SemaphoreList signal,
                              const BufferRef& source, uint64_t source_offset,
                              const BufferRef& target, uint64_t target_offset,
                              uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_RETURN_IF_ERROR(ValidateQueueCopy(source, source_offset, target, target_offset, length));
  auto body = [=] { return CopyValidated(*source, source_offset, *target, target_offset, length); };
  return Submit<WorkerOp<decltype(body)>>("queue_copy on local_async",
                                          wait, signal, std::move(body));
}

Status AsyncDevice::QueueRead(SemaphoreList wait, SemaphoreList signal, const FileRef& source,
                              uint64_t source_offset, const BufferRef& target,
                              uint64_t target_offset, uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_RETURN_IF_ERROR(ValidateQueueRead(source, source_offset, target, target_offset, length));
  return Submit<FileOp>("queue_read on local_async",
                        wait, signal, IoOp::kRead, source, source_offset, target,
                        target_offset, length);
}

Status AsyncDevice::QueueWrite(SemaphoreList wait, SemaphoreList signal,
                               const BufferRef& source, uint64_t source_offset,
                               const FileRef& target, uint64_t target_offset,
                               uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_RETURN_IF_ERROR(ValidateQueueWrite(source, source_offset, target, target_offset, length));
  return Submit<FileOp>("queue_write on local_async",
                        wait, signal, IoOp::kWrite, target, target_offset, source,
                        source_offset, length);
}

Status AsyncDevice::QueueDispatch(SemaphoreList wait, SemaphoreList signal,
                                  const ExecutableRef& executable, uint32_t entry_point,
                                  WorkgroupCount workgroup_count,
                                  std::span<const uint32_t> push_constants,
                                  std::span<const BufferBinding> bindings) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_RETURN_IF_ERROR(ValidateQueueDispatch(executable, entry_point, workgroup_count, bindings));
  HostVector<uint32_t> constants{HostAllocatorAdapter<uint32_t>(host())};
  HostVector<BufferBinding> bound{HostAllocatorAdapter<BufferBinding>(host())};
  try {
    constants.assign(push_constants.begin(), push_constants.end());
    bound.assign(bindings.begin(), bindings.end());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory capturing dispatch arguments");
  }
  auto body = [=, constants = std::move(constants), bound = std::move(bound)] {
    return InlineDispatch(*executable, entry_point, workgroup_count, constants, bound);
  };
  return Submit<WorkerOp<decltype(body)>>("queue_dispatch on local_async",
                                          wait, signal, std::move(body));
}

Status AsyncDevice::QueueExecute(SemaphoreList wait, SemaphoreList signal,
                                 const CommandBufferRef& command_buffer) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  HALIO_RETURN_IF_ERROR(ValidateQueueExecute(command_buffer));
  auto body = [command_buffer] { return command_buffer->ExecuteInline(); };
  return Submit<WorkerOp<decltype(body)>>("queue_execute on local_async",
                                          wait, signal, std::move(body));
}

Status AsyncDevice::QueueBarrier(SemaphoreList wait, SemaphoreList signal) {
  HALIO_RETURN_IF_ERROR(ValidateQueueLists(wait, signal));
  auto body = [] { return Status(); };
  return Submit<WorkerOp<decltype(body)>>("queue_barrier on local_async", wait, signal, body);
}

}  // namespace

Result<std::unique_ptr<Device>> CreateLocalAsyncDevice(const DeviceOptions& options) {
  if (options.host_allocator == nullptr) {
    return InvalidArgumentError("DeviceOptions::host_allocator is null");
  }
  if (options.queue_depth == 0 || options.chunk_size == 0) {
    return InvalidArgumentError("local_async needs queue_depth >= 1 and chunk_size >= 1");
  }
  uint32_t workers = options.worker_count;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  HALIO_ASSIGN_OR_RETURN(AsyncDevice * raw, HostNew<AsyncDevice>(*options.host_allocator,
                                                                 "the local_async device",
                                                                 options));
  std::unique_ptr<AsyncDevice> device(raw);
  // On failure the destructor joins only the workers that started.
  HALIO_RETURN_IF_ERROR(device->StartWorkers(workers));
  return std::unique_ptr<Device>(std::move(device));
}

}  // namespace halio
