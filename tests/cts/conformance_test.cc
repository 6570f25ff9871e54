// The conformance suite: written once, run against every device x file kind.
// A device or backend that cannot run a case skips it with the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "halio/drivers.h"
#include "halio/hal/transfer.h"
#include "cts/cts_util.h"
#include "semaphore_impl.h"
#include "testing/status_matchers.h"

namespace halio::cts {
namespace {

using ::testing::HasSubstr;

class ConformanceTest : public ::testing::TestWithParam<CtsParam> {
 protected:
  void SetUp() override {
    HALIO_ASSERT_OK_AND_ASSIGN(device_, CreateDevice(GetParam().device));
    if (GetParam().file_kind == FileKind::kFd) {
      BackendAvailability available = IoEngine::Probe(GetParam().backend);
      if (!available.status.ok()) {
        GTEST_SKIP() << IoBackendName(GetParam().backend)
                     << " cannot run here: " << available.status.ToString();
      }
    }
  }

  FileRef MakeFile(const std::vector<std::byte>& contents,
                   MemoryAccess access = MemoryAccess::kRead) {
    auto file = files_.Make(contents, access);
    EXPECT_THAT(file, IsOk());
    return file.ok() ? *file : nullptr;
  }

  BufferRef NewBuffer(uint64_t length, std::byte fill = std::byte{0xCD}) {
    auto buffer = device_->allocator().Allocate(BufferParams{}, length);
    EXPECT_THAT(buffer, IsOk());
    if (!buffer.ok()) return nullptr;
    auto mapping = (*buffer)->Map(MemoryAccess::kWrite);
    std::memset(mapping->data(), static_cast<int>(fill), mapping->size());
    return *buffer;
  }

  BufferRef NewBufferWith(const std::vector<std::byte>& bytes) {
    BufferRef buffer = NewBuffer(bytes.size());
    auto mapping = buffer->Map(MemoryAccess::kWrite);
    std::memcpy(mapping->data(), bytes.data(), bytes.size());
    return buffer;
  }

  static std::vector<std::byte> Bytes(const BufferRef& buffer) {
    auto mapping = buffer->Map(MemoryAccess::kRead);
    return std::vector<std::byte>(mapping->data(), mapping->data() + mapping->size());
  }

  static SemaphoreRef NewSemaphore(uint64_t initial = 0) {
    return *Semaphore::Create(initial);
  }

  // Waits for `semaphore` to reach `value`, with a generous bound so a
  // broken device fails the test instead of hanging it.
  static Status Await(const SemaphoreRef& semaphore, uint64_t value) {
    return semaphore->Wait(value, Timeout::After(std::chrono::seconds(30)));
  }

  static uint64_t ValueOf(const SemaphoreRef& semaphore) {
    auto value = semaphore->Query();
    EXPECT_THAT(value, IsOk());
    return value.ok() ? *value : ~uint64_t{0};
  }

  // Synchronous devices return execution errors too; asynchronous ones
  // return OK once queued. Either way the signal list carries the error.
  static void ExpectQueuedOrFailedWith(const Status& status, StatusCode code) {
    if (!status.ok()) {
      EXPECT_THAT(status, StatusIs(code));
    }
  }

  std::unique_ptr<Device> device_;
  FileFactory files_{GetParam().file_kind, GetParam().backend};
};

TEST_P(ConformanceTest, ReadsWholeFile) {
  auto contents = PatternBytes(4096 + 123, 1);
  FileRef file = MakeFile(contents);
  BufferRef buffer = NewBuffer(contents.size());
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueRead({}, signal, file, 0, buffer, 0, contents.size()));
  HALIO_ASSERT_OK(Await(done, 1));
  EXPECT_EQ(Bytes(buffer), contents);
}

TEST_P(ConformanceTest, ReadsSubrangeIntoBufferOffsetLeavingRestUntouched) {
  auto contents = PatternBytes(10000, 2);
  FileRef file = MakeFile(contents);
  BufferRef buffer = NewBuffer(8192, std::byte{0xCD});
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueRead({}, signal, file, 1234, buffer, 100, 5000));
  HALIO_ASSERT_OK(Await(done, 1));
  auto bytes = Bytes(buffer);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::byte expected = (i >= 100 && i < 5100) ? contents[1234 + i - 100] : std::byte{0xCD};
    ASSERT_EQ(bytes[i], expected) << "at buffer byte " << i;
  }
}

