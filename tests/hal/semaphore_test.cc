// Timeline semaphores: signal/wait/fail, timepoints, multi-waits, and a
// concurrent timepoint stress test.
#include "halio/hal/semaphore.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "semaphore_impl.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Semaphore::Create is the only way to make a semaphore (devices rely on
// shared_from_this), and SemaphoreImpl is the only kind there is.
static_assert(!std::is_default_constructible_v<Semaphore>);
static_assert(!std::is_constructible_v<Semaphore, uint64_t>);
static_assert(!std::is_constructible_v<SemaphoreImpl, uint64_t>);
static_assert(!std::is_copy_constructible_v<Semaphore>);

SemaphoreRef MakeSemaphore(uint64_t initial = 0) {
  Result<SemaphoreRef> result = Semaphore::Create(initial);
  EXPECT_THAT(result, IsOk());
  return result.ok() ? std::move(result).value() : nullptr;
}

// Waits (bounded) until `flag` is set by another thread, so a test that
// would otherwise hang fails instead.
bool EventuallyTrue(const std::atomic<bool>& flag) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Records each callback of one timepoint.
struct Recorder {
  SemaphoreTimepoint timepoint;
  int calls = 0;
  Status status;
  explicit Recorder(uint64_t target) {
    timepoint.target = target;
    timepoint.callback = &Fn;
    timepoint.user_data = this;
  }
  static void Fn(void* user_data, Status status) {
    auto* self = static_cast<Recorder*>(user_data);
    ++self->calls;
    self->status = std::move(status);
  }
};

// --- Value ------------------------------------------------------------------

TEST(SemaphoreTest, CreateAndQuery) {
  SemaphoreRef sem = MakeSemaphore(5);
  ASSERT_NE(sem, nullptr);
  HALIO_ASSERT_OK_AND_ASSIGN(uint64_t value, sem->Query());
  EXPECT_EQ(value, 5u);
  EXPECT_THAT(sem->failure(), IsOk());
}

TEST(SemaphoreTest, SignalIncreasesValue) {
  SemaphoreRef sem = MakeSemaphore();
  HALIO_ASSERT_OK(sem->Signal(1));
  HALIO_ASSERT_OK(sem->Signal(10));
  HALIO_ASSERT_OK_AND_ASSIGN(uint64_t value, sem->Query());
  EXPECT_EQ(value, 10u);
}

TEST(SemaphoreTest, NonIncreasingSignalIsInvalidArgument) {
  SemaphoreRef sem = MakeSemaphore(7);
  EXPECT_THAT(sem->Signal(7),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("signal semaphore to 7"), HasSubstr("already at 7"))));
  EXPECT_THAT(sem->Signal(3), StatusIs(StatusCode::kInvalidArgument));
  HALIO_ASSERT_OK_AND_ASSIGN(uint64_t value, sem->Query());
  EXPECT_EQ(value, 7u);
}

// --- Wait -------------------------------------------------------------------

TEST(SemaphoreTest, WaitAlreadySatisfiedReturnsImmediately) {
  SemaphoreRef sem = MakeSemaphore(3);
  HALIO_EXPECT_OK(sem->Wait(3, Timeout::Immediate()));
  HALIO_EXPECT_OK(sem->Wait(1, Timeout::Immediate()));
  HALIO_EXPECT_OK(sem->Wait(0));
}

TEST(SemaphoreTest, WaitTimesOut) {
  SemaphoreRef sem = MakeSemaphore(1);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(sem->Wait(2, Timeout::After(10ms)),
              StatusIs(StatusCode::kDeadlineExceeded,
                       AllOf(HasSubstr("reach 2"), HasSubstr("it is at 1"))));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 10ms);
}

TEST(SemaphoreTest, WaitImmediateIsDeadlineExceeded) {
  SemaphoreRef sem = MakeSemaphore();
  EXPECT_THAT(sem->Wait(1, Timeout::Immediate()),
              StatusIs(StatusCode::kDeadlineExceeded));
}

