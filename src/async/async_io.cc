// Engine selection and the transfer bookkeeping every engine shares.
#include "async_io.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>

#include "fd_io.h"

namespace halio {
namespace {

int64_t InterceptedReadAt(void* context, platform::NativeHandle handle, void* dst,
                          size_t length, uint64_t offset) {
  const platform::IoSyscalls& system = platform::SystemIoSyscalls();
  const int64_t result = system.read_at(system.context, handle, dst, length, offset);
  const IoCall call{false, handle, offset, static_cast<std::byte*>(dst), length};
  return ApplyInterceptor(*static_cast<IoInterceptor*>(context), call, result);
}

int64_t InterceptedWriteAt(void* context, platform::NativeHandle handle, const void* src,
                           size_t length, uint64_t offset) {
  const platform::IoSyscalls& system = platform::SystemIoSyscalls();
  const int64_t result = system.write_at(system.context, handle, src, length, offset);
  // IoCall::data is mutable for reads; a write's source is only looked at.
  auto* data = const_cast<std::byte*>(static_cast<const std::byte*>(src));
  const IoCall call{true, handle, offset, data, length};
  return ApplyInterceptor(*static_cast<IoInterceptor*>(context), call, result);
}

}  // namespace

int64_t ApplyInterceptor(IoInterceptor& interceptor, const IoCall& call, int64_t result) {
  // Engine threads must not unwind, and -result must stay a valid errno.
  constexpr int64_t kLowestErrno = -4095;
  int64_t replaced;
  try {
    replaced = interceptor.OnResult(call, result);
  } catch (...) {
    replaced = -EIO;
  }
  if (replaced < kLowestErrno) replaced = -EIO;
  if (replaced >= 0 && (result < 0 || replaced > result)) return result;
  return replaced;
}

int64_t InterceptResult(const AsyncRequest& request, int64_t result) {
  if (request.interceptor == nullptr) return result;
  const IoCall call{request.op == IoOp::kWrite, request.fd, request.position(),
                    request.data + request.done, request.NextCallLength()};
  return ApplyInterceptor(*request.interceptor, call, result);
}

platform::IoSyscalls InterceptedSyscalls(IoInterceptor* interceptor) {
  if (interceptor == nullptr) return platform::SystemIoSyscalls();
  platform::IoSyscalls syscalls;
  syscalls.read_at = &InterceptedReadAt;
  syscalls.write_at = &InterceptedWriteAt;
  syscalls.context = interceptor;
  return syscalls;
}

bool AdvanceRequest(AsyncRequest* request, int64_t result, Status* final) {
  // Requests without a description come from tests and benchmarks only.
  const platform::StepResult next =
      request->description != nullptr
          ? request->Advance(result, *request->description, final)
          : request->Advance(result, platform::HandleText(request->fd), final);
  return next == platform::StepResult::kContinue;
}

// --- the sync backend: BlockingEngine ------------------------------------------

namespace {

// The `sync` backend (IoBackend::kSync): runs each request to completion on
// the submitting thread with blocking, chunked pread/pwrite. Files attached
// to it get no EngineFile; the local_async device hands their chunks to its
// workers instead. Not to be confused with the local_sync device, which runs
// queue operations on the calling thread whatever the file's backend.
class BlockingEngine final : public AsyncIoEngine {
 public:
  IoBackend backend() const override { return IoBackend::kSync; }
  bool is_async() const override { return false; }
  void Submit(AsyncRequest* request) override {
    std::span<std::byte> bytes(request->data, request->length);
    const std::string& what = request->description ? *request->description : empty_;
    const platform::IoSyscalls sys = InterceptedSyscalls(request->interceptor);
    Status status = request->op == IoOp::kRead
                        ? platform::ReadAt(request->fd, request->offset, bytes, what, sys)
                        : platform::WriteAt(request->fd, request->offset, bytes, what, sys);
    request->done = status.ok() ? request->length : 0;
    request->completion(request, std::move(status));
  }

