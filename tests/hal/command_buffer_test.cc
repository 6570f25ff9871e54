// Command buffers: record-time validation, Finalize, and inline execution.
#include "halio/hal/command_buffer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "halio/hal/allocator.h"
#include "buffer_internals.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<uint8_t> Contents(const BufferRef& buffer) {
  Result<MappedMemory> mapped = buffer->Map(MemoryAccess::kRead);
  EXPECT_THAT(mapped, IsOk());
  if (!mapped.ok()) return {};
  std::vector<uint8_t> bytes(mapped->size());
  std::memcpy(bytes.data(), mapped->data(), bytes.size());
  return bytes;
}

class CommandBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HALIO_ASSERT_OK_AND_ASSIGN(cb_, CommandBuffer::Create());
  }

  BufferRef Allocate(uint64_t size, MemoryAccess access = MemoryAccess::kAll) {
    BufferParams params;
    params.access = access;
    Result<BufferRef> buffer = allocator_.Allocate(params, size);
    EXPECT_THAT(buffer, IsOk());
    return buffer.ok() ? std::move(buffer).value() : nullptr;
  }

  BufferAllocator allocator_;
  CommandBufferRef cb_;
};

TEST_F(CommandBufferTest, FillUpdateCopyProduceTheRightBytes) {
  BufferRef a = Allocate(8);
  BufferRef b = Allocate(8);
  HALIO_ASSERT_OK(cb_->Fill(a, 0, 8, 0x11, 1));
  HALIO_ASSERT_OK(cb_->Fill(a, 4, 4, 0xBBAA, 2));
  const std::byte update[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  HALIO_ASSERT_OK(cb_->Update(update, a, 1));
  HALIO_ASSERT_OK(cb_->Copy(a, 0, b, 2, 6));
  EXPECT_EQ(cb_->command_count(), 4u);
  HALIO_ASSERT_OK(cb_->Finalize());
  EXPECT_TRUE(cb_->finalized());
  // Nothing runs until execution.
  EXPECT_THAT(Contents(a), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0));

  HALIO_ASSERT_OK(cb_->ExecuteInline());
  // Host byte order for the 2-byte pattern; this test assumes little endian.
  EXPECT_THAT(Contents(a), ElementsAre(0x11, 1, 2, 3, 0xAA, 0xBB, 0xAA, 0xBB));
  EXPECT_THAT(Contents(b), ElementsAre(0, 0, 0x11, 1, 2, 3, 0xAA, 0xBB));
}

TEST_F(CommandBufferTest, FourBytePatternFill) {
  BufferRef a = Allocate(8);
  HALIO_ASSERT_OK(cb_->Fill(a, 0, 8, 0x04030201, 4));
  HALIO_ASSERT_OK(cb_->Finalize());
  HALIO_ASSERT_OK(cb_->ExecuteInline());
  EXPECT_THAT(Contents(a), ElementsAre(1, 2, 3, 4, 1, 2, 3, 4));
}

TEST_F(CommandBufferTest, WholeBufferFillStopsAtTheEnd) {
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef parent, allocator_.Allocate({}, 12));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, parent->Subspan(0, 8));
  HALIO_ASSERT_OK(cb_->Fill(view, 2, kWholeBuffer, 0x33, 1));
  HALIO_ASSERT_OK(cb_->Fill(view, 4, kWholeBuffer, 0x4444, 2));
  HALIO_ASSERT_OK(cb_->Finalize());
  HALIO_ASSERT_OK(cb_->ExecuteInline());
  // Bytes past the view (8..11) are untouched.
  EXPECT_THAT(Contents(parent), ElementsAre(0, 0, 0x33, 0x33, 0x44, 0x44, 0x44, 0x44, 0, 0,
                                            0, 0));
}

TEST_F(CommandBufferTest, WholeBufferCopyUsesTheSourceRest) {
  BufferRef source = Allocate(6);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef parent, allocator_.Allocate({}, 12));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef target, parent->Subspan(0, 8));
  {
    HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, source->Map(MemoryAccess::kWrite));
    for (size_t i = 0; i < mapped.size(); ++i) mapped.data()[i] = std::byte(i + 1);
  }
  HALIO_ASSERT_OK(cb_->Copy(source, 2, target, 1, kWholeBuffer));
  // The source's rest (6 bytes) does not fit at target offset 4.
  EXPECT_THAT(cb_->Copy(source, 0, target, 4, kWholeBuffer),
              StatusIs(StatusCode::kOutOfRange));
  HALIO_ASSERT_OK(cb_->Finalize());
  HALIO_ASSERT_OK(cb_->ExecuteInline());
  EXPECT_THAT(Contents(parent), ElementsAre(0, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0));
}

