// InlineArray<T, N>: a fixed-size array whose size is chosen at run time,
// stored inline when it fits in N elements and on the heap otherwise. For
// per-operation lists (wait/signal semaphores) that are almost always short:
// the common case costs no allocation. Elements never move once created.
#ifndef HALIO_SRC_BASE_INLINE_ARRAY_H_
#define HALIO_SRC_BASE_INLINE_ARRAY_H_

#include <array>
#include <cstddef>
#include <memory>
#include <span>

namespace halio {

template <typename T, size_t N>
class InlineArray {
 public:
  InlineArray() = default;
  InlineArray(const InlineArray&) = delete;
  InlineArray& operator=(const InlineArray&) = delete;

  // Sets the size to `size` default-constructed elements (call once).
  // Throws std::bad_alloc when a heap array is needed and cannot be had.
  void Resize(size_t size) {
    if (size > N) heap_ = std::make_unique<T[]>(size);
    size_ = size;
  }
  T* data() { return heap_ ? heap_.get() : inline_.data(); }
  const T* data() const { return heap_ ? heap_.get() : inline_.data(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  std::span<T> span() { return {data(), size_}; }
  std::span<const T> span() const { return {data(), size_}; }

 private:
  std::array<T, N> inline_{};
  std::unique_ptr<T[]> heap_;
  size_t size_ = 0;
};

}  // namespace halio

#endif  // HALIO_SRC_BASE_INLINE_ARRAY_H_
