// Buffer: a range of memory that queue operations read and write: host
// memory, or device memory the host cannot map (MemoryType without
// kHostVisible, on local_discrete and cuda), which only queue operations and
// File::Read/Write can reach.
//
// Buffers are reference counted (std::shared_ptr): a queue operation, a
// command buffer or a view keeps the memory alive as long as it holds a
// reference. Storage is either allocated by a BufferAllocator or imported from
// the caller; imported storage calls the caller's release callback exactly
// once, when the last reference is dropped.
//
// Thread-safety: the metadata is immutable after creation; Map() may be called
// from any thread. Concurrent writes to overlapping bytes are the caller's
// race, as with any memory. queue_dealloca frees a transient buffer's storage
// when its wait list is reached: ordering it after every user of the memory
// is what semaphores are for.
#ifndef HALIO_HAL_BUFFER_H_
#define HALIO_HAL_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "halio/status.h"

namespace halio {

// Bitmask helpers for the flag enums below.
#define HALIO_BITMASK_OPERATORS(E)                                            \
  constexpr E operator|(E a, E b) {                                           \
    return static_cast<E>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b)); \
  }                                                                           \
  constexpr E operator&(E a, E b) {                                           \
    return static_cast<E>(static_cast<uint32_t>(a) & static_cast<uint32_t>(b)); \
  }                                                                           \
  constexpr E operator~(E a) { return static_cast<E>(~static_cast<uint32_t>(a)); } \
  constexpr bool AllSet(E value, E required) { return (value & required) == required; } \
  constexpr bool AnySet(E value, E bits) { return static_cast<uint32_t>(value & bits) != 0; }

enum class MemoryType : uint32_t {
  kNone = 0,
  kDeviceLocal = 1u << 0,
  kHostLocal = 1u << 1,
  kHostVisible = 1u << 2,
  kHostCoherent = 1u << 3,
  kHostCached = 1u << 4,
  // Plain host memory (what BufferParams asks for by default).
  kHost = kHostLocal | kHostVisible | kHostCoherent | kHostCached,
  // Ask for kDeviceLocal alone to get the device's own memory: on devices
  // whose memory the host can map (local_sync, local_async) that is host
  // memory, typed kDeviceLocal | kHost; on discrete devices (local_discrete,
  // cuda) it is device memory, typed kDeviceLocal, which Map refuses.
};
HALIO_BITMASK_OPERATORS(MemoryType)

enum class BufferUsage : uint32_t {
  kNone = 0,
  kTransferSource = 1u << 0,
  kTransferTarget = 1u << 1,
  kDispatchStorage = 1u << 2,
  kMapping = 1u << 3,
  kTransfer = kTransferSource | kTransferTarget,
  kDefault = kTransfer | kDispatchStorage | kMapping,
};
HALIO_BITMASK_OPERATORS(BufferUsage)

enum class MemoryAccess : uint32_t {
  kNone = 0,
  kRead = 1u << 0,
  kWrite = 1u << 1,
  // The previous contents may be discarded (write-only mapping).
  kDiscard = 1u << 2,
  // Imported memory need not be 64-byte aligned.
  kUnaligned = 1u << 3,
  kReadWrite = kRead | kWrite,
  kAll = kRead | kWrite | kDiscard,
};
HALIO_BITMASK_OPERATORS(MemoryAccess)

std::string MemoryAccessToString(MemoryAccess access);

// Pass as a length to mean "from the offset to the end".
inline constexpr uint64_t kWholeBuffer = ~uint64_t{0};

// Checks that [offset, offset + length) lies inside [0, size) without
// overflowing. `length == kWholeBuffer` means "to the end" and is resolved
// into *resolved_length. Returns OUT_OF_RANGE naming `what` otherwise.
Status CheckRange(std::string_view what, uint64_t size, uint64_t offset,
                  uint64_t length, uint64_t* resolved_length = nullptr);

struct BufferParams {
  MemoryType type = MemoryType::kHost;
  BufferUsage usage = BufferUsage::kDefault;
  MemoryAccess access = MemoryAccess::kAll;
  // Zero the memory when allocating. Callers that overwrite every byte they
  // expose (the parameter loader) turn it off and save a full pass over
  // memory; the bytes are then whatever the allocator returned.
  bool zero_initialize = true;
};

// Called once with the imported memory when the last reference to it drops.
// A plain function pointer + user data: importing must not allocate for it.
struct ReleaseCallback {
  void (*fn)(void* user_data, std::span<std::byte> memory) = nullptr;
  void* user_data = nullptr;
  void operator()(std::span<std::byte> memory) const {
    if (fn) fn(user_data, memory);
  }
};

// Where a buffer in device memory lives, in the terms another runtime of the
// same device uses (Buffer::GetDeviceAddress): enough to hand the memory to
// it without a copy (DLPack's kDLCUDA + device_id + data, a CUDA kernel's
// pointer argument).
struct DeviceAddress {
  enum class Kind : uint32_t {
    // A CUDA device pointer (cudaMalloc's) on GPU `ordinal`
    // (DeviceOptions::cuda_device), usable in that GPU's context.
    kCuda = 1,
  };
  Kind kind = Kind::kCuda;
  uint32_t ordinal = 0;
  // The address of the buffer's first byte (a view's offset included). The
  // host must not dereference it.
  uint64_t address = 0;
};

