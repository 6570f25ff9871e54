// StatusLatch: a thread waits until another reports one Status. Internal:
// a blocking semaphore wait (its timepoint callbacks) and SubmitAndWait (a
// device copy's completion) both wait on one.
//
// Thread-safety: Set may be called from any thread, more than once; the
// first call wins. Set notifies under the lock, so the waiter may destroy
// the latch as soon as Wait returns.
#ifndef HALIO_SRC_HAL_STATUS_LATCH_H_
#define HALIO_SRC_HAL_STATUS_LATCH_H_

#include <condition_variable>
#include <mutex>
#include <utility>

#include "halio/hal/semaphore.h"
#include "halio/status.h"

namespace halio {

class StatusLatch {
 public:
  void Set(Status status) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!set_) {
      set_ = true;
      status_ = std::move(status);
    }
    set_cv_.notify_all();
  }

  bool is_set() {
    std::lock_guard<std::mutex> lock(mutex_);
    return set_;
  }

  // Blocks until Set or the timeout; true when set.
  bool Wait(Timeout timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (timeout.infinite()) {
      set_cv_.wait(lock, [&] { return set_; });
      return true;
    }
    if (Timeout::Clock::now() >= timeout.deadline()) return set_;
    return set_cv_.wait_until(lock, timeout.deadline(), [&] { return set_; });
  }

  // What Set was given (OK until then).
  Status status() {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable set_cv_;
  bool set_ = false;
  Status status_;
};

}  // namespace halio

#endif  // HALIO_SRC_HAL_STATUS_LATCH_H_
