// Queue-operation cost: wall time per op and heap allocations per op for
// fill/update/copy of 64 B and 4 KiB, barrier, and a read of a hot file,
// each with one wait and one signal semaphore, on every device.
//
// What ns_per_op is: N ops are submitted pipelined (op i waits for the
// timeline to reach i and signals i + 1), then the thread waits for the last
// signal; ns_per_op = that wall time / N, the drain included. On local_sync
// each call is one complete op; on local_async it is the sustained cost of
// an op, not just of queuing it. (Google Benchmark's own Time column is real
// time without the drain; read the counters.)
//
// Beside each op, in the same run: floor_ns, the work no device can avoid
// (the same memset/memcpy/pread on the same memory plus one uncontended
// semaphore signal), timed over the same N, and overhead_ns = ns_per_op -
// floor_ns, what the device adds.
//
// cpu_ns_per_op is the process's CPU time (every thread: the submitting
// one, the workers) over the same span / N: less moved by other load on the
// machine than wall time, and it shows work a second core hides.
// minor_faults_per_op counts the page faults in that span (fresh memory).
//
// Second rows, labelled `_window1024`, local_async only: the same ops with
// at most 1024 in flight (every 512 ops the thread waits until all but 512
// are done). They are not the pipelined figure; they show what an op costs
// when its memory is still in cache: with no bound the submitting thread
// runs far ahead and a 4 KiB update's captured bytes (in ~100,000 op blocks
// in flight) go cold before a worker copies them.
//
// Rows labelled `_reached`, local_async fill and update only: each op is
// queued once the one before it is done (its wait is reached), as a caller
// that waits for each op does. An update is then written by the queue call
// itself (no worker); a fill pays a worker's wake-up.
//
// Rows labelled `_queued`, the same two: the ops of the plain rows, queued
// in groups of 512 whose first op also waits for a gate that opens once the
// group is queued. No op's wait is reached when it is queued, so every
// update takes the worker path (captured bytes, a copy on a worker), which
// the plain rows stop taking once one update ran in the call (the timeline
// is then always reached when the next is queued).
//
// N = 1e6 by default; `--ops=N` (before the benchmark flags) changes it.
//
// RunQueueOps/reference_handoff/<bytes> is the reference for local_async's
// rows: the least any device that runs an op on another thread can spend.
// This thread copies <bytes> (an update's captured bytes; 0 for the other
// ops) into a slot of a ring of 1024 and publishes it; a second thread,
// spinning, copies them out to one destination and frees the slot. Its
// ns_per_op is that hand-off's sustained cost: two cache lines (the slot's
// flag) and the bytes crossing between the cores, nothing else.
//
// BM_AsyncOpsWithPendingBacklog checks that cost stays flat while a backlog
// of ops (up to a million) waits on another semaphore.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.h"
#include "halio/drivers.h"

namespace halio {
namespace {

int64_t g_ops = 1000000;

enum class OpKind { kFill, kUpdate, kCopy, kBarrier, kRead };

using Clock = std::chrono::steady_clock;

double NanosecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

// The process's CPU time (user + system, all threads) and minor faults.
struct ProcessUsage {
  double cpu_ns;
  double minor_faults;
  static ProcessUsage Now() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto ns = [](const timeval& t) { return t.tv_sec * 1e9 + t.tv_usec * 1e3; };
    return {ns(usage.ru_utime) + ns(usage.ru_stime), static_cast<double>(usage.ru_minflt)};
  }
};

struct Fixture {
  std::unique_ptr<Device> device;
  BufferRef source, target;
  FileRef file;
  SemaphoreRef timeline;
  SemaphoreRef gate;  // the `_queued` rows' groups wait on it
  std::vector<std::byte> update;
  std::string path;
  int fd = -1;  // the same file, for the floor's pread

