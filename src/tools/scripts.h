// Finding the Python scripts the CLI runs (bench --plot, the numpy reference
// of bench --load) without the source tree: next to the binary in a build
// tree, under <bindir>/../share/halio once installed.
#ifndef HALIO_SRC_TOOLS_SCRIPTS_H_
#define HALIO_SRC_TOOLS_SCRIPTS_H_

#include <string>

#include "halio/status.h"

namespace halio::tools {

// The path of script `name` (e.g. "plot_throughput.py"). Errors: NOT_FOUND
// naming every place looked at; the errors of finding the running binary.
Result<std::string> FindHalioScript(const std::string& name);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_SCRIPTS_H_
