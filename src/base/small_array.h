// SmallArray<T, N>: a fixed-size array whose size is chosen at run time,
// stored within the object when it fits in N elements and otherwise in memory from the
// caller's HostAllocator. For per-operation lists (wait/signal semaphores)
// that are almost always short: the common case costs no allocation.
// Elements never move once created.
#ifndef HALIO_SRC_BASE_SMALL_ARRAY_H_
#define HALIO_SRC_BASE_SMALL_ARRAY_H_

#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <span>

#include "halio/host_allocator.h"

namespace halio {

template <typename T, size_t N>
class SmallArray {
 public:
  SmallArray() = default;
  SmallArray(const SmallArray&) = delete;
  SmallArray& operator=(const SmallArray&) = delete;
  ~SmallArray() { FreeHeap(); }

  // Sets the size to `size` default-constructed elements (call once); a
  // heap array comes from `host`. Returns false when it cannot be had.
  [[nodiscard]] bool Resize(size_t size, HostAllocator& host) {
    if (size > N) {
      if (size > static_cast<size_t>(-1) / sizeof(T)) return false;
      void* memory = host.Allocate(size * sizeof(T), alignof(T));
      if (memory == nullptr) return false;
      heap_ = static_cast<T*>(memory);
      host_ = &host;
      // Not std::uninitialized_default_construct: T's default constructors
      // here do not throw, and value-initialized elements match inline_.
      for (size_t i = 0; i < size; ++i) new (heap_ + i) T();
    }
    size_ = size;
    return true;
  }
  T* data() { return heap_ ? heap_ : inline_.data(); }
  const T* data() const { return heap_ ? heap_ : inline_.data(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  std::span<T> span() { return {data(), size_}; }
  std::span<const T> span() const { return {data(), size_}; }

 private:
  void FreeHeap() {
    if (heap_ == nullptr) return;
    std::destroy_n(heap_, size_);
    host_->Free(heap_, size_ * sizeof(T), alignof(T));
  }

  std::array<T, N> inline_{};
  T* heap_ = nullptr;
  HostAllocator* host_ = nullptr;
  size_t size_ = 0;
};

}  // namespace halio

#endif  // HALIO_SRC_BASE_SMALL_ARRAY_H_
