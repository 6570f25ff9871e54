// Allocation-failure sweep: every conformance scenario runs with a
// HostAllocator that fails its Nth allocation, for N = 1, 2, ... until the
// scenario succeeds. Each failing run must end with RESOURCE_EXHAUSTED
// (returned by a call, or delivered by failing a signal semaphore), free
// every allocation it made (no leak), and neither crash nor hang (every wait
// has a deadline). Runs on every device x file kind (fd, fd_cold,
// fd_direct, memory) x backend, with the
// ops' buffers in host memory and in the device's own memory (on
// local_discrete: device memory, file transfers staged through its pool).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstring>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "halio/drivers.h"
#include "halio/file.h"
#include "halio/loader.h"
#include "halio/params.h"
#include "testing/device_buffers.h"
#include "testing/matrix.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using testing::FileKind;
using testing::PatternBytes;

// Fails exactly its Nth Allocate call (1-based) and tracks every block, so a
// test can assert that everything allocated was freed with the size and
// alignment it was allocated with.
class FailNthAllocator final : public HostAllocator {
 public:
  explicit FailNthAllocator(int fail_at) : fail_at_(fail_at) {}

  void* Allocate(std::size_t size, std::size_t alignment) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (++calls_ == fail_at_) return nullptr;
    void* block = HostAllocator::System().Allocate(size, alignment);
    if (block != nullptr) live_[block] = {size, alignment};
    return block;
  }
  void Free(void* memory, std::size_t size, std::size_t alignment) noexcept override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(memory);
      if (it == live_.end() || it->second != std::make_pair(size, alignment)) {
        ++bad_frees_;
        return;  // not ours, or the wrong size: leak it rather than corrupt the heap
      }
      live_.erase(it);
    }
    HostAllocator::System().Free(memory, size, alignment);
  }

  bool injected() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_ >= fail_at_;
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  size_t live() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return live_.size();
  }
  int bad_frees() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return bad_frees_;
  }

 private:
  const int fail_at_;
  mutable std::mutex mutex_;
  int calls_ = 0;
  int bad_frees_ = 0;
  std::map<void*, std::pair<size_t, size_t>> live_;
};

// A hang fails the run instead of blocking the suite.
constexpr auto kWaitLimit = std::chrono::seconds(20);

// What a scenario needs: the failing allocator, where its files come from,
// and which memory its buffers are in.
struct Context {
  HostAllocator& host;
  const testing::MatrixParam& param;
  std::string file_path;                   // holds kFileBytes (fd files)
  std::vector<std::byte>& memory;          // holds kFileBytes (memory files)
  // The device's own memory (MemoryType::kDeviceLocal): on local_discrete
  // fills, copies, updates and file transfers then run on device memory,
  // file transfers through the staging pool and a staged transfer's slots.
  bool device_memory = false;
  uint32_t staging_buffer_count = 1;  // DeviceOptions::staging_buffer_count
};

constexpr size_t kFileBytes = 3 * 4096 + 123;
constexpr size_t kBufferBytes = 8192;

std::vector<std::byte> FileContents() { return PatternBytes(kFileBytes, 7); }

Result<std::unique_ptr<Device>> NewDevice(const Context& context) {
  DeviceOptions options;
  options.host_allocator = &context.host;
  options.worker_count = 2;
  options.chunk_size = 4096;  // several chunks per file request
  options.queue_depth = 2;
  // Staged transfers of several chunks, more than the pool holds at once.
  options.staging_buffer_size = 4096;
  options.staging_buffer_count = context.staging_buffer_count;
  return CreateDevice(context.param.device, options);
}

// The buffers a scenario's ops target: the device's own memory or kHost.
BufferParams TargetParams(const Context& context) {
  return context.device_memory ? testing::DeviceLocalParams() : BufferParams{};
}

Result<BufferRef> NewBuffer(Device& device, const Context& context, uint64_t length) {
  return device.allocator().Allocate(TargetParams(context), length);
}

