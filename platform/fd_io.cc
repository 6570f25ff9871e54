// The chunked transfer loops, shared by every OS: only IoSyscalls differ.
// What each call's result means is TransferStep's to say.
#include "fd_io.h"

#include "transfer_step.h"

namespace halio::platform {
namespace {

// Calls `call(position, done, count)` until `step` is over; returns its end.
template <typename Call>
Status RunTransfer(TransferStep step, std::string_view what, const Call& call) {
  if (step.length == 0) return Status();
  Status final;
  while (step.Advance(call(step.position(), step.done, step.NextCallLength()), what, &final) ==
         StepResult::kContinue) {
  }
  return final;
}

}  // namespace

Status ReadAt(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
              std::string_view what, const IoSyscalls& sys) {
  TransferStep step{.op = IoOp::kRead, .offset = offset, .length = dst.size(),
                    .max_bytes_per_call = sys.max_bytes_per_call};
  return RunTransfer(step, what, [&](uint64_t position, size_t done, size_t count) {
    return sys.read_at(sys.context, handle, dst.data() + done, count, position);
  });
}

Status WriteAt(NativeHandle handle, uint64_t offset, std::span<const std::byte> src,
               std::string_view what, const IoSyscalls& sys) {
  TransferStep step{.op = IoOp::kWrite, .offset = offset, .length = src.size(),
                    .max_bytes_per_call = sys.max_bytes_per_call};
  return RunTransfer(step, what, [&](uint64_t position, size_t done, size_t count) {
    return sys.write_at(sys.context, handle, src.data() + done, count, position);
  });
}

}  // namespace halio::platform
