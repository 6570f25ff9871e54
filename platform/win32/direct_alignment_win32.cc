// What unbuffered (FILE_FLAG_NO_BUFFERING) transfers must be aligned to:
// the volume's logical sector size for offsets and lengths, and for memory
// that or the device's stricter alignment requirement. From
// FileStorageInfo / FileAlignmentInfo (Windows 8+), else the sector size
// GetDiskFreeSpaceW reports for the file's volume, else 4096 (a multiple of
// every sector size in use). Wine implements neither query, so under Wine
// the fallbacks run: tests/RELIABILITY.md says what only Windows can show.
#include <windows.h>

#include <algorithm>
#include <string>

#include "fd_io.h"
#include "win32_util.h"

namespace halio::platform {
namespace {

// The sector size of the volume holding `file`, or 0 when it cannot be had.
DWORD VolumeSectorSize(HANDLE file) {
  std::wstring path(MAX_PATH, L'\0');
  DWORD length = ::GetFinalPathNameByHandleW(file, path.data(), static_cast<DWORD>(path.size()),
                                             FILE_NAME_NORMALIZED);
  if (length == 0) return 0;
  if (length >= path.size()) {
    path.resize(length + 1);
    length = ::GetFinalPathNameByHandleW(file, path.data(), static_cast<DWORD>(path.size()),
                                         FILE_NAME_NORMALIZED);
    if (length == 0 || length >= path.size()) return 0;
  }
  path.resize(length);
  std::wstring volume(path.size() + 1, L'\0');
  if (!::GetVolumePathNameW(path.c_str(), volume.data(), static_cast<DWORD>(volume.size()))) {
    return 0;
  }
  DWORD sectors_per_cluster = 0, bytes_per_sector = 0, free_clusters = 0, clusters = 0;
  if (!::GetDiskFreeSpaceW(volume.c_str(), &sectors_per_cluster, &bytes_per_sector,
                           &free_clusters, &clusters)) {
    return 0;
  }
  return bytes_per_sector;
}

}  // namespace

Result<DirectAlignment> HandleDirectAlignment(NativeHandle handle, std::string_view what) {
  const HANDLE file = ToWin32(handle);
  if (::GetFileType(file) != FILE_TYPE_DISK) {
    return FailedPreconditionError(std::string(what) +
                                   " is not a disk file; direct I/O needs one");
  }
  DirectAlignment alignment;
  FILE_STORAGE_INFO storage = {};
  if (::GetFileInformationByHandleEx(file, FileStorageInfo, &storage, sizeof(storage)) &&
      storage.LogicalBytesPerSector > 0) {
    alignment.offset = static_cast<uint32_t>(storage.LogicalBytesPerSector);
  } else if (const DWORD sector = VolumeSectorSize(file); sector > 0) {
    alignment.offset = sector;
  }
  alignment.memory = alignment.offset;
  FILE_ALIGNMENT_INFO memory = {};
  if (::GetFileInformationByHandleEx(file, FileAlignmentInfo, &memory, sizeof(memory))) {
    alignment.memory = std::max<uint32_t>(alignment.memory, memory.AlignmentRequirement + 1);
  }
  return alignment;
}

}  // namespace halio::platform