// Destinations 1..31 bytes past the source's page offset take halio's
// realigning path (the kernel's copy is slow there); the bytes must not care.
TEST_P(ConformanceTest, ReadsIntoDestinationsAtSlowKernelCopyOffsets) {
  auto contents = PatternBytes((1 << 20) + 4096 + 5, 16);
  FileRef file = MakeFile(contents);
  for (uint64_t buffer_offset : {16u, 1u, 31u}) {
    BufferRef buffer = NewBuffer(contents.size() + 64);
    auto done = NewSemaphore();
    SemaphorePoint signal[] = {{done.get(), 1}};
    const uint64_t length = contents.size() - 4096;
    HALIO_ASSERT_OK(device_->QueueRead({}, signal, file, 4096, buffer, buffer_offset, length));
    HALIO_ASSERT_OK(Await(done, 1));
    auto bytes = Bytes(buffer);
    EXPECT_TRUE(std::equal(bytes.begin() + buffer_offset, bytes.begin() + buffer_offset + length,
                           contents.begin() + 4096))
        << "buffer offset " << buffer_offset;
    EXPECT_EQ(bytes[buffer_offset - 1], std::byte{0xCD});
    EXPECT_EQ(bytes[buffer_offset + length], std::byte{0xCD});
  }
}

TEST_P(ConformanceTest, WritesSubrangeThatRereadsFromStorage) {
  auto original = PatternBytes(9000, 3);
  FileRef file = MakeFile(original, MemoryAccess::kReadWrite);
  auto data = PatternBytes(3000, 4);
  BufferRef buffer = NewBufferWith(data);
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueWrite({}, signal, buffer, 500, file, 4000, 2000));
  HALIO_ASSERT_OK(Await(done, 1));
  auto expected = original;
  std::copy(data.begin() + 500, data.begin() + 2500, expected.begin() + 4000);
  EXPECT_EQ(files_.Contents(), expected);
}

TEST_P(ConformanceTest, WriteThenReadChainedBySemaphore) {
  FileRef file = MakeFile(std::vector<std::byte>(8192), MemoryAccess::kReadWrite);
  auto data = PatternBytes(8192, 5);
  BufferRef source = NewBufferWith(data);
  BufferRef target = NewBuffer(8192);
  auto timeline = NewSemaphore();
  SemaphorePoint written[] = {{timeline.get(), 1}};
  SemaphorePoint read[] = {{timeline.get(), 2}};
  HALIO_ASSERT_OK(device_->QueueWrite({}, written, source, 0, file, 0, 8192));
  HALIO_ASSERT_OK(device_->QueueRead(written, read, file, 0, target, 0, 8192));
  HALIO_ASSERT_OK(Await(timeline, 2));
  EXPECT_EQ(Bytes(target), data);
}

TEST_P(ConformanceTest, RoundTrips256KiBPlus31Bytes) {
  constexpr size_t kLength = 256 * 1024 + 31;
  FileRef file = MakeFile(std::vector<std::byte>(kLength + 7), MemoryAccess::kReadWrite);
  auto data = PatternBytes(kLength, 6);
  BufferRef source = NewBufferWith(data);
  BufferRef target = NewBuffer(kLength);
  auto timeline = NewSemaphore();
  SemaphorePoint written[] = {{timeline.get(), 1}};
  SemaphorePoint read[] = {{timeline.get(), 2}};
  HALIO_ASSERT_OK(device_->QueueWrite({}, written, source, 0, file, 7, kLength));
  HALIO_ASSERT_OK(device_->QueueRead(written, read, file, 7, target, 0, kLength));
  HALIO_ASSERT_OK(Await(timeline, 2));
  EXPECT_EQ(Bytes(target), data);
}

