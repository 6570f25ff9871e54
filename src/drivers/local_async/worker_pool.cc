#include "local_async/worker_pool.h"

#include <new>
#include <string>
#include <system_error>

namespace halio::local_async {
namespace {

// The pool whose worker the current thread is, if any.
thread_local const WorkerPool* t_worker_of = nullptr;
// The worker's next task: the first task its current one makes ready (an
// op's signal readies the op chained on it). Only this thread touches it, so
// taking that hand-off costs no lock and no wake-up.
thread_local Task* t_next_task = nullptr;
// Tasks run from t_next_task in a row; capped so that a long chain cannot
// keep a worker from the shared queue.
thread_local uint32_t t_next_task_run = 0;
constexpr uint32_t kMaxNextTaskRun = 64;

}  // namespace

WorkerPool::WorkerPool(HostAllocator& host, WorkerHooks hooks)
    : host_(host), hooks_(hooks), workers_(HostAllocatorAdapter<std::unique_ptr<Worker>>(host)) {}

Status WorkerPool::Start(uint32_t count) {
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

Status WorkerPool::StartWorker(uint32_t index, uint32_t count) {
  const std::string which = "local_async worker thread " + std::to_string(index + 1) +
                            " of " + std::to_string(count);
  HALIO_ASSIGN_OR_RETURN(Worker * raw, HostNew<Worker>(host_, which));
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

void WorkerPool::WorkerLoop() {
  t_worker_of = this;
  if (hooks_.on_start) hooks_.on_start(hooks_.context);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (queue_head_ == nullptr && !stopping_) {
      if (hooks_.before_idle) {
        lock.unlock();
        hooks_.before_idle(hooks_.context);
        lock.lock();
      }
      if (queue_head_ == nullptr && !stopping_) {
        ++idle_workers_;
        work_available_.wait(lock, [&] { return queue_head_ != nullptr || stopping_; });
        --idle_workers_;
      }
    }
    if (queue_head_ == nullptr) {  // stopping and drained
      lock.unlock();
      if (hooks_.before_idle) hooks_.before_idle(hooks_.context);
      return;
    }
    Task* task = queue_head_;
    queue_head_ = task->next;
    if (queue_head_ == nullptr) queue_tail_ = nullptr;
    lock.unlock();
    RunChain(task);
    lock.lock();
  }
}

void WorkerPool::RunChain(Task* task) {
  t_next_task_run = 0;
  while (task != nullptr) {
    task->next = nullptr;
    task->run(task);
    task = t_next_task;
    t_next_task = nullptr;
  }
}

bool WorkerPool::PushLocked(Task* task) {
  const bool was_empty = queue_head_ == nullptr;
  task->next = nullptr;
  if (queue_tail_) {
    queue_tail_->next = task;
  } else {
    queue_head_ = task;
  }
  queue_tail_ = task;
  // The first task a worker makes ready went to its t_next_task; work
  // beyond that, or from other threads, wakes an idle worker. A worker whose
  // chain ran kMaxNextTaskRun tasks pushes here and, finding the queue
  // empty, picks the task up itself without waking anyone.
  return idle_workers_ > 0 && !(t_worker_of == this && was_empty);
}

void WorkerPool::Enqueue(Task* task) {
  if (t_worker_of == this && t_next_task == nullptr && t_next_task_run < kMaxNextTaskRun) {
    ++t_next_task_run;
    t_next_task = task;  // run by this worker as soon as its task returns
    return;
  }
  // Notify under the lock: once it is released a worker may finish the last
  // op and let the device be destroyed while this thread (an engine's, or
  // one signaling a semaphore) would still touch the condition variable.
  std::lock_guard<std::mutex> lock(mutex_);
  if (PushLocked(task)) work_available_.notify_one();
}

bool WorkerPool::OnWorkerThread() const { return t_worker_of == this; }

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_available_.notify_all();
  for (std::unique_ptr<Worker>& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

}  // namespace halio::local_async
