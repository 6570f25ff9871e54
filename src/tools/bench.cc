#include "bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "halio/drivers.h"
#include "halio_config.h"
#include "fd_io.h"
#include "system_info.h"
#include "json_writer.h"
#include "scripts.h"
#include "shell_quote.h"

namespace halio::tools {
namespace {

using Clock = std::chrono::steady_clock;

// One row of the table.
struct Config {
  IoBackend backend;
  std::string device;
  uint64_t block_size;
  uint32_t queue_depth;  // 1 for local_sync: it has one request in flight
  uint32_t workers;
  bool flush = false;    // write benches: include the final fdatasync
};

struct Row {
  Config config;
  std::vector<double> gbps;  // one per run
  std::vector<double> cpu_percent;
  std::optional<double> fio_gbps;
  std::string fio_job;
  std::string error;
};

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int unit = 0;
  while (unit < 3 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + " " + units[unit];
}

// --- the file under test ------------------------------------------------------

// A file of `size` pattern bytes in `directory`, deleted on destruction.
class ScratchFile {
 public:
  static Result<std::unique_ptr<ScratchFile>> Create(const std::string& directory,
                                                     uint64_t size) {
    std::filesystem::path dir =
        directory.empty() ? std::filesystem::temp_directory_path()
                          : std::filesystem::path(directory);
    auto file = std::unique_ptr<ScratchFile>(new ScratchFile());
    file->path_ = (dir / ("halio_bench_" + std::to_string(::getpid()) + ".dat")).string();
    HALIO_RETURN_IF_ERROR(file->Fill(size));
    return file;
  }
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  ScratchFile() = default;
  Status Fill(uint64_t size) {
    HALIO_ASSIGN_OR_RETURN(
        int fd, platform::OpenPath(path_, {.read = true, .write = true, .create = true,
                                           .truncate = true}));
    std::vector<std::byte> chunk(8 << 20);
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::byte>(i * 131 + 7);
    Status status;
    for (uint64_t done = 0; done < size && status.ok(); done += chunk.size()) {
      size_t length = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - done));
      status = platform::WriteAt(fd, done, {chunk.data(), length}, path_);
    }
    platform::CloseHandle(fd);
    return status;
  }
  std::string path_;
};

// --- one measurement --------------------------------------------------------------

class Runner {
 public:
  Runner(const BenchOptions& options, std::string path, uint64_t length)
      : options_(options), path_(std::move(path)), length_(length) {}

  // Prepares device, file and buffer for `config`, warms up, then measures.
  Status Run(const Config& config, Row* result, std::ostream& err, const std::string& label) {
    DeviceOptions device_options;
    device_options.queue_depth = config.queue_depth;
    device_options.chunk_size = config.block_size;
    device_options.worker_count = config.workers;
    HALIO_ASSIGN_OR_RETURN(device_, CreateDevice(config.device, device_options));
    FdFileOptions file_options;
    file_options.backend = config.backend;
    OpenMode mode = options_.write ? OpenMode::kReadWrite : OpenMode::kRead;
    if (options_.direct) mode = mode | OpenMode::kDirect;
    HALIO_ASSIGN_OR_RETURN(file_, FdFile::Open(path_, mode, file_options));
    // Pre-faulted (the allocator zero-fills), page-aligned; the offset lets a
    // user see the kernel's slow copy into buffers 1..31 bytes past a page.
    slots_ = config.device == "local_sync" ? 1 : config.queue_depth;
    const uint64_t buffer_bytes =
        options_.whole_buffer ? length_ : config.block_size * slots_;
    HALIO_ASSIGN_OR_RETURN(buffer_,
                           device_->allocator().Allocate({}, buffer_bytes + options_.buffer_offset));
    slot_semaphores_.clear();
    slot_values_.assign(slots_, 0);
    for (uint32_t i = 0; i < slots_; ++i) slot_semaphores_.push_back(*Semaphore::Create(0));
    if (!options_.direct) HALIO_RETURN_IF_ERROR(Once(config));  // warm the page cache
    for (int run = 0; run < options_.runs; ++run) {
      if (options_.progress) {
        err << (platform::StderrIsTerminal() ? "\r" : "") << label << " run " << run + 1 << "/"
            << options_.runs << (platform::StderrIsTerminal() ? "\x1b[K" : "\n") << std::flush;
      }
      HALIO_RETURN_IF_ERROR(Measure(config, result));
    }
    file_.reset();
    device_.reset();
    buffer_.reset();
    return Status();
  }

