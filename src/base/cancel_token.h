// CancelToken: how a device tells work that blocks one of its threads on
// something outside halio (a remote file's requests already sent, see
// hal/remote_file.cc) to give up now, because the device is shutting down;
// and how one such wait is told so on its own (each remote read has a
// token, cancelled by RemoteFile::CancelReadsInto or, chained to it, by the
// device's).
//
// The device owns a token and cancels it once, first thing in its shutdown.
// The thread that runs an op's body marks it with a CancelScope; code deep
// in the body (RemoteFile::Read) finds it with CurrentCancelToken() and, for
// as long as it waits, keeps a CancelToken::Registration: an intrusive node
// whose callback Cancel runs (the callback aborts the wait; it must not
// wait for other threads or touch its own token, and may take only locks
// that come later in the order: a device's token, a read's token, the
// remote client's own lock). Nothing is allocated.
//
// Ownership: registrations and scopes are the caller's, on its stack; the
// token must outlive both. Thread-safety: Cancel, cancelled and Registration
// may run on any threads at once. A registration's destructor returns only
// once its callback has run or never will, so the callback's argument may go
// right after it.
#ifndef HALIO_SRC_BASE_CANCEL_TOKEN_H_
#define HALIO_SRC_BASE_CANCEL_TOKEN_H_

#include <atomic>
#include <mutex>

namespace halio {

class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Runs every live registration's callback (on this thread, once each) and
  // makes later registrations fail. `why` (a literal: it is kept) ends the
  // messages of what it aborts: "the device was destroyed ...". Later calls
  // do nothing.
  void Cancel(const char* why);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  // Cancel's `why`, or null before Cancel.
  const char* why() const { return cancelled() ? why_ : nullptr; }

  class Registration {
   public:
    // Registers `on_cancel(user_data)` with `token` (null: registers
    // nothing). When the token is cancelled already, the callback is not
    // registered and active() is false: the caller gives up at once.
    Registration(CancelToken* token, void (*on_cancel)(void* user_data, const char* why),
                 void* user_data);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    bool active() const { return token_ == nullptr || linked_; }

   private:
    friend class CancelToken;
    CancelToken* const token_;
    void (*const on_cancel_)(void*, const char*);
    void* const user_data_;
    bool linked_ = false;
    Registration* prev_ = nullptr;
    Registration* next_ = nullptr;
  };

 private:
  std::mutex mutex_;  // guards the list; held while callbacks run
  Registration* head_ = nullptr;
  const char* why_ = nullptr;  // set under mutex_ before cancelled_
  std::atomic<bool> cancelled_{false};
};

// The token of the op this thread runs (set by a CancelScope), or null.
CancelToken* CurrentCancelToken();

// Marks the calling thread as running work `token` cancels, for the scope's
// lifetime (scopes nest: the previous token comes back).
class CancelScope {
 public:
  explicit CancelScope(CancelToken* token);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  CancelToken* previous_;
};

}  // namespace halio

#endif  // HALIO_SRC_BASE_CANCEL_TOKEN_H_
