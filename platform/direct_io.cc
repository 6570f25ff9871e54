// Transfers that need alignment help: O_DIRECT of any offset, length and
// memory address, and reads into destinations the kernel copies slowly. Only
// the alignment arithmetic lives here; the syscalls come through IoSyscalls.
#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "fd_io.h"
#include "transfer_step.h"
#include "errno_status.h"

namespace halio::platform {
namespace {

// Bounce memory per call: big enough that bounced transfers still move
// 1 MiB per syscall, the size at which per-call overhead stops mattering.
constexpr size_t kBounceBytes = size_t{1} << 20;

uint64_t AlignDown(uint64_t value, uint64_t alignment) { return value - value % alignment; }
uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return AlignDown(value + alignment - 1, alignment);
}
bool IsAligned(const void* pointer, uint64_t alignment) {
  return reinterpret_cast<uintptr_t>(pointer) % alignment == 0;
}

class Bounce {
 public:
  Bounce(const DirectAlignment& alignment, HostAllocator& host)
      : host_(host),
        alignment_(std::max<size_t>({alignment.memory, alignment.offset, 4096})),
        size_(AlignUp(kBounceBytes, alignment_)) {}
  ~Bounce() {
    if (data_) host_.Free(data_, size_, alignment_);
  }
  Bounce(const Bounce&) = delete;
  Bounce& operator=(const Bounce&) = delete;
  // Allocated on first use: aligned requests never pay for it.
  std::byte* get() {
    if (!data_) data_ = static_cast<std::byte*>(host_.Allocate(size_, alignment_));
    return data_;
  }
  size_t size() const { return size_; }

 private:
  HostAllocator& host_;
  size_t alignment_;
  size_t size_;
  std::byte* data_ = nullptr;
};

// Reads up to `length` aligned bytes at aligned `position` into aligned
// `dst`, stopping early only at end of file. Returns the bytes read.
Result<size_t> ReadAlignedUntilEof(NativeHandle handle, uint64_t position, std::byte* dst,
                                   size_t length, std::string_view what,
                                   const IoSyscalls& sys) {
  TransferStep step{.op = IoOp::kRead, .direct = true, .offset = position, .length = length,
                    .max_bytes_per_call = static_cast<size_t>(
                        AlignDown(sys.max_bytes_per_call, 4096))};
  Status final;
  while (step.done < length) {
    const int64_t moved = sys.read_at(sys.context, handle, dst + step.done,
                                      step.NextCallLength(), step.position());
    const StepResult next = step.Advance(moved, what, &final);
    if (next == StepResult::kFailed) return final;
    // The end of the file inside the aligned span is the caller's to judge:
    // a partial last block is no error when the bytes wanted end before it.
    if (next != StepResult::kContinue) break;
    // A count that leaves the next read unaligned is the end of the file on
    // block filesystems, which return short O_DIRECT counts only there. FUSE
    // and network filesystems pass a server's short reply on anywhere, so
    // the file's length decides; such filesystems take unaligned reads.
    if (moved > 0 && step.done % 512 != 0) {
      auto file_length = HandleLength(handle, what);
      if (!file_length.ok()) {
        return Status(file_length.status())
            .Annotate(step.Describe(what) + " after a short count at " +
                      std::to_string(step.position()));
      }
      if (step.position() >= *file_length) break;
    }
  }
  return step.done;
}

}  // namespace