  Fixture(const char* device_name, size_t size) {
    device = *CreateDevice(device_name);
    source = *device->allocator().Allocate({}, size);
    target = *device->allocator().Allocate({}, size);
    update.assign(size, std::byte{7});
    path = (std::filesystem::temp_directory_path() /
            ("halio_bench_" + std::to_string(::getpid())))
               .string();
    std::ofstream(path, std::ios::binary) << std::string(size, 'x');
    file = *FdFile::Open(path, OpenMode::kRead);
    fd = ::open(path.c_str(), O_RDONLY);
    timeline = *Semaphore::Create(0);
    gate = *Semaphore::Create(0);
  }
  ~Fixture() {
    if (fd >= 0) ::close(fd);
    file.reset();
    std::filesystem::remove(path);
  }

  // With `gate_value` (not 0), the op also waits for the gate.
  Status Queue(OpKind kind, uint64_t wait_value, uint64_t signal_value, size_t size,
               uint64_t gate_value = 0) {
    SemaphorePoint waits[] = {{timeline.get(), wait_value}, {gate.get(), gate_value}};
    SemaphoreList wait(waits, gate_value == 0 ? 1 : 2);
    SemaphorePoint signal[] = {{timeline.get(), signal_value}};
    switch (kind) {
      case OpKind::kFill: return device->QueueFill(wait, signal, target, 0, size, 0xAB, 1);
      case OpKind::kUpdate: return device->QueueUpdate(wait, signal, update, target, 0);
      case OpKind::kCopy: return device->QueueCopy(wait, signal, source, 0, target, 0, size);
      case OpKind::kBarrier: return device->QueueBarrier(wait, signal);
      case OpKind::kRead: return device->QueueRead(wait, signal, file, 0, target, 0, size);
    }
    return Status();
  }

