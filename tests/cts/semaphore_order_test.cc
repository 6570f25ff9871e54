// Conformance: ops run in the order their semaphores say, and failures
// travel down the timeline with their original message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "cts/conformance.h"
#include "semaphore_impl.h"
#include "testing/status_matchers.h"

namespace halio::cts {
namespace {

using ::testing::HasSubstr;

TEST_P(FileTest, ZeroLengthOpsActAsBarriers) {
  FileRef file = MakeFile(PatternBytes(100, 10), MemoryAccess::kReadWrite);
  BufferRef buffer = NewBuffer(100);
  BufferRef other = NewBuffer(100);
  auto timeline = NewSemaphore(1);
  SemaphorePoint p1[] = {{timeline.get(), 1}}, p2[] = {{timeline.get(), 2}},
                 p3[] = {{timeline.get(), 3}}, p4[] = {{timeline.get(), 4}},
                 p5[] = {{timeline.get(), 5}};
  HALIO_ASSERT_OK(device_->QueueRead(p1, p2, file, 100, buffer, 100, 0));
  HALIO_ASSERT_OK(device_->QueueWrite(p2, p3, buffer, 0, file, 50, 0));
  HALIO_ASSERT_OK(device_->QueueFill(p3, p4, buffer, 10, 0, 0xAB, 1));
  HALIO_ASSERT_OK(device_->QueueCopy(p4, p5, buffer, 0, other, 0, 0));
  HALIO_ASSERT_OK(Await(timeline, 5));
  EXPECT_EQ(Bytes(buffer), std::vector<std::byte>(100, std::byte{0xCD}));
  EXPECT_EQ(files_.Contents(), PatternBytes(100, 10));
}

TEST_P(QueueTest, BarrierOrdersLaterWorkAfterItsWaits) {
  BufferRef buffer = NewBuffer(16, std::byte{0});
  auto start = NewSemaphore();
  auto middle = NewSemaphore();
  auto done = NewSemaphore();
  std::atomic<bool> started_before_middle{false};
  SemaphoreTimepoint on_middle;
  on_middle.target = 1;
  struct Check {
    SemaphoreRef start;
    std::atomic<bool>* flag;
  } check{start, &started_before_middle};
  on_middle.user_data = &check;
  on_middle.callback = [](void* user, Status status) {
    auto* c = static_cast<Check*>(user);
    auto value = c->start->Query();
    c->flag->store(status.ok() && value.ok() && *value >= 1);
  };
  Impl(*middle).AddTimepoint(&on_middle);
  SemaphorePoint wait_start[] = {{start.get(), 1}};
  SemaphorePoint signal_middle[] = {{middle.get(), 1}};
  SemaphorePoint signal_done[] = {{done.get(), 1}};
  std::thread signaler([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    start->Signal(1).IgnoreError();
  });
  Status barrier = device_->QueueBarrier(wait_start, signal_middle);
  Status fill = device_->QueueFill(signal_middle, signal_done, buffer, 0, 16, 7, 1);
  signaler.join();
  HALIO_ASSERT_OK(barrier);
  HALIO_ASSERT_OK(fill);
  HALIO_ASSERT_OK(Await(done, 1));
  EXPECT_TRUE(started_before_middle.load());
  EXPECT_EQ(Bytes(buffer), std::vector<std::byte>(16, std::byte{7}));
}

TEST_P(QueueTest, FailedWaitFailsSignalsAndWaitersSeeOriginalMessage) {
  BufferRef buffer = NewBuffer(16, std::byte{0});
  auto upstream = NewSemaphore();
  auto middle = NewSemaphore();
  auto downstream = NewSemaphore();
  upstream->Fail(DataLossError("injected upstream failure"));
  SemaphorePoint wait[] = {{upstream.get(), 1}};
  SemaphorePoint signal_middle[] = {{middle.get(), 1}};
  SemaphorePoint signal_down[] = {{downstream.get(), 1}};
  const Status fill = device_->QueueFill(wait, signal_middle, buffer, 0, 16, 9, 1);
  const Status barrier = device_->QueueBarrier(signal_middle, signal_down);
  ExpectFailsWhileRunning(fill, middle, StatusCode::kAborted);
  ExpectFailsWhileRunning(barrier, downstream, StatusCode::kAborted);
  EXPECT_THAT(Await(middle, 1),
              StatusIs(StatusCode::kAborted, HasSubstr("injected upstream failure")));
  EXPECT_THAT(Await(downstream, 1),
              StatusIs(StatusCode::kAborted, HasSubstr("injected upstream failure")));
  EXPECT_THAT(middle->Query(), StatusIs(StatusCode::kAborted, HasSubstr("DATA_LOSS")));
  // The failed op did not run.
  EXPECT_EQ(Bytes(buffer), std::vector<std::byte>(16, std::byte{0}));
}

}  // namespace
}  // namespace halio::cts