TEST(SemaphoreTest, SignalFromAnotherThreadWakesWaiter) {
  SemaphoreRef sem = MakeSemaphore();
  std::atomic<bool> done{false};
  Status waited = UnknownError("not run");
  std::thread waiter([&] {
    waited = sem->Wait(2, Timeout::After(10s));
    done = true;
  });
  std::this_thread::sleep_for(20ms);
  HALIO_EXPECT_OK(sem->Signal(1));
  std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(done.load());  // 1 does not satisfy a wait for 2
  HALIO_EXPECT_OK(sem->Signal(2));
  EXPECT_TRUE(EventuallyTrue(done));
  waiter.join();
  EXPECT_THAT(waited, IsOk());
}

// --- Fail -------------------------------------------------------------------

TEST(SemaphoreTest, FailAbortsBlockedAndLaterWaiters) {
  SemaphoreRef sem = MakeSemaphore();
  std::atomic<bool> done{false};
  Status waited;
  std::thread waiter([&] {
    waited = sem->Wait(1, Timeout::After(10s));
    done = true;
  });
  std::this_thread::sleep_for(20ms);
  sem->Fail(DataLossError("disk read of /w.bin failed"));
  EXPECT_TRUE(EventuallyTrue(done));
  waiter.join();
  auto matches_failure =
      StatusIs(StatusCode::kAborted,
               AllOf(HasSubstr("DATA_LOSS"), HasSubstr("disk read of /w.bin failed")));
  EXPECT_THAT(waited, matches_failure);
  EXPECT_THAT(sem->Wait(1), matches_failure);
  EXPECT_THAT(sem->Wait(0, Timeout::Immediate()), matches_failure);
}

TEST(SemaphoreTest, QueryAndSignalAfterFailAreAborted) {
  SemaphoreRef sem = MakeSemaphore(4);
  sem->Fail(InternalError("kernel crashed"));
  EXPECT_THAT(sem->Query(), StatusIs(StatusCode::kAborted, HasSubstr("kernel crashed")));
  EXPECT_THAT(sem->Signal(5), StatusIs(StatusCode::kAborted, HasSubstr("kernel crashed")));
  EXPECT_THAT(sem->failure(), StatusIs(StatusCode::kAborted));
}

TEST(SemaphoreTest, FirstFailureWins) {
  SemaphoreRef sem = MakeSemaphore();
  sem->Fail(NotFoundError("first"));
  sem->Fail(OutOfRangeError("second"));
  Status failure = sem->failure();
  EXPECT_THAT(failure, StatusIs(StatusCode::kAborted,
                                AllOf(HasSubstr("NOT_FOUND: first"))));
  EXPECT_THAT(std::string(failure.message()), ::testing::Not(HasSubstr("second")));
}

TEST(SemaphoreTest, FailWithOkStatusStillFails) {
  SemaphoreRef sem = MakeSemaphore();
  sem->Fail(Status());
  EXPECT_THAT(sem->Query(), StatusIs(StatusCode::kAborted, HasSubstr("UNKNOWN")));
  EXPECT_THAT(sem->Wait(1, Timeout::Immediate()), StatusIs(StatusCode::kAborted));
}

// --- Timepoints -------------------------------------------------------------

TEST(SemaphoreTimepointTest, RunsInlineWhenAlreadySatisfied) {
  SemaphoreRef sem = MakeSemaphore(5);
  Recorder recorder(5);
  Impl(*sem).AddTimepoint(&recorder.timepoint);
  EXPECT_EQ(recorder.calls, 1);
  EXPECT_THAT(recorder.status, IsOk());
  EXPECT_FALSE(Impl(*sem).CancelTimepoint(&recorder.timepoint));
}

TEST(SemaphoreTimepointTest, RunsOnSignalWhenReachedNotBefore) {
  SemaphoreRef sem = MakeSemaphore();
  Recorder recorder(3);
  Impl(*sem).AddTimepoint(&recorder.timepoint);
  EXPECT_EQ(recorder.calls, 0);
  HALIO_EXPECT_OK(sem->Signal(2));
  EXPECT_EQ(recorder.calls, 0);
  HALIO_EXPECT_OK(sem->Signal(3));
  EXPECT_EQ(recorder.calls, 1);
  EXPECT_THAT(recorder.status, IsOk());
  HALIO_EXPECT_OK(sem->Signal(4));
  EXPECT_EQ(recorder.calls, 1);
}

