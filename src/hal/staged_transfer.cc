#include "staged_transfer.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <string>

#include "async_io.h"
#include "fd_transfer.h"
#include "host_new.h"

namespace halio {
namespace {

constexpr size_t kStagingAlignment = 4096;

std::string RangeText(uint64_t offset, uint64_t length) {
  return "[" + std::to_string(offset) + ", " + std::to_string(offset + length) + ")";
}

}  // namespace

// --- StagingPool --------------------------------------------------------------

StagingPool::StagingPool(DeviceMemory& memory, size_t buffer_bytes, uint32_t count)
    : memory_(memory),
      buffer_bytes_((std::max<size_t>(buffer_bytes, 1) + kStagingAlignment - 1) /
                    kStagingAlignment * kStagingAlignment),
      count_(std::clamp<uint32_t>(count, 1, kMaxCount)) {}

StagingPool::~StagingPool() {
  for (uint32_t i = 0; i < singles_; ++i) memory_.FreeStaging(all_[i], buffer_bytes_);
  if (slab_ != nullptr) memory_.FreeStaging(slab_, slab_bytes_);
}

Status StagingPool::Preallocate() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (allocated_ == 0) {
    // All or nothing, as one by one: a device with fewer buffers than asked
    // would run slower without saying why.
    const size_t bytes = buffer_bytes_ * buffers();
    Result<std::byte*> slab = memory_.AllocateStaging(bytes);
    if (!slab.ok()) {
      return Status(slab.status())
          .Annotate("allocating " + std::to_string(buffers()) + " staging buffers of " +
                    std::to_string(buffer_bytes_) + " bytes (one block of " +
                    std::to_string(bytes) + ") for " + memory_.description());
    }
    slab_ = *slab;
    slab_bytes_ = bytes;
    for (uint32_t i = 0; i < buffers(); ++i) free_[free_count_++] = slab_ + i * buffer_bytes_;
    allocated_ = buffers();
    return Status();
  }
  while (allocated_ < buffers()) {
    Result<std::byte*> made = memory_.AllocateStaging(buffer_bytes_);
    if (!made.ok()) {
      return Status(made.status())
          .Annotate("allocating staging buffer " + std::to_string(allocated_ + 1) + " of " +
                    std::to_string(buffers()) + " (" + std::to_string(buffer_bytes_) +
                    " bytes each) for " + memory_.description());
    }
    all_[singles_++] = *made;
    ++allocated_;
    free_[free_count_++] = *made;
  }
  return Status();
}

std::byte* StagingPool::TakeLocked(Status* allocation_error) {
  if (free_count_ > 0) return free_[--free_count_];
  if (allocated_ == buffers()) return nullptr;
  Result<std::byte*> made = memory_.AllocateStaging(buffer_bytes_);
  if (!made.ok()) {
    *allocation_error = made.status();
    return nullptr;
  }
  all_[singles_++] = *made;
  ++allocated_;
  return *made;
}

Result<std::byte*> StagingPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (memory_.cancelled()) {
      return CancelledError("the device of " + memory_.description() +
                            " was shut down while a transfer waited for a staging buffer");
    }
    Status allocation_error;
    if (std::byte* buffer = TakeLocked(&allocation_error)) return buffer;
    // With no buffer at all nobody will release one: fail. Otherwise wait
    // for a transfer to give one back (backpressure). The timeout only
    // re-checks cancellation, which does not notify.
    if (!allocation_error.ok() && allocated_ == 0) {
      return Status(allocation_error)
          .Annotate("allocating a staging buffer of " + std::to_string(buffer_bytes_) +
                    " bytes for " + memory_.description());
    }
    released_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

std::byte* StagingPool::TryAcquire() {
  std::lock_guard<std::mutex> lock(mutex_);
  Status ignored;
  return TakeLocked(&ignored);
}

void StagingPool::Release(std::byte* buffer) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_[free_count_++] = buffer;
  released_.notify_one();
}

// --- Staged transfers ---------------------------------------------------------

namespace {

// One transfer: the calling thread hands out chunks and runs the file calls
// that cannot go to an engine; completions (engine, copy engine) hand each
// slot back to it through the ready list.
class StagedTransfer {
 public:
  StagedTransfer(DeviceMemory& memory, FdFile& file, IoOp io, uint64_t file_offset,
                 std::byte* device, uint64_t length, HostAllocator& host)
      : memory_(memory), file_(file), io_(io), file_offset_(file_offset), device_(device),
        length_(length), slots_(HostAllocatorAdapter<Slot>(host)) {}

  Status Run(const StagedTransferOptions& options);

