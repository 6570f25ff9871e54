// Semaphore: a timeline semaphore, a monotonically increasing 64-bit value
// that queue operations wait on and signal, and that can fail.
//
// Failure is sticky: after Fail(status) every current and future Wait returns
// ABORTED with the original failure in its message, Query returns the same,
// and Signal is refused.
//
// Ownership: semaphores are shared (std::shared_ptr) and made only by
// Create(); SemaphorePoint holds a raw pointer and is only valid while the
// caller keeps the semaphore alive. Devices that defer work retain semaphores
// with shared_from_this().
//
// Thread-safety: every method is thread-safe. A satisfied Wait or Query and a
// Signal nobody waits for take no lock.
#ifndef HALIO_HAL_SEMAPHORE_H_
#define HALIO_HAL_SEMAPHORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
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

enum class WaitMode { kAll, kAny };

// The implementation: the value, the failure, the lock and the timepoint list
// devices schedule on (src/hal/semaphore_impl.h). Internal to halio.
class SemaphoreImpl;

// Made only by Create(). Not for subclassing: the constructor is private to
// SemaphoreImpl, the only kind of semaphore, so the methods below reach it
// without a virtual call.
class Semaphore : public std::enable_shared_from_this<Semaphore> {
 public:
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

  // The ABORTED status waiters see after Fail(), or OK.
  Status failure() const;
  // The status Fail() was given (the cause, with its own code), or OK.
  Status failure_cause() const;

 private:
  friend class SemaphoreImpl;
  Semaphore() = default;
  ~Semaphore() = default;
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
