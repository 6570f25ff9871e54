// Loading parameters: streams the tensors a ParameterIndex describes into
// device buffers through the device's queue_read.
//
// All selected tensors go into one arena buffer, each tensor a view of it:
// one allocation instead of one per tensor (a queue_alloca per tensor was not
// measured against it), huge-page backed when large, and peak memory stays
// at the tensor bytes themselves: reads land in the arena, no extra copy on
// host devices. The arena is the device's own memory by default
// (LoadOptions::memory_type = MemoryType::kDeviceLocal), what a user loading
// weights onto an accelerator expects: on local_sync and local_async that is
// host memory the caller can Map; on discrete devices (local_discrete, cuda)
// it is device memory that Map refuses, filled by the device's staged
// transfers (file -> host staging -> device), and read back with
// ReadBackToHost. Tensors adjacent in their file are coalesced
// into one read (up to LoadOptions::max_read_bytes); at most
// max_inflight_bytes of reads are queued at once. Files that are memory
// files (data embedded in the binary) are not copied where the arena would
// be host memory anyway: their tensors are views of the file's own storage
// buffer. On a discrete device they are copied into the device arena.
//
// A load either returns every selected tensor read completely or fails with
// the first error, naming the tensor(s), the file and the byte range; it
// never reports a tensor loaded that was not read.
//
// Thread-safety: LoadParameters may run concurrently on distinct indexes or
// devices; the progress callback runs on the calling thread.
#ifndef HALIO_LOADER_H_
#define HALIO_LOADER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "halio/file.h"
#include "halio/hal/device.h"
#include "halio/params.h"
#include "halio/remote_file.h"
#include "halio/status.h"

namespace halio {

struct LoadProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  size_t tensors_done = 0;
  size_t tensors_total = 0;
};

struct LoadOptions {
  // Shell globs (fnmatch) of tensor names to load; empty loads all.
  std::vector<std::string> select;
  // Bytes of reads queued at once. 256 MiB keeps the device busy (its own
  // queue_depth x chunk_size is 8 MiB by default) without queuing a whole
  // model's worth of semaphores and ops up front.
  uint64_t max_inflight_bytes = uint64_t{256} << 20;
  // Largest single coalesced read. 64 MiB: large enough that per-op costs
  // vanish, small enough to spread over max_inflight_bytes.
  uint64_t max_read_bytes = uint64_t{64} << 20;
  // How files are opened: backend, sync_on_close, log.
  FdFileOptions file_options;
  // How files the index names by URL are opened (halio/remote_file.h):
  // requests in flight, retries, deadline, credentials.
  RemoteFileOptions remote_options;
  // Open files with O_DIRECT (falls back where the filesystem refuses).
  bool direct = false;
  // Called after each completed read, and once at the end.
  std::function<void(const LoadProgress&)> progress;
  // Asked on the calling thread before each read is queued; once it returns
  // true the load queues no more reads, waits for those in flight (none may
  // outlive the load) and fails with CANCELLED, saying how far it got. A
  // load with every read queued already finishes them first: the latency of
  // a cancel is at most max_inflight_bytes of reads. With remote files
  // (remote_file.h) it is also asked every 10 ms while a read is waited for,
  // and a cancel aborts the requests the load's reads have sent, those of
  // reads still queued as they start too (RemoteFile::CancelReadsInto of the
  // arena: other reads of a RemoteFile the load shares go on), except on
  // local_sync, whose reads run inside the queue call.
  std::function<bool()> cancel;
  // Map the files instead of reading them, where the arena would be host
  // memory (memory_type kHost, or kDeviceLocal on a host device): each
  // tensor is then a read-only view (MemoryAccess::kRead) of a private,
  // read-only mapping of its fd file, no copy, pages read on first touch,
  // as llama.cpp and safetensors' CPU path do. The mapping lives as long as
  // any tensor buffer of it. Where the arena is device memory the files are
  // read as usual. Tensors must lie inside their file (checked: DATA_LOSS);
  // a file truncated by someone else while mapped makes touching the lost
  // pages fault (SIGBUS), as with any mapping. `direct` does not apply.
  bool map = false;
  // Files already open (same order as index.files()); empty = open by path.
  // A memory file's tensors become views of its storage, without a copy,
  // unless the arena is device memory the host cannot map (see above).
  std::vector<FileRef> files;
  // Memory type of the arena. kDeviceLocal (the default): the device's own
  // memory, device memory on a discrete device. MemoryType::kHost loads into
  // host memory on every device (views of memory files then too).
  MemoryType memory_type = MemoryType::kDeviceLocal;
};

struct LoadedTensor {
  const ParameterEntry* entry = nullptr;  // into the index passed in
  BufferRef buffer;  // exactly the tensor's bytes
};

struct LoadedParameters {
  std::vector<LoadedTensor> tensors;  // in index order
  BufferRef arena;                    // null when every tensor was a view
  uint64_t bytes = 0;                 // tensor bytes loaded
  bool mapped = false;                // some tensors are views of file mappings (map)
};

// Errors: NOT_FOUND when a LoadOptions::select glob matches nothing (naming it);
// CANCELLED when LoadOptions::cancel said so; with map, DATA_LOSS for a tensor
// past its file's end and the errors of mmap (UNIMPLEMENTED for a file that
// cannot be mapped);
// RESOURCE_EXHAUSTED when the arena cannot be allocated (naming its size and
// the first file); INVALID_ARGUMENT for a memory_type BufferAllocator
// refuses; the open errors of the files; and any read error, annotated with
// the tensor names, the file and the byte range.
Result<LoadedParameters> LoadParameters(Device& device, const ParameterIndex& index,
                                        const LoadOptions& options = {});

// `buffer`'s bytes where the host can read them: `buffer` itself when it is
// host-visible; otherwise a new host buffer (from device.allocator()) that a
// queue_copy on `device` filled from it, so the bytes are the ones that
// landed in device memory. For checking a load (`halio load --checksums`);
// `buffer` must be reachable by `device`. Blocks until the copy is done.
// Errors: RESOURCE_EXHAUSTED for the host buffer, and the copy's errors,
// annotated with the buffer's description.
Result<BufferRef> ReadBackToHost(Device& device, const BufferRef& buffer);

}  // namespace halio

#endif  // HALIO_LOADER_H_
