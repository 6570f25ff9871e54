// What Windows says about itself, for `halio probe` (system_info.h).
#include <windows.h>
#include <io.h>
#include <psapi.h>

#include <string>
#include <thread>

#include "system_info.h"
#include "win32_util.h"

namespace halio::platform {
namespace {

// Windows' real version (GetVersionEx lies to programs without a manifest).
std::string WindowsVersion() {
  using RtlGetVersionFn = LONG(WINAPI*)(OSVERSIONINFOW*);
  HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  auto get_version = ntdll ? reinterpret_cast<RtlGetVersionFn>(
                                 reinterpret_cast<void*>(::GetProcAddress(ntdll, "RtlGetVersion")))
                           : nullptr;
  OSVERSIONINFOW info = {};
  info.dwOSVersionInfoSize = sizeof(info);
  if (get_version == nullptr || get_version(&info) != 0) return "unknown";
  std::string version = std::to_string(info.dwMajorVersion) + "." +
                        std::to_string(info.dwMinorVersion) + "." +
                        std::to_string(info.dwBuildNumber);
  // Under Wine, say so: what it cannot show (tests/RELIABILITY.md) matters.
  using WineVersionFn = const char*(CDECL*)();
  auto wine_version = ntdll ? reinterpret_cast<WineVersionFn>(reinterpret_cast<void*>(
                                  ::GetProcAddress(ntdll, "wine_get_version")))
                            : nullptr;
  if (wine_version != nullptr) version += " (Wine " + std::string(wine_version()) + ")";
  return version;
}

double Seconds(const FILETIME& time) {
  ULARGE_INTEGER ticks;
  ticks.LowPart = time.dwLowDateTime;
  ticks.HighPart = time.dwHighDateTime;
  return static_cast<double>(ticks.QuadPart) / 1e7;  // 100 ns units
}

}  // namespace

SystemInfo QuerySystemInfo() {
  SystemInfo info;
  info.os = "Windows";
  info.kernel_release = WindowsVersion();
  SYSTEM_INFO system;
  ::GetNativeSystemInfo(&system);
  switch (system.wProcessorArchitecture) {
    case PROCESSOR_ARCHITECTURE_AMD64: info.machine = "x86_64"; break;
    case PROCESSOR_ARCHITECTURE_ARM64: info.machine = "arm64"; break;
    case PROCESSOR_ARCHITECTURE_INTEL: info.machine = "x86"; break;
    default: info.machine = "unknown"; break;
  }
  info.hardware_threads = std::thread::hardware_concurrency();
  return info;
}

// io_uring is Linux's: nothing to report.
IoUringPolicy QueryIoUringPolicy() { return IoUringPolicy(); }

Result<DirectIoSupport> QueryDirectIoSupport(const std::string& directory) {
  HALIO_ASSIGN_OR_RETURN(std::wstring wide, WidePath(directory));
  wchar_t name[MAX_PATH + 1];
  if (::GetTempFileNameW(wide.c_str(), L"hio", 0, name) == 0) {
    return Win32ErrorToStatus(::GetLastError(), "creating a scratch file in " + directory);
  }
  const std::string path = Utf8FromWide(name);
  OpenFlags flags;
  flags.read = true;
  Result<NativeHandle> buffered = OpenPath(path, flags);
  Result<DirectAlignment> alignment =
      buffered.ok() ? HandleDirectAlignment(*buffered, path) : buffered.status();
  if (buffered.ok()) CloseHandle(*buffered);
  flags.direct = true;
  Result<NativeHandle> direct = OpenPath(path, flags);
  if (direct.ok()) CloseHandle(*direct);
  ::DeleteFileW(name);
  HALIO_RETURN_IF_ERROR(alignment.status());
  return DirectIoSupport{*alignment, direct.status()};
}

double ProcessCpuSeconds() {
  FILETIME created, exited, kernel, user;
  if (!::GetProcessTimes(::GetCurrentProcess(), &created, &exited, &kernel, &user)) return 0;
  return Seconds(kernel) + Seconds(user);
}

Status DropFileCache(NativeHandle, std::string_view what) {
  return UnimplementedError("dropping the cached pages of " + std::string(what) +
                            " is not possible on Windows; read it with direct I/O "
                            "(FILE_FLAG_NO_BUFFERING, --direct) for cold figures");
}

uint64_t PeakResidentBytes() {
  PROCESS_MEMORY_COUNTERS counters = {};
  counters.cb = sizeof(counters);
  if (!::GetProcessMemoryInfo(::GetCurrentProcess(), &counters, sizeof(counters))) return 0;
  return counters.PeakWorkingSetSize;
}

bool StderrIsTerminal() { return ::_isatty(2) != 0; }

Result<std::string> CurrentExecutablePath() {
  std::wstring path(MAX_PATH, L'\0');
  while (true) {
    const DWORD length = ::GetModuleFileNameW(nullptr, path.data(),
                                              static_cast<DWORD>(path.size()));
    if (length == 0) return Win32ErrorToStatus(::GetLastError(), "GetModuleFileNameW");
    if (length < path.size()) {
      path.resize(length);
      return Utf8FromWide(path);
    }
    if (path.size() >= 32768) {
      return OutOfRangeError("the path of the running program is longer than 32767 characters");
    }
    path.resize(path.size() * 2);
  }
}

}  // namespace halio::platform
