// Host executables: creation checks, dispatch validation and InlineDispatch.
#include "halio/hal/executable.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <tuple>
#include <vector>

#include "halio/hal/allocator.h"
#include "buffer_internals.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

HostKernel Noop() {
  return [](const DispatchState&) { return Status(); };
}

ExecutableRef MakeExecutable(HostKernel kernel, const char* name = "kernel") {
  std::vector<HostExecutable::EntryPoint> entries;
  entries.push_back({name, std::move(kernel)});
  Result<ExecutableRef> executable = HostExecutable::Create(std::move(entries));
  EXPECT_THAT(executable, IsOk());
  return executable.ok() ? std::move(executable).value() : nullptr;
}

BufferRef MakeBuffer(uint64_t size, MemoryAccess access = MemoryAccess::kAll) {
  BufferParams params;
  params.access = access;
  Result<BufferRef> buffer = BufferAllocator().Allocate(params, size);
  EXPECT_THAT(buffer, IsOk());
  return buffer.ok() ? std::move(buffer).value() : nullptr;
}

TEST(HostExecutableTest, EmptyTableIsInvalidArgument) {
  EXPECT_THAT(HostExecutable::Create({}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("at least one")));
}

TEST(HostExecutableTest, EntryWithoutKernelIsInvalidArgument) {
  std::vector<HostExecutable::EntryPoint> entries;
  entries.push_back({"good", Noop()});
  entries.push_back({"missing", nullptr});
  EXPECT_THAT(HostExecutable::Create(std::move(entries)),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("entry point 1"), HasSubstr("'missing'"))));
}

TEST(HostExecutableTest, KeepsEntryPoints) {
  std::vector<HostExecutable::EntryPoint> entries;
  entries.push_back({"a", Noop()});
  entries.push_back({"b", Noop()});
  HALIO_ASSERT_OK_AND_ASSIGN(ExecutableRef executable,
                             HostExecutable::Create(std::move(entries)));
  ASSERT_EQ(executable->entry_point_count(), 2u);
  EXPECT_EQ(executable->entry_point(1).name, "b");
}

// Each workgroup (x, y, z) of a {4, 3, 2} grid adds 1 to element
// x + 4 * (y + 3 * z) of a uint32 binding and checks what it was given.
TEST(InlineDispatchTest, RunsEveryWorkgroupOnceWithItsIdAndConstants) {
  constexpr WorkgroupCount kGrid = {4, 3, 2};
  constexpr size_t kElements = 4 * 3 * 2;
  BufferRef out = MakeBuffer(kElements * sizeof(uint32_t));
  std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> order;
  int bad_state = 0;
  ExecutableRef executable = MakeExecutable([&](const DispatchState& state) {
    if (state.workgroup_count != kGrid || state.push_constants.size() != 2 ||
        state.push_constants[0] != 7 || state.push_constants[1] != 1000 ||
        state.bindings.size() != 1 || state.bindings[0].size() != kElements * 4) {
      ++bad_state;
    }
    const auto& id = state.workgroup_id;
    order.emplace_back(id[0], id[1], id[2]);
    auto* elements = reinterpret_cast<uint32_t*>(state.bindings[0].data());
    elements[id[0] + 4 * (id[1] + 3 * id[2])] += state.push_constants[1];
    return Status();
  });
  const uint32_t constants[] = {7, 1000};
  const BufferBinding bindings[] = {{out, 0, kWholeBuffer}};
  HALIO_ASSERT_OK(InlineDispatch(*executable, 0, kGrid, constants, bindings));

  EXPECT_EQ(bad_state, 0);
  ASSERT_EQ(order.size(), kElements);
  // x fastest, then y, then z.
  EXPECT_EQ(order[0], std::make_tuple(0u, 0u, 0u));
  EXPECT_EQ(order[1], std::make_tuple(1u, 0u, 0u));
  EXPECT_EQ(order[4], std::make_tuple(0u, 1u, 0u));
  EXPECT_EQ(order[12], std::make_tuple(0u, 0u, 1u));
  EXPECT_EQ(order[23], std::make_tuple(3u, 2u, 1u));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, out->Map(MemoryAccess::kRead));
  const auto* elements = reinterpret_cast<const uint32_t*>(mapped.data());
  for (size_t i = 0; i < kElements; ++i) EXPECT_EQ(elements[i], 1000u) << "element " << i;
}

