#include "bench_iops.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iomanip>
#include <sstream>

#include "halio/drivers.h"
#include "bench_fio.h"
#include "bench_report.h"
#include "fd_io.h"
#include "json_writer.h"
#include "system_info.h"

namespace halio::tools {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMinBlock = 4 << 10;
constexpr uint64_t kMaxBlock = 16 << 20;
constexpr uint32_t kMaxDepth = 256;

// splitmix64: small, fast and fully determined by the seed, so a seed names
// one sequence of offsets on every machine.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  // In [0, bound); the modulo's bias (bound / 2^64) is far below what a
  // benchmark can see.
  uint64_t Below(uint64_t bound) { return Next() % bound; }

 private:
  uint64_t state_;
};

// The requests of one run, in the order they are queued.
class RequestStream {
 public:
  RequestStream(const BenchOptions& options, uint64_t blocks, uint64_t block_size)
      : random_(options.pattern == "rand"),
        read_percent_(ReadPercentOf(options)),
        blocks_(blocks),
        block_size_(block_size),
        offsets_(options.seed),
        mix_(options.seed ^ 0x6a09e667f3bcc909) {}
  struct Request {
    uint64_t offset;
    bool write;
  };
  Request Next() {
    const uint64_t block = random_ ? offsets_.Below(blocks_) : next_block_++ % blocks_;
    const bool write = read_percent_ == 0 ||
                       (read_percent_ < 100 && mix_.Below(100) >= uint64_t(read_percent_));
    const Request request{block * block_size_, write};
    const uint64_t record[2] = {request.offset, request.write};
    hash_ = XXH64(record, sizeof(record), hash_);  // chained: the order counts
    return request;
  }
  uint64_t hash() const { return hash_; }

 private:
  const bool random_;
  const int read_percent_;
  const uint64_t blocks_;
  const uint64_t block_size_;
  Random offsets_;
  Random mix_;
  uint64_t next_block_ = 0;
  uint64_t hash_ = 0;
};

// One configuration: the device, file and a ring of queue_depth slots, each
// a block-size piece of the buffer with its own semaphore.
class IopsRunner {
 public:
  IopsRunner(const BenchOptions& options, const BenchFile& file) : options_(options), file_(file) {}
  // options.runs runs of `config`, calling `after_run` after each (fio's run
  // of the same job, so the two alternate: A B A B).
  Status Run(const BenchConfig& config, IopsRow* row, const std::function<void()>& after_run);

 private:
  struct Slot {
    SemaphoreRef semaphore;
    uint64_t value = 0;
    Clock::time_point queued;
    bool busy = false;
  };
  Status Prepare(const BenchConfig& config);
  Status OneRun(const BenchConfig& config, IopsRow* row, bool first);
  Status Queue(const BenchConfig& config, Slot& slot, uint32_t index,
               const RequestStream::Request& request);
  // Frees every slot whose request completed, recording its latency;
  // returns how many. Errors: the failure of a request.
  Result<uint32_t> Reap(LatencyHistogram* latency);
  Status WaitForAny();
  Status WarmPageCache() const;

  const BenchOptions& options_;
  const BenchFile& file_;
  std::unique_ptr<Device> device_;
  FileRef fd_file_;
  BufferRef buffer_;
  std::vector<Slot> slots_;
  std::vector<SemaphorePoint> busy_points_;  // reused: no allocation per wait
};

Status IopsRunner::Prepare(const BenchConfig& config) {
  HALIO_ASSIGN_OR_RETURN(device_, CreateBenchDevice(config));
  FdFileOptions file_options;
  file_options.backend = config.backend;
  HALIO_ASSIGN_OR_RETURN(fd_file_,
                         FdFile::Open(file_.path, BenchOpenMode(options_), file_options));
  const uint32_t slots = config.queue_depth;
  HALIO_ASSIGN_OR_RETURN(
      buffer_, device_->allocator().Allocate({.type = MemoryType::kDeviceLocal},
                                             config.block_size * slots + options_.buffer_offset));
  slots_.clear();
  slots_.resize(slots);
  for (Slot& slot : slots_) {
    HALIO_ASSIGN_OR_RETURN(slot.semaphore, Semaphore::Create(0));
  }
  busy_points_.reserve(slots);
  return Status();
}

