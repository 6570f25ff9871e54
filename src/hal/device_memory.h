// DeviceMemory: memory the host cannot map, and the copy engine that moves
// bytes into, out of and within it. Internal: implemented by the drivers of
// discrete devices (local_discrete, cuda), used by the buffer code
// (transfer.cc, file.cc) and the staged transfer (staged_transfer.h).
//
// A buffer whose storage is device memory (BufferInternals::DeviceMemoryOf)
// has no host address: Map refuses it, and every transfer touching it goes
// through Submit (fill, update, copy) or through staging buffers
// (StagedRead / StagedWrite for files).
//
// Ownership: held by std::shared_ptr; every buffer allocated from it holds a
// reference, so it outlives the device that created it as long as buffers
// do. Copies are caller-owned (intrusive): Submit allocates nothing.
// Thread-safety: every method may be called from any thread.
#ifndef HALIO_SRC_HAL_DEVICE_MEMORY_H_
#define HALIO_SRC_HAL_DEVICE_MEMORY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "halio/hal/buffer.h"
#include "halio/status.h"

namespace halio {

class StagingPool;

// One asynchronous copy (or fill). The submitter fills the fields and keeps
// the object alive until `done` has been called: exactly once, on any
// thread (often the copy engine's), with OK or the copy's error. `done` must
// not block; it may submit more copies.
struct DeviceCopy {
  enum class Kind : uint8_t {
    kToDevice,      // host `source` -> device `target`
    kFromDevice,    // device `source` -> host `target`
    kWithinDevice,  // device `source` -> device `target` (ranges may overlap)
    kFill,          // device `target` filled with `pattern`
  };
  Kind kind = Kind::kToDevice;
  const std::byte* source = nullptr;
  std::byte* target = nullptr;
  size_t bytes = 0;
  uint32_t pattern = 0;
  uint32_t pattern_length = 1;  // 1, 2 or 4 (kFill)
  void (*done)(DeviceCopy* copy, Status status) = nullptr;
  void* user_data = nullptr;
  DeviceCopy* next_ = nullptr;  // the engine's while queued
};

class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;

  // Names the memory in messages: "local_discrete device memory".
  virtual const std::string& description() const = 0;

  // Device memory of `bytes` bytes (aligned to at least 256). The address
  // is the device's: the host must not dereference it. Errors:
  // RESOURCE_EXHAUSTED naming the size.
  virtual Result<std::byte*> Allocate(size_t bytes) = 0;
  virtual void Free(std::byte* address, size_t bytes) = 0;

  // Host memory the copy engine moves fastest (page-locked where the
  // platform allows), page-aligned, for staging buffers. Errors:
  // RESOURCE_EXHAUSTED.
  virtual Result<std::byte*> AllocateStaging(size_t bytes) = 0;
  virtual void FreeStaging(std::byte* memory, size_t bytes) = 0;

  // What Buffer::GetDeviceAddress says for a buffer at device address
  // `address` of this memory. The default: UNIMPLEMENTED, for memory whose
  // addresses mean nothing outside halio (local_discrete's).
  virtual Result<DeviceAddress> AddressFor(const std::byte* address) const;

  // Queues `copy`; its `done` reports it. Host memory in a copy may be any
  // host memory (staging is only faster).
  virtual void Submit(DeviceCopy* copy) = 0;

  // The staging buffers file transfers of this memory share.
  virtual StagingPool& staging() = 0;

  // Set when the device that owns this memory shuts down: staged transfers
  // still running stop at their next chunk with CANCELLED.
  void Cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
};

// Runs `copy` and waits for it: for callers that are synchronous anyway
// (local_sync, a worker running an op body). Returns the copy's status.
Status SubmitAndWait(DeviceMemory& memory, DeviceCopy& copy);
// A kFill of `bytes` at device address `target`, waited for.
Status FillAndWait(DeviceMemory& memory, std::byte* target, size_t bytes, uint32_t pattern,
                   uint32_t pattern_length);
// A copy of `kind` (not kFill), waited for.
Status CopyAndWait(DeviceMemory& memory, DeviceCopy::Kind kind, const std::byte* source,
                   std::byte* target, size_t bytes);

}  // namespace halio

#endif  // HALIO_SRC_HAL_DEVICE_MEMORY_H_
