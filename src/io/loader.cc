#include "halio/loader.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <new>
#include <set>
#include <string>

#include "halio/remote_file.h"
#include "fd_transfer.h"
#include "file_mapping.h"
#include "host_new.h"

namespace halio {
namespace {

// Tensor views start on cache lines where the layout allows it (tensors
// coalesced into one read keep their distance from the file).
constexpr uint64_t kTensorAlignment = 64;

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// The loader's own bookkeeping comes from the device's HostAllocator; a
// std::bad_alloc from it (or from the C++ heap) becomes RESOURCE_EXHAUSTED in
// LoadParameters.
using Entries = HostVector<const ParameterEntry*>;
using Files = HostVector<FileRef>;
// Per file: the buffer its tensors are views of, or null where they are read.
using ViewSources = HostVector<BufferRef>;

// One read: a run of tensors adjacent in one file.
struct ReadGroup {
  uint32_t file_index;
  uint64_t file_offset;
  uint64_t length;
  uint64_t arena_offset;
  Entries tensors;
};

struct Plan {
  explicit Plan(HostAllocator& host)
      : groups(HostAllocatorAdapter<ReadGroup>(host)),
        arena_offsets(HostAllocatorAdapter<uint64_t>(host)) {}
  HostVector<ReadGroup> groups;
  HostVector<uint64_t> arena_offsets;  // per selected tensor; unused for views
  uint64_t arena_bytes = 0;
};

Result<Entries> Select(const ParameterIndex& index, const std::vector<std::string>& patterns,
                       HostAllocator& host) {
  Entries selected{HostAllocatorAdapter<const ParameterEntry*>(host)};
  if (patterns.empty()) {
    selected.reserve(index.entries().size());
    for (const ParameterEntry& entry : index.entries()) selected.push_back(&entry);
    return selected;
  }
  std::set<const ParameterEntry*, std::less<>, HostAllocatorAdapter<const ParameterEntry*>> chosen{
      HostAllocatorAdapter<const ParameterEntry*>(host)};
  for (const std::string& pattern : patterns) {
    std::vector<const ParameterEntry*> matches = index.Match(pattern);
    if (matches.empty()) {
      return NotFoundError("LoadOptions::select glob '" + pattern + "' matches none of the " +
                           std::to_string(index.size()) +
                           " tensors in the index; ParameterIndex::entries() lists their names");
    }
    chosen.insert(matches.begin(), matches.end());
  }
  // Keep index order (file, then offset): adjacent tensors stay adjacent.
  for (const ParameterEntry& entry : index.entries()) {
    if (chosen.count(&entry)) selected.push_back(&entry);
  }
  return selected;
}

bool Extends(const ReadGroup& group, const ParameterEntry& entry, uint64_t max_read_bytes) {
  return group.file_index == entry.file_index &&
         entry.offset == group.file_offset + group.length &&
         group.length + entry.length <= max_read_bytes;
}

// A memory file's tensors may be views of its storage, and a mapped load's
// of its file mappings, only where the arena would be host memory too: on a
// discrete device the caller asked for device memory, and host views would
// silently leave the weights on the host.
bool ArenaIsHostMemory(Device& device, MemoryType type) {
  return AnySet(type, MemoryType::kHostVisible) || device.allocator().device_memory() == nullptr;
}

void UnmapReleased(void* /*user_data*/, std::span<std::byte> memory) { UnmapFile(memory); }

// `file` mapped whole as a read-only buffer that unmaps when its last view
// goes. Every selected tensor must lie inside the file: touching a mapping
// past the end of its file is SIGBUS, not an error a read would return.
Result<BufferRef> MapAsBuffer(Device& device, const FdFile& file, const Entries& selected,
                              uint32_t file_index) {
  for (const ParameterEntry* entry : selected) {
    if (entry->file_index == file_index && entry->offset + entry->length > file.length()) {
      return DataLossError("tensor '" + entry->name + "' [" + std::to_string(entry->offset) +
                           ", " + std::to_string(entry->offset + entry->length) +
                           ") lies past the end of " + file.description() + " (" +
                           std::to_string(file.length()) + " bytes): the file is truncated");
    }
  }
  HALIO_ASSIGN_OR_RETURN(std::span<std::byte> mapping,
                         MapWholeFile(file.fd(), file.length(), file.description()));
  BufferParams params;
  params.type = MemoryType::kHost;
  params.access = MemoryAccess::kRead | MemoryAccess::kUnaligned;
  Result<BufferRef> buffer =
      device.allocator().Import(params, mapping, ReleaseCallback{&UnmapReleased, nullptr});
  if (!buffer.ok()) UnmapFile(mapping);  // a failed Import leaves the memory to us
  return buffer;
}

bool HasSelectedTensor(const Entries& selected, uint32_t file_index) {
  return std::any_of(selected.begin(), selected.end(), [&](const ParameterEntry* entry) {
    return entry->file_index == file_index;
  });
}

// What each file's tensors are views of: a memory file's storage, and with
// LoadOptions::map an fd file's mapping; none where the arena is device memory.
Result<ViewSources> FindViewSources(Device& device, const LoadOptions& options,
                                    const Entries& selected, const Files& files,
                                    HostAllocator& host) {
  ViewSources sources(files.size(), BufferRef(), HostAllocatorAdapter<BufferRef>(host));
  if (!ArenaIsHostMemory(device, options.memory_type)) return sources;
  for (uint32_t i = 0; i < files.size(); ++i) {
    sources[i] = files[i]->storage_buffer();
    const FdFile* fd_file = FdTransfer::Of(*files[i]);
    if (sources[i] || !options.map || fd_file == nullptr || files[i]->length() == 0 ||
        !HasSelectedTensor(selected, i)) {
      continue;
    }
    HALIO_ASSIGN_OR_RETURN(sources[i], MapAsBuffer(device, *fd_file, selected, i));
  }
  return sources;
}

Plan MakePlan(const Entries& selected, const ViewSources& sources, uint64_t max_read_bytes,
              HostAllocator& host) {
  Plan plan(host);
  plan.arena_offsets.resize(selected.size());
  for (size_t i = 0; i < selected.size(); ++i) {
    const ParameterEntry& entry = *selected[i];
    if (sources[entry.file_index]) continue;  // a view, no read
    if (plan.groups.empty() || !Extends(plan.groups.back(), entry, max_read_bytes)) {
      plan.groups.push_back({entry.file_index, entry.offset, 0,
                             AlignUp(plan.arena_bytes, kTensorAlignment),
                             Entries(HostAllocatorAdapter<const ParameterEntry*>(host))});
    }
    ReadGroup& group = plan.groups.back();
    plan.arena_offsets[i] = group.arena_offset + (entry.offset - group.file_offset);
    group.length += entry.length;
    group.tensors.push_back(&entry);
    plan.arena_bytes = group.arena_offset + group.length;
  }
  return plan;
}

Result<Files> OpenFiles(const ParameterIndex& index, const LoadOptions& options,
                        HostAllocator& host) {
  Files files{HostAllocatorAdapter<FileRef>(host)};
  if (!options.files.empty()) {
    if (options.files.size() != index.files().size()) {
      return InvalidArgumentError("LoadOptions::files has " +
                                  std::to_string(options.files.size()) +
                                  " files; the index has " +
                                  std::to_string(index.files().size()));
    }
    files.assign(options.files.begin(), options.files.end());
    return files;
  }
  files.reserve(index.files().size());
  const OpenMode mode = options.direct ? OpenMode::kRead | OpenMode::kDirect : OpenMode::kRead;
  FdFileOptions file_options = options.file_options;
  if (file_options.host_allocator == nullptr) file_options.host_allocator = &host;
  for (const ParameterFile& file : index.files()) {
    // An index opened from a URL names its files by URL (remote_file.h).
    HALIO_ASSIGN_OR_RETURN(FileRef opened, RemoteFile::IsRemoteUrl(file.path)
                                               ? RemoteFile::Open(file.path,
                                                                  options.remote_options)
                                               : FdFile::Open(file.path, mode, file_options));
    files.push_back(std::move(opened));
  }
  return files;
}

// Waits for `done` to reach 1. When an op failed it, returns that op's own
// error (its code, file and range), not the ABORTED that waiters see.
Status WaitForOp(Semaphore& done) {
  Status status = done.Wait(1);
  if (!status.ok() && !done.failure_cause().ok()) status = done.failure_cause();
  return status;
}

// "loading <what> from <file> [begin, end)": how load errors name their bytes.
std::string DescribeLoad(const std::string& what, const FileRef& file, uint64_t begin,
                         uint64_t end) {
  return "loading " + what + " from " + file->description() + " [" + std::to_string(begin) +
         ", " + std::to_string(end) + ")";
}

std::string DescribeTensor(const ParameterEntry& entry, const FileRef& file) {
  return DescribeLoad("tensor '" + entry.name + "'", file, entry.offset,
                      entry.offset + entry.length);
}

std::string DescribeGroup(const ReadGroup& group, const FileRef& file) {
  if (group.tensors.size() == 1) return DescribeTensor(*group.tensors.front(), file);
  const std::string names = "tensors '" + group.tensors.front()->name + "' .. '" +
                            group.tensors.back()->name + "' (" +
                            std::to_string(group.tensors.size()) + " tensors)";
  return DescribeLoad(names, file, group.file_offset, group.file_offset + group.length);
}

// Queues the plan's reads, at most max_inflight_bytes at a time, and waits
// for all of them; on the first failure it still waits for the rest, so no
// read writes into the arena after this returns.
class Reader {
 public:
  Reader(Device& device, const Files& files, const BufferRef& arena,
         const LoadOptions& options, LoadProgress* progress)
      : device_(device),
        files_(files),
        arena_(arena),
        options_(options),
        progress_(progress),
        inflight_(HostAllocatorAdapter<InFlight>(host())) {}
  // Reads still queued when an exception (std::bad_alloc) unwinds past Run
  // are waited for: none may outlive the load. Only waited for: a destructor
  // must not allocate, queue more reads or call back into the caller.
  ~Reader() {
    for (InFlight& read : inflight_) read.done->Wait(1).IgnoreError();
  }

