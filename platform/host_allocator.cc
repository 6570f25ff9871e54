// HostAllocator::System(): large blocks from the OS's page allocator
// (large_blocks.h), small ones from aligned operator new.
#include <new>

#include "halio/host_allocator.h"
#include "large_blocks.h"

namespace halio {
namespace {

class SystemHostAllocator final : public HostAllocator {
 public:
  void* Allocate(std::size_t size, std::size_t alignment) noexcept override {
    if (platform::IsLargeBlock(size, alignment)) return platform::AllocateLargeBlock(size);
    // operator new(0) returns a unique pointer; keep that so a zero-length
    // buffer still has a valid, distinct address.
    return ::operator new(size, std::align_val_t(alignment), std::nothrow);
  }
  void Free(void* memory, std::size_t size, std::size_t alignment) noexcept override {
    if (platform::IsLargeBlock(size, alignment)) {
      if (memory != nullptr) platform::FreeLargeBlock(memory, size);
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
