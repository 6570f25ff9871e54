#include "local_async/op.h"

#include <algorithm>
#include <memory>
#include <new>
#include <string>

#include "local_async/async_device.h"

namespace halio::local_async {
namespace {

thread_local bool t_may_start_io = false;

// A reference to `semaphore`, or null if no shared_ptr owns it. One
// reference-count increment: weak_from_this().lock() costs three (copying
// the weak reference, locking it, dropping the copy), on a line the worker
// that finishes the op writes too.
SemaphoreRef Retain(Semaphore* semaphore) {
  try {
    return semaphore->shared_from_this();
  } catch (const std::bad_weak_ptr&) {
    return nullptr;
  }
}

}  // namespace

bool MayStartIoHere() { return t_may_start_io; }

IoStartScope::IoStartScope() : could_before_(t_may_start_io) { t_may_start_io = true; }

IoStartScope::~IoStartScope() { t_may_start_io = could_before_; }

// --- OpPool -------------------------------------------------------------------

OpPool::~OpPool() {
  for (int i = 0; i < kClasses; ++i) {
    SizeClass& size_class = classes_[i];
    FreeBlock* block = size_class.freed.exchange(nullptr, std::memory_order_acquire);
    for (FreeBlock* list : {block, size_class.cached}) {
      while (list != nullptr) {
        FreeBlock* next = list->next;
        host_.Free(list, ClassBytes(i), alignof(Header));
        list = next;
      }
    }
  }
}

int OpPool::ClassOf(std::size_t bytes) {
  for (int i = 0; i < kClasses; ++i) {
    if (bytes <= ClassBytes(i)) return i;
  }
  return kNoClass;
}

uint32_t OpPool::MaxCached(int size_class) {
  return static_cast<uint32_t>(std::max<std::size_t>(16, (1u << 20) / ClassBytes(size_class)));
}

OpPool::FreeBlock* OpPool::TakeCached(SizeClass& size_class) {
  std::lock_guard<std::mutex> lock(size_class.mutex);
  if (size_class.cached == nullptr) {
    size_class.cached = size_class.freed.exchange(nullptr, std::memory_order_acquire);
    if (size_class.cached == nullptr) return nullptr;
  }
  FreeBlock* block = size_class.cached;
  size_class.cached = block->next;
  ++size_class.removed;
  return block;
}

void* OpPool::Allocate(std::size_t bytes) noexcept {
  if (bytes > static_cast<std::size_t>(-1) - sizeof(Header)) return nullptr;
  const std::size_t needed = bytes + sizeof(Header);
  const int size_class = ClassOf(needed);
  void* block = size_class == kNoClass ? nullptr : TakeCached(classes_[size_class]);
  const std::size_t block_bytes = size_class == kNoClass ? needed : ClassBytes(size_class);
  if (block == nullptr) block = host_.Allocate(block_bytes, alignof(Header));
  if (block == nullptr) return nullptr;
  auto* header = new (block) Header(this, block_bytes, size_class);
  return header + 1;
}

void OpPool::Free(void* object) noexcept {
  if (object == nullptr) return;
  Header* header = HeaderOf(object);
  // A block with one hold has no other holder (holds are only added before
  // the block is shared): skip the read-modify-write.
  if (header->holds.load(std::memory_order_acquire) != 1 &&
      header->holds.fetch_sub(1, std::memory_order_acq_rel) != 1) {
    return;
  }
  header->pool->Release(header);
}

thread_local OpPool::FreeBatch OpPool::t_batch_;

void OpPool::Release(Header* header) noexcept {
  const int index = header->size_class;
  const std::size_t bytes = header->bytes;
  if (index == kNoClass) return host_.Free(header, bytes, alignof(Header));
  auto* block = reinterpret_cast<FreeBlock*>(header);
  FreeBatch& batch = t_batch_;
  if (batch.pool != this) return PushFreed(index, block, block, 1);
  if (batch.count > 0 && batch.size_class != index) FlushThisThread();
  block->next = batch.head;
  if (batch.count == 0) batch.tail = block;
  batch.head = block;
  batch.size_class = index;
  if (++batch.count == kFreeBatch) FlushThisThread();
}

void OpPool::BatchFreesOnThisThread(OpPool* pool) noexcept {
  FlushThisThread();
  t_batch_.pool = pool;
}

void OpPool::FlushThisThread() noexcept {
  FreeBatch& batch = t_batch_;
  if (batch.count == 0) return;
  batch.pool->PushFreed(batch.size_class, batch.head, batch.tail, batch.count);
  batch.head = batch.tail = nullptr;
  batch.count = 0;
}

void OpPool::PushFreed(int index, FreeBlock* head, FreeBlock* tail, uint32_t count) noexcept {
  SizeClass& size_class = classes_[index];
  size_class.released.fetch_add(count, std::memory_order_relaxed);
  // Release: the blocks' contents (next) are visible to whoever takes them
  // with the acquire exchange in TakeCached / TrimToBound.
  tail->next = size_class.freed.load(std::memory_order_relaxed);
  while (!size_class.freed.compare_exchange_weak(tail->next, head, std::memory_order_release,
                                                 std::memory_order_relaxed)) {
  }
}

void OpPool::TrimToBound() noexcept {
  for (int i = 0; i < kClasses; ++i) {
    SizeClass& size_class = classes_[i];
    const uint32_t bound = MaxCached(i);
    std::lock_guard<std::mutex> lock(size_class.mutex);
    while (size_class.released.load(std::memory_order_relaxed) - size_class.removed > bound) {
      if (size_class.cached == nullptr) {
        size_class.cached = size_class.freed.exchange(nullptr, std::memory_order_acquire);
        // The rest of the count is blocks being pushed right now.
        if (size_class.cached == nullptr) break;
      }
      FreeBlock* block = size_class.cached;
      size_class.cached = block->next;
      ++size_class.removed;
      host_.Free(block, ClassBytes(i), alignof(Header));
    }
  }
}

// --- Op -------------------------------------------------------------------------

HostAllocator& Op::host() const { return device_->host(); }

Status Op::CaptureLists(SemaphoreList wait, SemaphoreList signal, bool chain) {
  HostAllocator& host = this->host();
  if (chain) {
    chained_on_ = wait[0].semaphore;
    chained_target_ = wait[0].value;
    wait = {};
  }
  if (!waits_.Resize(wait.size(), host) || !signal_refs_.Resize(signal.size(), host) ||
      !signals_.Resize(signal.size(), host)) {
    return ResourceExhaustedError("out of host memory for the semaphore lists (" +
                                  std::to_string(wait.size()) + " waits, " +
                                  std::to_string(signal.size()) +
                                  " signals) of an operation queued on local_async");
  }
  for (size_t i = 0; i < wait.size(); ++i) {
    WaitPoint& waiter = waits_[i];
    waiter.semaphore = Retain(wait[i].semaphore);
    if (!waiter.semaphore) {
      return InvalidArgumentError("wait semaphore was not created by Semaphore::Create");
    }
    HALIO_RETURN_IF_ERROR(device_->TrackWaitSemaphoreLocked(waiter.semaphore));
    waiter.op = this;
    waiter.timepoint.target = wait[i].value;
    waiter.timepoint.callback = &Op::OnWaitResolved;
  }
  for (size_t i = 0; i < signal.size(); ++i) {
    signals_[i] = signal[i];
    // A semaphore the op also waits on (a timeline advanced op by op) is
    // kept alive by that wait's reference: taking a second one would only
    // add a contended atomic per op.
    if (IsWaitedOn(signal[i].semaphore)) continue;
    signal_refs_[i] = Retain(signal[i].semaphore);
    if (!signal_refs_[i]) {
      return InvalidArgumentError("signal semaphore was not created by Semaphore::Create");
    }
  }
  // Counted before the op can be attached: its predecessor may resolve the
  // chained wait at once.
  const int chained = chained_on_ != nullptr ? 1 : 0;
  pending_.store(static_cast<int>(waits_.size()) + chained + 1, std::memory_order_relaxed);
  return Status();
}

bool Op::IsWaitedOn(const Semaphore* semaphore) {
  if (semaphore == chained_on_) return true;  // chained_ref_ keeps it
  for (const WaitPoint& waiter : waits_) {
    if (waiter.semaphore.get() == semaphore) return true;
  }
  return false;
}

bool Op::AttachTo(Op* predecessor) {
  // Release: the successor's captured state is visible to the predecessor's
  // acquire exchange in HandOffSuccessor.
  void* expected = nullptr;
  return OpPool::Link(predecessor)
      .compare_exchange_strong(expected, this, std::memory_order_release,
                               std::memory_order_relaxed);
}

void Op::WaitUnchained() {
  // The predecessor finished, so this semaphore may already be another one
  // at the same address: wait on it as on any semaphore. Resize(1) of an
  // empty SmallArray<., 2> is inline: it cannot fail.
  Semaphore* semaphore = std::exchange(chained_on_, nullptr);
  chained_ref_ = Retain(semaphore);
  if (!chained_ref_) {
    return ResolveOne(InvalidArgumentError("wait semaphore was not created by Semaphore::Create"));
  }
  Status tracked = device_->TrackWaitSemaphore(chained_ref_);
  if (!tracked.ok()) return ResolveOne(std::move(tracked));
  (void)waits_.Resize(1, host());
  WaitPoint& waiter = waits_[0];
  waiter.semaphore = std::move(chained_ref_);
  waiter.op = this;
  waiter.timepoint.target = chained_target_;
  waiter.timepoint.callback = &Op::OnWaitResolved;
}

void Op::HandOffSuccessor() {
  void* next = OpPool::Link(this).exchange(ClosedLink(), std::memory_order_acq_rel);
  if (next == nullptr) return;
  auto* successor = static_cast<Op*>(next);
  // This op signalled (or failed) the semaphore, so the successor's wait is
  // decided: reached, or failed with the semaphore's failure.
  successor->chained_ref_ = TakeRefTo(successor->chained_on_);
  Result<uint64_t> value = successor->chained_ref_->Query();
  successor->ResolveOne(value.ok() ? Status() : value.status());
}

SemaphoreRef Op::TakeRefTo(const Semaphore* semaphore) {
  if (chained_on_ == semaphore && chained_ref_) return std::move(chained_ref_);
  for (WaitPoint& waiter : waits_) {
    if (waiter.semaphore.get() == semaphore) return std::move(waiter.semaphore);
  }
  for (SemaphoreRef& ref : signal_refs_) {
    if (ref.get() == semaphore) return std::move(ref);
  }
  // Not reached: the op keeps a reference to every semaphore it signals.
  return Retain(const_cast<Semaphore*>(semaphore));
}

void Op::Start() {
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
    wait_failed_.store(true, std::memory_order_release);
  }
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) device_->BecomeReady(this);
}

bool Op::IsWaitOf(const SemaphoreTimepoint* timepoint, const void* device) {
  return timepoint->callback == &Op::OnWaitResolved &&
         static_cast<const WaitPoint*>(timepoint->user_data)->op->device_ == device;
}

void Op::RunTask(Task* task) {
  Op* op = static_cast<Op*>(task->owner);
  // The last wait resolved (acq_rel on pending) before the op was queued,
  // so every failure is visible here.
  if (op->wait_failed_.load(std::memory_order_acquire)) [[unlikely]] {
    Status failure;
    {
      std::lock_guard<std::mutex> lock(op->failure_mutex_);
      failure = op->wait_failure_;
    }
    return op->Finish(std::move(failure));
  }
  op->Execute();
}

void Op::Finish(Status status) {
  if (status.ok()) [[likely]] {
    status = SignalSemaphores(signals_.span());
  }
  if (!status.ok()) FailSemaphores(signals_.span(), status);
  HandOffSuccessor();
  AsyncScheduler* device = device_;
  delete this;  // releases buffers, files and semaphores before the device counts it done
  device->OpFinished();
}

}  // namespace halio::local_async
