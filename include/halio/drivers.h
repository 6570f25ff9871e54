// Device creation by name, for tools and tests that run against every device.
//
// Thread-safety: thread-safe.
#ifndef HALIO_DRIVERS_H_
#define HALIO_DRIVERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "halio/hal/device.h"
#include "halio/host_allocator.h"
#include "halio/status.h"

namespace halio {

struct DeviceOptions {
  // Memory for buffers and bookkeeping; must outlive the device.
  HostAllocator* host_allocator = &HostAllocator::System();

  // local_async only. Threads that run memory ops and synchronous file
  // chunks; 0 means one per hardware thread.
  uint32_t worker_count = 0;
  // File requests one read/write keeps in flight. 8 x 1 MiB = 8 MiB in
  // flight: deep enough for the disk's O_DIRECT limit (reached at qd >= 8 or
  // 1 MiB blocks on this machine kind) and below the ~32 MiB beyond which
  // hot-cache copies fall out of L3 and slow down (see PERF_NOTES.md).
  uint32_t queue_depth = 8;
  // Bytes per file request. 1 MiB: per-call overhead is gone (64 KiB blocks
  // run ~20 % slower on a hot cache) and chunks still spread over workers.
  uint64_t chunk_size = uint64_t{1} << 20;

  // Discrete devices (local_discrete, cuda): file reads and writes of device
  // memory go through a pool of host staging buffers of this size
  // (page-locked where the platform allows; all allocated, in one block,
  // when the device is created), shared by the device's transfers. One
  // transfer keeps up to staging_buffer_count file requests in flight and
  // the pool holds one buffer more (staging_buffer_count + 1 in all), for
  // the chunk being copied to or from the device, so file I/O overlaps the
  // copies at the full depth. 0 means the default (bench/README.md, "Staged
  // transfers", has the measurements).
  uint64_t staging_buffer_size = 0;
  uint32_t staging_buffer_count = 0;

  // local_discrete only: its copy engine's speed, so that pipelining shows
  // in a benchmark. 0 means as fast as memcpy.
  uint64_t copy_bytes_per_second = 0;
  // Added to every copy the engine runs.
  uint32_t copy_latency_us = 0;

  // cuda only: the GPU (CUDA device ordinal) whose memory the buffers live in.
  uint32_t cuda_device = 0;
};

// The devices CreateDevice can make here: {"local_sync", "local_async",
// "local_discrete"}, plus "cuda" where halio was built with CUDA and GPU 0 is
// usable (CreateDevice("cuda") says why not otherwise; probed once).
std::vector<std::string> AvailableDevices();

// Errors: NOT_FOUND for an unknown name (the message lists the known ones),
// RESOURCE_EXHAUSTED.
Result<std::unique_ptr<Device>> CreateDevice(std::string_view name,
                                             const DeviceOptions& options = {});

// The asynchronous device: queue calls validate and return at once; each op
// waits for its wait list through semaphore timepoints, then runs on a worker
// (memory ops) or through the file's async handle (read/write), keeping up to
// queue_depth requests of chunk_size bytes in flight. The exception is an
// update whose waits are all reached when it is queued: the call copies the
// bytes into the buffer and signals before returning (it must copy them
// before returning anyway); its errors still go to the signal list and the
// call returns OK, as for an update run later. Likewise a read of at most
// 64 KiB whose bytes are all in the page cache is copied by the call that
// starts it (as io_uring's own submission does; nothing waits for the
// disk): with its waits reached when queued, by the queue call itself,
// which then signals; and a read or write ready when queued is submitted
// to the engine by the call, without waking a worker. Destroying the device
// cancels ops still waiting (their signal semaphores fail with CANCELLED) and
// waits for running ones. Memory: the blocks of finished ops are kept for
// reuse, up to the most ops that were in flight at once, and handed back to
// the host allocator (down to about 1 MiB per size class) when WaitIdle finds
// the device idle or the device is destroyed. Errors: INVALID_ARGUMENT for
// zero queue_depth or chunk_size, RESOURCE_EXHAUSTED when memory or a worker
// thread cannot be had.
Result<std::unique_ptr<Device>> CreateLocalAsyncDevice(const DeviceOptions& options = {});

// The synchronous device: every queue operation runs inline on the calling
// thread as wait -> do the work -> signal (or fail the signal list).
Result<std::unique_ptr<Device>> CreateLocalSyncDevice(const DeviceOptions& options = {});

// A device whose memory the host cannot map, on every machine: local_async's
// scheduler, with buffers of MemoryType::kDeviceLocal in memory only its
// copy engine (a thread of its own) touches. Map refuses them; fill, update
// and copy run on the copy engine; reads and writes of files go through
// staging buffers (DeviceOptions::staging_buffer_*), file I/O overlapped
// with copies. Host executables cannot run on its device memory
// (queue_dispatch says UNIMPLEMENTED). Destroying the device cancels ops
// still waiting, as local_async, and also stops the staged reads and writes
// in flight at their next chunk (their signal semaphores fail with
// CANCELLED; the bytes of the range are then partly old, partly new).
// Buffers may outlive the device: they keep its memory. Errors: as CreateLocalAsyncDevice,
// and RESOURCE_EXHAUSTED when the copy engine's thread or the staging
// buffers (all allocated here) cannot be had.
Result<std::unique_ptr<Device>> CreateLocalDiscreteDevice(const DeviceOptions& options = {});

// An NVIDIA GPU (DeviceOptions::cuda_device) under local_async's scheduler:
// buffers of MemoryType::kDeviceLocal are GPU memory (cudaMalloc), which Map
// refuses and Buffer::GetDeviceAddress gives as a CUDA device pointer (kCuda,
// this ordinal) for other CUDA code; fill, update and copy run on the GPU (CUDA streams); reads and
// writes of files go through page-locked staging buffers
// (DeviceOptions::staging_buffer_*), file I/O overlapped with the copies.
// Where libhalio was built without CUDA (meson option `cuda`) it exists and
// always fails. Errors: UNAVAILABLE when halio was built without CUDA, when
// there is no usable GPU or driver (the message carries cudaGetDeviceCount's
// error and the likely fix) or the ordinal is beyond the GPUs present;
// RESOURCE_EXHAUSTED (host memory, a thread, GPU memory); INTERNAL for other
// CUDA errors (naming the call); and CreateLocalAsyncDevice's.
Result<std::unique_ptr<Device>> CreateCudaDevice(const DeviceOptions& options = {});

}  // namespace halio

#endif  // HALIO_DRIVERS_H_
