#include "remote_cli.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>

#include "bench.h"

namespace halio::tools {
namespace {

constexpr const char* kGroup = "Remote files (http://, https://, s3://)";

std::string DurationText(std::chrono::milliseconds duration) {
  const int64_t ms = duration.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::string SizeText(uint64_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + "M";
  if (bytes % (1 << 10) == 0) return std::to_string(bytes >> 10) + "K";
  return std::to_string(bytes);
}

// A flag whose text becomes `*target` through `parse`; CLI11 refuses the
// text (naming the flag) when `parse` does, with `expected` as the fix.
template <typename T, typename Parse>
CLI::Option* AddParsed(CLI::App* command, const std::string& name, T* target, Parse parse,
                       const std::string& kind, const std::string& shown,
                       const std::string& expected, const std::string& help) {
  auto check = [parse, expected](const std::string& text) {
    T ignored;
    return parse(text, &ignored) ? std::string() : "'" + text + "' is not " + expected;
  };
  return command
      ->add_option_function<std::string>(
          name, [target, parse](const std::string& text) { parse(text, target); }, help)
      ->check(CLI::Validator(check, kind))
      ->default_str(shown)
      ->group(kGroup);
}

}  // namespace

bool ParseDuration(const std::string& text, std::chrono::milliseconds* duration) {
  size_t used = 0;
  double value;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    return false;
  }
  const std::string unit = text.substr(used);
  double scale;
  if (unit == "ms") scale = 1;
  else if (unit == "s" || unit.empty()) scale = 1000;
  else if (unit == "m" || unit == "min") scale = 60000;
  else return false;
  const double ms = value * scale;
  if (!(ms >= 1) || ms > double(std::numeric_limits<int32_t>::max())) return false;
  *duration = std::chrono::milliseconds(static_cast<int64_t>(ms));
  return true;
}

bool RemoteFlags::in_flight_given() const { return in_flight != nullptr && in_flight->count() > 0; }
bool RemoteFlags::request_size_given() const {
  return request_size != nullptr && request_size->count() > 0;
}

void AddRemoteFlags(CLI::App* command, RemoteFlags* flags, bool bench) {
  RemoteFileOptions& options = flags->options;
  const RemoteFileOptions defaults;
  flags->in_flight =
      command
          ->add_option("--remote-in-flight", options.max_in_flight,
                       std::string("Range requests in flight at once per remote file") +
                           (bench ? " (default: each row's --queue-depth)" : ""))
          ->check(CLI::Range(1u, 1024u))
          ->default_str(bench ? "" : std::to_string(defaults.max_in_flight))
          ->group(kGroup);
  auto parse_size = [](const std::string& text, uint64_t* bytes) {
    return ParseByteSize(text, bytes) && *bytes > 0;
  };
  flags->request_size = AddParsed(
      command, "--remote-request-size", &options.request_bytes, parse_size, "SIZE",
      bench ? "" : SizeText(defaults.request_bytes), "a positive size (use e.g. 4M, 16M, 64M)",
      std::string("Bytes one range GET asks for; reads are cut at multiples of it") +
          (bench ? " (default: each row's --block-size)" : ""));
  command
      ->add_option("--remote-retries", options.max_retries,
                   "Retries of a request after 429/5xx, a reset or a truncated body")
      ->check(CLI::Range(0u, 100u))
      ->capture_default_str()
      ->group(kGroup);
  const std::string durations = "a positive duration (use e.g. 500ms, 30s, 2m)";
  AddParsed(command, "--remote-retry-backoff", &options.retry_backoff, ParseDuration, "DURATION",
            DurationText(defaults.retry_backoff), durations,
            "Wait before the first retry, doubled for each further one");
  AddParsed(command, "--remote-deadline", &options.deadline, ParseDuration, "DURATION",
            DurationText(defaults.deadline), durations,
            "Time one request may take, its retries included (then DEADLINE_EXCEEDED)");
  AddParsed(command, "--remote-connect-timeout", &options.connect_timeout, ParseDuration, "DURATION",
            DurationText(defaults.connect_timeout), durations,
            "Time to establish one connection (TCP and TLS)");
  command
      ->add_option("--remote-ca-file", options.ca_file,
                   "PEM certificate authorities to verify https servers against (default: "
                   "the system's)")
      ->check(CLI::ExistingFile)
      ->group(kGroup);
  command
      ->add_option("--s3-region", options.s3_region,
                   "s3://: the signing region (default: AWS_REGION, then AWS_DEFAULT_REGION, "
                   "then us-east-1); credentials come only from the environment")
      ->group(kGroup);
  command
      ->add_option("--s3-endpoint", options.s3_endpoint,
                   "s3://: the endpoint URL, path-style addressing (default: "
                   "AWS_ENDPOINT_URL, else AWS)")
      ->check(CLI::Validator(
          [](const std::string& text) {
            const bool http = text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0;
            return http ? std::string()
                        : "'" + text + "' is not an endpoint URL (use e.g. http://127.0.0.1:9000)";
          },
          "URL"))
      ->group(kGroup);
}

}  // namespace halio::tools
