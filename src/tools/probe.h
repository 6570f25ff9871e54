// `halio probe`: what this machine and build offer for file I/O, and why
// `auto` picks the backend it picks.
#ifndef HALIO_SRC_TOOLS_PROBE_H_
#define HALIO_SRC_TOOLS_PROBE_H_

#include <ostream>
#include <string>

namespace halio::tools {

struct ProbeOptions {
  bool json = false;
  // Directory whose direct-I/O support is reported; empty means the temp
  // directory. Must exist (the CLI checks).
  std::string path;
};

// Prints the report to `out`; returns the process exit code.
int RunProbe(const ProbeOptions& options, std::ostream& out);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_PROBE_H_
