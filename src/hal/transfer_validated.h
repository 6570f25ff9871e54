// The work of the *Inline transfers (halio/hal/transfer.h) for arguments the
// caller has already passed through the matching Validate* call. Internal:
// devices validate every queue operation before any semaphore work and must
// not pay for the checks twice.
//
// Preconditions: the Validate* call for the same arguments returned OK. The
// only error left is FAILED_PRECONDITION, when queue_dealloca freed a
// transient buffer since. No allocation on success.
//
// Thread-safety: as the *Inline functions.
#ifndef HALIO_SRC_HAL_TRANSFER_VALIDATED_H_
#define HALIO_SRC_HAL_TRANSFER_VALIDATED_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "halio/hal/buffer.h"
#include "halio/status.h"

namespace halio {

Status FillValidated(Buffer& target, uint64_t offset, uint64_t length, uint32_t pattern,
                     uint32_t pattern_length);
// The host-memory fill itself: `length` bytes at `target` (a multiple of the
// 1, 2 or 4 byte pattern, any alignment). Also what a DeviceMemory whose
// memory is host memory (local_discrete's copy engine) runs for a kFill.
void FillHostBytes(std::byte* target, uint64_t length, uint32_t pattern,
                   uint32_t pattern_length);
Status UpdateValidated(std::span<const std::byte> source, Buffer& target, uint64_t offset);
Status CopyValidated(Buffer& source, uint64_t source_offset, Buffer& target,
                     uint64_t target_offset, uint64_t length);

}  // namespace halio

#endif  // HALIO_SRC_HAL_TRANSFER_VALIDATED_H_
