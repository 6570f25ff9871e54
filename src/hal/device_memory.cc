#include "device_memory.h"

#include <utility>

#include "status_latch.h"

namespace halio {
namespace {

void ReleaseLatch(DeviceCopy* copy, Status status) {
  static_cast<StatusLatch*>(copy->user_data)->Set(std::move(status));
}

}  // namespace

Result<DeviceAddress> DeviceMemory::AddressFor(const std::byte* /*address*/) const {
  return UnimplementedError(description() +
                            " has no address another runtime can use: only halio's queue "
                            "operations reach it. Copy its bytes to a host buffer "
                            "(queue_copy, ReadBackToHost) to hand them on");
}

Status SubmitAndWait(DeviceMemory& memory, DeviceCopy& copy) {
  StatusLatch latch;
  copy.done = &ReleaseLatch;
  copy.user_data = &latch;
  memory.Submit(&copy);
  latch.Wait(Timeout::Infinite());
  return latch.status();
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
