#include "halio/hal/transfer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "buffer_internals.h"
#include "device_memory.h"
#include "staged_transfer.h"
#include "transfer_validated.h"

namespace halio {
namespace {

template <typename T>
void FillPattern(std::byte* dst, uint64_t length, uint32_t pattern) {
  T value = static_cast<T>(pattern);
  // memcpy per element: the target need not be aligned to the pattern size.
  for (uint64_t i = 0; i < length; i += sizeof(T)) std::memcpy(dst + i, &value, sizeof(T));
}

// ValidateFill's errors, cold and out of line so the check stays small.
[[gnu::cold, gnu::noinline]] Status BadPatternLength(uint32_t pattern_length) {
  return InvalidArgumentError("fill pattern length must be 1, 2 or 4 bytes, not " +
                              std::to_string(pattern_length));
}

[[gnu::cold, gnu::noinline]] Status NotPatternMultiple(uint64_t length,
                                                       uint32_t pattern_length) {
  return InvalidArgumentError("fill length " + std::to_string(length) +
                              " is not a multiple of the " + std::to_string(pattern_length) +
                              "-byte pattern");
}

// Device memory (device_memory.h): the same transfers through the memory's
// copy engine, waited for here (FillAndWait, CopyAndWait; the callers are
// synchronous: local_sync, or a worker running an op's body).

// Between two different device memories: through one staging buffer of the
// source's pool, a chunk at a time.
Status CopyAcrossMemories(DeviceMemory& from_memory, const std::byte* from,
                          DeviceMemory& to_memory, std::byte* to, uint64_t length) {
  StagingPool& pool = from_memory.staging();
  HALIO_ASSIGN_OR_RETURN(std::byte* staging, pool.Acquire());
  Status status;
  for (uint64_t done = 0; done < length && status.ok();) {
    const uint64_t chunk = std::min<uint64_t>(pool.buffer_bytes(), length - done);
    status =
        CopyAndWait(from_memory, DeviceCopy::Kind::kFromDevice, from + done, staging, chunk);
    if (status.ok()) {
      status = CopyAndWait(to_memory, DeviceCopy::Kind::kToDevice, staging, to + done, chunk);
    }
    done += chunk;
  }
  pool.Release(staging);
  return status;
}

[[gnu::noinline]] Status CopyInvolvingDevice(DeviceMemory* from_memory, const std::byte* from,
                                             DeviceMemory* to_memory, std::byte* to,
                                             uint64_t length) {
  if (from_memory == nullptr) {
    return CopyAndWait(*to_memory, DeviceCopy::Kind::kToDevice, from, to, length);
  }
  if (to_memory == nullptr) {
    return CopyAndWait(*from_memory, DeviceCopy::Kind::kFromDevice, from, to, length);
  }
  if (from_memory == to_memory) {
    return CopyAndWait(*to_memory, DeviceCopy::Kind::kWithinDevice, from, to, length);
  }
  return CopyAcrossMemories(*from_memory, from, *to_memory, to, length);
}

}  // namespace

Status ValidateFill(const Buffer& target, uint64_t offset, uint64_t length,
                    uint32_t pattern_length) {
  if (pattern_length != 1 && pattern_length != 2 && pattern_length != 4) [[unlikely]] {
    return BadPatternLength(pattern_length);
  }
  // kWholeBuffer means "to the end": check the resolved length's multiple
  // (an out-of-range offset is left for Validate to report).
  if (length == kWholeBuffer && offset <= target.byte_length()) {
    length = target.byte_length() - offset;
  }
  // pattern_length is a power of two: a mask, not a division.
  if (length != kWholeBuffer && (length & (pattern_length - 1)) != 0) [[unlikely]] {
    return NotPatternMultiple(length, pattern_length);
  }
  return target.Validate(MemoryAccess::kWrite, offset, length);
}

Status FillInline(Buffer& target, uint64_t offset, uint64_t length, uint32_t pattern,
                  uint32_t pattern_length) {
  HALIO_RETURN_IF_ERROR(ValidateFill(target, offset, length, pattern_length));
  return FillValidated(target, offset, length, pattern, pattern_length);
}

Status FillValidated(Buffer& target, uint64_t offset, uint64_t length, uint32_t pattern,
                     uint32_t pattern_length) {
  if (length == kWholeBuffer) length = target.byte_length() - offset;
  if (length == 0) return Status();
  std::byte* bytes = BufferInternals::ValidatedData(target, offset);
  if (bytes == nullptr) [[unlikely]] return BufferInternals::FreedError(target);
  if (DeviceMemory* memory = BufferInternals::DeviceMemoryOf(target)) [[unlikely]] {
    return FillAndWait(*memory, bytes, static_cast<size_t>(length), pattern, pattern_length);
  }
  FillHostBytes(bytes, length, pattern, pattern_length);
  return Status();
}

void FillHostBytes(std::byte* target, uint64_t length, uint32_t pattern,
                   uint32_t pattern_length) {
  switch (pattern_length) {
    case 1: std::memset(target, static_cast<int>(pattern & 0xFF), length); break;
    case 2: FillPattern<uint16_t>(target, length, pattern); break;
    default: FillPattern<uint32_t>(target, length, pattern); break;
  }
}

Status ValidateUpdate(const Buffer& target, uint64_t offset, uint64_t length) {
  return target.Validate(MemoryAccess::kWrite, offset, length);
}

Status UpdateInline(std::span<const std::byte> source, Buffer& target, uint64_t offset) {
  HALIO_RETURN_IF_ERROR(ValidateUpdate(target, offset, source.size()));
  return UpdateValidated(source, target, offset);
}

Status UpdateValidated(std::span<const std::byte> source, Buffer& target, uint64_t offset) {
  if (source.empty()) return Status();
  std::byte* bytes = BufferInternals::ValidatedData(target, offset);
  if (bytes == nullptr) [[unlikely]] return BufferInternals::FreedError(target);
  if (DeviceMemory* memory = BufferInternals::DeviceMemoryOf(target)) [[unlikely]] {
    return CopyInvolvingDevice(nullptr, source.data(), memory, bytes, source.size());
  }
  std::memcpy(bytes, source.data(), source.size());
  return Status();
}

Status ValidateCopy(const Buffer& source, uint64_t source_offset, const Buffer& target,
                    uint64_t target_offset, uint64_t length) {
  HALIO_RETURN_IF_ERROR(source.Validate(MemoryAccess::kRead, source_offset, length));
  // kWholeBuffer means the rest of the source, which must then fit the target.
  if (length == kWholeBuffer) length = source.byte_length() - source_offset;
  return target.Validate(MemoryAccess::kWrite, target_offset, length);
}

Status CopyInline(Buffer& source, uint64_t source_offset, Buffer& target,
                  uint64_t target_offset, uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateCopy(source, source_offset, target, target_offset, length));
  return CopyValidated(source, source_offset, target, target_offset, length);
}

Status CopyValidated(Buffer& source, uint64_t source_offset, Buffer& target,
                     uint64_t target_offset, uint64_t length) {
  if (length == kWholeBuffer) length = source.byte_length() - source_offset;
  if (length == 0) return Status();
  const std::byte* from = BufferInternals::ValidatedData(source, source_offset);
  if (from == nullptr) [[unlikely]] return BufferInternals::FreedError(source);
  std::byte* to = BufferInternals::ValidatedData(target, target_offset);
  if (to == nullptr) [[unlikely]] return BufferInternals::FreedError(target);
  DeviceMemory* from_memory = BufferInternals::DeviceMemoryOf(source);
  DeviceMemory* to_memory = BufferInternals::DeviceMemoryOf(target);
  if (from_memory != nullptr || to_memory != nullptr) [[unlikely]] {
    return CopyInvolvingDevice(from_memory, from, to_memory, to, length);
  }
  std::memmove(to, from, length);
  return Status();
}

}  // namespace halio
