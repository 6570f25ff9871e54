#include "halio/hal/allocator.h"

#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "buffer_internals.h"
#include "buffer_storage.h"
#include "device_memory.h"
#include "host_new.h"

namespace halio {

BufferAllocator::BufferAllocator(HostAllocator& host, std::shared_ptr<DeviceMemory> device)
    : host_(host), device_(std::move(device)) {}

Result<BufferRef> BufferAllocator::Allocate(const BufferParams& requested,
                                          uint64_t byte_length, bool transient) {
  BufferParams params = requested;
  if (!AnySet(params.type, MemoryType::kHostVisible)) {
    if (!AnySet(params.type, MemoryType::kDeviceLocal)) {
      return InvalidArgumentError(
          "a buffer's memory type needs kHostVisible or kDeviceLocal (MemoryType::kHost "
          "for host memory)");
    }
    if (device_) return AllocateDevice(params, byte_length, transient);
    // A device whose memory the host can map: its device memory is host memory.
    params.type = params.type | MemoryType::kHost;
  }
  if (byte_length > SIZE_MAX / 2) {
    return ResourceExhaustedError("cannot allocate a buffer of " +
                                  std::to_string(byte_length) + " bytes");
  }
  const size_t length = static_cast<size_t>(byte_length);
  const size_t alignment = AlignmentFor(byte_length);
  auto* data = static_cast<std::byte*>(host_.Allocate(length, alignment));
  if (data == nullptr) {
    return ResourceExhaustedError("out of host memory allocating a buffer of " +
                                  std::to_string(byte_length) + " bytes");
  }
  // Zero-filled unless the caller overwrites everything anyway: a buffer
  // never exposes another allocation's old bytes by accident.
  if (params.zero_initialize) std::memset(data, 0, length);
  auto storage = HostMakeShared<BufferStorage>(host_, "buffer bookkeeping", data, length,
                                               &host_, alignment);
  if (!storage.ok()) {
    host_.Free(data, length, alignment);
    return storage.status();
  }
  // On failure `storage` is dropped here and frees `data`.
  return BufferInternals::Create(host_, "buffer bookkeeping", *std::move(storage), 0,
                                 byte_length, params, transient);
}

Result<BufferRef> BufferAllocator::AllocateDevice(const BufferParams& params,
                                                uint64_t byte_length, bool transient) {
  if (byte_length > SIZE_MAX / 2) {
    return ResourceExhaustedError("cannot allocate " + std::to_string(byte_length) +
                                  " bytes of " + device_->description());
  }
  const size_t length = static_cast<size_t>(byte_length);
  HALIO_ASSIGN_OR_RETURN(std::byte* address, device_->Allocate(length));
  auto storage =
      HostMakeShared<BufferStorage>(host_, "buffer bookkeeping", address, length, device_, host_);
  if (!storage.ok()) {
    device_->Free(address, length);
    return storage.status();
  }
  if (params.zero_initialize && length > 0) {
    HALIO_RETURN_IF_ERROR(FillAndWait(*device_, address, length, 0, 1));
  }
  return BufferInternals::Create(host_, "buffer bookkeeping", *std::move(storage), 0,
                                 byte_length, params, transient);
}

Result<BufferRef> BufferAllocator::Import(const BufferParams& requested,
                                        std::span<std::byte> memory,
                                        ReleaseCallback release) {
  // Imported memory is the caller's host memory, whatever type was asked.
  BufferParams params = requested;
  if (!AnySet(params.type, MemoryType::kHostVisible)) params.type = params.type | MemoryType::kHost;
  const auto address = reinterpret_cast<uintptr_t>(memory.data());
  if (address % kMinBufferAlignment != 0 &&
      !AnySet(params.access, MemoryAccess::kUnaligned)) {
    return OutOfRangeError("imported memory at " + std::to_string(address) +
                           " is not " + std::to_string(kMinBufferAlignment) +
                           "-byte aligned (address % 64 = " +
                           std::to_string(address % kMinBufferAlignment) +
                           "); align it or import with MemoryAccess::kUnaligned");
  }
  HALIO_ASSIGN_OR_RETURN(std::shared_ptr<BufferStorage> storage,
                         HostMakeShared<BufferStorage>(host_, "an imported buffer", memory,
                                                       release, host_));
  auto buffer = BufferInternals::Create(host_, "an imported buffer", storage, 0,
                                        memory.size(), params, false);
  // A failed Import promises not to call `release`: the caller keeps the
  // memory.
  if (!buffer.ok()) storage->Disarm();
  return buffer;
}

}  // namespace halio