  // ns per op of the op's unavoidable work: its memset/memcpy/pread on the
  // same buffers plus one signal of an uncontended semaphore.
  // Not inlined, so bench/queue_ops_callgrind.sh can subtract it.
  [[gnu::noinline]] double FloorNanoseconds(OpKind kind, size_t size, int64_t ops) {
    std::byte* to = (*target->Map(MemoryAccess::kWrite)).data();
    std::byte* from = (*source->Map(MemoryAccess::kRead)).data();
    SemaphoreRef floor_semaphore = *Semaphore::Create(0);
    const auto start = Clock::now();
    for (int64_t i = 0; i < ops; ++i) {
      switch (kind) {
        case OpKind::kFill: std::memset(to, 0xAB, size); break;
        case OpKind::kUpdate: std::memcpy(to, update.data(), size); break;
        case OpKind::kCopy: std::memmove(to, from, size); break;
        case OpKind::kBarrier: break;
        case OpKind::kRead:
          if (::pread(fd, to, size, 0) != static_cast<ssize_t>(size)) std::abort();
          break;
      }
      benchmark::ClobberMemory();
      if (!floor_semaphore->Signal(static_cast<uint64_t>(i) + 1).ok()) std::abort();
    }
    return NanosecondsSince(start) / static_cast<double>(ops);
  }
};

// `window`: 0 for no bound on the ops in flight; kReached for none (the
// thread waits for each op before queueing the next, so every op's wait is
// reached when it is queued); kQueued for groups of kQueuedGroup ops whose
// first also waits for a gate the thread opens once the group is queued (so
// no op's wait is reached when it is queued); else at most `window` in
// flight (the thread waits for the oldest half every window / 2 ops).
constexpr uint64_t kReached = 1;
constexpr uint64_t kQueued = 2;
constexpr uint64_t kQueuedGroup = 512;

void RunQueueOps(benchmark::State& state, const char* device_name, OpKind kind,
                 uint64_t window) {
  const size_t size = static_cast<size_t>(state.range(0));
  Fixture fixture(device_name, size);
  uint64_t value = 0;
  // Warm up (first-use allocations, page faults) outside the measurement.
  for (int i = 0; i < 100; ++i, ++value) (void)fixture.Queue(kind, value, value + 1, size);
  (void)fixture.timeline->Wait(value);
  const uint64_t allocations_before = bench::AllocationCount();
  const ProcessUsage usage_before = ProcessUsage::Now();
  const auto start = Clock::now();
  uint64_t queued = 0;  // ops queued in this run
  uint64_t gates = 0;   // the gate's value once the current group is queued
  for (auto _ : state) {
    if (window == kReached) {
      Status reached = fixture.timeline->Wait(value);
      if (!reached.ok()) [[unlikely]] state.SkipWithError(reached.ToString().c_str());
    }
    const bool opens_group = window == kQueued && queued % kQueuedGroup == 0;
    if (opens_group) ++gates;
    Status status = fixture.Queue(kind, value, value + 1, size, opens_group ? gates : 0);
    ++value;
    ++queued;
    if (!status.ok()) [[unlikely]] state.SkipWithError(status.ToString().c_str());
    if (window == kQueued && queued % kQueuedGroup == 0) {
      status = fixture.gate->Signal(gates);
      if (!status.ok()) [[unlikely]] state.SkipWithError(status.ToString().c_str());
    }
    if (window > kQueued && value % (window / 2) == 0 && value > window / 2) {
      status = fixture.timeline->Wait(value - window / 2);
      if (!status.ok()) [[unlikely]] state.SkipWithError(status.ToString().c_str());
    }
  }
  if (window == kQueued && queued % kQueuedGroup != 0) (void)fixture.gate->Signal(gates);
  Status drained = fixture.timeline->Wait(value);
  const double wall_ns = NanosecondsSince(start);
  const ProcessUsage usage_after = ProcessUsage::Now();
  if (!drained.ok()) state.SkipWithError(drained.ToString().c_str());
  const double ops = static_cast<double>(state.iterations());
  state.counters["cpu_ns_per_op"] = (usage_after.cpu_ns - usage_before.cpu_ns) / ops;
  state.counters["minor_faults_per_op"] =
      (usage_after.minor_faults - usage_before.minor_faults) / ops;
  state.counters["allocs_per_op"] =
      static_cast<double>(bench::AllocationCount() - allocations_before) / ops;
  const double ns_per_op = wall_ns / ops;
  const double floor_ns = fixture.FloorNanoseconds(kind, size, state.iterations());
  state.counters["ns_per_op"] = ns_per_op;
  state.counters["floor_ns"] = floor_ns;
  state.counters["overhead_ns"] = ns_per_op - floor_ns;
}

void SpinPause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void RunHandOffReference(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  constexpr uint64_t kSlots = 1024;
  const size_t stride = std::max<size_t>(64, (size + 63) / 64 * 64);
  struct alignas(64) Slot {
    std::atomic<uint64_t> full{0};  // the item's number while it waits, 0 when free
  };
  std::vector<Slot> slots(kSlots);
  std::vector<std::byte> ring(kSlots * stride);
  std::vector<std::byte> source(std::max<size_t>(size, 1), std::byte{0x5a});
  std::vector<std::byte> destination(std::max<size_t>(size, 1));
  const uint64_t items = static_cast<uint64_t>(state.max_iterations);
  std::thread consumer([&] {
    for (uint64_t i = 1; i <= items; ++i) {
      Slot& slot = slots[i % kSlots];
      while (slot.full.load(std::memory_order_acquire) != i) SpinPause();
      std::memcpy(destination.data(), ring.data() + (i % kSlots) * stride, size);
      benchmark::ClobberMemory();
      slot.full.store(0, std::memory_order_release);
    }
  });
  uint64_t item = 0;
  const auto start = Clock::now();
  for (auto _ : state) {
    ++item;
    Slot& slot = slots[item % kSlots];
    while (slot.full.load(std::memory_order_acquire) != 0) SpinPause();
    std::memcpy(ring.data() + (item % kSlots) * stride, source.data(), size);
    slot.full.store(item, std::memory_order_release);
  }
  consumer.join();
  state.counters["ns_per_op"] = NanosecondsSince(start) / static_cast<double>(item);
}

void BM_AsyncOpsWithPendingBacklog(benchmark::State& state) {
  const int64_t backlog = state.range(0);
  Fixture fixture("local_async", 64);
  // A backlog of barriers all waiting on a gate nobody signals until the end.
  auto gate = *Semaphore::Create(0);
  auto parked = *Semaphore::Create(0);
  for (int64_t i = 0; i < backlog; ++i) {
    SemaphorePoint wait[] = {{gate.get(), static_cast<uint64_t>(i + 1)}};
    SemaphorePoint signal[] = {{parked.get(), static_cast<uint64_t>(i + 1)}};
    (void)fixture.device->QueueBarrier(wait, signal);
  }
  uint64_t value = 0;
  const auto start = Clock::now();
  for (auto _ : state) {
    (void)fixture.Queue(OpKind::kFill, value, value + 1, 64);
    ++value;
  }
  (void)fixture.timeline->Wait(value);
  state.counters["ns_per_op"] = NanosecondsSince(start) / static_cast<double>(value);
  // Release the backlog (outside the timed part) so the device can shut down.
  (void)gate->Signal(static_cast<uint64_t>(backlog) + 1);
  if (backlog > 0) (void)parked->Wait(static_cast<uint64_t>(backlog));
}

void RegisterAll() {
  struct Case {
    const char* name;
    OpKind kind;
  };
  const Case cases[] = {{"fill", OpKind::kFill},       {"update", OpKind::kUpdate},
                        {"copy", OpKind::kCopy},       {"barrier", OpKind::kBarrier},
                        {"read_hot", OpKind::kRead}};
  for (const char* device : {"local_sync", "local_async"}) {
    for (const Case& c : cases) {
      const std::string name = std::string("RunQueueOps/") + device + "_" + c.name;
      benchmark::RegisterBenchmark(name.c_str(), RunQueueOps, device, c.kind, 0)
          ->Arg(64)
          ->Arg(4096)
          ->Iterations(g_ops)
          ->UseRealTime();
    }
  }
  for (const Case& c : cases) {
    if (c.kind == OpKind::kRead) continue;
    const std::string name = std::string("RunQueueOps/local_async_") + c.name + "_window1024";
    benchmark::RegisterBenchmark(name.c_str(), RunQueueOps, "local_async", c.kind, 1024)
        ->Arg(64)
        ->Arg(4096)
        ->Iterations(g_ops)
        ->UseRealTime();
  }
  // Each op queued once the one before it is done: an update is then
  // written by the call itself; a fill shows what waking a worker costs.
  for (const Case& c : cases) {
    if (c.kind != OpKind::kFill && c.kind != OpKind::kUpdate) continue;
    const std::string name = std::string("RunQueueOps/local_async_") + c.name + "_reached";
    benchmark::RegisterBenchmark(name.c_str(), RunQueueOps, "local_async", c.kind, kReached)
        ->Arg(64)
        ->Arg(4096)
        ->Iterations(std::min<int64_t>(g_ops, 100000))
        ->UseRealTime();
    const std::string queued = std::string("RunQueueOps/local_async_") + c.name + "_queued";
    benchmark::RegisterBenchmark(queued.c_str(), RunQueueOps, "local_async", c.kind, kQueued)
        ->Arg(64)
        ->Arg(4096)
        ->Iterations(g_ops)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("RunQueueOps/reference_handoff", RunHandOffReference)
      ->Arg(0)
      ->Arg(64)
      ->Arg(4096)
      ->Iterations(g_ops)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_AsyncOpsWithPendingBacklog", BM_AsyncOpsWithPendingBacklog)
      ->Arg(0)
      ->Arg(1000)
      ->Arg(1000000)
      ->Iterations(std::min<int64_t>(g_ops, 200000))
      ->UseRealTime();
}

}  // namespace
}  // namespace halio

int main(int argc, char** argv) {
  // --ops=N is ours; the rest goes to Google Benchmark.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--ops=", 6) == 0) {
      halio::g_ops = std::max<int64_t>(1, std::atoll(argv[i] + 6));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  halio::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
