#include "src/tools/probe.h"

#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio_config.h"
#include "platform/fd_io.h"
#include "platform/system_info.h"

namespace halio::tools {
namespace {

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int RunProbe(const ProbeOptions& options, std::ostream& out) {
  platform::SystemInfo info = platform::QuerySystemInfo();
  const bool have_uring = HALIO_HAVE_URING;
  const bool have_asio = HALIO_HAVE_ASIO;
  const std::string file_io = "synchronous";
  const std::string file_io_reason =
      "async backends are not implemented yet; files use chunked pread/pwrite";
  std::string devices;
  for (const std::string& device : AvailableDevices()) {
    devices += devices.empty() ? device : "," + device;
  }
  if (options.json) {
    out << "{\"halio_version\":" << JsonString(HALIO_VERSION)
        << ",\"os\":" << JsonString(info.os)
        << ",\"kernel\":" << JsonString(info.kernel_release)
        << ",\"machine\":" << JsonString(info.machine)
        << ",\"hardware_threads\":" << info.hardware_threads
        << ",\"liburing_found\":" << (have_uring ? "true" : "false")
        << ",\"liburing_version\":" << JsonString(HALIO_URING_VERSION)
        << ",\"asio_found\":" << (have_asio ? "true" : "false")
        << ",\"max_io_bytes_per_call\":" << platform::kMaxIoBytesPerCall
        << ",\"devices\":" << JsonString(devices)
        << ",\"file_io\":" << JsonString(file_io)
        << ",\"file_io_reason\":" << JsonString(file_io_reason) << "}\n";
    return 0;
  }
  out << "halio " << HALIO_VERSION << "\n"
      << "os:                 " << info.os << " " << info.kernel_release << " ("
      << info.machine << ", " << info.hardware_threads << " hardware threads)\n"
      << "io_uring:           "
      << (have_uring ? std::string("liburing ") + HALIO_URING_VERSION +
                           " found at build time; no io_uring backend yet"
                     : std::string("liburing not found at build time (install liburing-dev "
                                   "and rebuild)"))
      << "\n"
      << "asio:               "
      << (have_asio ? "found at build time; no asio backend yet"
                    : "not found at build time (install libasio-dev and rebuild)")
      << "\n"
      << "max bytes per call: " << platform::kMaxIoBytesPerCall << "\n"
      << "devices:            " << devices << "\n"
      << "file I/O:           " << file_io << " (" << file_io_reason << ")\n";
  return 0;
}

}  // namespace halio::tools
