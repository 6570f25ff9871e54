// `halio bench --load FILE`: the same parameter file loaded three ways in one
// run, hot page cache, each into fresh memory: halio (the --device, by
// default local_async, auto backend; device memory on local_discrete), numpy.fromfile per tensor (bench/numpy_load.py), and mmap +
// memcpy per tensor. Prints GB/s and halio's ratio to each.
#include <unistd.h>

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
#include <vector>

#include "halio/drivers.h"
#include "halio/loader.h"
#include "fd_io.h"
#include "file_mapping.h"
#include "system_info.h"
#include "bench.h"
#include "device_names.h"
#include "params_cli.h"
#include "scripts.h"
#include "shell_quote.h"

namespace halio::tools {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double MedianOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

Result<double> HalioLoadSeconds(const std::string& device_name, const ParameterIndex& index) {
  HALIO_ASSIGN_OR_RETURN(std::unique_ptr<Device> device, CreateDevice(device_name));
  auto start = Clock::now();
  HALIO_ASSIGN_OR_RETURN(LoadedParameters loaded, LoadParameters(*device, index));
  return Seconds(start);
}

// mmap each file, memcpy each tensor into its own fresh allocation.
Result<double> MmapMemcpySeconds(const ParameterIndex& index) {
  std::vector<std::span<std::byte>> maps;
  auto unmap_all = [&] {
    for (std::span<std::byte> map : maps) UnmapFile(map);
  };
  for (const ParameterFile& file : index.files()) {
    platform::OpenFlags read_only;
    read_only.read = true;
    auto handle = platform::OpenPath(file.path, read_only);
    if (!handle.ok()) {
      unmap_all();
      return handle.status();
    }
    auto map = file.length ? MapWholeFile(*handle, file.length, file.path)
                           : Result<std::span<std::byte>>(std::span<std::byte>());
    platform::CloseHandle(*handle);
    if (!map.ok()) {
      unmap_all();
      return map.status();
    }
    maps.push_back(*map);
  }
  auto start = Clock::now();
  std::vector<std::unique_ptr<std::byte[]>> copies;
  for (const ParameterEntry& entry : index.entries()) {
    copies.emplace_back(new std::byte[entry.length]);
    std::memcpy(copies.back().get(), maps[entry.file_index].data() + entry.offset, entry.length);
  }
  double seconds = Seconds(start);
  unmap_all();
  return seconds;
}

// Runs bench/numpy_load.py on `halio info --json` of the file; nullopt with
// `why` set when numpy or the script is missing.
std::optional<double> NumpySeconds(const std::string& path, std::string* why) {
  auto found = FindHalioScript("numpy_load.py");
  if (!found.ok()) {
    *why = std::string(found.status().message());
    return std::nullopt;
  }
  const std::string& script = *found;
  std::string info_path =
      (std::filesystem::temp_directory_path() / ("halio_load_bench_" + std::to_string(::getpid()) +
                                                 ".json")).string();
  {
    std::ofstream info(info_path);
    std::ostringstream ignored;
    InfoOptions options;
    options.path = path;
    options.json = true;
    if (RunInfo(options, info, ignored) != 0) {
      *why = "halio info failed";
      return std::nullopt;
    }
  }
  std::string command =
      "/usr/bin/python3 " + ShellQuote(script) + " " + ShellQuote(info_path) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char chunk[512];
  size_t n;
  while (pipe && (n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
  int rc = pipe ? ::pclose(pipe) : -1;
  std::filesystem::remove(info_path);
  std::smatch match;
  if (rc != 0 || !std::regex_search(output, match, std::regex("\"seconds\": ([0-9.eE+-]+)"))) {
    *why = output.empty() ? "the numpy script failed" : output;
    while (!why->empty() && why->back() == '\n') why->pop_back();
    return std::nullopt;
  }
  return std::stod(match[1].str());
}

}  // namespace

int RunLoadBench(const BenchOptions& options, std::ostream& out, std::ostream& err) {
  if (options.devices.size() > 1) {
    err << "halio bench: --load measures one device; give --device once\n";
    return 2;
  }
  const std::string device = options.devices.empty() ? "local_async" : options.devices[0];
  if (Status known = CheckDeviceName("--device", device); !known.ok()) {
    err << "halio bench: " << known.message() << "\n";
    return 2;
  }
  auto index = OpenParameterIndex(options.load_file);
  if (!index.ok()) {
    err << "halio bench: " << index.status().ToString() << "\n";
    return 1;
  }
  uint64_t bytes = 0;
  for (const ParameterEntry& entry : index->entries()) bytes += entry.length;
  // Warm the page cache, and measure halio's peak memory on this first load
  // before the other loaders raise it.
  auto warm = HalioLoadSeconds(device, *index);
  if (!warm.ok()) {
    err << "halio bench: " << warm.status().ToString() << "\n";
    return 1;
  }
  const uint64_t peak_rss = platform::PeakResidentBytes();
  std::vector<double> halio, mmap_memcpy, numpy;
  std::string numpy_missing;
  for (int run = 0; run < options.runs; ++run) {
    if (options.progress) {
      err << "halio bench --load: run " << run + 1 << "/" << options.runs << "\n";
    }
    auto ours = HalioLoadSeconds(device, *index);
    auto theirs = MmapMemcpySeconds(*index);
    if (!ours.ok() || !theirs.ok()) {
      err << "halio bench: " << (ours.ok() ? theirs.status() : ours.status()).ToString() << "\n";
      return 1;
    }
    halio.push_back(*ours);
    mmap_memcpy.push_back(*theirs);
    if (numpy_missing.empty()) {
      if (auto seconds = NumpySeconds(options.load_file, &numpy_missing)) numpy.push_back(*seconds);
    }
  }
  auto gbps = [&](double seconds) { return double(bytes) / seconds / 1e9; };
  const double ours = gbps(MedianOf(halio));
  out << std::fixed << std::setprecision(2) << "load of " << options.load_file << ": "
      << index->size() << " tensors, " << bytes << " bytes, hot page cache, median of "
      << options.runs << " runs\n"
      << std::left << std::setw(28) << "halio (" + device + ", auto)" << ours
      << " GB/s   peak RSS " << (peak_rss >> 20)
      << " MiB (tensor bytes + " << (int64_t(peak_rss) - int64_t(bytes)) / (1 << 20)
      << " MiB)\n"
      << "mmap + memcpy               " << gbps(MedianOf(mmap_memcpy))
      << " GB/s   halio/mmap = " << ours / gbps(MedianOf(mmap_memcpy)) << "\n";
  if (numpy.empty()) {
    out << "numpy.fromfile              skipped: " << numpy_missing << "\n";
  } else {
    out << "numpy.fromfile              " << gbps(MedianOf(numpy))
        << " GB/s   halio/numpy = " << ours / gbps(MedianOf(numpy)) << "\n";
  }
  return 0;
}

}  // namespace halio::tools
