// The cuda device. Where halio was built without CUDA, or there is no usable
// GPU or driver, CreateDevice("cuda") must say so (UNAVAILABLE, with the
// reason): CudaRegistryTest checks that on every machine, and every test
// that needs a GPU skips with that reason. With a GPU they check device
// memory (allocation, Map refusal), fills of every pattern size at odd
// alignments, update, copies host <-> device <-> device (overlapping ones
// too), file reads and writes through the staging buffers on every backend
// and file kind, and that errors name what failed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio_config.h"
#include "testing/matrix.h"
#include "testing/status_matchers.h"
#include "testing/temp_file.h"
#if HALIO_HAVE_CUDA
#include "cuda/cuda_memory.h"
#endif

namespace halio {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::Await;
using testing::FileKind;
using testing::MatrixParam;

bool Listed(const std::string& name) {
  const std::vector<std::string> devices = AvailableDevices();
  return std::find(devices.begin(), devices.end(), name) != devices.end();
}

// Every machine: the device exists exactly when AvailableDevices lists it,
// and when it does not, the reason says which of the two causes it is.
TEST(CudaRegistryTest, CreateDeviceSaysWhyWhenItCannot) {
  auto device = CreateDevice("cuda");
  if (!HALIO_HAVE_CUDA) {
    EXPECT_THAT(device, StatusIs(StatusCode::kUnavailable,
                                 AllOf(HasSubstr("built without CUDA"),
                                       HasSubstr("-Dcuda=enabled"))));
    EXPECT_FALSE(Listed("cuda"));
    return;
  }
  if (device.ok()) {
    EXPECT_EQ((*device)->id(), "cuda");
    EXPECT_TRUE(Listed("cuda"));
    return;
  }
  // Built, but no GPU or driver here: cudaGetDeviceCount's error, or none.
  EXPECT_THAT(device, StatusIs(StatusCode::kUnavailable, HasSubstr("CUDA GPU")));
  EXPECT_FALSE(Listed("cuda"));
}

TEST(CudaRegistryTest, AGpuBeyondThosePresentIsUnavailable) {
  DeviceOptions options;
  options.cuda_device = 1000;
  EXPECT_THAT(CreateCudaDevice(options),
              StatusIs(StatusCode::kUnavailable,
                       HasSubstr(HALIO_HAVE_CUDA ? "CUDA GPU" : "built without CUDA")));
}

// Small staging buffers, so every file transfer below takes many chunks.
DeviceOptions CudaOptions() {
  DeviceOptions options;
  options.staging_buffer_size = 64 << 10;
  options.staging_buffer_count = 4;
  options.worker_count = 2;
  return options;
}

// Creates the device or skips with CreateDevice's reason.
#define HALIO_CREATE_CUDA_OR_SKIP(device)                                          \
  do {                                                                             \
    auto halio_cuda = CreateCudaDevice(CudaOptions());                             \
    if (!halio_cuda.ok() && halio_cuda.status().code() == StatusCode::kUnavailable) \
      GTEST_SKIP() << halio_cuda.status().ToString();                              \
    HALIO_ASSERT_OK_AND_ASSIGN(device, std::move(halio_cuda));                     \
  } while (false)

class CudaDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override { HALIO_CREATE_CUDA_OR_SKIP(device_); }

  BufferRef DeviceBuffer(uint64_t size) {
    BufferParams params;
    params.type = MemoryType::kDeviceLocal;
    auto buffer = device_->allocator().Allocate(params, size);
    EXPECT_THAT(buffer, IsOk());
    return buffer.ok() ? *buffer : nullptr;
  }
  BufferRef HostBuffer(uint64_t size) {
    auto buffer = device_->allocator().Allocate(BufferParams(), size);
    EXPECT_THAT(buffer, IsOk());
    return buffer.ok() ? *buffer : nullptr;
  }

