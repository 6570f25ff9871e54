#include "faults/real/real_fault_util.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "halio/hal/semaphore.h"

namespace halio::testing {
namespace {

// Far beyond any op here (the slowest, a short-read file through FUSE,
// takes well under a second), so only a hang reaches it.
constexpr auto kOpDeadline = std::chrono::seconds(60);

Status Await(Semaphore& done, const Status& queued) {
  // Refused before running (validation): the semaphore is untouched.
  if (!queued.ok() && done.failure().ok()) return queued;
  Status waited = done.Wait(1, Timeout::After(kOpDeadline));
  if (waited.code() == StatusCode::kDeadlineExceeded) return waited;
  Status delivered = done.failure_cause();
  EXPECT_EQ(waited.ok(), delivered.ok()) << "the op both signaled and failed its semaphore";
  if (!queued.ok()) {
    EXPECT_EQ(queued.code(), delivered.code())
        << "the call returned " << queued.ToString() << " but the op delivered "
        << delivered.ToString();
  }
  return delivered;
}

}  // namespace

std::vector<DeviceBackend> AllDeviceBackends() {
  std::vector<DeviceBackend> params;
  for (const std::string& device : AvailableDevices()) {
    for (IoBackend backend : {IoBackend::kIoUring, IoBackend::kAsio, IoBackend::kSync}) {
      params.push_back({device, backend});
    }
  }
  return params;
}

std::string DeviceBackendName(const ::testing::TestParamInfo<DeviceBackend>& param_info) {
  return param_info.param.device + "_" + IoBackendName(param_info.param.backend);
}

void DeviceBackendTest::SetUp() {
  BackendAvailability availability = IoEngine::Probe(GetParam().backend);
  if (!availability.status.ok()) {
    GTEST_SKIP() << IoBackendName(GetParam().backend)
                 << " cannot run here: " << availability.status.ToString();
  }
  auto device = CreateDevice(GetParam().device);
  ASSERT_TRUE(device.ok()) << device.status().ToString();
  device_ = *std::move(device);
}

FdFileOptions DeviceBackendTest::FileOptions() const {
  FdFileOptions options;
  options.backend = GetParam().backend;
  return options;
}

Status RunRead(Device& device, const FileRef& file, uint64_t offset, const BufferRef& buffer,
               uint64_t length) {
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
  SemaphorePoint signal[] = {{done.get(), 1}};
  Status queued = device.QueueRead({}, signal, file, offset, buffer, 0, length);
  return Await(*done, queued);
}

Status RunWrite(Device& device, const BufferRef& buffer, const FileRef& file, uint64_t offset,
                uint64_t length) {
  HALIO_ASSIGN_OR_RETURN(SemaphoreRef done, Semaphore::Create(0));
  SemaphorePoint signal[] = {{done.get(), 1}};
  Status queued = device.QueueWrite({}, signal, buffer, 0, file, offset, length);
  return Await(*done, queued);
}

Result<BufferRef> NewBuffer(Device& device, uint64_t length) {
  return device.allocator().Allocate(BufferParams{}, length);
}

std::vector<uint8_t> BufferBytes(const BufferRef& buffer, uint64_t offset, uint64_t length) {
  auto mapped = buffer->Map(MemoryAccess::kRead, offset, length);
  if (!mapped.ok()) {
    ADD_FAILURE() << mapped.status().ToString();
    return {};
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(mapped->data());
  return std::vector<uint8_t>(bytes, bytes + mapped->size());
}

::testing::AssertionResult SameBytes(std::span<const uint8_t> actual,
                                     std::span<const uint8_t> expected) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << actual.size() << " bytes, expected " << expected.size();
  }
  for (size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] != expected[i]) {
      return ::testing::AssertionFailure() << "byte " << i << " is " << int{actual[i]}
                                           << ", expected " << int{expected[i]};
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult NamesFileAndRange(const Status& status, const std::string& path,
                                             uint64_t begin, uint64_t end,
                                             faultfs::Range fault) {
  const std::string message(status.message());
  const size_t at = message.find(path + " [");
  if (at == std::string::npos) {
    return ::testing::AssertionFailure() << "no \"" << path << " [a, b)\" in: " << message;
  }
  uint64_t first = 0;
  uint64_t last = 0;
  if (std::sscanf(message.c_str() + at + path.size(), " [%" SCNu64 ", %" SCNu64 ")", &first,
                  &last) != 2) {
    return ::testing::AssertionFailure() << "no range after the path in: " << message;
  }
  if (first < begin || last > end || first >= last) {
    return ::testing::AssertionFailure() << "range [" << first << ", " << last
                                         << ") is not inside the request [" << begin << ", "
                                         << end << "): " << message;
  }
  if (last <= fault.begin || first >= fault.end) {
    return ::testing::AssertionFailure() << "range [" << first << ", " << last
                                         << ") misses the fault [" << fault.begin << ", "
                                         << fault.end << "): " << message;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace halio::testing
