// io_uring engine on liburing: one ring per engine, submissions from any
// thread under a mutex, one reaper thread that waits for completions.
//
// Flags: COOP_TASKRUN, DEFER_TASKRUN and SINGLE_ISSUER are deliberately not
// used: they defer completion work to the submitting thread, which here may
// sleep in user space while the reaper thread waits, so completions would
// stall. SUBMIT_ALL and CLAMP are tried first and dropped on EINVAL (older
// kernels).
#include <liburing.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>

#include "fd_io.h"
#include "async_io.h"
#include "core_engine.h"
#include "errno_status.h"

namespace halio {
namespace {

// io_uring takes POSIX descriptors: the one place a request's NativeHandle
// becomes one.
int DescriptorOf(const AsyncRequest& request) {
  static_assert(std::is_same_v<platform::NativeHandle, int>,
                "io_uring needs a POSIX descriptor");
  return request.fd;
}

// user_data of the NOP that tells the reaper to exit.
constexpr uint64_t kShutdownTag = 1;

std::string ReadSysctlIoUringDisabled() {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  std::string value;
  if (in >> value) return value;
  return "";
}

// Why io_uring_queue_init failed, and how to fix it.
Status SetupError(int error_number) {
  std::string errno_text = std::string(std::strerror(error_number)) + " (errno " +
                           std::to_string(error_number) + ")";
  switch (error_number) {
    case ENOSYS:
      return UnavailableError("io_uring_setup failed: " + errno_text +
                              ": this kernel has no io_uring (Linux < 5.1 or "
                              "CONFIG_IO_URING=n); halio uses another backend");
    case EPERM: {
      std::string sysctl = ReadSysctlIoUringDisabled();
      std::string why = !sysctl.empty() && sysctl != "0"
                            ? "sysctl kernel.io_uring_disabled=" + sysctl +
                                  " (set it to 0, or add this user to "
                                  "kernel.io_uring_group when it is 1)"
                            : "a seccomp filter blocks io_uring_setup (Docker's default "
                              "profile does; run with --security-opt seccomp=unconfined "
                              "or a profile that allows io_uring_*)";
      return UnavailableError("io_uring_setup failed: " + errno_text + ": " + why);
    }
    case EOPNOTSUPP:
      return UnavailableError("io_uring_setup failed: " + errno_text +
                              ": io_uring is not supported here");
    case ENOMEM: {
      struct rlimit limit {};
      ::getrlimit(RLIMIT_MEMLOCK, &limit);
      return UnavailableError("io_uring_setup failed: " + errno_text +
                              ": the locked-memory limit (RLIMIT_MEMLOCK = " +
                              std::to_string(limit.rlim_cur) +
                              " bytes) is too small for the ring; raise it with "
                              "'ulimit -l' or use fewer ring entries");
    }
    default:
      return ErrnoToStatus(error_number, "io_uring_setup");
  }
}

// The ring and its reaper. Shared by the engine and the reaper thread, so
// that a completion callback dropping the last reference to the engine (and
// so destroying it on the reaper thread) cannot free the ring under the
// reaper's feet.
class UringCore : public std::enable_shared_from_this<UringCore> {
 public:
  UringCore() = default;
  ~UringCore() {
    if (ring_ready_) io_uring_queue_exit(&ring_);
  }

  Status Initialize(const IoEngineOptions& options) {
    HALIO_RETURN_IF_ERROR(SetupRing(std::max<uint32_t>(options.ring_entries, 8)));
    ring_ready_ = true;
    HALIO_RETURN_IF_ERROR(CheckOpcodes());
    try {
      reaper_ = std::thread([core = shared_from_this()] { core->ReapLoop(); });
    } catch (const std::system_error& e) {
      return ResourceExhaustedError(std::string("cannot start the io_uring reaper thread: ") +
                                    e.what());
    }
    return Status();
  }

  void Submit(AsyncRequest* request) {
    request->Restart();
    request->next_ = nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    ++outstanding_;
    if (in_flight_ < capacity_ && pending_head_ == nullptr) {
      PrepareLocked(request);
      SubmitLocked();
    } else {
      EnqueueLocked(request);  // backpressure: wait for a free slot
    }
  }

  Status SetupRing(uint32_t entries) {
    const unsigned flag_sets[] = {IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP,
                                  IORING_SETUP_CLAMP, 0};
    int rc = -EINVAL;
    for (unsigned flags : flag_sets) {
      struct io_uring_params params;
      std::memset(&params, 0, sizeof(params));
      params.flags = flags;
      rc = io_uring_queue_init_params(entries, &ring_, &params);
      if (rc == 0) {
        capacity_ = params.sq_entries;
        return Status();
      }
      if (rc != -EINVAL) break;  // only EINVAL means "flag not known here"
    }
    return SetupError(-rc);
  }

  Status CheckOpcodes() {
    struct io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (probe == nullptr) return Status();  // probing needs 5.6; READ/WRITE then exist
    bool ok = io_uring_opcode_supported(probe, IORING_OP_READ) &&
              io_uring_opcode_supported(probe, IORING_OP_WRITE) &&
              io_uring_opcode_supported(probe, IORING_OP_NOP);
    io_uring_free_probe(probe);
    if (!ok) {
      return UnavailableError("this kernel's io_uring lacks IORING_OP_READ/WRITE "
                              "(needs Linux 5.6 or newer)");
    }
    return Status();
  }