// Opens the scenario's file as its kind says: fd_direct with O_DIRECT (so
// does `direct`), fd_cold with its pages dropped first.
Result<FileRef> NewFile(const Context& context, MemoryAccess access, bool direct = false) {
  if (context.param.file_kind == FileKind::kMemory) {
    return MemoryFile::Wrap(context.memory, access, {}, BufferAllocator(context.host));
  }
  FdFileOptions options;
  options.backend = context.param.backend;
  options.host_allocator = &context.host;
  OpenMode mode = AnySet(access, MemoryAccess::kWrite) ? OpenMode::kReadWrite : OpenMode::kRead;
  if (direct || context.param.file_kind == FileKind::kFdDirect) mode = mode | OpenMode::kDirect;
  if (context.param.file_kind == FileKind::kFdCold) {
    HALIO_RETURN_IF_ERROR(testing::DropCachedPages(context.file_path));
  }
  return FdFile::Open(context.file_path, mode, options);
}

// Waits for `value`; a failed semaphore reports the failure that caused it.
Status Await(const SemaphoreRef& semaphore, uint64_t value) {
  return testing::AwaitCause(*semaphore, value, kWaitLimit);
}

// Mismatched bytes must fail the test, not pass as a success. The bytes at
// `offset` come back mapped, or through the device (device memory), which
// allocates from the failing allocator too.
Status ExpectBytes(Device& device, const BufferRef& buffer, std::span<const std::byte> expected,
                   uint64_t offset = 0) {
  HALIO_ASSIGN_OR_RETURN(
      std::vector<std::byte> actual,
      testing::ReadBufferBytes(device, buffer, offset, expected.size(), kWaitLimit));
  if (!std::equal(actual.begin(), actual.end(), expected.begin(), expected.end())) {
    return DataLossError("buffer bytes differ from the expected ones");
  }
  return Status();
}

// --- scenarios ---------------------------------------------------------------

Status CreateOnly(const Context& context) {
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  return device->WaitIdle(Timeout::After(kWaitLimit));
}

// fill -> copy -> update, chained through one semaphore.
Status FillCopyUpdate(const Context& context) {
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  HALIO_ASSIGN_OR_RETURN(BufferRef a, NewBuffer(*device, context, kBufferBytes));
  HALIO_ASSIGN_OR_RETURN(BufferRef b, NewBuffer(*device, context, kBufferBytes));
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef timeline, Semaphore::Create(0, context.host));
  SemaphorePoint at0[] = {{timeline.get(), 0}}, at1[] = {{timeline.get(), 1}},
                 at2[] = {{timeline.get(), 2}}, at3[] = {{timeline.get(), 3}};
  HALIO_RETURN_IF_ERROR(device->QueueFill(at0, at1, a, 0, kBufferBytes, 0xA5A5A5A5u, 4));
  HALIO_RETURN_IF_ERROR(device->QueueCopy(at1, at2, a, 0, b, 0, kBufferBytes));
  const std::vector<std::byte> patch = PatternBytes(100, 3);
  HALIO_RETURN_IF_ERROR(device->QueueUpdate(at2, at3, patch, b, 10));
  HALIO_RETURN_IF_ERROR(Await(timeline, 3));
  std::vector<std::byte> expected(kBufferBytes, std::byte{0xA5});
  std::memcpy(expected.data() + 10, patch.data(), patch.size());
  return ExpectBytes(*device, b, expected);
}

Status AllocaDealloca(const Context& context) {
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef timeline, Semaphore::Create(0, context.host));
  SemaphorePoint at0[] = {{timeline.get(), 0}}, at1[] = {{timeline.get(), 1}},
                 at2[] = {{timeline.get(), 2}};
  HALIO_ASSIGN_OR_RETURN(BufferRef transient,
                         device->QueueAlloca(at0, at1, TargetParams(context), kBufferBytes));
  HALIO_RETURN_IF_ERROR(device->QueueDealloca(at1, at2, transient));
  return Await(timeline, 2);
}

Status ReadFile(const Context& context) {
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  HALIO_ASSIGN_OR_RETURN(FileRef file, NewFile(context, MemoryAccess::kRead));
  HALIO_ASSIGN_OR_RETURN(BufferRef buffer, NewBuffer(*device, context, kFileBytes));
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0, context.host));
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_RETURN_IF_ERROR(device->QueueRead({}, signal, file, 0, buffer, 0, kFileBytes));
  HALIO_RETURN_IF_ERROR(Await(done, 1));
  return ExpectBytes(*device, buffer, FileContents());
}

