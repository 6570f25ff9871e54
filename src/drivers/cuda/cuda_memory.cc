#include "cuda/cuda_memory.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <utility>

#include "cuda/cuda_fill.h"
#include "host_new.h"

namespace halio::cuda {
namespace {

// Device memory an overlapping copy within the device bounces through: big
// enough that each chunk's two copies run at full speed.
constexpr size_t kScratchBytes = size_t{4} << 20;

std::string Hex(const void* address) {
  char text[2 + 16 + 1];
  std::snprintf(text, sizeof(text), "%p", address);
  return text;
}

std::string Bytes(uint64_t bytes) { return std::to_string(bytes) + " bytes"; }

// "12.8" from CUDA's 12080.
std::string CudaVersionText(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

StatusCode CodeOf(cudaError_t error) {
  switch (error) {
    case cudaErrorMemoryAllocation:
      return StatusCode::kResourceExhausted;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorInitializationError:
    case cudaErrorDevicesUnavailable:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInternal;
  }
}

std::string ErrorText(cudaError_t error) {
  return std::string(cudaGetErrorName(error)) + ": " + cudaGetErrorString(error);
}

// "cudaMalloc (1048576 bytes on GPU 0) failed: cudaErrorMemoryAllocation:
// out of memory".
Status CudaFailure(cudaError_t error, std::string_view call, const std::string& what) {
  return Status(CodeOf(error), std::string(call) + " (" + what + ") failed: " + ErrorText(error));
}

std::string DescribeCopy(const DeviceCopy& copy) {
  switch (copy.kind) {
    case DeviceCopy::Kind::kToDevice:
      return "host -> device, " + Bytes(copy.bytes) + " from host " + Hex(copy.source) +
             " to device " + Hex(copy.target);
    case DeviceCopy::Kind::kFromDevice:
      return "device -> host, " + Bytes(copy.bytes) + " from device " + Hex(copy.source) +
             " to host " + Hex(copy.target);
    case DeviceCopy::Kind::kWithinDevice:
      return "device -> device, " + Bytes(copy.bytes) + " from " + Hex(copy.source) + " to " +
             Hex(copy.target);
    case DeviceCopy::Kind::kFill:
      break;
  }
  char pattern[16];
  std::snprintf(pattern, sizeof(pattern), "0x%0*x", static_cast<int>(2 * copy.pattern_length),
                copy.pattern);
  return "fill of " + Bytes(copy.bytes) + " at device " + Hex(copy.target) + " with the " +
         std::to_string(copy.pattern_length) + "-byte pattern " + pattern;
}

// The calling thread's current device is `ordinal` for the scope, and what
// it was afterwards (so halio does not move an application's thread to
// another GPU).
class DeviceScope {
 public:
  explicit DeviceScope(int ordinal) {
    error_ = cudaGetDevice(&previous_);
    if (error_ == cudaSuccess && previous_ != ordinal) {
      error_ = cudaSetDevice(ordinal);
      switched_ = error_ == cudaSuccess;
    }
  }
  ~DeviceScope() {
    if (switched_) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

  Status status(int ordinal) const {
    if (error_ == cudaSuccess) return Status();
    return CudaFailure(error_, "cudaSetDevice", "GPU " + std::to_string(ordinal));
  }

 private:
  int previous_ = 0;
  cudaError_t error_ = cudaSuccess;
  bool switched_ = false;
};

// Packs the pattern into the 4-byte word the fill kernel repeats; 1-byte
// patterns are memsets and never get here.
uint32_t PatternWord(const DeviceCopy& copy) {
  if (copy.pattern_length == 2) {
    const uint32_t half = copy.pattern & 0xFFFF;
    return half | half << 16;
  }
  return copy.pattern;
}

// True when every byte of the fill is the same byte, so cudaMemsetAsync
// (the fastest fill) does it.
bool IsByteFill(const DeviceCopy& copy, uint32_t word) {
  return copy.pattern_length == 1 || word == (word & 0xFF) * 0x01010101u;
}

}  // namespace

// A CUDA stream and the thread that reports its copies. After a copy's work
// is queued, an event is recorded behind it and the pair joins in_flight_;
// the completion thread waits for each event in turn (cudaEventSynchronize,
// which sleeps: the events are made with cudaEventBlockingSync) and calls
// the copy's done with the event's status, which carries a device failure.
// Events, not stream callbacks: a callback (cudaStreamAddCallback,
// cudaLaunchHostFunc) holds back the stream's next copy until the host has
// run it, a gap per chunk; an event costs the stream nothing.
//
// Events are reused (free_events_); in_flight_ is a ring that grows when
// full, so once as many copies as ever were in flight have been, Submit
// allocates nothing.
class CudaStream : public HostAllocated {
 public:
  CudaStream(HostAllocator& host, const char* name)
      : host_(host),
        name_(name),
        in_flight_(HostAllocatorAdapter<Pending>(host)),
        free_events_(HostAllocatorAdapter<cudaEvent_t>(host)) {}
  ~CudaStream();
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  // Creates the stream (on the calling thread's current device) and the
  // completion thread. Errors: INTERNAL naming the stream, RESOURCE_EXHAUSTED
  // for the thread.
  Status Start();

  cudaStream_t stream() const { return stream_; }

  // Runs `issue` (which queues the copy's work on stream()) and then the
  // copy's completion; a failed issue completes the copy with its error.
  template <typename Issue>
  void Submit(DeviceCopy* copy, Issue issue) {
    Status status = issue();
    if (status.ok()) status = QueueCompletion(copy);
    if (status.ok()) return;
    // What was queued before the failure (an overlapping copy's first
    // chunks) may still touch the copy's memory: wait for it.
    cudaStreamSynchronize(stream_);
    Fail(copy, std::move(status));
  }

 private:
  struct Pending {
    DeviceCopy* copy;
    cudaEvent_t event;
  };
  // A copy CUDA refused, with the refusal.
  struct Failure : HostAllocated {
    DeviceCopy* copy = nullptr;
    Status status;
    Failure* next = nullptr;
  };

  // Records an event behind `copy` and appends both to in_flight_. Errors:
  // the event calls', RESOURCE_EXHAUSTED when the ring cannot grow.
  Status QueueCompletion(DeviceCopy* copy);
  // A free event, or a new one. Locked.
  Result<cudaEvent_t> TakeEventLocked();
  // Appends to in_flight_, doubling it when full. Locked.
  Status PushLocked(Pending pending);
  // Hands `copy` with `status` to the completion thread.
  void Fail(DeviceCopy* copy, Status status);
  void CompletionLoop();
  // Waits for the oldest in-flight copy and reports it. Entered and left
  // locked.
  void CompleteOldest(std::unique_lock<std::mutex>& lock);
  void ReportFailures(Failure* failed);

  HostAllocator& host_;
  const char* const name_;
  cudaStream_t stream_ = nullptr;

  std::mutex mutex_;  // everything below
  std::condition_variable ready_;
  HostVector<Pending> in_flight_;  // a ring: [head_, head_ + count_)
  size_t head_ = 0;
  size_t count_ = 0;
  HostVector<cudaEvent_t> free_events_;  // capacity: every event made
  size_t events_ = 0;                    // events made
  Failure* failed_head_ = nullptr;
  Failure* failed_tail_ = nullptr;
  uint64_t outstanding_ = 0;  // submitted and not yet reported
  bool stopping_ = false;
  std::thread completion_;
};

Status CudaStream::Start() {
  if (cudaError_t error = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
      error != cudaSuccess) {
    stream_ = nullptr;
    return CudaFailure(error, "cudaStreamCreateWithFlags", std::string(name_) + " stream");
  }
  try {
    completion_ = std::thread([this] { CompletionLoop(); });
  } catch (const std::system_error& error) {
    return ResourceExhaustedError("cannot start the completion thread of the CUDA " +
                                  std::string(name_) + " stream: " + error.what());
  }
  return Status();
}

CudaStream::~CudaStream() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  if (completion_.joinable()) completion_.join();
  for (cudaEvent_t event : free_events_) cudaEventDestroy(event);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

Result<cudaEvent_t> CudaStream::TakeEventLocked() {
  if (!free_events_.empty()) {
    cudaEvent_t event = free_events_.back();
    free_events_.pop_back();
    return event;
  }
  // Room to give every event back without allocating (CompleteOldest).
  try {
    free_events_.reserve(events_ + 1);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of host memory for the events of the CUDA " +
                                  std::string(name_) + " stream");
  }
  cudaEvent_t event = nullptr;
  if (const cudaError_t error =
          cudaEventCreateWithFlags(&event, cudaEventDisableTiming | cudaEventBlockingSync);
      error != cudaSuccess) {
    return CudaFailure(error, "cudaEventCreateWithFlags", std::string(name_) + " stream");
  }
  ++events_;
  return event;
}

Status CudaStream::PushLocked(Pending pending) {
  if (count_ == in_flight_.size()) {
    try {
      HostVector<Pending> grown(std::max<size_t>(16, 2 * count_), Pending{},
                                HostAllocatorAdapter<Pending>(host_));
      for (size_t i = 0; i < count_; ++i) grown[i] = in_flight_[(head_ + i) % in_flight_.size()];
      in_flight_.swap(grown);
      head_ = 0;
    } catch (const std::bad_alloc&) {
      return ResourceExhaustedError("out of host memory for the copies in flight on the CUDA " +
                                    std::string(name_) + " stream");
    }
  }
  in_flight_[(head_ + count_) % in_flight_.size()] = pending;
  ++count_;
  ++outstanding_;
  ready_.notify_one();
  return Status();
}

Status CudaStream::QueueCompletion(DeviceCopy* copy) {
  std::lock_guard<std::mutex> lock(mutex_);
  HALIO_ASSIGN_OR_RETURN(cudaEvent_t event, TakeEventLocked());
  Status status;
  if (const cudaError_t error = cudaEventRecord(event, stream_); error != cudaSuccess) {
    status = CudaFailure(error, "cudaEventRecord",
                         std::string(name_) + " stream, after the " + DescribeCopy(*copy));
  } else {
    status = PushLocked({copy, event});
  }
  if (!status.ok()) free_events_.push_back(event);  // reserved: does not allocate
  return status;
}

void CudaStream::Fail(DeviceCopy* copy, Status status) {
  auto* failure = new (host_) Failure;
  if (failure == nullptr) {
    // Nowhere to keep the error for the completion thread: report it here
    // rather than lose it.
    return copy->done(copy, std::move(status));
  }
  failure->copy = copy;
  failure->status = std::move(status);
  std::lock_guard<std::mutex> lock(mutex_);
  ++outstanding_;
  (failed_tail_ ? failed_tail_->next : failed_head_) = failure;
  failed_tail_ = failure;
  ready_.notify_one();
}

void CudaStream::CompletionLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ready_.wait(lock, [this] {
      return count_ != 0 || failed_head_ != nullptr || (stopping_ && outstanding_ == 0);
    });
    if (failed_head_ != nullptr) {
      Failure* failed = std::exchange(failed_head_, nullptr);
      failed_tail_ = nullptr;
      lock.unlock();
      ReportFailures(failed);
      lock.lock();
    } else if (count_ != 0) {
      CompleteOldest(lock);
    } else {
      return;
    }
  }
}

