// `halio bench`: the configurations to run, the file to run them on and the
// loop over them. The measurement is in bench_runner.cc, fio in bench_fio.cc,
// the table, JSON and plot in bench_report.cc.
#include "bench.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio/remote_file.h"
#include "system_info.h"
#include "bench_fio.h"
#include "bench_iops.h"
#include "bench_report.h"
#include "bench_runner.h"
#include "device_names.h"

namespace halio::tools {
namespace {

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

Result<std::vector<BenchConfig>> Expand(const BenchOptions& options, std::ostream& err) {
  HALIO_ASSIGN_OR_RETURN(std::vector<IoBackend> backends, SelectBackends(options, err));
  std::vector<std::string> devices = options.devices;
  if (devices.empty()) devices = {"local_sync", "local_async"};
  const uint32_t workers = options.workers
                               ? options.workers
                               : std::max(1u, platform::QuerySystemInfo().hardware_threads);
  std::vector<BenchConfig> configs;
  for (const std::string& device : devices) {
    HALIO_RETURN_IF_ERROR(CheckDeviceName("--device", device));
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
  // A --pattern job's writes are timed request by request; a final flush is
  // the throughput table's question.
  if (options.write && options.pattern.empty()) {
    std::vector<BenchConfig> with_flush;
    for (BenchConfig config : configs) {
      with_flush.push_back(config);
      config.flush = true;
      with_flush.push_back(config);
    }
    configs = with_flush;
  }
  return configs;
}

// Runs every configuration on `path` (`length` bytes), beside fio with
// --vs-fio, printing each row as a JSON line as it completes with --json.
// Returns the rows; `*failures` counts those that failed.
std::vector<BenchRow> MeasureAll(const BenchOptions& options,
                                 const std::vector<BenchConfig>& configs,
                                 const std::string& path, uint64_t length, std::ostream& out,
                                 std::ostream& err, int* failures) {
  std::vector<BenchRow> results;
  BenchRunner runner(options, path, length);
  for (size_t i = 0; i < configs.size(); ++i) {
    const BenchConfig& config = configs[i];
    BenchRow result;
    result.config = config;
    const std::string label = ConfigLabel(i, configs.size(), config);
    Status status = runner.Run(config, &result, err, label);
    if (!status.ok()) {
      result.error = status.ToString();
      ++*failures;
    } else if (options.vs_fio) {
      if (options.progress) {
        PrintProgress(err, label + " fio");
      }
      result.fio_gbps = MedianFio(options, config, path, length, &result.fio_job);
    }
    if (options.json) out << JsonLine(options, result, length) << "\n" << std::flush;
    results.push_back(std::move(result));
  }
  if (options.progress && platform::StderrIsTerminal()) err << "\r\x1b[K" << std::flush;
  return results;
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

// --file http(s)://... or s3://...: read benchmarks of a remote file (its
// length from the server; no page cache to drop, no fio to compare with).
static int PrepareRemoteBenchFile(const BenchOptions& options, std::ostream& err, BenchFile* file) {
  if (options.direct || options.vs_fio) {
    err << "halio bench: --direct and --vs-fio need a local file, not " << file->path << "\n";
    return 2;
  }
  Result<FileRef> opened = RemoteFile::Open(file->path, options.remote);
  if (!opened.ok()) {
    err << "halio bench: " << opened.status().message() << "\n";
    return 1;
  }
  file->length = (*opened)->length();
  if (file->length == 0) {
    err << "halio bench: cannot use " << (*opened)->description() << ": it is empty\n";
    return 1;
  }
  return 0;
}

int PrepareBenchFile(const BenchOptions& options, std::ostream& err, BenchFile* file) {
  file->path = options.file;
  if (file->path.empty() || WritesOf(options)) {
    if (!options.file.empty()) {
      err << "halio bench: --write uses a scratch file; --file is for read benchmarks\n";
      return 2;
    }
    if (options.progress) {
      err << "halio bench: creating a " << HumanBytes(options.size) << " scratch file\n";
    }
    auto created = ScratchFile::Create(options.directory, options.size);
    if (!created.ok()) {
      err << "halio bench: " << created.status().message() << "\n";
      return 1;
    }
    file->scratch = std::move(*created);
    file->path = file->scratch->path();
  }
  if (RemoteFile::IsRemoteUrl(file->path)) return PrepareRemoteBenchFile(options, err, file);
  std::error_code size_error;
  file->length = std::filesystem::file_size(file->path, size_error);
  if (size_error || file->length == 0) {
    err << "halio bench: cannot use " << file->path << ": "
        << (size_error ? size_error.message() : std::string("it is empty")) << "\n";
    return 1;
  }
  return 0;
}

int RunBench(const BenchOptions& options, std::ostream& out, std::ostream& err) {
  if (!options.load_file.empty()) return RunLoadBench(options, out, err);
  if (options.staged) return RunStagedBench(options, out, err);
  if (Status checked = CheckIopsOptions(options); !checked.ok()) {
    err << "halio bench: " << checked.message() << "\n";
    return 2;
  }
  auto configs = Expand(options, err);
  if (!configs.ok()) {
    err << "halio bench: " << configs.status().message() << "\n";
    return 2;
  }
  if (options.vs_fio && !FioInstalled()) {
    err << "halio bench: --vs-fio needs fio; install it with: sudo apt-get install fio\n";
    return 2;
  }
  BenchFile file;
  if (int rc = PrepareBenchFile(options, err, &file); rc != 0) return rc;
  if (!options.pattern.empty()) return RunIopsBench(options, *configs, file, out, err);
  const std::string& path = file.path;
  const uint64_t length = file.length;
  int failures = 0;
  std::vector<BenchRow> results =
      MeasureAll(options, *configs, path, length, out, err, &failures);
  if (!options.json) {
    PrintHeading(options, path, length, out);
    PrintTable(options, results, out);
  }
  if (!options.plot.empty() && ReportPlot(options, Plot(options, results, length), err) != 0) {
    return 1;
  }
  return failures ? 1 : 0;
}

}  // namespace halio::tools