  void EnqueueLocked(AsyncRequest* request) {
    request->next_ = nullptr;
    if (pending_tail_) {
      pending_tail_->next_ = request;
    } else {
      pending_head_ = request;
    }
    pending_tail_ = request;
  }

  // Queues the next call of `request` (the part not yet moved).
  void PrepareLocked(AsyncRequest* request) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    // in_flight_ < capacity_ guarantees a free SQE.
    const unsigned length = static_cast<unsigned>(request->NextCallLength());
    const uint64_t offset = request->position();
    std::byte* data = request->data + request->done;
    if (request->op == IoOp::kRead) {
      io_uring_prep_read(sqe, DescriptorOf(*request), data, length, offset);
    } else {
      io_uring_prep_write(sqe, DescriptorOf(*request), data, length, offset);
    }
    io_uring_sqe_set_data(sqe, request);
    // Hot-cache buffered reads complete inline in io_uring_enter on the
    // submitting thread, and every submission here goes through one lock
    // (often on the reaper), so all copies would run on one core: measured
    // 17-20 GB/s at queue depth 8 on this machine kind, 25-29 GB/s with
    // IOSQE_ASYNC, which hands them to io-wq threads on every core. A lone
    // request gains nothing from that and pays two thread hand-offs (~18 us
    // each here), so only requests joining others in flight are handed off.
    // O_DIRECT reads are truly asynchronous already. Buffered writes get no
    // IOSQE_ASYNC: writers of one file serialize on its inode lock, and
    // handing them off up front measured 4.6-5.7 GB/s against 5.1-6.6 (1-4
    // MiB, queue depth 8, A B A B). (local_async runs them on its workers
    // instead: FileOp::SubmitSlot.) A submitter that must not block
    // (keep_off_submitter) hands off even a lone buffered call.
    const bool joins_others = request->op == IoOp::kRead && in_flight_ > 0;
    if (!request->direct && (joins_others || request->keep_off_submitter)) {
      io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
    }
    ++in_flight_;
  }

  void SubmitLocked() {
    int rc;
    do {
      rc = io_uring_submit(&ring_);
    } while (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY);
    // Other errors leave SQEs queued; the next submit retries them.
  }

  void FillFreeSlotsLocked() {
    while (pending_head_ && in_flight_ < capacity_) {
      AsyncRequest* request = pending_head_;
      pending_head_ = request->next_;
      if (!pending_head_) pending_tail_ = nullptr;
      request->next_ = nullptr;
      PrepareLocked(request);
    }
  }

  void ReapLoop() {
    while (true) {
      struct io_uring_cqe* cqe = nullptr;
      int rc = io_uring_wait_cqe(&ring_, &cqe);
      if (rc == -EINTR || rc == -EAGAIN) continue;
      if (rc < 0) continue;  // -EBADR (CQ overflow) etc.: retry the wait
      uint64_t tag = cqe->user_data;
      int64_t result = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (tag == kShutdownTag) return;
      Complete(reinterpret_cast<AsyncRequest*>(tag), result);
    }
  }

  void Complete(AsyncRequest* request, int64_t result) {
    Status final;
    bool again;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Under the lock: the submitter wrote the request under it, and the
      // kernel's hand-off through the ring is invisible to ThreadSanitizer.
      if (request->interceptor != nullptr) {
        // Not under the lock: the interceptor may be slow, and submissions
        // must not wait for it. Nothing else touches an in-flight request.
        lock.unlock();
        result = InterceptResult(*request, result);
        lock.lock();
      }
      again = AdvanceRequest(request, result, &final);
      --in_flight_;
      if (again) {
        // The remainder goes to the back of the line: fair to other requests.
        EnqueueLocked(request);
      }
      FillFreeSlotsLocked();
      SubmitLocked();
    }
    if (again) return;
    {
      // Counted done before the callback runs: the callback may drop the
      // last reference to the engine, whose Shutdown (on this very thread)
      // waits for outstanding_ to reach zero.
      std::lock_guard<std::mutex> lock(mutex_);
      if (--outstanding_ == 0) idle_.notify_all();
    }
    request->completion(request, std::move(final));
  }

  // Waits for every submitted request, then stops the reaper.
  void Shutdown() {
    if (reaper_.joinable()) {
      std::unique_lock<std::mutex> lock(mutex_);
      // Drain: every submitted request completes before the ring goes away.
      idle_.wait(lock, [&] { return outstanding_ == 0; });
      struct io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      io_uring_prep_nop(sqe);
      io_uring_sqe_set_data64(sqe, kShutdownTag);
      SubmitLocked();
      lock.unlock();
      if (reaper_.get_id() == std::this_thread::get_id()) {
        reaper_.detach();  // it exits after this callback; its reference frees us
      } else {
        reaper_.join();
      }
    }
  }

 private:

  struct io_uring ring_ {};
  bool ring_ready_ = false;
  std::thread reaper_;
  std::mutex mutex_;
  std::condition_variable idle_;
  uint32_t capacity_ = 0;
  uint32_t in_flight_ = 0;     // SQEs submitted and not yet reaped
  uint64_t outstanding_ = 0;   // requests submitted and not yet completed
  AsyncRequest* pending_head_ = nullptr;
  AsyncRequest* pending_tail_ = nullptr;
};

}  // namespace

Result<AsyncIoEngineRef> CreateUringEngine(const IoEngineOptions& options) {
  return MakeCoreEngine<UringCore, IoBackend::kIoUring>(
      [&](UringCore& core) { return core.Initialize(options); });
}

}  // namespace halio
