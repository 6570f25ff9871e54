// Buffers: BufferAllocator allocation and import, Map validation, views,
// release callbacks and transient decommit.
#include "halio/hal/buffer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "halio/hal/allocator.h"
#include "halio/host_allocator.h"
#include "buffer_internals.h"
#include "testing/status_matchers.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Users create buffers through BufferAllocator and Subspan only: the
// constructor needs a key that only BufferInternals can make.
static_assert(!std::is_constructible_v<Buffer, std::shared_ptr<BufferStorage>, uint64_t,
                                       uint64_t, const BufferParams&, bool>);
static_assert(!std::is_copy_constructible_v<Buffer>);
static_assert(!std::is_constructible_v<MappedMemory, BufferRef, std::span<std::byte>,
                                       MemoryAccess>);

uintptr_t Address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

BufferParams ParamsWith(MemoryAccess access) {
  BufferParams params;
  params.access = access;
  return params;
}

// Counts release callbacks and remembers the span it was given.
struct ReleaseRecord {
  int calls = 0;
  std::span<std::byte> memory;
  static void Fn(void* user_data, std::span<std::byte> memory) {
    auto* self = static_cast<ReleaseRecord*>(user_data);
    ++self->calls;
    self->memory = memory;
  }
  ReleaseCallback callback() { return ReleaseCallback{&Fn, this}; }
};

// Memory with room to place a span at any offset from a 64-byte boundary.
struct alignas(64) Arena {
  std::byte bytes[256] = {};
};

class NullHostAllocator final : public HostAllocator {
 public:
  void* Allocate(std::size_t, std::size_t) noexcept override { return nullptr; }
  void Free(void*, std::size_t, std::size_t) noexcept override { ++frees; }
  int frees = 0;
};

// Forwards to System() and checks every Free matches an Allocate.
class CountingHostAllocator final : public HostAllocator {
 public:
  void* Allocate(std::size_t size, std::size_t alignment) noexcept override {
    void* p = HostAllocator::System().Allocate(size, alignment);
    std::lock_guard<std::mutex> lock(mutex_);
    ++allocations;
    live[p] = {size, alignment};
    return p;
  }
  void Free(void* memory, std::size_t size, std::size_t alignment) noexcept override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++frees;
      auto it = live.find(memory);
      if (it == live.end() || it->second != std::make_pair(size, alignment)) {
        ++mismatched_frees;
      } else {
        live.erase(it);
      }
    }
    HostAllocator::System().Free(memory, size, alignment);
  }
  int allocations = 0;
  int frees = 0;
  int mismatched_frees = 0;
  std::map<void*, std::pair<size_t, size_t>> live;

 private:
  std::mutex mutex_;
};

// --- Allocate ---------------------------------------------------------------

TEST(BufferAllocatorTest, SmallBuffersAre64ByteAligned) {
  BufferAllocator allocator;
  for (uint64_t size : {1u, 63u, 64u, 100u, 4095u}) {
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, size));
    HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kRead));
    EXPECT_EQ(Address(mapped.data()) % kMinBufferAlignment, 0u) << size;
    EXPECT_EQ(mapped.size(), size);
  }
}

TEST(BufferAllocatorTest, PageSizedBuffersArePageAligned) {
  BufferAllocator allocator;
  for (uint64_t size : {4096u, 4097u, 65536u}) {
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, size));
    HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kRead));
    EXPECT_EQ(Address(mapped.data()) % kPageAlignment, 0u) << size;
  }
  EXPECT_EQ(BufferAllocator::AlignmentFor(4095), kMinBufferAlignment);
  EXPECT_EQ(BufferAllocator::AlignmentFor(4096), kPageAlignment);
}