// An unaligned range of an O_DIRECT file into an unaligned buffer offset:
// the head, tail and memory go through bounce memory from the host allocator
// (a plain read where the filesystem refuses O_DIRECT, and for memory files).
Status ReadFileDirect(const Context& context) {
  constexpr uint64_t kOffset = 100, kLength = 2 * 4096 + 7;
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  HALIO_ASSIGN_OR_RETURN(FileRef file, NewFile(context, MemoryAccess::kRead, /*direct=*/true));
  HALIO_ASSIGN_OR_RETURN(BufferRef buffer, NewBuffer(*device, context, kLength + 3));
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0, context.host));
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_RETURN_IF_ERROR(device->QueueRead({}, signal, file, kOffset, buffer, 3, kLength));
  HALIO_RETURN_IF_ERROR(Await(done, 1));
  const std::vector<std::byte> bytes = FileContents();
  return ExpectBytes(*device, buffer, std::span(bytes).subspan(kOffset, kLength), 3);
}

Status WriteFile(const Context& context) {
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  HALIO_ASSIGN_OR_RETURN(FileRef file, NewFile(context, MemoryAccess::kReadWrite));
  HALIO_ASSIGN_OR_RETURN(BufferRef source, NewBuffer(*device, context, kFileBytes));
  HALIO_ASSIGN_OR_RETURN(BufferRef back, NewBuffer(*device, context, kFileBytes));
  const std::vector<std::byte> bytes = PatternBytes(kFileBytes, 11);
  HALIO_RETURN_IF_ERROR(testing::WriteBufferBytes(*device, source, bytes, 0, kWaitLimit));
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef timeline, Semaphore::Create(0, context.host));
  SemaphorePoint at1[] = {{timeline.get(), 1}}, at2[] = {{timeline.get(), 2}};
  HALIO_RETURN_IF_ERROR(device->QueueWrite({}, at1, source, 0, file, 0, kFileBytes));
  HALIO_RETURN_IF_ERROR(device->QueueRead(at1, at2, file, 0, back, 0, kFileBytes));
  HALIO_RETURN_IF_ERROR(Await(timeline, 2));
  return ExpectBytes(*device, back, bytes);
}

// A recorded fill + dispatch replayed by queue_execute, then a direct
// dispatch: command buffers, executables and captured dispatch arguments.
Status DispatchAndExecute(const Context& context) {
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  HALIO_ASSIGN_OR_RETURN(BufferRef buffer, device->allocator().Allocate({}, 64));
  auto add = [](const DispatchState& state) {
    for (std::byte& b : state.bindings[0]) b = std::byte(uint8_t(b) + state.push_constants[0]);
    return Status();
  };
  HALIO_ASSIGN_OR_RETURN(ExecutableRef executable,
                         HostExecutable::Create({{"add", add}}, context.host));
  HALIO_ASSIGN_OR_RETURN(CommandBufferRef commands, CommandBuffer::Create(context.host));
  const uint32_t one[] = {1}, two[] = {2};
  const BufferBinding bindings[] = {{buffer, 0, 64}};
  HALIO_RETURN_IF_ERROR(commands->Fill(buffer, 0, 64, 0x10, 1));
  HALIO_RETURN_IF_ERROR(commands->Dispatch(executable, 0, {1, 1, 1}, one, bindings));
  HALIO_RETURN_IF_ERROR(commands->Finalize());
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef timeline, Semaphore::Create(0, context.host));
  SemaphorePoint at1[] = {{timeline.get(), 1}}, at2[] = {{timeline.get(), 2}};
  HALIO_RETURN_IF_ERROR(device->QueueExecute({}, at1, commands));
  HALIO_RETURN_IF_ERROR(device->QueueDispatch(at1, at2, executable, 0, {1, 1, 1}, two, bindings));
  HALIO_RETURN_IF_ERROR(Await(timeline, 2));
  return ExpectBytes(*device, buffer, std::vector<std::byte>(64, std::byte{0x13}));
}

