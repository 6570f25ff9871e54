// `halio probe`: what this machine and build offer for file I/O.
#ifndef HALIO_SRC_TOOLS_PROBE_H_
#define HALIO_SRC_TOOLS_PROBE_H_

#include <ostream>

namespace halio::tools {

struct ProbeOptions {
  bool json = false;
};

// Prints the report to `out`; returns the process exit code.
int RunProbe(const ProbeOptions& options, std::ostream& out);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_PROBE_H_
