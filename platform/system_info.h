// What the OS says about itself, for `halio probe`.
#ifndef HALIO_PLATFORM_SYSTEM_INFO_H_
#define HALIO_PLATFORM_SYSTEM_INFO_H_

#include <string>

namespace halio::platform {

struct SystemInfo {
  std::string os;              // "Linux"
  std::string kernel_release;  // "6.1.0-18-amd64"
  std::string machine;         // "x86_64"
  unsigned hardware_threads = 0;
};

SystemInfo QuerySystemInfo();

}  // namespace halio::platform

#endif  // HALIO_PLATFORM_SYSTEM_INFO_H_
