// HostAllocator: where halio gets host memory it allocates for a caller.
//
// Buffer storage is allocated through the allocator the caller passes (as
// IREE passes iree_allocator_t), so an embedding runtime can account for it or
// inject failures. System() is a process-wide allocator (platform/): aligned
// operator new for small blocks, huge-page-backed mmap for blocks of 2 MiB
// and more; it is thread-safe and never destroyed.
#ifndef HALIO_HOST_ALLOCATOR_H_
#define HALIO_HOST_ALLOCATOR_H_

#include <cstddef>

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

}  // namespace halio

#endif  // HALIO_HOST_ALLOCATOR_H_
