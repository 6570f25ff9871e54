// Shared pieces of the real-fault tests: their matrix (tests/testing/matrix.h
// runs the ops), buffers, and checks that an error names the file and a range
// of the request.
#ifndef HALIO_TESTS_FAULTS_REAL_REAL_FAULT_UTIL_H_
#define HALIO_TESTS_FAULTS_REAL_REAL_FAULT_UTIL_H_

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "halio/hal/device.h"
#include "halio/status.h"
#include "faults/real/fault_fs_layout.h"
#include "testing/matrix.h"

namespace halio::testing {

// The real faults' matrix: every device x backend, on fd files.
inline std::vector<MatrixParam> FdFileMatrix() { return Matrix({FileKind::kFd}); }

// A buffer of the device's own memory (device memory on local_discrete, so
// its file transfers are staged).
Result<BufferRef> NewBuffer(Device& device, uint64_t length);
// The buffer's bytes [offset, offset + length), copied out (through the
// device for memory the host cannot map); fails the test when they cannot be.
std::vector<uint8_t> BufferBytes(Device& device, const BufferRef& buffer, uint64_t offset,
                                 uint64_t length);
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