 private:
  // What the transfer's thread does with a slot handed to it: assign its
  // next chunk, run its file call (one no engine takes), or start its file
  // call in turn (a write's buffered call, kept off the copy engine).
  enum class Next : uint8_t { kChunk, kFileIo, kFileIoInTurn };
  struct Slot {
    StagedTransfer* transfer = nullptr;
    std::byte* staging = nullptr;
    uint64_t offset = 0;  // of the chunk, from the start of the transfer
    size_t length = 0;
    Next next = Next::kChunk;
    Slot* ready_next = nullptr;  // in the ready list, or in the parked list
    AsyncRequest request;
    DeviceCopy copy;
  };

  Status AcquireSlots(const StagedTransferOptions& options);
  void Drive();
  // Starts the slot's file call when fewer than io_limit_ are in flight;
  // otherwise parks it until one completes (FileIoDone).
  void StartFileIoInTurn(Slot* slot, bool on_transfer_thread);
  // Counts a file call done and starts a parked slot's in its place.
  void FileIoDone();
  void Handle(Slot* slot);
  // Takes the slot's next chunk; false when the transfer is over for it.
  bool AssignChunk(Slot* slot);
  // The slot's file call: to the engine when it can go there, else run here
  // when this is the transfer's own thread, else handed back to it.
  void StartFileIo(Slot* slot, bool on_transfer_thread);
  // The next chunk for a slot whose chunk just completed, from the
  // completing thread.
  void Continue(Slot* slot);
  void StartCopy(Slot* slot);
  void FileDone(Slot* slot, Status status);
  void CopyDone(Slot* slot, Status status);
  void Ready(Slot* slot, Next next);
  void NoteError(Status status);
  static void OnFileDone(AsyncRequest* request, Status status);
  static void OnCopyDone(DeviceCopy* copy, Status status);

  DeviceMemory& memory_;
  FdFile& file_;
  const IoOp io_;
  const uint64_t file_offset_;
  std::byte* const device_;
  const uint64_t length_;
  HostVector<Slot> slots_;

  std::mutex mutex_;
  std::condition_variable ready_cv_;
  Slot* ready_head_ = nullptr;
  Slot* ready_tail_ = nullptr;
  uint32_t active_ = 0;  // slots not yet retired
  uint32_t io_limit_ = 1;     // file calls in flight at most (the queue depth)
  uint32_t io_in_flight_ = 0;
  // Slots with a chunk, waiting for a file call's turn, oldest first.
  Slot* parked_head_ = nullptr;
  Slot* parked_tail_ = nullptr;
  uint64_t next_ = 0;    // bytes handed out
  Status first_error_;
};

Status StagedTransfer::AcquireSlots(const StagedTransferOptions& options) {
  StagingPool& pool = memory_.staging();
  const uint64_t size = pool.buffer_bytes();
  const uint64_t chunks = (file_offset_ % size + length_ + size - 1) / size;  // AssignChunk's
  const uint32_t depth = options.queue_depth != 0 ? options.queue_depth : pool.count();
  io_limit_ = depth;
  // One buffer beyond the depth: the chunk on its way to (or from) the
  // device does not take a file request's place.
  const size_t wanted = static_cast<size_t>(std::min<uint64_t>(uint64_t{depth} + 1, chunks));
  try {
    slots_.reserve(wanted);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of host memory for the " + std::to_string(wanted) +
                                  " staging slots of a transfer of " + file_.description());
  }
  // The first buffer may wait (backpressure); the rest only if free now.
  HALIO_ASSIGN_OR_RETURN(std::byte* first, pool.Acquire());
  slots_.emplace_back().staging = first;
  // Fewer buffers (busy, or no memory for another) only means fewer chunks
  // in flight, not an error.
  while (slots_.size() < wanted) {
    std::byte* more = pool.TryAcquire();
    if (more == nullptr) break;
    slots_.emplace_back().staging = more;
  }
  return Status();
}

Status StagedTransfer::Run(const StagedTransferOptions& options) {
  Status acquired = AcquireSlots(options);
  if (!acquired.ok()) {
    return acquired.Annotate((io_ == IoOp::kRead ? "reading " : "writing ") +
                             file_.description() + " " + RangeText(file_offset_, length_));
  }
  active_ = static_cast<uint32_t>(slots_.size());
  for (Slot& slot : slots_) {
    slot.transfer = this;
    Ready(&slot, Next::kChunk);
  }
  Drive();
  for (Slot& slot : slots_) memory_.staging().Release(slot.staging);
  return std::move(first_error_);
}

void StagedTransfer::Drive() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    ready_cv_.wait(lock, [&] { return ready_head_ != nullptr || active_ == 0; });
    if (ready_head_ == nullptr) return;  // every slot retired
    Slot* slot = ready_head_;
    ready_head_ = slot->ready_next;
    if (ready_head_ == nullptr) ready_tail_ = nullptr;
    lock.unlock();
    Handle(slot);
    lock.lock();
  }
}