TEST(BufferAllocatorTest, AllocatedBuffersAreZeroFilled) {
  BufferAllocator allocator;
  // Dirty memory first so a recycled block would show old bytes.
  {
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef dirty, allocator.Allocate({}, 8192));
    HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, dirty->Map(MemoryAccess::kWrite));
    std::memset(mapped.data(), 0xAB, mapped.size());
  }
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, 8192));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kRead));
  for (size_t i = 0; i < mapped.size(); ++i) {
    ASSERT_EQ(mapped.data()[i], std::byte{0}) << "byte " << i;
  }
}

TEST(BufferAllocatorTest, ZeroLengthIsAllowed) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, 0));
  EXPECT_EQ(buffer->byte_length(), 0u);
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kReadWrite));
  EXPECT_EQ(mapped.size(), 0u);
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead, 0, 1), StatusIs(StatusCode::kOutOfRange));
}

TEST(BufferAllocatorTest, KeepsParams) {
  BufferAllocator allocator;
  BufferParams params;
  params.usage = BufferUsage::kTransferSource;
  params.access = MemoryAccess::kRead;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate(params, 16, true));
  EXPECT_EQ(buffer->allowed_usage(), BufferUsage::kTransferSource);
  EXPECT_EQ(buffer->allowed_access(), MemoryAccess::kRead);
  EXPECT_EQ(buffer->memory_type(), MemoryType::kHost);
  EXPECT_TRUE(buffer->transient());
  EXPECT_EQ(buffer->Describe(), "buffer of 16 bytes");
}

// A host allocator has no other memory: its device-local memory is host
// memory, mappable, and typed so.
TEST(BufferAllocatorTest, DeviceLocalOnAHostAllocatorIsMappableHostMemory) {
  BufferAllocator allocator;
  BufferParams params;
  params.type = MemoryType::kDeviceLocal;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate(params, 16));
  EXPECT_EQ(buffer->memory_type(), MemoryType::kDeviceLocal | MemoryType::kHost);
  EXPECT_TRUE(buffer->host_visible());
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kReadWrite));
  EXPECT_EQ(mapped.size(), 16u);
}

// Host memory's address is the host's (Map); there is no device address.
TEST(BufferAllocatorTest, HostMemoryHasNoDeviceAddress) {
  BufferAllocator allocator;
  BufferParams params;
  params.type = MemoryType::kDeviceLocal;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate(params, 16));
  EXPECT_THAT(buffer->GetDeviceAddress(),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("buffer of 16 bytes is host memory"), HasSubstr("Map"))));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, buffer->Subspan(8, 8));
  EXPECT_THAT(view->GetDeviceAddress(), StatusIs(StatusCode::kFailedPrecondition));
}

TEST(BufferAllocatorTest, AMemoryTypeWithoutHostVisibleOrDeviceLocalIsInvalidArgument) {
  BufferAllocator allocator;
  BufferParams params;
  params.type = MemoryType::kHostCached;
  EXPECT_THAT(allocator.Allocate(params, 16),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("kHostVisible or kDeviceLocal")));
}

TEST(BufferAllocatorTest, NullHostAllocatorIsResourceExhausted) {
  NullHostAllocator host;
  BufferAllocator allocator(host);
  EXPECT_THAT(allocator.Allocate({}, 1024),
              StatusIs(StatusCode::kResourceExhausted, HasSubstr("1024 bytes")));
  EXPECT_EQ(host.frees, 0);
}

TEST(BufferAllocatorTest, HugeLengthIsResourceExhausted) {
  CountingHostAllocator host;
  BufferAllocator allocator(host);
  EXPECT_THAT(allocator.Allocate({}, UINT64_MAX - 1),
              StatusIs(StatusCode::kResourceExhausted));
  EXPECT_EQ(host.allocations, 0);
}

