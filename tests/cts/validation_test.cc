// Conformance: bad requests fail at once, before any semaphore is touched
// (a wait that is never reached must not block them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cts/conformance.h"
#include "testing/status_matchers.h"

namespace halio::cts {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST_P(FileTest, ReadPastEndFailsAtOnceWithSemaphoresUntouched) {
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

TEST_P(FileTest, OffsetPlusLengthOverflowIsOutOfRangeForReadAndWrite) {
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

TEST_P(FileTest, AccessViolationsArePermissionDenied) {
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
  HALIO_ASSERT_OK_AND_ASSIGN(
      BufferRef locked,
      device_->allocator().Allocate(testing::DeviceLocalParams(read_only_params), 64));
  FileRef readable = MakeFile(PatternBytes(64, 9), MemoryAccess::kRead);
  EXPECT_THAT(device_->QueueRead(wait, signal, readable, 0, locked, 0, 64),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_EQ(ValueOf(done), 0u);
}

// The device's own memory: host memory typed kDeviceLocal | kHost where the
// host can map it; elsewhere (local_discrete) Map refuses, naming the
// buffer and how to reach its bytes instead, and the bytes stay reachable
// through the queue.
TEST_P(QueueTest, MapOfDeviceMemoryNamesTheBufferAndWhatToDoInstead) {
  BufferRef buffer = NewBuffer(64);
  ASSERT_NE(buffer, nullptr);
  if (testing::DeviceLocalIsHostVisible(GetParam().device)) {
    EXPECT_TRUE(buffer->host_visible());
    EXPECT_TRUE(AllSet(buffer->memory_type(), MemoryType::kDeviceLocal | MemoryType::kHost));
    HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapping, buffer->Map(MemoryAccess::kRead));
    EXPECT_EQ(mapping.size(), 64u);
    return;
  }
  EXPECT_FALSE(buffer->host_visible());
  EXPECT_EQ(buffer->memory_type(), MemoryType::kDeviceLocal);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, buffer->Subspan(8, 16));
  for (const BufferRef& refused : {buffer, view}) {
    for (MemoryAccess access : {MemoryAccess::kRead, MemoryAccess::kWrite}) {
      EXPECT_THAT(refused->Map(access),
                  StatusIs(StatusCode::kFailedPrecondition,
                           AllOf(HasSubstr(refused->Describe()), HasSubstr("cannot be mapped"),
                                 HasSubstr("queue_copy"), HasSubstr("MemoryType::kHost"))));
    }
  }
  EXPECT_NE(buffer->Describe().find("device memory"), std::string::npos) << buffer->Describe();
  EXPECT_EQ(Bytes(buffer), std::vector<std::byte>(64, std::byte{0xCD}));
  EXPECT_EQ(Bytes(view), std::vector<std::byte>(16, std::byte{0xCD}));
}

TEST_P(QueueTest, FillRejectsBadPatternsBeforeTouchingSemaphores) {
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

TEST_P(QueueTest, ExecuteOfUnfinalizedCommandBufferFailsAtOnce) {
  HALIO_ASSERT_OK_AND_ASSIGN(CommandBufferRef commands, CommandBuffer::Create());
  auto never = NewSemaphore(0);
  auto done = NewSemaphore(0);
  SemaphorePoint wait[] = {{never.get(), 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  EXPECT_THAT(device_->QueueExecute(wait, signal, commands),
              StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(ValueOf(done), 0u);
}

TEST_P(QueueTest, NullSemaphoreInListIsInvalidArgument) {
  BufferRef buffer = NewBuffer(16);
  auto done = NewSemaphore();
  SemaphorePoint bad[] = {{nullptr, 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  EXPECT_THAT(device_->QueueBarrier(bad, signal), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(device_->QueueFill({}, bad, buffer, 0, 16, 0, 1),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(ValueOf(done), 0u);
}

}  // namespace
}  // namespace halio::cts
