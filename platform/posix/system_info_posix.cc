#include <stdlib.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "system_info.h"
#include "errno_status.h"

namespace halio::platform {
namespace {

// The first word of a one-line /proc file, or nullopt when it is absent.
std::optional<std::string> ReadProcValue(const char* path) {
  std::ifstream in(path);
  std::string value;
  if (in >> value) return value;
  return std::nullopt;
}

// The number after `key` (e.g. "Seccomp:") in /proc/self/status.
std::optional<int> ReadStatusField(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    try {
      return std::stoi(line.substr(key.size()));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> LimitValue(rlim_t limit) {
  if (limit == RLIM_INFINITY) return std::nullopt;
  return static_cast<uint64_t>(limit);
}

}  // namespace

SystemInfo QuerySystemInfo() {
  SystemInfo info;
  struct utsname names;
  if (::uname(&names) == 0) {
    info.os = names.sysname;
    info.kernel_release = names.release;
    info.machine = names.machine;
  } else {
    info.os = "unknown";
  }
  info.hardware_threads = std::thread::hardware_concurrency();
  return info;
}

IoUringPolicy QueryIoUringPolicy() {
  IoUringPolicy policy;
  policy.io_uring_disabled = ReadProcValue("/proc/sys/kernel/io_uring_disabled");
  policy.seccomp_mode = ReadStatusField("Seccomp:");
  policy.seccomp_filters = ReadStatusField("Seccomp_filters:");
  struct rlimit memlock {};
  if (::getrlimit(RLIMIT_MEMLOCK, &memlock) == 0) {
    policy.memlock_soft = LimitValue(memlock.rlim_cur);
    policy.memlock_hard = LimitValue(memlock.rlim_max);
  }
  return policy;
}

Result<DirectIoSupport> QueryDirectIoSupport(const std::string& directory) {
  std::string path = directory + "/.halio_probe_XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return ErrnoToStatus(errno, "creating a scratch file in " + directory);
  // Alignment is a property of the filesystem, so any file there will do.
  Result<DirectAlignment> alignment = HandleDirectAlignment(fd, path);
  OpenFlags flags;
  flags.read = true;
  flags.direct = true;
  Result<NativeHandle> direct = OpenPath(path, flags);
  if (direct.ok()) CloseHandle(*direct);
  ::unlink(path.c_str());
  ::close(fd);
  HALIO_RETURN_IF_ERROR(alignment.status());
  return DirectIoSupport{*alignment, direct.status()};
}

double ProcessCpuSeconds() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Status DropFileCache(NativeHandle handle, std::string_view what) {
  // Dirty pages are not dropped: flush them first so the whole file goes.
  if (::fdatasync(handle) != 0) return ErrnoToStatus(errno, "fdatasync " + std::string(what));
  int rc = ::posix_fadvise(handle, 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) return ErrnoToStatus(rc, "posix_fadvise(DONTNEED) " + std::string(what));
  return Status();
}

uint64_t PeakResidentBytes() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

bool StderrIsTerminal() { return ::isatty(2) == 1; }

Result<std::string> CurrentExecutablePath() {
#if defined(__linux__)
  std::string path(4096, '\0');
  const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size());
  if (length < 0) return ErrnoToStatus(errno, "readlink /proc/self/exe");
  if (static_cast<size_t>(length) == path.size()) {
    return OutOfRangeError("the path of the running program is longer than 4096 bytes");
  }
  path.resize(static_cast<size_t>(length));
  return path;
#else
  return UnimplementedError("finding the running program's path is not implemented on this OS");
#endif
}

}  // namespace halio::platform
