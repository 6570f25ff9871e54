// Inline transfers: validate, then fill/update/copy host-visible buffer
// memory on the calling thread, now (no queue, no semaphores).
//
// User API: an application may use them to prepare or inspect host buffers
// with the same checks the queue operations apply; command buffers run their
// commands through them. Validate* check access rights and ranges
// (overflow-safe) and touch no memory. The *Inline functions validate, then
// do the work; they also return FAILED_PRECONDITION for a transient buffer
// that queue_dealloca freed. None of them allocates on success. (Devices
// validate before any semaphore work and then run the pre-validated forms,
// which are internal: src/hal/transfer_validated.h.)
//
// Thread-safety: safe on distinct or read-only-overlapping memory; ordering
// writers is the caller's job.
#ifndef HALIO_HAL_TRANSFER_H_
#define HALIO_HAL_TRANSFER_H_

#include <cstdint>
#include <span>

#include "halio/hal/buffer.h"
#include "halio/status.h"

namespace halio {

// Errors: INVALID_ARGUMENT (pattern_length not 1, 2 or 4; length not a
// multiple of it), PERMISSION_DENIED (no write access), OUT_OF_RANGE.
Status ValidateFill(const Buffer& target, uint64_t offset, uint64_t length,
                    uint32_t pattern_length);
// Writes the low `pattern_length` bytes of `pattern` (host byte order)
// repeatedly over [offset, offset + length); kWholeBuffer fills to the end.
Status FillInline(Buffer& target, uint64_t offset, uint64_t length,
                  uint32_t pattern, uint32_t pattern_length);

Status ValidateUpdate(const Buffer& target, uint64_t offset, uint64_t length);
Status UpdateInline(std::span<const std::byte> source, Buffer& target,
                    uint64_t offset);

// Source needs read access, target write access. Overlapping ranges of the
// same storage copy as memmove does. A length of kWholeBuffer copies the rest
// of the source, which must fit in the target.
Status ValidateCopy(const Buffer& source, uint64_t source_offset,
                    const Buffer& target, uint64_t target_offset, uint64_t length);
Status CopyInline(Buffer& source, uint64_t source_offset, Buffer& target,
                  uint64_t target_offset, uint64_t length);

}  // namespace halio

#endif  // HALIO_HAL_TRANSFER_H_
