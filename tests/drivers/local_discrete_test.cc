// local_discrete specifics: device memory the host cannot map, its copy
// engine, and the staged transfers between it and files (pipelined through a
// bounded staging pool, backpressure, errors naming the file and range,
// cancellation when the device goes). The CTS runs the common contract.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "halio/drivers.h"
#include "halio/hal/command_buffer.h"
#include "halio/hal/executable.h"
#include "local_discrete/discrete_memory.h"
#include "staged_transfer.h"
#include "testing/device_buffers.h"
#include "testing/matrix.h"
#include "testing/param_names.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr auto kDeadline = std::chrono::seconds(60);

DeviceOptions SmallStaging(uint64_t buffer_size = 64 * 1024, uint32_t count = 3) {
  DeviceOptions options;
  options.staging_buffer_size = buffer_size;
  options.staging_buffer_count = count;
  options.worker_count = 2;
  return options;
}

std::unique_ptr<Device> MakeDevice(const DeviceOptions& options = SmallStaging()) {
  auto device = CreateLocalDiscreteDevice(options);
  EXPECT_THAT(device, IsOk());
  return device.ok() ? std::move(device).value() : nullptr;
}

BufferRef DeviceBuffer(Device& device, uint64_t length) {
  auto buffer = testing::AllocateDeviceBuffer(device, length);
  EXPECT_THAT(buffer, IsOk());
  return buffer.ok() ? *buffer : nullptr;
}

BufferRef HostBuffer(Device& device, uint64_t length) {
  auto buffer = device.allocator().Allocate({}, length);
  EXPECT_THAT(buffer, IsOk());
  return buffer.ok() ? *buffer : nullptr;
}

std::vector<std::byte> HostBytes(const BufferRef& buffer) {
  auto mapping = buffer->Map(MemoryAccess::kRead);
  return std::vector<std::byte>(mapping->data(), mapping->data() + mapping->size());
}

// Queues `submit` (wait nothing, signal `done` 1), then waits for it.
template <typename Submit>
Status RunOp(Submit submit) {
  auto done = *Semaphore::Create(0);
  SemaphorePoint signal[] = {{done.get(), 1}};
  HALIO_RETURN_IF_ERROR(submit(SemaphoreList(signal)));
  return done->Wait(1, Timeout::After(kDeadline));
}

// The device buffer's bytes, copied out through the device into host memory.
std::vector<std::byte> DeviceBytes(Device& device, const BufferRef& buffer) {
  auto bytes = testing::ReadBufferBytes(device, buffer);
  EXPECT_THAT(bytes, IsOk());
  return bytes.ok() ? *std::move(bytes) : std::vector<std::byte>();
}

TEST(LocalDiscreteTest, DeviceBuffersAreNotHostVisibleAndMapSaysWhatToDoInstead) {
  auto device = MakeDevice();
  BufferRef buffer = DeviceBuffer(*device, 4096);
  EXPECT_FALSE(buffer->host_visible());
  EXPECT_EQ(buffer->memory_type(), MemoryType::kDeviceLocal);
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("buffer of 4096 bytes in local_discrete device memory"),
                             HasSubstr("queue_copy"))));
  // Host memory on the same device maps as usual.
  EXPECT_TRUE(HostBuffer(*device, 64)->host_visible());
}

// local_discrete's device memory is host memory only its copy engine
// touches: no other runtime can use its addresses, and none is handed out.
TEST(LocalDiscreteTest, DeviceBuffersHaveNoDeviceAddressForOtherRuntimes) {
  auto device = MakeDevice();
  BufferRef buffer = DeviceBuffer(*device, 4096);
  EXPECT_THAT(buffer->GetDeviceAddress(),
              StatusIs(StatusCode::kUnimplemented,
                       AllOf(HasSubstr("local_discrete device memory has no address"),
                             HasSubstr("ReadBackToHost"))));
  EXPECT_THAT(HostBuffer(*device, 64)->GetDeviceAddress(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("host memory")));
}

TEST(LocalDiscreteTest, DeviceMemoryStartsZeroed) {
  auto device = MakeDevice();
  EXPECT_EQ(DeviceBytes(*device, DeviceBuffer(*device, 1000)),
            std::vector<std::byte>(1000, std::byte{0}));
}

