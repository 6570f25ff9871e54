// Conformance: host executables dispatched directly and through recorded
// command buffers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "halio/hal/transfer.h"
#include "cts/conformance.h"
#include "testing/status_matchers.h"

namespace halio::cts {
namespace {

TEST_P(QueueTest, ExecutesRecordedCommandBuffer) {
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

TEST_P(QueueTest, DispatchCovers3DGridWritingEveryElementOnce) {
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
        for (uint32_t i = 0; i < kPerGroup; ++i) {
          out[group * kPerGroup + i] += state.push_constants[0];
        }
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

}  // namespace
}  // namespace halio::cts
