// Read-only whole-file views (file_mapping.h) with CreateFileMappingW and
// MapViewOfFile. The view keeps the mapping object alive, so its handle is
// closed at once.
#include <windows.h>

#include <limits>
#include <string>

#include "file_mapping.h"
#include "win32_util.h"

namespace halio {

Result<std::span<std::byte>> MapWholeFile(NativeHandle handle, uint64_t length,
                                          std::string_view description) {
  const std::string what =
      "mapping " + std::string(description) + " (" + std::to_string(length) + " bytes)";
  if (length == 0 || length > std::numeric_limits<size_t>::max()) {
    return InvalidArgumentError(what + ": the length must be between 1 and SIZE_MAX");
  }
  HANDLE mapping = ::CreateFileMappingW(platform::ToWin32(handle), nullptr, PAGE_READONLY,
                                        static_cast<DWORD>(length >> 32),
                                        static_cast<DWORD>(length), nullptr);
  if (mapping == nullptr) return platform::Win32ErrorToStatus(::GetLastError(), what);
  void* view = ::MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, static_cast<size_t>(length));
  const DWORD error = ::GetLastError();
  ::CloseHandle(mapping);
  if (view == nullptr) return platform::Win32ErrorToStatus(error, what);
  return std::span<std::byte>(static_cast<std::byte*>(view), static_cast<size_t>(length));
}

void UnmapFile(std::span<std::byte> mapping) noexcept {
  if (!mapping.empty()) ::UnmapViewOfFile(mapping.data());
}

}  // namespace halio
