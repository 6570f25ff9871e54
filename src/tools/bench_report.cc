#include "bench_report.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "halio/remote_file.h"
#include "json_writer.h"
#include "scripts.h"
#include "shell_quote.h"

namespace halio::tools {
namespace {

// Three decimals, as the table prints.
std::string Fixed3(double value) { return FormatFixed(value, 3); }

}  // namespace

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

// What a remote file's rows measure: range GETs of the block size, as many
// in flight as the queue depth, unless the flags set either.
std::string RemoteHeading(const BenchOptions& options) {
  const std::string size = options.remote_request_size_given
                               ? HumanBytes(options.remote.request_bytes)
                               : std::string("block size");
  const std::string in_flight = options.remote_in_flight_given
                                    ? std::to_string(options.remote.max_in_flight)
                                    : std::string("queue depth");
  return " (remote: range GETs of " + size + ", " + in_flight + " in flight)";
}

void PrintHeading(const BenchOptions& options, const std::string& path, uint64_t length,
                  std::ostream& out) {
  const std::string cache =
      RemoteFile::IsRemoteUrl(path) ? RemoteHeading(options)
      : options.direct ? " (O_DIRECT" + std::string(options.write ? ")" : ", cold)")
                       : std::string(options.write ? " (buffered)" : " (page cache, hot)");
  out << (options.write ? "write" : "read") << " of " << HumanBytes(length) << " "
      << (options.file.empty() ? "scratch file" : path) << cache << ", into "
      << (options.whole_buffer ? "one file-size buffer" : "a ring of block-size buffers")
      << ", buffer offset " << options.buffer_offset << ", " << options.runs << " runs\n";
}

std::string JsonLine(const BenchOptions& options, const BenchRow& r, uint64_t length) {
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

void PrintTable(const BenchOptions& options, const std::vector<BenchRow>& results,
                std::ostream& out) {
  out << std::left << std::setw(9) << "backend" << std::setw(13) << "device" << std::setw(9)
      << "block" << std::setw(4) << "qd" << std::setw(8) << "workers";
  if (options.write) out << std::setw(6) << "flush";
  out << std::setw(24) << "GB/s median (min-max)" << std::setw(7) << "CPU %";
  if (options.vs_fio) {
    out << std::setw(11) << "fio GB/s" << std::setw(10) << "halio/fio" << "fio job";
  }
  out << "\n";
  for (const BenchRow& r : results) {
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

std::string ConfigLabel(size_t index, size_t count, const BenchConfig& config) {
  return "[" + std::to_string(index + 1) + "/" + std::to_string(count) + "] " +
         IoBackendName(config.backend) + " " + config.device +
         " bs=" + HumanBytes(config.block_size) + " qd=" + std::to_string(config.queue_depth);
}

Status Plot(const BenchOptions& options, const std::vector<BenchRow>& results,
            uint64_t length) {
  std::string lines;
  for (const BenchRow& r : results) lines += JsonLine(options, r, length) + "\n";
  return RunPlotScript("plot_throughput.py", lines, options.plot);
}

Status RunPlotScript(const std::string& script_name, const std::string& json_lines,
                     const std::string& png) {
  HALIO_ASSIGN_OR_RETURN(std::string script, FindHalioScript(script_name));
  const std::string data = png + ".json";
  std::ofstream(data) << json_lines;
  std::string command = "/usr/bin/python3 " + ShellQuote(script) + " " + ShellQuote(data) +
                        " " + ShellQuote(png);
  int rc = std::system(command.c_str());
  std::filesystem::remove(data);
  if (rc != 0) {
    return UnavailableError("plotting failed; it needs matplotlib (apt-get install "
                            "python3-matplotlib)");
  }
  return Status();
}

int ReportPlot(const BenchOptions& options, const Status& plotted, std::ostream& err) {
  if (!plotted.ok()) {
    err << "halio bench: " << plotted.message() << "\n";
    return 1;
  }
  err << "halio bench: wrote " << options.plot << "\n";
  return 0;
}

}  // namespace halio::tools
