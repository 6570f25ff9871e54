// The remote-file flags of `halio info`, `halio load` and `halio bench
// --file`: each sets one field of RemoteFileOptions (halio/remote_file.h).
// Credentials have no flag: they stay in the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), out of shell history and `ps`.
//
// Ownership: AddRemoteFlags binds the flags to `flags`, which must outlive
// the parse. Thread-safety: none needed (the CLI's main thread).
#ifndef HALIO_SRC_TOOLS_REMOTE_CLI_H_
#define HALIO_SRC_TOOLS_REMOTE_CLI_H_

#include <chrono>
#include <string>

#include "halio/remote_file.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace halio::tools {

struct RemoteFlags {
  // Filled by the parse (AddRemoteFlags' validators refuse bad values, the
  // error naming the flag); fields whose flag is absent keep their defaults.
  RemoteFileOptions options;
  // --remote-in-flight and --remote-request-size, to see whether they were
  // given (bench maps its queue depth and block size onto them otherwise).
  const CLI::Option* in_flight = nullptr;
  const CLI::Option* request_size = nullptr;
  bool in_flight_given() const;
  bool request_size_given() const;
};

// Adds --remote-in-flight, --remote-request-size, --remote-retries,
// --remote-retry-backoff, --remote-deadline, --remote-connect-timeout,
// --remote-ca-file, --s3-region and --s3-endpoint to `command`, in a group
// of their own, each with its default in the help. `bench`: the help says
// that --remote-in-flight and --remote-request-size default to each row's
// queue depth and block size (BenchOptions::remote).
void AddRemoteFlags(CLI::App* command, RemoteFlags* flags, bool bench = false);

// "500ms", "30s", "2m" (a bare number: seconds) -> milliseconds; false on
// junk or zero.
bool ParseDuration(const std::string& text, std::chrono::milliseconds* duration);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_REMOTE_CLI_H_
