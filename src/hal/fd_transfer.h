// How an FdFile's bytes move: the synchronous transfer (pread/pwrite, a
// realigned read, O_DIRECT with bounce memory) and, for a device that moves a
// request in chunks, where each chunk goes. Besides FdFile itself this is
// the only code that uses FdFile's internals (its descriptors, engine
// import, interceptor). Internal.
//
// A device asks Of() whether a File is an FdFile, fills each chunk's request
// with PrepareRequest and the chunk's range, and then either submits it to
// the engine (Route() == kEngine: SubmitToEngine) or runs RunOnWorker on one
// of its threads, which may in turn hand the rest of the chunk to the engine.
//
// Thread-safety: every function is thread-safe for distinct requests.
#ifndef HALIO_SRC_HAL_FD_TRANSFER_H_
#define HALIO_SRC_HAL_FD_TRANSFER_H_

#include <cstdint>
#include <span>

#include "halio/file.h"
#include "halio/status.h"
#include "async_io.h"

namespace halio {

// Where one chunk of an FdFile request goes.
enum class ChunkRoute : uint8_t {
  // Straight to the file's async engine.
  kEngine,
  // A worker copies what the page cache already holds without waiting
  // (every worker in parallel); only the uncached rest goes to the engine.
  kCacheFirst,
  // A worker runs the synchronous transfer: pread/pwrite (no async engine),
  // or a read realigned through a bounce chunk where the kernel would copy
  // into this destination slowly.
  kWorkerTransfer,
  // A worker runs the O_DIRECT transfer: the aligned middle goes direct,
  // unaligned parts through aligned bounce memory (writes of partial blocks
  // through the buffered twin descriptor).
  kWorkerDirect,
};

class FdTransfer {
 public:
  // The FdFile behind `file`, or null for any other kind of file.
  static FdFile* Of(File& file) {
    return file.is_fd_file_ ? static_cast<FdFile*>(&file) : nullptr;
  }
  static const FdFile* Of(const File& file) {
    return file.is_fd_file_ ? static_cast<const FdFile*>(&file) : nullptr;
  }
  // The file's import into an async engine, or null (another kind of file,
  // or an FdFile using synchronous I/O).
  static EngineFile* async_file(const File& file);
  // FdFileOptions::interceptor, or null; valid while the file lives.
  static IoInterceptor* interceptor(const FdFile& file) { return file.interceptor_.get(); }

  // True when queueing a request on `file` only submits chunks (to the
  // engine or a worker queue) and never blocks or copies on the calling
  // thread, so a device may start it on an engine thread or in the queue
  // call: an FdFile imported into an async engine (O_DIRECT pieces that are
  // not aligned, and cache-first copies, go to a worker's queue, never run
  // on the submitting thread).
  static bool SubmitsIoOnly(const File& file);

  // Fills what every chunk request of `op` on `file` shares: the handle,
  // O_DIRECT, the description and the interceptor. The caller sets the
  // chunk's offset, data and length, and its completion.
  static void PrepareRequest(const FdFile& file, IoOp op, AsyncRequest* request);
  // Where the chunk `request` describes goes.
  static ChunkRoute Route(const FdFile& file, const AsyncRequest& request);
  // Submits a chunk routed kEngine; its completion reports it.
  static void SubmitToEngine(const FdFile& file, AsyncRequest* request);
  // Runs a chunk that Route() did not send to the engine, on the calling
  // (worker) thread. Returns true when it handed the rest of the chunk to
  // the engine, whose completion then reports it (the request's offset,
  // data and length now describe that rest); false when the chunk is over,
  // with *status set. Errors as ReadBytes/WriteBytes.
  static bool RunOnWorker(FdFile& file, AsyncRequest* request, Status* status);
  // For a read whose chunks would start with a page-cache copy (Route() ==
  // kCacheFirst): copies file bytes at `offset` into `bytes` if the page
  // cache holds all of them, never waiting for the device. True when every
  // byte was copied; false when the read would not start that way or some
  // bytes are not cached (what was copied is to be read again). Errors: the
  // mapped errno of the read.
  static Result<bool> ReadIfCached(FdFile& file, uint64_t offset, std::span<std::byte> bytes);

  // Unchecked synchronous transfers of raw bytes (the caller validated the
  // range): what FdFile::Read/Write use, direct-aware. Errors as
  // File::Read/Write.
  static Status ReadBytes(FdFile& file, uint64_t file_offset, std::span<std::byte> bytes);
  static Status WriteBytes(FdFile& file, uint64_t file_offset,
                           std::span<const std::byte> bytes);
  // Raises file.length() to at least `end` after bytes were written up to it
  // by a path other than FdFile::Write (a device's chunked writes).
  static void NoteWritten(FdFile& file, uint64_t end);
};

}  // namespace halio

#endif  // HALIO_SRC_HAL_FD_TRANSFER_H_
