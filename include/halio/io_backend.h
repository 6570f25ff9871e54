// I/O backends: how FdFile moves bytes. io_uring (liburing) and asio are
// asynchronous; sync is blocking, chunked pread/pwrite on the thread that
// does the transfer (a local_async worker, or the caller of local_sync). The
// backend is the file's; the device (local_sync, local_async) decides which
// thread runs a queue operation - "sync" in one says nothing of the other.
//
// An IoEngine is one instance of a backend: one io_uring ring plus the thread
// that reaps its completions, or one asio thread pool. Files imported into an
// engine share it; it lives until the last file and the last caller drop it,
// and its destructor waits for every in-flight request first.
//
// Choosing: IoBackend::kAuto tries io_uring, then asio, then sync, falling
// back only when a backend is UNAVAILABLE (io_uring blocked by seccomp, the
// io_uring_disabled sysctl, memlock limits, an old kernel, or not compiled
// in). A forced backend that is unavailable is an error, never a silent
// fallback. The environment variable HALIO_BACKEND (auto, io_uring, asio,
// sync) overrides kAuto.
//
// Thread-safety: engines are thread-safe; any thread may submit.
#ifndef HALIO_IO_BACKEND_H_
#define HALIO_IO_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "halio/status.h"

namespace halio {

enum class IoBackend { kAuto, kIoUring, kAsio, kSync };

// "auto", "io_uring", "asio", "sync".
const char* IoBackendName(IoBackend backend);
// Errors: INVALID_ARGUMENT naming the accepted values.
Result<IoBackend> ParseIoBackend(std::string_view name);

// Receives one line per notable event (a fallback and its reason). The
// library never prints; a CLI or runtime can route these to its log.
using LogSink = std::function<void(std::string_view message)>;

struct IoEngineOptions {
  IoBackend backend = IoBackend::kAuto;
  // Consult HALIO_BACKEND when `backend` is kAuto.
  bool use_environment = true;
  // io_uring submission queue entries; requests beyond this wait in a queue
  // (backpressure), they never fail for lack of space.
  uint32_t ring_entries = 256;
  // asio worker threads; 0 means one per hardware thread.
  uint32_t asio_workers = 0;
  LogSink log;
};

// One positional read or write call a file's I/O made, as an IoInterceptor
// sees it.
struct IoCall {
  bool write = false;
  // The descriptor (a HANDLE's bits on Windows).
  intptr_t fd = -1;
  uint64_t offset = 0;
  // Read destination or write source of this call: `length` bytes.
  std::byte* data = nullptr;
  size_t length = 0;
};

// Sees the result of every positional read/write call made for a file, on
// every backend (pread/pwrite results on the sync and asio paths, completion
// results on io_uring), after the system returned it and before halio acts
// on it, and may replace it: with a byte count no larger than `result`, or
// with -errno. halio then behaves exactly as if the system had returned
// that: retries EINTR/EAGAIN, continues short transfers, fails on errors.
// A count larger than the system's (or a count where the system failed) is
// ignored: it would claim bytes that never moved. Reads through the page
// cache with RWF_NOWAIT are skipped for files with an interceptor, so every
// read it sees is one the file's backend makes. It must not call back into
// the same file's I/O. A value below -4095 (not an errno) or an exception
// is taken as -EIO.
// For fault injection (tests, a runtime's own chaos testing) and tracing.
//
// Thread-safety: called concurrently from I/O threads; must be thread-safe.
// Ownership: shared by the files that use it (FdFileOptions::interceptor).
class IoInterceptor {
 public:
  virtual ~IoInterceptor() = default;
  virtual int64_t OnResult(const IoCall& call, int64_t result) = 0;
};
using IoInterceptorRef = std::shared_ptr<IoInterceptor>;

class IoEngine;
using IoEngineRef = std::shared_ptr<IoEngine>;

// Why a backend can or cannot be used here.
struct BackendAvailability {
  IoBackend backend;
  Status status;  // OK, or UNAVAILABLE with the reason and how to fix it
};

// Not for subclassing: halio's own engines (io_uring, asio, sync) are the
// only IoEngines, because files and devices hand requests to an engine through
// an internal interface a user type could not implement. The constructor is
// private (only halio's internal engine base is a friend) and copying is
// deleted, so a user class derived from IoEngine cannot be constructed; get
// engines from Create() or Shared().
class IoEngine {
 public:
  virtual ~IoEngine() = default;
  IoEngine(const IoEngine&) = delete;
  IoEngine& operator=(const IoEngine&) = delete;
  // The backend this engine runs (never kAuto).
  virtual IoBackend backend() const = 0;

  // Creates the engine `options` ask for. kAuto (after HALIO_BACKEND) falls
  // back io_uring -> asio -> sync on UNAVAILABLE and records why in
  // fallback_reason(). Errors: UNAVAILABLE for a forced backend that cannot
  // run (with the reason), INVALID_ARGUMENT for a bad HALIO_BACKEND, and
  // anything else a backend returns.
  static Result<IoEngineRef> Create(const IoEngineOptions& options = {});

  // A process-wide engine per backend kind, created on first use with
  // default options. Errors as Create.
  static Result<IoEngineRef> Shared(IoBackend backend = IoBackend::kAuto);

  // Empty when the first choice was used; otherwise what was skipped and why.
  const std::string& fallback_reason() const { return fallback_reason_; }

  // Tries each asynchronous backend (creating and destroying an instance).
  static BackendAvailability Probe(IoBackend backend);

 private:
  friend class AsyncIoEngine;  // src/async/async_io.h: the base of every engine
  IoEngine() = default;

  std::string fallback_reason_;
};

}  // namespace halio

#endif  // HALIO_IO_BACKEND_H_