  Status Run(const HostVector<ReadGroup>& groups) {
    for (const ReadGroup& group : groups) {
      while (!inflight_.empty() && inflight_bytes_ + group.length > options_.max_inflight_bytes) {
        RetireOldest();
      }
      if (!first_error_.ok() || !cancelled_.ok()) break;
      if (options_.cancel && options_.cancel()) {
        NoteCancel();
        break;
      }
      Status queued = Queue(group);
      if (!queued.ok()) {
        first_error_ = Pinpoint(group, std::move(queued));  // local_sync reads inline
        break;
      }
    }
    while (!inflight_.empty()) RetireOldest();
    return cancelled_.ok() ? first_error_ : cancelled_;
  }

 private:
  struct InFlight {
    const ReadGroup* group;
    SemaphoreRef done;
  };

  HostAllocator& host() const { return device_.allocator().host_allocator(); }

  // How often a load with remote files asks LoadOptions::cancel while it
  // waits for a read: a remote read can take seconds.
  static constexpr std::chrono::milliseconds kCancelPoll{10};

  bool HasRemoteFile() const {
    return std::any_of(files_.begin(), files_.end(), [](const FileRef& file) {
      return dynamic_cast<const RemoteFile*>(file.get()) != nullptr;
    });
  }

  // LoadOptions::cancel said so. The reads in flight are aborted where they
  // are waited for (WaitForRead).
  void NoteCancel() { cancelled_ = Cancelled(); }

