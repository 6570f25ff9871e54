// local_async's queue_read and queue_write: a file range moved in chunks of
// DeviceOptions::chunk_size, up to queue_depth of them in flight. Where each
// chunk goes (the file's async engine, a worker's page-cache-first copy, a
// worker's synchronous or O_DIRECT transfer) is the file's to decide
// (src/hal/fd_transfer.h); this op only hands chunks out and gathers them.
// Memory files and files without an fd go in one piece. Internal.
//
// Ownership: as Op; the op retains the file and the buffer, and its request
// slots beyond the first come from the device's HostAllocator.
// Thread-safety: chunk completions may run on engine and worker threads at
// once; mutex_ guards the hand-out of chunks and the first error.
#ifndef HALIO_SRC_DRIVERS_LOCAL_ASYNC_FILE_OP_H_
#define HALIO_SRC_DRIVERS_LOCAL_ASYNC_FILE_OP_H_

#include <cstdint>
#include <mutex>

#include "halio/file.h"
#include "async_io.h"
#include "fd_transfer.h"
#include "host_new.h"
#include "local_async/op.h"
#include "small_array.h"

namespace halio::local_async {

class FileOp final : public Op {
 public:
  FileOp(AsyncScheduler* device, IoOp io, FileRef file, uint64_t file_offset, BufferRef buffer,
         uint64_t buffer_offset, uint64_t length)
      : Op(device),
        io_(io),
        file_(std::move(file)),
        file_offset_(file_offset),
        buffer_(std::move(buffer)),
        buffer_offset_(buffer_offset),
        length_(length) {}

  // The largest cache-first chunk copied on the thread that starts it
  // (SubmitSlot, and AsyncScheduler's reads with their waits reached);
  // larger ones are copied on workers, in parallel.
  static constexpr size_t kInlineCachedReadBytes = 64 << 10;

  void Execute() override;
  // Not for device memory: its staged transfer blocks the thread it runs on.
  bool SubmitsIoOnly() const override {
    return buffer_->host_visible() && FdTransfer::SubmitsIoOnly(*file_);
  }

 private:
  struct Slot {
    AsyncRequest request;
    Task task;
    FileOp* op;
  };
  // Memory files, files other than FdFile (remote files) and device
  // memory: the common body on this worker, under the device's CancelToken.
  Status RunInOnePiece();
  static void OnChunkDone(AsyncRequest* request, Status status);
  static void RunSyncChunk(Task* task);
  // Fills `slot` with the next chunk; false when none is left.
  bool NextChunkLocked(Slot* slot);
  void SubmitSlot(Slot* slot);
  void ChunkDone(Slot* slot, Status status);
  // Drops one in-flight count; the last one finishes the op.
  void ReleaseOne();

  const IoOp io_;
  const FileRef file_;
  const uint64_t file_offset_;
  const BufferRef buffer_;
  const uint64_t buffer_offset_;
  const uint64_t length_;
  std::byte* data_ = nullptr;
  FdFile* fd_file_ = nullptr;
  // A read or write of one chunk (most of them) keeps its slot inline: no
  // allocation per op.
  SmallArray<Slot, 1> slots_;
  std::mutex mutex_;
  uint64_t next_ = 0;      // bytes handed out
  size_t in_flight_ = 0;   // slots submitted and not completed
  Status first_error_;
};

}  // namespace halio::local_async

#endif  // HALIO_SRC_DRIVERS_LOCAL_ASYNC_FILE_OP_H_