  // Runs one op that signals `done` to 1: its outcome.
  template <typename Queue>
  Status Run(Queue queue) {
    HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
    SemaphorePoint signal[] = {{done.get(), 1}};
    return testing::Outcome(queue(SemaphoreList(signal)), *done);
  }

  // The bytes of a device buffer, copied out through a host buffer.
  std::vector<std::byte> Read(const BufferRef& buffer) {
    BufferRef host = HostBuffer(buffer->byte_length());
    EXPECT_THAT(Run([&](SemaphoreList signal) {
                  return device_->QueueCopy({}, signal, buffer, 0, host, 0,
                                            buffer->byte_length());
                }),
                IsOk());
    auto mapping = host->Map(MemoryAccess::kRead);
    EXPECT_THAT(mapping, IsOk());
    if (!mapping.ok()) return {};
    return std::vector<std::byte>(mapping->data(), mapping->data() + mapping->size());
  }

  Status Update(const BufferRef& buffer, uint64_t offset, const std::vector<std::byte>& bytes) {
    return Run([&](SemaphoreList signal) {
      return device_->QueueUpdate({}, signal, bytes, buffer, offset);
    });
  }

  std::unique_ptr<Device> device_;
};

TEST_F(CudaDeviceTest, BuffersAreGpuMemoryThatMapRefuses) {
  BufferRef buffer = DeviceBuffer(4096);
  ASSERT_NE(buffer, nullptr);
  EXPECT_FALSE(buffer->host_visible());
  EXPECT_FALSE(AnySet(buffer->memory_type(), MemoryType::kHostVisible));
  EXPECT_THAT(buffer->Map(MemoryAccess::kRead), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(Read(buffer), std::vector<std::byte>(4096, std::byte{0})) << "zero-initialized";
}

// The address CUDA knows the buffer by (DLPack's kDLCUDA data pointer; the
// GPU check, bench/cuda_device_check.sh, hands it to torch), and a view's is
// its offset further on.
TEST_F(CudaDeviceTest, BuffersGiveTheirCudaDevicePointer) {
  BufferRef buffer = DeviceBuffer(4096);
  ASSERT_NE(buffer, nullptr);
  HALIO_ASSERT_OK_AND_ASSIGN(DeviceAddress address, buffer->GetDeviceAddress());
  EXPECT_EQ(address.kind, DeviceAddress::Kind::kCuda);
  EXPECT_EQ(address.ordinal, 0u);
  EXPECT_NE(address.address, 0u);
  EXPECT_EQ(address.address % 256, 0u) << "cudaMalloc's alignment";
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef view, buffer->Subspan(256, 512));
  HALIO_ASSERT_OK_AND_ASSIGN(DeviceAddress view_address, view->GetDeviceAddress());
  EXPECT_EQ(view_address.address, address.address + 256);
}

TEST_F(CudaDeviceTest, FillsWith1_2And4BytePatternsAtAnyAlignment) {
  constexpr size_t kSize = 3 << 20;  // big enough for many blocks of the kernel
  BufferRef buffer = DeviceBuffer(kSize);
  std::vector<std::byte> expected(kSize, std::byte{0});
  struct Fill {
    uint64_t offset, length;
    uint32_t pattern, pattern_length;
  };
  // Odd offsets (the kernel's unaligned head and tail), a 2-byte pattern
  // whose bytes are equal (a memset), and a long 4-byte fill.
  for (const Fill& fill : {Fill{1, 5, 0xAB, 1}, Fill{11, 6, 0x1234, 2}, Fill{30, 2, 0x7777, 2},
                           Fill{41, 4 * 1001, 0xDEADBEEF, 4}, Fill{8192, kSize - 8192 - 6,
                                                                   0x01020304, 4}}) {
    HALIO_ASSERT_OK(Run([&](SemaphoreList signal) {
      return device_->QueueFill({}, signal, buffer, fill.offset, fill.length, fill.pattern,
                                fill.pattern_length);
    }));
    for (uint64_t i = 0; i < fill.length; ++i) {
      expected[fill.offset + i] =
          static_cast<std::byte>(fill.pattern >> (8 * (i % fill.pattern_length)));
    }
  }
  EXPECT_EQ(Read(buffer), expected);
}

