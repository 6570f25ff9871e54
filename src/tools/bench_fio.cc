#include "bench_fio.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <vector>

#include "bench_report.h"
#include "shell_quote.h"

namespace halio::tools {
namespace {

// The fio job equivalent to `config`: the same file, block size and queue
// depth; psync for one-at-a-time devices, io_uring at the same depth for
// local_async on io_uring, and one psync job per worker (each on its share of
// the file) for the queued devices (local_async, local_discrete) on asio or
// sync.
std::string FioArguments(const BenchOptions& options, const BenchConfig& config,
                         const std::string& path, uint64_t length, std::string* job) {
  uint32_t jobs = 1;
  std::string engine = "psync";
  uint32_t depth = 1;
  const bool queued = config.device != "local_sync";
  if (queued && config.backend == IoBackend::kIoUring) {
    engine = "io_uring";
    depth = config.queue_depth;
  } else if (queued) {
    jobs = std::max(1u, config.workers);
  }
  uint64_t share = length / jobs / config.block_size * config.block_size;
  if (share == 0) share = length;
  *job = engine + " iodepth=" + std::to_string(depth) + " numjobs=" + std::to_string(jobs);
  std::ostringstream args;
  args << "fio --name=halio --filename=" << ShellQuote(path)
       << " --rw=" << (options.write ? "write" : "read") << " --bs=" << config.block_size
       << " --ioengine=" << engine << " --iodepth=" << depth << " --numjobs=" << jobs
       << " --size=" << share << " --offset_increment=" << share
       << " --direct=" << (options.direct ? 1 : 0)
       // Hot runs keep the cache fio would otherwise drop; a 4 KiB-aligned
       // buffer avoids the kernel's slow copy to page offset 16 (PERF_NOTES).
       << " --invalidate=" << (options.direct ? 1 : 0) << " --iomem_align=4k"
       << " --group_reporting --output-format=json"
       << (options.write && config.flush ? " --end_fsync=1" : "");
  return args.str();
}

std::optional<double> RunFio(const std::string& command, bool write) {
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string output;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  std::regex pattern(std::string("\"") + (write ? "write" : "read") +
                     "\"\\s*:\\s*\\{[^}]*?\"bw_bytes\"\\s*:\\s*([0-9]+)");
  std::smatch match;
  if (!std::regex_search(output, match, pattern)) return std::nullopt;
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

}  // namespace halio::tools
