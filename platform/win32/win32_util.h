// What every Windows platform file needs: the HANDLE behind a NativeHandle,
// UTF-8 <-> UTF-16 paths, and Win32 errors through the one errno mapping
// (errno_status.h), so a Windows failure carries the same code and hint as
// its POSIX twin. Windows-only; internal to platform/.
#ifndef HALIO_PLATFORM_WIN32_WIN32_UTIL_H_
#define HALIO_PLATFORM_WIN32_WIN32_UTIL_H_

#include <windows.h>

#include <string>
#include <string_view>

#include "halio/native_handle.h"
#include "halio/status.h"

namespace halio::platform {

inline HANDLE ToWin32(NativeHandle handle) { return reinterpret_cast<HANDLE>(handle); }
inline NativeHandle FromWin32(HANDLE handle) { return reinterpret_cast<NativeHandle>(handle); }

// The errno that means what `error` (GetLastError) means; EIO for the rest.
int Win32ErrorToErrno(DWORD error);

// ErrnoToStatus(Win32ErrorToErrno(error), what) plus Windows' own text and
// number: "<what>: <strerror> (errno N); <hint>; Windows error E: <text>".
Status Win32ErrorToStatus(DWORD error, std::string_view what);

// UTF-8 -> UTF-16 for the W functions. Errors: INVALID_ARGUMENT naming the
// path when it is not valid UTF-8.
Result<std::wstring> WidePath(const std::string& path);
// UTF-16 -> UTF-8 (invalid code units become U+FFFD).
std::string Utf8FromWide(std::wstring_view wide);

}  // namespace halio::platform

#endif  // HALIO_PLATFORM_WIN32_WIN32_UTIL_H_