  // Remote files abort the requests of their reads into the arena, those
  // already sent included, so the reads fail at once instead of running to
  // the end. Only the load's own: other reads of a file the load shares
  // (LoadOptions::files) go on.
  void AbortRemoteReads() {
    for (const FileRef& file : files_) {
      if (auto* remote = dynamic_cast<RemoteFile*>(file.get())) remote->CancelReadsInto(*arena_);
    }
  }

  // WaitForOp, asking LoadOptions::cancel meanwhile when the load has
  // remote files. Once cancelled, the remote reads are aborted before every
  // wait, so that a read a worker only started after the cancel ends at
  // once too.
  Status WaitForRead(Semaphore& done) {
    while (has_remote_file_ && options_.cancel) {
      if (!cancelled_.ok()) AbortRemoteReads();
      const Status waited = done.Wait(1, Timeout::After(kCancelPoll));
      if (waited.code() != StatusCode::kDeadlineExceeded) break;
      if (cancelled_.ok() && options_.cancel()) NoteCancel();
    }
    return WaitForOp(done);
  }

  // The reads in flight are still waited for (none may outlive the load), so
  // the count of bytes done is only a lower bound of what landed.
  Status Cancelled() const {
    return CancelledError("load cancelled (LoadOptions::cancel) after " +
                          std::to_string(progress_->bytes_done) + " of " +
                          std::to_string(progress_->bytes_total) + " bytes; " +
                          std::to_string(inflight_.size()) +
                          " reads in flight were waited for and dropped");
  }