TEST(LocalDiscreteTest, FillUpdateAndCopyRunOnDeviceMemory) {
  auto device = MakeDevice();
  BufferRef a = DeviceBuffer(*device, 64);
  BufferRef b = DeviceBuffer(*device, 64);
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return device->QueueFill({}, s, a, 0, 64, 0x01020304, 4);
  }));
  const std::vector<std::byte> update = testing::PatternBytes(16, 7);
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) { return device->QueueUpdate({}, s, update, a, 8); }));
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) { return device->QueueCopy({}, s, a, 0, b, 0, 64); }));
  std::vector<std::byte> expected(64);
  for (size_t i = 0; i < 64; i += 4) {
    const uint32_t pattern = 0x01020304;
    std::memcpy(expected.data() + i, &pattern, 4);
  }
  std::memcpy(expected.data() + 8, update.data(), 16);
  EXPECT_EQ(DeviceBytes(*device, b), expected);
  // Overlapping copy within one device buffer moves as memmove does.
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) { return device->QueueCopy({}, s, b, 0, b, 4, 32); }));
  std::memmove(expected.data() + 4, expected.data(), 32);
  EXPECT_EQ(DeviceBytes(*device, b), expected);
}

TEST(LocalDiscreteTest, CopiesBetweenHostAndDeviceMemoryBothWays) {
  auto device = MakeDevice();
  BufferRef host = HostBuffer(*device, 256);
  {
    auto mapping = host->Map(MemoryAccess::kWrite);
    const auto pattern = testing::PatternBytes(256, 11);
    std::memcpy(mapping->data(), pattern.data(), 256);
  }
  BufferRef on_device = DeviceBuffer(*device, 256);
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return device->QueueCopy({}, s, host, 0, on_device, 0, 256);
  }));
  BufferRef back = HostBuffer(*device, 256);
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return device->QueueCopy({}, s, on_device, 0, back, 0, 256);
  }));
  EXPECT_EQ(HostBytes(back), testing::PatternBytes(256, 11));
}

TEST(LocalDiscreteTest, CopiesBetweenTwoDevicesMemoriesGoThroughStaging) {
  auto first = MakeDevice();
  auto second = MakeDevice(SmallStaging(4096, 1));
  BufferRef from = DeviceBuffer(*first, 3 * 4096 + 100);
  const auto pattern = testing::PatternBytes(from->byte_length(), 3);
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) { return first->QueueUpdate({}, s, pattern, from, 0); }));
  BufferRef to = DeviceBuffer(*second, from->byte_length());
  // Queued on the second device: the source is another device's memory.
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return second->QueueCopy({}, s, from, 0, to, 0, from->byte_length());
  }));
  EXPECT_EQ(DeviceBytes(*second, to), pattern);
}

TEST(LocalDiscreteTest, DispatchOnDeviceMemoryIsUnimplementedAndSaysWhy) {
  auto device = MakeDevice();
  HALIO_ASSERT_OK_AND_ASSIGN(ExecutableRef executable,
                             HostExecutable::Create({{"noop", [](const DispatchState&) { return Status(); }}}));
  BufferBinding binding{DeviceBuffer(*device, 64), 0, 64};
  auto done = *Semaphore::Create(0);
  SemaphorePoint signal[] = {{done.get(), 1}};
  EXPECT_THAT(device->QueueDispatch({}, signal, executable, 0, {1, 1, 1}, {}, {&binding, 1}),
              StatusIs(StatusCode::kUnimplemented,
                       AllOf(HasSubstr("binding 0"), HasSubstr("host executables"),
                             HasSubstr("MemoryType::kHost"))));
  // Validation first: the semaphore was not touched.
  EXPECT_EQ(*done->Query(), 0u);
}

TEST(LocalDiscreteTest, CommandBuffersOfFillUpdateAndCopyRunOnDeviceMemory) {
  auto device = MakeDevice();
  BufferRef a = DeviceBuffer(*device, 32);
  BufferRef b = DeviceBuffer(*device, 32);
  HALIO_ASSERT_OK_AND_ASSIGN(CommandBufferRef commands, CommandBuffer::Create());
  const auto update = testing::PatternBytes(8, 5);
  HALIO_ASSERT_OK(commands->Fill(a, 0, 32, 0xEE, 1));
  HALIO_ASSERT_OK(commands->Update(update, a, 4));
  HALIO_ASSERT_OK(commands->Copy(a, 0, b, 0, 32));
  HALIO_ASSERT_OK(commands->Finalize());
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) { return device->QueueExecute({}, s, commands); }));
  std::vector<std::byte> expected(32, std::byte{0xEE});
  std::memcpy(expected.data() + 4, update.data(), 8);
  EXPECT_EQ(DeviceBytes(*device, b), expected);
}