void CudaStream::CompleteOldest(std::unique_lock<std::mutex>& lock) {
  // Only this thread removes entries, so the oldest stays the oldest (and
  // keeps its values) while the lock is released, even if the ring grows.
  const Pending oldest = in_flight_[head_];
  lock.unlock();
  const cudaError_t error = cudaEventSynchronize(oldest.event);
  // The copy's description before done, which may reuse or free the copy.
  Status status = error == cudaSuccess
                      ? Status()
                      : CudaFailure(error, "the CUDA " + std::string(name_) + " stream",
                                    DescribeCopy(*oldest.copy));
  lock.lock();
  head_ = (head_ + 1) % in_flight_.size();
  --count_;
  free_events_.push_back(oldest.event);  // reserved: does not allocate
  lock.unlock();
  oldest.copy->done(oldest.copy, std::move(status));
  lock.lock();
  --outstanding_;
}

void CudaStream::ReportFailures(Failure* failed) {
  uint64_t reported = 0;
  while (failed != nullptr) {
    Failure* next = failed->next;
    DeviceCopy* copy = failed->copy;
    Status status = std::move(failed->status);
    delete failed;
    copy->done(copy, std::move(status));
    failed = next;
    ++reported;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  outstanding_ -= reported;
}

// --- CudaMemory ---------------------------------------------------------------

Status CheckGpuUsable(int ordinal) {
  int count = 0;
  if (const cudaError_t error = cudaGetDeviceCount(&count); error != cudaSuccess) {
    std::string why = "no usable CUDA GPU: cudaGetDeviceCount failed: " + ErrorText(error);
    int driver = 0;
    if (cudaDriverGetVersion(&driver) == cudaSuccess && driver == 0) {
      why +=
          " (no NVIDIA driver is loaded: libcuda.so.1 was not found; the cuda device needs "
          "an NVIDIA GPU and its driver)";
    } else if (driver < CUDART_VERSION) {
      why += " (the NVIDIA driver supports CUDA " + CudaVersionText(driver) +
             ", halio was built with the CUDA " + CudaVersionText(CUDART_VERSION) +
             " runtime: update the driver)";
    }
    return UnavailableError(why);
  }
  if (count == 0) return UnavailableError("no CUDA GPU found (cudaGetDeviceCount: 0 devices)");
  if (ordinal < 0 || ordinal >= count) {
    return UnavailableError("CUDA GPU " + std::to_string(ordinal) +
                            " was asked for "
                            "(DeviceOptions::cuda_device), but this machine has " +
                            std::to_string(count));
  }
  return Status();
}

Result<std::shared_ptr<CudaMemory>> CudaMemory::Create(const DeviceOptions& options, int ordinal) {
  HALIO_RETURN_IF_ERROR(CheckGpuUsable(ordinal));
  HALIO_ASSIGN_OR_RETURN(std::shared_ptr<CudaMemory> memory,
                         HostMakeShared<CudaMemory>(*options.host_allocator, "cuda device memory",
                                                    Passkey(), options, ordinal));
  HALIO_RETURN_IF_ERROR(memory->Start());
  // Every pinned staging buffer now: a transfer never allocates, and a
  // device that cannot have its staging fails here, not in a load.
  HALIO_RETURN_IF_ERROR(memory->staging().Preallocate());
  return memory;
}

CudaMemory::CudaMemory(Passkey, const DeviceOptions& options, int ordinal)
    : host_(*options.host_allocator),
      ordinal_(ordinal),
      description_("cuda device memory (GPU " + std::to_string(ordinal) + ")") {
  const uint64_t size =
      options.staging_buffer_size != 0 ? options.staging_buffer_size : kDefaultStagingBufferSize;
  const uint32_t count =
      options.staging_buffer_count != 0 ? options.staging_buffer_count : kDefaultStagingBufferCount;
  staging_.emplace(*this, static_cast<size_t>(size), count);
}

Status CudaMemory::Start() {
  DeviceScope scope(ordinal_);
  HALIO_RETURN_IF_ERROR(scope.status(ordinal_));
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, ordinal_) == cudaSuccess) {
    description_ =
        "cuda device memory (GPU " + std::to_string(ordinal_) + ": " + properties.name + ")";
  }
  for (auto [stream, name] :
       {std::pair{&to_device_, "host-to-device"}, std::pair{&from_device_, "device-to-host"},
        std::pair{&on_device_, "on-device"}}) {
    *stream = new (host_) CudaStream(host_, name);
    if (*stream == nullptr) {
      return ResourceExhaustedError("out of host memory for the CUDA " + std::string(name) +
                                    " stream of " + description_);
    }
    HALIO_RETURN_IF_ERROR((*stream)->Start());
  }
  Result<std::byte*> scratch = Allocate(kScratchBytes);
  if (!scratch.ok()) {
    Status status = scratch.status();
    return status.Annotate("the scratch buffer of overlapping copies");
  }
  scratch_ = *scratch;
  return Status();
}

