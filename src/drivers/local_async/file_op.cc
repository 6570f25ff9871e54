#include "local_async/file_op.h"

#include <algorithm>
#include <new>
#include <string>

#include "halio/hal/transfer.h"
#include "common/op_bodies.h"
#include "local_async/async_device.h"

namespace halio::local_async {

void FileOp::Execute() {
  if (length_ == 0) return Finish(Status());
  // Memory files and files other than FdFile go in one piece, as the
  // common bodies run them; fd files go in chunks. So does device memory:
  // its staged transfer (staged_transfer.h) keeps its own chunks in flight,
  // from this worker.
  fd_file_ = FdTransfer::Of(*file_);
  if (file_->storage_buffer() || fd_file_ == nullptr || !buffer_->host_visible()) {
    return Finish(RunInOnePiece());
  }
  auto mapped = buffer_->MapUnretained(
      io_ == IoOp::kRead ? MemoryAccess::kWrite : MemoryAccess::kRead, buffer_offset_, length_);
  if (!mapped.ok()) return Finish(mapped.status());
  data_ = mapped->data();
  const uint64_t chunk = device_->chunk_size();
  const size_t slot_count = static_cast<size_t>(
      std::min<uint64_t>(device_->queue_depth(), (length_ + chunk - 1) / chunk));
  if (!slots_.Resize(slot_count, host())) {
    return Finish(ResourceExhaustedError(
        "out of host memory for the " + std::to_string(slot_count) + " request slots of " +
        (io_ == IoOp::kRead ? "reading " : "writing ") + file_->description() + " [" +
        std::to_string(file_offset_) + ", " + std::to_string(file_offset_ + length_) + ")"));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // One count per slot plus a guard, so chunks that finish while the rest
    // are still being submitted cannot finish (and free) the op.
    in_flight_ = slot_count + 1;
    for (Slot& slot : slots_) {
      slot.task.owner = &slot;
      slot.op = this;
      FdTransfer::PrepareRequest(*fd_file_, io_, &slot.request);
      slot.request.completion = &FileOp::OnChunkDone;
      slot.request.user_data = &slot;
      slot.task.run = &FileOp::RunSyncChunk;
      NextChunkLocked(&slot);
    }
  }
  for (Slot& slot : slots_) SubmitSlot(&slot);
  ReleaseOne();
}

Status FileOp::RunInOnePiece() {
  // A remote file's read waits on a server: the device's shutdown aborts it
  // (AsyncScheduler::cancel_token). Only while the body runs: Finish's
  // signals may run other code on this thread.
  const CancelScope cancellable(&device_->cancel_token());
  return io_ == IoOp::kRead
             ? ReadBody{file_, file_offset_, buffer_, buffer_offset_, length_}.Run()
             : WriteBody{buffer_, buffer_offset_, file_, file_offset_, length_}.Run();
}

bool FileOp::NextChunkLocked(Slot* slot) {
  if (next_ >= length_ || !first_error_.ok()) return false;
  // Chunks end at file offsets that are multiples of the chunk size, so the
  // middle chunks of an O_DIRECT transfer stay block-aligned.
  const uint64_t chunk = device_->chunk_size();
  const uint64_t position = file_offset_ + next_;
  const uint64_t length = std::min(chunk - position % chunk, length_ - next_);
  slot->request.offset = file_offset_ + next_;
  slot->request.data = data_ + next_;
  slot->request.length = static_cast<size_t>(length);
  next_ += length;
  return true;
}

void FileOp::SubmitSlot(Slot* slot) {
  // The file decides where each chunk goes (src/hal/fd_transfer.h).
  const ChunkRoute route = FdTransfer::Route(*fd_file_, slot->request);
  // Buffered writes on io_uring run on a worker's pwrite instead: ext4
  // refuses non-blocking buffered writes (EOPNOTSUPP), so io_uring hands each
  // one to io-wq, one at a time per file, and its completion goes through
  // the reaper as well. Hot, 64 KiB-4 MiB at queue depth 1-8: 0.9-6.4 GB/s
  // through io_uring, 4.1-6.7 here. asio's pool gains at queue depth 1 but
  // loses 5-9 % at 8, so it keeps them (bench/README.md, "Hot buffered
  // writes").
  const bool write_on_worker = io_ == IoOp::kWrite && !fd_file_->direct() &&
                               fd_file_->io_backend() == IoBackend::kIoUring;
  if (route == ChunkRoute::kEngine && !write_on_worker) {
    return FdTransfer::SubmitToEngine(*fd_file_, &slot->request);
  }
  // A small read the page cache may hold is copied right here where this
  // thread may start I/O (a queue call, an engine completion): io_uring's
  // own submission copies cached pages inline the same way, and waking a
  // worker costs far more than a 4 KiB copy (hot 4 KiB random reads, qd 1:
  // 25k IOPS through a worker against fio's 950k). The copy never waits for
  // the disk (RWF_NOWAIT); what is not cached goes on to the engine.
  if (route == ChunkRoute::kCacheFirst && slot->request.length <= kInlineCachedReadBytes &&
      MayStartIoHere()) {
    return RunSyncChunk(&slot->task);
  }
  device_->Enqueue(&slot->task);
}

void FileOp::RunSyncChunk(Task* task) {
  Slot* slot = static_cast<Slot*>(task->owner);
  Status status;
  // True when the rest went to the engine: its completion reports the chunk.
  if (FdTransfer::RunOnWorker(*slot->op->fd_file_, &slot->request, &status)) return;
  slot->op->ChunkDone(slot, std::move(status));
}

void FileOp::OnChunkDone(AsyncRequest* request, Status status) {
  Slot* slot = static_cast<Slot*>(request->user_data);
  // Ops this completion makes ready may start their I/O right here, on the
  // engine's thread, instead of hopping to a worker (see BecomeReady).
  IoStartScope in_completion;
  slot->op->ChunkDone(slot, std::move(status));
}

void FileOp::ChunkDone(Slot* slot, Status status) {
  bool more;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status.ok() && first_error_.ok()) first_error_ = std::move(status);
    more = NextChunkLocked(slot);
  }
  if (more) return SubmitSlot(slot);
  ReleaseOne();
}

void FileOp::ReleaseOne() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--in_flight_ > 0) return;
  }
  if (io_ == IoOp::kWrite && first_error_.ok()) {
    FdTransfer::NoteWritten(*fd_file_, file_offset_ + length_);
  }
  Finish(std::move(first_error_));
}

}  // namespace halio::local_async
