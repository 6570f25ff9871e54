// Semaphore: a timeline semaphore, a monotonically increasing 64-bit value
// that queue operations wait on and signal, and that can fail.
//
// Failure is sticky: after Fail(status) every current and future Wait returns
// ABORTED with the original failure in its message, Query returns the same,
// and Signal is refused. Timepoints are the non-blocking form of a wait: a
// callback called exactly once when the value reaches a target or the
// semaphore fails. Devices build asynchronous scheduling on them.
//
// Ownership: semaphores are shared (std::shared_ptr); SemaphorePoint holds a
// raw pointer and is only valid while the caller keeps the semaphore alive.
// Devices that defer work retain semaphores with shared_from_this().
//
// Thread-safety: every method is thread-safe. Timepoint callbacks run on the
// thread that signals or fails the semaphore (or inline in AddTimepoint when
// already satisfied), with no semaphore lock held, so they may signal other
// semaphores or add timepoints. A callback must not call CancelTimepoint on
// the semaphore that is calling it.
#ifndef HALIO_HAL_SEMAPHORE_H_
#define HALIO_HAL_SEMAPHORE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include "halio/host_allocator.h"
#include "halio/status.h"

namespace halio {

// When a wait gives up. Deadlines use the steady clock.
class Timeout {
 public:
  using Clock = std::chrono::steady_clock;
  static Timeout Infinite() { return Timeout(Clock::time_point::max()); }
  static Timeout Immediate() { return Timeout(Clock::time_point::min()); }
  static Timeout After(Clock::duration d) {
    auto now = Clock::now();
    // Saturate rather than overflow for huge durations.
    if (d >= Clock::time_point::max() - now) return Infinite();
    return Timeout(now + d);
  }
  static Timeout At(Clock::time_point deadline) { return Timeout(deadline); }
  Clock::time_point deadline() const { return deadline_; }
  bool infinite() const { return deadline_ == Clock::time_point::max(); }

 private:
  explicit Timeout(Clock::time_point deadline) : deadline_(deadline) {}
  Clock::time_point deadline_;
};

class Semaphore;
using SemaphoreRef = std::shared_ptr<Semaphore>;

// {semaphore, value}: "wait until >= value" or "signal to value".
struct SemaphorePoint {
  Semaphore* semaphore = nullptr;
  uint64_t value = 0;
};
using SemaphoreList = std::span<const SemaphorePoint>;

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

enum class WaitMode { kAll, kAny };

class Semaphore : public std::enable_shared_from_this<Semaphore> {
 public:
  // Use Create(). Public for make_shared.
  explicit Semaphore(uint64_t initial_value);
  ~Semaphore();
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // The semaphore is allocated from `host`, which must outlive it.
  // Errors: RESOURCE_EXHAUSTED when the object cannot be allocated.
  static Result<SemaphoreRef> Create(uint64_t initial_value = 0,
                                     HostAllocator& host = HostAllocator::System());

  // The current value, or ABORTED carrying the failure.
  Result<uint64_t> Query() const;

  // Raises the value to `value` and wakes waiters whose target is reached.
  // Errors: INVALID_ARGUMENT if `value` is not greater than the current value;
  // ABORTED (with the failure) if the semaphore has failed.
  Status Signal(uint64_t value);

  // Fails the semaphore with `status` (non-OK; OK becomes UNKNOWN). The first
  // failure wins; later calls are ignored. Wakes every waiter.
  void Fail(Status status);

  // Blocks until value >= `value`. Errors: DEADLINE_EXCEEDED on timeout,
  // ABORTED with the failure message if the semaphore failed.
  Status Wait(uint64_t value, Timeout timeout = Timeout::Infinite());

  // Registers `timepoint`. If the target is already reached or the semaphore
  // already failed, the callback runs inline before this returns.
  void AddTimepoint(SemaphoreTimepoint* timepoint);

  // Unregisters `timepoint`. Returns true if it was removed before its
  // callback ran (the callback will never run); false if the callback has
  // already run or is running on another thread, in which case this blocks
  // until it has returned. Either way the timepoint may be freed afterwards.
  bool CancelTimepoint(SemaphoreTimepoint* timepoint);

  // The ABORTED status waiters see after Fail(), or OK.
  Status failure() const;
  // The status Fail() was given (the cause, with its own code), or OK.
  Status failure_cause() const;

 private:
  void UpdateNeedsWakeLocked() {
    needs_wake_.store(head_ != nullptr || blocked_waiters_ > 0 || dispatching_ > 0);
  }
  // Wakes whoever the already-raised value satisfies.
  void WakeAfterRaise();
  void LinkLocked(SemaphoreTimepoint* timepoint);
  void UnlinkLocked(SemaphoreTimepoint* timepoint);
  // Detaches every timepoint satisfied by the current state; caller runs them.
  SemaphoreTimepoint* DetachReadyLocked(bool all);
  void RunDetached(SemaphoreTimepoint* list, const Status& status);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  // Written under mutex_, read without it by the fast paths of Wait and
  // Query: a satisfied wait costs two atomic loads, no lock.
  std::atomic<uint64_t> value_;
  std::atomic<bool> failed_{false};
  Status failure_;  // non-OK once failed; guarded by mutex_
  Status cause_;    // what Fail() was given; guarded by mutex_
  // Threads in CancelTimepoint waiting for dispatching_ to drop (blocking
  // Waits sleep on their own timepoints, not here).
  int blocked_waiters_ = 0;
  // True while timepoints or blocked waiters exist (kept under mutex_): a
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
  // Callbacks being run outside the lock; CancelTimepoint waits for zero.
  int dispatching_ = 0;
};

// Waits on every (kAll) or any (kAny) point of `points`. An empty list is
// satisfied at once. Errors: DEADLINE_EXCEEDED, or ABORTED if a semaphore
// that is needed has failed (for kAny: the first failure seen).
Status WaitSemaphores(SemaphoreList points, WaitMode mode,
                      Timeout timeout = Timeout::Infinite());

// Checks that no point names a null semaphore. `which` ("wait", "signal")
// names the list in the error. Errors: INVALID_ARGUMENT.
Status ValidateSemaphoreList(SemaphoreList points, const char* which);

// Signals every point; stops at and returns the first error.
Status SignalSemaphores(SemaphoreList points);

// Fails every point's semaphore with `status`.
void FailSemaphores(SemaphoreList points, const Status& status);

}  // namespace halio

#endif  // HALIO_HAL_SEMAPHORE_H_
