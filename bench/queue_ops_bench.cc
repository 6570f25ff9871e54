// Queue-operation overhead: ns per op and heap allocations per op for
// fill/update/copy of 64 B and 4 KiB, barrier, and a 4 KiB read of a hot
// file, each with one wait and one signal semaphore, on every device.
//
// local_sync runs each op inline, so an iteration is one complete op. On
// local_async ops are pipelined: each iteration queues one op chained on the
// previous one's signal, and the time includes draining the chain at the
// end, so ns/op is the sustained cost of an op, not just of queuing it.
//
// BM_AsyncOpsWithPendingBacklog checks that cost stays flat while a backlog
// of ops (up to a million) waits on another semaphore.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "alloc_counter.h"
#include "halio/drivers.h"

namespace halio {
namespace {

enum class OpKind { kFill, kUpdate, kCopy, kBarrier, kRead };

struct Fixture {
  std::unique_ptr<Device> device;
  BufferRef source, target;
  FileRef file;
  SemaphoreRef timeline;
  std::vector<std::byte> update;
  std::string path;

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
    timeline = *Semaphore::Create(0);
  }
  ~Fixture() {
    file.reset();
    std::filesystem::remove(path);
  }

  Status Queue(OpKind kind, uint64_t wait_value, uint64_t signal_value, size_t size) {
    SemaphorePoint wait[] = {{timeline.get(), wait_value}};
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
};

void RunQueueOps(benchmark::State& state, const char* device_name, OpKind kind) {
  const size_t size = static_cast<size_t>(state.range(0));
  Fixture fixture(device_name, size);
  uint64_t value = 0;
  // Warm up (first-use allocations, page faults) outside the measurement.
  for (int i = 0; i < 100; ++i, ++value) (void)fixture.Queue(kind, value, value + 1, size);
  (void)fixture.timeline->Wait(value);
  const uint64_t allocations_before = bench::AllocationCount();
  for (auto _ : state) {
    Status status = fixture.Queue(kind, value, value + 1, size);
    ++value;
    if (!status.ok()) state.SkipWithError(status.ToString().c_str());
  }
  Status drained = fixture.timeline->Wait(value);
  if (!drained.ok()) state.SkipWithError(drained.ToString().c_str());
  const double ops = static_cast<double>(state.iterations());
  state.counters["allocs_per_op"] =
      static_cast<double>(bench::AllocationCount() - allocations_before) / ops;
  state.counters["ns_per_op"] = benchmark::Counter(
      ops, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
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
  for (auto _ : state) {
    (void)fixture.Queue(OpKind::kFill, value, value + 1, 64);
    ++value;
  }
  (void)fixture.timeline->Wait(value);
  // Release the backlog (outside the timed loop) so the device can shut down.
  (void)gate->Signal(static_cast<uint64_t>(backlog) + 1);
  if (backlog > 0) (void)parked->Wait(static_cast<uint64_t>(backlog));
  state.counters["ns_per_op"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

#define HALIO_QUEUE_BENCH(device, kind, name)                                          \
  BENCHMARK_CAPTURE(RunQueueOps, device##_##name, #device, OpKind::kind)->Arg(64)->Arg(4096)

HALIO_QUEUE_BENCH(local_sync, kFill, fill);
HALIO_QUEUE_BENCH(local_sync, kUpdate, update);
HALIO_QUEUE_BENCH(local_sync, kCopy, copy);
HALIO_QUEUE_BENCH(local_sync, kBarrier, barrier);
HALIO_QUEUE_BENCH(local_sync, kRead, read_hot);
HALIO_QUEUE_BENCH(local_async, kFill, fill);
HALIO_QUEUE_BENCH(local_async, kUpdate, update);
HALIO_QUEUE_BENCH(local_async, kCopy, copy);
HALIO_QUEUE_BENCH(local_async, kBarrier, barrier);
HALIO_QUEUE_BENCH(local_async, kRead, read_hot);
BENCHMARK(BM_AsyncOpsWithPendingBacklog)->Arg(0)->Arg(1000)->Arg(1000000)->Iterations(200000);

}  // namespace
}  // namespace halio

BENCHMARK_MAIN();
