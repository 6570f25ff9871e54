// BufferStorage: the memory behind a Buffer and its views. Internal.
//
// Allocated from a HostAllocator, imported with a release callback, or
// device memory (device_memory.h) the host cannot map. Release()
// frees/returns the memory exactly once: on Decommit (queue_dealloca) or when
// the last Buffer referring to it is destroyed.
#ifndef HALIO_SRC_HAL_BUFFER_STORAGE_H_
#define HALIO_SRC_HAL_BUFFER_STORAGE_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <span>
#include <utility>

#include "halio/hal/buffer.h"
#include "halio/host_allocator.h"
#include "device_memory.h"

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
  // Device memory at `address` (from memory->Allocate), freed back to it.
  BufferStorage(std::byte* address, size_t length, std::shared_ptr<DeviceMemory> memory,
                HostAllocator& bookkeeping)
      : data_(address), length_(length), bookkeeping_(bookkeeping),
        device_memory_(std::move(memory)) {}
  ~BufferStorage() { Release(); }
  BufferStorage(const BufferStorage&) = delete;
  BufferStorage& operator=(const BufferStorage&) = delete;

  // The host address, or for device memory the device's address.
  std::byte* data() const { return data_; }
  // The device memory this storage lives in, or null for host memory.
  DeviceMemory* device_memory() const { return device_memory_.get(); }
  size_t length() const { return length_; }
  bool released() const { return released_.load(std::memory_order_acquire); }
  // Where Buffer objects (views) over this storage are allocated.
  HostAllocator& bookkeeping() const { return bookkeeping_; }

  // Forgets imported memory without calling its release callback (a failed
  // import leaves ownership with the caller).
  void Disarm() { released_.store(true, std::memory_order_release); }

  void Release() {
    if (released_.exchange(true, std::memory_order_acq_rel)) return;
    if (device_memory_) {
      device_memory_->Free(data_, length_);
    } else if (host_ != nullptr) {
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
  const std::shared_ptr<DeviceMemory> device_memory_;
  std::atomic<bool> released_{false};
};

}  // namespace halio

#endif  // HALIO_SRC_HAL_BUFFER_STORAGE_H_