TEST_F(CudaDeviceTest, UpdatesAndCopiesHostDeviceAndDevice) {
  constexpr size_t kSize = 9 << 20;  // overlapping copies bounce in 4 MiB chunks
  const std::vector<std::byte> bytes = testing::PatternBytes(kSize, 5);
  BufferRef first = DeviceBuffer(kSize);
  BufferRef second = DeviceBuffer(kSize);
  HALIO_ASSERT_OK(Update(first, 0, bytes));
  EXPECT_EQ(Read(first), bytes);

  HALIO_ASSERT_OK(Run([&](SemaphoreList signal) {
    return device_->QueueCopy({}, signal, first, 0, second, 0, kSize);
  }));
  EXPECT_EQ(Read(second), bytes);

  // Overlapping, within one buffer, both ways (memmove semantics).
  std::vector<std::byte> expected = bytes;
  constexpr size_t kShift = 4097;
  HALIO_ASSERT_OK(Run([&](SemaphoreList signal) {
    return device_->QueueCopy({}, signal, second, 0, second, kShift, kSize - kShift);
  }));
  std::memmove(expected.data() + kShift, expected.data(), kSize - kShift);
  EXPECT_EQ(Read(second), expected);
  HALIO_ASSERT_OK(Run([&](SemaphoreList signal) {
    return device_->QueueCopy({}, signal, second, kShift, second, 1, kSize - kShift);
  }));
  std::memmove(expected.data() + 1, expected.data() + kShift, kSize - kShift);
  EXPECT_EQ(Read(second), expected);

  // Host -> device.
  BufferRef host = HostBuffer(kSize);
  {
    auto mapping = host->Map(MemoryAccess::kWrite);
    ASSERT_THAT(mapping, IsOk());
    std::memcpy(mapping->data(), bytes.data(), kSize);
  }
  HALIO_ASSERT_OK(Run([&](SemaphoreList signal) {
    return device_->QueueCopy({}, signal, host, 3, second, 0, kSize - 3);
  }));
  std::copy(bytes.begin() + 3, bytes.end(), expected.begin());
  EXPECT_EQ(Read(second), expected);
}

// Reads and writes between files and GPU memory through the staging pool,
// on every backend and file kind the machine offers.
class CudaFileTest : public ::testing::TestWithParam<MatrixParam> {
 protected:
  void SetUp() override {
    HALIO_SKIP_IF_UNAVAILABLE(GetParam());
    HALIO_CREATE_CUDA_OR_SKIP(device_);
  }
  std::unique_ptr<Device> device_;
};

TEST_P(CudaFileTest, ReadsAndWritesThroughStaging) {
  // Many staging chunks plus a partial one, at an odd file offset.
  constexpr size_t kSize = (1 << 20) + 123;
  constexpr uint64_t kOffset = 7;
  const std::vector<std::byte> contents = testing::PatternBytes(kSize + kOffset, 9);
  testing::TestFiles files(GetParam().file_kind, GetParam().backend);
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, files.Make(contents, MemoryAccess::kAll));
  BufferParams params;
  params.type = MemoryType::kDeviceLocal;
  HALIO_ASSERT_OK_AND_ASSIGN(BufferRef buffer, device_->allocator().Allocate(params, kSize));
  HALIO_ASSERT_OK(files.PrepareRead());
  HALIO_ASSERT_OK(testing::RunRead(*device_, file, kOffset, buffer, kSize));

  // Back out to the start of the file: the file then holds the read range
  // twice over its first bytes.
  HALIO_ASSERT_OK(testing::RunWrite(*device_, buffer, file, 0, kSize));
  std::vector<std::byte> expected(contents.begin() + kOffset, contents.end());
  expected.insert(expected.end(), contents.end() - kOffset, contents.end());
  EXPECT_EQ(files.Contents(), expected);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CudaFileTest,
    ::testing::ValuesIn(testing::Matrix({FileKind::kFd, FileKind::kFdDirect, FileKind::kMemory},
                                        testing::AllBackends(), {"cuda"})),
    testing::MatrixParamName);