TEST(SemaphoreTimepointTest, OutOfOrderTargetsFireInTheRightSignals) {
  SemaphoreRef sem = MakeSemaphore();
  Recorder r5(5), r2(2), r8(8), r3(3), r2b(2);
  for (Recorder* r : {&r5, &r2, &r8, &r3, &r2b}) Impl(*sem).AddTimepoint(&r->timepoint);
  HALIO_EXPECT_OK(sem->Signal(1));
  EXPECT_EQ(r2.calls + r2b.calls + r3.calls + r5.calls + r8.calls, 0);
  HALIO_EXPECT_OK(sem->Signal(2));
  EXPECT_EQ(r2.calls, 1);
  EXPECT_EQ(r2b.calls, 1);
  EXPECT_EQ(r3.calls + r5.calls + r8.calls, 0);
  HALIO_EXPECT_OK(sem->Signal(6));
  EXPECT_EQ(r3.calls, 1);
  EXPECT_EQ(r5.calls, 1);
  EXPECT_EQ(r8.calls, 0);
  HALIO_EXPECT_OK(sem->Signal(8));
  EXPECT_EQ(r8.calls, 1);
  EXPECT_EQ(r2.calls + r2b.calls + r3.calls + r5.calls, 4);
}

TEST(SemaphoreTimepointTest, FailRunsPendingTimepointsWithAborted) {
  SemaphoreRef sem = MakeSemaphore();
  Recorder a(1), b(100);
  Impl(*sem).AddTimepoint(&a.timepoint);
  Impl(*sem).AddTimepoint(&b.timepoint);
  sem->Fail(UnavailableError("device lost"));
  for (Recorder* r : {&a, &b}) {
    EXPECT_EQ(r->calls, 1);
    EXPECT_THAT(r->status, StatusIs(StatusCode::kAborted, HasSubstr("device lost")));
  }
  Recorder late(1);
  Impl(*sem).AddTimepoint(&late.timepoint);  // already failed: runs inline
  EXPECT_EQ(late.calls, 1);
  EXPECT_THAT(late.status, StatusIs(StatusCode::kAborted));
}

TEST(SemaphoreTimepointTest, CancelBeforeSignalPreventsCallback) {
  SemaphoreRef sem = MakeSemaphore();
  Recorder cancelled(2), kept(2);
  Impl(*sem).AddTimepoint(&cancelled.timepoint);
  Impl(*sem).AddTimepoint(&kept.timepoint);
  EXPECT_TRUE(Impl(*sem).CancelTimepoint(&cancelled.timepoint));
  HALIO_EXPECT_OK(sem->Signal(5));
  sem->Fail(InternalError("later"));
  EXPECT_EQ(cancelled.calls, 0);
  EXPECT_EQ(kept.calls, 1);
}

TEST(SemaphoreTimepointTest, CancelAfterCallbackRanReturnsFalse) {
  SemaphoreRef sem = MakeSemaphore();
  Recorder recorder(1);
  Impl(*sem).AddTimepoint(&recorder.timepoint);
  HALIO_EXPECT_OK(sem->Signal(1));
  EXPECT_EQ(recorder.calls, 1);
  EXPECT_FALSE(Impl(*sem).CancelTimepoint(&recorder.timepoint));
  EXPECT_EQ(recorder.calls, 1);
}

TEST(SemaphoreTimepointTest, CallbackMaySignalAnotherSemaphore) {
  SemaphoreRef first = MakeSemaphore();
  SemaphoreRef second = MakeSemaphore();
  SemaphoreTimepoint chain;
  chain.target = 1;
  chain.user_data = second.get();
  chain.callback = [](void* user_data, Status status) {
    if (status.ok()) static_cast<Semaphore*>(user_data)->Signal(1).IgnoreError();
  };
  Impl(*first).AddTimepoint(&chain);
  HALIO_EXPECT_OK(first->Signal(1));
  HALIO_EXPECT_OK(second->Wait(1, Timeout::Immediate()));
}

// --- WaitSemaphores ---------------------------------------------------------

