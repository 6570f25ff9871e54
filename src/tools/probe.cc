// `halio probe`: one screen that says which I/O backend `auto` picks and,
// when io_uring is out, everything that decides it (the errno, the sysctl,
// seccomp, the memlock limit), plus direct-I/O support of a directory.
//
// JSON output (--json) is one object. Keys are stable: add, never rename.
//   halio_version, os, kernel, machine      string
//   hardware_threads                        number
//   liburing_found, asio_found              bool: compiled in
//   liburing_version                        string, "" when not compiled in
//   io_uring_available, asio_available      bool: an engine started just now
//   io_uring_reason, asio_reason            string: why not, "" when available
//   io_uring_disabled_sysctl                string "0"/"1"/"2", null when absent
//   seccomp_mode                            number: 0 none, 1 strict, 2 filter;
//                                           null when not reported
//   seccomp_filters                         number, null when not reported
//   memlock_soft_bytes, memlock_hard_bytes  number, null when unlimited
//   max_io_bytes_per_call                   number
//   slow_copy_ratio                         number: hot pread into page offset 16
//                                           relative to an aligned destination
//   realigns_slow_copy_reads                bool: halio bounces such reads here
//   cuda_built                              bool: the cuda device is compiled in
//   cuda_available                          bool: a cuda device was created just now
//   cuda_reason                             string: why not, "" when available
//   cuda_read_path                          "staged" (file -> pinned staging ->
//                                           GPU); null when cuda is unavailable
//   devices                                 string, comma-separated: the
//                                           names CreateDevice accepts
//   device_details                          array of objects, one per device
//                                           halio knows (usable here or not):
//     name      string
//     needs     string: what it takes to run
//     listed    bool: in AvailableDevices() (usable here)
//     available bool: CreateDevice succeeded just now
//     reason    string: why not (CreateDevice's error), "" when available
//   direct_io_dir                           string
//   direct_io_error                         string: why the directory could
//                                           not be probed, "" when it was
//   direct_io_alignment_source              "statx" or "st_blksize" ("sector_size" on Windows)
//   direct_io_memory_alignment              number, bytes
//   direct_io_offset_alignment              number, bytes
//   o_direct_works                          bool
//   o_direct_reason                         string, "" when it works
//   (the five direct_io/o_direct keys above are null when direct_io_error
//   is not "")
//   halio_backend_env                       string, null when unset
//   auto_backend                            "io_uring", "asio" or "sync";
//                                           null when none could start
//   auto_reason                             string: why that one (or none)
#include "probe.h"

#include "json_writer.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <cstdio>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "halio/drivers.h"
#include "halio/io_backend.h"
#include "halio_config.h"
#include "fd_io.h"
#include "system_info.h"