// A file that shrank after it was opened: the read fails while running,
// and the signal list is failed with an error naming the file.
TEST_F(CudaDeviceTest, AReadPastTheEndFailsTheSignalNamingTheFile) {
  testing::TempFile temp(testing::PatternBytes(1 << 20, 3));
  HALIO_ASSERT_OK_AND_ASSIGN(FileRef file, FdFile::Open(temp.path(), OpenMode::kRead));
  std::filesystem::resize_file(temp.path(), 4096);
  BufferRef buffer = DeviceBuffer(1 << 20);
  const Status read = testing::RunRead(*device_, file, 0, buffer, 1 << 20);
  EXPECT_FALSE(read.ok());
  EXPECT_THAT(read.message(), HasSubstr(temp.path()));
}

#if HALIO_HAVE_CUDA
// CudaMemory directly: what the device's ops rely on.
class CudaMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto memory = cuda::CudaMemory::Create(DeviceOptions(), 0);
    if (!memory.ok() && memory.status().code() == StatusCode::kUnavailable) {
      GTEST_SKIP() << memory.status().ToString();
    }
    HALIO_ASSERT_OK_AND_ASSIGN(memory_, std::move(memory));
  }
  Status Copy(DeviceCopy::Kind kind, const std::byte* source, std::byte* target, size_t bytes) {
    DeviceCopy copy;
    copy.kind = kind;
    copy.source = source;
    copy.target = target;
    copy.bytes = bytes;
    return SubmitAndWait(*memory_, copy);
  }
  std::shared_ptr<cuda::CudaMemory> memory_;
};

TEST_F(CudaMemoryTest, TooLargeAnAllocationIsResourceExhaustedNamingTheSize) {
  constexpr size_t kHuge = size_t{1} << 50;
  EXPECT_THAT(memory_->Allocate(kHuge),
              StatusIs(StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("cudaMalloc"), HasSubstr(std::to_string(kHuge)))));
}

TEST_F(CudaMemoryTest, ARefusedCopyCompletesWithTheCallAndRange) {
  std::vector<std::byte> host(4096);
  // CUDA refuses a null device address.
  EXPECT_THAT(Copy(DeviceCopy::Kind::kToDevice, host.data(), nullptr, host.size()),
              StatusIs(StatusCode::kInternal,
                       AllOf(HasSubstr("cudaMemcpyAsync"), HasSubstr("host -> device"),
                             HasSubstr("4096 bytes"))));
}

TEST_F(CudaMemoryTest, StagingIsPageAlignedAndCopiesRoundTrip) {
  constexpr size_t kSize = 1 << 20;
  HALIO_ASSERT_OK_AND_ASSIGN(std::byte* staging, memory_->AllocateStaging(kSize));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(staging) % 4096, 0u);
  HALIO_ASSERT_OK_AND_ASSIGN(std::byte* device, memory_->Allocate(kSize));
  const std::vector<std::byte> bytes = testing::PatternBytes(kSize, 1);
  std::memcpy(staging, bytes.data(), kSize);
  HALIO_EXPECT_OK(Copy(DeviceCopy::Kind::kToDevice, staging, device, kSize));
  std::memset(staging, 0, kSize);
  HALIO_EXPECT_OK(Copy(DeviceCopy::Kind::kFromDevice, device, staging, kSize));
  EXPECT_EQ(std::memcmp(staging, bytes.data(), kSize), 0);
  memory_->Free(device, kSize);
  memory_->FreeStaging(staging, kSize);
}
#endif  // HALIO_HAVE_CUDA

}  // namespace
}  // namespace halio
