// local_async's worker threads and their ready queue. Internal.
//
// A Task is a unit of work: an op that became ready, or one chunk of a file
// op. Tasks are intrusive (the op or slot owns its Task), so queueing one
// allocates nothing.
//
// Ownership: the pool owns its threads; Stop() (or the destructor) drains the
// queue and joins them. Tasks are owned by whoever queued them.
// Thread-safety: Enqueue may be called from any thread, including a task; a
// task's first Enqueue from a worker goes to that worker's private next-task
// slot (no lock), the rest to the shared mutex-protected queue.
#ifndef HALIO_SRC_DRIVERS_LOCAL_ASYNC_WORKER_POOL_H_
#define HALIO_SRC_DRIVERS_LOCAL_ASYNC_WORKER_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "halio/status.h"
#include "host_new.h"

namespace halio::local_async {

struct Task {
  void (*run)(Task* task) = nullptr;
  void* owner = nullptr;  // the Op or chunk slot this task belongs to
  Task* next = nullptr;
};

// What a worker thread runs besides tasks: `on_start` first, `before_idle`
// each time before it sleeps for want of tasks and before it exits (the
// device's op pool batches frees per worker, OpPool::BatchFreesOnThisThread).
struct WorkerHooks {
  void (*on_start)(void* context) = nullptr;
  void (*before_idle)(void* context) = nullptr;
  void* context = nullptr;
};

class WorkerPool {
 public:
  explicit WorkerPool(HostAllocator& host, WorkerHooks hooks = {});
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts `count` workers; on failure the ones started stay (Stop joins
  // them). Errors: RESOURCE_EXHAUSTED naming the worker that did not start.
  Status Start(uint32_t count);
  // Queues `task` to run on a worker. Does not touch the pool once a worker
  // can have picked the task up, so a task may end the pool's owner.
  void Enqueue(Task* task);
  // Runs what is queued, then joins the workers. Idempotent.
  void Stop();
  // True on this pool's worker threads.
  bool OnWorkerThread() const;

 private:
  // One worker thread, allocated on its own so that failing to start the
  // k-th one (no memory, or no thread) leaves exactly k - 1 to join.
  struct Worker : public HostAllocated {
    std::thread thread;
  };
  Status StartWorker(uint32_t index, uint32_t count);
  void WorkerLoop();
  // Runs `task`, then each task it handed to this worker directly (Enqueue).
  void RunChain(Task* task);
  // Appends to the queue; returns whether an idle worker should wake.
  bool PushLocked(Task* task);

  HostAllocator& host_;
  const WorkerHooks hooks_;
  std::mutex mutex_;
  std::condition_variable work_available_;
  Task* queue_head_ = nullptr;
  Task* queue_tail_ = nullptr;
  uint32_t idle_workers_ = 0;
  bool stopping_ = false;
  HostVector<std::unique_ptr<Worker>> workers_;
};

}  // namespace halio::local_async

#endif  // HALIO_SRC_DRIVERS_LOCAL_ASYNC_WORKER_POOL_H_