TEST(BufferAllocatorTest, HostAllocatorSeesMatchingAllocateAndFree) {
  CountingHostAllocator host;
  BufferAllocator allocator(host);
  EXPECT_EQ(&allocator.host_allocator(), &host);
  {
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef small, allocator.Allocate({}, 100));
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef large, allocator.Allocate({}, 5000));
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef empty, allocator.Allocate({}, 0));
    HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, large->Subspan(10, 20));
    // Bookkeeping comes from the caller's allocator too: per buffer its
    // bytes, its storage record and the Buffer; per view one Buffer.
    EXPECT_EQ(host.allocations, 3 * 3 + 1);
    EXPECT_EQ(host.frees, 0);
  }
  EXPECT_EQ(host.frees, host.allocations);
  EXPECT_EQ(host.mismatched_frees, 0);
  EXPECT_TRUE(host.live.empty());
}

// --- Map --------------------------------------------------------------------

TEST(BufferMapTest, ReadOnlyBufferMappedForWriteIsPermissionDenied) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer,
                             allocator.Allocate(ParamsWith(MemoryAccess::kRead), 64));
  EXPECT_THAT(buffer->Map(MemoryAccess::kWrite),
              StatusIs(StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("buffer of 64 bytes"), HasSubstr("allows read"))));
  EXPECT_THAT(buffer->Map(MemoryAccess::kDiscard),
              StatusIs(StatusCode::kPermissionDenied));
  HALIO_EXPECT_OK(buffer->Map(MemoryAccess::kRead));
}

TEST(BufferMapTest, WriteOnlyBufferMappedForReadIsPermissionDenied) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer,
                             allocator.Allocate(ParamsWith(MemoryAccess::kWrite), 64));
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead), StatusIs(StatusCode::kPermissionDenied));
  HALIO_EXPECT_OK(buffer->Map(MemoryAccess::kWrite));
}

TEST(BufferMapTest, OffsetPlusLengthOverflowIsOutOfRange) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, 64));
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead, 8, UINT64_MAX - 4),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("overflows")));
  EXPECT_THAT(buffer->Validate(MemoryAccess::kRead, 8, UINT64_MAX - 4),
              StatusIs(StatusCode::kOutOfRange));
}

TEST(BufferMapTest, RangePastEndIsOutOfRange) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, 64));
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead, 60, 8),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("[60, 68)"), HasSubstr("[0, 64)"))));
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead, 65, 0),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("offset 65 is past the end")));
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead, 65),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("offset 65")));
}

TEST(BufferMapTest, WholeBufferResolvesToTheRest) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, 64));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory all, buffer->Map(MemoryAccess::kRead));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory rest,
                             buffer->Map(MemoryAccess::kRead, 24, kWholeBuffer));
  EXPECT_EQ(rest.size(), 40u);
  EXPECT_EQ(rest.data(), all.data() + 24);
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory none, buffer->Map(MemoryAccess::kRead, 64));
  EXPECT_EQ(none.size(), 0u);
}

TEST(BufferMapTest, MappedMemoryKeepsAccessAndUnmaps) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, 32));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped,
                             buffer->Map(MemoryAccess::kReadWrite, 8, 16));
  EXPECT_EQ(mapped.access(), MemoryAccess::kReadWrite);
  EXPECT_EQ(mapped.size(), 16u);
  mapped.Unmap();
  EXPECT_EQ(mapped.size(), 0u);
  EXPECT_EQ(mapped.data(), nullptr);
}

TEST(BufferMapTest, CheckRangeResolvesWholeBuffer) {
  uint64_t resolved = 0;
  HALIO_ASSERT_OK(CheckRange("thing", 100, 30, kWholeBuffer, &resolved));
  EXPECT_EQ(resolved, 70u);
  HALIO_ASSERT_OK(CheckRange("thing", 100, 30, 5, &resolved));
  EXPECT_EQ(resolved, 5u);
  EXPECT_THAT(CheckRange("thing", 100, 101, kWholeBuffer),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("thing")));
}

// --- Subspan ----------------------------------------------------------------