  // Errors that describe the file's bytes, not the load's circumstances.
  static bool IsAboutTheData(const Status& status) {
    return status.code() != StatusCode::kCancelled &&
           status.code() != StatusCode::kResourceExhausted;
  }

  // Reads `entry` alone into its place in the arena and waits for it.
  Status ReadAlone(const ReadGroup& group, const ParameterEntry& entry) {
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0, host()));
    SemaphorePoint signal[] = {{done.get(), 1}};
    HALIO_RETURN_IF_ERROR(device_.QueueRead({}, signal, files_[group.file_index], entry.offset,
                                            arena_,
                                            group.arena_offset + (entry.offset - group.file_offset),
                                            entry.length));
    return WaitForOp(*done);
  }

  // A read of several coalesced tensors failed: re-reads them one at a time
  // so the error names the damaged tensor rather than the whole run. The
  // load fails either way; if every tensor reads alone, the run's own error
  // is returned.
  Status Pinpoint(const ReadGroup& group, Status group_error) {
    const FileRef& file = files_[group.file_index];
    if (group.tensors.size() > 1 && IsAboutTheData(group_error)) {
      for (const ParameterEntry* entry : group.tensors) {
        Status alone = ReadAlone(group, *entry);
        if (alone.ok()) continue;
        // Out of memory or shut down while re-reading says nothing about the
        // tensor: report the run's own error then.
        if (!IsAboutTheData(alone)) break;
        return alone.Annotate(DescribeTensor(*entry, file) +
                              " (found by re-reading alone the tensors of a failed read)");
      }
    }
    return group_error.Annotate(DescribeGroup(group, file));
  }

  Status Queue(const ReadGroup& group) {
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0, host()));
    // Tracked before it is queued, so a queued read is always waited for.
    inflight_.push_back({&group, done});
    SemaphorePoint signal[] = {{done.get(), 1}};
    Status queued = device_.QueueRead({}, signal, files_[group.file_index], group.file_offset,
                                      arena_, group.arena_offset, group.length);
    if (!queued.ok()) {
      inflight_.pop_back();
      return queued;
    }
    inflight_bytes_ += group.length;
    return Status();
  }

  void RetireOldest() {
    InFlight oldest = std::move(inflight_.front());
    inflight_.pop_front();
    inflight_bytes_ -= oldest.group->length;
    Status status = WaitForRead(*oldest.done);
    if (!status.ok()) {
      if (!cancelled_.ok()) return;  // the cancel's own error is the load's
      if (first_error_.ok()) first_error_ = Pinpoint(*oldest.group, std::move(status));
      return;
    }
    progress_->bytes_done += oldest.group->length;
    progress_->tensors_done += oldest.group->tensors.size();
    if (options_.progress) options_.progress(*progress_);
  }

  Device& device_;
  const Files& files_;
  const BufferRef& arena_;
  const LoadOptions& options_;
  LoadProgress* progress_;
  std::deque<InFlight, HostAllocatorAdapter<InFlight>> inflight_;
  uint64_t inflight_bytes_ = 0;
  Status first_error_;
  const bool has_remote_file_ = HasRemoteFile();
  Status cancelled_;  // CANCELLED once LoadOptions::cancel said so
};

