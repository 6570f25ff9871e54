// Buffers in a device's own memory, and their bytes, on every device: the
// suites allocate "the device's buffer" (MemoryType::kDeviceLocal) and check
// or set its contents without caring whether the host can map it. A
// host-visible buffer (local_sync, local_async, a kHost buffer anywhere) is
// mapped; device memory (local_discrete, cuda) is reached through the
// device's own queue_copy to or from a kHost buffer, as an application
// would.
//
//   HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, AllocateDeviceBuffer(*device, 4096));
//   HALIO_ASSERT_OK(WriteBufferBytes(*device, buffer, bytes));
//   EXPECT_THAT(ReadBufferBytes(*device, buffer), IsOkAndHolds(bytes));
//
// The kHost buffers and semaphores these helpers need come from the device
// allocator's HostAllocator, so an allocation-failure sweep reaches them
// too (they fail with RESOURCE_EXHAUSTED).
//
// Thread-safety: as the device's queue operations; the caller orders these
// calls after the ops that produce the bytes (wait for their semaphores).
#ifndef HALIO_TESTS_TESTING_DEVICE_BUFFERS_H_
#define HALIO_TESTS_TESTING_DEVICE_BUFFERS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "halio/hal/buffer.h"
#include "halio/hal/device.h"
#include "halio/status.h"

namespace halio::testing {

// `params` asking for the device's own memory: type MemoryType::kDeviceLocal
// alone, the rest unchanged.
BufferParams DeviceLocalParams(BufferParams params = {});

// A buffer of the device's own memory (DeviceLocalParams(params)); fails the
// test when its host visibility breaks the device's contract
// (DeviceLocalIsHostVisible in matrix.h). Errors: those of
// BufferAllocator::Allocate.
Result<BufferRef> AllocateDeviceBuffer(Device& device, uint64_t length,
                                       const BufferParams& params = {});

// [offset, offset + length) of `buffer` (kWholeBuffer: to the end). A
// host-visible buffer is mapped; otherwise the bytes come back through
// device.QueueCopy into a kHost buffer, waited for up to `deadline`.
// Errors: those of Map / Allocate / QueueCopy, the copy's failure (what its
// semaphore was failed with) or DEADLINE_EXCEEDED.
Result<std::vector<std::byte>> ReadBufferBytes(
    Device& device, const BufferRef& buffer, uint64_t offset = 0,
    uint64_t length = kWholeBuffer, std::chrono::seconds deadline = std::chrono::seconds(60));

// Writes `bytes` into `buffer` at `offset`: mapped when host-visible, else
// through a kHost buffer and device.QueueCopy, waited for. Errors: as
// ReadBufferBytes.
Status WriteBufferBytes(Device& device, const BufferRef& buffer,
                        std::span<const std::byte> bytes, uint64_t offset = 0,
                        std::chrono::seconds deadline = std::chrono::seconds(60));

// ReadBufferBytes without a device, for buffers that outlived theirs:
// CopyInline (which reaches device memory through the memory's own copy
// engine) into a kHost buffer from `host`. Errors: those of CopyInline and
// Allocate.
Result<std::vector<std::byte>> ReadBufferBytesInline(const BufferRef& buffer,
                                                     HostAllocator& host);

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_DEVICE_BUFFERS_H_