void StagedTransfer::Handle(Slot* slot) {
  if (slot->next == Next::kFileIo) return StartFileIo(slot, /*on_transfer_thread=*/true);
  if (slot->next == Next::kFileIoInTurn) {
    return StartFileIoInTurn(slot, /*on_transfer_thread=*/true);
  }
  if (!AssignChunk(slot)) return;
  // A read fills the staging buffer from the file first; a write fills it
  // from the device first.
  if (io_ == IoOp::kRead) return StartFileIoInTurn(slot, /*on_transfer_thread=*/true);
  StartCopy(slot);
}

void StagedTransfer::StartFileIoInTurn(Slot* slot, bool on_transfer_thread) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (io_in_flight_ >= io_limit_) {
      slot->ready_next = nullptr;
      (parked_tail_ ? parked_tail_->ready_next : parked_head_) = slot;
      parked_tail_ = slot;
      return;
    }
    ++io_in_flight_;
  }
  StartFileIo(slot, on_transfer_thread);
}

void StagedTransfer::FileIoDone() {
  Slot* parked;
  bool failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --io_in_flight_;
    parked = parked_head_;
    if (parked == nullptr) return;
    parked_head_ = parked->ready_next;
    if (parked_head_ == nullptr) parked_tail_ = nullptr;
    failed = !first_error_.ok();
    if (!failed) ++io_in_flight_;
  }
  // After an error the parked chunk is not moved: back to the transfer's
  // thread, whose AssignChunk retires the slot.
  if (failed) return Ready(parked, Next::kChunk);
  StartFileIo(parked, /*on_transfer_thread=*/false);
}

void StagedTransfer::Continue(Slot* slot) {
  // Straight on from the completion that freed the slot: a hop through the
  // transfer's thread per chunk would leave the disk (or the link) idle
  // for a wake-up each time.
  if (!AssignChunk(slot)) return;
  if (io_ == IoOp::kRead) return StartFileIoInTurn(slot, /*on_transfer_thread=*/false);
  StartCopy(slot);
}

bool StagedTransfer::AssignChunk(Slot* slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (first_error_.ok() && memory_.cancelled()) {
    first_error_ = CancelledError("the device of " + memory_.description() +
                                  " was shut down during the transfer of " +
                                  file_.description() + " " +
                                  RangeText(file_offset_, length_));
  }
  if (!first_error_.ok() || next_ >= length_) {
    // Drive sees it under this lock. Notified under it too: once it is
    // released the transfer may end (this slot's caller touches nothing
    // after).
    if (--active_ == 0) ready_cv_.notify_one();
    return false;
  }
  // Chunks end at file offsets that are multiples of the staging size, so
  // the middle chunks of an O_DIRECT transfer stay block-aligned (only the
  // first and last go through bounce memory).
  const uint64_t size = memory_.staging().buffer_bytes();
  const uint64_t position = file_offset_ + next_;
  slot->offset = next_;
  slot->length = static_cast<size_t>(std::min(size - position % size, length_ - next_));
  next_ += slot->length;
  return true;
}

void StagedTransfer::StartFileIo(Slot* slot, bool on_transfer_thread) {
  AsyncRequest& request = slot->request;
  request = AsyncRequest();
  FdTransfer::PrepareRequest(file_, io_, &request);
  request.offset = file_offset_ + slot->offset;
  request.data = slot->staging;
  request.length = slot->length;
  request.completion = &StagedTransfer::OnFileDone;
  request.user_data = slot;
  // A completion thread (the copy engine's, an engine's reaper) has the
  // other chunks' copies waiting behind it: a hot-cache read that io_uring
  // copied inline there stalled the copy engine for as long as the read
  // (hot staged efficiency 0.67-0.75, bench/README.md "Staged transfers").
  request.keep_off_submitter = !on_transfer_thread;
  // The file decides where the chunk goes (fd_transfer.h), with one
  // exception: a buffered read the file would start with a page-cache copy
  // on a worker goes to the engine whole, since this thread is the
  // transfer's only one and the engine keeps every chunk in flight at once
  // (io_uring copies cached pages inline or on its own workers, asio on its
  // pool). What cannot go to an engine (no async engine: the sync backend;
  // unaligned O_DIRECT pieces) runs here, one call at a time, still
  // overlapped with the other chunks' device copies.
  const ChunkRoute route = FdTransfer::Route(file_, request);
  if (route == ChunkRoute::kEngine || route == ChunkRoute::kCacheFirst) {
    return FdTransfer::SubmitToEngine(file_, &request);
  }
  // A blocking call: on a completion's thread (an engine's, the copy
  // engine's) it would stall everything else that thread completes.
  if (!on_transfer_thread) return Ready(slot, Next::kFileIo);
  Status status;
  if (FdTransfer::RunOnWorker(file_, &request, &status)) return;  // the engine reports
  FileDone(slot, std::move(status));
}

