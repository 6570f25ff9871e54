#include "testing/fault_injector.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace halio::testing {
namespace {

// Overwrites what a read really delivered beyond the `kept` bytes it now
// reports, so those bytes can never pass for file data.
void PoisonDropped(const IoCall& call, int64_t kept, int64_t actual) {
  if (call.write || actual <= kept) return;
  std::memset(call.data + kept, static_cast<int>(FaultInjector::kPoison),
              static_cast<size_t>(actual - kept));
}

}  // namespace

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kEintr: return "eintr";
    case FaultKind::kEagain: return "eagain";
    case FaultKind::kShort: return "short";
    case FaultKind::kEio: return "eio";
    case FaultKind::kEnospc: return "enospc";
  }
  return "unknown";
}

bool IsTransient(FaultKind kind) {
  return kind == FaultKind::kEintr || kind == FaultKind::kEagain || kind == FaultKind::kShort;
}

int64_t FaultInjector::OnResult(const IoCall& call, int64_t result) {
  ++calls_;
  ++(call.write ? writes_ : reads_);
  // A real failure stays what it is: the injector adds faults, never hides one.
  if (result < 0) return result;
  const int64_t replaced = IsTransient(kind_) ? Transient(call, result) : AtOffset(call, result);
  if (replaced != result) {
    ++injected_;
    PoisonDropped(call, std::max<int64_t>(replaced, 0), result);
  }
  return replaced;
}

bool FaultInjector::PassOrMark(const CallKey& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (passes_.erase(key) > 0) return true;
  passes_.insert(key);
  return false;
}

int64_t FaultInjector::Transient(const IoCall& call, int64_t result) {
  const auto short_count = static_cast<int64_t>(granularity_);
  if (kind_ == FaultKind::kShort && result <= short_count) return result;  // nothing to cut
  // Keyed by where the call ends: a retry, the continuation of a short
  // count, and an O_DIRECT re-read from the block start all end there too.
  const CallKey key{call.fd, call.write, call.offset + call.length};
  if (PassOrMark(key)) return result;
  switch (kind_) {
    case FaultKind::kEintr: return -EINTR;
    case FaultKind::kEagain: return -EAGAIN;
    default: return short_count;
  }
}

int64_t FaultInjector::AtOffset(const IoCall& call, int64_t result) const {
  if (kind_ == FaultKind::kEnospc && !call.write) return result;
  const uint64_t x = fault_offset_;
  const bool fails_here =
      kind_ == FaultKind::kEio ? call.offset == x : call.offset >= x;
  if (fails_here) return kind_ == FaultKind::kEio ? -EIO : -ENOSPC;
  if (call.offset < x && x < call.offset + call.length) {
    return std::min<int64_t>(result, static_cast<int64_t>(x - call.offset));
  }
  return result;
}

}  // namespace halio::testing
