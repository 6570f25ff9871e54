// A fault-injecting IoInterceptor for tests: wraps the real system calls of
// a file (FdFileOptions::interceptor) on every backend and replaces their
// results with the faults a real system produces.
//
// Transient faults (halio must retry or continue them and still deliver
// every byte):
//   kEintr   the first attempt of each call returns -EINTR; its retry passes.
//   kEagain  likewise with -EAGAIN (bounded: one per call).
//   kShort   the first attempt of each call moves only 1 byte (`granularity`
//            bytes, see below); the call that continues it (same end offset)
//            passes.
// Persistent faults at a file offset X (fault_offset):
//   kEio     a call starting at X returns -EIO; a call covering X is cut
//            short right before it (reads and writes: a bad sector).
//   kEnospc  a write starting at or after X returns -ENOSPC; a write
//            covering X is cut short right before it (the device is full).
//
// For O_DIRECT descriptors on block filesystems the kernel cuts transfers
// short only at block boundaries (or at end of file): set `granularity` to
// the block size there, so short counts are whole blocks as a real system's.
//
// Whenever a read's result is reduced from `actual` to r (r = 0 for an
// error), bytes [r, actual) of the call's destination are overwritten with
// kPoison, so a caller that took the short read for a full one is caught by
// comparing bytes.
//
// calls() and injected() let a test prove the faults were actually hit.
// Thread-safety: OnResult may run concurrently on any thread.
#ifndef HALIO_TESTS_TESTING_FAULT_INJECTOR_H_
#define HALIO_TESTS_TESTING_FAULT_INJECTOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "halio/io_backend.h"

namespace halio::testing {

enum class FaultKind { kEintr, kEagain, kShort, kEio, kEnospc };

// "eintr", "eagain", "short", "eio", "enospc".
const char* FaultKindName(FaultKind kind);
// True for the faults halio must recover from (EINTR, EAGAIN, short counts).
bool IsTransient(FaultKind kind);

class FaultInjector final : public IoInterceptor {
 public:
  static constexpr std::byte kPoison{0xEE};

  // `fault_offset` is X for kEio and kEnospc; `granularity` the kShort count.
  explicit FaultInjector(FaultKind kind, uint64_t fault_offset = 0, uint64_t granularity = 1)
      : kind_(kind), fault_offset_(fault_offset), granularity_(granularity) {}
  static std::shared_ptr<FaultInjector> Make(FaultKind kind, uint64_t fault_offset = 0,
                                             uint64_t granularity = 1) {
    return std::make_shared<FaultInjector>(kind, fault_offset, granularity);
  }

  int64_t OnResult(const IoCall& call, int64_t result) override;

  // Calls seen, and calls whose result was replaced.
  uint64_t calls() const { return calls_.load(); }
  uint64_t injected() const { return injected_.load(); }
  // Reads / writes seen (to check which direction a test exercised).
  uint64_t reads() const { return reads_.load(); }
  uint64_t writes() const { return writes_.load(); }

 private:
  // (fd, write, end offset) of a call whose next attempt must pass.
  using CallKey = std::tuple<intptr_t, bool, uint64_t>;

  int64_t Transient(const IoCall& call, int64_t result);
  int64_t AtOffset(const IoCall& call, int64_t result) const;
  // True (and forgets it) if `key` was marked to pass; otherwise marks it
  // and returns false: each call fails once, its next attempt passes.
  bool PassOrMark(const CallKey& key);

  const FaultKind kind_;
  const uint64_t fault_offset_;
  const uint64_t granularity_;
  std::mutex mutex_;
  std::set<CallKey> passes_;  // guarded by mutex_
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> injected_{0};
  std::atomic<uint64_t> reads_{0};
  std::atomic<uint64_t> writes_{0};
};

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_FAULT_INJECTOR_H_