TEST_F(CommandBufferTest, UpdateCopiesSourceAtRecordTime) {
  BufferRef a = Allocate(4);
  std::byte source[] = {std::byte{9}, std::byte{8}, std::byte{7}, std::byte{6}};
  HALIO_ASSERT_OK(cb_->Update(source, a, 0));
  std::memset(source, 0xFF, sizeof(source));  // the caller reuses its memory
  HALIO_ASSERT_OK(cb_->Finalize());
  HALIO_ASSERT_OK(cb_->ExecuteInline());
  EXPECT_THAT(Contents(a), ElementsAre(9, 8, 7, 6));
}

TEST_F(CommandBufferTest, ExecutesRepeatedly) {
  BufferRef a = Allocate(4);
  BufferRef b = Allocate(4);
  HALIO_ASSERT_OK(cb_->Copy(a, 0, b, 0, 4));
  HALIO_ASSERT_OK(cb_->Finalize());
  HALIO_ASSERT_OK(cb_->ExecuteInline());
  {
    HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, a->Map(MemoryAccess::kWrite));
    std::memset(mapped.data(), 5, 4);
  }
  HALIO_ASSERT_OK(cb_->ExecuteInline());
  EXPECT_THAT(Contents(b), ElementsAre(5, 5, 5, 5));
}

TEST_F(CommandBufferTest, RecordingAfterFinalizeIsFailedPrecondition) {
  BufferRef a = Allocate(8);
  HALIO_ASSERT_OK(cb_->Finalize());
  const std::byte update[] = {std::byte{1}};
  EXPECT_THAT(cb_->Fill(a, 0, 8, 0, 1),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("finalized")));
  EXPECT_THAT(cb_->Update(update, a, 0), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(cb_->Copy(a, 0, a, 4, 4), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(cb_->Finalize(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(cb_->command_count(), 0u);
}

TEST_F(CommandBufferTest, ExecutingBeforeFinalizeIsFailedPrecondition) {
  BufferRef a = Allocate(8);
  HALIO_ASSERT_OK(cb_->Fill(a, 0, 8, 0x42, 1));
  EXPECT_THAT(cb_->ExecuteInline(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("finalized")));
  EXPECT_THAT(Contents(a), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0));
}

TEST_F(CommandBufferTest, InvalidPatternLengthRecordsNothing) {
  BufferRef a = Allocate(12);
  HALIO_ASSERT_OK(cb_->Fill(a, 0, 4, 0, 4));
  size_t before = cb_->command_count();
  EXPECT_THAT(cb_->Fill(a, 0, 12, 0, 3),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("1, 2 or 4")));
  EXPECT_THAT(cb_->Fill(a, 0, 6, 0, 4),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a multiple")));
  EXPECT_EQ(cb_->command_count(), before);
}

TEST_F(CommandBufferTest, OutOfRangeCopyFailsAtRecordTime) {
  BufferRef a = Allocate(16);
  BufferRef b = Allocate(8);
  EXPECT_THAT(cb_->Copy(a, 0, b, 4, 8),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("buffer of 8 bytes"), HasSubstr("[4, 12)"))));
  EXPECT_THAT(cb_->Copy(a, 12, b, 0, 8), StatusIs(StatusCode::kOutOfRange));
  EXPECT_THAT(cb_->Fill(b, 0, 16, 0, 1), StatusIs(StatusCode::kOutOfRange));
  const std::byte update[4] = {};
  EXPECT_THAT(cb_->Update(update, b, 6), StatusIs(StatusCode::kOutOfRange));
  EXPECT_EQ(cb_->command_count(), 0u);
}

