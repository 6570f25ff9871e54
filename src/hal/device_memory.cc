#include "device_memory.h"

#include <condition_variable>
#include <mutex>
#include <utility>

namespace halio {
namespace {

struct CopyLatch {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  Status status;
};

void ReleaseLatch(DeviceCopy* copy, Status status) {
  auto* latch = static_cast<CopyLatch*>(copy->user_data);
  std::lock_guard<std::mutex> lock(latch->mutex);
  latch->status = std::move(status);
  latch->done = true;
  // Under the lock: once it is released the waiter may return and free
  // the latch.
  latch->cv.notify_one();
}

}  // namespace

Status SubmitAndWait(DeviceMemory& memory, DeviceCopy& copy) {
  CopyLatch latch;
  copy.done = &ReleaseLatch;
  copy.user_data = &latch;
  memory.Submit(&copy);
  std::unique_lock<std::mutex> lock(latch.mutex);
  latch.cv.wait(lock, [&] { return latch.done; });
  return std::move(latch.status);
}

Status FillAndWait(DeviceMemory& memory, std::byte* target, size_t bytes, uint32_t pattern,
                   uint32_t pattern_length) {
  DeviceCopy fill;
  fill.kind = DeviceCopy::Kind::kFill;
  fill.target = target;
  fill.bytes = bytes;
  fill.pattern = pattern;
  fill.pattern_length = pattern_length;
  return SubmitAndWait(memory, fill);
}

Status CopyAndWait(DeviceMemory& memory, DeviceCopy::Kind kind, const std::byte* source,
                   std::byte* target, size_t bytes) {
  DeviceCopy copy;
  copy.kind = kind;
  copy.source = source;
  copy.target = target;
  copy.bytes = bytes;
  return SubmitAndWait(memory, copy);
}

}  // namespace halio
