// `halio info` and `halio load`: what a parameter file holds, and loading it
// into device buffers with throughput, peak memory and optional checksums.
#ifndef HALIO_SRC_TOOLS_PARAMS_CLI_H_
#define HALIO_SRC_TOOLS_PARAMS_CLI_H_

#include <ostream>
#include <string>
#include <vector>

#include "halio/remote_file.h"

namespace halio::tools {

struct InfoOptions {
  std::string path;
  bool json = false;
  RemoteFileOptions remote;  // for a URL (and a sharded index's shards)
};

struct LoadCliOptions {
  std::vector<std::string> paths;
  std::string device = "local_async";
  std::string backend = "auto";
  bool direct = false;
  bool map = false;
  std::vector<std::string> select;
  bool json = false;
  bool checksums = false;
  bool progress = true;
  RemoteFileOptions remote;  // for URLs (the index and the files it names)
};

// Each returns the process exit code, printing results to `out` and
// progress and errors (one line, "halio: ...") to `err`.
int RunInfo(const InfoOptions& options, std::ostream& out, std::ostream& err);
int RunLoad(const LoadCliOptions& options, std::ostream& out, std::ostream& err);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_PARAMS_CLI_H_