class Buffer;
using BufferRef = std::shared_ptr<Buffer>;

// The memory a Buffer (and its views) refers to, and halio's access to a
// buffer's internals (src/hal/buffer_storage.h, src/hal/buffer_internals.h).
// Internal to halio: declared here only so Buffer can name them.
class BufferStorage;
class BufferInternals;

// A mapped range of a buffer. Unmap() (or destruction) ends the mapping; for
// host memory there is nothing to flush, but callers must still treat the
// span as invalid afterwards so device memory can be added later. Made by
// Buffer::Map only (a default-constructed one maps nothing).
class MappedMemory {
 public:
  MappedMemory() = default;
  MappedMemory(MappedMemory&&) noexcept = default;
  MappedMemory& operator=(MappedMemory&&) noexcept = default;
  ~MappedMemory() { Unmap(); }

  std::span<std::byte> span() const { return bytes_; }
  std::byte* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  MemoryAccess access() const { return access_; }
  void Unmap() {
    buffer_.reset();
    bytes_ = {};
  }

 private:
  friend class Buffer;
  MappedMemory(BufferRef buffer, std::span<std::byte> bytes, MemoryAccess access)
      : buffer_(std::move(buffer)), bytes_(bytes), access_(access) {}

  BufferRef buffer_;
  std::span<std::byte> bytes_;
  MemoryAccess access_ = MemoryAccess::kNone;
};

// Created only by BufferAllocator (Allocate, Import), Subspan and the devices'
// queue_alloca; always held by BufferRef.
class Buffer : public std::enable_shared_from_this<Buffer> {
  // Only halio can make one (BufferInternals); the constructor below is
  // public for std::allocate_shared only.
  class Passkey {
    explicit Passkey() = default;
    friend class BufferInternals;
  };

 public:
  Buffer(Passkey, std::shared_ptr<BufferStorage> storage, uint64_t byte_offset,
         uint64_t byte_length, const BufferParams& params, bool transient);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  MemoryType memory_type() const { return params_.type; }
  BufferUsage allowed_usage() const { return params_.usage; }
  MemoryAccess allowed_access() const { return params_.access; }
  uint64_t byte_length() const { return byte_length_; }
  // Offset of this buffer within its storage (non-zero for views).
  uint64_t byte_offset() const { return byte_offset_; }
  // True for buffers from queue_alloca, whose storage queue_dealloca frees.
  bool transient() const { return transient_; }

  // Maps [offset, offset + length) for `access`. Errors: PERMISSION_DENIED if
  // `access` is not allowed, OUT_OF_RANGE if the range is outside the buffer
  // (overflow-safe), FAILED_PRECONDITION if queue_dealloca freed the storage
  // or the buffer is device memory the host cannot map (the message says how
  // to reach its bytes instead).
  Result<MappedMemory> Map(MemoryAccess access, uint64_t offset = 0,
                           uint64_t length = kWholeBuffer);

  // True unless the buffer is device memory the host cannot map (then its
  // memory_type() lacks kHostVisible).
  bool host_visible() const;

  // Checks and errors as Map, and returns the bytes without taking a
  // reference: for callers that already hold one for as long as they use the
  // span (queue operations, dispatch bindings). No allocation.
  Result<std::span<std::byte>> MapUnretained(MemoryAccess access, uint64_t offset,
                                             uint64_t length);

  // The device's address of this buffer's first byte, for another runtime
  // of the same device (DLPack, a CUDA library). No copy, no reference
  // taken: the address stays valid while the caller holds this buffer (or
  // any buffer over the same storage) and, for a transient buffer, until
  // queue_dealloca frees it. Reads and writes through it are ordered with
  // halio's queue operations only by the caller (wait for the semaphore of
  // the op that filled it first). Buffers of the cuda device give kCuda.
  // Errors: FAILED_PRECONDITION for host memory (host_visible(): Map gives
  // its address) and for storage queue_dealloca freed; UNIMPLEMENTED for
  // device memory no other runtime can address (local_discrete's, which is
  // host memory only its copy engine touches).
  Result<DeviceAddress> GetDeviceAddress() const;

  // Checks access and range only, touching no memory: what Map checks before
  // it looks at the storage. Errors: PERMISSION_DENIED, OUT_OF_RANGE.
  Status Validate(MemoryAccess access, uint64_t offset, uint64_t length) const;

  // A buffer aliasing [offset, offset + length) of this one, sharing its
  // storage and access rights. Errors: OUT_OF_RANGE; RESOURCE_EXHAUSTED when
  // the view's bookkeeping cannot be allocated.
  Result<BufferRef> Subspan(uint64_t offset, uint64_t length);

  // Short description for error messages: "buffer of N bytes".
  std::string Describe() const;

 private:
  friend class BufferInternals;

  std::shared_ptr<BufferStorage> storage_;
  const uint64_t byte_offset_;
  const uint64_t byte_length_;
  const BufferParams params_;
  const bool transient_;
};

}  // namespace halio

#endif  // HALIO_HAL_BUFFER_H_
