#include "bench_fio.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <vector>

#include <simdjson.h>

#include "bench_report.h"
#include "json_writer.h"
#include "shell_quote.h"

namespace halio::tools {
namespace {

// The engine, depth and job count of the fio job equivalent to `config`:
// psync for one-at-a-time devices, io_uring at the same depth for
// local_async on io_uring, and one psync job per worker (each on its share of
// the file) for the queued devices (local_async, local_discrete) on asio or
// sync.
struct FioShape {
  std::string engine = "psync";
  uint32_t depth = 1;
  uint32_t jobs = 1;
  uint64_t share = 0;  // bytes of the file per job
  std::string Describe() const {
    return engine + " iodepth=" + std::to_string(depth) + " numjobs=" + std::to_string(jobs);
  }
};

FioShape ShapeFor(const BenchConfig& config, uint64_t length) {
  FioShape shape;
  const bool queued = config.device != "local_sync";
  if (queued && config.backend == IoBackend::kIoUring) {
    shape.engine = "io_uring";
    shape.depth = config.queue_depth;
  } else if (queued) {
    shape.jobs = std::max(1u, config.workers);
  }
  shape.share = length / shape.jobs / config.block_size * config.block_size;
  if (shape.share == 0) shape.share = length;
  return shape;
}

// What every job shares: the file, block size, engine, direct, buffers.
std::string CommonArguments(const BenchOptions& options, const BenchConfig& config,
                            const std::string& path, const FioShape& shape) {
  std::ostringstream args;
  args << "fio --name=halio --filename=" << ShellQuote(path) << " --bs=" << config.block_size
       << " --ioengine=" << shape.engine << " --iodepth=" << shape.depth
       << " --numjobs=" << shape.jobs << " --size=" << shape.share
       << " --offset_increment=" << shape.share << " --direct=" << (options.direct ? 1 : 0)
       // Hot runs keep the cache fio would otherwise drop; a 4 KiB-aligned
       // buffer avoids the kernel's slow copy to page offset 16 (PERF_NOTES).
       << " --invalidate=" << (options.direct ? 1 : 0) << " --iomem_align=4k"
       << " --group_reporting --output-format=json";
  return args.str();
}

std::string FioArguments(const BenchOptions& options, const BenchConfig& config,
                         const std::string& path, uint64_t length, std::string* job) {
  const FioShape shape = ShapeFor(config, length);
  *job = shape.Describe();
  return CommonArguments(options, config, path, shape) +
         " --rw=" + (options.write ? "write" : "read") +
         (options.write && config.flush ? " --end_fsync=1" : "");
}

// fio's rw= for a --pattern job.
std::string FioRw(const BenchOptions& options) {
  const bool random = options.pattern == "rand";
  const int reads = ReadPercentOf(options);
  if (reads == 100) return random ? "randread" : "read";
  if (reads == 0) return random ? "randwrite" : "write";
  return (random ? "randrw" : "rw") + std::string(" --rwmixread=") + std::to_string(reads);
}

std::string FioIopsArguments(const BenchOptions& options, const BenchConfig& config,
                             const std::string& path, uint64_t length, std::string* job) {
  const FioShape shape = ShapeFor(config, length);
  *job = shape.Describe();
  std::ostringstream args;
  args << CommonArguments(options, config, path, shape) << " --rw=" << FioRw(options)
       << " --randrepeat=1 --randseed=" << options.seed << " --norandommap"
       // halio times a request from its queue call: fio's total latency
       // (submission + completion), not clat alone, is the same span.
       << " --lat_percentiles=1";
  if (options.runtime_seconds > 0) {
    args << " --time_based --runtime=" << FormatFixed(options.runtime_seconds, 3) << "s";
  } else {
    const uint64_t bytes = options.io_bytes ? options.io_bytes : length;
    args << " --io_size=" << std::max<uint64_t>(config.block_size, bytes / shape.jobs);
  }
  return args.str();
}

// fio's output, or nullopt when it failed.
std::optional<std::string> FioOutput(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string output;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  return output;
}

// One fio run's IOPS (reads + writes) and the total latency (lat_ns:
// submission + completion) percentiles of its reads (its writes' for a
// write-only job).
std::optional<FioIops> ParseFioIops(const std::string& output, bool reads) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  // fio may print a warning line before the JSON.
  const size_t begin = output.find('{');
  if (begin == std::string::npos || parser.parse(output.substr(begin)).get(root)) {
    return std::nullopt;
  }
  simdjson::dom::element job;
  if (root["jobs"].at(0).get(job)) return std::nullopt;
  FioIops result;
  for (const char* side : {"read", "write"}) {
    double iops = 0;
    if (!job[side]["iops"].get(iops)) result.iops += iops;
  }
  simdjson::dom::element clat;
  if (job[reads ? "read" : "write"]["lat_ns"].get(clat)) return std::nullopt;
  auto percentile = [&](const char* key) {
    double value = 0;
    return clat["percentile"][key].get(value) ? 0.0 : value;
  };
  result.p50_ns = percentile("50.000000");
  result.p90_ns = percentile("90.000000");
  result.p99_ns = percentile("99.000000");
  result.p999_ns = percentile("99.900000");
  double max = 0;
  if (!clat["max"].get(max)) result.max_ns = max;
  return result;
}

std::optional<double> RunFio(const std::string& command, bool write) {
  std::optional<std::string> output = FioOutput(command);
  if (!output) return std::nullopt;
  std::regex pattern(std::string("\"") + (write ? "write" : "read") +
                     "\"\\s*:\\s*\\{[^}]*?\"bw_bytes\"\\s*:\\s*([0-9]+)");
  std::smatch match;
  if (!std::regex_search(*output, match, pattern)) return std::nullopt;
  return std::stod(match[1].str()) / 1e9;
}

}  // namespace

bool FioInstalled() { return std::system("fio --version >/dev/null 2>&1") == 0; }

std::optional<double> MedianFio(const BenchOptions& options, const BenchConfig& config,
                                const std::string& path, uint64_t length, std::string* job) {
  std::string command = FioArguments(options, config, path, length, job);
  if (!options.direct) RunFio(command, options.write);  // warm up like halio does
  std::vector<double> samples;
  for (int run = 0; run < options.runs; ++run) {
    if (auto gbps = RunFio(command, options.write)) samples.push_back(*gbps);
  }
  if (samples.empty()) return std::nullopt;
  return Median(samples);
}

std::optional<FioIops> FioIopsRun(const BenchOptions& options, const BenchConfig& config,
                                  const std::string& path, uint64_t length) {
  std::string job;
  const std::string command = FioIopsArguments(options, config, path, length, &job);
  const bool reads = ReadPercentOf(options) > 0;
  std::optional<std::string> output = FioOutput(command);
  if (!output) return std::nullopt;
  std::optional<FioIops> parsed = ParseFioIops(*output, reads);
  if (parsed) parsed->job = job;
  return parsed;
}

std::optional<FioIops> MedianFioIops(const std::vector<FioIops>& runs) {
  if (runs.empty()) return std::nullopt;
  auto median = [&](double FioIops::*field) {
    std::vector<double> values;
    for (const FioIops& run : runs) values.push_back(run.*field);
    return Median(values);
  };
  FioIops result;
  result.job = runs.front().job;
  result.iops = median(&FioIops::iops);
  result.p50_ns = median(&FioIops::p50_ns);
  result.p90_ns = median(&FioIops::p90_ns);
  result.p99_ns = median(&FioIops::p99_ns);
  result.p999_ns = median(&FioIops::p999_ns);
  result.max_ns = median(&FioIops::max_ns);
  return result;
}

}  // namespace halio::tools