TEST(BufferSubspanTest, ViewAliasesParentBytes) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef parent, allocator.Allocate({}, 64));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, parent->Subspan(16, 8));
  EXPECT_EQ(view->byte_offset(), 16u);
  EXPECT_EQ(view->byte_length(), 8u);
  EXPECT_EQ(view->allowed_access(), parent->allowed_access());

  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory view_bytes, view->Map(MemoryAccess::kWrite));
  std::memset(view_bytes.data(), 0x5A, view_bytes.size());
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory parent_bytes, parent->Map(MemoryAccess::kRead));
  EXPECT_EQ(view_bytes.data(), parent_bytes.data() + 16);
  EXPECT_EQ(parent_bytes.data()[15], std::byte{0});
  EXPECT_EQ(parent_bytes.data()[16], std::byte{0x5A});
  EXPECT_EQ(parent_bytes.data()[23], std::byte{0x5A});
  EXPECT_EQ(parent_bytes.data()[24], std::byte{0});
}

TEST(BufferSubspanTest, ViewOfViewAddsOffsets) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef parent, allocator.Allocate({}, 64));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, parent->Subspan(16, kWholeBuffer));
  EXPECT_EQ(view->byte_length(), 48u);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef inner, view->Subspan(8, 4));
  EXPECT_EQ(inner->byte_offset(), 24u);
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory a, inner->Map(MemoryAccess::kRead));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory b, parent->Map(MemoryAccess::kRead));
  EXPECT_EQ(a.data(), b.data() + 24);
  // The view's bounds are its own, not the parent's.
  EXPECT_THAT(inner->Map(MemoryAccess::kRead, 0, 5), StatusIs(StatusCode::kOutOfRange));
}

TEST(BufferSubspanTest, ValidatesRange) {
  BufferAllocator allocator;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef parent, allocator.Allocate({}, 64));
  EXPECT_THAT(parent->Subspan(60, 8),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("[60, 68)")));
  EXPECT_THAT(parent->Subspan(65, kWholeBuffer), StatusIs(StatusCode::kOutOfRange));
  EXPECT_THAT(parent->Subspan(2, UINT64_MAX - 1),
              StatusIs(StatusCode::kOutOfRange, HasSubstr("overflow")));
}

// --- Import -----------------------------------------------------------------

TEST(BufferImportTest, AlignedPointerImports) {
  Arena arena;
  BufferAllocator allocator;
  std::span<std::byte> memory(arena.bytes, 128);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Import({}, memory, {}));
  EXPECT_EQ(buffer->byte_length(), 128u);
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kRead));
  EXPECT_EQ(mapped.data(), arena.bytes);
}

TEST(BufferImportTest, UnalignedPointerWithoutFlagIsOutOfRange) {
  Arena arena;
  BufferAllocator allocator;
  ReleaseRecord release;
  std::span<std::byte> memory(arena.bytes + 16, 64);
  EXPECT_THAT(allocator.Import({}, memory, release.callback()),
              StatusIs(StatusCode::kOutOfRange,
                       AllOf(HasSubstr("64-byte aligned"), HasSubstr("% 64 = 16"),
                             HasSubstr("kUnaligned"))));
  EXPECT_EQ(release.calls, 0);  // a failed import leaves ownership with the caller
}

TEST(BufferImportTest, UnalignedPointerWithFlagMapsToThatPointer) {
  Arena arena;
  BufferAllocator allocator;
  std::span<std::byte> memory(arena.bytes + 16, 64);
  BufferParams params = ParamsWith(MemoryAccess::kAll | MemoryAccess::kUnaligned);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Import(params, memory, {}));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kReadWrite));
  EXPECT_EQ(mapped.data(), arena.bytes + 16);
  EXPECT_EQ(mapped.size(), 64u);
  mapped.data()[0] = std::byte{0x77};
  EXPECT_EQ(arena.bytes[16], std::byte{0x77});  // no copy
}

