// One transfer step: the single place that decides what the result of one
// positional read or write call means for the transfer it belongs to. Every
// path that moves file bytes (ReadAt/WriteAt, the engines' completions,
// O_DIRECT, page-cache-first reads) asks it, so they all retry, stop and word
// their errors the same way:
//
// - no call asks for more than the per-call limit (NextCallLength);
// - EINTR is retried; EAGAIN is retried up to kMaxConsecutiveEagain times in
//   a row (on a non-blocking descriptor it could repeat forever);
// - a short count continues from where it stopped;
// - 0 bytes before the end is the end of the file (reads: OUT_OF_RANGE) or a
//   full device (writes: RESOURCE_EXHAUSTED), never success and never a
//   retry loop;
// - a count larger than the call asked for is INTERNAL, never taken;
// - errors name the file, the whole range and the offset reached.
//
// Thread-safety: a TransferStep is plain state owned by one transfer; only
// one thread advances it at a time.
#ifndef HALIO_PLATFORM_TRANSFER_STEP_H_
#define HALIO_PLATFORM_TRANSFER_STEP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "halio/status.h"
#include "fd_io.h"

namespace halio::platform {

enum class IoOp : uint8_t { kRead, kWrite };

// EAGAIN on a regular file is transient (e.g. a FUSE server under load), but
// on a non-blocking descriptor it can repeat forever: give up after this many
// in a row instead of spinning.
inline constexpr int kMaxConsecutiveEagain = 1000;

// What the transfer does after a call's result.
enum class StepResult : uint8_t {
  kContinue,   // make the next call: NextCallLength() bytes at position()
  kDone,       // every byte moved; *final is OK
  kEndOfFile,  // a call moved 0 bytes before the end; *final says so
  kFailed,     // *final holds the error
};

struct TransferStep {
  IoOp op = IoOp::kRead;
  // The descriptor was opened with O_DIRECT: said in errors ("O_DIRECT read
  // of ..."); the engines also schedule such transfers differently.
  bool direct = false;
  int eagain_count = 0;  // consecutive EAGAIN results
  // The whole transfer: `length` bytes at file offset `offset`.
  uint64_t offset = 0;
  size_t length = 0;
  size_t done = 0;  // bytes moved so far
  // Largest count one call asks for (lowered by tests and O_DIRECT).
  size_t max_bytes_per_call = kMaxIoBytesPerCall;

  // File offset of the next call.
  uint64_t position() const { return offset + done; }
  // Bytes the next call asks for: the rest, capped at the per-call limit.
  // Callers size every call with it, so the result can be checked against it.
  size_t NextCallLength() const { return std::min(length - done, max_bytes_per_call); }
  // Starts the transfer over (an engine taking a request).
  void Restart() {
    done = 0;
    eagain_count = 0;
  }

  // Takes `result` (bytes moved, or -errno) of the call just made, which
  // asked for NextCallLength() bytes at position(). `what` names the file.
  // Sets *final unless the result is kContinue.
  StepResult Advance(int64_t result, std::string_view what, Status* final);

  // "read of WHAT [offset, offset + length)" (with "O_DIRECT " before it for
  // direct transfers), the words every error of this transfer starts with.
  std::string Describe(std::string_view what) const;
  // OUT_OF_RANGE: the file ended at `at`, before the end of this (read)
  // transfer.
  Status EndOfFileAt(uint64_t at, std::string_view what) const;
};

}  // namespace halio::platform

#endif  // HALIO_PLATFORM_TRANSFER_STEP_H_