CudaMemory::~CudaMemory() {
  // The streams first: their destructors wait until every copy is reported,
  // and staging buffers may be in use until then.
  for (CudaStream* stream : {to_device_, from_device_, on_device_}) delete stream;
  staging_.reset();
  if (scratch_ != nullptr) {
    DeviceScope scope(ordinal_);
    cudaFree(scratch_);
  }
}

namespace {

// Runs `allocate(&address)` (a CUDA allocation call named `call`) with GPU
// `ordinal` current; `what` says what was asked for in the error.
template <typename Allocate>
Result<std::byte*> AllocateOn(int ordinal, const char* call, Allocate allocate,
                              const std::string& what) {
  DeviceScope scope(ordinal);
  HALIO_RETURN_IF_ERROR(scope.status(ordinal));
  void* address = nullptr;
  if (const cudaError_t error = allocate(&address); error != cudaSuccess) {
    return CudaFailure(error, call, what);
  }
  return static_cast<std::byte*>(address);
}

}  // namespace

Result<std::byte*> CudaMemory::Allocate(size_t bytes) {
  return AllocateOn(
      ordinal_, "cudaMalloc", [bytes](void** address) { return cudaMalloc(address, bytes); },
      Bytes(bytes) + " on " + description_);
}

void CudaMemory::Free(std::byte* address, size_t /*bytes*/) {
  if (address == nullptr) return;
  DeviceScope scope(ordinal_);
  // cudaFree waits for work on the memory; the buffer's last user is done.
  cudaFree(address);
}