 private:
  const std::string empty_;
};

IoBackend BackendFromEnvironment(const IoEngineOptions& options, Status* error) {
  if (options.backend != IoBackend::kAuto || !options.use_environment) return options.backend;
  const char* value = std::getenv("HALIO_BACKEND");
  if (value == nullptr || *value == '\0') return IoBackend::kAuto;
  auto parsed = ParseIoBackend(value);
  if (!parsed.ok()) {
    *error = parsed.status();
    error->Annotate("HALIO_BACKEND");
    return IoBackend::kAuto;
  }
  return *parsed;
}

Result<AsyncIoEngineRef> CreateEngine(IoBackend backend, const IoEngineOptions& options) {
  switch (backend) {
    case IoBackend::kIoUring: return CreateUringEngine(options);
    case IoBackend::kAsio: return CreateAsioEngine(options);
    case IoBackend::kSync: return CreateBlockingEngine(options);
    case IoBackend::kAuto: break;
  }
  return InternalError("no engine for backend 'auto'");
}

}  // namespace

Result<AsyncIoEngineRef> CreateBlockingEngine(const IoEngineOptions&) {
  try {
    return AsyncIoEngineRef(std::make_shared<BlockingEngine>());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory creating the sync I/O engine");
  }
}

const char* IoBackendName(IoBackend backend) {
  switch (backend) {
    case IoBackend::kAuto: return "auto";
    case IoBackend::kIoUring: return "io_uring";
    case IoBackend::kAsio: return "asio";
    case IoBackend::kSync: return "sync";
  }
  return "unknown";
}

Result<IoBackend> ParseIoBackend(std::string_view name) {
  for (IoBackend backend :
       {IoBackend::kAuto, IoBackend::kIoUring, IoBackend::kAsio, IoBackend::kSync}) {
    if (name == IoBackendName(backend)) return backend;
  }
  return InvalidArgumentError("unknown I/O backend '" + std::string(name) +
                              "'; use one of: auto, io_uring, asio, sync");
}

Result<IoEngineRef> IoEngine::Create(const IoEngineOptions& options) {
  Status env_error;
  IoBackend wanted = BackendFromEnvironment(options, &env_error);
  HALIO_RETURN_IF_ERROR(env_error);
  if (wanted != IoBackend::kAuto) {
    HALIO_ASSIGN_OR_RETURN(AsyncIoEngineRef engine, CreateEngine(wanted, options));
    return IoEngineRef(std::move(engine));
  }
  std::string skipped;
  for (IoBackend backend : {IoBackend::kIoUring, IoBackend::kAsio, IoBackend::kSync}) {
    auto engine = CreateEngine(backend, options);
    if (engine.ok()) {
      (*engine)->fallback_reason_ = skipped;
      if (!skipped.empty() && options.log) {
        options.log("halio: using the " + std::string(IoBackendName(backend)) +
                    " backend; " + skipped);
      }
      return IoEngineRef(*std::move(engine));
    }
    // Only UNAVAILABLE means "try the next one"; anything else is a real error.
    if (engine.status().code() != StatusCode::kUnavailable) return engine.status();
    if (!skipped.empty()) skipped += "; ";
    skipped += std::string(IoBackendName(backend)) + " unavailable: " +
               std::string(engine.status().message());
  }
  return UnavailableError("no I/O backend could start: " + skipped);
}

Result<IoEngineRef> IoEngine::Shared(IoBackend backend) {
  static std::mutex mutex;
  static IoEngineRef* engines = new IoEngineRef[4];  // never destroyed: see below
  // Shared engines live for the whole process: files may be released during
  // static destruction, after a static engine would already be gone.
  std::lock_guard<std::mutex> lock(mutex);
  IoEngineRef& slot = engines[static_cast<int>(backend)];
  if (!slot) {
    IoEngineOptions options;
    options.backend = backend;
    HALIO_ASSIGN_OR_RETURN(slot, Create(options));
  }
  return slot;
}

BackendAvailability IoEngine::Probe(IoBackend backend) {
  IoEngineOptions options;
  options.backend = backend;
  options.use_environment = false;
  auto engine = CreateEngine(backend == IoBackend::kAuto ? IoBackend::kSync : backend, options);
  return {backend, engine.ok() ? Status() : engine.status()};
}

}  // namespace halio
