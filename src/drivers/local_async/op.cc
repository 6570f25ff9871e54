#include "src/drivers/local_async/op.h"

#include <string>

#include "src/drivers/local_async/async_device.h"

namespace halio::local_async {
namespace {

thread_local bool t_in_io_completion = false;

}  // namespace

bool InIoCompletion() { return t_in_io_completion; }

IoCompletionScope::IoCompletionScope() : was_in_completion_(t_in_io_completion) {
  t_in_io_completion = true;
}

IoCompletionScope::~IoCompletionScope() { t_in_io_completion = was_in_completion_; }

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
    waiter.semaphore->AddTimepoint(&waiter.timepoint);
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
    if (waiter.semaphore->CancelTimepoint(&waiter.timepoint)) {
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
  AsyncScheduler* device = device_;
  delete this;  // releases buffers, files and semaphores before the device counts it done
  device->OpFinished();
}

}  // namespace halio::local_async
