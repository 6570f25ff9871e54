#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio_config.h"

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

std::vector<std::string> AvailableDevices() {
  std::vector<std::string> devices = {"local_sync", "local_async"};
  if (HALIO_HAVE_CUDA) devices.push_back("cuda");
  return devices;
}

Result<std::unique_ptr<Device>> CreateDevice(std::string_view name,
                                             const DeviceOptions& options) {
  if (name == "local_sync") return CreateLocalSyncDevice(options);
  if (name == "local_async") return CreateLocalAsyncDevice(options);
  if (name == "cuda") return CreateCudaDevice(options);
  std::string known;
  for (const std::string& device : AvailableDevices()) {
    known += known.empty() ? device : ", " + device;
  }
  return NotFoundError("unknown device '" + std::string(name) + "'; available: " + known);
}

}  // namespace halio
