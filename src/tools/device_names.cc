#include "device_names.h"

#include <algorithm>
#include <vector>

#include "halio/drivers.h"

namespace halio::tools {

std::string KnownDevicesText() {
  std::string known;
  for (const std::string& device : AvailableDevices()) {
    known += known.empty() ? device : ", " + device;
  }
  return known;
}

Status CheckDeviceName(const std::string& flag, const std::string& name) {
  const std::vector<std::string> known = AvailableDevices();
  if (std::find(known.begin(), known.end(), name) != known.end()) return Status();
  return InvalidArgumentError((flag.empty() ? "" : flag + ": ") + "unknown device '" + name +
                              "'; this halio has " +
                              KnownDevicesText() + " ('halio probe' says what each needs)");
}

}  // namespace halio::tools
