// The halio command-line tool. The library never prints; this does.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "halio/remote_file.h"
#include "halio_config.h"
#include "bench.h"
#include "device_names.h"
#include "params_cli.h"
#include "probe.h"
#include "remote_cli.h"

namespace {

// Byte sizes such as 4K, 1M or 1G, as CLI11 validators.
std::string CheckByteSize(const std::string& text) {
  uint64_t ignored;
  return halio::tools::ParseByteSize(text, &ignored)
             ? std::string()
             : "'" + text + "' is not a size (use e.g. 4096, 64K, 1M, 2G)";
}

// A device name AvailableDevices() lists, as a CLI11 validator (CLI11
// puts the flag in front of the message).
std::string CheckDevice(const std::string& name) {
  halio::Status known = halio::tools::CheckDeviceName("", name);
  return known.ok() ? std::string() : std::string(known.message());
}

// An existing file, or a URL halio reads as a remote file
// (halio/remote_file.h), which only opening it can check.
std::string CheckFileOrUrl(const std::string& text) {
  if (halio::RemoteFile::IsRemoteUrl(text)) return std::string();
  std::string path = text;
  return CLI::ExistingFile(path);
}
const CLI::Validator kExistingFileOrUrl(CheckFileOrUrl, "FILE|URL");

uint64_t ByteSize(const std::string& text) {
  uint64_t bytes = 0;
  halio::tools::ParseByteSize(text, &bytes);
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"halio: move bytes between files and accelerator buffers, fast"};
  app.set_version_flag("--version", HALIO_VERSION);
  app.require_subcommand(1);

  halio::tools::ProbeOptions probe;
  CLI::App* probe_cmd =
      app.add_subcommand("probe", "Show the OS, kernel and which I/O backends are usable");
  probe_cmd->add_flag("--json", probe.json, "Print one JSON object");
  probe_cmd
      ->add_option("--path", probe.path,
                   "Report direct-I/O support of files in this directory (default: the temp "
                   "directory)")
      ->check(CLI::ExistingDirectory);

  halio::tools::BenchOptions bench;
  std::string size_text = "1G";
  std::string offset_text = "0";
  std::vector<std::string> block_texts = {"1M"};
  bool no_progress = false;
  CLI::App* bench_cmd = app.add_subcommand(
      "bench", "Measure read (or write) throughput of every backend x device, optionally "
               "beside fio");
  bench_cmd->add_option("--file", bench.file,
                        "Read this existing file (never modified; or an http(s):// or s3:// "
                        "URL) instead of a scratch file")
      ->check(kExistingFileOrUrl);
  bench_cmd->add_option("--size", size_text, "Scratch file size (default 1G)")
      ->check(CLI::Validator(CheckByteSize, "SIZE"));
  bench_cmd->add_option("--dir", bench.directory,
                        "Directory for the scratch file (default: the temp directory)")
      ->check(CLI::ExistingDirectory);
  bench_cmd->add_option("--backend", bench.backends, "io_uring, asio, sync (default: all that run)")
      ->delimiter(',');
  bench_cmd
      ->add_option("--device", bench.devices,
                   "Devices to measure: " + halio::tools::KnownDevicesText() +
                       " (default: local_sync,local_async)")
      ->delimiter(',')
      ->check(CLI::Validator(CheckDevice, "DEVICE"));
  bench_cmd->add_option("--block-size", block_texts, "Block (chunk) sizes, e.g. 64K,1M,4M")
      ->delimiter(',')
      ->check(CLI::Validator(CheckByteSize, "SIZE"));
  bench_cmd->add_option("--queue-depth", bench.queue_depths, "Requests in flight, e.g. 1,8,32")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  bench_cmd->add_option("--workers", bench.workers,
                        "local_async worker threads (default: one per hardware thread)");
  bench_cmd->add_flag("--direct", bench.direct, "O_DIRECT cold reads (page cache bypassed)");
  bench_cmd->add_flag("--write", bench.write,
                      "Write benchmark into a scratch file, with and without a final flush");
  bench_cmd->add_option("--runs", bench.runs, "Runs per configuration (default 5)")
      ->check(CLI::Range(1, 1000));
  bench_cmd->add_option("--buffer-offset", offset_text,
                        "Place the data this many bytes past the buffer's page-aligned start")
      ->check(CLI::Validator(CheckByteSize, "SIZE"));
  bench_cmd->add_flag("--whole-buffer", bench.whole_buffer,
                      "Read into one buffer the size of the file (as a loader does) instead "
                      "of a ring of block-size buffers (as fio does)");
  bench_cmd->add_flag("--json", bench.json,
                      "One JSON object per configuration (see bench/README.md)");
  bench_cmd->add_option("--plot", bench.plot, "Write a PNG of throughput vs block size");
  bench_cmd->add_flag("--vs-fio", bench.vs_fio, "Run the equivalent fio job for each row");
  bench_cmd->add_flag("--no-progress", no_progress, "No progress line on stderr");
  bench_cmd->add_flag("--staged", bench.staged,
                      "local_discrete pipeline efficiency: staged reads (--write: writes) vs "
                      "the file alone vs the copy engine alone; --block-size = staging buffer "
                      "sizes (default 1M,2M,4M,8M,16M), --queue-depth = staging buffer counts "
                      "(default 2,4,8,16)");
  std::string copy_rate_text = "4G";
  bench_cmd->add_option("--copy-rate", copy_rate_text,
                        "--staged: local_discrete's copy engine speed in bytes per second "
                        "(default 4G = 4 GiB/s; 0 = memcpy speed)")
      ->check(CLI::Validator(CheckByteSize, "SIZE"));
  bench_cmd->add_option("--copy-latency", bench.copy_latency_us,
                        "--staged: microseconds added to every copy (default 0)");
  bench_cmd
      ->add_option("--pattern", bench.pattern,
                   "seq or rand: a fio-style job of block-size requests at each queue depth "
                   "(block-aligned offsets, seeded), reporting IOPS and latency percentiles "
                   "instead of the throughput table")
      ->check(CLI::IsMember({"seq", "rand"}));
  bench_cmd->add_option("--read-percent", bench.read_percent,
                        "--pattern: reads in a read/write mix, 0-100 (on a scratch file)")
      ->check(CLI::Range(0, 100));
  bench_cmd->add_option("--runtime", bench.runtime_seconds,
                        "--pattern: seconds per run (default: --bytes)")
      ->check(CLI::PositiveNumber);
  std::string io_bytes_text = "0";
  bench_cmd->add_option("--bytes", io_bytes_text,
                        "--pattern: bytes per run (default: the file's length)")
      ->check(CLI::Validator(CheckByteSize, "SIZE"));
  bench_cmd->add_option("--seed", bench.seed,
                        "--pattern: seed of the offsets and the mix (default 1); a seed "
                        "repeats its requests exactly");
  bench_cmd->add_option("--load", bench.load_file,
                        "Load this parameter file with halio (on --device, default "
                        "local_async), numpy.fromfile and mmap+memcpy and compare")
      ->check(CLI::ExistingFile);
  halio::tools::RemoteFlags bench_remote;
  halio::tools::AddRemoteFlags(bench_cmd, &bench_remote, /*bench=*/true);

