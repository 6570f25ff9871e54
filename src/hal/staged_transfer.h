// Staged transfers: file bytes to and from memory the host cannot map,
// through a bounded pool of host staging buffers. Internal; any driver with
// a DeviceMemory (device_memory.h) uses it, on any scheduler.
//
// A read moves the range in chunks of the pool's buffer size. Each staging
// buffer cycles: the file's own path fills it (the async engine for an
// FdFile imported into one: io_uring or asio, buffered or O_DIRECT; on the
// calling thread, pread or the O_DIRECT bounce for what no engine can take),
// then the copy engine moves it to the device. A transfer keeps up to
// `queue_depth` file requests in flight and holds one buffer more, so the
// chunk being copied to the device never costs a file request: the disk
// sees the same depth as a read into host memory would (with the sync
// backend the file calls run one at a time, each overlapped with the device
// copies of the others). A write runs the other way: device ->
// staging, then the file's write path. Memory files need no staging: their
// bytes are host memory (transfer.cc copies them directly).
//
// Backpressure, not failure: a transfer blocks until the pool has a buffer
// for it, then takes up to `queue_depth` + 1 (more only as they are free),
// and gives them back when it ends. The first error stops new chunks; the
// transfer waits for those in flight and returns that error, naming the
// file and range. A cancelled DeviceMemory (device shutdown) stops it at the
// next chunk with CANCELLED.
//
// Thread-safety: StagingPool is thread-safe. A transfer runs on the calling
// thread (which it blocks until done) plus the engine and copy-engine
// threads its chunks complete on. A buffered chunk's file call is started
// by the calling thread, never by the copy engine's (an engine may run it
// on the submitting thread, which would stall the copies behind it);
// O_DIRECT calls, which an engine issues without copying, are started by
// whichever thread completed the chunk before.
#ifndef HALIO_SRC_HAL_STAGED_TRANSFER_H_
#define HALIO_SRC_HAL_STAGED_TRANSFER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>

#include "halio/file.h"
#include "halio/host_allocator.h"
#include "halio/status.h"
#include "device_memory.h"

namespace halio {

// Staging buffers of one size, `count` + 1 of them (`count` file requests
// in flight and one buffer for the copy under way), allocated from the
// DeviceMemory (all at once by Preallocate, which a device calls when it is
// created, so that no transfer allocates; otherwise on first use) and kept
// until the pool is destroyed.
//
// Ownership: owns its buffers; every buffer handed out must be returned
// before the pool is destroyed.
class StagingPool {
 public:
  // `memory` provides the staging memory and must outlive the pool (a
  // DeviceMemory owns its pool). `buffer_bytes` is rounded up to 4 KiB;
  // `count` (the file requests in flight) is clamped to [1, 64].
  StagingPool(DeviceMemory& memory, size_t buffer_bytes, uint32_t count);
  ~StagingPool();
  StagingPool(const StagingPool&) = delete;
  StagingPool& operator=(const StagingPool&) = delete;

  // Allocates every buffer now, in one allocation where the memory allows
  // (else one by one). Errors: RESOURCE_EXHAUSTED naming the buffer that
  // could not be had (the ones allocated stay, for the destructor).
  Status Preallocate();

  size_t buffer_bytes() const { return buffer_bytes_; }
  // File requests in flight per transfer; the pool has one buffer more.
  uint32_t count() const { return count_; }
  uint32_t buffers() const { return count_ + 1; }

  // Blocks until a buffer is free (or can be allocated). Errors:
  // RESOURCE_EXHAUSTED when no buffer exists yet and none can be
  // allocated; CANCELLED when the memory was cancelled while waiting.
  Result<std::byte*> Acquire();
  // A free buffer without waiting, or null.
  std::byte* TryAcquire();
  void Release(std::byte* buffer);

 private:
  // A buffer from the free list or a new one; null when neither. Locked.
  std::byte* TakeLocked(Status* allocation_error);

  // More would only hold memory: 64 x 4 MiB in flight is far past what a
  // disk or a PCIe link needs.
  static constexpr uint32_t kMaxCount = 64;
  static constexpr uint32_t kMaxBuffers = kMaxCount + 1;

  DeviceMemory& memory_;
  const size_t buffer_bytes_;
  const uint32_t count_;  // at most kMaxCount
  std::mutex mutex_;
  std::condition_variable released_;
  // Free buffers (a stack: the most recently used first, warm in cache).
  std::byte* free_[kMaxBuffers] = {};
  uint32_t free_count_ = 0;
  // Buffers allocated one by one, for the destructor; allocated_ counts
  // these and the slab's.
  std::byte* all_[kMaxBuffers] = {};
  uint32_t singles_ = 0;
  uint32_t allocated_ = 0;
  // Preallocate's buffers, carved from one allocation: big enough for huge
  // pages (O_DIRECT pins a 1 MiB buffer of 4 KiB pages at half the speed of
  // one in a huge page here), and one page-lock call instead of many.
  std::byte* slab_ = nullptr;
  size_t slab_bytes_ = 0;
};

struct StagedTransferOptions {
  // File requests one transfer keeps in flight (it holds one staging buffer
  // more, for the copy under way); 0 means the pool's count().
  uint32_t queue_depth = 0;
  // Where the transfer's bookkeeping comes from.
  HostAllocator* host = &HostAllocator::System();
};

// Reads file bytes [file_offset, file_offset + length) into device memory
// at `device_address` (an address from memory.Allocate plus an offset).
// The range was validated by the caller. Errors: as File::Read, the copy
// engine's, RESOURCE_EXHAUSTED (staging or bookkeeping), CANCELLED.
Status StagedRead(DeviceMemory& memory, File& file, uint64_t file_offset,
                  std::byte* device_address, uint64_t length,
                  const StagedTransferOptions& options = {});

// Writes device bytes at `device_address` to the file at `file_offset`.
// Errors: as File::Write, the copy engine's, RESOURCE_EXHAUSTED, CANCELLED.
Status StagedWrite(DeviceMemory& memory, const std::byte* device_address, File& file,
                   uint64_t file_offset, uint64_t length,
                   const StagedTransferOptions& options = {});

}  // namespace halio

#endif  // HALIO_SRC_HAL_STAGED_TRANSFER_H_
