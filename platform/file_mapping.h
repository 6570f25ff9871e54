// Read-only mappings of whole files, for loads that view a file's bytes in
// place instead of reading them (LoadOptions::map).
//
// The mapping is private and read-only: the process never writes the file
// through it, and pages are read from the file (or shared with the page
// cache) on first touch. It stays valid after the descriptor is closed.
// Thread-safety: the calls are independent; a mapping may be read from any
// thread. Ownership: the caller unmaps what MapWholeFile returned, once.
#ifndef HALIO_PLATFORM_FILE_MAPPING_H_
#define HALIO_PLATFORM_FILE_MAPPING_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "halio/native_handle.h"
#include "halio/status.h"

namespace halio {

// Maps the first `length` bytes of the file open as `handle` (length > 0).
// `description` names the file in errors. Errors: the mapped errno of
// mmap (ENOMEM -> RESOURCE_EXHAUSTED, ENODEV for a file that cannot be
// mapped -> UNIMPLEMENTED), naming the file and length; UNIMPLEMENTED where
// the platform has no mapping yet.
Result<std::span<std::byte>> MapWholeFile(NativeHandle handle, uint64_t length,
                                          std::string_view description);

// Unmaps what MapWholeFile returned. Never fails for a mapping it made.
void UnmapFile(std::span<std::byte> mapping) noexcept;

}  // namespace halio

#endif  // HALIO_PLATFORM_FILE_MAPPING_H_
