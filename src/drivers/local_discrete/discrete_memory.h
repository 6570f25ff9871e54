// local_discrete's device memory: host memory that halio's API never
// exposes (Map refuses it), moved only by a copy engine of its own, a thread
// that runs DeviceCopy requests in order, as a DMA engine would. With
// DeviceOptions::copy_bytes_per_second / copy_latency_us the engine takes as
// long as a real link would, so a benchmark shows whether file reads and
// copies overlap. Internal.
//
// Ownership: made by Create as a shared_ptr; the device's allocator and every
// buffer in this memory hold it. Device memory and staging come from the
// device's HostAllocator. The destructor runs the queued copies and joins
// the engine.
// Thread-safety: every method may be called from any thread.
#ifndef HALIO_SRC_DRIVERS_LOCAL_DISCRETE_DISCRETE_MEMORY_H_
#define HALIO_SRC_DRIVERS_LOCAL_DISCRETE_DISCRETE_MEMORY_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "halio/drivers.h"
#include "device_memory.h"
#include "host_new.h"
#include "staged_transfer.h"

namespace halio::local_discrete {

// Defaults of DeviceOptions::staging_buffer_size / _count for this device
// (bench/README.md, "Staged transfers", measured them).
inline constexpr uint64_t kDefaultStagingBufferSize = uint64_t{2} << 20;
inline constexpr uint32_t kDefaultStagingBufferCount = 8;

class DiscreteMemory final : public DeviceMemory, public HostAllocated {
  struct Passkey {
    explicit Passkey() = default;
  };

 public:
  // Errors: RESOURCE_EXHAUSTED (memory, or the engine's thread).
  static Result<std::shared_ptr<DiscreteMemory>> Create(const DeviceOptions& options);

  DiscreteMemory(Passkey, const DeviceOptions& options);
  ~DiscreteMemory() override;

  const std::string& description() const override { return description_; }
  Result<std::byte*> Allocate(size_t bytes) override;
  void Free(std::byte* address, size_t bytes) override;
  Result<std::byte*> AllocateStaging(size_t bytes) override;
  void FreeStaging(std::byte* memory, size_t bytes) override;
  void Submit(DeviceCopy* copy) override;
  StagingPool& staging() override { return *staging_; }

 private:
  Status StartEngine();
  void EngineLoop();
  // Runs one copy, taking as long as the configured link would.
  void Run(DeviceCopy& copy);

  HostAllocator& host_;
  const std::string description_ = "local_discrete device memory";
  const uint64_t bytes_per_second_;
  const uint32_t latency_us_;
  std::optional<StagingPool> staging_;

  std::mutex mutex_;
  std::condition_variable work_;
  DeviceCopy* head_ = nullptr;
  DeviceCopy* tail_ = nullptr;
  bool stopping_ = false;
  std::thread engine_;
};

}  // namespace halio::local_discrete

#endif  // HALIO_SRC_DRIVERS_LOCAL_DISCRETE_DISCRETE_MEMORY_H_
