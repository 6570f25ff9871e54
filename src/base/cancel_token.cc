#include "cancel_token.h"

namespace halio {
namespace {

thread_local CancelToken* t_current_token = nullptr;

}  // namespace

void CancelToken::Cancel(const char* why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_.load(std::memory_order_relaxed)) return;
  why_ = why;
  cancelled_.store(true, std::memory_order_release);
  // Under the lock: a registration's destructor waits for it, so no
  // callback runs after its registration is gone.
  for (Registration* node = head_; node != nullptr; node = node->next_) {
    node->on_cancel_(node->user_data_, why_);
  }
}

CancelToken::Registration::Registration(CancelToken* token,
                                        void (*on_cancel)(void* user_data, const char* why),
                                        void* user_data)
    : token_(token), on_cancel_(on_cancel), user_data_(user_data) {
  if (token_ == nullptr) return;
  std::lock_guard<std::mutex> lock(token_->mutex_);
  if (token_->cancelled_.load(std::memory_order_relaxed)) return;
  next_ = token_->head_;
  if (next_ != nullptr) next_->prev_ = this;
  token_->head_ = this;
  linked_ = true;
}

CancelToken::Registration::~Registration() {
  if (!linked_) return;
  std::lock_guard<std::mutex> lock(token_->mutex_);
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    token_->head_ = next_;
  }
  if (next_ != nullptr) next_->prev_ = prev_;
}

CancelToken* CurrentCancelToken() { return t_current_token; }

CancelScope::CancelScope(CancelToken* token) : previous_(t_current_token) {
  t_current_token = token;
}

CancelScope::~CancelScope() { t_current_token = previous_; }

}  // namespace halio
