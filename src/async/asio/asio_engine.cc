// asio engine: an io_context run by a pool of worker threads, each request a
// handler doing chunked positional I/O. Works where io_uring is blocked.
//
// asio's native random_access_file needs asio's own io_uring support on Linux
// (ASIO_HAS_IO_URING), which Debian's asio is not built with and which would
// be blocked exactly where this backend is needed, so requests run as
// blocking pread/pwrite on the pool instead.
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "fd_io.h"
#include "async_io.h"
#include "core_engine.h"

namespace halio {
namespace {

// Owned jointly by the engine and every worker thread, so the last reference
// may drop on a worker (from a completion callback) without a self-join.
class AsioCore : public std::enable_shared_from_this<AsioCore> {
 public:
  ~AsioCore() = default;

  Status Start(uint32_t workers) {
    if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
    work_.emplace(asio::make_work_guard(context_));
    try {
      for (uint32_t i = 0; i < workers; ++i) {
        threads_.emplace_back([core = shared_from_this()] { core->context_.run(); });
      }
    } catch (const std::system_error& e) {
      return ResourceExhaustedError("cannot start asio worker thread " +
                                    std::to_string(threads_.size() + 1) + " of " +
                                    std::to_string(workers) + ": " + e.what());
    }
    return Status();
  }

  void Submit(AsyncRequest* request) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++outstanding_;
      ++posting_;
    }
    // The posted handler is small; asio recycles its memory per thread.
    asio::post(context_, [this, request] { Run(request); });
    // asio signals its worker after releasing its own lock, so the request
    // can complete (and drop the last engine reference) while post() is
    // still running here: Shutdown waits for posting_ as well.
    std::lock_guard<std::mutex> lock(mutex_);
    if (--posting_ == 0 && outstanding_ == 0) idle_.notify_all();
  }

  // Waits for every submitted request, then stops and joins the workers.
  void Shutdown() {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      idle_.wait(lock, [&] { return outstanding_ == 0 && posting_ == 0; });
    }
    work_.reset();
    context_.stop();
    for (std::thread& thread : threads_) {
      if (thread.get_id() == std::this_thread::get_id()) {
        thread.detach();
      } else if (thread.joinable()) {
        thread.join();
      }
    }
  }

 private:
  void Run(AsyncRequest* request) {
    request->Restart();
    Status final;
    while (true) {
      if (request->length == 0) break;
      const size_t length = request->NextCallLength();
      std::byte* data = request->data + request->done;
      const uint64_t offset = request->position();
      const auto& sys = platform::SystemIoSyscalls();
      int64_t result = request->op == IoOp::kRead
                           ? sys.read_at(sys.context, request->fd, data, length, offset)
                           : sys.write_at(sys.context, request->fd, data, length, offset);
      result = InterceptResult(*request, result);
      if (!AdvanceRequest(request, result, &final)) break;
    }
    {
      // Counted done before the callback, which may drop the last reference
      // to the engine and run Shutdown on this thread (see uring_engine.cc).
      std::lock_guard<std::mutex> lock(mutex_);
      if (--outstanding_ == 0 && posting_ == 0) idle_.notify_all();
    }
    request->completion(request, std::move(final));
  }

  asio::io_context context_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable idle_;
  uint64_t outstanding_ = 0;
  uint64_t posting_ = 0;  // Submit calls still inside asio::post
};

}  // namespace

Result<AsyncIoEngineRef> CreateAsioEngine(const IoEngineOptions& options) {
  return MakeCoreEngine<AsioCore, IoBackend::kAsio>(
      [&](AsioCore& core) { return core.Start(options.asio_workers); });
}

}  // namespace halio
