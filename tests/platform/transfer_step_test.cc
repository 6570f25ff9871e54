// TransferStep: the one interpretation of a positional call's result, driven
// directly and through ReadAt/WriteAt/ReadAtDirect with a fake IoSyscalls
// table that serves an in-memory file and scripts each call's result.
#include "transfer_step.h"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

#include "fd_io.h"
#include "testing/matrix.h"
#include "testing/status_matchers.h"
#include "testing/raw_file.h"
#include "testing/temp_file.h"

namespace halio::platform {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// An in-memory file behind an IoSyscalls table. Each call first takes the
// next scripted result, if any: an errno (negative), or a cap on the count
// (>= 0; it may exceed what the call asked for, to fake a broken system).
// Without one, the call moves what it asked for, up to the end of the file.
class FakeFile {
 public:
  explicit FakeFile(size_t length) : bytes_(halio::testing::PatternBytes(length, 7)) {
    table_.read_at = &Read;
    table_.write_at = &Write;
    table_.context = this;
  }
  void Script(std::initializer_list<int64_t> results) {
    script_.insert(script_.end(), results.begin(), results.end());
  }
  void set_max_bytes_per_call(size_t max) { table_.max_bytes_per_call = max; }
  const IoSyscalls& table() const { return table_; }
  const std::vector<std::byte>& bytes() const { return bytes_; }
  const std::vector<size_t>& call_lengths() const { return call_lengths_; }

 private:
  // The scripted result of this call, or how many bytes it may move.
  std::optional<int64_t> Take(size_t length, uint64_t offset, size_t* count) {
    call_lengths_.push_back(length);
    const size_t available = offset < bytes_.size() ? bytes_.size() - offset : 0;
    *count = std::min(length, available);
    if (script_.empty()) return std::nullopt;
    const int64_t next = script_.front();
    script_.pop_front();
    if (next < 0) return next;
    if (static_cast<size_t>(next) > length) return next;  // a broken system's count
    *count = std::min(*count, static_cast<size_t>(next));
    return std::nullopt;
  }
  static int64_t Read(void* context, NativeHandle, void* dst, size_t length, uint64_t offset) {
    auto* self = static_cast<FakeFile*>(context);
    size_t count = 0;
    if (auto scripted = self->Take(length, offset, &count)) return *scripted;
    std::memcpy(dst, self->bytes_.data() + offset, count);
    return static_cast<int64_t>(count);
  }
  static int64_t Write(void* context, NativeHandle, const void* src, size_t length,
                       uint64_t offset) {
    auto* self = static_cast<FakeFile*>(context);
    if (offset + length > self->bytes_.size()) self->bytes_.resize(offset + length);
    size_t count = 0;
    if (auto scripted = self->Take(length, offset, &count)) return *scripted;
    std::memcpy(self->bytes_.data() + offset, src, count);
    return static_cast<int64_t>(count);
  }

  std::vector<std::byte> bytes_;
  std::deque<int64_t> script_;
  std::vector<size_t> call_lengths_;
  IoSyscalls table_;
};

TransferStep Step(IoOp op, uint64_t offset, size_t length) {
  return TransferStep{.op = op, .offset = offset, .length = length};
}

// --- TransferStep itself ------------------------------------------------------

TEST(TransferStepTest, ShortCountsContinueFromWhereTheyStopped) {
  TransferStep step = Step(IoOp::kRead, 100, 10);
  Status final;
  EXPECT_EQ(step.Advance(3, "f", &final), StepResult::kContinue);
  EXPECT_EQ(step.position(), 103u);
  EXPECT_EQ(step.NextCallLength(), 7u);
  EXPECT_EQ(step.Advance(7, "f", &final), StepResult::kDone);
  HALIO_EXPECT_OK(final);
  EXPECT_EQ(step.done, 10u);
}

TEST(TransferStepTest, NextCallLengthNeverExceedsThePerCallLimit) {
  TransferStep step = Step(IoOp::kWrite, 0, 100);
  step.max_bytes_per_call = 30;
  EXPECT_EQ(step.NextCallLength(), 30u);
  Status final;
  EXPECT_EQ(step.Advance(30, "f", &final), StepResult::kContinue);
  EXPECT_EQ(step.Advance(30, "f", &final), StepResult::kContinue);
  EXPECT_EQ(step.Advance(30, "f", &final), StepResult::kContinue);
  EXPECT_EQ(step.NextCallLength(), 10u);
  EXPECT_EQ(TransferStep{}.max_bytes_per_call, kMaxIoBytesPerCall);
}

TEST(TransferStepTest, EintrIsRetriedWithoutProgress) {
  TransferStep step = Step(IoOp::kRead, 0, 8);
  Status final;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(step.Advance(-EINTR, "f", &final), StepResult::kContinue) << i;
  }
  EXPECT_EQ(step.done, 0u);
  EXPECT_EQ(step.eagain_count, 0);
}

