#include "testing/device_buffers.h"

#include <gtest/gtest.h>

#include <cstring>

#include "halio/hal/semaphore.h"
#include "halio/hal/transfer.h"
#include "testing/matrix.h"

namespace halio::testing {
namespace {

// A kHost buffer of `length` bytes from the allocator's own HostAllocator
// (not zeroed: every byte is overwritten).
Result<BufferRef> AllocateHostBuffer(HostAllocator& host, uint64_t length) {
  BufferParams params;
  params.zero_initialize = false;
  return BufferAllocator(host).Allocate(params, length);
}

// One queue_copy from `source` to `target`, run to completion.
Status RunCopy(Device& device, const BufferRef& source, uint64_t source_offset,
               const BufferRef& target, uint64_t target_offset, uint64_t length,
               std::chrono::seconds deadline) {
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done,
                         Semaphore::Create(0, device.allocator().host_allocator()));
  SemaphorePoint signal[] = {{done.get(), 1}};
  const Status queued =
      device.QueueCopy({}, signal, source, source_offset, target, target_offset, length);
  return Outcome(queued, *done, 1, deadline);
}

std::vector<std::byte> BytesOf(const MappedMemory& mapping) {
  return std::vector<std::byte>(mapping.data(), mapping.data() + mapping.size());
}

}  // namespace

BufferParams DeviceLocalParams(BufferParams params) {
  params.type = MemoryType::kDeviceLocal;
  return params;
}

Result<BufferRef> AllocateDeviceBuffer(Device& device, uint64_t length,
                                       const BufferParams& params) {
  HALIO_ASSIGN_OR_RETURN(BufferRef buffer,
                         device.allocator().Allocate(DeviceLocalParams(params), length));
  // A suite meant to exercise device memory must not silently get host
  // memory (nor the reverse).
  EXPECT_EQ(buffer->host_visible(), DeviceLocalIsHostVisible(device.id()))
      << device.id() << "'s kDeviceLocal memory breaks its contract in matrix.cc: "
      << buffer->Describe();
  return buffer;
}

Result<std::vector<std::byte>> ReadBufferBytes(Device& device, const BufferRef& buffer,
                                               uint64_t offset, uint64_t length,
                                               std::chrono::seconds deadline) {
  if (buffer->host_visible()) {
    HALIO_ASSIGN_OR_RETURN(MappedMemory mapping, buffer->Map(MemoryAccess::kRead, offset, length));
    return BytesOf(mapping);
  }
  uint64_t resolved = 0;
  HALIO_RETURN_IF_ERROR(
      CheckRange(buffer->Describe(), buffer->byte_length(), offset, length, &resolved));
  HALIO_ASSIGN_OR_RETURN(BufferRef host,
                         AllocateHostBuffer(device.allocator().host_allocator(), resolved));
  HALIO_RETURN_IF_ERROR(RunCopy(device, buffer, offset, host, 0, resolved, deadline));
  HALIO_ASSIGN_OR_RETURN(MappedMemory mapping, host->Map(MemoryAccess::kRead));
  return BytesOf(mapping);
}

Status WriteBufferBytes(Device& device, const BufferRef& buffer, std::span<const std::byte> bytes,
                        uint64_t offset, std::chrono::seconds deadline) {
  if (buffer->host_visible()) {
    HALIO_ASSIGN_OR_RETURN(MappedMemory mapping,
                           buffer->Map(MemoryAccess::kWrite, offset, bytes.size()));
    if (!bytes.empty()) std::memcpy(mapping.data(), bytes.data(), bytes.size());
    return Status();
  }
  HALIO_RETURN_IF_ERROR(
      CheckRange(buffer->Describe(), buffer->byte_length(), offset, bytes.size()));
  HALIO_ASSIGN_OR_RETURN(BufferRef host,
                         AllocateHostBuffer(device.allocator().host_allocator(), bytes.size()));
  {
    HALIO_ASSIGN_OR_RETURN(MappedMemory mapping, host->Map(MemoryAccess::kWrite));
    if (!bytes.empty()) std::memcpy(mapping.data(), bytes.data(), bytes.size());
  }
  return RunCopy(device, host, 0, buffer, offset, bytes.size(), deadline);
}

Result<std::vector<std::byte>> ReadBufferBytesInline(const BufferRef& buffer,
                                                     HostAllocator& host) {
  if (buffer->host_visible()) {
    HALIO_ASSIGN_OR_RETURN(MappedMemory mapping, buffer->Map(MemoryAccess::kRead));
    return BytesOf(mapping);
  }
  HALIO_ASSIGN_OR_RETURN(BufferRef copy, AllocateHostBuffer(host, buffer->byte_length()));
  HALIO_RETURN_IF_ERROR(CopyInline(*buffer, 0, *copy, 0, buffer->byte_length()));
  HALIO_ASSIGN_OR_RETURN(MappedMemory mapping, copy->Map(MemoryAccess::kRead));
  return BytesOf(mapping);
}

}  // namespace halio::testing