Status IopsRunner::WarmPageCache() const {
  std::ifstream in(file_.path, std::ios::binary);
  std::vector<char> chunk(8 << 20);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
  }
  if (in.bad()) return UnknownError("warming the page cache: cannot read " + file_.path);
  return Status();
}

Status IopsRunner::Run(const BenchConfig& config, IopsRow* row,
                       const std::function<void()>& after_run) {
  HALIO_RETURN_IF_ERROR(Prepare(config));
  if (!options_.direct) HALIO_RETURN_IF_ERROR(WarmPageCache());
  for (int run = 0; run < options_.runs; ++run) {
    HALIO_RETURN_IF_ERROR(OneRun(config, row, run == 0));
    if (after_run) after_run();
  }
  fd_file_.reset();
  buffer_.reset();
  device_.reset();
  return Status();
}

Status IopsRunner::Queue(const BenchConfig& config, Slot& slot, uint32_t index,
                         const RequestStream::Request& request) {
  SemaphorePoint signal[] = {{slot.semaphore.get(), ++slot.value}};
  const uint64_t buffer_offset = options_.buffer_offset + index * config.block_size;
  slot.busy = true;
  slot.queued = Clock::now();
  return request.write ? device_->QueueWrite({}, signal, buffer_, buffer_offset, fd_file_,
                                             request.offset, config.block_size)
                       : device_->QueueRead({}, signal, fd_file_, request.offset, buffer_,
                                            buffer_offset, config.block_size);
}

Result<uint32_t> IopsRunner::Reap(LatencyHistogram* latency) {
  uint32_t reaped = 0;
  Clock::time_point now{};
  for (Slot& slot : slots_) {
    if (!slot.busy) continue;
    HALIO_ASSIGN_OR_RETURN(uint64_t value, slot.semaphore->Query());
    if (value < slot.value) continue;
    if (reaped == 0) now = Clock::now();  // one clock read per reap, as fio's
    slot.busy = false;
    latency->Record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - slot.queued).count()));
    ++reaped;
  }
  return reaped;
}

Status IopsRunner::WaitForAny() {
  busy_points_.clear();
  for (Slot& slot : slots_) {
    if (slot.busy) busy_points_.push_back({slot.semaphore.get(), slot.value});
  }
  return WaitSemaphores(busy_points_, WaitMode::kAny);
}

Status IopsRunner::OneRun(const BenchConfig& config, IopsRow* row, bool first) {
  if (options_.direct) {
    HALIO_RETURN_IF_ERROR(
        platform::DropFileCache(static_cast<FdFile*>(fd_file_.get())->fd(), file_.path));
  }
  const uint64_t blocks = file_.length / config.block_size;
  RequestStream stream(options_, blocks, config.block_size);
  const uint64_t budget = options_.io_bytes ? options_.io_bytes : blocks * config.block_size;
  const uint64_t budget_requests = std::max<uint64_t>(1, budget / config.block_size);
  LatencyHistogram latency;
  uint64_t queued = 0, completed = 0;
  const double cpu_before = platform::ProcessCpuSeconds();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options_.runtime_seconds));
  auto more = [&] {
    return options_.runtime_seconds > 0 ? Clock::now() < deadline : queued < budget_requests;
  };
  while (true) {
    for (uint32_t i = 0; i < slots_.size() && more(); ++i) {
      if (slots_[i].busy) continue;
      HALIO_RETURN_IF_ERROR(Queue(config, slots_[i], i, stream.Next()));
      ++queued;
    }
    HALIO_ASSIGN_OR_RETURN(uint32_t reaped, Reap(&latency));
    completed += reaped;
    if (completed == queued && !more()) break;
    if (reaped == 0) HALIO_RETURN_IF_ERROR(WaitForAny());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = platform::ProcessCpuSeconds() - cpu_before;
  row->iops.push_back(static_cast<double>(completed) / seconds);
  row->gbps.push_back(static_cast<double>(completed * config.block_size) / seconds / 1e9);
  row->cpu_percent.push_back(100.0 * cpu / seconds);
  row->latency->Merge(latency);
  if (first) row->requests_hash = stream.hash();
  return Status();
}

