// Large host blocks on Windows (large_blocks.h): >= 2 MiB straight from
// VirtualAlloc (committed pages, 64 KiB-aligned, zeroed lazily by the OS
// like mmap's).
#include <windows.h>

#include "large_blocks.h"

namespace halio::platform {
namespace {

constexpr std::size_t kLargeBlock = std::size_t{2} << 20;
constexpr std::size_t kAllocationGranularity = std::size_t{64} << 10;

}  // namespace

bool IsLargeBlock(std::size_t size, std::size_t alignment) {
  return size >= kLargeBlock && alignment <= kAllocationGranularity;
}

void* AllocateLargeBlock(std::size_t size) {
  return ::VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void FreeLargeBlock(void* memory, std::size_t) { ::VirtualFree(memory, 0, MEM_RELEASE); }

}  // namespace halio::platform