Result<BufferRef> AllocateArena(Device& device, MemoryType type, const Plan& plan,
                                const Files& files) {
  // Every tensor byte is read into the arena; zeroing it first would be a
  // whole extra pass over memory (only alignment padding stays unwritten).
  BufferParams params;
  params.type = type;
  params.zero_initialize = false;
  Result<BufferRef> arena = device.allocator().Allocate(params, plan.arena_bytes);
  if (!arena.ok()) {
    const ReadGroup& first = plan.groups.front();
    return Status(arena.status())
        .Annotate("allocating the " + std::to_string(plan.arena_bytes) + "-byte arena on " +
                  device.id() + " for the tensors of " +
                  files[first.file_index]->description() +
                  (files.size() > 1 ? " and the other files" : ""));
  }
  return arena;
}

Result<LoadedParameters> Load(Device& device, const ParameterIndex& index,
                              const LoadOptions& options) {
  HostAllocator& host = device.allocator().host_allocator();
  HALIO_ASSIGN_OR_RETURN(Entries selected, Select(index, options.select, host));
  HALIO_ASSIGN_OR_RETURN(Files files, OpenFiles(index, options, host));
  HALIO_ASSIGN_OR_RETURN(ViewSources sources,
                         FindViewSources(device, options, selected, files, host));
  Plan plan = MakePlan(selected, sources, std::max<uint64_t>(options.max_read_bytes, 1), host);
  LoadedParameters loaded;
  loaded.tensors.reserve(selected.size());
  if (plan.arena_bytes > 0 || !plan.groups.empty()) {
    HALIO_ASSIGN_OR_RETURN(loaded.arena,
                           AllocateArena(device, options.memory_type, plan, files));
  }
  LoadProgress progress;
  progress.tensors_total = selected.size();
  for (const ReadGroup& group : plan.groups) progress.bytes_total += group.length;
  Reader reader(device, files, loaded.arena, options, &progress);
  HALIO_RETURN_IF_ERROR(reader.Run(plan.groups));
  for (size_t i = 0; i < selected.size(); ++i) {
    const ParameterEntry& entry = *selected[i];
    const BufferRef& storage = sources[entry.file_index];
    auto view = storage ? storage->Subspan(entry.offset, entry.length)
                        : loaded.arena->Subspan(plan.arena_offsets[i], entry.length);
    if (!view.ok()) return Status(view.status()).Annotate("tensor '" + entry.name + "'");
    if (storage && !files[entry.file_index]->storage_buffer()) loaded.mapped = true;
    loaded.tensors.push_back({&entry, *std::move(view)});
    loaded.bytes += entry.length;
  }
  // Views of memory files count as done without a read.
  progress.tensors_done = selected.size();
  progress.bytes_done = progress.bytes_total;
  if (options.progress) options.progress(progress);
  return loaded;
}

}  // namespace

Result<BufferRef> ReadBackToHost(Device& device, const BufferRef& buffer) {
  if (buffer->host_visible()) return buffer;
  HostAllocator& host = device.allocator().host_allocator();
  BufferParams params;
  params.zero_initialize = false;  // the copy overwrites every byte
  Result<BufferRef> copy = device.allocator().Allocate(params, buffer->byte_length());
  if (!copy.ok()) {
    return Status(copy.status()).Annotate("reading back " + buffer->Describe() + " to the host");
  }
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0, host));
  SemaphorePoint signal[] = {{done.get(), 1}};
  Status status = device.QueueCopy({}, signal, buffer, 0, *copy, 0, buffer->byte_length());
  if (status.ok()) status = WaitForOp(*done);
  if (!status.ok()) {
    return status.Annotate("copying " + buffer->Describe() + " from " + device.id() +
                           " to the host");
  }
  return copy;
}

Result<LoadedParameters> LoadParameters(Device& device, const ParameterIndex& index,
                                        const LoadOptions& options) {
  try {
    return Load(device, index, options);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for the loader's bookkeeping (" +
                                  std::to_string(index.size()) + " tensors)");
  }
}

}  // namespace halio