std::string Operation(const BenchOptions& options) {
  const int reads = ReadPercentOf(options);
  return reads == 100 ? "read" : reads == 0 ? "write" : "mix";
}

double Microseconds(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

std::string JsonIopsLine(const BenchOptions& options, const IopsRow& r) {
  JsonObject json;
  json.String("backend", IoBackendName(r.config.backend))
      .String("device", r.config.device)
      .String("operation", Operation(options))
      .String("pattern", options.pattern)
      .Number("read_percent", static_cast<uint64_t>(ReadPercentOf(options)))
      .Bool("direct", options.direct)
      .Number("block_size", r.config.block_size)
      .Number("queue_depth", r.config.queue_depth)
      .Number("workers", r.config.workers)
      .Number("buffer_offset", options.buffer_offset)
      .Number("seed", options.seed)
      .Double("runtime_s", options.runtime_seconds)
      .Number("bytes_per_run", options.io_bytes)
      .Number("runs", r.iops.size());
  if (!r.iops.empty()) {
    const LatencyHistogram& h = *r.latency;
    json.Double("iops_median", Median(r.iops))
        .Double("iops_min", *std::min_element(r.iops.begin(), r.iops.end()))
        .Double("iops_max", *std::max_element(r.iops.begin(), r.iops.end()))
        .Double("gbps_median", Median(r.gbps))
        .Double("cpu_percent", Median(r.cpu_percent))
        .Number("requests", h.count())
        .Number("lat_ns_p50", h.Percentile(50))
        .Number("lat_ns_p90", h.Percentile(90))
        .Number("lat_ns_p99", h.Percentile(99))
        .Number("lat_ns_p999", h.Percentile(99.9))
        .Number("lat_ns_max", h.max())
        .String("requests_hash", [&] {
          std::ostringstream hex;
          hex << std::hex << std::setw(16) << std::setfill('0') << r.requests_hash;
          return hex.str();
        }());
  }
  if (r.fio) {
    json.String("fio_job", r.fio->job)
        .Double("fio_iops", r.fio->iops)
        .Double("fio_lat_ns_p50", r.fio->p50_ns)
        .Double("fio_lat_ns_p99", r.fio->p99_ns)
        .Double("fio_lat_ns_p999", r.fio->p999_ns)
        .Double("ratio_iops_vs_fio", r.iops.empty() ? 0 : Median(r.iops) / r.fio->iops)
        .Double("ratio_p99_vs_fio",
                r.fio->p99_ns > 0 ? static_cast<double>(r.latency->Percentile(99)) / r.fio->p99_ns
                                  : 0);
  }
  if (!r.error.empty()) json.String("error", r.error);
  return json.Close();
}

void PrintIopsTable(const BenchOptions& options, const std::vector<IopsRow>& rows,
                    std::ostream& out) {
  out << std::left << std::setw(9) << "backend" << std::setw(15) << "device" << std::setw(9)
      << "block" << std::setw(5) << "qd" << std::setw(27) << "IOPS median (min-max)"
      << std::setw(7) << "GB/s" << std::setw(44)
      << "latency us: p50 / p90 / p99 / p99.9 / max" << std::setw(6) << "CPU%";
  if (options.vs_fio) out << std::setw(11) << "fio IOPS" << std::setw(7) << "ratio"
                          << std::setw(11) << "fio p99 us" << std::setw(10) << "p99 ratio"
                          << "fio job";
  out << "\n";
  for (const IopsRow& r : rows) {
    out << std::left << std::setw(9) << IoBackendName(r.config.backend) << std::setw(15)
        << r.config.device << std::setw(9) << HumanBytes(r.config.block_size) << std::setw(5)
        << r.config.queue_depth;
    if (!r.error.empty()) {
      out << "error: " << r.error << "\n";
      continue;
    }
    const LatencyHistogram& h = *r.latency;
    std::ostringstream iops, latency;
    iops << std::fixed << std::setprecision(0) << Median(r.iops) << " ("
         << *std::min_element(r.iops.begin(), r.iops.end()) << "-"
         << *std::max_element(r.iops.begin(), r.iops.end()) << ")";
    latency << std::fixed << std::setprecision(1) << Microseconds(h.Percentile(50)) << " / "
            << Microseconds(h.Percentile(90)) << " / " << Microseconds(h.Percentile(99))
            << " / " << Microseconds(h.Percentile(99.9)) << " / " << Microseconds(h.max());
    out << std::setw(27) << iops.str() << std::setw(7) << std::fixed << std::setprecision(2)
        << Median(r.gbps) << std::setw(44) << latency.str() << std::setw(6)
        << std::setprecision(0) << Median(r.cpu_percent);
    if (options.vs_fio && r.fio) {
      out << std::setw(11) << std::setprecision(0) << r.fio->iops << std::setw(7)
          << std::setprecision(2) << Median(r.iops) / r.fio->iops << std::setw(11)
          << std::setprecision(1) << r.fio->p99_ns / 1e3 << std::setw(10) << std::setprecision(2)
          << (r.fio->p99_ns > 0 ? static_cast<double>(h.Percentile(99)) / r.fio->p99_ns : 0)
          << r.fio->job;
    } else if (options.vs_fio) {
      out << "fio failed";
    }
    out << "\n";
  }
}

void PrintIopsHeading(const BenchOptions& options, const BenchFile& file, std::ostream& out) {
  out << options.pattern << " " << Operation(options);
  if (Operation(options) == "mix") out << " (" << options.read_percent << "% reads)";
  out << " of " << HumanBytes(file.length) << " "
      << (options.file.empty() ? "scratch file" : file.path)
      << (options.direct ? " (O_DIRECT)" : " (page cache, hot)") << ", seed " << options.seed
      << ", ";
  if (options.runtime_seconds > 0) {
    out << options.runtime_seconds << " s";
  } else {
    out << HumanBytes(options.io_bytes ? options.io_bytes : file.length);
  }
  out << " per run, " << options.runs << " runs; latency from queue call to completion seen\n";
}

// The latency CDF of every row as JSON lines, then plot_latency.py.
Status PlotLatency(const BenchOptions& options, const std::vector<IopsRow>& rows) {
  std::ostringstream json;
  {
    for (const IopsRow& r : rows) {
      if (!r.error.empty()) continue;
      std::string points = "[";
      r.latency->ForEachBucket([&](uint64_t ns, double fraction) {
        points += (points.size() > 1 ? "," : "") + std::string("[") + std::to_string(ns) + "," +
                  FormatFixed(fraction, 6) + "]";
      });
      points += "]";
      json << JsonObject()
                  .String("label", std::string(IoBackendName(r.config.backend)) + " / " +
                                       r.config.device + " bs=" +
                                       HumanBytes(r.config.block_size) +
                                       " qd=" + std::to_string(r.config.queue_depth))
                  .Raw("cdf", points)
                  .Close()
           << "\n";
    }
  }
  return RunPlotScript("plot_latency.py", json.str(), options.plot);
}

}  // namespace

