// HostAllocator: where halio gets host memory it allocates for a caller.
//
// halio has three allocators, each for one thing:
//   HostAllocator           raw host memory (this file): the interface a
//                           caller implements to own halio's memory.
//   HostAllocatorAdapter<T> a C++ Allocator (for std::vector, allocate_shared)
//                           that draws from a HostAllocator (this file).
//   BufferAllocator         makes HAL buffers (halio/hal/allocator.h), their
//                           storage from a HostAllocator.
//
// Buffer storage and bookkeeping (devices and their workers, queued
// operations, semaphores, files, command buffers, loader state) are allocated
// through the allocator the caller passes (as IREE passes iree_allocator_t),
// so an embedding runtime can account for it or inject failures; what still
// uses the C++ heap is listed in tests/RELIABILITY.md. System() is a
// process-wide allocator (platform/): aligned operator new for small blocks,
// huge-page-backed mmap for blocks of 2 MiB and more; it is thread-safe and
// never destroyed.
#ifndef HALIO_HOST_ALLOCATOR_H_
#define HALIO_HOST_ALLOCATOR_H_

#include <cstddef>
#include <new>

namespace halio {

class HostAllocator {
 public:
  virtual ~HostAllocator() = default;
  // Returns memory of `size` bytes aligned to `alignment` (a power of two),
  // or nullptr when the memory is not available. Must be thread-safe.
  virtual void* Allocate(std::size_t size, std::size_t alignment) noexcept = 0;
  // Frees memory from Allocate with the same size and alignment.
  virtual void Free(void* memory, std::size_t size, std::size_t alignment) noexcept = 0;

  static HostAllocator& System();
};

// A C++ Allocator (the standard library's requirements) over a HostAllocator, so containers and
// std::allocate_shared take their memory from the caller's allocator. Throws
// std::bad_alloc when the HostAllocator returns null; halio catches it and
// returns RESOURCE_EXHAUSTED. The HostAllocator must outlive every
// container or object using it.
template <typename T>
class HostAllocatorAdapter {
 public:
  using value_type = T;

  explicit HostAllocatorAdapter(HostAllocator& host) noexcept : host_(&host) {}
  template <typename U>
  HostAllocatorAdapter(const HostAllocatorAdapter<U>& other) noexcept : host_(&other.host()) {}

  T* allocate(std::size_t count) {
    if (count > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    void* memory = host_->Allocate(count * sizeof(T), alignof(T));
    if (memory == nullptr) throw std::bad_alloc();
    return static_cast<T*>(memory);
  }
  void deallocate(T* memory, std::size_t count) noexcept {
    host_->Free(memory, count * sizeof(T), alignof(T));
  }
  HostAllocator& host() const noexcept { return *host_; }

  template <typename U>
  bool operator==(const HostAllocatorAdapter<U>& other) const noexcept {
    return host_ == &other.host();
  }

 private:
  HostAllocator* host_;
};

// The name before issue 10; kept for one release.
template <typename T>
using HostStdAllocator [[deprecated("renamed HostAllocatorAdapter")]] = HostAllocatorAdapter<T>;

}  // namespace halio

#endif  // HALIO_HOST_ALLOCATOR_H_