// A recorded fill + update + copy replayed by queue_execute on the
// scenario's buffers, ending with a copy into a kHost buffer: what command
// buffers do on every device, device memory included.
Status ExecuteTransfers(const Context& context) {
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  HALIO_ASSIGN_OR_RETURN(BufferRef a, NewBuffer(*device, context, kBufferBytes));
  HALIO_ASSIGN_OR_RETURN(BufferRef b, NewBuffer(*device, context, kBufferBytes));
  HALIO_ASSIGN_OR_RETURN(BufferRef host, device->allocator().Allocate({}, kBufferBytes));
  HALIO_ASSIGN_OR_RETURN(CommandBufferRef commands, CommandBuffer::Create(context.host));
  const std::vector<std::byte> patch = PatternBytes(300, 5);
  HALIO_RETURN_IF_ERROR(commands->Fill(a, 0, kBufferBytes, 0x3C, 1));
  HALIO_RETURN_IF_ERROR(commands->Update(patch, a, 1000));
  HALIO_RETURN_IF_ERROR(commands->Copy(a, 0, b, 0, kBufferBytes));
  HALIO_RETURN_IF_ERROR(commands->Copy(b, 0, host, 0, kBufferBytes));
  HALIO_RETURN_IF_ERROR(commands->Finalize());
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0, context.host));
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_RETURN_IF_ERROR(device->QueueExecute({}, signal, commands));
  HALIO_RETURN_IF_ERROR(Await(done, 1));
  std::vector<std::byte> expected(kBufferBytes, std::byte{0x3C});
  std::memcpy(expected.data() + 1000, patch.data(), patch.size());
  HALIO_RETURN_IF_ERROR(ExpectBytes(*device, b, expected));
  return ExpectBytes(*device, host, expected);
}

// Three waits and three signals: lists longer than the inline two.
Status LongSemaphoreLists(const Context& context) {
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  std::vector<SemaphoreRef> in, out;
  std::vector<SemaphorePoint> waits, signals;
  for (int i = 0; i < 3; ++i) {
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef a, Semaphore::Create(1, context.host));
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef b, Semaphore::Create(0, context.host));
    waits.push_back({a.get(), 1});
    signals.push_back({b.get(), 5});
    in.push_back(std::move(a));
    out.push_back(std::move(b));
  }
  HALIO_RETURN_IF_ERROR(device->QueueBarrier(waits, signals));
  for (const SemaphoreRef& semaphore : out) HALIO_RETURN_IF_ERROR(Await(semaphore, 5));
  return Status();
}

// The loader over the sharded safetensors fixture (two files): every tensor
// read (fd files) or viewed (memory files) with the file's bytes.
Status LoadShardedParameters(const Context& context) {
  static const std::string kIndexPath =
      std::string(HALIO_IO_TESTDATA) + "/st_sharded.safetensors.index.json";
  HALIO_ASSIGN_OR_RETURN(ParameterIndex index, OpenParameterIndex(kIndexPath));
  HALIO_ASSIGN_OR_RETURN(auto device, NewDevice(context));
  LoadOptions options;
  options.file_options.backend = context.param.backend;
  options.max_inflight_bytes = 64;  // several waits in flight
  std::vector<std::vector<std::byte>> shard_bytes;
  for (const ParameterFile& file : index.files()) {
    shard_bytes.push_back(testing::ReadFileBytes(file.path));
  }
  if (context.param.file_kind == FileKind::kMemory) {
    for (std::vector<std::byte>& bytes : shard_bytes) {
      HALIO_ASSIGN_OR_RETURN(FileRef file, MemoryFile::Wrap(bytes, MemoryAccess::kRead, {},
                                                           BufferAllocator(context.host)));
      options.files.push_back(std::move(file));
    }
  }
  HALIO_ASSIGN_OR_RETURN(LoadedParameters loaded, LoadParameters(*device, index, options));
  if (loaded.tensors.size() != index.size()) return DataLossError("tensors missing");
  for (const LoadedTensor& tensor : loaded.tensors) {
    const std::vector<std::byte>& file = shard_bytes[tensor.entry->file_index];
    const std::vector<std::byte> expected(file.begin() + tensor.entry->offset,
                                          file.begin() + tensor.entry->offset +
                                              tensor.entry->length);
    HALIO_RETURN_IF_ERROR(ExpectBytes(*device, tensor.buffer, expected));
  }
  return Status();
}

