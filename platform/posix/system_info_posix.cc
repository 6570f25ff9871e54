#include <sys/utsname.h>

#include <thread>

#include "platform/system_info.h"

namespace halio::platform {

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

}  // namespace halio::platform
