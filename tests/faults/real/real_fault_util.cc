#include "faults/real/real_fault_util.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "testing/device_buffers.h"

namespace halio::testing {

Result<BufferRef> NewBuffer(Device& device, uint64_t length) {
  return AllocateDeviceBuffer(device, length);
}

std::vector<uint8_t> BufferBytes(Device& device, const BufferRef& buffer, uint64_t offset,
                                 uint64_t length) {
  auto bytes = ReadBufferBytes(device, buffer, offset, length);
  if (!bytes.ok()) {
    ADD_FAILURE() << bytes.status().ToString();
    return {};
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bytes->data());
  return std::vector<uint8_t>(data, data + bytes->size());
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
