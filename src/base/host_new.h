// Objects allocated from a caller's HostAllocator. Internal.
//
// HostAllocated: a base whose class-specific operator new takes a
// HostAllocator and whose operator delete returns the memory to it, so
// `new (host) T(...)` and a plain `delete` (or std::unique_ptr<T>, even
// through a base pointer with a virtual destructor) use the caller's
// allocator. The allocator is remembered in a small header before the object.
//
// HostMakeShared: std::allocate_shared through the caller's allocator, with
// allocation failure (and std::bad_alloc from the constructor) returned as
// RESOURCE_EXHAUSTED instead of thrown.
#ifndef HALIO_SRC_BASE_HOST_NEW_H_
#define HALIO_SRC_BASE_HOST_NEW_H_

#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "halio/host_allocator.h"
#include "halio/status.h"

namespace halio {

class HostAllocated {
 public:
  // Returns null when `host` has no memory: `new (host) T(...)` then yields
  // null without running the constructor.
  static void* operator new(std::size_t size, HostAllocator& host) noexcept {
    return operator new(size, host, 0);
  }
  // `new (host, n) T(...)`: n more bytes right after the object, in the same
  // block (a payload that lives and dies with it).
  static void* operator new(std::size_t size, HostAllocator& host,
                            std::size_t trailing) noexcept {
    if (trailing > static_cast<std::size_t>(-1) - size - kHeaderBytes) return nullptr;
    size += trailing;
    void* block = host.Allocate(size + kHeaderBytes, kHeaderBytes);
    if (block == nullptr) return nullptr;
    auto* header = static_cast<Header*>(block);
    header->host = &host;
    header->size = size;
    return static_cast<std::byte*>(block) + kHeaderBytes;
  }
  // Used when the constructor throws.
  static void operator delete(void* object, HostAllocator&) noexcept { Release(object); }
  static void operator delete(void* object, HostAllocator&, std::size_t) noexcept {
    Release(object);
  }
  static void operator delete(void* object) noexcept { Release(object); }

 private:
  struct Header {
    HostAllocator* host;
    std::size_t size;
  };
  // Keeps the object aligned for anything up to max_align_t.
  static constexpr std::size_t kHeaderBytes = alignof(std::max_align_t) > sizeof(Header)
                                                  ? alignof(std::max_align_t)
                                                  : sizeof(Header);
  static void Release(void* object) noexcept {
    if (object == nullptr) return;
    void* block = static_cast<std::byte*>(object) - kHeaderBytes;
    auto* header = static_cast<Header*>(block);
    header->host->Free(block, header->size + kHeaderBytes, kHeaderBytes);
  }
};

// `new (host, trailing) T(args...)` as a Result: `trailing` more bytes follow
// the object in its block. RESOURCE_EXHAUSTED naming `what` when the memory
// cannot be had or the constructor throws std::bad_alloc.
template <typename T, typename... Args>
Result<T*> HostNewWithTrailing(HostAllocator& host, std::string_view what, std::size_t trailing,
                               Args&&... args) {
  static_assert(alignof(T) <= alignof(std::max_align_t),
                "HostAllocated keeps objects aligned to max_align_t only");
  T* object = nullptr;
  try {
    object = new (host, trailing) T(std::forward<Args>(args)...);
  } catch (const std::bad_alloc&) {
  }
  if (object == nullptr) {
    return ResourceExhaustedError("out of host memory for " + std::string(what));
  }
  return object;
}

// `new (host) T(args...)` as a Result (HostNewWithTrailing without a payload).
template <typename T, typename... Args>
Result<T*> HostNew(HostAllocator& host, std::string_view what, Args&&... args) {
  return HostNewWithTrailing<T>(host, what, 0, std::forward<Args>(args)...);
}

template <typename T, typename... Args>
Result<std::shared_ptr<T>> HostMakeShared(HostAllocator& host, std::string_view what,
                                          Args&&... args) {
  try {
    return std::allocate_shared<T>(HostAllocatorAdapter<T>(host), std::forward<Args>(args)...);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of host memory for " + std::string(what));
  }
}

// A std::vector whose memory comes from a HostAllocator.
template <typename T>
using HostVector = std::vector<T, HostAllocatorAdapter<T>>;

}  // namespace halio

#endif  // HALIO_SRC_BASE_HOST_NEW_H_
