// `halio bench --pattern seq|rand`: fio-style jobs of block-size requests at
// a queue depth, sequential or random (block-aligned offsets from a seeded
// generator), reads, writes or a mix, for a byte count or a runtime, with
// each request's latency from its queue call to the moment the submitting
// thread sees its semaphore signalled (as fio's total latency: from before
// submission to when it reaps the completion). Reported as IOPS, GB/s and latency
// percentiles, beside fio's equivalent job with --vs-fio.
//
// Ownership: the runner owns the device, file, buffer and semaphores of the
// configuration it runs. Thread-safety: one thread.
#ifndef HALIO_SRC_TOOLS_BENCH_IOPS_H_
#define HALIO_SRC_TOOLS_BENCH_IOPS_H_

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench.h"
#include "bench_runner.h"
#include "latency_histogram.h"

namespace halio::tools {

// fio's figures for the job equivalent to a row (medians over the runs).
struct FioIops {
  std::string job;
  double iops = 0;
  double p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
};

struct IopsRow {
  BenchConfig config;
  std::vector<double> iops;  // one per run
  std::vector<double> gbps;
  std::vector<double> cpu_percent;
  std::unique_ptr<LatencyHistogram> latency = std::make_unique<LatencyHistogram>();  // all runs
  uint64_t requests_hash = 0;  // of the first run's (offset, read/write) sequence
  std::optional<FioIops> fio;
  std::string error;
};

// Checks the --pattern options (ranges and combinations). Errors:
// INVALID_ARGUMENT naming the flag.
Status CheckIopsOptions(const BenchOptions& options);

// Measures every configuration on `file` and prints the table (or JSON
// lines, and the --plot PNG). Returns the process exit code.
int RunIopsBench(const BenchOptions& options, const std::vector<BenchConfig>& configs,
                 const BenchFile& file, std::ostream& out, std::ostream& err);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_BENCH_IOPS_H_
