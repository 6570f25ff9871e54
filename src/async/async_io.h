// The asynchronous I/O interface the engines implement and the async device
// uses. Internal: no liburing or asio type appears here either.
//
// An AsyncRequest is one positional transfer of `length` bytes. The engine
// splits it into calls the kernel accepts (0x7ffff000 bytes; sqe->len is 32
// bits), resubmits the remainder of short transfers, retries EINTR/EAGAIN,
// and reports 0 bytes before the end as OUT_OF_RANGE (reads) or
// RESOURCE_EXHAUSTED (writes): each call's result goes to the request's
// TransferStep (platform/transfer_step.h), as ReadAt's do. The completion
// runs exactly once, on an engine thread, with OK only when every byte moved.
//
// Ownership: the caller owns the request and its memory until the completion
// has been called; the engine never frees it. Submit never fails for lack of
// space: a request beyond the engine's capacity waits in an intrusive queue.
#ifndef HALIO_SRC_ASYNC_ASYNC_IO_H_
#define HALIO_SRC_ASYNC_ASYNC_IO_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "halio/io_backend.h"
#include "halio/status.h"
#include "fd_io.h"
#include "transfer_step.h"
#include "host_new.h"

namespace halio {

using IoOp = platform::IoOp;

// The transfer (op, offset, length, direct, and the engine's progress in
// done/eagain_count) is a TransferStep: engines size each call with
// NextCallLength() and give each result to AdvanceRequest.
struct AsyncRequest : platform::TransferStep {
  // The file's handle. Engines whose API wants something else convert it in
  // one named place each (io_uring: DescriptorOf in uring_engine.cc).
  platform::NativeHandle fd = platform::kInvalidHandle;
  std::byte* data = nullptr;
  // Names the file in error messages; must outlive the request.
  const std::string* description = nullptr;
  void (*completion)(AsyncRequest* request, Status status) = nullptr;
  void* user_data = nullptr;
  // The file's interceptor, applied to every call result; null for none.
  IoInterceptor* interceptor = nullptr;
  // The submitting thread must not run the transfer itself. Set by a
  // submitter that is some other work's completion thread (a copy engine's):
  // an engine that would copy a hot-cache read inline (io_uring) hands it to
  // its own threads instead, so that thread goes back to its queue.
  bool keep_off_submitter = false;

  // Engine-private: the engine's queue of requests waiting for a slot.
  AsyncRequest* next_ = nullptr;
};

// The IoEngine interface plus submission, for halio's own layers. The only
// class IoEngine lets derive from it (it is IoEngine's friend), so every
// IoEngineRef points to an AsyncIoEngine and static_pointer_cast to it is
// sound.
class AsyncIoEngine : public IoEngine {
 public:
  // False for the sync backend's BlockingEngine: files using it get no
  // EngineFile.
  virtual bool is_async() const = 0;
  // Queues `request` (see the file comment). Thread-safe.
  virtual void Submit(AsyncRequest* request) = 0;
  // Prepares `handle` for requests that go through the engine's own
  // asynchronous API (asio on Windows: the file's I/O completion port);
  // FdFile calls it once per file, before any request. Errors: UNAVAILABLE
  // with the reason (the file then uses synchronous I/O under `auto`).
  // Requests on handles never attached still work, blocking on the
  // engine's threads. Thread-safe.
  virtual Status AttachHandle(platform::NativeHandle /*handle*/,
                              const std::string& /*description*/) {
    return Status();
  }
  // Undoes AttachHandle, before the handle closes and with no request on it
  // in flight. Thread-safe.
  virtual void DetachHandle(platform::NativeHandle /*handle*/) {}
};
using AsyncIoEngineRef = std::shared_ptr<AsyncIoEngine>;

// Per-backend factories. Each returns UNAVAILABLE (with the reason and how to
// fix it) when the backend cannot run here, and other errors as they come.
Result<AsyncIoEngineRef> CreateUringEngine(const IoEngineOptions& options);
Result<AsyncIoEngineRef> CreateAsioEngine(const IoEngineOptions& options);
Result<AsyncIoEngineRef> CreateBlockingEngine(const IoEngineOptions& options);

// The request's TransferStep::Advance, naming the file by its description
// (or "fd N"), so every engine reports the same way. Returns true if the
// request needs another call (short transfer, EINTR, bounded EAGAIN); false
// when it is finished, with *final set.
bool AdvanceRequest(AsyncRequest* request, int64_t result, Status* final);

// Gives `result` of the call just made for `request` (NextCallLength()
// bytes at position()) to request.interceptor; returns what halio must act
// on. Without an interceptor, `result` itself. Engines call it before
// AdvanceRequest, outside their locks (the interceptor may be slow).
int64_t InterceptResult(const AsyncRequest& request, int64_t result);

// Asks `interceptor` about `result` of `call`. A count it returns that is
// larger than the system's (or a count where the system failed) would claim
// bytes that were never moved, so the system's result stands then.
int64_t ApplyInterceptor(IoInterceptor& interceptor, const IoCall& call, int64_t result);

// The system's pread/pwrite followed by `interceptor` (the context), for the
// platform transfer loops; the system's own table when `interceptor` is null.
platform::IoSyscalls InterceptedSyscalls(IoInterceptor* interceptor);

// A file imported into an asynchronous engine (io_uring, asio): the engine
// and the handle its requests use. Not an asynchronous File: FdFile owns one
// when its backend is asynchronous (FdTransfer::async_file). Allocated from
// the file's HostAllocator.
class EngineFile : public HostAllocated {
 public:
  // `handle` must already be attached (AsyncIoEngine::AttachHandle); the
  // EngineFile detaches it when destroyed.
  EngineFile(AsyncIoEngineRef engine, platform::NativeHandle handle,
            const std::string* description)
      : engine_(std::move(engine)), handle_(handle), description_(description) {}
  ~EngineFile() { engine_->DetachHandle(handle_); }
  EngineFile(const EngineFile&) = delete;
  EngineFile& operator=(const EngineFile&) = delete;
  AsyncIoEngine& engine() const { return *engine_; }
  platform::NativeHandle handle() const { return handle_; }
  const std::string& description() const { return *description_; }

 private:
  AsyncIoEngineRef engine_;
  platform::NativeHandle handle_;
  const std::string* description_;
};

}  // namespace halio

#endif  // HALIO_SRC_ASYNC_ASYNC_IO_H_
