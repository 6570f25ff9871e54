// Large host blocks on POSIX (large_blocks.h): >= 2 MiB straight from mmap
// with transparent huge pages requested: a loader writing into
// fresh memory is otherwise bound by one page fault per 4 KiB (about
// 2.5 GB/s per thread here, PERF_NOTES.md), and with THP in "madvise" mode
// (Debian's default) nothing else asks for them.
#include <sys/mman.h>

#include <cstdint>

#include "large_blocks.h"

namespace halio::platform {
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

}  // namespace

bool IsLargeBlock(std::size_t size, std::size_t alignment) {
  return IsLarge(size) && alignment <= kHugePage;
}

void* AllocateLargeBlock(std::size_t size) { return MapLarge(size); }

void FreeLargeBlock(void* memory, std::size_t size) { ::munmap(memory, RoundToHugePages(size)); }

}  // namespace halio::platform
