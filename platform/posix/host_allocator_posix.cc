// HostAllocator::System() on POSIX. Large blocks (>= 2 MiB) come straight
// from mmap with transparent huge pages requested: a loader writing into
// fresh memory is otherwise bound by one page fault per 4 KiB (about
// 2.5 GB/s per thread here, PERF_NOTES.md), and with THP in "madvise" mode
// (Debian's default) nothing else asks for them. Small blocks use aligned
// operator new.
#include <sys/mman.h>

#include <cstdint>
#include <new>

#include "halio/host_allocator.h"

namespace halio {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

bool IsLarge(std::size_t size) { return size >= kHugePage; }

std::size_t RoundToHugePages(std::size_t size) {
  return (size + kHugePage - 1) / kHugePage * kHugePage;
}

// Maps size rounded up to huge pages, aligned to a huge page so the whole
// range can be backed by them.
void* MapLarge(std::size_t size) {
  const std::size_t length = RoundToHugePages(size);
  void* raw = ::mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto address = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (address + kHugePage - 1) / kHugePage * kHugePage;
  // Give back the unaligned head and the unused tail of the over-allocation.
  if (aligned > address) ::munmap(raw, aligned - address);
  const std::uintptr_t end = address + length + kHugePage;
  if (end > aligned + length) ::munmap(reinterpret_cast<void*>(aligned + length),
                                       end - (aligned + length));
  // Advice only: without THP the memory works the same, in 4 KiB pages.
  ::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

class SystemHostAllocator final : public HostAllocator {
 public:
  void* Allocate(std::size_t size, std::size_t alignment) noexcept override {
    if (IsLarge(size) && alignment <= kHugePage) return MapLarge(size);
    // operator new(0) returns a unique pointer; keep that so a zero-length
    // buffer still has a valid, distinct address.
    return ::operator new(size, std::align_val_t(alignment), std::nothrow);
  }
  void Free(void* memory, std::size_t size, std::size_t alignment) noexcept override {
    if (IsLarge(size) && alignment <= kHugePage) {
      ::munmap(memory, RoundToHugePages(size));
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
