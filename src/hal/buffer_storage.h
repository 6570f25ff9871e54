// BufferStorage: the memory behind a Buffer and its views. Internal.
//
// Either allocated from a HostAllocator or imported with a release callback.
// Release() frees/returns the memory exactly once: on Decommit (queue_dealloca)
// or when the last Buffer referring to it is destroyed.
#ifndef HALIO_SRC_HAL_BUFFER_STORAGE_H_
#define HALIO_SRC_HAL_BUFFER_STORAGE_H_

#include <atomic>
#include <cstddef>
#include <span>

#include "halio/hal/buffer.h"
#include "halio/host_allocator.h"

namespace halio {

class BufferStorage {
 public:
  // Takes ownership of `data`, allocated from `host` with `alignment`.
  BufferStorage(std::byte* data, size_t length, HostAllocator* host, size_t alignment)
      : data_(data), length_(length), host_(host), bookkeeping_(*host), alignment_(alignment) {}
  // Wraps caller memory; `release` runs once on Release(). Views of it are
  // allocated from `bookkeeping`.
  BufferStorage(std::span<std::byte> memory, ReleaseCallback release, HostAllocator& bookkeeping)
      : data_(memory.data()), length_(memory.size()), bookkeeping_(bookkeeping),
        release_(release) {}
  ~BufferStorage() { Release(); }
  BufferStorage(const BufferStorage&) = delete;
  BufferStorage& operator=(const BufferStorage&) = delete;

  std::byte* data() const { return data_; }
  size_t length() const { return length_; }
  bool released() const { return released_.load(std::memory_order_acquire); }
  // Where Buffer objects (views) over this storage are allocated.
  HostAllocator& bookkeeping() const { return bookkeeping_; }

  // Forgets imported memory without calling its release callback (a failed
  // import leaves ownership with the caller).
  void Disarm() { released_.store(true, std::memory_order_release); }

  void Release() {
    if (released_.exchange(true, std::memory_order_acq_rel)) return;
    if (host_ != nullptr) {
      host_->Free(data_, length_, alignment_);
    } else {
      release_(std::span<std::byte>(data_, length_));
    }
  }

 private:
  std::byte* const data_;
  const size_t length_;
  HostAllocator* const host_ = nullptr;
  HostAllocator& bookkeeping_;
  const size_t alignment_ = 0;
  const ReleaseCallback release_;
  std::atomic<bool> released_{false};
};

}  // namespace halio

#endif  // HALIO_SRC_HAL_BUFFER_STORAGE_H_
