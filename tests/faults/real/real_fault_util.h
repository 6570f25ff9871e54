// Shared pieces of the real-fault tests: the device x backend parameter, ops
// run to completion with a deadline, and checks that an error names the file
// and a range of the request.
#ifndef HALIO_TESTS_FAULTS_REAL_REAL_FAULT_UTIL_H_
#define HALIO_TESTS_FAULTS_REAL_REAL_FAULT_UTIL_H_

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "halio/drivers.h"
#include "halio/file.h"
#include "halio/hal/device.h"
#include "halio/status.h"
#include "faults/real/fault_fs_layout.h"

namespace halio::testing {

struct DeviceBackend {
  std::string device;
  IoBackend backend;
};

// gtest prints a failing case's parameter with this.
inline void PrintTo(const DeviceBackend& param, std::ostream* os) {
  *os << param.device << " x " << IoBackendName(param.backend);
}

// Every device x {io_uring, asio, sync}.
std::vector<DeviceBackend> AllDeviceBackends();
std::string DeviceBackendName(const ::testing::TestParamInfo<DeviceBackend>& param_info);

// Skips backends that cannot run here and creates the device.
class DeviceBackendTest : public ::testing::TestWithParam<DeviceBackend> {
 protected:
  void SetUp() override;
  // Files imported into the parameter's backend (forced, never a fallback).
  FdFileOptions FileOptions() const;

  std::unique_ptr<Device> device_;
};

// Runs one queue_read / queue_write to completion (or a 60 s deadline) and
// returns what the op delivered: OK only if it signaled its semaphore,
// otherwise the cause it failed the semaphore with. A synchronous device's
// return value must agree with it.
Status RunRead(Device& device, const FileRef& file, uint64_t offset, const BufferRef& buffer,
               uint64_t length);
Status RunWrite(Device& device, const BufferRef& buffer, const FileRef& file, uint64_t offset,
                uint64_t length);

Result<BufferRef> NewBuffer(Device& device, uint64_t length);
// The buffer's bytes [offset, offset + length), copied out.
std::vector<uint8_t> BufferBytes(const BufferRef& buffer, uint64_t offset, uint64_t length);
// Success, or where the first differing byte is.
::testing::AssertionResult SameBytes(std::span<const uint8_t> actual,
                                     std::span<const uint8_t> expected);

// `status`'s message names `path` followed by a range "[a, b)" that lies
// inside [begin, end) and overlaps `fault` (pass {begin, end} when any
// failing part of the request will do).
::testing::AssertionResult NamesFileAndRange(const Status& status, const std::string& path,
                                             uint64_t begin, uint64_t end,
                                             faultfs::Range fault);

}  // namespace halio::testing

#endif  // HALIO_TESTS_FAULTS_REAL_REAL_FAULT_UTIL_H_