TEST(InlineDispatchTest, BindingSubrangeIsWhatTheKernelSees) {
  BufferRef buffer = MakeBuffer(32);
  ExecutableRef executable = MakeExecutable([](const DispatchState& state) {
    std::memset(state.bindings[0].data(), 0xEE, state.bindings[0].size());
    return Status();
  });
  const BufferBinding bindings[] = {{buffer, 8, 4}};
  HALIO_ASSERT_OK(InlineDispatch(*executable, 0, {1, 1, 1}, {}, bindings));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kRead));
  for (size_t i = 0; i < 32; ++i) {
    EXPECT_EQ(mapped.data()[i], (i >= 8 && i < 12) ? std::byte{0xEE} : std::byte{0})
        << "byte " << i;
  }
}

TEST(InlineDispatchTest, BadEntryPointIsInvalidArgument) {
  int calls = 0;
  ExecutableRef executable = MakeExecutable([&](const DispatchState&) {
    ++calls;
    return Status();
  });
  EXPECT_THAT(InlineDispatch(*executable, 1, {1, 1, 1}, {}, {}),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("entry point 1"), HasSubstr("has 1"))));
  EXPECT_EQ(calls, 0);
}

TEST(InlineDispatchTest, BindingOutOfRangeIsOutOfRange) {
  int calls = 0;
  ExecutableRef executable = MakeExecutable([&](const DispatchState&) {
    ++calls;
    return Status();
  });
  BufferRef buffer = MakeBuffer(16);
  const BufferBinding bindings[] = {{buffer, 0, 16}, {buffer, 12, 8}};
  EXPECT_THAT(InlineDispatch(*executable, 0, {1, 1, 1}, {}, bindings),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("binding 1"), HasSubstr("[12, 20)"))));
  EXPECT_EQ(calls, 0);
}

TEST(InlineDispatchTest, TooManyBindingsIsInvalidArgument) {
  ExecutableRef executable = MakeExecutable(Noop());
  BufferRef buffer = MakeBuffer(16);
  std::vector<BufferBinding> bindings(kMaxDispatchBindings + 1, BufferBinding{buffer});
  EXPECT_THAT(InlineDispatch(*executable, 0, {1, 1, 1}, {}, bindings),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("at most 32")));
  bindings.pop_back();
  HALIO_EXPECT_OK(InlineDispatch(*executable, 0, {1, 1, 1}, {}, bindings));
}

TEST(InlineDispatchTest, NullOrReadOnlyBindingIsRejected) {
  ExecutableRef executable = MakeExecutable(Noop());
  const BufferBinding null_binding[] = {{nullptr}};
  EXPECT_THAT(InlineDispatch(*executable, 0, {1, 1, 1}, {}, null_binding),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("binding 0 has no buffer")));
  const BufferBinding read_only[] = {{MakeBuffer(8, MemoryAccess::kRead)}};
  EXPECT_THAT(InlineDispatch(*executable, 0, {1, 1, 1}, {}, read_only),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("binding 0")));
}

TEST(InlineDispatchTest, ZeroSizeGridRunsNothing) {
  int calls = 0;
  ExecutableRef executable = MakeExecutable([&](const DispatchState&) {
    ++calls;
    return Status();
  });
  for (WorkgroupCount grid : {WorkgroupCount{0, 1, 1}, WorkgroupCount{4, 0, 1},
                              WorkgroupCount{4, 3, 0}}) {
    HALIO_EXPECT_OK(InlineDispatch(*executable, 0, grid, {}, {}));
  }
  EXPECT_EQ(calls, 0);
}

TEST(InlineDispatchTest, KernelErrorStopsAndNamesTheWorkgroup) {
  int calls = 0;
  ExecutableRef executable = MakeExecutable(
      [&](const DispatchState& state) -> Status {
        ++calls;
        if (state.workgroup_id == std::array<uint32_t, 3>{1, 2, 0}) {
          return InvalidArgumentError("bad tile");
        }
        return Status();
      },
      "matmul");
  EXPECT_THAT(InlineDispatch(*executable, 0, {4, 3, 2}, {}, {}),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'matmul'"), HasSubstr("workgroup (1,2,0)"),
                             HasSubstr("bad tile"))));
  EXPECT_EQ(calls, 4 + 4 + 2);  // (0..3,0,0), (0..3,1,0), (0..1,2,0)
}

TEST(InlineDispatchTest, DecommittedBindingIsFailedPrecondition) {
  ExecutableRef executable = MakeExecutable(Noop());
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef transient,
                             BufferAllocator().Allocate({}, 16, /*transient=*/true));
  BufferInternals::Decommit(*transient);
  const BufferBinding bindings[] = {{transient}};
  EXPECT_THAT(InlineDispatch(*executable, 0, {1, 1, 1}, {}, bindings),
              StatusIs(StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace halio
