// The operating system's handle of an open file, as FdFile takes and keeps
// it: a file descriptor on POSIX systems, a HANDLE (its bits) on Windows.
#ifndef HALIO_NATIVE_HANDLE_H_
#define HALIO_NATIVE_HANDLE_H_

#include <cstdint>

namespace halio {

#if defined(_WIN32)
using NativeHandle = intptr_t;  // HANDLE
#else
using NativeHandle = int;
#endif
// No file: -1 (INVALID_HANDLE_VALUE's bits on Windows).
inline constexpr NativeHandle kInvalidHandle = -1;

}  // namespace halio

#endif  // HALIO_NATIVE_HANDLE_H_
