// Latency and throughput micro-benchmarks:
// - BM_SemaphoreSignalToWake: one thread signals, another blocked in Wait
//   wakes and answers; reports the round trip halved (signal -> wake).
// - BM_EngineRead: each I/O engine reading a hot file in chunks of the given
//   size straight into a page-aligned buffer, queue depth 8.
// - BM_ChainedReads: 1 MiB reads of a hot file, each op waiting on the one
//   before, through local_async + io_uring, beside plain pread into the same
//   buffer (BM_PreadReference): the ratio is the device's overhead.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "halio/drivers.h"
#include "async_io.h"

namespace halio {
namespace {

constexpr uint64_t kFileBytes = 256 << 20;

// A hot scratch file shared by the throughput benchmarks.
class HotFile {
 public:
  static HotFile& Get() {
    static HotFile* file = new HotFile();
    return *file;
  }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

 private:
  HotFile() {
    path_ = (std::filesystem::temp_directory_path() /
             ("halio_io_bench_" + std::to_string(::getpid())))
                .string();
    std::vector<char> chunk(1 << 20, 'h');
    std::ofstream out(path_, std::ios::binary);
    for (uint64_t i = 0; i < kFileBytes; i += chunk.size()) out.write(chunk.data(), chunk.size());
    out.close();
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    std::vector<char> warm(1 << 20);
    for (uint64_t i = 0; i < kFileBytes; i += warm.size()) {
      (void)!::pread(fd_, warm.data(), warm.size(), static_cast<off_t>(i));
    }
    std::atexit([] { std::filesystem::remove(HotFile::Get().path_); });
  }
  std::string path_;
  int fd_ = -1;
};

void BM_SemaphoreSignalToWake(benchmark::State& state) {
  auto ping = *Semaphore::Create(0);
  auto pong = *Semaphore::Create(0);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    for (uint64_t value = 1; !stop.load(); ++value) {
      if (!ping->Wait(value, Timeout::After(std::chrono::seconds(1))).ok()) break;
      (void)pong->Signal(value);
    }
  });
  uint64_t value = 0;
  for (auto _ : state) {
    ++value;
    (void)ping->Signal(value);
    (void)pong->Wait(value);
  }
  stop = true;
  (void)ping->Signal(value + 1);
  echo.join();
  state.counters["signal_to_wake_ns"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 2,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SemaphoreSignalToWake)->UseRealTime();

struct Completion {
  std::mutex mutex;
  std::condition_variable cv;
  size_t done = 0;
};

void BM_EngineRead(benchmark::State& state, IoBackend backend) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  IoEngineOptions options;
  options.backend = backend;
  options.use_environment = false;
  auto engine = IoEngine::Create(options);
  if (!engine.ok()) {
    state.SkipWithError(engine.status().ToString().c_str());
    return;
  }
  auto* async = static_cast<AsyncIoEngine*>(engine->get());
  HotFile& file = HotFile::Get();
  constexpr size_t kDepth = 8;
  // The ring of kDepth chunks, page-aligned, faulted in before timing.
  auto* buffer = static_cast<std::byte*>(std::aligned_alloc(4096, chunk * kDepth));
  std::memset(buffer, 0, chunk * kDepth);
  std::vector<AsyncRequest> requests(kDepth);
  // Named as FdFile names its requests, so completions word errors without
  // formatting a name of their own each time.
  const std::string description = "the io_bench hot file";
  Completion completion;
  for (auto _ : state) {
    completion.done = 0;
    size_t submitted = 0;
    for (uint64_t offset = 0; offset < kFileBytes; offset += chunk) {
      AsyncRequest& request = requests[submitted % kDepth];
      if (submitted >= kDepth) {  // wait for this slot's previous read
        std::unique_lock<std::mutex> lock(completion.mutex);
        completion.cv.wait(lock, [&] { return completion.done + kDepth > submitted; });
      }
      request.fd = file.fd();
      request.description = &description;
      request.offset = offset;
      request.data = buffer + (submitted % kDepth) * chunk;
      request.length = chunk;
      request.user_data = &completion;
      request.completion = [](AsyncRequest* r, Status) {
        auto* c = static_cast<Completion*>(r->user_data);
        std::lock_guard<std::mutex> lock(c->mutex);
        ++c->done;
        c->cv.notify_one();
      };
      async->Submit(&request);
      ++submitted;
    }
    std::unique_lock<std::mutex> lock(completion.mutex);
    completion.cv.wait(lock, [&] { return completion.done == submitted; });
  }
  std::free(buffer);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFileBytes));
}
BENCHMARK_CAPTURE(BM_EngineRead, io_uring, IoBackend::kIoUring)
    ->RangeMultiplier(4)->Range(64 << 10, 4 << 20)->UseRealTime();
BENCHMARK_CAPTURE(BM_EngineRead, asio, IoBackend::kAsio)
    ->RangeMultiplier(4)->Range(64 << 10, 4 << 20)->UseRealTime();
BENCHMARK_CAPTURE(BM_EngineRead, sync, IoBackend::kSync)
    ->RangeMultiplier(4)->Range(64 << 10, 4 << 20)->UseRealTime();

void BM_PreadReference(benchmark::State& state) {
  HotFile& file = HotFile::Get();
  constexpr size_t kChunk = 1 << 20;
  auto* buffer = static_cast<std::byte*>(std::aligned_alloc(4096, kChunk));
  std::memset(buffer, 0, kChunk);
  for (auto _ : state) {
    for (uint64_t offset = 0; offset < kFileBytes; offset += kChunk) {
      (void)!::pread(file.fd(), buffer, kChunk, static_cast<off_t>(offset));
    }
  }
  std::free(buffer);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFileBytes));
}
BENCHMARK(BM_PreadReference)->UseRealTime();

void BM_ChainedReads(benchmark::State& state) {
  HotFile& file = HotFile::Get();
  constexpr size_t kChunk = 1 << 20;
  auto device = *CreateDevice("local_async");
  FdFileOptions options;
  options.backend = IoBackend::kIoUring;
  auto opened = FdFile::Open(file.path(), OpenMode::kRead, options);
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return;
  }
  auto buffer = *device->allocator().Allocate({}, kChunk);
  auto timeline = *Semaphore::Create(0);
  uint64_t value = 0;
  for (auto _ : state) {
    for (uint64_t offset = 0; offset < kFileBytes; offset += kChunk) {
      SemaphorePoint wait[] = {{timeline.get(), value}};
      SemaphorePoint signal[] = {{timeline.get(), value + 1}};
      (void)device->QueueRead(wait, signal, *opened, offset, buffer, 0, kChunk);
      ++value;
    }
    (void)timeline->Wait(value);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFileBytes));
}
BENCHMARK(BM_ChainedReads)->UseRealTime();

}  // namespace
}  // namespace halio

BENCHMARK_MAIN();
