// `halio bench`: read (or write) throughput of every backend x device on one
// file, optionally beside fio running the equivalent job. See bench/README.md
// for the output format and how to read the numbers.
#ifndef HALIO_SRC_TOOLS_BENCH_H_
#define HALIO_SRC_TOOLS_BENCH_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "halio/remote_file.h"

namespace halio::tools {

struct BenchOptions {
  std::string file;                 // existing file; empty = scratch file
  uint64_t size = uint64_t{1} << 30;  // scratch file bytes
  std::string directory;            // where the scratch file goes; empty = temp dir
  std::vector<std::string> backends;  // empty = every available one
  std::vector<std::string> devices;   // empty = local_sync and local_async
                                      // (--load: local_async)
  std::vector<uint64_t> block_sizes = {uint64_t{1} << 20};
  std::vector<uint32_t> queue_depths = {8};
  uint32_t workers = 0;             // 0 = one per hardware thread
  bool direct = false;
  bool write = false;
  int runs = 5;
  uint64_t buffer_offset = 0;
  // false: read into a ring of queue_depth block-size buffers, reused, as fio
  // does (the fair comparison); true: into one buffer the size of the file,
  // as a model loader does (local_async then issues a single chunked read).
  bool whole_buffer = false;
  bool json = false;
  std::string plot;                 // PNG path, empty = no plot
  bool vs_fio = false;
  bool progress = true;
  // `--load FILE`: load a parameter file with halio, numpy.fromfile and
  // mmap + memcpy instead of the throughput table.
  std::string load_file;
  // `--staged`: local_discrete's pipeline efficiency (bench/README.md,
  // "Staged transfers"): block_sizes are staging buffer sizes, queue_depths
  // staging buffer counts, and its copy engine runs at this many bytes per
  // second (0: memcpy speed) plus copy_latency_us per copy.
  bool staged = false;
  // `--pattern seq|rand`: instead of the throughput table, a job of
  // block-size requests at the given queue depth, fio style, with each
  // request's latency (bench/README.md, "Random access, IOPS and latency").
  std::string pattern;
  int read_percent = -1;       // --read-percent: reads in a read/write mix; -1: no mix
  double runtime_seconds = 0;  // --runtime: seconds per run; 0: io_bytes
  uint64_t io_bytes = 0;       // --bytes: bytes per run; 0: the file's length
  uint64_t seed = 1;           // --seed: offsets (and the mix) repeat for a seed
  uint64_t copy_bytes_per_second = uint64_t{4} << 30;
  uint32_t copy_latency_us = 0;
  // --file URL: how the remote file is opened (the --remote-* and --s3-*
  // flags). Unless given, each row's block size is the request size and its
  // queue depth the requests in flight.
  RemoteFileOptions remote;
  bool remote_in_flight_given = false;
  bool remote_request_size_given = false;
};

// The share of reads, in %, of what `options` measures: --read-percent, else
// 0 with --write and 100 without.
inline int ReadPercentOf(const BenchOptions& options) {
  return options.read_percent >= 0 ? options.read_percent : (options.write ? 0 : 100);
}
// Whether it writes, so needs the scratch file.
inline bool WritesOf(const BenchOptions& options) { return ReadPercentOf(options) < 100; }

// Runs the benchmark, printing the table (or JSON lines) to `out` and
// progress/errors to `err`. Returns the process exit code.
int RunBench(const BenchOptions& options, std::ostream& out, std::ostream& err);

// `halio bench --load`: see bench/README.md.
int RunLoadBench(const BenchOptions& options, std::ostream& out, std::ostream& err);

// `halio bench --staged`: see bench/README.md, "Staged transfers".
int RunStagedBench(const BenchOptions& options, std::ostream& out, std::ostream& err);

// "4K", "1M", "1G", "1048576" -> bytes; false on junk.
bool ParseByteSize(const std::string& text, uint64_t* bytes);

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_BENCH_H_
