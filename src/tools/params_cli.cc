#include "params_cli.h"

#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "halio/drivers.h"
#include "halio/loader.h"
#include "halio/params.h"
#include "system_info.h"
#include "device_names.h"
#include "json_writer.h"

namespace halio::tools {
namespace {

using Clock = std::chrono::steady_clock;

std::string ShapeText(const std::vector<uint64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string ShapeJson(const std::vector<uint64_t>& shape) {
  std::vector<std::string> dims;
  for (uint64_t dim : shape) dims.push_back(std::to_string(dim));
  return JsonArray(dims);
}

std::string MetadataJson(const ParameterMetadata& metadata) {
  JsonObject object;
  for (const auto& [key, value] : metadata) object.String(key.c_str(), value);
  return object.Close();
}

void PrintInfoText(const ParameterIndex& index, std::ostream& out) {
  for (const ParameterFile& file : index.files()) {
    out << "file:     " << file.path << " (" << ParameterFileFormatName(file.format) << ", "
        << file.length << " bytes)\n";
    for (const auto& [key, value] : file.metadata) out << "  " << key << " = " << value << "\n";
  }
  for (const auto& [key, value] : index.metadata()) out << "set " << key << " = " << value << "\n";
  out << "tensors:  " << index.size() << "\n";
  out << std::left << std::setw(40) << "name" << std::setw(9) << "dtype" << std::setw(20)
      << "shape" << std::setw(14) << "offset" << "bytes\n";
  for (const ParameterEntry& entry : index.entries()) {
    out << std::left << std::setw(40) << entry.name << std::setw(9) << entry.dtype
        << std::setw(20) << ShapeText(entry.shape) << std::setw(14) << entry.offset
        << entry.length;
    if (index.files().size() > 1) out << "  " << index.files()[entry.file_index].path;
    out << "\n";
  }
}

void PrintInfoJson(const ParameterIndex& index, std::ostream& out) {
  std::vector<std::string> files, tensors;
  for (const ParameterFile& file : index.files()) {
    files.push_back(JsonObject()
                        .String("path", file.path)
                        .String("format", ParameterFileFormatName(file.format))
                        .Number("bytes", file.length)
                        .Raw("metadata", MetadataJson(file.metadata))
                        .Close());
  }
  for (const ParameterEntry& entry : index.entries()) {
    tensors.push_back(JsonObject()
                          .String("name", entry.name)
                          .String("dtype", entry.dtype)
                          .Raw("shape", ShapeJson(entry.shape))
                          .Number("file", entry.file_index)
                          .Number("offset", entry.offset)
                          .Number("bytes", entry.length)
                          .Close());
  }
  out << JsonObject()
             .Raw("files", JsonArray(files))
             .Raw("metadata", MetadataJson(index.metadata()))
             .Raw("tensors", JsonArray(tensors))
             .Close()
      << "\n";
}

// A progress bar on stderr, drawn only once a load has run for a second.
class ProgressBar {
 public:
  ProgressBar(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  void Update(const LoadProgress& progress) {
    if (!enabled_ || Clock::now() - start_ < std::chrono::seconds(1)) return;
    const double fraction =
        progress.bytes_total ? double(progress.bytes_done) / double(progress.bytes_total) : 1;
    const int filled = static_cast<int>(fraction * 30);
    err_ << "\r[" << std::string(filled, '#') << std::string(30 - filled, ' ') << "] "
         << progress.tensors_done << "/" << progress.tensors_total << " tensors, "
         << progress.bytes_done / (1 << 20) << "/" << progress.bytes_total / (1 << 20) << " MiB"
         << std::flush;
    drawn_ = true;
  }
  ~ProgressBar() {
    if (drawn_) err_ << "\n";
  }

 private:
  std::ostream& err_;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point start_ = Clock::now();
};

// Hashes what landed in the device's memory: device memory the host cannot
// map is copied back through the device first.
Result<uint64_t> Checksum(Device& device, const LoadedTensor& tensor) {
  HALIO_ASSIGN_OR_RETURN(BufferRef host, ReadBackToHost(device, tensor.buffer));
  Result<MappedMemory> bytes = host->Map(MemoryAccess::kRead);
  if (!bytes.ok()) {
    return Status(bytes.status()).Annotate("checksumming tensor '" + tensor.entry->name + "'");
  }
  return static_cast<uint64_t>(XXH3_64bits(bytes->data(), bytes->size()));
}

std::string Hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// LoadParameters refuses the same globs, in the library's words
// (LoadOptions::select); a command-line user knows the flag instead.
Status CheckSelectsMatch(const ParameterIndex& index, const std::vector<std::string>& globs,
                         const std::string& path) {
  for (const std::string& glob : globs) {
    if (index.Match(glob).empty()) {
      return NotFoundError("--select '" + glob + "' matches none of the " +
                           std::to_string(index.size()) + " tensors of " + path +
                           "; 'halio info " + path + "' lists their names");
    }
  }
  return Status();
}

Status LoadOne(const LoadCliOptions& options, const std::string& path, std::ostream& out,
               std::ostream& err) {
  HALIO_ASSIGN_OR_RETURN(ParameterIndex index, OpenParameterIndex(path, options.remote));
  HALIO_RETURN_IF_ERROR(CheckSelectsMatch(index, options.select, path));
  HALIO_ASSIGN_OR_RETURN(IoBackend backend, ParseIoBackend(options.backend));
  HALIO_RETURN_IF_ERROR(CheckDeviceName("--device", options.device));
  HALIO_ASSIGN_OR_RETURN(std::unique_ptr<Device> device, CreateDevice(options.device));
  LoadOptions load;
  load.select = options.select;
  load.direct = options.direct;
  load.map = options.map;
  load.file_options.backend = backend;
  load.remote_options = options.remote;
  ProgressBar bar(err, options.progress);
  load.progress = [&](const LoadProgress& progress) { bar.Update(progress); };
  const auto start = Clock::now();
  HALIO_ASSIGN_OR_RETURN(LoadedParameters loaded, LoadParameters(*device, index, load));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<std::string> sums;
  if (options.checksums) {
    for (const LoadedTensor& tensor : loaded.tensors) {
      HALIO_ASSIGN_OR_RETURN(uint64_t sum, Checksum(*device, tensor));
      sums.push_back(Hex(sum));
    }
  }
  const double gbps = seconds > 0 ? double(loaded.bytes) / seconds / 1e9 : 0;
  const uint64_t peak = platform::PeakResidentBytes();
  if (options.json) {
    std::vector<std::string> tensors;
    for (size_t i = 0; i < loaded.tensors.size(); ++i) {
      JsonObject tensor;
      tensor.String("name", loaded.tensors[i].entry->name)
          .Number("bytes", loaded.tensors[i].entry->length);
      if (options.checksums) tensor.String("xxh3_64", sums[i]);
      tensors.push_back(tensor.Close());
    }
    out << JsonObject()
               .String("path", path)
               .String("device", options.device)
               .String("backend", options.backend)
               .Bool("direct", options.direct)
               .Bool("mapped", loaded.mapped)
               .Number("tensors", loaded.tensors.size())
               .Number("bytes", loaded.bytes)
               .Double("seconds", seconds)
               .Double("gbps", gbps)
               .Number("peak_rss_bytes", peak)
               .Raw("loaded", JsonArray(tensors))
               .Close()
        << "\n";
    return Status();
  }
  out << std::fixed << std::setprecision(3) << path << ": " << loaded.tensors.size()
      << " tensors, " << loaded.bytes << " bytes " << (loaded.mapped ? "mapped" : "loaded")
      << " in " << seconds << " s ("
      << std::setprecision(2) << gbps << " GB/s), peak RSS " << peak / (1 << 20) << " MiB\n";
  if (options.checksums) {
    // The xxhsum -H3 format: "<hash>  <name>", one tensor per line.
    for (size_t i = 0; i < loaded.tensors.size(); ++i) {
      out << sums[i] << "  " << loaded.tensors[i].entry->name << "\n";
    }
  }
  return Status();
}

}  // namespace

int RunInfo(const InfoOptions& options, std::ostream& out, std::ostream& err) {
  auto index = OpenParameterIndex(options.path, options.remote);
  if (!index.ok()) {
    err << "halio: " << index.status().ToString() << "\n";
    return 1;
  }
  if (options.json) {
    PrintInfoJson(*index, out);
  } else {
    PrintInfoText(*index, out);
  }
  return 0;
}

int RunLoad(const LoadCliOptions& options, std::ostream& out, std::ostream& err) {
  for (const std::string& path : options.paths) {
    Status status = LoadOne(options, path, out, err);
    if (!status.ok()) {
      err << "halio: " << status.ToString() << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace halio::tools