TEST(WaitSemaphoresTest, EmptyListIsOk) {
  HALIO_EXPECT_OK(WaitSemaphores({}, WaitMode::kAll, Timeout::Immediate()));
  HALIO_EXPECT_OK(WaitSemaphores({}, WaitMode::kAny, Timeout::Immediate()));
}

TEST(WaitSemaphoresTest, NullSemaphoreIsInvalidArgument) {
  SemaphoreRef sem = MakeSemaphore(1);
  SemaphorePoint points[] = {{sem.get(), 1}, {nullptr, 1}};
  EXPECT_THAT(WaitSemaphores(points, WaitMode::kAll),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("wait list entry 1")));
  EXPECT_THAT(WaitSemaphores(points, WaitMode::kAny),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(WaitSemaphoresTest, AnyWakesOnEitherSignal) {
  for (int which = 0; which < 2; ++which) {
    SemaphoreRef a = MakeSemaphore();
    SemaphoreRef b = MakeSemaphore();
    SemaphorePoint points[] = {{a.get(), 1}, {b.get(), 1}};
    std::atomic<bool> done{false};
    Status waited = UnknownError("not run");
    std::thread waiter([&] {
      waited = WaitSemaphores(points, WaitMode::kAny, Timeout::After(10s));
      done = true;
    });
    std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(done.load());
    HALIO_EXPECT_OK((which == 0 ? a : b)->Signal(1));
    EXPECT_TRUE(EventuallyTrue(done)) << "signalled semaphore " << which;
    waiter.join();
    EXPECT_THAT(waited, IsOk());
  }
}

TEST(WaitSemaphoresTest, AllNeedsBoth) {
  SemaphoreRef a = MakeSemaphore();
  SemaphoreRef b = MakeSemaphore();
  SemaphorePoint points[] = {{a.get(), 1}, {b.get(), 2}};
  std::atomic<bool> done{false};
  Status waited = UnknownError("not run");
  std::thread waiter([&] {
    waited = WaitSemaphores(points, WaitMode::kAll, Timeout::After(10s));
    done = true;
  });
  HALIO_EXPECT_OK(a->Signal(1));
  HALIO_EXPECT_OK(b->Signal(1));
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(done.load());  // b is not at 2 yet
  HALIO_EXPECT_OK(b->Signal(2));
  EXPECT_TRUE(EventuallyTrue(done));
  waiter.join();
  EXPECT_THAT(waited, IsOk());
}

TEST(WaitSemaphoresTest, AllWithOneMissingTimesOut) {
  SemaphoreRef a = MakeSemaphore(1);
  SemaphoreRef b = MakeSemaphore();
  SemaphorePoint points[] = {{a.get(), 1}, {b.get(), 1}};
  EXPECT_THAT(WaitSemaphores(points, WaitMode::kAll, Timeout::After(10ms)),
              StatusIs(StatusCode::kDeadlineExceeded));
}

TEST(WaitSemaphoresTest, AnyWithTimeoutIsDeadlineExceeded) {
  SemaphoreRef a = MakeSemaphore();
  SemaphoreRef b = MakeSemaphore();
  SemaphorePoint points[] = {{a.get(), 1}, {b.get(), 1}};
  EXPECT_THAT(WaitSemaphores(points, WaitMode::kAny, Timeout::After(10ms)),
              StatusIs(StatusCode::kDeadlineExceeded, HasSubstr("any of 2")));
  EXPECT_THAT(WaitSemaphores(points, WaitMode::kAny, Timeout::Immediate()),
              StatusIs(StatusCode::kDeadlineExceeded));
  // The timed-out wait left no timepoint behind: signalling is still clean.
  HALIO_EXPECT_OK(a->Signal(1));
  HALIO_EXPECT_OK(b->Signal(1));
}

TEST(WaitSemaphoresTest, AnyAlreadySatisfiedReturnsAtOnce) {
  SemaphoreRef a = MakeSemaphore();
  SemaphoreRef b = MakeSemaphore(3);
  SemaphorePoint points[] = {{a.get(), 1}, {b.get(), 2}};
  HALIO_EXPECT_OK(WaitSemaphores(points, WaitMode::kAny, Timeout::Immediate()));
}

TEST(WaitSemaphoresTest, AnyWithAFailedSemaphoreIsAborted) {
  SemaphoreRef a = MakeSemaphore();
  SemaphoreRef b = MakeSemaphore();
  b->Fail(DataLossError("torn page"));
  SemaphorePoint points[] = {{a.get(), 1}, {b.get(), 1}};
  EXPECT_THAT(WaitSemaphores(points, WaitMode::kAny, Timeout::After(10s)),
              StatusIs(StatusCode::kAborted, HasSubstr("torn page")));
}

TEST(WaitSemaphoresTest, AnyAbortedWhenOneFailsWhileWaiting) {
  SemaphoreRef a = MakeSemaphore();
  SemaphoreRef b = MakeSemaphore();
  SemaphorePoint points[] = {{a.get(), 1}, {b.get(), 1}};
  std::atomic<bool> done{false};
  Status waited;
  std::thread waiter([&] {
    waited = WaitSemaphores(points, WaitMode::kAny, Timeout::After(10s));
    done = true;
  });
  std::this_thread::sleep_for(20ms);
  a->Fail(CancelledError("queue shut down"));
  EXPECT_TRUE(EventuallyTrue(done));
  waiter.join();
  EXPECT_THAT(waited, StatusIs(StatusCode::kAborted, HasSubstr("queue shut down")));
}

TEST(WaitSemaphoresTest, SignalAndFailLists) {
  SemaphoreRef a = MakeSemaphore();
  SemaphoreRef b = MakeSemaphore();
  SemaphorePoint points[] = {{a.get(), 2}, {b.get(), 3}};
  HALIO_ASSERT_OK(SignalSemaphores(points));
  HALIO_EXPECT_OK(WaitSemaphores(points, WaitMode::kAll, Timeout::Immediate()));
  EXPECT_THAT(SignalSemaphores(points), StatusIs(StatusCode::kInvalidArgument));
  FailSemaphores(points, InternalError("boom"));
  EXPECT_THAT(a->Query(), StatusIs(StatusCode::kAborted));
  EXPECT_THAT(b->Query(), StatusIs(StatusCode::kAborted));
}

// --- Stress -----------------------------------------------------------------

// 4 threads register 10k timepoints each (increasing targets) while a 5th
// signals 1..N; every callback must run exactly once.
TEST(SemaphoreStressTest, ConcurrentTimepointsRunExactlyOnce) {
  constexpr int kAdders = 4;
  constexpr int kPerAdder = 10000;
  constexpr uint64_t kFinal = kPerAdder;
  SemaphoreRef sem = MakeSemaphore();
  struct Slot {
    SemaphoreTimepoint timepoint;
    std::atomic<int> calls{0};
    std::atomic<bool> ok{false};
  };
  std::vector<Slot> slots(kAdders * kPerAdder);
  auto callback = [](void* user_data, Status status) {
    auto* slot = static_cast<Slot*>(user_data);
    slot->ok = status.ok();
    slot->calls.fetch_add(1);
  };

  std::atomic<bool> start{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kAdders; ++t) {
    threads.emplace_back([&, t] {
      while (!start.load()) std::this_thread::yield();
      for (int i = 0; i < kPerAdder; ++i) {
        Slot& slot = slots[t * kPerAdder + i];
        slot.timepoint.target = static_cast<uint64_t>(i) + 1;
        slot.timepoint.callback = callback;
        slot.timepoint.user_data = &slot;
        Impl(*sem).AddTimepoint(&slot.timepoint);
      }
    });
  }
  threads.emplace_back([&] {
    while (!start.load()) std::this_thread::yield();
    for (uint64_t v = 1; v <= kFinal; ++v) ASSERT_THAT(sem->Signal(v), IsOk());
  });
  auto begin = std::chrono::steady_clock::now();
  start = true;
  for (auto& thread : threads) thread.join();
  auto elapsed = std::chrono::steady_clock::now() - begin;

  int wrong = 0;
  for (const Slot& slot : slots) {
    if (slot.calls.load() != 1 || !slot.ok.load()) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "timepoints not run exactly once with OK";
  RecordProperty("elapsed_ms", static_cast<int>(
                                   std::chrono::duration_cast<std::chrono::milliseconds>(
                                       elapsed).count()));
}

}  // namespace
}  // namespace halio
