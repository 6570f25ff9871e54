// HostAllocator::System() on Windows: large blocks (>= 2 MiB) straight from
// VirtualAlloc (committed pages, 64 KiB-aligned, zeroed lazily by the OS
// like mmap's), small ones from aligned operator new.
#include <windows.h>

#include <new>

#include "halio/host_allocator.h"

namespace halio {
namespace {

constexpr std::size_t kLargeBlock = std::size_t{2} << 20;
constexpr std::size_t kAllocationGranularity = std::size_t{64} << 10;

bool FromVirtualAlloc(std::size_t size, std::size_t alignment) {
  return size >= kLargeBlock && alignment <= kAllocationGranularity;
}

class SystemHostAllocator final : public HostAllocator {
 public:
  void* Allocate(std::size_t size, std::size_t alignment) noexcept override {
    if (FromVirtualAlloc(size, alignment)) {
      return ::VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    }
    return ::operator new(size, std::align_val_t(alignment), std::nothrow);
  }
  void Free(void* memory, std::size_t size, std::size_t alignment) noexcept override {
    if (FromVirtualAlloc(size, alignment)) {
      if (memory != nullptr) ::VirtualFree(memory, 0, MEM_RELEASE);
      return;
    }
    ::operator delete(memory, std::align_val_t(alignment));
  }
};

}  // namespace

HostAllocator& HostAllocator::System() {
  // Never destroyed: buffers released during static destruction still free.
  static SystemHostAllocator* allocator = new SystemHostAllocator();
  return *allocator;
}

}  // namespace halio
