// asio engine: an io_context run by a pool of worker threads, each request a
// handler doing chunked positional I/O. Works where io_uring is blocked.
//
// On Windows, files attached to the engine (AttachHandle) use asio's
// random_access_file: overlapped ReadFile/WriteFile completed through the
// io_context's I/O completion port, many requests in flight per file, each
// call re-issued by its completion until the request is done. Elsewhere, and
// for handles never attached, requests run as blocking pread/pwrite on the
// pool: asio's native random_access_file needs asio's own io_uring support on
// Linux (ASIO_HAS_IO_URING), which Debian's asio is not built with and which
// would be blocked exactly where this backend is needed.
#include <asio/bind_allocator.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#if defined(_WIN32)
#include <asio/buffer.hpp>
#include <asio/random_access_file.hpp>

#include <map>
#include <memory>

#include "win32/win32_util.h"
#endif

#include <condition_variable>
#include <memory>
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

// Handler memory from the heap. asio's default recycles it through a
// per-thread cache found through its thread-local call stack; under mingw-w64
// (Wine) that lookup returned garbage on threads that never ran asio (a crash
// in thread_info_base::allocate), so halio's handlers never use it there.
template <typename T>
struct HeapAllocator {
  using value_type = T;
  HeapAllocator() noexcept = default;
  template <typename U>
  HeapAllocator(const HeapAllocator<U>&) noexcept {}
  T* allocate(std::size_t count) { return std::allocator<T>().allocate(count); }
  void deallocate(T* memory, std::size_t count) { std::allocator<T>().deallocate(memory, count); }
  template <typename U>
  bool operator==(const HeapAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const HeapAllocator<U>&) const noexcept { return false; }
};

// Elsewhere the handler is left as it is: asio's recycling is what keeps the
// pool path free of an allocation per request.
template <typename Handler>
auto OnHeap(Handler&& handler) {
#if defined(_WIN32)
  return asio::bind_allocator(HeapAllocator<void>(), std::forward<Handler>(handler));
#else
  return std::forward<Handler>(handler);
#endif
}

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
#if defined(_WIN32)
    if (asio::random_access_file* file = AttachedFile(request->fd)) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++outstanding_;
      }
      request->Restart();
      if (request->length == 0) {
        Finish(request, Status());
      } else {
        IssueCall(request, file);
      }
      return;
    }
#endif
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++outstanding_;
      ++posting_;
    }
    // The posted handler is small; asio recycles its memory per thread.
    asio::post(context_, OnHeap([this, request] { Run(request); }));
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

#if defined(_WIN32)
  // Puts a duplicate of `handle` on the io_context's completion port. The
  // duplicate shares the file object, so the caller's own transfers on
  // `handle` keep working: the platform's synchronous ones keep their
  // completions off the port (fd_io_win32.cc).
  Status AttachHandle(NativeHandle handle, const std::string& description) {
    HALIO_ASSIGN_OR_RETURN(NativeHandle copy, platform::DuplicateHandle(handle));
    auto file = std::make_unique<asio::random_access_file>(context_);
    asio::error_code error;
    file->assign(platform::ToWin32(copy), error);
    if (error) {
      platform::CloseHandle(copy);
      return UnavailableError("asio cannot put " + description +
                              " on its I/O completion port: " + error.message() +
                              " (is the file already on another one?)");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    files_[handle] = std::move(file);
    return Status();
  }

  void DetachHandle(NativeHandle handle) {
    std::unique_ptr<asio::random_access_file> file;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = files_.find(handle);
      if (found == files_.end()) return;
      file = std::move(found->second);
      files_.erase(found);
    }
    asio::error_code ignored;
    file->close(ignored);  // closes the duplicate
  }
#endif

 private:
#if defined(_WIN32)
  asio::random_access_file* AttachedFile(NativeHandle handle) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = files_.find(handle);
    return found == files_.end() ? nullptr : found->second.get();
  }

  // One overlapped call for the request's next piece; its completion
  // (OnCall, on a worker) issues the next or finishes the request.
  void IssueCall(AsyncRequest* request, asio::random_access_file* file) {
    const size_t length = request->NextCallLength();
    std::byte* data = request->data + request->done;
    auto on_call = [this, request, file](const asio::error_code& error, size_t moved) {
      OnCall(request, file, error, moved);
    };
    if (request->op == IoOp::kRead) {
      file->async_read_some_at(request->position(), asio::buffer(data, length), OnHeap(on_call));
    } else {
      file->async_write_some_at(request->position(), asio::const_buffer(data, length),
                                OnHeap(on_call));
    }
  }

  void OnCall(AsyncRequest* request, asio::random_access_file* file,
              const asio::error_code& error, size_t moved) {
    // The platform's meaning of a call's result: bytes, 0 at the end, -errno.
    int64_t result = static_cast<int64_t>(moved);
    if (error == asio::error::eof) {
      result = 0;
    } else if (error) {
      result = -int64_t{platform::Win32ErrorToErrno(static_cast<DWORD>(error.value()))};
    }
    result = InterceptResult(*request, result);
    Status final;
    if (AdvanceRequest(request, result, &final)) {
      IssueCall(request, file);
      return;
    }
    Finish(request, std::move(final));
  }

  void Finish(AsyncRequest* request, Status final) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--outstanding_ == 0 && posting_ == 0) idle_.notify_all();
    }
    request->completion(request, std::move(final));
  }

#endif

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
#if defined(_WIN32)
  // After context_: the files close before the io_context goes.
  std::map<NativeHandle, std::unique_ptr<asio::random_access_file>> files_;  // mutex_
#endif
};

}  // namespace

Result<AsyncIoEngineRef> CreateAsioEngine(const IoEngineOptions& options) {
  return MakeCoreEngine<AsioCore, IoBackend::kAsio>(
      [&](AsioCore& core) { return core.Start(options.asio_workers); });
}

}  // namespace halio
