// Conformance: fill, update, copy and transient buffers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "cts/conformance.h"
#include "testing/status_matchers.h"

namespace halio::cts {
namespace {

using ::testing::HasSubstr;

TEST_P(QueueTest, FillsSubrangesWith1_2And4BytePatterns) {
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

TEST_P(QueueTest, UpdateCapturesCallerBytesBeforeReturning) {
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

TEST_P(QueueTest, CopiesDisjointAndOverlappingRanges) {
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

// kHost -> the device's memory -> kHost: on local_discrete the two copies
// cross the host/device boundary each way (the other tests copy within one
// memory), at offsets that are not a multiple of anything.
TEST_P(QueueTest, CopiesHostToDeviceAndBack) {
  auto data = PatternBytes(100000, 19);
  BufferRef host_source = NewHostBufferWith(data);
  BufferRef device_buffer = NewBuffer(data.size() + 64, std::byte{0});
  BufferRef host_target = NewHostBuffer(data.size(), std::byte{0});
  auto timeline = NewSemaphore();
  SemaphorePoint s1[] = {{timeline.get(), 1}}, s2[] = {{timeline.get(), 2}};
  HALIO_ASSERT_OK(device_->QueueCopy({}, s1, host_source, 3, device_buffer, 33, 99990));
  HALIO_ASSERT_OK(device_->QueueCopy(s1, s2, device_buffer, 33, host_target, 7, 99990));
  HALIO_ASSERT_OK(Await(timeline, 2));
  auto on_device = Bytes(device_buffer);
  EXPECT_TRUE(std::equal(on_device.begin() + 33, on_device.begin() + 33 + 99990,
                         data.begin() + 3));
  EXPECT_EQ(on_device[32], std::byte{0});
  EXPECT_EQ(on_device[33 + 99990], std::byte{0});
  auto back = Bytes(host_target);
  EXPECT_TRUE(std::equal(back.begin() + 7, back.begin() + 7 + 99990, data.begin() + 3));
  EXPECT_EQ(back[6], std::byte{0});
}

// Buffers of two devices of the same kind: each device's queue copies
// from its memory into the other's and back (local_discrete: two device
// memories, through staging).
TEST_P(QueueTest, CopiesBetweenTheMemoriesOfTwoDevices) {
  HALIO_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Device> other, CreateDevice(GetParam().device));
  auto data = PatternBytes(300000, 23);
  BufferRef mine = NewBufferWith(data);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef theirs,
                             testing::AllocateDeviceBuffer(*other, data.size() + 10));
  auto timeline = NewSemaphore();
  SemaphorePoint s1[] = {{timeline.get(), 1}}, s2[] = {{timeline.get(), 2}};
  HALIO_ASSERT_OK(device_->QueueCopy({}, s1, mine, 0, theirs, 10, data.size()));
  HALIO_ASSERT_OK(other->QueueCopy(s1, s2, theirs, 10 + 5, mine, 0, data.size() - 5));
  HALIO_ASSERT_OK(Await(timeline, 2));
  HALIO_ASSERT_OK_AND_ASSIGN(std::vector<std::byte> there,
                             testing::ReadBufferBytes(*other, theirs, 10));
  EXPECT_EQ(there, data);
  auto here = Bytes(mine);
  EXPECT_TRUE(std::equal(here.begin(), here.end() - 5, data.begin() + 5));
  EXPECT_TRUE(std::equal(here.end() - 5, here.end(), data.end() - 5));
}

// Fresh buffers of the device's memory are zeroed (zero_initialize), and a
// zero-length one is a valid target of zero-length ops. kWholeBuffer fills
// and copies to the end.
TEST_P(QueueTest, DeviceBuffersStartZeroedAndTakeWholeBufferLengths) {
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef fresh, testing::AllocateDeviceBuffer(*device_, 5000));
  EXPECT_EQ(Bytes(fresh), std::vector<std::byte>(5000, std::byte{0}));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef empty, testing::AllocateDeviceBuffer(*device_, 0));
  EXPECT_EQ(empty->byte_length(), 0u);
  BufferRef copy = NewBuffer(5000, std::byte{0xCD});
  auto timeline = NewSemaphore();
  SemaphorePoint s1[] = {{timeline.get(), 1}}, s2[] = {{timeline.get(), 2}},
                 s3[] = {{timeline.get(), 3}}, s4[] = {{timeline.get(), 4}};
  HALIO_ASSERT_OK(device_->QueueFill({}, s1, empty, 0, 0, 0xAB, 1));
  HALIO_ASSERT_OK(device_->QueueFill(s1, s2, fresh, 1000, kWholeBuffer, 0x01020304, 4));
  HALIO_ASSERT_OK(device_->QueueCopy(s2, s3, fresh, 996, copy, 0, kWholeBuffer));
  HALIO_ASSERT_OK(device_->QueueCopy(s3, s4, empty, 0, copy, 0, 0));
  HALIO_ASSERT_OK(Await(timeline, 4));
  EXPECT_EQ(Bytes(empty), std::vector<std::byte>());
  std::vector<std::byte> expected(5000, std::byte{0xCD});
  std::fill(expected.begin(), expected.begin() + 4, std::byte{0});
  const uint32_t word = 0x01020304;
  for (size_t i = 4; i < 4004; i += 4) std::memcpy(&expected[i], &word, 4);
  EXPECT_EQ(Bytes(copy), expected);
}

// Runs alloca -> fill -> dealloca on a transient buffer of `params`; its
// bytes are checked before the dealloca, and afterwards reaching them must
// fail naming queue_dealloca (a mapping, or a copy out of device memory).
void AllocaFillDealloca(Device& device, const BufferParams& params) {
  auto timeline = *Semaphore::Create(0);
  SemaphorePoint s1[] = {{timeline.get(), 1}}, s2[] = {{timeline.get(), 2}},
                 s3[] = {{timeline.get(), 3}}, s4[] = {{timeline.get(), 4}};
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, device.QueueAlloca({}, s1, params, 4096));
  HALIO_ASSERT_OK(device.QueueFill(s1, s2, buffer, 0, 4096, 0x5A, 1));
  HALIO_ASSERT_OK(Await(timeline, 2));
  EXPECT_TRUE(buffer->transient());
  HALIO_ASSERT_OK_AND_ASSIGN(std::vector<std::byte> filled,
                             testing::ReadBufferBytes(device, buffer));
  EXPECT_EQ(filled, std::vector<std::byte>(4096, std::byte{0x5A}));
  HALIO_ASSERT_OK(timeline->Signal(3));
  HALIO_ASSERT_OK(device.QueueDealloca(s3, s4, buffer));
  HALIO_ASSERT_OK(Await(timeline, 4));
  EXPECT_THAT(testing::ReadBufferBytes(device, buffer),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("queue_dealloca")));
  // Freed device memory has no address left to hand out either.
  EXPECT_THAT(buffer->GetDeviceAddress(),
              StatusIs(StatusCode::kFailedPrecondition,
                       HasSubstr(buffer->host_visible() ? "host memory" : "queue_dealloca")));
}

TEST_P(QueueTest, AllocaAndDeallocaFollowTheTimeline) {
  AllocaFillDealloca(*device_, BufferParams{});
}

TEST_P(QueueTest, AllocaAndDeallocaOfDeviceMemoryFollowTheTimeline) {
  AllocaFillDealloca(*device_, testing::DeviceLocalParams());
}

}  // namespace
}  // namespace halio::cts