using Scenario = Status (*)(const Context&);
struct NamedScenario {
  const char* name;
  Scenario run;
  bool device_memory = false;  // Context::device_memory
  // Three staging buffers, all allocated with the device (so a failure of
  // the second or third is swept too).
  uint32_t staging_buffer_count = 3;
};
// The scenarios whose buffers are the ops' targets run twice: on kHost
// buffers and on the device's own memory ("_device_memory"). Host
// executables run on host memory only, and the loader allocates its own.
constexpr NamedScenario kScenarios[] = {
    {"create_device", &CreateOnly},
    {"fill_copy_update", &FillCopyUpdate},
    {"fill_copy_update_device_memory", &FillCopyUpdate, true},
    {"alloca_dealloca", &AllocaDealloca},
    {"alloca_dealloca_device_memory", &AllocaDealloca, true},
    {"read_file", &ReadFile},
    {"read_file_device_memory", &ReadFile, true},
    {"read_file_direct", &ReadFileDirect},
    {"read_file_direct_device_memory", &ReadFileDirect, true},
    {"write_file", &WriteFile},
    {"write_file_device_memory", &WriteFile, true},
    {"execute_transfers", &ExecuteTransfers},
    {"execute_transfers_device_memory", &ExecuteTransfers, true},
    {"dispatch_execute", &DispatchAndExecute},
    {"long_semaphore_lists", &LongSemaphoreLists},
    {"load_parameters", &LoadShardedParameters},
};

// --- the sweep ----------------------------------------------------------------

// Runs `scenario` on `param` failing allocation 1, 2, ... until it
// succeeds; returns how many allocations the successful run made, or -1
// after a test failure.
int Sweep(const testing::MatrixParam& param, const NamedScenario& scenario) {
  constexpr int kMaxAllocations = 5000;  // far above any scenario: a runaway is a bug
  for (int fail_at = 1; fail_at <= kMaxAllocations; ++fail_at) {
    // fd_cold and fd_direct files live where pages drop and O_DIRECT holds.
    const bool on_storage = param.file_kind == FileKind::kFdCold ||
                            param.file_kind == FileKind::kFdDirect;
    testing::TempFile file(on_storage ? testing::StorageDirectory()
                                      : std::filesystem::temp_directory_path(),
                           FileContents());
    std::vector<std::byte> memory = FileContents();
    FailNthAllocator host(fail_at);
    Status status =
        scenario.run(Context{host, param, file.path(), memory, scenario.device_memory,
                             scenario.staging_buffer_count});
    SCOPED_TRACE(std::string(scenario.name) + " failing allocation " + std::to_string(fail_at));
    EXPECT_EQ(host.live(), 0u) << "leaked after: " << status.ToString();
    EXPECT_EQ(host.bad_frees(), 0);
    if (status.ok()) {
      // Success is only acceptable once the failure was never reached: an
      // injected failure must not be swallowed.
      EXPECT_FALSE(host.injected()) << "the scenario succeeded despite the failure";
      return host.calls();
    }
    EXPECT_THAT(status, StatusIs(StatusCode::kResourceExhausted)) << status.ToString();
    if (::testing::Test::HasFailure()) return -1;
  }
  ADD_FAILURE() << scenario.name << " still failing after " << kMaxAllocations;
  return -1;
}

class AllocFailureTest : public ::testing::TestWithParam<testing::MatrixParam> {
 protected:
  void SetUp() override { HALIO_SKIP_IF_UNAVAILABLE(GetParam()); }
};

TEST_P(AllocFailureTest, EveryScenarioFailsCleanlyAtEveryAllocation) {
  for (const NamedScenario& scenario : kScenarios) {
    const int allocations = Sweep(GetParam(), scenario);
    ASSERT_GT(allocations, 0) << scenario.name;
    RecordProperty(scenario.name, allocations);
  }
}

// A failed allocation of the staging buffers (one block of count + 1) must fail the
// device (RESOURCE_EXHAUSTED), not leave a device with fewer buffers
// (staging is allocated when the device is created: StagingPool::Preallocate).
TEST(StagedTransferAllocFailureTest,
     FailingASecondStagingBufferFailsWithResourceExhausted) {
  const testing::MatrixParam param{"local_discrete", IoBackend::kSync, FileKind::kFd};
  const NamedScenario scenario{"read_file_device_memory_two_staging_buffers", &ReadFile,
                               /*device_memory=*/true, /*staging_buffer_count=*/2};
  EXPECT_GT(Sweep(param, scenario), 0);
}

INSTANTIATE_TEST_SUITE_P(AllDevices, AllocFailureTest,
                         ::testing::ValuesIn(testing::Matrix({FileKind::kFd, FileKind::kFdCold,
                                                              FileKind::kFdDirect,
                                                              FileKind::kMemory})),
                         testing::MatrixParamName);

}  // namespace
}  // namespace halio
