// `halio bench`'s measurement: the configurations it times, the scratch file
// under test and the loop that times one configuration over the whole file.
//
// Ownership: BenchRunner borrows the options, which must outlive it, and owns
// the device, file, buffer and semaphores of the configuration it runs (made
// by Run, released when it returns). ScratchFile owns its file and deletes it.
// Thread-safety: one thread; a runner runs one configuration at a time.
#ifndef HALIO_SRC_TOOLS_BENCH_RUNNER_H_
#define HALIO_SRC_TOOLS_BENCH_RUNNER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "halio/drivers.h"
#include "bench.h"

namespace halio::tools {

// One row of the table.
struct BenchConfig {
  IoBackend backend;
  std::string device;
  uint64_t block_size;
  uint32_t queue_depth;  // 1 for local_sync: it has one request in flight
  uint32_t workers;
  bool flush = false;    // write benches: include the final fdatasync
};

struct BenchRow {
  BenchConfig config;
  std::vector<double> gbps;  // one per run
  std::vector<double> cpu_percent;
  std::optional<double> fio_gbps;
  std::string fio_job;
  std::string error;
};

// A file of `size` pattern bytes in `directory`, deleted on destruction.
class ScratchFile {
 public:
  // `directory` empty: the system's temporary directory. Errors: those of
  // opening and writing the file, naming its path.
  static Result<std::unique_ptr<ScratchFile>> Create(const std::string& directory,
                                                     uint64_t size);
  ~ScratchFile();
  const std::string& path() const { return path_; }

 private:
  ScratchFile() = default;
  Status Fill(uint64_t size);
  std::string path_;
};

// The file a benchmark reads: --file, or a scratch file of --size bytes.
struct BenchFile {
  std::unique_ptr<ScratchFile> scratch;  // null for --file
  std::string path;
  uint64_t length = 0;
};

// Fills `file` from options.file / size / directory / write. Returns 0, or
// the exit code after printing why on `err` (2: bad arguments, 1: the file).
int PrepareBenchFile(const BenchOptions& options, std::ostream& err, BenchFile* file);

// One progress line on `err`: rewritten in place on a terminal, one line per
// call otherwise (a log keeps every step).
void PrintProgress(std::ostream& err, const std::string& text);

// The device of a row: `config`'s queue depth, block size (as chunk size)
// and workers; on discrete devices the block size and depth are also the
// staging buffers' size and count. Errors: those of CreateDevice.
Result<std::unique_ptr<Device>> CreateBenchDevice(const BenchConfig& config);

// How the file under test opens: read-only unless the benchmark writes,
// O_DIRECT with --direct.
OpenMode BenchOpenMode(const BenchOptions& options);

// Queues one transfer of `length` bytes between `file` at `file_offset` and
// `buffer` at `buffer_offset`: a write (buffer -> file) when `write`, else a
// read. Errors: those of Device::QueueWrite / QueueRead.
Status QueueFileTransfer(Device& device, bool write, SemaphoreList wait, SemaphoreList signal,
                         const FileRef& file, uint64_t file_offset, const BufferRef& buffer,
                         uint64_t buffer_offset, uint64_t length);

class BenchRunner {
 public:
  BenchRunner(const BenchOptions& options, std::string path, uint64_t length)
      : options_(options), path_(std::move(path)), length_(length) {}

  // Prepares device, file and buffer for `config`, warms up, then measures
  // options.runs passes, appending each one's GB/s and CPU % to `result`.
  // Progress goes to `err` under `label`. Errors: those of creating the
  // device, opening the file, allocating and of the transfers themselves.
  Status Run(const BenchConfig& config, BenchRow* result, std::ostream& err,
             const std::string& label);

 private:
  Status Measure(const BenchConfig& config, BenchRow* result);
  Status Once(const BenchConfig& config);
  Status Queue(SemaphoreList wait, SemaphoreList signal, uint64_t file_offset,
               uint64_t buffer_offset, uint64_t length);
  Status OnceRing(const BenchConfig& config);
  Status OnceWhole(const BenchConfig& config);

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

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_BENCH_RUNNER_H_
