// What the OS says about itself, for `halio probe`.
#ifndef HALIO_PLATFORM_SYSTEM_INFO_H_
#define HALIO_PLATFORM_SYSTEM_INFO_H_

#include <cstdint>
#include <optional>
#include <string>

#include "halio/status.h"
#include "fd_io.h"

namespace halio::platform {

struct SystemInfo {
  std::string os;              // "Linux"
  std::string kernel_release;  // "6.1.0-18-amd64"
  std::string machine;         // "x86_64"
  unsigned hardware_threads = 0;
};

SystemInfo QuerySystemInfo();

// The process settings that decide whether io_uring_setup may succeed.
// std::nullopt means "not reported here" (no such file or line: an older
// kernel, another OS) or, for the memlock limits, unlimited.
struct IoUringPolicy {
  // /proc/sys/kernel/io_uring_disabled (Linux 6.6+): 0 allowed, 1 only for
  // kernel.io_uring_group, 2 nobody.
  std::optional<std::string> io_uring_disabled;
  // "Seccomp:" of /proc/self/status: 0 none, 1 strict, 2 filter; and
  // "Seccomp_filters:", how many filters are stacked on this process.
  std::optional<int> seccomp_mode;
  std::optional<int> seccomp_filters;
  // RLIMIT_MEMLOCK in bytes: io_uring rings count against it before
  // Linux 5.12, so a small limit makes io_uring_setup fail with ENOMEM.
  std::optional<uint64_t> memlock_soft;
  std::optional<uint64_t> memlock_hard;
};

IoUringPolicy QueryIoUringPolicy();

// Whether files in a directory can be opened with O_DIRECT, and the
// alignment halio's direct I/O would use there (HandleDirectAlignment).
struct DirectIoSupport {
  DirectAlignment alignment;  // from_statx false: st_blksize stood in
  Status open_direct;         // OK, or why open(O_DIRECT) failed there
};

// Creates, probes and removes a scratch file in `directory`. Errors: the
// mapped errno of creating the file, naming the directory.
Result<DirectIoSupport> QueryDirectIoSupport(const std::string& directory);

// CPU time (user + system) this process has used, in seconds.
double ProcessCpuSeconds();

// Drops clean page-cache pages of a file (posix_fadvise DONTNEED), so the
// next buffered read comes from the device. Errors: the mapped errno.
Status DropFileCache(NativeHandle handle, std::string_view what);

// The most memory this process has had resident (peak RSS), in bytes.
uint64_t PeakResidentBytes();

// Whether stderr is a terminal (for progress lines the CLI redraws).
bool StderrIsTerminal();

// The running program's own path (/proc/self/exe on Linux), so tools find
// what was installed beside them. Errors: the mapped errno, or UNIMPLEMENTED
// where the OS has no such query.
Result<std::string> CurrentExecutablePath();

}  // namespace halio::platform

#endif  // HALIO_PLATFORM_SYSTEM_INFO_H_
