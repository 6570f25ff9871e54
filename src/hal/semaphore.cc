#include "halio/hal/semaphore.h"

#include <new>
#include <string>
#include <vector>

#include "host_new.h"
#include "semaphore_impl.h"
#include "status_latch.h"

namespace halio {

SemaphoreImpl::~SemaphoreImpl() {
  // Owners keep a semaphore alive while they wait on it, so this only runs
  // callbacks of timepoints abandoned by a caller bug; cancel them rather
  // than leave them dangling.
  SemaphoreTimepoint* list = DetachReadyLocked(/*all=*/true);
  RunDetached(list, CancelledError("semaphore destroyed while a timepoint waited on it"));
}

Result<SemaphoreRef> Semaphore::Create(uint64_t initial_value, HostAllocator& host) {
  HALIO_ASSIGN_OR_RETURN(std::shared_ptr<SemaphoreImpl> semaphore,
                         HostMakeShared<SemaphoreImpl>(host, "a semaphore",
                                                       SemaphoreImpl::Passkey(), initial_value));
  return SemaphoreRef(std::move(semaphore));
}

// The public API forwards to the implementation; each call inlines into its
// forwarder (same translation unit), so users pay no extra indirection.
Result<uint64_t> Semaphore::Query() const { return Impl(*this).Query(); }
Status Semaphore::Signal(uint64_t value) { return Impl(*this).Signal(value); }
void Semaphore::Fail(Status status) { Impl(*this).Fail(std::move(status)); }
Status Semaphore::Wait(uint64_t value, Timeout timeout) {
  return Impl(*this).Wait(value, timeout);
}
Status Semaphore::failure() const { return Impl(*this).failure(); }
Status Semaphore::failure_cause() const { return Impl(*this).failure_cause(); }

Status SemaphoreImpl::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

Status SemaphoreImpl::failure_cause() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cause_;
}

Status SemaphoreImpl::SignalRefused(uint64_t value) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_.ok()) return failure_;
  return InvalidArgumentError("cannot signal semaphore to " + std::to_string(value) +
                              ": it is already at " +
                              std::to_string(value_.load(std::memory_order_relaxed)) +
                              " and timeline values must increase");
}

void SemaphoreImpl::WakeAfterRaise() {
  SemaphoreTimepoint* ready;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ready = DetachReadyLocked(/*all=*/false);
    if (ready) ++dispatching_;
    wake = blocked_waiters_ > 0;
    UpdateNeedsWakeLocked();
  }
  if (wake) cv_.notify_all();
  if (ready) DispatchDetached(ready, Status());
}

void SemaphoreImpl::DispatchDetached(SemaphoreTimepoint* list, const Status& status) {
  RunDetached(list, status);
  // A signal's second trip through the lock only served CancelTimepoint,
  // which waits (as a blocked waiter, under the lock) for dispatching_ to
  // reach zero. Both counters are seq_cst: CancelTimepoint raises
  // blocked_waiters_ and then reads dispatching_; this thread drops
  // dispatching_ and then reads blocked_waiters_. So either the canceller
  // sees zero and never sleeps, or this thread sees the canceller and
  // notifies; it takes the lock first, so the canceller is either asleep
  // (and woken) or has not yet checked (and sees zero).
  if (dispatching_.fetch_sub(1) != 1 || blocked_waiters_.load() == 0) return;
  { std::lock_guard<std::mutex> lock(mutex_); }
  cv_.notify_all();
}

void SemaphoreImpl::Fail(Status status) {
  if (status.ok()) status = UnknownError("semaphore failed with an OK status");
  Status aborted(StatusCode::kAborted, "semaphore failed: " + status.ToString(),
                 status.location());
  SemaphoreTimepoint* all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.ok()) return;  // the first failure wins
    failure_ = aborted;
    cause_ = status;
    failed_.store(true, std::memory_order_release);
    all = DetachReadyLocked(/*all=*/true);
    if (all) ++dispatching_;
    UpdateNeedsWakeLocked();
  }
  cv_.notify_all();
  // As a signal's: run the callbacks outside the lock, then wake a
  // CancelTimepoint waiting for them.
  if (all) DispatchDetached(all, aborted);
}

namespace {

// A thread blocked on one or more timepoints sleeps on its own latch and is
// woken only by a signal that satisfies it (or a failure), never by
// intermediate values.
void OnBlockingTimepoint(void* user_data, Status status) {
  static_cast<StatusLatch*>(user_data)->Set(std::move(status));
}

}  // namespace

Status SemaphoreImpl::WaitBlocking(uint64_t value, Timeout timeout) {
  StatusLatch waiter;
  SemaphoreTimepoint timepoint;
  timepoint.target = value;
  timepoint.callback = &OnBlockingTimepoint;
  timepoint.user_data = &waiter;
  AddTimepoint(&timepoint);
  // CancelTimepoint returning false means the callback ran (or is running
  // and has been waited for): `waiter` holds the outcome either way.
  if (!waiter.Wait(timeout) && CancelTimepoint(&timepoint)) {
    return DeadlineExceededError("timed out waiting for a semaphore to reach " +
                                 std::to_string(value) + " (it is at " +
                                 std::to_string(value_.load(std::memory_order_relaxed)) + ")");
  }
  return waiter.status();
}

void SemaphoreImpl::AddTimepoint(SemaphoreTimepoint* timepoint) {
  Status status;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Raise the flag before reading the value (see needs_wake_).
    needs_wake_.store(true, std::memory_order_seq_cst);
    if (failure_.ok() && value_.load(std::memory_order_seq_cst) < timepoint->target) {
      LinkLocked(timepoint);
      return;
    }
    UpdateNeedsWakeLocked();
    status = failure_;
  }
  timepoint->callback(timepoint->user_data, std::move(status));
}