TEST(TransferStepTest, EagainIsRetriedOnlyUpToTheBound) {
  TransferStep step = Step(IoOp::kRead, 16, 8);
  Status final;
  for (int i = 1; i < kMaxConsecutiveEagain; ++i) {
    ASSERT_EQ(step.Advance(-EAGAIN, "stuck.bin", &final), StepResult::kContinue) << i;
  }
  EXPECT_EQ(step.Advance(-EAGAIN, "stuck.bin", &final), StepResult::kFailed);
  EXPECT_THAT(final, StatusIs(StatusCode::kUnavailable,
                              AllOf(HasSubstr("read of stuck.bin [16, 24) at offset 16"),
                                    HasSubstr("errno 11"))));
}

TEST(TransferStepTest, ProgressResetsTheEagainCount) {
  TransferStep step = Step(IoOp::kRead, 0, 2);
  Status final;
  for (int i = 1; i < kMaxConsecutiveEagain; ++i) step.Advance(-EAGAIN, "f", &final);
  EXPECT_EQ(step.Advance(1, "f", &final), StepResult::kContinue);
  EXPECT_EQ(step.eagain_count, 0);
  for (int i = 1; i < kMaxConsecutiveEagain; ++i) {
    ASSERT_EQ(step.Advance(-EAGAIN, "f", &final), StepResult::kContinue) << i;
  }
}

TEST(TransferStepTest, ZeroBeforeTheEndOfAReadIsEndOfFile) {
  TransferStep step = Step(IoOp::kRead, 4, 8);
  Status final;
  ASSERT_EQ(step.Advance(4, "short.bin", &final), StepResult::kContinue);
  EXPECT_EQ(step.Advance(0, "short.bin", &final), StepResult::kEndOfFile);
  EXPECT_THAT(final, StatusIs(StatusCode::kOutOfRange,
                              AllOf(HasSubstr("end of file at offset 8"),
                                    HasSubstr("read of short.bin [4, 12)"),
                                    HasSubstr("was it truncated?"))));
  EXPECT_EQ(step.done, 4u);
}

TEST(TransferStepTest, ZeroBeforeTheEndOfAWriteMeansTheDeviceMayBeFull) {
  TransferStep step = Step(IoOp::kWrite, 90, 10);
  Status final;
  ASSERT_EQ(step.Advance(6, "full.bin", &final), StepResult::kContinue);
  EXPECT_EQ(step.Advance(0, "full.bin", &final), StepResult::kEndOfFile);
  EXPECT_THAT(final, StatusIs(StatusCode::kResourceExhausted,
                              AllOf(HasSubstr("write of full.bin [90, 100)"),
                                    HasSubstr("wrote 0 bytes at offset 96"),
                                    HasSubstr("the device may be full"))));
}

TEST(TransferStepTest, ACountLargerThanAskedIsRejected) {
  TransferStep step = Step(IoOp::kRead, 0, 100);
  step.max_bytes_per_call = 10;
  Status final;
  EXPECT_EQ(step.Advance(11, "odd.bin", &final), StepResult::kFailed);
  EXPECT_THAT(final, StatusIs(StatusCode::kInternal,
                              AllOf(HasSubstr("read of odd.bin [0, 100) at offset 0"),
                                    HasSubstr("reported 11 bytes moved for a call of 10"))));
  EXPECT_EQ(step.done, 0u);  // never taken
}

TEST(TransferStepTest, ErrorsNameTheFileTheWholeRangeAndTheOffsetReached) {
  TransferStep step = Step(IoOp::kWrite, 1000, 50);
  Status final;
  ASSERT_EQ(step.Advance(20, "out.bin", &final), StepResult::kContinue);
  EXPECT_EQ(step.Advance(-EIO, "out.bin", &final), StepResult::kFailed);
  EXPECT_THAT(final, StatusIs(StatusCode::kDataLoss,
                              AllOf(HasSubstr("write of out.bin [1000, 1050) at offset 1020"),
                                    HasSubstr("errno 5"))));
}

TEST(TransferStepTest, DirectTransfersSaySo) {
  TransferStep step{.op = IoOp::kRead, .direct = true, .offset = 0, .length = 4096};
  EXPECT_EQ(step.Describe("d.bin"), "O_DIRECT read of d.bin [0, 4096)");
  EXPECT_EQ(Step(IoOp::kWrite, 1, 2).Describe("w.bin"), "write of w.bin [1, 3)");
}

TEST(TransferStepTest, RestartForgetsProgress) {
  TransferStep step = Step(IoOp::kRead, 0, 8);
  Status final;
  step.Advance(-EAGAIN, "f", &final);
  step.Advance(5, "f", &final);
  step.Advance(-EAGAIN, "f", &final);
  step.Restart();
  EXPECT_EQ(step.done, 0u);
  EXPECT_EQ(step.eagain_count, 0);
}

// --- the loops that use it ------------------------------------------------------

TEST(TransferLoopTest, ReadAtRetriesAndContinuesToTheEnd) {
  FakeFile file(100);
  file.set_max_bytes_per_call(40);
  file.Script({-EINTR, 7, -EAGAIN, -EAGAIN, 1});
  std::vector<std::byte> dst(90);
  HALIO_ASSERT_OK(ReadAt(kInvalidHandle, 10, dst, "fake", file.table()));
  EXPECT_TRUE(std::equal(dst.begin(), dst.end(), file.bytes().begin() + 10));
  // EINTR, 7, EAGAIN x2, 1 (8 bytes in five calls), then 40, 40 and the last 2.
  EXPECT_THAT(file.call_lengths(), ::testing::ElementsAre(40, 40, 40, 40, 40, 40, 40, 2));
}