 private:
  Status Measure(const Config& config, Row* result) {
    if (options_.direct) {
      // Cold reads: whatever a previous run left in the page cache goes.
      HALIO_RETURN_IF_ERROR(
          platform::DropFileCache(static_cast<FdFile*>(file_.get())->fd(), path_));
    }
    double cpu_before = platform::ProcessCpuSeconds();
    auto start = Clock::now();
    HALIO_RETURN_IF_ERROR(Once(config));
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = platform::ProcessCpuSeconds() - cpu_before;
    result->gbps.push_back(static_cast<double>(length_) / seconds / 1e9);
    result->cpu_percent.push_back(100.0 * cpu / seconds);
    return Status();
  }

  // One pass over the whole file.
  Status Once(const Config& config) {
    HALIO_RETURN_IF_ERROR(options_.whole_buffer ? OnceWhole(config) : OnceRing(config));
    if (options_.write && config.flush) {
      HALIO_RETURN_IF_ERROR(static_cast<FdFile*>(file_.get())->Flush());
    }
    return Status();
  }

  Status Queue(SemaphoreList wait, SemaphoreList signal, uint64_t file_offset,
               uint64_t buffer_offset, uint64_t length) {
    buffer_offset += options_.buffer_offset;
    return options_.write ? device_->QueueWrite(wait, signal, buffer_, buffer_offset, file_,
                                                file_offset, length)
                          : device_->QueueRead(wait, signal, file_, file_offset, buffer_,
                                               buffer_offset, length);
  }

  // Block-size transfers through a ring of `slots_` buffers, each reused
  // once the transfer that last used it finished: queue_depth in flight, the
  // memory footprint of fio's job.
  Status OnceRing(const Config& config) {
    uint64_t index = 0;
    for (uint64_t offset = 0; offset < length_; offset += config.block_size, ++index) {
      const uint32_t slot = static_cast<uint32_t>(index % slots_);
      Semaphore* semaphore = slot_semaphores_[slot].get();
      SemaphorePoint wait[] = {{semaphore, slot_values_[slot]}};
      SemaphorePoint signal[] = {{semaphore, ++slot_values_[slot]}};
      HALIO_RETURN_IF_ERROR(Queue(wait, signal, offset, slot * config.block_size,
                                  std::min(config.block_size, length_ - offset)));
    }
    for (uint32_t slot = 0; slot < slots_; ++slot) {
      HALIO_RETURN_IF_ERROR(slot_semaphores_[slot]->Wait(slot_values_[slot]));
    }
    return Status();
  }

  // The whole file into one buffer: local_sync one block per op (it has one
  // request in flight, like fio's psync); local_async a single op that it
  // splits into block-size chunks, queue_depth in flight.
  Status OnceWhole(const Config& config) {
    const uint64_t step = config.device == "local_sync" ? config.block_size : length_;
    for (uint64_t offset = 0; offset < length_; offset += step) {
      SemaphorePoint signal[] = {{timeline_.get(), ++value_}};
      HALIO_RETURN_IF_ERROR(Queue({}, signal, offset, offset, std::min(step, length_ - offset)));
    }
    return timeline_->Wait(value_);
  }

  const BenchOptions& options_;
  const std::string path_;
  const uint64_t length_;
  std::unique_ptr<Device> device_;
  FileRef file_;
  BufferRef buffer_;
  SemaphoreRef timeline_ = *Semaphore::Create(0);
  uint64_t value_ = 0;
  uint32_t slots_ = 1;
  std::vector<SemaphoreRef> slot_semaphores_;
  std::vector<uint64_t> slot_values_;
};