bool SemaphoreImpl::CancelTimepoint(SemaphoreTimepoint* timepoint) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (timepoint->linked_) {
    UnlinkLocked(timepoint);
    UpdateNeedsWakeLocked();
    return true;
  }
  ++blocked_waiters_;  // so the dispatcher notifies when it is done
  cv_.wait(lock, [&] { return dispatching_ == 0; });
  --blocked_waiters_;
  UpdateNeedsWakeLocked();
  return false;
}

void SemaphoreImpl::CancelTimepointsWhere(
    bool (*matches)(const SemaphoreTimepoint*, const void*), const void* context,
    const Status& status) {
  SemaphoreTimepoint* cancelled = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    SemaphoreTimepoint* last = nullptr;
    for (SemaphoreTimepoint* it = head_; it != nullptr;) {
      SemaphoreTimepoint* next = it->next_;
      if (matches(it, context)) {
        UnlinkLocked(it);
        (last ? last->next_ : cancelled) = it;
        last = it;
      }
      it = next;
    }
    if (cancelled == nullptr) return;
    ++dispatching_;
    UpdateNeedsWakeLocked();
  }
  DispatchDetached(cancelled, status);
}

void SemaphoreImpl::LinkLocked(SemaphoreTimepoint* timepoint) {
  SemaphoreTimepoint* after = tail_;
  while (after != nullptr && after->target > timepoint->target) after = after->prev_;
  timepoint->prev_ = after;
  timepoint->next_ = after ? after->next_ : head_;
  if (timepoint->next_) {
    timepoint->next_->prev_ = timepoint;
  } else {
    tail_ = timepoint;
  }
  if (after) {
    after->next_ = timepoint;
  } else {
    head_ = timepoint;
  }
  timepoint->linked_ = true;
}

void SemaphoreImpl::UnlinkLocked(SemaphoreTimepoint* timepoint) {
  if (timepoint->prev_) {
    timepoint->prev_->next_ = timepoint->next_;
  } else {
    head_ = timepoint->next_;
  }
  if (timepoint->next_) {
    timepoint->next_->prev_ = timepoint->prev_;
  } else {
    tail_ = timepoint->prev_;
  }
  timepoint->prev_ = timepoint->next_ = nullptr;
  timepoint->linked_ = false;
}

SemaphoreTimepoint* SemaphoreImpl::DetachReadyLocked(bool all) {
  SemaphoreTimepoint* first = head_;
  SemaphoreTimepoint* last = nullptr;
  const uint64_t value = value_.load(std::memory_order_relaxed);
  for (SemaphoreTimepoint* it = head_; it && (all || it->target <= value); it = it->next_) {
    it->linked_ = false;
    last = it;
  }
  if (last == nullptr) return nullptr;
  head_ = last->next_;
  if (head_) {
    head_->prev_ = nullptr;
  } else {
    tail_ = nullptr;
  }
  last->next_ = nullptr;
  return first;
}

void SemaphoreImpl::RunDetached(SemaphoreTimepoint* list, const Status& status) {
  while (list) {
    // The callback may free or re-add the timepoint: read the link first.
    SemaphoreTimepoint* next = list->next_;
    list->prev_ = list->next_ = nullptr;
    list->callback(list->user_data, status);
    list = next;
  }
}

Status ValidateSemaphoreList(SemaphoreList points, const char* which) {
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].semaphore == nullptr) [[unlikely]] {
      return InvalidArgumentError(std::string(which) + " list entry " + std::to_string(i) +
                                  " has a null semaphore");
    }
  }
  return Status();
}

namespace {

Status WaitAny(SemaphoreList points, Timeout timeout) {
  std::vector<SemaphoreTimepoint> timepoints(points.size());
  StatusLatch waiter;
  size_t added = 0;
  for (; added < points.size(); ++added) {
    timepoints[added].target = points[added].value;
    timepoints[added].callback = &OnBlockingTimepoint;
    timepoints[added].user_data = &waiter;
    Impl(*points[added].semaphore).AddTimepoint(&timepoints[added]);
    if (waiter.is_set()) {
      ++added;
      break;
    }
  }
  Status result;
  if (waiter.Wait(timeout)) {
    result = waiter.status();
  } else {
    result = DeadlineExceededError("timed out waiting for any of " +
                                   std::to_string(points.size()) + " semaphores");
  }
  // Cancel blocks until a running callback has returned, so `waiter` and
  // `timepoints` outlive every callback that uses them.
  for (size_t i = 0; i < added; ++i) Impl(*points[i].semaphore).CancelTimepoint(&timepoints[i]);
  return result;
}

}  // namespace

Status WaitSemaphores(SemaphoreList points, WaitMode mode, Timeout timeout) {
  HALIO_RETURN_IF_ERROR(ValidateSemaphoreList(points, "wait"));
  if (points.empty()) return Status();
  if (mode == WaitMode::kAll || points.size() == 1) {
    for (const SemaphorePoint& point : points) {
      HALIO_RETURN_IF_ERROR(Impl(*point.semaphore).Wait(point.value, timeout));
    }
    return Status();
  }
  try {
    return WaitAny(points, timeout);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory waiting on " +
                                  std::to_string(points.size()) + " semaphores");
  }
}

Status SignalSemaphores(SemaphoreList points) {
  // Through Impl: the lock-free fast path inlines here (devices signal
  // every op's list through this).
  for (const SemaphorePoint& point : points) {
    HALIO_RETURN_IF_ERROR(Impl(*point.semaphore).Signal(point.value));
  }
  return Status();
}

void FailSemaphores(SemaphoreList points, const Status& status) {
  for (const SemaphorePoint& point : points) {
    if (point.semaphore) point.semaphore->Fail(status);
  }
}

}  // namespace halio