TEST(BufferImportTest, ReleaseRunsOnceAfterLastReference) {
  Arena arena;
  BufferAllocator allocator;
  ReleaseRecord release;
  std::span<std::byte> memory(arena.bytes, 128);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer,
                             allocator.Import({}, memory, release.callback()));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, buffer->Subspan(64, 32));
  HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, view->Map(MemoryAccess::kRead));

  buffer.reset();
  EXPECT_EQ(release.calls, 0);
  view.reset();
  EXPECT_EQ(release.calls, 0);  // the mapping still holds the view
  mapped.Unmap();
  EXPECT_EQ(release.calls, 1);
  EXPECT_EQ(release.memory.data(), arena.bytes);
  EXPECT_EQ(release.memory.size(), 128u);
}

TEST(BufferImportTest, ReleaseRunsOnceWhenMappingDropsFirst) {
  Arena arena;
  BufferAllocator allocator;
  ReleaseRecord release;
  {
    HALIO_ASSERT_OK_AND_ASSIGN(
        BufferRef buffer,
        allocator.Import({}, std::span<std::byte>(arena.bytes, 64), release.callback()));
    {
      HALIO_ASSERT_OK_AND_ASSIGN(MappedMemory mapped, buffer->Map(MemoryAccess::kRead));
    }
    EXPECT_EQ(release.calls, 0);
  }
  EXPECT_EQ(release.calls, 1);
}

TEST(BufferImportTest, ImportedBufferDecommitIsNoOp) {
  Arena arena;
  BufferAllocator allocator;
  ReleaseRecord release;
  HALIO_ASSERT_OK_AND_ASSIGN(
      BufferRef buffer,
      allocator.Import({}, std::span<std::byte>(arena.bytes, 64), release.callback()));
  BufferInternals::Decommit(*buffer);
  EXPECT_EQ(release.calls, 0);
  HALIO_EXPECT_OK(buffer->Map(MemoryAccess::kRead));
  buffer.reset();
  EXPECT_EQ(release.calls, 1);
}

// --- Decommit ---------------------------------------------------------------

TEST(BufferDecommitTest, TransientDecommitFailsLaterMaps) {
  CountingHostAllocator host;
  BufferAllocator allocator(host);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer,
                             allocator.Allocate({}, 256, /*transient=*/true));
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, buffer->Subspan(0, 16));
  const void* data = buffer->MapUnretained(MemoryAccess::kRead, 0, kWholeBuffer)->data();
  BufferInternals::Decommit(*buffer);
  EXPECT_EQ(host.frees, 1);  // the bytes are freed now, not at the last reference
  EXPECT_EQ(host.live.count(const_cast<void*>(data)), 0u);
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("queue_dealloca")));
  EXPECT_THAT(view->Map(MemoryAccess::kRead), StatusIs(StatusCode::kFailedPrecondition));
  BufferInternals::Decommit(*buffer);  // idempotent
  EXPECT_EQ(host.frees, 1);
  buffer.reset();
  view.reset();
  EXPECT_EQ(host.frees, host.allocations);  // then the bookkeeping, once each
  EXPECT_EQ(host.mismatched_frees, 0);
}

TEST(BufferDecommitTest, NonTransientDecommitIsNoOp) {
  CountingHostAllocator host;
  BufferAllocator allocator(host);
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, allocator.Allocate({}, 256));
  BufferInternals::Decommit(*buffer);
  EXPECT_EQ(host.frees, 0);
  HALIO_EXPECT_OK(buffer->Map(MemoryAccess::kReadWrite));
  buffer.reset();
  EXPECT_EQ(host.frees, host.allocations);
  EXPECT_TRUE(host.live.empty());
}

TEST(MemoryAccessTest, ToStringNamesBits) {
  EXPECT_EQ(MemoryAccessToString(MemoryAccess::kNone), "none");
  EXPECT_EQ(MemoryAccessToString(MemoryAccess::kRead), "read");
  EXPECT_EQ(MemoryAccessToString(MemoryAccess::kAll | MemoryAccess::kUnaligned),
            "read|write|discard|unaligned");
}

}  // namespace
}  // namespace halio