Status CheckIopsOptions(const BenchOptions& options) {
  const bool job = !options.pattern.empty();
  if (job && options.pattern != "seq" && options.pattern != "rand") {
    return InvalidArgumentError("--pattern takes seq or rand, not '" + options.pattern + "'");
  }
  if (!job) {
    if (options.read_percent >= 0 || options.runtime_seconds > 0 || options.io_bytes > 0) {
      return InvalidArgumentError(
          "--read-percent, --runtime and --bytes describe a --pattern job; add --pattern seq "
          "or --pattern rand");
    }
    return Status();
  }
  if (options.read_percent > 100) {
    return InvalidArgumentError("--read-percent takes 0 to 100");
  }
  if (options.read_percent >= 0 && options.write) {
    return InvalidArgumentError("--read-percent sets the mix itself; drop --write (which "
                                "means --read-percent 0)");
  }
  if (WritesOf(options) && !options.file.empty()) {
    return InvalidArgumentError("writes go to a scratch file; --file is for read-only jobs");
  }
  if (options.whole_buffer || options.staged || !options.load_file.empty()) {
    return InvalidArgumentError(
        "--pattern jobs use a ring of block-size buffers; --whole-buffer, --staged and "
        "--load are other benchmarks");
  }
  if (options.runtime_seconds < 0) return InvalidArgumentError("--runtime must be positive");
  for (uint64_t block : options.block_sizes) {
    if (block < kMinBlock || block > kMaxBlock || block % kMinBlock != 0) {
      return InvalidArgumentError("--pattern jobs take block sizes of 4K to 16M in 4 KiB steps "
                                  "(offsets are block-aligned, as fio's), not " +
                                  std::to_string(block));
    }
    if (options.io_bytes != 0 && options.io_bytes < block) {
      return InvalidArgumentError("--bytes " + std::to_string(options.io_bytes) +
                                  " is less than one block of " + std::to_string(block));
    }
  }
  for (uint32_t depth : options.queue_depths) {
    if (depth < 1 || depth > kMaxDepth) {
      return InvalidArgumentError("--pattern jobs take queue depths of 1 to 256, not " +
                                  std::to_string(depth));
    }
  }
  return Status();
}

