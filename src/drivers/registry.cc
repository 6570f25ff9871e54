#include <string>
#include <vector>

#include "halio/drivers.h"

namespace halio {

std::vector<std::string> AvailableDevices() {
  return {"local_sync", "local_async", "local_discrete"};
}

Result<std::unique_ptr<Device>> CreateDevice(std::string_view name,
                                             const DeviceOptions& options) {
  if (name == "local_sync") return CreateLocalSyncDevice(options);
  if (name == "local_async") return CreateLocalAsyncDevice(options);
  if (name == "local_discrete") return CreateLocalDiscreteDevice(options);
  std::string known;
  for (const std::string& device : AvailableDevices()) {
    known += known.empty() ? device : ", " + device;
  }
  return NotFoundError("unknown device '" + std::string(name) + "'; available: " + known);
}

}  // namespace halio
