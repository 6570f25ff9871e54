// Conformance: command buffers of fill/update/copy (on the device's own
// memory, every device) and host executables dispatched directly (on host
// memory; on device memory only where the host can map it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "halio/hal/transfer.h"
#include "cts/conformance.h"
#include "testing/status_matchers.h"

namespace halio::cts {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST_P(QueueTest, ExecutesRecordedCommandBuffer) {
  BufferRef a = NewBuffer(64, std::byte{0});
  BufferRef b = NewBuffer(64, std::byte{0});
  HALIO_ASSERT_OK_AND_ASSIGN(CommandBufferRef commands, CommandBuffer::Create());
  HALIO_ASSERT_OK(commands->Fill(a, 0, 32, 0x11, 1));
  auto update = PatternBytes(16, 13);
  HALIO_ASSERT_OK(commands->Update(update, a, 32));
  HALIO_ASSERT_OK(commands->Copy(a, 0, b, 16, 48));
  // Out of the device's memory into host memory, within the same replay.
  BufferRef host = NewHostBuffer(64, std::byte{0xCD});
  HALIO_ASSERT_OK(commands->Copy(b, 0, host, 0, 64));
  HALIO_ASSERT_OK(commands->Finalize());
  auto done = NewSemaphore();
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_ASSERT_OK(device_->QueueExecute({}, signal, commands));
  HALIO_ASSERT_OK(Await(done, 1));
  auto bytes = Bytes(b);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(bytes[i], std::byte{0}) << i;
  for (int i = 16; i < 48; ++i) EXPECT_EQ(bytes[i], std::byte{0x11}) << i;
  EXPECT_TRUE(std::equal(bytes.begin() + 48, bytes.end(), update.begin()));
  EXPECT_EQ(Bytes(host), bytes);
}

// Adds push constant 0 to 8 uint32 elements per workgroup of binding 0.
Result<ExecutableRef> AddKernel() {
  return HostExecutable::Create({{"add", [](const DispatchState& state) {
    const auto& id = state.workgroup_id;
    const auto& n = state.workgroup_count;
    uint32_t group = (id[2] * n[1] + id[1]) * n[0] + id[0];
    auto* out = reinterpret_cast<uint32_t*>(state.bindings[0].data());
    for (uint32_t i = 0; i < 8; ++i) out[group * 8 + i] += state.push_constants[0];
    return Status();
  }}});
}

// Host executables run on host memory: kHost buffers, on every device.
TEST_P(QueueTest, DispatchCovers3DGridWritingEveryElementOnce) {
  constexpr WorkgroupCount kGrid = {5, 4, 3};
  constexpr uint32_t kElements = 5 * 4 * 3 * 8;
  BufferRef buffer = NewHostBuffer(kElements * sizeof(uint32_t), std::byte{0});
  HALIO_ASSERT_OK_AND_ASSIGN(ExecutableRef executable, AddKernel());
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

// On the device's own memory: it runs where the host can map that memory;
// where it cannot (local_discrete) queue_dispatch and a recorded dispatch
// are refused with UNIMPLEMENTED saying why, before any semaphore work, and
// the case is reported skipped with that reason.
TEST_P(QueueTest, DispatchOnDeviceMemoryRunsOrIsUnimplemented) {
  constexpr uint32_t kElements = 2 * 8;
  BufferRef buffer = NewBuffer(kElements * sizeof(uint32_t), std::byte{0});
  HALIO_ASSERT_OK_AND_ASSIGN(ExecutableRef executable, AddKernel());
  uint32_t constants[] = {3};
  BufferBinding bindings[] = {{buffer, 0, kWholeBuffer}};
  auto never = NewSemaphore();
  auto done = NewSemaphore();
  SemaphorePoint wait[] = {{never.get(), 1}};
  SemaphorePoint signal[] = {{done.get(), 1}};
  if (testing::DeviceLocalIsHostVisible(GetParam().device)) {
    HALIO_ASSERT_OK(never->Signal(1));
    HALIO_ASSERT_OK(device_->QueueDispatch(wait, signal, executable, 0, {2, 1, 1}, constants,
                                           bindings));
    HALIO_ASSERT_OK(Await(done, 1));
    std::vector<std::byte> expected(kElements * sizeof(uint32_t));
    for (uint32_t i = 0; i < kElements; ++i) std::memcpy(&expected[i * 4], &constants[0], 4);
    EXPECT_EQ(Bytes(buffer), expected);
    return;
  }
  const auto unimplemented = StatusIs(
      StatusCode::kUnimplemented,
      AllOf(HasSubstr("binding 0"), HasSubstr(buffer->Describe()),
            HasSubstr("host executables"), HasSubstr("MemoryType::kHost")));
  const Status refused =
      device_->QueueDispatch(wait, signal, executable, 0, {2, 1, 1}, constants, bindings);
  EXPECT_THAT(refused, unimplemented);
  HALIO_ASSERT_OK_AND_ASSIGN(CommandBufferRef commands, CommandBuffer::Create());
  EXPECT_THAT(commands->Dispatch(executable, 0, {2, 1, 1}, constants, bindings), unimplemented);
  EXPECT_EQ(ValueOf(done), 0u);
  EXPECT_THAT(done->failure(), IsOk());
  EXPECT_EQ(Bytes(buffer), std::vector<std::byte>(kElements * sizeof(uint32_t), std::byte{0}));
  GTEST_SKIP() << GetParam().device << " cannot run host executables on its device memory: "
               << refused.ToString();
}

}  // namespace
}  // namespace halio::cts