// --- fio -------------------------------------------------------------------

bool FioInstalled() { return std::system("fio --version >/dev/null 2>&1") == 0; }

// The fio job equivalent to `config`: the same file, block size and queue
// depth; psync for one-at-a-time devices, io_uring at the same depth for
// local_async on io_uring, and one psync job per worker (each on its share of
// the file) for local_async on asio or sync.
std::string FioArguments(const BenchOptions& options, const Config& config,
                         const std::string& path, uint64_t length, std::string* job) {
  uint32_t jobs = 1;
  std::string engine = "psync";
  uint32_t depth = 1;
  if (config.device == "local_async" && config.backend == IoBackend::kIoUring) {
    engine = "io_uring";
    depth = config.queue_depth;
  } else if (config.device == "local_async") {
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

std::optional<double> MedianFio(const BenchOptions& options, const Config& config,
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

// --- configurations and output ---------------------------------------------

Result<std::vector<IoBackend>> SelectBackends(const BenchOptions& options, std::ostream& err) {
  std::vector<IoBackend> chosen;
  if (options.backends.empty()) {
    for (IoBackend backend : {IoBackend::kIoUring, IoBackend::kAsio, IoBackend::kSync}) {
      BackendAvailability available = IoEngine::Probe(backend);
      if (available.status.ok()) {
        chosen.push_back(backend);
      } else {
        err << "halio bench: skipping " << IoBackendName(backend) << ": "
            << available.status.message() << "\n";
      }
    }
    return chosen;
  }
  for (const std::string& name : options.backends) {
    HALIO_ASSIGN_OR_RETURN(IoBackend backend, ParseIoBackend(name));
    if (backend == IoBackend::kAuto) {
      return InvalidArgumentError("--backend takes io_uring, asio or sync, not auto");
    }
    chosen.push_back(backend);
  }
  return chosen;
}

Result<std::vector<Config>> Expand(const BenchOptions& options, std::ostream& err) {
  HALIO_ASSIGN_OR_RETURN(std::vector<IoBackend> backends, SelectBackends(options, err));
  std::vector<std::string> devices = options.devices;
  if (devices.empty()) devices = {"local_sync", "local_async"};
  const uint32_t workers =
      options.workers ? options.workers : std::max(1u, platform::QuerySystemInfo().hardware_threads);
  std::vector<Config> configs;
  for (const std::string& device : devices) {
    if (device != "local_sync" && device != "local_async") {
      return InvalidArgumentError("unknown device '" + device +
                                  "'; use local_sync or local_async");
    }
    for (IoBackend backend : backends) {
      // local_sync runs every op inline with pread: backends do not apply,
      // so it is measured once, under "sync".
      if (device == "local_sync" && backend != IoBackend::kSync &&
          std::find(backends.begin(), backends.end(), IoBackend::kSync) != backends.end()) {
        continue;
      }
      for (uint64_t block : options.block_sizes) {
        if (device == "local_sync") {
          configs.push_back({backend, device, block, 1, 1});
          continue;
        }
        for (uint32_t depth : options.queue_depths) {
          configs.push_back({backend, device, block, depth, workers});
        }
      }
    }
  }
  if (options.write) {
    std::vector<Config> with_flush;
    for (Config config : configs) {
      with_flush.push_back(config);
      config.flush = true;
      with_flush.push_back(config);
    }
    configs = with_flush;
  }
  return configs;
}

// Three decimals, as the table prints: more would be noise.
std::string Fixed3(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", value);
  return text;
}

std::string JsonLine(const BenchOptions& options, const Row& r, uint64_t length) {
  JsonObject json;
  json.String("backend", IoBackendName(r.config.backend))
      .String("device", r.config.device)
      .String("operation", options.write ? "write" : "read")
      .Bool("flush", r.config.flush)
      .Bool("direct", options.direct)
      .Number("block_size", r.config.block_size)
      .Number("queue_depth", r.config.queue_depth)
      .Number("workers", r.config.workers)
      .Number("buffer_offset", options.buffer_offset)
      .String("target", options.whole_buffer ? "whole" : "ring")
      .Number("bytes", length)
      .Number("runs", r.gbps.size());
  if (!r.gbps.empty()) {
    json.Raw("gbps_median", Fixed3(Median(r.gbps)))
        .Raw("gbps_min", Fixed3(*std::min_element(r.gbps.begin(), r.gbps.end())))
        .Raw("gbps_max", Fixed3(*std::max_element(r.gbps.begin(), r.gbps.end())))
        .Raw("cpu_percent", Fixed3(Median(r.cpu_percent)));
  }
  if (r.fio_gbps) {
    json.String("fio_job", r.fio_job)
        .Raw("fio_gbps", Fixed3(*r.fio_gbps))
        .Raw("ratio_vs_fio", Fixed3(r.gbps.empty() ? 0 : Median(r.gbps) / *r.fio_gbps));
  }
  if (!r.error.empty()) json.String("error", r.error);
  return json.Close();
}

void PrintTable(const BenchOptions& options, const std::vector<Row>& results,
                std::ostream& out) {
  out << std::left << std::setw(9) << "backend" << std::setw(13) << "device" << std::setw(9)
      << "block" << std::setw(4) << "qd" << std::setw(8) << "workers";
  if (options.write) out << std::setw(6) << "flush";
  out << std::setw(24) << "GB/s median (min-max)" << std::setw(7) << "CPU %";
  if (options.vs_fio) out << std::setw(11) << "fio GB/s" << std::setw(10) << "halio/fio" << "fio job";
  out << "\n";
  for (const Row& r : results) {
    out << std::left << std::setw(9) << IoBackendName(r.config.backend) << std::setw(13)
        << r.config.device << std::setw(9) << HumanBytes(r.config.block_size) << std::setw(4)
        << r.config.queue_depth << std::setw(8) << r.config.workers;
    if (options.write) out << std::setw(6) << (r.config.flush ? "yes" : "no");
    if (!r.error.empty()) {
      out << "error: " << r.error << "\n";
      continue;
    }
    std::ostringstream gbps;
    gbps << std::fixed << std::setprecision(2) << Median(r.gbps) << " ("
         << *std::min_element(r.gbps.begin(), r.gbps.end()) << "-"
         << *std::max_element(r.gbps.begin(), r.gbps.end()) << ")";
    out << std::setw(24) << gbps.str() << std::setw(7) << std::fixed << std::setprecision(0)
        << Median(r.cpu_percent);
    if (options.vs_fio && r.fio_gbps) {
      out << std::setw(11) << std::setprecision(2) << *r.fio_gbps << std::setw(10)
          << Median(r.gbps) / *r.fio_gbps << r.fio_job;
    } else if (options.vs_fio) {
      out << "fio failed";
    }
    out << "\n";
  }
}

Status Plot(const BenchOptions& options, const std::vector<Row>& results, uint64_t length) {
  HALIO_ASSIGN_OR_RETURN(std::string script, FindHalioScript("plot_throughput.py"));
  std::string data = options.plot + ".json";
  {
    std::ofstream json(data);
    for (const Row& r : results) json << JsonLine(options, r, length) << "\n";
  }
  std::string command = "/usr/bin/python3 " + ShellQuote(script) + " " + ShellQuote(data) + " " +
                        ShellQuote(options.plot);
  int rc = std::system(command.c_str());
  std::filesystem::remove(data);
  if (rc != 0) {
    return UnavailableError("plotting failed; it needs matplotlib (apt-get install "
                            "python3-matplotlib)");
  }
  return Status();
}

}  // namespace

bool ParseByteSize(const std::string& text, uint64_t* bytes) {
  if (text.empty()) return false;
  size_t used = 0;
  unsigned long long value;
  try {
    value = std::stoull(text, &used);
  } catch (...) {
    return false;
  }
  std::string suffix = text.substr(used);
  uint64_t scale = 1;
  if (suffix == "K" || suffix == "k" || suffix == "KiB") scale = 1 << 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB") scale = 1 << 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") scale = uint64_t{1} << 30;
  else if (!suffix.empty()) return false;
  *bytes = value * scale;
  return true;
}

int RunBench(const BenchOptions& options, std::ostream& out, std::ostream& err) {
  if (!options.load_file.empty()) return RunLoadBench(options, out, err);
  auto configs = Expand(options, err);
  if (!configs.ok()) {
    err << "halio bench: " << configs.status().message() << "\n";
    return 2;
  }
  if (options.vs_fio && !FioInstalled()) {
    err << "halio bench: --vs-fio needs fio; install it with: sudo apt-get install fio\n";
    return 2;
  }
  std::unique_ptr<ScratchFile> scratch;
  std::string path = options.file;
  if (path.empty() || options.write) {
    if (!options.file.empty()) {
      err << "halio bench: --write uses a scratch file; --file is for read benchmarks\n";
      return 2;
    }
    if (options.progress) err << "halio bench: creating a " << HumanBytes(options.size) << " scratch file\n";
    auto created = ScratchFile::Create(options.directory, options.size);
    if (!created.ok()) {
      err << "halio bench: " << created.status().message() << "\n";
      return 1;
    }
    scratch = std::move(*created);
    path = scratch->path();
  }
  std::error_code size_error;
  const uint64_t length = std::filesystem::file_size(path, size_error);
  if (size_error || length == 0) {
    err << "halio bench: cannot use " << path << ": "
        << (size_error ? size_error.message() : std::string("it is empty")) << "\n";
    return 1;
  }
  std::vector<Row> results;
  Runner runner(options, path, length);
  int failures = 0;
  for (size_t i = 0; i < configs->size(); ++i) {
    const Config& config = (*configs)[i];
    Row result;
    result.config = config;
    std::string label = "[" + std::to_string(i + 1) + "/" + std::to_string(configs->size()) +
                        "] " + IoBackendName(config.backend) + " " + config.device + " bs=" +
                        HumanBytes(config.block_size) + " qd=" + std::to_string(config.queue_depth);
    Status status = runner.Run(config, &result, err, label);
    if (!status.ok()) {
      result.error = status.ToString();
      ++failures;
    } else if (options.vs_fio) {
      if (options.progress) err << (platform::StderrIsTerminal() ? "\r" : "") << label << " fio"
                                << (platform::StderrIsTerminal() ? "\x1b[K" : "\n") << std::flush;
      result.fio_gbps = MedianFio(options, config, path, length, &result.fio_job);
    }
    if (options.json) out << JsonLine(options, result, length) << "\n" << std::flush;
    results.push_back(std::move(result));
  }
  if (options.progress && platform::StderrIsTerminal()) err << "\r\x1b[K" << std::flush;
  if (!options.json) {
    out << (options.write ? "write" : "read") << " of " << HumanBytes(length) << " "
        << (options.file.empty() ? "scratch file" : path)
        << (options.direct ? " (O_DIRECT" + std::string(options.write ? ")" : ", cold)")
                           : std::string(options.write ? " (buffered)" : " (page cache, hot)"))
        << ", into " << (options.whole_buffer ? "one file-size buffer" : "a ring of block-size buffers")
        << ", buffer offset " << options.buffer_offset << ", " << options.runs << " runs\n";
    PrintTable(options, results, out);
  }
  if (!options.plot.empty()) {
    Status plotted = Plot(options, results, length);
    if (!plotted.ok()) {
      err << "halio bench: " << plotted.message() << "\n";
      return 1;
    }
    err << "halio bench: wrote " << options.plot << "\n";
  }
  return failures ? 1 : 0;
}

}  // namespace halio::tools