void StagedTransfer::StartCopy(Slot* slot) {
  DeviceCopy& copy = slot->copy;
  copy = DeviceCopy();
  std::byte* device = device_ + slot->offset;
  if (io_ == IoOp::kRead) {
    copy.kind = DeviceCopy::Kind::kToDevice;
    copy.source = slot->staging;
    copy.target = device;
  } else {
    copy.kind = DeviceCopy::Kind::kFromDevice;
    copy.source = device;
    copy.target = slot->staging;
  }
  copy.bytes = slot->length;
  copy.done = &StagedTransfer::OnCopyDone;
  copy.user_data = slot;
  memory_.Submit(&copy);
}

void StagedTransfer::OnFileDone(AsyncRequest* request, Status status) {
  auto* slot = static_cast<Slot*>(request->user_data);
  slot->transfer->FileDone(slot, std::move(status));
}

void StagedTransfer::OnCopyDone(DeviceCopy* copy, Status status) {
  auto* slot = static_cast<Slot*>(copy->user_data);
  slot->transfer->CopyDone(slot, std::move(status));
}

void StagedTransfer::FileDone(Slot* slot, Status status) {
  const bool failed = !status.ok();
  if (failed) NoteError(std::move(status));  // before FileIoDone: a parked slot then retires
  FileIoDone();
  if (failed) return Ready(slot, Next::kChunk);
  // A read's staging buffer is full: on to the device (submitting does not
  // block, so an engine thread may do it). A write's chunk is done.
  if (io_ == IoOp::kRead) return StartCopy(slot);
  Continue(slot);
}

void StagedTransfer::CopyDone(Slot* slot, Status status) {
  if (!status.ok()) {
    const char* direction = io_ == IoOp::kRead ? "copying to " : "copying from ";
    NoteError(status.Annotate(direction + memory_.description() + " the bytes of " +
                              file_.description() + " " +
                              RangeText(file_offset_ + slot->offset, slot->length)));
    return Ready(slot, Next::kChunk);
  }
  // A read's chunk is done, so its slot takes the next chunk; a write's
  // staging buffer holds the device's bytes, for the file. An O_DIRECT call
  // is started from here: the engine issues it without copying (a hop
  // through the transfer's thread measured 0.74-0.90 against 0.83-0.98 of
  // the read alone, 1-2 MiB chunks at depth 2-4, A B A B). A buffered one
  // goes through the transfer's thread. This is the copy engine's thread,
  // and io_uring's hand-off of even an IOSQE_ASYNC read woke an io-wq worker
  // that took this core for ~160 us per 2 MiB. Measured hot, copy engine at
  // 2 GB/s, A B A B: reads 0.87-0.90 from here, 0.96-0.97 through the
  // transfer's thread; writes 0.98-1.00 and 1.02-1.04.
  if (file_.direct()) {
    if (io_ == IoOp::kRead) return Continue(slot);
    return StartFileIoInTurn(slot, /*on_transfer_thread=*/false);
  }
  Ready(slot, io_ == IoOp::kRead ? Next::kChunk : Next::kFileIoInTurn);
}

void StagedTransfer::Ready(Slot* slot, Next next) {
  std::lock_guard<std::mutex> lock(mutex_);
  slot->next = next;
  slot->ready_next = nullptr;
  (ready_tail_ ? ready_tail_->ready_next : ready_head_) = slot;
  ready_tail_ = slot;
  // Under the lock: the transfer (and this slot) may end once it is
  // released and the driving thread sees the last slot retire.
  ready_cv_.notify_one();
}

void StagedTransfer::NoteError(Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (first_error_.ok()) first_error_ = std::move(status);
}

Status Unsupported(const File& file) {
  return UnimplementedError("staged transfers to device memory support fd files only, not " +
                            file.description());
}

}  // namespace

Status StagedRead(DeviceMemory& memory, File& file, uint64_t file_offset,
                  std::byte* device_address, uint64_t length,
                  const StagedTransferOptions& options) {
  if (length == 0) return Status();
  FdFile* fd_file = FdTransfer::Of(file);
  if (fd_file == nullptr) return Unsupported(file);
  StagedTransfer transfer(memory, *fd_file, IoOp::kRead, file_offset, device_address, length,
                          *options.host);
  return transfer.Run(options);
}

Status StagedWrite(DeviceMemory& memory, const std::byte* device_address, File& file,
                   uint64_t file_offset, uint64_t length,
                   const StagedTransferOptions& options) {
  if (length == 0) return Status();
  FdFile* fd_file = FdTransfer::Of(file);
  if (fd_file == nullptr) return Unsupported(file);
  // The device address is only read (kFromDevice copies).
  StagedTransfer transfer(memory, *fd_file, IoOp::kWrite, file_offset,
                          const_cast<std::byte*>(device_address), length, *options.host);
  return transfer.Run(options);
}

}  // namespace halio
