#include "halio/loader.h"

#include <algorithm>
#include <deque>
#include <set>
#include <string>

namespace halio {
namespace {

// Tensor views start on cache lines where the layout allows it (tensors
// coalesced into one read keep their distance from the file).
constexpr uint64_t kTensorAlignment = 64;

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// One read: a run of tensors adjacent in one file.
struct ReadGroup {
  uint32_t file_index;
  uint64_t file_offset;
  uint64_t length;
  uint64_t arena_offset;
  std::vector<const ParameterEntry*> tensors;
};

struct Plan {
  std::vector<ReadGroup> groups;
  std::vector<uint64_t> arena_offsets;  // per selected tensor; unused for views
  uint64_t arena_bytes = 0;
};

Result<std::vector<const ParameterEntry*>> Select(const ParameterIndex& index,
                                                  const std::vector<std::string>& patterns) {
  std::vector<const ParameterEntry*> selected;
  if (patterns.empty()) {
    for (const ParameterEntry& entry : index.entries()) selected.push_back(&entry);
    return selected;
  }
  std::set<const ParameterEntry*> chosen;
  for (const std::string& pattern : patterns) {
    std::vector<const ParameterEntry*> matches = index.Match(pattern);
    if (matches.empty()) {
      return NotFoundError("--select '" + pattern + "' matches none of the " +
                           std::to_string(index.size()) + " tensors");
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

Plan MakePlan(const std::vector<const ParameterEntry*>& selected,
              const std::vector<FileRef>& files, uint64_t max_read_bytes) {
  Plan plan;
  plan.arena_offsets.resize(selected.size());
  for (size_t i = 0; i < selected.size(); ++i) {
    const ParameterEntry& entry = *selected[i];
    if (files[entry.file_index]->storage_buffer()) continue;  // a view, no read
    if (plan.groups.empty() || !Extends(plan.groups.back(), entry, max_read_bytes)) {
      plan.groups.push_back({entry.file_index, entry.offset, 0,
                             AlignUp(plan.arena_bytes, kTensorAlignment), {}});
    }
    ReadGroup& group = plan.groups.back();
    plan.arena_offsets[i] = group.arena_offset + (entry.offset - group.file_offset);
    group.length += entry.length;
    group.tensors.push_back(&entry);
    plan.arena_bytes = group.arena_offset + group.length;
  }
  return plan;
}

Result<std::vector<FileRef>> OpenFiles(const ParameterIndex& index, const LoadOptions& options) {
  if (!options.files.empty()) {
    if (options.files.size() != index.files().size()) {
      return InvalidArgumentError("LoadOptions::files has " +
                                  std::to_string(options.files.size()) +
                                  " files; the index has " +
                                  std::to_string(index.files().size()));
    }
    return options.files;
  }
  std::vector<FileRef> files;
  const OpenMode mode = options.direct ? OpenMode::kRead | OpenMode::kDirect : OpenMode::kRead;
  for (const ParameterFile& file : index.files()) {
    HALIO_ASSIGN_OR_RETURN(FileRef opened, FdFile::Open(file.path, mode, options.file_options));
    files.push_back(std::move(opened));
  }
  return files;
}

std::string DescribeGroup(const ReadGroup& group, const FileRef& file) {
  std::string names = "'" + group.tensors.front()->name + "'";
  if (group.tensors.size() > 1) {
    names = "tensors " + names + " .. '" + group.tensors.back()->name + "' (" +
            std::to_string(group.tensors.size()) + " tensors)";
  } else {
    names = "tensor " + names;
  }
  return "loading " + names + " from " + file->description() + " [" +
         std::to_string(group.file_offset) + ", " +
         std::to_string(group.file_offset + group.length) + ")";
}

// Queues the plan's reads, at most max_inflight_bytes at a time, and waits
// for all of them; on the first failure it still waits for the rest, so no
// read writes into the arena after this returns.
class Reader {
 public:
  Reader(Device& device, const std::vector<FileRef>& files, const BufferRef& arena,
         const LoadOptions& options, LoadProgress* progress)
      : device_(device), files_(files), arena_(arena), options_(options), progress_(progress) {}

  Status Run(const std::vector<ReadGroup>& groups) {
    for (const ReadGroup& group : groups) {
      while (!inflight_.empty() && inflight_bytes_ + group.length > options_.max_inflight_bytes) {
        RetireOldest();
      }
      if (!first_error_.ok()) break;
      Status queued = Queue(group);
      if (!queued.ok()) {
        first_error_ = queued.Annotate(DescribeGroup(group, files_[group.file_index]));
        break;
      }
    }
    while (!inflight_.empty()) RetireOldest();
    return first_error_;
  }

 private:
  struct InFlight {
    const ReadGroup* group;
    SemaphoreRef done;
  };

  Status Queue(const ReadGroup& group) {
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
    SemaphorePoint signal[] = {{done.get(), 1}};
    HALIO_RETURN_IF_ERROR(device_.QueueRead({}, signal, files_[group.file_index],
                                            group.file_offset, arena_, group.arena_offset,
                                            group.length));
    inflight_.push_back({&group, std::move(done)});
    inflight_bytes_ += group.length;
    return Status();
  }

  void RetireOldest() {
    InFlight oldest = std::move(inflight_.front());
    inflight_.pop_front();
    inflight_bytes_ -= oldest.group->length;
    Status status = oldest.done->Wait(1);
    // The read failed the semaphore: report the read's own error (its code,
    // file and range), not the ABORTED that waiters see.
    if (!status.ok() && !oldest.done->failure_cause().ok()) status = oldest.done->failure_cause();
    if (!status.ok()) {
      if (first_error_.ok()) {
        first_error_ = status.Annotate(DescribeGroup(*oldest.group,
                                                     files_[oldest.group->file_index]));
      }
      return;
    }
    progress_->bytes_done += oldest.group->length;
    progress_->tensors_done += oldest.group->tensors.size();
    if (options_.progress) options_.progress(*progress_);
  }

  Device& device_;
  const std::vector<FileRef>& files_;
  const BufferRef& arena_;
  const LoadOptions& options_;
  LoadProgress* progress_;
  std::deque<InFlight> inflight_;
  uint64_t inflight_bytes_ = 0;
  Status first_error_;
};

}  // namespace

Result<LoadedParameters> LoadParameters(Device& device, const ParameterIndex& index,
                                        const LoadOptions& options) {
  HALIO_ASSIGN_OR_RETURN(std::vector<const ParameterEntry*> selected,
                         Select(index, options.select));
  HALIO_ASSIGN_OR_RETURN(std::vector<FileRef> files, OpenFiles(index, options));
  Plan plan = MakePlan(selected, files, std::max<uint64_t>(options.max_read_bytes, 1));
  LoadedParameters loaded;
  if (plan.arena_bytes > 0 || !plan.groups.empty()) {
    // Every tensor byte is read into the arena; zeroing it first would be a
    // whole extra pass over memory (only alignment padding stays unwritten).
    BufferParams params;
    params.zero_initialize = false;
    HALIO_ASSIGN_OR_RETURN(loaded.arena, device.allocator().Allocate(params, plan.arena_bytes));
  }
  LoadProgress progress;
  progress.tensors_total = selected.size();
  for (const ReadGroup& group : plan.groups) progress.bytes_total += group.length;
  Reader reader(device, files, loaded.arena, options, &progress);
  HALIO_RETURN_IF_ERROR(reader.Run(plan.groups));
  for (size_t i = 0; i < selected.size(); ++i) {
    const ParameterEntry& entry = *selected[i];
    const BufferRef& storage = files[entry.file_index]->storage_buffer();
    auto view = storage ? storage->Subspan(entry.offset, entry.length)
                        : loaded.arena->Subspan(plan.arena_offsets[i], entry.length);
    if (!view.ok()) return Status(view.status()).Annotate("tensor '" + entry.name + "'");
    loaded.tensors.push_back({&entry, *std::move(view)});
    loaded.bytes += entry.length;
  }
  // Views of memory files count as done without a read.
  progress.tensors_done = selected.size();
  progress.bytes_done = progress.bytes_total;
  if (options.progress) options.progress(progress);
  return loaded;
}

}  // namespace halio
