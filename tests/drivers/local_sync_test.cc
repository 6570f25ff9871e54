// local_sync specifics: errors are returned as well as delivered, and the
// transfer and file ops allocate nothing on the heap.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "halio/drivers.h"
#include "testing/matrix.h"
#include "testing/status_matchers.h"

// Counts every operator new in this test binary while counting is enabled.
// malloc/free back it; gcc cannot see that they pair up.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1);
    // HALIO_TRAP_ON_ALLOCATION=1 stops here under a debugger to show who allocated.
    if (const char* trap = std::getenv("HALIO_TRAP_ON_ALLOCATION"); trap && *trap == '1') {
      __builtin_trap();
    }
  }
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace halio {
namespace {

using ::testing::HasSubstr;

class AllocationCounter {
 public:
  AllocationCounter() {
    g_allocations = 0;
    g_counting = true;
  }
  long Stop() {
    g_counting = false;
    return g_allocations.load();
  }
};

class LocalSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HALIO_ASSERT_OK_AND_ASSIGN(device_, CreateLocalSyncDevice());
    HALIO_ASSERT_OK_AND_ASSIGN(a_, device_->allocator().Allocate(BufferParams{}, 4096));
    HALIO_ASSERT_OK_AND_ASSIGN(b_, device_->allocator().Allocate(BufferParams{}, 4096));
    wait_ = *Semaphore::Create(1);
    signal_ = *Semaphore::Create(0);
  }

  std::unique_ptr<Device> device_;
  BufferRef a_, b_;
  SemaphoreRef wait_, signal_;
};

TEST_F(LocalSyncTest, TransferAndFileOpsDoNoHeapAllocation) {
  testing::TestFiles fd_files(testing::FileKind::kFd);
  testing::TestFiles memory_files(testing::FileKind::kMemory);
  HALIO_ASSERT_OK_AND_ASSIGN(
      FileRef fd_file, fd_files.Make(testing::PatternBytes(8192, 1), MemoryAccess::kReadWrite));
  HALIO_ASSERT_OK_AND_ASSIGN(
      FileRef memory_file, memory_files.Make(testing::PatternBytes(8192, 2), MemoryAccess::kRead));
  std::vector<std::byte> update(64, std::byte{3});
  SemaphorePoint wait[] = {{wait_.get(), 1}};
  uint64_t next = 1;
  AllocationCounter counter;
  for (int i = 0; i < 100; ++i) {
    SemaphorePoint s[] = {{signal_.get(), next++}};
    ASSERT_TRUE(device_->QueueFill(wait, s, a_, 0, 4096, 0xAB, 1).ok());
    s[0].value = next++;
    ASSERT_TRUE(device_->QueueUpdate(wait, s, update, a_, 64).ok());
    s[0].value = next++;
    ASSERT_TRUE(device_->QueueCopy(wait, s, a_, 0, b_, 0, 4096).ok());
    s[0].value = next++;
    ASSERT_TRUE(device_->QueueRead(wait, s, fd_file, 0, a_, 0, 4096).ok());
    s[0].value = next++;
    ASSERT_TRUE(device_->QueueRead(wait, s, memory_file, 0, a_, 0, 4096).ok());
    s[0].value = next++;
    ASSERT_TRUE(device_->QueueWrite(wait, s, b_, 0, fd_file, 4096, 4096).ok());
  }
  EXPECT_EQ(counter.Stop(), 0);
  EXPECT_EQ(*signal_->Query(), next - 1);
}

TEST_F(LocalSyncTest, ReturnsTheExecutionErrorItDeliversToSignals) {
  wait_->Fail(DataLossError("disk on fire"));
  SemaphorePoint wait[] = {{wait_.get(), 1}};
  SemaphorePoint signal[] = {{signal_.get(), 1}};
  EXPECT_THAT(device_->QueueCopy(wait, signal, a_, 0, b_, 0, 16),
              StatusIs(StatusCode::kAborted, HasSubstr("disk on fire")));
  EXPECT_THAT(signal_->Query(), StatusIs(StatusCode::kAborted, HasSubstr("disk on fire")));
}

TEST_F(LocalSyncTest, SignalingBackwardsFailsTheSignalList) {
  auto other = *Semaphore::Create(0);
  SemaphorePoint signal[] = {{other.get(), 1}, {signal_.get(), 0}};
  // Signaling `signal_` to 0 (its current value) is refused; that error then
  // fails the whole signal list so no waiter hangs.
  EXPECT_THAT(device_->QueueBarrier({}, signal), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(signal_->Query(), StatusIs(StatusCode::kAborted));
}

TEST_F(LocalSyncTest, WaitsOnTheCallingThread) {
  auto start = *Semaphore::Create(0);
  SemaphorePoint wait[] = {{start.get(), 1}};
  SemaphorePoint signal[] = {{signal_.get(), 1}};
  std::thread signaler([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    start->Signal(1).IgnoreError();
  });
  HALIO_EXPECT_OK(device_->QueueBarrier(wait, signal));
  // local_sync returns only after the op ran: the signal is already there.
  EXPECT_EQ(*signal_->Query(), 1u);
  signaler.join();
}

TEST(DeviceRegistryTest, UnknownDeviceListsTheKnownOnes) {
  EXPECT_THAT(CreateDevice("tpu"),
              StatusIs(StatusCode::kNotFound, HasSubstr("local_sync")));
}

}  // namespace
}  // namespace halio
