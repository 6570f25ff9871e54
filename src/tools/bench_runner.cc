#include "bench_runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <unistd.h>

#include "halio/remote_file.h"
#include "fd_io.h"
#include "system_info.h"

namespace halio::tools {

void PrintProgress(std::ostream& err, const std::string& text) {
  const bool terminal = platform::StderrIsTerminal();
  err << (terminal ? "\r" : "") << text << (terminal ? "\x1b[K" : "\n") << std::flush;
}

// --- the file under test ------------------------------------------------------

Result<std::unique_ptr<ScratchFile>> ScratchFile::Create(const std::string& directory,
                                                         uint64_t size) {
  std::filesystem::path dir =
      directory.empty() ? std::filesystem::temp_directory_path()
                        : std::filesystem::path(directory);
  auto file = std::unique_ptr<ScratchFile>(new ScratchFile());
  file->path_ = (dir / ("halio_bench_" + std::to_string(::getpid()) + ".dat")).string();
  HALIO_RETURN_IF_ERROR(file->Fill(size));
  return file;
}

ScratchFile::~ScratchFile() {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

Status ScratchFile::Fill(uint64_t size) {
  HALIO_ASSIGN_OR_RETURN(
      NativeHandle fd, platform::OpenPath(path_, {.read = true, .write = true, .create = true,
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

// --- one measurement --------------------------------------------------------------

Result<std::unique_ptr<Device>> CreateBenchDevice(const BenchConfig& config) {
  DeviceOptions device_options;
  device_options.queue_depth = config.queue_depth;
  device_options.chunk_size = config.block_size;
  device_options.worker_count = config.workers;
  // Discrete devices move file bytes through staging buffers: the block
  // size and depth are theirs there (the staged read's chunks in flight).
  device_options.staging_buffer_size = config.block_size;
  device_options.staging_buffer_count = config.queue_depth;
  return CreateDevice(config.device, device_options);
}

OpenMode BenchOpenMode(const BenchOptions& options) {
  const OpenMode mode = WritesOf(options) ? OpenMode::kReadWrite : OpenMode::kRead;
  return options.direct ? mode | OpenMode::kDirect : mode;
}

Status BenchRunner::Run(const BenchConfig& config, BenchRow* result, std::ostream& err,
                        const std::string& label) {
  HALIO_ASSIGN_OR_RETURN(device_, CreateBenchDevice(config));
  FdFileOptions file_options;
  file_options.backend = config.backend;
  const OpenMode mode = BenchOpenMode(options_);
  if (RemoteFile::IsRemoteUrl(path_)) {
    // Unless the flags say otherwise, the block size is the size of one
    // range request, and as many are in flight as the bench queues reads.
    RemoteFileOptions remote = options_.remote;
    if (!options_.remote_request_size_given) remote.request_bytes = config.block_size;
    if (!options_.remote_in_flight_given) {
      remote.max_in_flight = std::max<uint32_t>(1, config.queue_depth);
    }
    HALIO_ASSIGN_OR_RETURN(file_, RemoteFile::Open(path_, remote));
  } else {
    HALIO_ASSIGN_OR_RETURN(file_, FdFile::Open(path_, mode, file_options));
  }
  // The device's own memory (device memory on local_discrete), as a loader
  // uses. Pre-faulted (the allocator zero-fills), page-aligned; the offset
  // lets a user see the kernel's slow copy into buffers 1..31 bytes past a
  // page.
  slots_ = config.device == "local_sync" ? 1 : config.queue_depth;
  const uint64_t buffer_bytes =
      options_.whole_buffer ? length_ : config.block_size * slots_;
  HALIO_ASSIGN_OR_RETURN(
      buffer_, device_->allocator().Allocate({.type = MemoryType::kDeviceLocal},
                                             buffer_bytes + options_.buffer_offset));
  slot_semaphores_.clear();
  slot_values_.assign(slots_, 0);
  for (uint32_t i = 0; i < slots_; ++i) slot_semaphores_.push_back(*Semaphore::Create(0));
  if (!options_.direct) HALIO_RETURN_IF_ERROR(Once(config));  // warm the page cache
  for (int run = 0; run < options_.runs; ++run) {
    if (options_.progress) {
      PrintProgress(err, label + " run " + std::to_string(run + 1) + "/" +
                             std::to_string(options_.runs));
    }
    HALIO_RETURN_IF_ERROR(Measure(config, result));
  }
  file_.reset();
  device_.reset();
  buffer_.reset();
  return Status();
}

Status BenchRunner::Measure(const BenchConfig& config, BenchRow* result) {
  if (options_.direct) {
    // Cold reads: whatever a previous run left in the page cache goes.
    HALIO_RETURN_IF_ERROR(
        platform::DropFileCache(static_cast<FdFile*>(file_.get())->fd(), path_));
  }
  using Clock = std::chrono::steady_clock;
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
Status BenchRunner::Once(const BenchConfig& config) {
  HALIO_RETURN_IF_ERROR(options_.whole_buffer ? OnceWhole(config) : OnceRing(config));
  if (options_.write && config.flush) {
    HALIO_RETURN_IF_ERROR(static_cast<FdFile*>(file_.get())->Flush());
  }
  return Status();
}

Status QueueFileTransfer(Device& device, bool write, SemaphoreList wait, SemaphoreList signal,
                         const FileRef& file, uint64_t file_offset, const BufferRef& buffer,
                         uint64_t buffer_offset, uint64_t length) {
  return write ? device.QueueWrite(wait, signal, buffer, buffer_offset, file, file_offset, length)
               : device.QueueRead(wait, signal, file, file_offset, buffer, buffer_offset, length);
}

Status BenchRunner::Queue(SemaphoreList wait, SemaphoreList signal, uint64_t file_offset,
                          uint64_t buffer_offset, uint64_t length) {
  return QueueFileTransfer(*device_, options_.write, wait, signal, file_, file_offset, buffer_,
                           buffer_offset + options_.buffer_offset, length);
}

// Block-size transfers through a ring of `slots_` buffers, each reused
// once the transfer that last used it finished: queue_depth in flight, the
// memory footprint of fio's job.
Status BenchRunner::OnceRing(const BenchConfig& config) {
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
Status BenchRunner::OnceWhole(const BenchConfig& config) {
  const uint64_t step = config.device == "local_sync" ? config.block_size : length_;
  for (uint64_t offset = 0; offset < length_; offset += step) {
    SemaphorePoint signal[] = {{timeline_.get(), ++value_}};
    HALIO_RETURN_IF_ERROR(Queue({}, signal, offset, offset, std::min(step, length_ - offset)));
  }
  return timeline_->Wait(value_);
}

}  // namespace halio::tools