TEST_F(CommandBufferTest, AccessIsCheckedAtRecordTime) {
  BufferRef read_only = Allocate(8, MemoryAccess::kRead);
  BufferRef write_only = Allocate(8, MemoryAccess::kWrite);
  EXPECT_THAT(cb_->Fill(read_only, 0, 8, 0, 1), StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(cb_->Copy(write_only, 0, read_only, 0, 8),
              StatusIs(StatusCode::kPermissionDenied));
  HALIO_EXPECT_OK(cb_->Copy(read_only, 0, write_only, 0, 8));
  EXPECT_EQ(cb_->command_count(), 1u);
}

TEST_F(CommandBufferTest, NullBuffersAreInvalidArgument) {
  BufferRef a = Allocate(8);
  EXPECT_THAT(cb_->Fill(nullptr, 0, 0, 0, 1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(cb_->Copy(nullptr, 0, a, 0, 0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(cb_->Copy(a, 0, nullptr, 0, 0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(cb_->Dispatch(nullptr, 0, {1, 1, 1}, {}, {}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(cb_->command_count(), 0u);
}

TEST_F(CommandBufferTest, DispatchRunsItsKernel) {
  BufferRef a = Allocate(16);
  std::vector<HostExecutable::EntryPoint> entries;
  entries.push_back({"store_constant", [](const DispatchState& state) -> Status {
                       uint32_t i = state.workgroup_id[0];
                       std::memcpy(state.bindings[0].data() + 4 * i, &state.push_constants[0],
                                   4);
                       return Status();
                     }});
  HALIO_ASSERT_OK_AND_ASSIGN(ExecutableRef executable, HostExecutable::Create(entries));
  const uint32_t constants[] = {0x01020304};
  const BufferBinding bindings[] = {{a, 0, kWholeBuffer}};
  HALIO_ASSERT_OK(cb_->Dispatch(executable, 0, {4, 1, 1}, constants, bindings));
  HALIO_ASSERT_OK(cb_->Finalize());
  EXPECT_THAT(Contents(a), ::testing::Each(0));
  HALIO_ASSERT_OK(cb_->ExecuteInline());
  EXPECT_THAT(Contents(a), ElementsAre(4, 3, 2, 1, 4, 3, 2, 1, 4, 3, 2, 1, 4, 3, 2, 1));
}

TEST_F(CommandBufferTest, DispatchValidatesAtRecordTime) {
  BufferRef a = Allocate(16);
  std::vector<HostExecutable::EntryPoint> entries;
  entries.push_back({"noop", [](const DispatchState&) { return Status(); }});
  HALIO_ASSERT_OK_AND_ASSIGN(ExecutableRef executable, HostExecutable::Create(entries));
  const BufferBinding bindings[] = {{a, 8, 16}};
  EXPECT_THAT(cb_->Dispatch(executable, 0, {1, 1, 1}, {}, bindings),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("binding 0")));
  EXPECT_THAT(cb_->Dispatch(executable, 1, {1, 1, 1}, {}, {}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(cb_->command_count(), 0u);
}

TEST_F(CommandBufferTest, FailingKernelIsAnnotatedWithCommandIndex) {
  BufferRef a = Allocate(4);
  BufferRef b = Allocate(4);
  std::vector<HostExecutable::EntryPoint> entries;
  entries.push_back({"fails", [](const DispatchState&) {
                       return DataLossError("checksum mismatch");
                     }});
  HALIO_ASSERT_OK_AND_ASSIGN(ExecutableRef executable, HostExecutable::Create(entries));
  HALIO_ASSERT_OK(cb_->Fill(a, 0, 4, 0x01, 1));
  HALIO_ASSERT_OK(cb_->Dispatch(executable, 0, {1, 1, 1}, {}, {}));
  HALIO_ASSERT_OK(cb_->Fill(b, 0, 4, 0x02, 1));
  HALIO_ASSERT_OK(cb_->Finalize());
  EXPECT_THAT(cb_->ExecuteInline(),
              StatusIs(StatusCode::kDataLoss,
                       AllOf(HasSubstr("command 1 of 3"), HasSubstr("'fails'"),
                             HasSubstr("checksum mismatch"))));
  EXPECT_THAT(Contents(a), ElementsAre(1, 1, 1, 1));  // ran before the failure
  EXPECT_THAT(Contents(b), ElementsAre(0, 0, 0, 0));  // stopped at the failure
}

TEST_F(CommandBufferTest, DecommittedTransientBufferFailsExecution) {
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef transient,
                             allocator_.Allocate({}, 8, /*transient=*/true));
  HALIO_ASSERT_OK(cb_->Fill(transient, 0, 8, 0x7, 1));
  HALIO_ASSERT_OK(cb_->Finalize());
  BufferInternals::Decommit(*transient);
  EXPECT_THAT(cb_->ExecuteInline(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("command 0 of 1")));
}

}  // namespace
}  // namespace halio
