// Measures the kernel's page-cache copy penalty for destinations 16 bytes
// past the source's page offset (see SlowKernelCopyRatio in fd_io.h).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>

#include "fd_io.h"

namespace halio::platform {
namespace {

constexpr size_t kBytes = 4 << 20;  // beyond L2, inside L3: like a chunk in flight

// Best of a few hot preads of kBytes into `dst`, in GB/s.
double BestThroughput(int fd, std::byte* dst) {
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (::pread(fd, dst, kBytes, 0) != static_cast<ssize_t>(kBytes)) return 0;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, kBytes / seconds / 1e9);
  }
  return best;
}

double Measure() {
  int fd = ::memfd_create("halio_copy_ratio", MFD_CLOEXEC);
  if (fd < 0) return 1.0;
  double ratio = 1.0;
  auto* buffer = static_cast<std::byte*>(
      ::operator new(kBytes + 4096, std::align_val_t(4096), std::nothrow));
  if (buffer != nullptr && ::ftruncate(fd, kBytes) == 0) {
    std::memset(buffer, 0x5a, kBytes + 4096);
    if (::pwrite(fd, buffer, kBytes, 0) == static_cast<ssize_t>(kBytes)) {
      double aligned = BestThroughput(fd, buffer);
      double misaligned = BestThroughput(fd, buffer + 16);
      if (aligned > 0 && misaligned > 0) ratio = misaligned / aligned;
    }
  }
  ::operator delete(buffer, std::align_val_t(4096));
  ::close(fd);
  return ratio;
}

}  // namespace

double SlowKernelCopyRatio() {
  static const double ratio = Measure();
  return ratio;
}

}  // namespace halio::platform
