// Device names on the command line: every name AvailableDevices() lists is
// accepted by `halio load --device` and `halio bench --device`; anything
// else is refused with the list of known names.
#ifndef HALIO_SRC_TOOLS_DEVICE_NAMES_H_
#define HALIO_SRC_TOOLS_DEVICE_NAMES_H_

#include <string>

#include "halio/status.h"

namespace halio::tools {

// "local_sync, local_async, local_discrete" (plus cuda where built with it).
std::string KnownDevicesText();

// OK for a name CreateDevice accepts; INVALID_ARGUMENT otherwise, with a
// message naming `flag` (unless empty: CLI11 names it), the bad name and
// the known ones.
Status CheckDeviceName(const std::string& flag, const std::string& name);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_DEVICE_NAMES_H_
