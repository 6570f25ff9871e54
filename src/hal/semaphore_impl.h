// SemaphoreImpl: the one implementation of Semaphore (halio/hal/semaphore.h),
// with the lock, the timepoint list and the non-blocking waits devices build
// their scheduling on. Internal.
//
// Timepoints are the non-blocking form of a wait: a callback called exactly
// once when the value reaches a target or the semaphore fails. Internal code
// reaches them through Impl(semaphore).
//
// Thread-safety: every method is thread-safe. Timepoint callbacks run on the
// thread that signals or fails the semaphore (or inline in AddTimepoint when
// already satisfied), with no semaphore lock held, so they may signal other
// semaphores or add timepoints. A callback must not call CancelTimepoint on
// the semaphore that is calling it.
#ifndef HALIO_SRC_HAL_SEMAPHORE_IMPL_H_
#define HALIO_SRC_HAL_SEMAPHORE_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "halio/hal/semaphore.h"
#include "halio/status.h"

namespace halio {

// A registration for "call me when value >= target or the semaphore fails".
// Owned by the caller, which must keep it alive until the callback has run or
// CancelTimepoint returned. Intrusive: adding one allocates nothing.
struct SemaphoreTimepoint {
  uint64_t target = 0;
  // `status` is OK when the value was reached, else the ABORTED failure.
  void (*callback)(void* user_data, Status status) = nullptr;
  void* user_data = nullptr;

  // Owned by the semaphore while registered.
  SemaphoreTimepoint* prev_ = nullptr;
  SemaphoreTimepoint* next_ = nullptr;
  bool linked_ = false;
};

class SemaphoreImpl final : public Semaphore {
  // Semaphore::Create is the only way to make one: devices retain semaphores
  // with shared_from_this(), which needs a shared owner.
  struct Passkey {
    explicit Passkey() = default;
  };
  friend class Semaphore;

 public:
  SemaphoreImpl(Passkey, uint64_t initial_value) : value_(initial_value) {}
  ~SemaphoreImpl();

  // Semaphore's API (it forwards here). The lock-free fast paths are inline
  // so that neither Semaphore's forwarders nor internal callers pay a call
  // for them; the rest is out of line.
  Result<uint64_t> Query() const {
    if (!failed_.load(std::memory_order_acquire)) [[likely]] {
      return value_.load(std::memory_order_acquire);
    }
    return failure();
  }
  Status Signal(uint64_t value) {
    // Raise the value with a CAS; take the lock only when someone may be
    // waiting.
    if (!failed_.load(std::memory_order_acquire)) [[likely]] {
      uint64_t current = value_.load(std::memory_order_relaxed);
      while (current < value) {
        if (value_.compare_exchange_weak(current, value, std::memory_order_seq_cst)) {
          if (needs_wake_.load(std::memory_order_seq_cst)) WakeAfterRaise();
          return Status();
        }
      }
    }
    return SignalRefused(value);
  }
  void Fail(Status status);
  Status Wait(uint64_t value, Timeout timeout) {
    if (!failed_.load(std::memory_order_acquire) &&
        value_.load(std::memory_order_acquire) >= value) [[likely]] {
      return Status();
    }
    return WaitBlocking(value, timeout);
  }
  Status failure() const;
  Status failure_cause() const;

  // Registers `timepoint`. If the target is already reached or the semaphore
  // already failed, the callback runs inline before this returns.
  void AddTimepoint(SemaphoreTimepoint* timepoint);

  // Unregisters `timepoint`. Returns true if it was removed before its
  // callback ran (the callback will never run); false if the callback has
  // already run or is running on another thread, in which case this blocks
  // until it has returned. Either way the timepoint may be freed afterwards.
  bool CancelTimepoint(SemaphoreTimepoint* timepoint);

  // Unregisters every timepoint for which `matches(timepoint, context)` is
  // true and runs its callback with `status` (outside the lock) before
  // returning. `matches` runs under the semaphore's lock: it must not call
  // into the semaphore. For a device that is shut down: the waits of its ops
  // that nobody will reach.
  void CancelTimepointsWhere(bool (*matches)(const SemaphoreTimepoint*, const void*),
                             const void* context, const Status& status);

 private:
  void UpdateNeedsWakeLocked() {
    needs_wake_.store(head_ != nullptr || blocked_waiters_.load() > 0);
  }
  // Wakes whoever the already-raised value satisfies.
  void WakeAfterRaise();
  // Why Signal(value) did not raise the value: the failure, or
  // INVALID_ARGUMENT for a value that does not increase.
  Status SignalRefused(uint64_t value);
  // Wait once the fast path found the value short (or the semaphore failed).
  Status WaitBlocking(uint64_t value, Timeout timeout);
  void LinkLocked(SemaphoreTimepoint* timepoint);
  void UnlinkLocked(SemaphoreTimepoint* timepoint);
  // Detaches every timepoint satisfied by the current state; caller runs them.
  SemaphoreTimepoint* DetachReadyLocked(bool all);
  void RunDetached(SemaphoreTimepoint* list, const Status& status);
  // Runs a detached list counted in dispatching_ (raised under the lock by
  // the caller), then drops the count, taking the lock only to wake a
  // CancelTimepoint that waits for it.
  void DispatchDetached(SemaphoreTimepoint* list, const Status& status);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  // Written under mutex_, read without it by the fast paths of Wait and
  // Query: a satisfied wait costs two atomic loads, no lock.
  std::atomic<uint64_t> value_;
  std::atomic<bool> failed_{false};
  Status failure_;  // non-OK once failed; guarded by mutex_
  Status cause_;    // what Fail() was given; guarded by mutex_
  // Threads in CancelTimepoint waiting for dispatching_ to drop (blocking
  // Waits sleep on their own timepoints, not here). Changed under mutex_;
  // atomic (seq_cst) because a dispatcher reads it without the lock, after
  // dropping dispatching_ (see DispatchDetached).
  std::atomic<int> blocked_waiters_{0};
  // True while timepoints or blocked cancellers exist (kept under mutex_): a
  // Signal that finds it false after raising the value has nobody to wake
  // and never takes the lock. Stored before, and read after, value_ with
  // seq_cst on both sides, so a waiter either sees the new value or the
  // signaler sees the flag.
  std::atomic<bool> needs_wake_{false};
  // Timepoints sorted by target, ascending. New timepoints are inserted from
  // the tail, so the common pattern (increasing targets) costs O(1) and a
  // signal touches only the timepoints it satisfies.
  SemaphoreTimepoint* head_ = nullptr;
  SemaphoreTimepoint* tail_ = nullptr;
  // Lists of callbacks being run outside the lock; CancelTimepoint waits for
  // zero. Raised under mutex_, dropped without it (seq_cst, DispatchDetached).
  std::atomic<int> dispatching_{0};
};

// Every Semaphore is a SemaphoreImpl (Semaphore's constructor is private to
// it), so the downcast is sound and costs nothing.
inline SemaphoreImpl& Impl(Semaphore& semaphore) {
  return static_cast<SemaphoreImpl&>(semaphore);
}
inline const SemaphoreImpl& Impl(const Semaphore& semaphore) {
  return static_cast<const SemaphoreImpl&>(semaphore);
}

}  // namespace halio

#endif  // HALIO_SRC_HAL_SEMAPHORE_IMPL_H_