int RunIopsBench(const BenchOptions& options, const std::vector<BenchConfig>& configs,
                 const BenchFile& file, std::ostream& out, std::ostream& err) {
  std::vector<IopsRow> rows;
  IopsRunner runner(options, file);
  int failures = 0;
  for (size_t i = 0; i < configs.size(); ++i) {
    IopsRow row;
    row.config = configs[i];
    if (row.config.block_size > file.length) {
      row.error = "block size " + HumanBytes(row.config.block_size) + " is larger than the file";
    }
    const std::string label = ConfigLabel(i, configs.size(), row.config);
    if (options.progress) PrintProgress(err, label);
    // fio's runs alternate with halio's (A B A B): the disk here drifts
    // between runs more than the two differ.
    std::vector<FioIops> fio_runs;
    std::function<void()> fio_run;
    if (options.vs_fio) {
      fio_run = [&] {
        if (auto run = FioIopsRun(options, row.config, file.path, file.length)) {
          fio_runs.push_back(*run);
        }
      };
    }
    Status status = row.error.empty() ? runner.Run(row.config, &row, fio_run) : Status();
    if (!status.ok()) row.error = status.ToString();
    if (!row.error.empty()) {
      ++failures;
    } else if (options.vs_fio) {
      row.fio = MedianFioIops(fio_runs);
    }
    if (options.json) out << JsonIopsLine(options, row) << "\n" << std::flush;
    rows.push_back(std::move(row));
  }
  if (options.progress && platform::StderrIsTerminal()) err << "\r\x1b[K" << std::flush;
  if (!options.json) {
    PrintIopsHeading(options, file, out);
    PrintIopsTable(options, rows, out);
  }
  if (!options.plot.empty() && ReportPlot(options, PlotLatency(options, rows), err) != 0) {
    return 1;
  }
  return failures ? 1 : 0;
}

}  // namespace halio::tools