Status ReadAtDirect(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
                    std::string_view what, const DirectAlignment& alignment,
                    const IoSyscalls& sys, HostAllocator& host) {
  const uint64_t block = alignment.offset;
  const TransferStep whole{.op = IoOp::kRead, .direct = true, .offset = offset,
                           .length = dst.size()};
  Bounce bounce(alignment, host);
  uint64_t position = offset;
  std::byte* out = dst.data();
  size_t remaining = dst.size();
  while (remaining > 0) {
    if (position % block == 0 && IsAligned(out, alignment.memory) && remaining >= block) {
      size_t length = AlignDown(remaining, block);
      HALIO_ASSIGN_OR_RETURN(size_t got,
                             ReadAlignedUntilEof(handle, position, out, length, what, sys));
      if (got < length) return whole.EndOfFileAt(position + got, what);
      position += got;
      out += got;
      remaining -= got;
      continue;
    }
    if (bounce.get() == nullptr) {
      return ResourceExhaustedError("out of memory for O_DIRECT bounce memory reading " +
                                    std::string(what));
    }
    const uint64_t start = AlignDown(position, block);
    const size_t skip = static_cast<size_t>(position - start);
    const size_t want = std::min<size_t>(remaining, bounce.size() - skip);
    const size_t span = static_cast<size_t>(AlignUp(skip + want, block));
    HALIO_ASSIGN_OR_RETURN(size_t got,
                           ReadAlignedUntilEof(handle, start, bounce.get(), span, what, sys));
    if (got < skip + want) return whole.EndOfFileAt(start + got, what);
    std::memcpy(out, bounce.get() + skip, want);
    position += want;
    out += want;
    remaining -= want;
  }
  return Status();
}

Status WriteAtDirect(NativeHandle direct, NativeHandle buffered, uint64_t offset,
                     std::span<const std::byte> src, std::string_view what,
                     const DirectAlignment& alignment, const IoSyscalls& sys,
                     HostAllocator& host) {
  const uint64_t block = alignment.offset;
  Bounce bounce(alignment, host);
  uint64_t position = offset;
  const std::byte* in = src.data();
  size_t remaining = src.size();
  while (remaining > 0) {
    size_t length;
    if (position % block != 0 || remaining < block) {
      // Partial block: through the page cache.
      length = position % block != 0
                   ? std::min<size_t>(remaining, block - position % block)
                   : remaining;
      HALIO_RETURN_IF_ERROR(WriteAt(buffered, position, {in, length}, what, sys));
    } else if (IsAligned(in, alignment.memory)) {
      length = AlignDown(remaining, block);
      HALIO_RETURN_IF_ERROR(WriteAt(direct, position, {in, length}, what, sys));
    } else {
      if (bounce.get() == nullptr) {
        return ResourceExhaustedError("out of memory for O_DIRECT bounce memory writing " +
                                      std::string(what));
      }
      length = std::min<size_t>(AlignDown(remaining, block), bounce.size());
      std::memcpy(bounce.get(), in, length);
      HALIO_RETURN_IF_ERROR(WriteAt(direct, position, {bounce.get(), length}, what, sys));
    }
    position += length;
    in += length;
    remaining -= length;
  }
  return Status();
}

Status ReadAtRealigned(NativeHandle handle, uint64_t offset, std::span<std::byte> dst,
                       std::string_view what, const IoSyscalls& sys, HostAllocator& host) {
  // 256 KiB: large enough that per-call costs stay small, small enough that
  // the bounce stays in L2 between the kernel's copy and ours.
  constexpr size_t kChunk = 256 << 10;
  constexpr size_t kAlignment = 4096;
  constexpr size_t kBounceSize = kChunk + kAlignment;
  auto* bounce = static_cast<std::byte*>(host.Allocate(kBounceSize, kAlignment));
  if (bounce == nullptr) {
    return ResourceExhaustedError("out of memory for a realigning bounce chunk reading " +
                                  std::string(what));
  }
  Status status;
  for (size_t done = 0; done < dst.size() && status.ok();) {
    const size_t length = std::min(kChunk, dst.size() - done);
    // Same page offset as the file position: the kernel's copy is aligned.
    std::byte* chunk = bounce + (offset + done) % kAlignment;
    status = ReadAt(handle, offset + done, {chunk, length}, what, sys);
    if (status.ok()) std::memcpy(dst.data() + done, chunk, length);
    done += length;
  }
  host.Free(bounce, kBounceSize, kAlignment);
  return status;
}

}  // namespace halio::platform
