// The cuda device's memory: DeviceMemory (device_memory.h) over the CUDA
// runtime. Device buffers come from cudaMalloc, staging buffers from
// cudaHostAlloc (page-locked, so host <-> device copies run at the link's
// speed), and copies are queued with cudaMemcpyAsync / cudaMemsetAsync / a
// fill kernel (cuda_fill.h) on streams of its own: one for host -> device,
// one for device -> host, one for work within the device, so uploads,
// downloads and on-device work overlap. Internal; this header names no CUDA
// type, so code outside src/drivers/cuda/ includes it without the toolkit's
// headers.
//
// Completion: an event is recorded behind each copy on its stream, and a
// completion thread per stream waits for the events in order and calls
// DeviceCopy::done with the event's status (so a copy that failed on the
// device reports that failure). done therefore never runs on a thread of
// CUDA's, and inline in Submit only for a refused copy when no host memory
// is left to hand its error to that thread; it may submit more copies.
//
// Errors: every CUDA error becomes a Status naming the call, the CUDA error
// (cudaGetErrorName: cudaGetErrorString) and the size or range involved;
// cudaErrorMemoryAllocation is RESOURCE_EXHAUSTED, a missing or unusable
// GPU or driver UNAVAILABLE, anything else INTERNAL.
//
// Ownership: made by Create as a shared_ptr (the device's allocator and every
// buffer in this memory hold it); bookkeeping from DeviceOptions'
// HostAllocator. The destructor waits for every queued copy's done, then
// frees the staging buffers and the streams. Device allocations must all
// have been freed by then (each buffer holds the memory, so they are).
// Thread-safety: every method may be called from any thread; the calling
// thread's current CUDA device is left as it was.
#ifndef HALIO_SRC_DRIVERS_CUDA_CUDA_MEMORY_H_
#define HALIO_SRC_DRIVERS_CUDA_CUDA_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "halio/drivers.h"
#include "device_memory.h"
#include "halio/status.h"
#include "staged_transfer.h"

namespace halio::cuda {

// Defaults of DeviceOptions::staging_buffer_size / _count for this device:
// 8 x 8 MiB = 64 MiB of pinned memory, enough chunks in flight to cover the
// file read of one while the previous crosses PCIe (KvikIO's default bounce
// buffer is 16 MiB; InstantTensor's pinned window is larger but shared by
// many files).
inline constexpr uint64_t kDefaultStagingBufferSize = uint64_t{8} << 20;
inline constexpr uint32_t kDefaultStagingBufferCount = 8;

// OK when CUDA GPU `ordinal` can be used here; otherwise UNAVAILABLE saying
// why: cudaGetDeviceCount's error (no driver, a driver older than the
// runtime halio was built with, no GPU) or too few GPUs.
Status CheckGpuUsable(int ordinal);

class CudaStream;  // a stream and its completion thread (cuda_memory.cc)

class CudaMemory final : public DeviceMemory {
  struct Passkey {
    explicit Passkey() = default;
  };

 public:
  // GPU `ordinal`'s memory, with its streams and completion threads
  // started and its staging buffers allocated. Errors: UNAVAILABLE
  // (CheckGpuUsable), RESOURCE_EXHAUSTED (host memory, pinned staging, a
  // thread, the on-device scratch buffer), INTERNAL (stream creation).
  static Result<std::shared_ptr<CudaMemory>> Create(const DeviceOptions& options, int ordinal);

  CudaMemory(Passkey, const DeviceOptions& options, int ordinal);
  ~CudaMemory() override;
  CudaMemory(const CudaMemory&) = delete;
  CudaMemory& operator=(const CudaMemory&) = delete;

  // "cuda device memory (GPU 0: NVIDIA H200)".
  const std::string& description() const override { return description_; }
  // cudaMalloc. Errors: RESOURCE_EXHAUSTED naming the size and the GPU;
  // INTERNAL for other CUDA errors.
  Result<std::byte*> Allocate(size_t bytes) override;
  void Free(std::byte* address, size_t bytes) override;
  // cudaHostAlloc (page-locked). Errors: RESOURCE_EXHAUSTED naming the size.
  Result<std::byte*> AllocateStaging(size_t bytes) override;
  void FreeStaging(std::byte* memory, size_t bytes) override;
  // Queues `copy` on the stream for its kind. A copy CUDA refuses completes
  // with the refusal (on the completion thread, as every copy does, once
  // what was queued of it has finished).
  void Submit(DeviceCopy* copy) override;
  StagingPool& staging() override { return *staging_; }
  // kCuda on this GPU: cudaMalloc's pointers are CUDA's device pointers.
  Result<DeviceAddress> AddressFor(const std::byte* address) const override {
    return DeviceAddress{DeviceAddress::Kind::kCuda, static_cast<uint32_t>(ordinal_),
                         reinterpret_cast<uintptr_t>(address)};
  }

  int ordinal() const { return ordinal_; }

 private:
  Status Start();
  CudaStream& StreamFor(DeviceCopy::Kind kind);
  // Issues the copy's CUDA calls on `stream`; the error names the call.
  Status Issue(CudaStream& stream, const DeviceCopy& copy);
  // A copy within the device whose ranges overlap, through scratch_: CUDA's
  // device-to-device memcpy does not promise memmove semantics.
  Status IssueOverlapping(CudaStream& stream, const DeviceCopy& copy);

  HostAllocator& host_;
  const int ordinal_;
  std::string description_;
  // Host -> device, device -> host, and within the device (copies, fills).
  CudaStream* to_device_ = nullptr;
  CudaStream* from_device_ = nullptr;
  CudaStream* on_device_ = nullptr;
  // Device memory an overlapping copy bounces through, used in the order of
  // on_device_'s stream only.
  std::byte* scratch_ = nullptr;
  std::optional<StagingPool> staging_;
};

}  // namespace halio::cuda

#endif  // HALIO_SRC_DRIVERS_CUDA_CUDA_MEMORY_H_
