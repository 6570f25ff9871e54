// `halio bench --staged [--write]`: how well local_discrete's staged reads
// (or writes) overlap file calls with copy-engine copies. For each staging
// buffer size x count, three throughputs over the same file, interleaved run
// by run (A B C A B C, so a host that changes speed mid-run moves all three
// alike):
//   file    the file alone: ring reads into (writes from) `count` host
//           buffers of `size` bytes, `count` in flight, the file path the
//           staged transfer uses;
//   copy    the copy engine alone: `size`-byte copies from host memory into
//           device memory (from device memory into host memory), as many as
//           the file has chunks;
//   staged  one queue_read of the whole file into device memory (file ->
//           staging -> device), or one queue_write of it to the file.
// efficiency = staged / min(file, copy): 1.0 means the slower stage never
// waits for the faster one.
//
// Ownership: every device, file and buffer lives for one row.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <memory>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "system_info.h"
#include "bench.h"
#include "bench_report.h"
#include "bench_runner.h"
#include "json_writer.h"

namespace halio::tools {
namespace {

using Clock = std::chrono::steady_clock;

// The backend the file is opened with: the first --backend, else auto.
std::string StagedBackend(const BenchOptions& options) {
  return options.backends.empty() ? "auto" : options.backends.front();
}

struct StagedRow {
  uint64_t staging_size = 0;
  uint32_t staging_count = 0;
  std::vector<double> file_gbps, copy_gbps, staged_gbps;
  std::string error;

  double efficiency() const {
    const double limit = std::min(Median(file_gbps), Median(copy_gbps));
    return limit > 0 ? Median(staged_gbps) / limit : 0;
  }
};

// One row's device, file and buffers, and the three passes over the file.
class StagedRun {
 public:
  StagedRun(const BenchOptions& options, const std::string& path, uint64_t length,
            uint64_t size, uint32_t count)
      : options_(options), path_(path), length_(length), size_(size), count_(count) {}

  Status Prepare() {
    DeviceOptions device_options;
    device_options.staging_buffer_size = size_;
    device_options.staging_buffer_count = count_;
    // The read-alone ring: one request of `size` per op, `count` ops queued.
    device_options.chunk_size = size_;
    device_options.queue_depth = 1;
    device_options.copy_bytes_per_second = options_.copy_bytes_per_second;
    device_options.copy_latency_us = options_.copy_latency_us;
    HALIO_ASSIGN_OR_RETURN(device_, CreateDevice("local_discrete", device_options));
    HALIO_ASSIGN_OR_RETURN(IoBackend backend, ParseIoBackend(StagedBackend(options_)));
    FdFileOptions file_options;
    file_options.backend = backend;
    HALIO_ASSIGN_OR_RETURN(file_, FdFile::Open(path_, BenchOpenMode(options_), file_options));
    // Both zero-filled now, so no pass measures first-touch page faults.
    HALIO_ASSIGN_OR_RETURN(ring_, device_->allocator().Allocate({}, size_ * count_));
    HALIO_ASSIGN_OR_RETURN(device_buffer_, device_->allocator().Allocate(
                                               {.type = MemoryType::kDeviceLocal}, length_));
    for (uint32_t i = 0; i < count_; ++i) {
      HALIO_ASSIGN_OR_RETURN(SemaphoreRef slot, Semaphore::Create(0));
      slots_.push_back(std::move(slot));
    }
    slot_values_.assign(count_, 0);
    for (uint64_t offset = 0; offset < length_; offset += size_) {
      HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
      copy_done_.push_back(std::move(done));
    }
    HALIO_ASSIGN_OR_RETURN(timeline_, Semaphore::Create(0));
    // Warm the page cache (a hot run reads or rewrites it; a direct run
    // drops it).
    return options_.direct ? Status() : FileAlone();
  }

  // One run of each pass, appended to `row` in GB/s.
  Status MeasureOnce(StagedRow* row) {
    HALIO_RETURN_IF_ERROR(Timed(&StagedRun::FileAlone, &row->file_gbps));
    HALIO_RETURN_IF_ERROR(Timed(&StagedRun::CopyAlone, &row->copy_gbps));
    return Timed(&StagedRun::Staged, &row->staged_gbps);
  }

