// Large host blocks straight from the OS's page allocator, for
// HostAllocator::System() (host_allocator.cc): mmap with transparent huge
// pages on POSIX (posix/host_allocator_posix.cc), VirtualAlloc on Windows
// (win32/host_allocator_win32.cc). Thread-safe.
#ifndef HALIO_PLATFORM_LARGE_BLOCKS_H_
#define HALIO_PLATFORM_LARGE_BLOCKS_H_

#include <cstddef>

namespace halio::platform {

// Whether a block of `size` bytes aligned to `alignment` comes from here.
bool IsLargeBlock(std::size_t size, std::size_t alignment);
// Null when the OS refuses.
void* AllocateLargeBlock(std::size_t size);
// `size` as given to AllocateLargeBlock.
void FreeLargeBlock(void* memory, std::size_t size);

}  // namespace halio::platform

#endif  // HALIO_PLATFORM_LARGE_BLOCKS_H_
