// The one interpretation of a positional call's result (see the header).
#include "transfer_step.h"

#include <cerrno>
#include <string>

#include "errno_status.h"

namespace halio::platform {

std::string TransferStep::Describe(std::string_view what) const {
  std::string text = direct ? "O_DIRECT " : "";
  text += op == IoOp::kRead ? "read of " : "write of ";
  text += what;
  text += " [";
  text += std::to_string(offset);
  text += ", ";
  text += std::to_string(offset + length);
  text += ")";
  return text;
}

Status TransferStep::EndOfFileAt(uint64_t at, std::string_view what) const {
  return OutOfRangeError("end of file at offset " + std::to_string(at) + " during " +
                         Describe(what) +
                         "; the file is shorter than the request (was it truncated?)");
}

StepResult TransferStep::Advance(int64_t result, std::string_view what, Status* final) {
  if (result < 0) [[unlikely]] {
    const int error_number = static_cast<int>(-result);
    if (error_number == EINTR) return StepResult::kContinue;
    if (error_number == EAGAIN && ++eagain_count < kMaxConsecutiveEagain) {
      return StepResult::kContinue;
    }
    *final = ErrnoToStatus(error_number,
                           Describe(what) + " at offset " + std::to_string(position()));
    return StepResult::kFailed;
  }
  const size_t asked = NextCallLength();
  if (static_cast<uint64_t>(result) > asked) [[unlikely]] {
    *final = InternalError(Describe(what) + " at offset " + std::to_string(position()) +
                           ": the system reported " + std::to_string(result) +
                           " bytes moved for a call of " + std::to_string(asked));
    return StepResult::kFailed;
  }
  eagain_count = 0;
  if (result == 0 && done < length) [[unlikely]] {
    *final = op == IoOp::kRead
                 ? EndOfFileAt(position(), what)
                 : ResourceExhaustedError(Describe(what) + ": the system wrote 0 bytes at offset " +
                                          std::to_string(position()) +
                                          "; the device may be full");
    return StepResult::kEndOfFile;
  }
  done += static_cast<size_t>(result);
  if (done < length) return StepResult::kContinue;
  *final = Status();
  return StepResult::kDone;
}

}  // namespace halio::platform