TEST(TransferLoopTest, ReadAtRejectsAnImpossibleCount) {
  FakeFile file(100);
  file.Script({64});
  std::vector<std::byte> dst(32);
  EXPECT_THAT(ReadAt(kInvalidHandle, 0, dst, "fake", file.table()),
              StatusIs(StatusCode::kInternal, HasSubstr("reported 64 bytes moved")));
}

TEST(TransferLoopTest, ReadAtPastTheEndIsEndOfFile) {
  FakeFile file(50);
  std::vector<std::byte> dst(20);
  EXPECT_THAT(ReadAt(kInvalidHandle, 40, dst, "fake", file.table()),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("end of file at offset 50"),
                             HasSubstr("read of fake [40, 60)"))));
}

TEST(TransferLoopTest, WriteAtOfZeroBytesStopsAtOnce) {
  FakeFile file(0);
  file.Script({5, 0});
  std::vector<std::byte> src(10);
  EXPECT_THAT(WriteAt(kInvalidHandle, 0, src, "fake", file.table()),
              StatusIs(StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("write of fake [0, 10)"),
                             HasSubstr("wrote 0 bytes at offset 5"))));
  EXPECT_EQ(file.call_lengths().size(), 2u);
}

// ReadAtDirect's aligned reads through the step: a real descriptor (for the
// file length a short count makes it ask), with the fake serving the calls.
class DirectLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_.Write(halio::testing::PatternBytes(5000, 7));
    fd_ = halio::testing::RawOpen(file_.path(), halio::testing::RawMode::kRead);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) halio::testing::RawClose(fd_);
  }
  testing::TempFile file_;
  NativeHandle fd_ = kInvalidHandle;
  FakeFile fake_{5000};
  const DirectAlignment alignment_{512, 512, false};
};

TEST_F(DirectLoopTest, PartialLastBlockIsNoErrorWhenTheBytesWantedEndBeforeIt) {
  std::vector<std::byte> dst(1000);
  HALIO_ASSERT_OK(ReadAtDirect(fd_, 4000, dst, "d.bin", alignment_, fake_.table()));
  EXPECT_TRUE(std::equal(dst.begin(), dst.end(), fake_.bytes().begin() + 4000));
}

TEST_F(DirectLoopTest, ReadingPastTheEndNamesTheWholeRequest) {
  std::vector<std::byte> dst(2000);
  EXPECT_THAT(ReadAtDirect(fd_, 4096, dst, "d.bin", alignment_, fake_.table()),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("end of file at offset 5000"),
                             HasSubstr("O_DIRECT read of d.bin [4096, 6096)"))));
}

TEST_F(DirectLoopTest, ErrorsAreRetriedAndWordedByTheStep) {
  fake_.Script({-EINTR, -EIO});
  std::vector<std::byte> dst(1024);
  EXPECT_THAT(ReadAtDirect(fd_, 1024, dst, "d.bin", alignment_, fake_.table()),
              StatusIs(StatusCode::kDataLoss,
                       AllOf(HasSubstr("O_DIRECT read of d.bin [1024, 2048) at offset 1024"),
                             Not(HasSubstr("end of file")))));
}

// --- page-cache-first reads ------------------------------------------------------

TEST(CachedPrefixTest, StopsAtTheEndOfTheFileWithoutAnError) {
  testing::TempFile file(halio::testing::PatternBytes(100, 7));
  const NativeHandle fd = halio::testing::RawOpen(file.path(), halio::testing::RawMode::kRead);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> dst(100);
  auto whole = ReadCachedPrefix(fd, 0, dst, "c.bin");
  HALIO_ASSERT_OK(whole.status());
  if (*whole == 0) {
    halio::testing::RawClose(fd);
    GTEST_SKIP() << "no RWF_NOWAIT reads here (or the fresh file is not cached)";
  }
  EXPECT_EQ(*whole, 100u);
  auto past_end = ReadCachedPrefix(fd, 50, dst, "c.bin");
  halio::testing::RawClose(fd);
  HALIO_ASSERT_OK(past_end.status());
  EXPECT_EQ(*past_end, 50u);  // the caller's full read reports the end
}

TEST(CachedPrefixTest, ErrorsAreWordedByTheStep) {
  std::vector<std::byte> dst(10);
  // A descriptor that is not open: EBADF from the first call.
  auto result = ReadCachedPrefix(kInvalidHandle, 7, dst, "gone.bin");
  if (result.ok()) GTEST_SKIP() << "no preadv2 here";
  EXPECT_THAT(result.status(),
              StatusIs(StatusCode::kFailedPrecondition,
                       HasSubstr("read of gone.bin [7, 17) at offset 7")));
}

}  // namespace
}  // namespace halio::platform
