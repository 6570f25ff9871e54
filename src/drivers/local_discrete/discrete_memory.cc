#include "local_discrete/discrete_memory.h"

#include <algorithm>

#include <chrono>
#include <cstring>
#include <new>
#include <system_error>

#include "local_async/async_device.h"
#include "memory_lock.h"
#include "transfer_validated.h"

namespace halio::local_discrete {
namespace {

// Device allocations are aligned as a GPU allocator's are.
constexpr size_t kDeviceAlignment = 256;
constexpr size_t kStagingAlignment = 4096;

void RunCopy(const DeviceCopy& copy) {
  switch (copy.kind) {
    case DeviceCopy::Kind::kToDevice:
    case DeviceCopy::Kind::kFromDevice:
      std::memcpy(copy.target, copy.source, copy.bytes);
      break;
    case DeviceCopy::Kind::kWithinDevice:
      std::memmove(copy.target, copy.source, copy.bytes);
      break;
    case DeviceCopy::Kind::kFill:
      FillHostBytes(copy.target, copy.bytes, copy.pattern, copy.pattern_length);
      break;
  }
}

}  // namespace

Result<std::shared_ptr<DiscreteMemory>> DiscreteMemory::Create(const DeviceOptions& options) {
  HALIO_ASSIGN_OR_RETURN(std::shared_ptr<DiscreteMemory> memory,
                         HostMakeShared<DiscreteMemory>(*options.host_allocator,
                                                        "local_discrete device memory",
                                                        Passkey(), options));
  HALIO_RETURN_IF_ERROR(memory->StartEngine());
  // Every staging buffer now: a transfer never allocates, and a device that
  // cannot have its staging fails here, not in the middle of a load.
  HALIO_RETURN_IF_ERROR(memory->staging().Preallocate());
  return memory;
}

DiscreteMemory::DiscreteMemory(Passkey, const DeviceOptions& options)
    : host_(*options.host_allocator),
      bytes_per_second_(options.copy_bytes_per_second),
      latency_us_(options.copy_latency_us) {
  const uint64_t size = options.staging_buffer_size != 0 ? options.staging_buffer_size
                                                         : kDefaultStagingBufferSize;
  const uint32_t count = options.staging_buffer_count != 0 ? options.staging_buffer_count
                                                           : kDefaultStagingBufferCount;
  staging_.emplace(*this, static_cast<size_t>(size), count);
}

DiscreteMemory::~DiscreteMemory() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  if (engine_.joinable()) engine_.join();
  staging_.reset();  // frees the staging buffers while the engine's memory lives
}

Status DiscreteMemory::StartEngine() {
  try {
    engine_ = std::thread([this] { EngineLoop(); });
  } catch (const std::system_error& e) {
    return ResourceExhaustedError(std::string("cannot start local_discrete's copy engine "
                                              "thread: ") +
                                  e.what());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory starting local_discrete's copy engine thread");
  }
  return Status();
}

Result<std::byte*> DiscreteMemory::Allocate(size_t bytes) {
  void* memory = host_.Allocate(bytes, kDeviceAlignment);
  if (memory == nullptr && bytes > 0) {
    return ResourceExhaustedError("out of " + description_ + " allocating " +
                                  std::to_string(bytes) + " bytes");
  }
  return static_cast<std::byte*>(memory);
}

void DiscreteMemory::Free(std::byte* address, size_t bytes) {
  host_.Free(address, bytes, kDeviceAlignment);
}

Result<std::byte*> DiscreteMemory::AllocateStaging(size_t bytes) {
  void* memory = host_.Allocate(bytes, kStagingAlignment);
  if (memory == nullptr) {
    return ResourceExhaustedError("out of host memory for a " + std::to_string(bytes) +
                                  "-byte staging buffer of local_discrete");
  }
  // Page-locked where the memory-lock limit allows, as a real driver's pinned
  // staging is; where it does not, staging still works, just pageable. In
  // 2 MiB steps, so a pool's slab larger than the limit (8 MiB here) still
  // has its first buffers locked.
  constexpr size_t kLockStep = size_t{2} << 20;
  auto* bytes_at = static_cast<std::byte*>(memory);
  for (size_t offset = 0; offset < bytes; offset += kLockStep) {
    if (!platform::LockMemory(bytes_at + offset, std::min(kLockStep, bytes - offset))) break;
  }
  return bytes_at;
}

void DiscreteMemory::FreeStaging(std::byte* memory, size_t bytes) {
  platform::UnlockMemory(memory, bytes);  // harmless where it was not locked
  host_.Free(memory, bytes, kStagingAlignment);
}

void DiscreteMemory::Submit(DeviceCopy* copy) {
  std::lock_guard<std::mutex> lock(mutex_);
  copy->next_ = nullptr;
  (tail_ ? tail_->next_ : head_) = copy;
  tail_ = copy;
  work_.notify_one();
}

void DiscreteMemory::EngineLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_.wait(lock, [&] { return head_ != nullptr || stopping_; });
    if (head_ == nullptr) return;  // stopping, and every copy ran
    DeviceCopy* copy = head_;
    head_ = copy->next_;
    if (head_ == nullptr) tail_ = nullptr;
    lock.unlock();
    Run(*copy);
    // `done` may free the copy or submit more: the copy is not touched after.
    copy->done(copy, Status());
    lock.lock();
  }
}

void DiscreteMemory::Run(DeviceCopy& copy) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  RunCopy(copy);
  if (bytes_per_second_ == 0 && latency_us_ == 0) return;
  // A link of the configured speed: the copy ends no sooner than latency +
  // bytes / bandwidth after it started.
  auto duration = std::chrono::microseconds(latency_us_);
  if (bytes_per_second_ != 0) {
    duration += std::chrono::microseconds(
        static_cast<int64_t>(static_cast<double>(copy.bytes) * 1e6 /
                             static_cast<double>(bytes_per_second_)));
  }
  std::this_thread::sleep_until(start + duration);
}

}  // namespace halio::local_discrete

namespace halio {

Result<std::unique_ptr<Device>> CreateLocalDiscreteDevice(const DeviceOptions& options) {
  if (options.host_allocator == nullptr) {
    return InvalidArgumentError("DeviceOptions::host_allocator is null");
  }
  HALIO_ASSIGN_OR_RETURN(std::shared_ptr<local_discrete::DiscreteMemory> memory,
                         local_discrete::DiscreteMemory::Create(options));
  return local_async::CreateDeviceWithMemory("local_discrete", options, std::move(memory));
}

}  // namespace halio
