#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio_config.h"
#if HALIO_HAVE_CUDA
#include "cuda/cuda_memory.h"
#endif

namespace halio {

#if !HALIO_HAVE_CUDA
// The name exists on every build, so a program asking for "cuda" learns why
// it cannot have it rather than that it is unknown.
Result<std::unique_ptr<Device>> CreateCudaDevice(const DeviceOptions& /*options*/) {
  return UnavailableError(
      "the cuda device is not built: halio was built without CUDA (reconfigure with "
      "-Dcuda=enabled where the CUDA toolkit is installed: CUDA_PATH, /usr/local/cuda or "
      "Debian's nvidia-cuda-toolkit)");
}
#endif

namespace {

// Built and usable, not just built: callers (the test matrix, the loader's
// tests, halio bench) expect every name listed to be creatable. Asked once:
// a machine does not gain or lose its driver while a process runs.
bool CudaUsable() {
#if HALIO_HAVE_CUDA
  static const bool usable = cuda::CheckGpuUsable(0).ok();
  return usable;
#else
  return false;
#endif
}

}  // namespace

std::vector<std::string> AvailableDevices() {
  std::vector<std::string> devices = {"local_sync", "local_async", "local_discrete"};
  if (CudaUsable()) devices.push_back("cuda");
  return devices;
}

Result<std::unique_ptr<Device>> CreateDevice(std::string_view name,
                                             const DeviceOptions& options) {
  if (name == "local_sync") return CreateLocalSyncDevice(options);
  if (name == "local_async") return CreateLocalAsyncDevice(options);
  if (name == "local_discrete") return CreateLocalDiscreteDevice(options);
  if (name == "cuda") return CreateCudaDevice(options);
  std::string known;
  for (const std::string& device : AvailableDevices()) {
    known += known.empty() ? device : ", " + device;
  }
  return NotFoundError("unknown device '" + std::string(name) + "'; available: " + known);
}

}  // namespace halio
