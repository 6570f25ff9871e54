// The shared queue-op core (src/drivers/common/) with a scheduler written
// here, as a new device would be; and local_async's op free list.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "halio/drivers.h"
#include "common/core_device.h"
#include "local_async/op.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

// Runs each op inline and counts what it was handed.
class CountingScheduler {
 public:
  explicit CountingScheduler(BufferAllocator&) {}
  template <typename Body>
  Status Schedule(SemaphoreList wait, SemaphoreList signal, const Body& body) {
    ++scheduled;
    for (const SemaphorePoint& point : wait) {
      HALIO_RETURN_IF_ERROR(point.semaphore->Wait(point.value));
    }
    HALIO_RETURN_IF_ERROR(body.Run());
    return SignalSemaphores(signal);
  }
  Status WaitIdle(Timeout) { return Status(); }
  int scheduled = 0;
};

using CountingDevice = CoreDevice<CountingScheduler>;

class CoreDeviceTest : public ::testing::Test {
 protected:
  CountingDevice device_{"counting", HostAllocator::System()};
  SemaphoreRef timeline_ = *Semaphore::Create(0);
  SemaphorePoint wait_[1] = {{timeline_.get(), 0}};
  SemaphorePoint signal_[1] = {{timeline_.get(), 1}};
};

TEST_F(CoreDeviceTest, ValidOpsReachTheSchedulerAndRunTheirBody) {
  BufferRef target = *device_.allocator().Allocate({}, 16);
  HALIO_ASSERT_OK(device_.QueueFill(wait_, signal_, target, 0, 16, 0x5A, 1));
  EXPECT_EQ(device_.scheduler().scheduled, 1);
  EXPECT_EQ(*timeline_->Query(), 1u);
  auto bytes = *target->Map(MemoryAccess::kRead);
  EXPECT_EQ(std::to_integer<int>(bytes.data()[15]), 0x5A);
  EXPECT_EQ(device_.id(), "counting");
}

TEST_F(CoreDeviceTest, InvalidOpsNeverReachTheScheduler) {
  BufferRef target = *device_.allocator().Allocate({}, 16);
  EXPECT_THAT(device_.QueueFill(wait_, signal_, nullptr, 0, 16, 0, 1),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(device_.QueueFill(wait_, signal_, target, 0, 16, 0, 3),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(device_.QueueFill(wait_, signal_, target, 8, 16, 0, 1),
              StatusIs(StatusCode::kOutOfRange));
  EXPECT_THAT(device_.QueueCopy(wait_, signal_, target, 0, target, 12, 8),
              StatusIs(StatusCode::kOutOfRange));
  SemaphorePoint null_signal[1] = {{nullptr, 1}};
  EXPECT_THAT(device_.QueueBarrier(wait_, null_signal), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(device_.scheduler().scheduled, 0);
  EXPECT_EQ(*timeline_->Query(), 0u);  // no semaphore was touched
}

// A HostAllocator that counts the blocks it hands out.
class CountingHost final : public HostAllocator {
 public:
  void* Allocate(std::size_t size, std::size_t alignment) noexcept override {
    ++allocations;
    return HostAllocator::System().Allocate(size, alignment);
  }
  void Free(void* memory, std::size_t size, std::size_t alignment) noexcept override {
    ++frees;
    HostAllocator::System().Free(memory, size, alignment);
  }
  std::atomic<int> allocations{0};
  std::atomic<int> frees{0};
};

TEST(OpPoolTest, FreedBlocksAreReusedAndReturnedToTheHostAtTheEnd) {
  CountingHost host;
  {
    local_async::OpPool pool(host);
    void* first = pool.Allocate(200);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % alignof(std::max_align_t), 0u);
    std::memset(first, 0xFF, 200);
    local_async::OpPool::Free(first);
    // Same size class: the freed block comes back, the host is not asked.
    EXPECT_EQ(pool.Allocate(180), first);
    EXPECT_EQ(host.allocations.load(), 1);
    local_async::OpPool::Free(first);
    // Another class, and a block too big to cache.
    void* larger = pool.Allocate(5000);
    void* huge = pool.Allocate(1 << 20);
    ASSERT_NE(larger, nullptr);
    ASSERT_NE(huge, nullptr);
    local_async::OpPool::Free(huge);
    EXPECT_EQ(host.frees.load(), 1);  // the huge block went straight back
    local_async::OpPool::Free(larger);
  }
  EXPECT_EQ(host.frees.load(), host.allocations.load());
}

TEST(OpPoolTest, KeepsABurstUntilTrimmedThenABoundedNumberOfBlocks) {
  CountingHost host;
  local_async::OpPool pool(host);
  std::vector<void*> blocks;
  for (int i = 0; i < 10000; ++i) blocks.push_back(pool.Allocate(100));
  for (void* block : blocks) local_async::OpPool::Free(block);
  // While the device is busy the burst stays cached: a second burst of the
  // same size asks the host for nothing.
  EXPECT_EQ(host.frees.load(), 0);
  for (void*& block : blocks) block = pool.Allocate(100);
  EXPECT_EQ(host.allocations.load(), 10000);
  for (void* block : blocks) local_async::OpPool::Free(block);
  // Trimmed (the device went idle): 10000 blocks of 256 bytes, only about
  // 1 MiB of them stays cached.
  pool.TrimToBound();
  EXPECT_GT(host.frees.load(), 10000 - 4096 - 1);
  EXPECT_LE(host.frees.load(), 10000);
}

}  // namespace
}  // namespace halio