namespace halio::tools {
namespace {

// The measured kernel-copy penalty for destinations 16 bytes off the page
// offset of the source, and whether halio works around it here.
std::string RatioNumber(double ratio) { return FormatFixed(ratio, 2); }

std::string CopyRatioText() {
  const double ratio = platform::SlowKernelCopyRatio();
  return RatioNumber(ratio) + "x the aligned speed (" +
         (ratio < platform::kRealignBelowRatio ? "reads there go through an aligned bounce"
                                               : "small enough that halio reads directly") +
         ")";
}


// One device halio knows of and whether it runs here.
struct DeviceDetail {
  std::string name;
  std::string needs;
  bool listed = false;  // AvailableDevices() has it
  Status availability;  // OK when CreateDevice worked just now
};

// CreateDevice's verdict on `name`: OK, or why not (a registry without the
// name says NOT_FOUND: this halio has no driver for it).
Status TryCreate(const std::string& name) {
  auto device = CreateDevice(name);
  if (device.ok()) return Status();
  if (device.status().code() == StatusCode::kNotFound) {
    return UnavailableError("this halio has no " + name + " driver (built without it)");
  }
  return device.status();
}

// Every device halio has a driver for, with what it needs and whether it
// runs here; the ones that do not are listed too, with CreateDevice's
// reason, so a user learns how to get them.
std::vector<DeviceDetail> GatherDevices() {
  static constexpr std::pair<const char*, const char*> kKnown[] = {
      {"local_sync", "nothing (host memory; every op on the calling thread)"},
      {"local_async", "nothing (host memory; worker threads and the I/O engine)"},
      {"local_discrete",
       "nothing (device memory the host cannot map, a copy-engine thread; file I/O "
       "through staging buffers)"},
      {"cuda", "halio built with CUDA (meson setup -Dcuda=enabled, CUDA toolkit) and an "
               "NVIDIA GPU with its driver"},
  };
  const std::vector<std::string> listed = AvailableDevices();
  auto is_listed = [&](const std::string& name) {
    return std::find(listed.begin(), listed.end(), name) != listed.end();
  };
  std::vector<DeviceDetail> details;
  for (const auto& [name, needs] : kKnown) {
    details.push_back({name, needs, is_listed(name), TryCreate(name)});
  }
  // A device the registry has that this list does not know yet.
  for (const std::string& name : listed) {
    if (std::none_of(details.begin(), details.end(),
                     [&](const DeviceDetail& d) { return d.name == name; })) {
      details.push_back({name, "see README.md", true, TryCreate(name)});
    }
  }
  return details;
}

// Everything the report shows, gathered before anything is printed.
struct ProbeReport {
  platform::SystemInfo system;
  platform::IoUringPolicy policy;
  BackendAvailability uring;
  BackendAvailability asio;
  std::string devices;
  Status cuda;  // what CreateDevice("cuda") said
  std::vector<DeviceDetail> device_details;
  std::string directory;
  Status direct_io_error;
  platform::DirectIoSupport direct_io;
  std::optional<std::string> backend_env;
  std::optional<IoBackend> auto_backend;  // nullopt: no engine could start
  std::string auto_reason;
};

std::string JoinedDevices() {
  std::string devices;
  for (const std::string& device : AvailableDevices()) {
    devices += devices.empty() ? device : "," + device;
  }
  return devices;
}

// Whether the cuda device can be created here, asked the way an
// application would (so the reason is the library's own).
Status CudaStatus() {
  auto device = CreateDevice("cuda");
  return device.ok() ? Status() : device.status();
}

// Reads go file -> page-locked staging -> GPU; GPUDirect Storage (file ->
// GPU) is not implemented, so the probe says so rather than leave it open.
constexpr const char* kCudaReadPath = "staged";

std::string CudaText(const Status& cuda) {
  if (!HALIO_HAVE_CUDA) return std::string(cuda.message());  // says "not built" and why
  if (!cuda.ok()) return "built; unavailable: " + std::string(cuda.message());
  return "built; available: reads go file -> page-locked staging -> GPU (GPUDirect Storage "
         "is not used: this build does not load libcufile)";
}

// Asks the library exactly what an application gets: IoEngine::Create with
// default options, so HALIO_BACKEND counts as it would there.
void FillAutoPick(ProbeReport& report) {
  auto engine = IoEngine::Create();
  if (!engine.ok()) {
    report.auto_reason = std::string(engine.status().message());
    // A forced backend's error does not say who forced it.
    if (report.backend_env && report.auto_reason.find("HALIO_BACKEND") == std::string::npos) {
      report.auto_reason = "HALIO_BACKEND=" + *report.backend_env + ": " + report.auto_reason;
    }
    return;
  }
  report.auto_backend = (*engine)->backend();
  if (!(*engine)->fallback_reason().empty()) {
    report.auto_reason = (*engine)->fallback_reason();
  } else if (report.backend_env && *report.backend_env != "auto") {
    report.auto_reason = "HALIO_BACKEND=" + *report.backend_env + " asks for it";
  } else {
    report.auto_reason = "it is the first choice and it works here";
  }
}

void FillDirectIo(const ProbeOptions& options, ProbeReport& report) {
  report.directory = options.path;
  if (report.directory.empty()) {
    std::error_code error;
    report.directory = std::filesystem::temp_directory_path(error).string();
    if (error) {  // TMPDIR names a missing directory, say
      report.direct_io_error = NotFoundError("no temp directory: " + error.message());
      return;
    }
  }
  auto direct = platform::QueryDirectIoSupport(report.directory);
  if (direct.ok()) {
    report.direct_io = *direct;
  } else {
    report.direct_io_error = direct.status();
  }
}

ProbeReport Gather(const ProbeOptions& options) {
  ProbeReport report;
  report.system = platform::QuerySystemInfo();
  report.policy = platform::QueryIoUringPolicy();
  report.uring = IoEngine::Probe(IoBackend::kIoUring);
  report.asio = IoEngine::Probe(IoBackend::kAsio);
  report.devices = JoinedDevices();
  report.cuda = CudaStatus();
  report.device_details = GatherDevices();
  FillDirectIo(options, report);
  if (const char* env = std::getenv("HALIO_BACKEND"); env != nullptr && *env != '\0') {
    report.backend_env = env;
  }
  FillAutoPick(report);
  return report;
}

// --- human output ---------------------------------------------------------

// "8 MiB" for whole mebibytes, else bytes; "unlimited" for nullopt.
std::string Bytes(const std::optional<uint64_t>& bytes) {
  if (!bytes) return "unlimited";
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  if (*bytes >= kMiB && *bytes % kMiB == 0) return std::to_string(*bytes / kMiB) + " MiB";
  return std::to_string(*bytes) + " bytes";
}

std::string Availability(const BackendAvailability& availability, const std::string& detail) {
  if (availability.status.ok()) return detail.empty() ? "available" : "available (" + detail + ")";
  return "unavailable: " + std::string(availability.status.message());
}

std::string SysctlText(const platform::IoUringPolicy& policy) {
  if (!policy.io_uring_disabled) return "absent (kernel before 6.6: io_uring cannot be disabled)";
  const std::string& value = *policy.io_uring_disabled;
  const char* meaning = value == "0"   ? "allowed"
                        : value == "1" ? "only for kernel.io_uring_group"
                        : value == "2" ? "disabled for everyone"
                                       : "unknown value";
  return value + " (" + meaning + ")";
}

std::string SeccompText(const platform::IoUringPolicy& policy) {
  if (!policy.seccomp_mode) return "not reported";
  switch (*policy.seccomp_mode) {
    case 0: return "off";
    case 1: return "strict mode (only read, write, exit and sigreturn)";
    case 2:
      return "filtered (" +
             (policy.seccomp_filters ? std::to_string(*policy.seccomp_filters) : "?") +
             " filter(s)); a filter may block io_uring_*";
  }
  return "mode " + std::to_string(*policy.seccomp_mode);
}

std::string AlignmentText(const platform::DirectAlignment& alignment) {
  return "memory " + std::to_string(alignment.memory) + " B, offset " +
         std::to_string(alignment.offset) + " B" +
#if defined(_WIN32)
         " (the volume's sector size: FileStorageInfo, else GetDiskFreeSpaceW)";
#else
         (alignment.from_statx ? " (statx STATX_DIOALIGN)"
                               : " (not reported by statx; the block size stands in)");
#endif
}

std::string ODirectText(const Status& open_direct) {
  if (open_direct.ok()) return "works";
  std::string text = "refused: " + std::string(open_direct.message());
  // EINVAL from open(O_DIRECT) means the filesystem has no direct I/O.
  if (open_direct.code() == StatusCode::kInvalidArgument) {
    text += " (this filesystem has no direct I/O, as tmpfs; halio uses buffered I/O here)";
  }
  return text;
}

void Line(std::ostream& out, const std::string& key, const std::string& value) {
  constexpr size_t kKeyWidth = 20;
  std::string padded = key + ":";
  padded.resize(std::max(kKeyWidth, padded.size() + 1), ' ');
  out << padded << value << "\n";
}

void PrintDirectIo(const ProbeReport& r, std::ostream& out) {
  if (!r.directory.empty()) Line(out, "direct I/O dir", r.directory);
  if (!r.direct_io_error.ok()) {
    Line(out, "direct I/O", "cannot tell: " + std::string(r.direct_io_error.message()));
    return;
  }
  Line(out, "direct I/O align", AlignmentText(r.direct_io.alignment));
  Line(out, "O_DIRECT open", ODirectText(r.direct_io.open_direct));
}

void PrintHuman(const ProbeReport& r, std::ostream& out) {
  const std::string liburing = HALIO_HAVE_URING ? "liburing " HALIO_URING_VERSION : "";
  out << "halio " << HALIO_VERSION << "\n";
  Line(out, "os", r.system.os + " " + r.system.kernel_release + " (" + r.system.machine + ", " +
                      std::to_string(r.system.hardware_threads) + " hardware threads)");
  Line(out, "io_uring", Availability(r.uring, liburing));
  if (r.system.os == "Linux") {  // what decides whether io_uring_setup may succeed
    Line(out, "io_uring sysctl", "kernel.io_uring_disabled = " + SysctlText(r.policy));
    Line(out, "seccomp", SeccompText(r.policy));
    Line(out, "memlock limit", Bytes(r.policy.memlock_soft) + " soft, " +
                                   Bytes(r.policy.memlock_hard) + " hard");
  }
  Line(out, "asio", Availability(r.asio, ""));
  Line(out, "devices", r.devices);
  Line(out, "cuda", CudaText(r.cuda));
  for (const DeviceDetail& device : r.device_details) {
    Line(out, "  " + device.name,
         (device.availability.ok() ? std::string("available")
                                   : "unavailable: " + std::string(device.availability.message())) +
             "; needs " + device.needs);
  }
  Line(out, "max bytes per call", std::to_string(platform::kMaxIoBytesPerCall));
  Line(out, "offset-16 copy", CopyRatioText());
  PrintDirectIo(r, out);
  if (r.backend_env) Line(out, "HALIO_BACKEND", *r.backend_env);
  const char* pick = r.auto_backend ? IoBackendName(*r.auto_backend) : "nothing";
  Line(out, "auto picks", std::string(pick) + " (because " + r.auto_reason + ")");
}

// --- JSON output ----------------------------------------------------------


// Builds one JSON object; values are written already encoded.

std::string Reason(const Status& status) { return std::string(status.message()); }

void AddDirectIo(const ProbeReport& r, JsonObject& json) {
  json.String("direct_io_dir", r.directory).String("direct_io_error", Reason(r.direct_io_error));
  if (!r.direct_io_error.ok()) {
    for (const char* key : {"direct_io_alignment_source", "direct_io_memory_alignment",
                            "direct_io_offset_alignment", "o_direct_works", "o_direct_reason"}) {
      json.Raw(key, "null");
    }
    return;
  }
  const platform::DirectAlignment& alignment = r.direct_io.alignment;
#if defined(_WIN32)
  json.String("direct_io_alignment_source", "sector_size")
#else
  json.String("direct_io_alignment_source", alignment.from_statx ? "statx" : "st_blksize")
#endif
      .Number("direct_io_memory_alignment", alignment.memory)
      .Number("direct_io_offset_alignment", alignment.offset)
      .Bool("o_direct_works", r.direct_io.open_direct.ok())
      .String("o_direct_reason", Reason(r.direct_io.open_direct));
}

void PrintJson(const ProbeReport& r, std::ostream& out) {
  JsonObject json;
  json.String("halio_version", HALIO_VERSION)
      .String("os", r.system.os)
      .String("kernel", r.system.kernel_release)
      .String("machine", r.system.machine)
      .Number("hardware_threads", r.system.hardware_threads)
      .Bool("liburing_found", HALIO_HAVE_URING)
      .String("liburing_version", HALIO_URING_VERSION)
      .Bool("asio_found", HALIO_HAVE_ASIO)
      .Bool("io_uring_available", r.uring.status.ok())
      .String("io_uring_reason", Reason(r.uring.status))
      .Bool("asio_available", r.asio.status.ok())
      .String("asio_reason", Reason(r.asio.status))
      .Optional("io_uring_disabled_sysctl", r.policy.io_uring_disabled)
      .Optional("seccomp_mode", r.policy.seccomp_mode)
      .Optional("seccomp_filters", r.policy.seccomp_filters)
      .Optional("memlock_soft_bytes", r.policy.memlock_soft)
      .Optional("memlock_hard_bytes", r.policy.memlock_hard)
      .Number("max_io_bytes_per_call", platform::kMaxIoBytesPerCall)
      .Raw("slow_copy_ratio", RatioNumber(platform::SlowKernelCopyRatio()))
      .Raw("realigns_slow_copy_reads",
           platform::SlowKernelCopyRatio() < platform::kRealignBelowRatio ? "true" : "false")
      .String("devices", r.devices)
      .Bool("cuda_built", HALIO_HAVE_CUDA)
      .Bool("cuda_available", r.cuda.ok())
      .String("cuda_reason", Reason(r.cuda))
      .Optional("cuda_read_path",
                r.cuda.ok() ? std::optional<std::string>(kCudaReadPath) : std::nullopt);
  std::vector<std::string> details;
  for (const DeviceDetail& device : r.device_details) {
    details.push_back(JsonObject()
                          .String("name", device.name)
                          .String("needs", device.needs)
                          .Bool("listed", device.listed)
                          .Bool("available", device.availability.ok())
                          .String("reason", Reason(device.availability))
                          .Close());
  }
  json.Raw("device_details", JsonArray(details));
  AddDirectIo(r, json);
  std::optional<std::string> backend;
  if (r.auto_backend) backend = IoBackendName(*r.auto_backend);
  json.Optional("halio_backend_env", r.backend_env)
      .Optional("auto_backend", backend)
      .String("auto_reason", r.auto_reason);
  out << json.Close() << "\n";
}

}  // namespace

int RunProbe(const ProbeOptions& options, std::ostream& out) {
  ProbeReport report = Gather(options);
  if (options.json) {
    PrintJson(report, out);
  } else {
    PrintHuman(report, out);
  }
  return 0;
}

}  // namespace halio::tools
