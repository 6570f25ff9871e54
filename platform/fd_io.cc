// The chunked transfer loops, shared by every OS: only IoSyscalls differ.
#include "fd_io.h"

#include <algorithm>
#include <cerrno>
#include <string>

#include "errno_status.h"

namespace halio::platform {
namespace {

std::string RangeText(std::string_view verb, std::string_view what, uint64_t begin,
                      uint64_t end) {
  std::string text(verb);
  text += " of ";
  text += what;
  text += " [";
  text += std::to_string(begin);
  text += ", ";
  text += std::to_string(end);
  text += ")";
  return text;
}

// EAGAIN on a regular file is transient (e.g. a FUSE server under load) but on
// a non-blocking descriptor it can repeat forever; give up after this many in
// a row instead of spinning.
constexpr int kMaxConsecutiveEagain = 1000;

// True if the loop should retry the call that failed with `error_number`.
bool ShouldRetry(int error_number, int* eagain_count) {
  if (error_number == EINTR) return true;
  if (error_number == EAGAIN && ++*eagain_count < kMaxConsecutiveEagain) return true;
  return false;
}

}  // namespace

Status ReadAt(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
              std::string_view what, const IoSyscalls& sys) {
  std::byte* cursor = dst.data();
  size_t remaining = dst.size();
  uint64_t position = offset;
  int eagain_count = 0;
  while (remaining > 0) {
    size_t request = std::min(remaining, sys.max_bytes_per_call);
    int64_t moved = sys.read_at(sys.context, handle, cursor, request, position);
    if (moved < 0) {
      int error_number = static_cast<int>(-moved);
      if (ShouldRetry(error_number, &eagain_count)) continue;
      return ErrnoToStatus(error_number,
                           RangeText("read", what, offset, offset + dst.size()) +
                               " at offset " + std::to_string(position));
    }
    if (moved == 0) {
      return OutOfRangeError("end of file at offset " + std::to_string(position) +
                             " while reading [" + std::to_string(offset) + ", " +
                             std::to_string(offset + dst.size()) + ") of " +
                             std::string(what) +
                             "; the file is shorter than the request (was it truncated?)");
    }
    if (static_cast<size_t>(moved) > request) [[unlikely]] {
      return InternalError("the system reported " + std::to_string(moved) +
                           " bytes moved for a request of " + std::to_string(request) +
                           " on " + std::string(what));
    }
    eagain_count = 0;
    cursor += moved;
    remaining -= static_cast<size_t>(moved);
    position += static_cast<uint64_t>(moved);
  }
  return Status();
}

Status WriteAt(NativeHandle handle, uint64_t offset, std::span<const std::byte> src,
               std::string_view what, const IoSyscalls& sys) {
  const std::byte* cursor = src.data();
  size_t remaining = src.size();
  uint64_t position = offset;
  int eagain_count = 0;
  while (remaining > 0) {
    size_t request = std::min(remaining, sys.max_bytes_per_call);
    int64_t moved = sys.write_at(sys.context, handle, cursor, request, position);
    if (moved < 0) {
      int error_number = static_cast<int>(-moved);
      if (ShouldRetry(error_number, &eagain_count)) continue;
      return ErrnoToStatus(error_number,
                           RangeText("write", what, offset, offset + src.size()) +
                               " at offset " + std::to_string(position));
    }
    if (moved == 0) {
      return ResourceExhaustedError(
          RangeText("write", what, offset, offset + src.size()) +
          ": the system wrote 0 bytes at offset " + std::to_string(position) +
          "; the device may be full");
    }
    if (static_cast<size_t>(moved) > request) [[unlikely]] {
      return InternalError("the system reported " + std::to_string(moved) +
                           " bytes moved for a request of " + std::to_string(request) +
                           " on " + std::string(what));
    }
    eagain_count = 0;
    cursor += moved;
    remaining -= static_cast<size_t>(moved);
    position += static_cast<uint64_t>(moved);
  }
  return Status();
}

}  // namespace halio::platform
