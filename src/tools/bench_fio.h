// `halio bench --vs-fio`: fio running the job equivalent to a configuration,
// for the halio/fio column. fio runs as a child process (popen); its JSON
// output is searched for the bandwidth only.
//
// Thread-safety: stateless functions; each run blocks until fio exits.
#ifndef HALIO_SRC_TOOLS_BENCH_FIO_H_
#define HALIO_SRC_TOOLS_BENCH_FIO_H_

#include <cstdint>
#include <optional>
#include <string>

#include "bench.h"
#include "bench_iops.h"
#include "bench_runner.h"

namespace halio::tools {

// Whether `fio --version` runs.
bool FioInstalled();

// The median GB/s of options.runs fio runs of the job equivalent to `config`
// on `path` (`length` bytes), after a warm-up run unless options.direct; sets
// `*job` to the job's short description ("psync iodepth=1 numjobs=1").
// nullopt when no run succeeded.
std::optional<double> MedianFio(const BenchOptions& options, const BenchConfig& config,
                                const std::string& path, uint64_t length, std::string* job);

// One run of fio's --pattern job equivalent to `config`: the same rw
// pattern and mix, block size, depth, engine (as MedianFio picks it),
// direct, runtime or byte count, seed (--randrepeat=1 --randseed) and
// --iomem_align=4k; its IOPS and total-latency (submission + completion)
// percentiles, the reads' for a mix. nullopt when fio failed.
std::optional<FioIops> FioIopsRun(const BenchOptions& options, const BenchConfig& config,
                                  const std::string& path, uint64_t length);

// The medians of `runs`, field by field; nullopt when there are none.
std::optional<FioIops> MedianFioIops(const std::vector<FioIops>& runs);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_BENCH_FIO_H_
