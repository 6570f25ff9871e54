// FdFile's transfers and the routing of a device's chunks (see the header).
#include "fd_transfer.h"

#include <cstdint>

#include "fd_io.h"

namespace halio {
namespace {

platform::DirectAlignment AlignmentOf(const FdFile& file) {
  return {file.direct_memory_alignment(), file.direct_offset_alignment()};
}

// True when an O_DIRECT chunk needs no bounce memory.
bool DirectAligned(const FdFile& file, const AsyncRequest& request) {
  const uint64_t block = file.direct_offset_alignment();
  return request.offset % block == 0 && request.length % block == 0 &&
         reinterpret_cast<uintptr_t>(request.data) % file.direct_memory_alignment() == 0;
}

}  // namespace

EngineFile* FdTransfer::async_file(const File& file) {
  const FdFile* fd_file = Of(file);
  return fd_file != nullptr ? fd_file->async_file_.get() : nullptr;
}

bool FdTransfer::SubmitsIoOnly(const File& file) {
  const FdFile* fd_file = Of(file);
  return fd_file != nullptr && fd_file->async_file_ != nullptr;
}

void FdTransfer::PrepareRequest(const FdFile& file, IoOp op, AsyncRequest* request) {
  request->op = op;
  request->fd = file.fd_;
  request->direct = file.direct();
  request->description = &file.description_;
  request->interceptor = file.interceptor_.get();
}

ChunkRoute FdTransfer::Route(const FdFile& file, const AsyncRequest& request) {
  const ChunkRoute worker =
      file.direct() ? ChunkRoute::kWorkerDirect : ChunkRoute::kWorkerTransfer;
  if (file.async_file_ == nullptr) return worker;
  // O_DIRECT pieces that are not aligned need the bounce logic of the
  // synchronous path.
  if (file.direct()) return DirectAligned(file, request) ? ChunkRoute::kEngine : worker;
  if (request.op == IoOp::kWrite) return ChunkRoute::kEngine;
  // Reads the kernel would copy slowly are realigned by the synchronous path.
  if (platform::HasSlowKernelCopyAlignment(request.data, request.offset)) return worker;
  // Buffered reads start on a worker with a no-wait read of what the page
  // cache holds: hot data is copied by every worker in parallel (32 vs 17-20
  // GB/s for io_uring's own inline-or-io-wq path on this machine kind), and
  // only the uncached rest goes to the engine, which waits for the device.
  // Not with an interceptor: preadv2(RWF_NOWAIT) bypasses the IoSyscalls
  // table and its EAGAIN means "not cached", not a fault, so the interceptor
  // could not see those calls as what they are; the engine's calls it sees.
  return file.interceptor_ == nullptr ? ChunkRoute::kCacheFirst : ChunkRoute::kEngine;
}

void FdTransfer::SubmitToEngine(const FdFile& file, AsyncRequest* request) {
  file.async_file_->engine().Submit(request);
}

bool FdTransfer::RunOnWorker(FdFile& file, AsyncRequest* request, Status* status) {
  if (Route(file, *request) == ChunkRoute::kCacheFirst) {
    auto cached = platform::ReadCachedPrefix(file.fd_, request->offset,
                                             {request->data, request->length},
                                             file.description_);
    if (!cached.ok()) {
      *status = cached.status();
      return false;
    }
    if (*cached < request->length) {
      request->offset += *cached;
      request->data += *cached;
      request->length -= *cached;
      SubmitToEngine(file, request);
      return true;
    }
    *status = Status();
    return false;
  }
  *status = request->op == IoOp::kRead
                ? ReadBytes(file, request->offset, {request->data, request->length})
                : WriteBytes(file, request->offset, {request->data, request->length});
  return false;
}

Result<bool> FdTransfer::ReadIfCached(FdFile& file, uint64_t offset, std::span<std::byte> bytes) {
  AsyncRequest request;
  PrepareRequest(file, IoOp::kRead, &request);
  request.offset = offset;
  request.data = bytes.data();
  request.length = bytes.size();
  if (Route(file, request) != ChunkRoute::kCacheFirst) return false;
  HALIO_ASSIGN_OR_RETURN(size_t cached,
                         platform::ReadCachedPrefix(file.fd_, offset, bytes, file.description_));
  return cached == bytes.size();
}

Status FdTransfer::ReadBytes(FdFile& file, uint64_t file_offset, std::span<std::byte> bytes) {
  // The system's table itself when there is no interceptor: no extra cost.
  const platform::IoSyscalls sys = InterceptedSyscalls(file.interceptor_.get());
  if (file.direct()) {
    return platform::ReadAtDirect(file.fd_, file_offset, bytes, file.description_,
                                  AlignmentOf(file), sys, file.host_);
  }
  if (platform::HasSlowKernelCopyAlignment(bytes.data(), file_offset)) {
    return platform::ReadAtRealigned(file.fd_, file_offset, bytes, file.description_, sys,
                                     file.host_);
  }
  return platform::ReadAt(file.fd_, file_offset, bytes, file.description_, sys);
}

Status FdTransfer::WriteBytes(FdFile& file, uint64_t file_offset,
                              std::span<const std::byte> bytes) {
  const platform::IoSyscalls sys = InterceptedSyscalls(file.interceptor_.get());
  if (!file.direct()) {
    return platform::WriteAt(file.fd_, file_offset, bytes, file.description_, sys);
  }
  return platform::WriteAtDirect(file.fd_, file.buffered_fd_, file_offset, bytes,
                                 file.description_, AlignmentOf(file), sys, file.host_);
}

void FdTransfer::NoteWritten(FdFile& file, uint64_t end) {
  // Raise the cached length so later reads of the written range validate.
  uint64_t current = file.length_.load(std::memory_order_relaxed);
  while (current < end &&
         !file.length_.compare_exchange_weak(current, end, std::memory_order_acq_rel)) {
  }
}

}  // namespace halio