// Staged reads and writes on every backend, hot, and with O_DIRECT, over
// ranges that are not multiples of the staging size and start off alignment.
class LocalDiscreteFileTest
    : public ::testing::TestWithParam<std::tuple<IoBackend, bool /*direct*/>> {
 protected:
  void SetUp() override {
    if (auto available = IoEngine::Probe(backend()); !available.status.ok()) {
      GTEST_SKIP() << IoBackendName(backend()) << " cannot run here: "
                   << available.status.ToString();
    }
  }
  IoBackend backend() const { return std::get<0>(GetParam()); }
  bool direct() const { return std::get<1>(GetParam()); }
  Result<FileRef> Open(const testing::TempFile& file, OpenMode mode) {
    FdFileOptions options;
    options.backend = backend();
    if (direct()) mode = mode | OpenMode::kDirect;
    return FdFile::Open(file.path(), mode, options);
  }
};

TEST_P(LocalDiscreteFileTest, ReadsThroughStagingByteForByte) {
  constexpr size_t kLength = 1000 * 1000 + 123;  // ~15 staging buffers of 64 KiB
  const auto contents = testing::PatternBytes(kLength, 21);
  testing::TempFile file(contents);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, Open(file, OpenMode::kRead));
  auto device = MakeDevice();
  BufferRef buffer = DeviceBuffer(*device, kLength + 64);
  // File offset 513 into buffer offset 7: nothing aligned.
  const uint64_t length = kLength - 513;
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return device->QueueRead({}, s, opened, 513, buffer, 7, length);
  }));
  const std::vector<std::byte> bytes = DeviceBytes(*device, buffer);
  EXPECT_TRUE(std::equal(contents.begin() + 513, contents.end(), bytes.begin() + 7));
  EXPECT_EQ(bytes[6], std::byte{0});
  EXPECT_EQ(bytes[7 + length], std::byte{0});
}

TEST_P(LocalDiscreteFileTest, WritesThroughStagingAndReadsBack) {
  constexpr size_t kLength = 300 * 1000 + 7;
  const auto contents = testing::PatternBytes(kLength, 22);
  testing::TempFile file;
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, Open(file, OpenMode::kReadWrite | OpenMode::kCreate));
  auto device = MakeDevice();
  BufferRef buffer = DeviceBuffer(*device, kLength);
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) { return device->QueueUpdate({}, s, contents, buffer, 0); }));
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return device->QueueWrite({}, s, buffer, 0, opened, 100, kLength);
  }));
  EXPECT_EQ(opened->length(), 100 + kLength);
  const std::vector<std::byte> written = file.Read();
  ASSERT_EQ(written.size(), 100 + kLength);
  EXPECT_TRUE(std::equal(contents.begin(), contents.end(), written.begin() + 100));
}

TEST_P(LocalDiscreteFileTest, AReadOfAFileThatShrankFailsWithTheFileAndRange) {
  const auto contents = testing::PatternBytes(256 * 1024, 23);
  testing::TempFile file(contents);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, Open(file, OpenMode::kRead));
  auto device = MakeDevice();
  BufferRef buffer = DeviceBuffer(*device, contents.size());
  ASSERT_EQ(::truncate(file.path().c_str(), 100 * 1024), 0);
  EXPECT_THAT(RunOp([&](SemaphoreList s) {
                return device->QueueRead({}, s, opened, 0, buffer, 0, contents.size());
              }),
              StatusIs(StatusCode::kAborted, HasSubstr(file.path())));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, LocalDiscreteFileTest,
    ::testing::Combine(::testing::Values(IoBackend::kIoUring, IoBackend::kAsio, IoBackend::kSync),
                       ::testing::Bool()),
    [](const auto& param_info) {
      return std::string(IoBackendName(std::get<0>(param_info.param))) +
             (std::get<1>(param_info.param) ? "_direct" : "_buffered");
    });

TEST(LocalDiscreteTest, MemoryFilesMoveStraightToAndFromDeviceMemory) {
  auto device = MakeDevice();
  auto contents = testing::PatternBytes(100000, 24);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef memory_file,
                             MemoryFile::Wrap(contents, MemoryAccess::kReadWrite));
  BufferRef buffer = DeviceBuffer(*device, contents.size());
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return device->QueueRead({}, s, memory_file, 0, buffer, 0, contents.size());
  }));
  EXPECT_EQ(DeviceBytes(*device, buffer), testing::PatternBytes(100000, 24));
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) { return device->QueueFill({}, s, buffer, 0, 16, 0x55, 1); }));
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return device->QueueWrite({}, s, buffer, 0, memory_file, 0, 16);
  }));
  EXPECT_EQ(contents[0], std::byte{0x55});
  EXPECT_EQ(contents[16], testing::PatternBytes(100000, 24)[16]);
}