  halio::tools::InfoOptions info;
  CLI::App* info_cmd = app.add_subcommand(
      "info", "List a parameter file's format, metadata and tensors (safetensors, "
              "*.safetensors.index.json, GGUF)");
  info_cmd->add_option("FILE", info.path, "Parameter file (a path or an http(s):// or s3:// URL)")
      ->required()
      ->check(kExistingFileOrUrl);
  info_cmd->add_flag("--json", info.json, "One JSON object");
  halio::tools::RemoteFlags info_remote;
  halio::tools::AddRemoteFlags(info_cmd, &info_remote);

  halio::tools::LoadCliOptions load;
  CLI::App* load_cmd = app.add_subcommand(
      "load", "Load parameter files into device buffers and report throughput");
  load_cmd->add_option("PATH", load.paths, "Parameter files (paths or http(s):// or s3:// URLs)")
      ->required()
      ->check(kExistingFileOrUrl);
  load_cmd
      ->add_option("--device", load.device,
                   "Device to load into: " + halio::tools::KnownDevicesText() +
                       " (default local_async); on local_discrete the tensors land in device "
                       "memory through staging buffers")
      ->check(CLI::Validator(CheckDevice, "DEVICE"));
  load_cmd->add_option("--backend", load.backend, "auto (default), io_uring, asio or sync");
  load_cmd->add_flag("--direct", load.direct, "Read with O_DIRECT");
  load_cmd->add_flag("--map", load.map,
                     "Map the files instead of reading them where the device's memory is host "
                     "memory: read-only views, no copy, pages read on first touch");
  load_cmd->add_option("--select", load.select, "Load only tensors matching this glob")
      ->allow_extra_args(false);
  load_cmd->add_flag("--json", load.json, "One JSON object per file");
  load_cmd->add_flag("--checksums", load.checksums,
                     "Print an xxh3-64 of each tensor's bytes as loaded (read back through "
                     "the device where its memory cannot be mapped)");
  bool load_no_progress = false;
  load_cmd->add_flag("--no-progress", load_no_progress, "No progress bar on stderr");
  halio::tools::RemoteFlags load_remote;
  halio::tools::AddRemoteFlags(load_cmd, &load_remote);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "halio: " << e.what() << " (run 'halio --help')\n";
    return 2;
  }
  if (probe_cmd->parsed()) return halio::tools::RunProbe(probe, std::cout);
  if (info_cmd->parsed()) {
    info.remote = info_remote.options;
    return halio::tools::RunInfo(info, std::cout, std::cerr);
  }
  if (load_cmd->parsed()) {
    load.progress = !load_no_progress;
    load.remote = load_remote.options;
    return halio::tools::RunLoad(load, std::cout, std::cerr);
  }
  if (bench_cmd->parsed()) {
    bench.size = ByteSize(size_text);
    bench.buffer_offset = ByteSize(offset_text);
    bench.block_sizes.clear();
    for (const std::string& text : block_texts) bench.block_sizes.push_back(ByteSize(text));
    bench.progress = !no_progress;
    bench.copy_bytes_per_second = ByteSize(copy_rate_text);
    bench.io_bytes = ByteSize(io_bytes_text);
    bench.remote = bench_remote.options;
    bench.remote_in_flight_given = bench_remote.in_flight_given();
    bench.remote_request_size_given = bench_remote.request_size_given();
    // fio's randread default block: 4 KiB random requests unless told.
    if (!bench.pattern.empty() && bench_cmd->count("--block-size") == 0) {
      bench.block_sizes = {4 << 10};
    }
    if (bench.staged && bench_cmd->count("--block-size") == 0) {
      bench.block_sizes = {1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20};
    }
    if (bench.staged && bench_cmd->count("--queue-depth") == 0) bench.queue_depths = {2, 4, 8, 16};
    return halio::tools::RunBench(bench, std::cout, std::cerr);
  }
  return 0;
}