TEST_P(ConformanceTest, ReadPastEndFailsAtOnceWithSemaphoresUntouched) {
  FileRef file = MakeFile(PatternBytes(1000, 7));
  BufferRef buffer = NewBuffer(4096);
  // The wait semaphore is never signaled: if validation ran after the wait,
  // this call would block forever instead of returning.
  auto never = NewSemaphore(0);
  auto done = NewSemaphore(5);
  SemaphorePoint wait[] = {{never.get(), 1}};
  SemaphorePoint signal[] = {{done.get(), 6}};
  EXPECT_THAT(device_->QueueRead(wait, signal, file, 900, buffer, 0, 200),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("past the end")));
  EXPECT_THAT(device_->QueueRead(wait, signal, file, 1001, buffer, 0, 0),
              StatusIs(StatusCode::kOutOfRange));
  EXPECT_EQ(ValueOf(done), 5u);
  EXPECT_EQ(ValueOf(never), 0u);
  EXPECT_EQ(Bytes(buffer), std::vector<std::byte>(4096, std::byte{0xCD}));
}

TEST_P(ConformanceTest, OffsetPlusLengthOverflowIsOutOfRangeForReadAndWrite) {
  FileRef file = MakeFile(PatternBytes(1000, 8), MemoryAccess::kReadWrite);
  BufferRef buffer = NewBuffer(4096);
  auto never = NewSemaphore(0);
  auto done = NewSemaphore(0);
  SemaphorePoint wait[] = {{never.get(), 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  const uint64_t huge = ~uint64_t{0} - 10;
  EXPECT_THAT(device_->QueueRead(wait, signal, file, huge, buffer, 0, 100),
              StatusIs(StatusCode::kOutOfRange));
  EXPECT_THAT(device_->QueueRead(wait, signal, file, 0, buffer, huge, 100),
              StatusIs(StatusCode::kOutOfRange));
  EXPECT_THAT(device_->QueueWrite(wait, signal, buffer, 0, file, huge, 100),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("overflow")));
  EXPECT_THAT(device_->QueueWrite(wait, signal, buffer, huge, file, 0, 100),
              StatusIs(StatusCode::kOutOfRange));
  EXPECT_THAT(device_->QueueWrite(wait, signal, buffer, 0, file, 10, ~uint64_t{0}),
              StatusIs(StatusCode::kOutOfRange));
  EXPECT_EQ(ValueOf(done), 0u);
}

TEST_P(ConformanceTest, AccessViolationsArePermissionDenied) {
  auto never = NewSemaphore(0);
  auto done = NewSemaphore(0);
  SemaphorePoint wait[] = {{never.get(), 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  BufferRef buffer = NewBuffer(64);
  FileRef read_only = MakeFile(PatternBytes(64, 9), MemoryAccess::kRead);
  EXPECT_THAT(device_->QueueWrite(wait, signal, buffer, 0, read_only, 0, 64),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("write")));
  FileRef write_only = MakeFile(PatternBytes(64, 9), MemoryAccess::kWrite);
  EXPECT_THAT(device_->QueueRead(wait, signal, write_only, 0, buffer, 0, 64),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("read")));
  BufferParams read_only_params;
  read_only_params.access = MemoryAccess::kRead;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef locked,
                             device_->allocator().Allocate(read_only_params, 64));
  FileRef readable = MakeFile(PatternBytes(64, 9), MemoryAccess::kRead);
  EXPECT_THAT(device_->QueueRead(wait, signal, readable, 0, locked, 0, 64),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_EQ(ValueOf(done), 0u);
}

TEST_P(ConformanceTest, ZeroLengthOpsActAsBarriers) {
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

TEST_P(ConformanceTest, FillsSubrangesWith1_2And4BytePatterns) {
  BufferRef buffer = NewBuffer(64, std::byte{0});
  auto timeline = NewSemaphore();
  SemaphorePoint s1[] = {{timeline.get(), 1}}, s2[] = {{timeline.get(), 2}},
                 s3[] = {{timeline.get(), 3}};
  HALIO_ASSERT_OK(device_->QueueFill({}, s1, buffer, 1, 5, 0xAB, 1));
  HALIO_ASSERT_OK(device_->QueueFill(s1, s2, buffer, 10, 6, 0x1234, 2));
  HALIO_ASSERT_OK(device_->QueueFill(s2, s3, buffer, 20, 8, 0xDEADBEEF, 4));
  HALIO_ASSERT_OK(Await(timeline, 3));
  std::vector<std::byte> expected(64, std::byte{0});
  for (int i = 1; i < 6; ++i) expected[i] = std::byte{0xAB};
  const uint16_t half = 0x1234;
  const uint32_t word = 0xDEADBEEF;
  for (int i = 0; i < 3; ++i) std::memcpy(&expected[10 + 2 * i], &half, 2);
  for (int i = 0; i < 2; ++i) std::memcpy(&expected[20 + 4 * i], &word, 4);
  EXPECT_EQ(Bytes(buffer), expected);
}

TEST_P(ConformanceTest, FillRejectsBadPatternsBeforeTouchingSemaphores) {
  BufferRef buffer = NewBuffer(64);
  auto never = NewSemaphore(0);
  auto done = NewSemaphore(0);
  SemaphorePoint wait[] = {{never.get(), 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  EXPECT_THAT(device_->QueueFill(wait, signal, buffer, 0, 8, 0, 3),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(device_->QueueFill(wait, signal, buffer, 0, 6, 0, 4),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(device_->QueueFill(wait, signal, buffer, 60, 8, 0, 4),
              StatusIs(StatusCode::kOutOfRange));
  EXPECT_EQ(ValueOf(done), 0u);
}

TEST_P(ConformanceTest, UpdateCapturesCallerBytesBeforeReturning) {
  BufferRef buffer = NewBuffer(32, std::byte{0});
  auto start = NewSemaphore();
  auto done = NewSemaphore();
  SemaphorePoint wait[] = {{start.get(), 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  std::vector<std::byte> source = PatternBytes(16, 11);
  const std::vector<std::byte> original = source;
  // Signal the wait from another thread: a synchronous device blocks in the
  // call until then, an asynchronous one returns at once.
  std::thread signaler([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    start->Signal(1).IgnoreError();
  });
  Status queued = device_->QueueUpdate(wait, signal, source, buffer, 8);
  std::fill(source.begin(), source.end(), std::byte{0xEE});
  signaler.join();
  HALIO_ASSERT_OK(queued);
  HALIO_ASSERT_OK(Await(done, 1));
  auto bytes = Bytes(buffer);
  EXPECT_EQ(std::vector<std::byte>(bytes.begin() + 8, bytes.begin() + 24), original);
  EXPECT_EQ(bytes[7], std::byte{0});
  EXPECT_EQ(bytes[24], std::byte{0});
}

TEST_P(ConformanceTest, CopiesDisjointAndOverlappingRanges) {
  auto data = PatternBytes(256, 12);
  BufferRef source = NewBufferWith(data);
  BufferRef target = NewBuffer(256, std::byte{0});
  auto timeline = NewSemaphore();
  SemaphorePoint s1[] = {{timeline.get(), 1}}, s2[] = {{timeline.get(), 2}};
  HALIO_ASSERT_OK(device_->QueueCopy({}, s1, source, 16, target, 32, 100));
  // Overlapping: shift [0, 200) of the source forward by 10 bytes in place.
  HALIO_ASSERT_OK(device_->QueueCopy(s1, s2, source, 0, source, 10, 200));
  HALIO_ASSERT_OK(Await(timeline, 2));
  auto copied = Bytes(target);
  EXPECT_TRUE(std::equal(copied.begin() + 32, copied.begin() + 132, data.begin() + 16));
  EXPECT_EQ(copied[31], std::byte{0});
  EXPECT_EQ(copied[132], std::byte{0});
  auto shifted = Bytes(source);
  EXPECT_TRUE(std::equal(shifted.begin() + 10, shifted.begin() + 210, data.begin()));
  EXPECT_TRUE(std::equal(shifted.begin(), shifted.begin() + 10, data.begin()));
  EXPECT_TRUE(std::equal(shifted.begin() + 210, shifted.end(), data.begin() + 210));
}

TEST_P(ConformanceTest, BarrierOrdersLaterWorkAfterItsWaits) {
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

TEST_P(ConformanceTest, ExecutesRecordedCommandBuffer) {
  BufferRef a = NewBuffer(64, std::byte{0});
  BufferRef b = NewBuffer(64, std::byte{0});
  HALIO_ASSERT_OK_AND_ASSIGN(CommandBufferRef commands, CommandBuffer::Create());
  HALIO_ASSERT_OK(commands->Fill(a, 0, 32, 0x11, 1));
  auto update = PatternBytes(16, 13);
  HALIO_ASSERT_OK(commands->Update(update, a, 32));
  HALIO_ASSERT_OK(commands->Copy(a, 0, b, 16, 48));
  HALIO_ASSERT_OK(commands->Finalize());
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueExecute({}, signal, commands));
  HALIO_ASSERT_OK(Await(done, 1));
  auto bytes = Bytes(b);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(bytes[i], std::byte{0}) << i;
  for (int i = 16; i < 48; ++i) EXPECT_EQ(bytes[i], std::byte{0x11}) << i;
  EXPECT_TRUE(std::equal(bytes.begin() + 48, bytes.end(), update.begin()));
}

TEST_P(ConformanceTest, ExecuteOfUnfinalizedCommandBufferFailsAtOnce) {
  HALIO_ASSERT_OK_AND_ASSIGN(CommandBufferRef commands, CommandBuffer::Create());
  auto never = NewSemaphore(0);
  auto done = NewSemaphore(0);
  SemaphorePoint wait[] = {{never.get(), 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  EXPECT_THAT(device_->QueueExecute(wait, signal, commands),
              StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(ValueOf(done), 0u);
}

TEST_P(ConformanceTest, DispatchCovers3DGridWritingEveryElementOnce) {
  constexpr WorkgroupCount kGrid = {5, 4, 3};
  constexpr uint32_t kPerGroup = 8;
  constexpr uint32_t kElements = 5 * 4 * 3 * kPerGroup;
  BufferRef buffer = NewBuffer(kElements * sizeof(uint32_t), std::byte{0});
  HALIO_ASSERT_OK_AND_ASSIGN(
      ExecutableRef executable,
      HostExecutable::Create({{"add", [](const DispatchState& state) {
        const auto& id = state.workgroup_id;
        const auto& n = state.workgroup_count;
        uint32_t group = (id[2] * n[1] + id[1]) * n[0] + id[0];
        auto* out = reinterpret_cast<uint32_t*>(state.bindings[0].data());
        for (uint32_t i = 0; i < kPerGroup; ++i) out[group * kPerGroup + i] += state.push_constants[0];
        return Status();
      }}}));
  uint32_t constants[] = {1};
  BufferBinding bindings[] = {{buffer, 0, kWholeBuffer}};
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueDispatch({}, signal, executable, 0, kGrid, constants, bindings));
  HALIO_ASSERT_OK(Await(done, 1));
  auto mapping = buffer->Map(MemoryAccess::kRead);
  const auto* values = reinterpret_cast<const uint32_t*>(mapping->data());
  for (uint32_t i = 0; i < kElements; ++i) ASSERT_EQ(values[i], 1u) << "element " << i;
}

TEST_P(ConformanceTest, FailedWaitFailsSignalsAndWaitersSeeOriginalMessage) {
  BufferRef buffer = NewBuffer(16, std::byte{0});
  auto upstream = NewSemaphore();
  auto middle = NewSemaphore();
  auto downstream = NewSemaphore();
  upstream->Fail(DataLossError("injected upstream failure"));
  SemaphorePoint wait[] = {{upstream.get(), 1}};
  SemaphorePoint signal_middle[] = {{middle.get(), 1}};
  SemaphorePoint signal_down[] = {{downstream.get(), 1}};
  ExpectQueuedOrFailedWith(device_->QueueFill(wait, signal_middle, buffer, 0, 16, 9, 1),
                           StatusCode::kAborted);
  ExpectQueuedOrFailedWith(device_->QueueBarrier(signal_middle, signal_down),
                           StatusCode::kAborted);
  EXPECT_THAT(Await(middle, 1),
              StatusIs(StatusCode::kAborted, HasSubstr("injected upstream failure")));
  EXPECT_THAT(Await(downstream, 1),
              StatusIs(StatusCode::kAborted, HasSubstr("injected upstream failure")));
  EXPECT_THAT(middle->Query(), StatusIs(StatusCode::kAborted, HasSubstr("DATA_LOSS")));
  // The failed op did not run.
  EXPECT_EQ(Bytes(buffer), std::vector<std::byte>(16, std::byte{0}));
}

// Cases that only make sense for one file kind run in their own suites, so
// nothing is reported as skipped for the other kind.
class FdFileConformanceTest : public ConformanceTest {};
class MemoryFileConformanceTest : public ConformanceTest {};

TEST_P(FdFileConformanceTest, FailingReadFailsSignalsWithFileAndRange) {
  auto contents = PatternBytes(8192, 14);
  FileRef file = MakeFile(contents);
  // Shrink the file behind halio's back: validation passes (the length was
  // captured at open) and the read itself must notice the early end of file.
  std::filesystem::resize_file(std::filesystem::path(file->description()), 100);
  BufferRef buffer = NewBuffer(8192);
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  ExpectQueuedOrFailedWith(device_->QueueRead({}, signal, file, 0, buffer, 0, 8192),
                           StatusCode::kOutOfRange);
  EXPECT_THAT(Await(done, 1),
              StatusIs(StatusCode::kAborted, HasSubstr("end of file at offset 100")));
}

TEST_P(ConformanceTest, AllocaAndDeallocaFollowTheTimeline) {
  auto timeline = NewSemaphore();
  SemaphorePoint s1[] = {{timeline.get(), 1}}, s2[] = {{timeline.get(), 2}},
                 s3[] = {{timeline.get(), 3}};
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer,
                             device_->QueueAlloca({}, s1, BufferParams{}, 4096));
  HALIO_ASSERT_OK(device_->QueueFill(s1, s2, buffer, 0, 4096, 0x5A, 1));
  HALIO_ASSERT_OK(device_->QueueDealloca(s2, s3, buffer));
  HALIO_ASSERT_OK(Await(timeline, 3));
  EXPECT_TRUE(buffer->transient());
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("queue_dealloca")));
}

TEST_P(MemoryFileConformanceTest, ImportsSixteenByteAlignedData) {
  auto contents = PatternBytes(1000, 15);
  FileRef file = MakeFile(contents);
  ASSERT_NE(file->storage_buffer(), nullptr);
  auto storage = file->storage_buffer()->Map(MemoryAccess::kRead);
  ASSERT_THAT(storage, IsOk());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(storage->data()) % 64, 16u);
  BufferRef buffer = NewBuffer(1000);
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueRead({}, signal, file, 0, buffer, 0, 1000));
  HALIO_ASSERT_OK(Await(done, 1));
  EXPECT_EQ(Bytes(buffer), contents);
}

TEST_P(ConformanceTest, NullSemaphoreInListIsInvalidArgument) {
  BufferRef buffer = NewBuffer(16);
  auto done = NewSemaphore();
  SemaphorePoint bad[] = {{nullptr, 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  EXPECT_THAT(device_->QueueBarrier(bad, signal), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(device_->QueueFill({}, bad, buffer, 0, 16, 0, 1),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(ValueOf(done), 0u);
}

std::vector<CtsParam> ParamsOfKind(FileKind kind) {
  std::vector<CtsParam> params;
  for (const CtsParam& param : AllCtsParams()) {
    if (param.file_kind == kind) params.push_back(param);
  }
  return params;
}

std::string NameOf(const ::testing::TestParamInfo<CtsParam>& info) {
  return ParamName(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllDevices, ConformanceTest, ::testing::ValuesIn(AllCtsParams()),
                         NameOf);
INSTANTIATE_TEST_SUITE_P(AllDevices, FdFileConformanceTest,
                         ::testing::ValuesIn(ParamsOfKind(FileKind::kFd)), NameOf);
INSTANTIATE_TEST_SUITE_P(AllDevices, MemoryFileConformanceTest,
                         ::testing::ValuesIn(ParamsOfKind(FileKind::kMemory)), NameOf);

}  // namespace
}  // namespace halio::cts