 private:
  Status Timed(Status (StagedRun::*pass)(), std::vector<double>* gbps) {
    if (options_.direct) {
      HALIO_RETURN_IF_ERROR(
          platform::DropFileCache(static_cast<FdFile*>(file_.get())->fd(), path_));
    }
    const auto start = Clock::now();
    HALIO_RETURN_IF_ERROR((this->*pass)());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    gbps->push_back(static_cast<double>(length_) / seconds / 1e9);
    return Status();
  }

  // Queues `size` steps over the file on the ring, each waiting for the
  // slot's previous step (it overwrites the slot), and waits for all:
  // `count` in flight.
  template <typename QueueStep>
  Status OverRing(QueueStep queue_step) {
    uint64_t index = 0;
    for (uint64_t offset = 0; offset < length_; offset += size_, ++index) {
      const uint32_t slot = static_cast<uint32_t>(index % count_);
      SemaphorePoint wait[] = {{slots_[slot].get(), slot_values_[slot]}};
      SemaphorePoint signal[] = {{slots_[slot].get(), ++slot_values_[slot]}};
      HALIO_RETURN_IF_ERROR(
          queue_step(wait, signal, offset, slot * size_, std::min(size_, length_ - offset)));
    }
    for (uint32_t slot = 0; slot < count_; ++slot) {
      HALIO_RETURN_IF_ERROR(slots_[slot]->Wait(slot_values_[slot]));
    }
    return Status();
  }

  Status FileAlone() {
    return OverRing([&](SemaphoreList wait, SemaphoreList signal, uint64_t offset,
                        uint64_t ring_offset, uint64_t bytes) {
      return QueueFileTransfer(*device_, write_, wait, signal, file_, offset, ring_, ring_offset,
                               bytes);
    });
  }

  // The ring's bytes to device memory (a write's: device memory to the
  // ring), in the chunks a staged transfer copies. Every copy is queued at
  // once (each signals its own semaphore): the engine never waits for the
  // next one. The bytes are not looked at, so copies into the same ring
  // slot need no order.
  Status CopyAlone() {
    ++copy_run_;
    for (size_t chunk = 0; chunk < copy_done_.size(); ++chunk) {
      const uint64_t offset = chunk * size_;
      const uint64_t ring_offset = (chunk % count_) * size_;
      const uint64_t bytes = std::min(size_, length_ - offset);
      SemaphorePoint signal[] = {{copy_done_[chunk].get(), copy_run_}};
      HALIO_RETURN_IF_ERROR(
          write_ ? device_->QueueCopy({}, signal, device_buffer_, offset, ring_, ring_offset, bytes)
                 : device_->QueueCopy({}, signal, ring_, ring_offset, device_buffer_, offset,
                                      bytes));
    }
    for (const SemaphoreRef& done : copy_done_) HALIO_RETURN_IF_ERROR(done->Wait(copy_run_));
    return Status();
  }

  Status Staged() {
    SemaphorePoint signal[] = {{timeline_.get(), ++timeline_value_}};
    HALIO_RETURN_IF_ERROR(
        QueueFileTransfer(*device_, write_, {}, signal, file_, 0, device_buffer_, 0, length_));
    return timeline_->Wait(timeline_value_);
  }