// More concurrent reads than the pool has staging buffers: they wait for
// one (backpressure) instead of failing, and all land byte for byte.
TEST(LocalDiscreteTest, ReadsBeyondTheStagingPoolWaitForBuffersInsteadOfFailing) {
  constexpr size_t kLength = 200 * 1000;
  const auto contents = testing::PatternBytes(kLength, 25);
  testing::TempFile file(contents);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, FdFile::Open(file.path(), OpenMode::kRead));
  DeviceOptions options = SmallStaging(16 * 1024, 1);
  options.worker_count = 4;
  options.copy_bytes_per_second = 1ull << 30;  // slow enough that reads overlap
  auto device = MakeDevice(options);
  constexpr int kReads = 8;
  std::vector<BufferRef> buffers;
  std::vector<SemaphoreRef> done;
  for (int i = 0; i < kReads; ++i) {
    buffers.push_back(DeviceBuffer(*device, kLength));
    done.push_back(*Semaphore::Create(0));
    SemaphorePoint signal[] = {{done.back().get(), 1}};
    HALIO_ASSERT_OK(device->QueueRead({}, signal, opened, 0, buffers.back(), 0, kLength));
  }
  for (int i = 0; i < kReads; ++i) {
    HALIO_ASSERT_OK(done[i]->Wait(1, Timeout::After(kDeadline))) << "read " << i;
    EXPECT_TRUE(DeviceBytes(*device, buffers[i]) == contents) << "read " << i;
  }
}

// The pool holds one buffer beyond staging_buffer_count: a transfer keeps
// that many file requests in flight while the chunk it copies to the device
// sits in the extra one. Every buffer is there from creation on.
TEST(LocalDiscreteTest, TheStagingPoolHoldsOneBufferMoreThanTheFileRequestsInFlight) {
  DeviceOptions options = SmallStaging(16 * 1024, 3);
  options.host_allocator = &HostAllocator::System();
  HALIO_ASSERT_OK_AND_ASSIGN(auto memory, local_discrete::DiscreteMemory::Create(options));
  StagingPool& pool = memory->staging();
  EXPECT_EQ(pool.count(), 3u);
  EXPECT_EQ(pool.buffers(), 4u);
  std::vector<std::byte*> held;
  for (uint32_t i = 0; i < pool.buffers(); ++i) {
    std::byte* buffer = pool.TryAcquire();
    ASSERT_NE(buffer, nullptr) << "buffer " << i;
    held.push_back(buffer);
  }
  EXPECT_EQ(pool.TryAcquire(), nullptr) << "no fifth buffer";
  for (std::byte* buffer : held) pool.Release(buffer);
}

// Destroying the device while a long staged read runs on a slow copy
// engine (~0.5 s for the whole read): the read stops at its next chunk with
// CANCELLED instead of running to its end.
TEST(LocalDiscreteTest, DestroyingTheDeviceCancelsAStagedReadInFlight) {
  constexpr size_t kLength = 8 << 20;
  testing::TempFile file(testing::PatternBytes(kLength, 26));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef opened, FdFile::Open(file.path(), OpenMode::kRead));
  DeviceOptions options = SmallStaging(64 * 1024, 2);
  options.copy_bytes_per_second = 16ull << 20;  // the whole read would take ~0.5 s
  auto done = *Semaphore::Create(0);
  BufferRef buffer;
  {
    auto device = MakeDevice(options);
    buffer = DeviceBuffer(*device, kLength);
    SemaphorePoint signal[] = {{done.get(), 1}};
    HALIO_ASSERT_OK(device->QueueRead({}, signal, opened, 0, buffer, 0, kLength));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(done->Query(), StatusIs(StatusCode::kAborted,
                                      AllOf(HasSubstr("CANCELLED"), HasSubstr(file.path()))));
}

TEST(LocalDiscreteTest, ACopyEngineLinkSpeedMakesCopiesTakeThatLong) {
  DeviceOptions options = SmallStaging();
  options.copy_bytes_per_second = 100ull << 20;  // 100 MiB/s
  options.copy_latency_us = 1000;
  auto device = MakeDevice(options);
  BufferRef buffer = DeviceBuffer(*device, 10 << 20);
  const auto start = std::chrono::steady_clock::now();
  HALIO_ASSERT_OK(RunOp([&](SemaphoreList s) {
    return device->QueueFill({}, s, buffer, 0, 10 << 20, 1, 1);
  }));
  // 10 MiB at 100 MiB/s + 1 ms: at least 100 ms. (A lower bound only: the
  // machine may be slower, never faster than the configured link.)
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace halio