Result<std::byte*> CudaMemory::AllocateStaging(size_t bytes) {
  // Portable: any GPU of the process copies from it at full speed.
  return AllocateOn(
      ordinal_, "cudaHostAlloc",
      [bytes](void** memory) { return cudaHostAlloc(memory, bytes, cudaHostAllocPortable); },
      Bytes(bytes) + " of page-locked staging memory for " + description_);
}

void CudaMemory::FreeStaging(std::byte* memory, size_t /*bytes*/) {
  if (memory != nullptr) cudaFreeHost(memory);
}

CudaStream& CudaMemory::StreamFor(DeviceCopy::Kind kind) {
  switch (kind) {
    case DeviceCopy::Kind::kToDevice:
      return *to_device_;
    case DeviceCopy::Kind::kFromDevice:
      return *from_device_;
    case DeviceCopy::Kind::kWithinDevice:
    case DeviceCopy::Kind::kFill:
      break;
  }
  return *on_device_;
}

void CudaMemory::Submit(DeviceCopy* copy) {
  CudaStream& stream = StreamFor(copy->kind);
  stream.Submit(copy, [&] { return Issue(stream, *copy); });
}

Status CudaMemory::Issue(CudaStream& stream, const DeviceCopy& copy) {
  if (copy.bytes == 0) return Status();
  cudaError_t error = cudaSuccess;
  const char* call = "cudaMemcpyAsync";
  switch (copy.kind) {
    case DeviceCopy::Kind::kToDevice:
      error = cudaMemcpyAsync(copy.target, copy.source, copy.bytes, cudaMemcpyHostToDevice,
                              stream.stream());
      break;
    case DeviceCopy::Kind::kFromDevice:
      error = cudaMemcpyAsync(copy.target, copy.source, copy.bytes, cudaMemcpyDeviceToHost,
                              stream.stream());
      break;
    case DeviceCopy::Kind::kWithinDevice:
      if (copy.source == copy.target) return Status();
      if (copy.source < copy.target + copy.bytes && copy.target < copy.source + copy.bytes) {
        return IssueOverlapping(stream, copy);
      }
      error = cudaMemcpyAsync(copy.target, copy.source, copy.bytes, cudaMemcpyDeviceToDevice,
                              stream.stream());
      break;
    case DeviceCopy::Kind::kFill: {
      const uint32_t word = PatternWord(copy);
      if (IsByteFill(copy, word)) {
        call = "cudaMemsetAsync";
        error = cudaMemsetAsync(copy.target, static_cast<int>(word & 0xFF), copy.bytes,
                                stream.stream());
        break;
      }
      // A kernel runs on the calling thread's current device.
      DeviceScope scope(ordinal_);
      HALIO_RETURN_IF_ERROR(scope.status(ordinal_));
      call = "the fill kernel launch";
      error = LaunchPatternFill(copy.target, copy.bytes, word, stream.stream());
      break;
    }
  }
  if (error == cudaSuccess) return Status();
  return CudaFailure(error, call, DescribeCopy(copy) + " on " + description_);
}

Status CudaMemory::IssueOverlapping(CudaStream& stream, const DeviceCopy& copy) {
  // Moving down (target below source), chunks from the front never
  // overwrite source bytes not yet read; moving up, chunks from the back.
  const bool forward = copy.target < copy.source;
  for (size_t done = 0; done < copy.bytes;) {
    const size_t length = std::min(kScratchBytes, copy.bytes - done);
    const size_t offset = forward ? done : copy.bytes - done - length;
    for (auto [to, from] : {std::pair<void*, const void*>{scratch_, copy.source + offset},
                            std::pair<void*, const void*>{copy.target + offset, scratch_}}) {
      if (const cudaError_t error =
              cudaMemcpyAsync(to, from, length, cudaMemcpyDeviceToDevice, stream.stream());
          error != cudaSuccess) {
        return CudaFailure(error, "cudaMemcpyAsync",
                           "through scratch, chunk of " + Bytes(length) + " at offset " +
                               std::to_string(offset) + " of the overlapping " +
                               DescribeCopy(copy) + " on " + description_);
      }
    }
    done += length;
  }
  return Status();
}

}  // namespace halio::cuda