  const BenchOptions& options_;
  const std::string& path_;
  const uint64_t length_;
  const uint64_t size_;
  const uint32_t count_;
  const bool write_ = options_.write;
  std::unique_ptr<Device> device_;
  FileRef file_;
  BufferRef ring_;
  BufferRef device_buffer_;
  std::vector<SemaphoreRef> slots_;
  std::vector<uint64_t> slot_values_;
  std::vector<SemaphoreRef> copy_done_;  // one per chunk of the file
  uint64_t copy_run_ = 0;
  SemaphoreRef timeline_;
  uint64_t timeline_value_ = 0;
};

Status MeasureRow(const BenchOptions& options, const std::string& path, uint64_t length,
                  StagedRow* row, std::ostream& err, const std::string& label) {
  StagedRun run(options, path, length, row->staging_size, row->staging_count);
  HALIO_RETURN_IF_ERROR(run.Prepare());
  for (int i = 0; i < options.runs; ++i) {
    if (options.progress) {
      PrintProgress(err, label + " run " + std::to_string(i + 1) + "/" +
                             std::to_string(options.runs));
    }
    HALIO_RETURN_IF_ERROR(run.MeasureOnce(row));
  }
  return Status();
}

std::string Gbps(const std::vector<double>& values) { return FormatFixed(Median(values), 2); }

void PrintStagedTable(const BenchOptions& options, const std::string& path, uint64_t length,
                      const std::vector<StagedRow>& rows, std::ostream& out) {
  out << (options.write ? "staged writes" : "staged reads") << " on local_discrete: " << path
      << " (" << HumanBytes(length) << "), "
      << (options.direct ? "O_DIRECT" : "hot page cache") << ", backend "
      << StagedBackend(options) << ", copy engine "
      << (options.copy_bytes_per_second
              ? FormatFixed(double(options.copy_bytes_per_second) / 1e9, 2) + " GB/s"
              : std::string("unthrottled"))
      << " + " << options.copy_latency_us << " us/copy, median of " << options.runs
      << " runs\n";
  out << std::left << std::setw(10) << "staging" << std::setw(7) << "count" << std::setw(11)
      << (options.write ? "write GB/s" : "read GB/s") << std::setw(11) << "copy GB/s"
      << std::setw(13) << "staged GB/s" << "efficiency\n";
  for (const StagedRow& row : rows) {
    out << std::left << std::setw(10) << HumanBytes(row.staging_size) << std::setw(7)
        << row.staging_count;
    if (!row.error.empty()) {
      out << "error: " << row.error << "\n";
      continue;
    }
    out << std::setw(11) << Gbps(row.file_gbps) << std::setw(11) << Gbps(row.copy_gbps)
        << std::setw(13) << Gbps(row.staged_gbps) << FormatFixed(row.efficiency(), 2) << "\n";
  }
}

std::string StagedJson(const BenchOptions& options, const StagedRow& row, uint64_t length) {
  JsonObject json;
  json.String("mode", "staged")
      .Bool("direct", options.direct)
      .Bool("write", options.write)
      .Number("bytes", length)
      .Number("staging_size", row.staging_size)
      .Number("staging_count", row.staging_count)
      .Number("copy_bytes_per_second", options.copy_bytes_per_second)
      .Number("copy_latency_us", options.copy_latency_us)
      .Number("runs", options.runs);
  if (!row.error.empty()) return json.String("error", row.error).Close();
  return json.Raw(options.write ? "write_gbps" : "read_gbps", Gbps(row.file_gbps))
      .Raw("copy_gbps", Gbps(row.copy_gbps))
      .Raw("staged_gbps", Gbps(row.staged_gbps))
      .Raw("efficiency", FormatFixed(row.efficiency(), 3))
      .Close();
}

}  // namespace

int RunStagedBench(const BenchOptions& options, std::ostream& out, std::ostream& err) {
  if (options.read_percent >= 0 || !options.devices.empty()) {
    err << "halio bench: --staged measures reads (or, with --write, writes) on local_discrete; "
           "drop --read-percent and --device\n";
    return 2;
  }
  BenchFile file;
  if (int rc = PrepareBenchFile(options, err, &file); rc != 0) return rc;
  std::vector<StagedRow> rows;
  int failures = 0;
  for (uint64_t size : options.block_sizes) {
    for (uint32_t count : options.queue_depths) {
      StagedRow row;
      row.staging_size = size;
      row.staging_count = count;
      const std::string label = "[" + std::to_string(rows.size() + 1) + "/" +
                                std::to_string(options.block_sizes.size() *
                                               options.queue_depths.size()) +
                                "] staging " + HumanBytes(size) + " x " + std::to_string(count);
      Status status = MeasureRow(options, file.path, file.length, &row, err, label);
      if (!status.ok()) {
        row.error = status.ToString();
        ++failures;
      }
      if (options.json) out << StagedJson(options, row, file.length) << "\n" << std::flush;
      rows.push_back(std::move(row));
    }
  }
  if (options.progress && platform::StderrIsTerminal()) err << "\r\x1b[K" << std::flush;
  if (!options.json) PrintStagedTable(options, file.path, file.length, rows, out);
  return failures ? 1 : 0;
}

}  // namespace halio::tools
