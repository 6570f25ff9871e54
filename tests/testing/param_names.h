// Test-name generators for parameterized suites (named functions, not
// lambdas: gtest's macro would shadow a lambda's parameter name).
#ifndef HALIO_TESTS_TESTING_PARAM_NAMES_H_
#define HALIO_TESTS_TESTING_PARAM_NAMES_H_

#include <gtest/gtest.h>

#include <string>

#include "halio/io_backend.h"

namespace halio::testing {

inline std::string BackendName(const ::testing::TestParamInfo<IoBackend>& param_info) {
  return IoBackendName(param_info.param);
}

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_PARAM_NAMES_H_
