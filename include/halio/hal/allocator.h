// BufferAllocator: creates host-memory buffers and imports caller memory
// (a device's allocator(); the memory itself comes from a HostAllocator, see
// halio/host_allocator.h for halio's three allocators).
//
// Allocated buffers are aligned to at least kMinBufferAlignment (64 bytes: a
// cache line, what SIMD kernels expect) and to kPageAlignment (4096) for
// buffers of 4 KiB and up, because the kernel's copy into user memory is
// several times slower when the destination is 1..31 bytes past a page
// boundary (see PERF_NOTES.md) and O_DIRECT wants page-aligned memory.
//
// Thread-safety: all methods are thread-safe. The allocator must outlive no
// buffer: buffers keep their storage alive on their own.
#ifndef HALIO_HAL_ALLOCATOR_H_
#define HALIO_HAL_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "halio/hal/buffer.h"
#include "halio/host_allocator.h"
#include "halio/status.h"

namespace halio {

inline constexpr size_t kMinBufferAlignment = 64;
inline constexpr size_t kPageAlignment = 4096;

// halio's own: memory the host cannot map (src/hal/device_memory.h).
class DeviceMemory;

class BufferAllocator {
 public:
  // `host` provides the memory and must outlive every buffer allocated here.
  explicit BufferAllocator(HostAllocator& host = HostAllocator::System()) : host_(host) {}
  // A discrete device's allocator: kDeviceLocal buffers come from `device`.
  // Internal to halio's drivers (DeviceMemory is not a public type).
  BufferAllocator(HostAllocator& host, std::shared_ptr<DeviceMemory> device);

  // Allocates a buffer of `byte_length` bytes (0 is allowed), zero-filled
  // unless params.zero_initialize is false.
  // `transient` marks buffers whose storage queue_dealloca may free.
  // MemoryType::kDeviceLocal without kHostVisible asks for the device's own
  // memory: device memory on a discrete device (never zero-filled unless
  // params.zero_initialize), host memory typed kDeviceLocal | kHost
  // elsewhere. Errors: RESOURCE_EXHAUSTED when the host (or device) has no
  // memory, INVALID_ARGUMENT for a type with neither kHostVisible nor
  // kDeviceLocal.
  Result<BufferRef> Allocate(const BufferParams& params, uint64_t byte_length,
                             bool transient = false);

  // Wraps caller memory as a buffer without copying. `release` is called
  // exactly once when the last reference drops; if Import fails it is not
  // called and the caller keeps ownership. Errors: OUT_OF_RANGE when
  // `memory.data()` is not 64-byte aligned and `params.access` lacks
  // kUnaligned; RESOURCE_EXHAUSTED when the bookkeeping cannot be allocated.
  Result<BufferRef> Import(const BufferParams& params, std::span<std::byte> memory,
                           ReleaseCallback release);

  HostAllocator& host_allocator() const { return host_; }
  // The device memory of a discrete device's allocator, or null.
  const std::shared_ptr<DeviceMemory>& device_memory() const { return device_; }

  // Alignment Allocate uses for a buffer of `byte_length` bytes.
  static size_t AlignmentFor(uint64_t byte_length) {
    return byte_length >= kPageAlignment ? kPageAlignment : kMinBufferAlignment;
  }

 private:
  Result<BufferRef> AllocateDevice(const BufferParams& params, uint64_t byte_length,
                                   bool transient);

  HostAllocator& host_;
  std::shared_ptr<DeviceMemory> device_;
};

// The name before issue 10 (it allocates buffers, not heap memory); kept for
// one release.
using HeapAllocator [[deprecated("renamed BufferAllocator")]] = BufferAllocator;

}  // namespace halio

#endif  // HALIO_HAL_ALLOCATOR_H_
