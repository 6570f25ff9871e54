// Kept only for tests/io (owned elsewhere), which still spells
// cts::PatternBytes: the shared test library is tests/testing/matrix.h.
// Remove once tests/io includes that instead.
#ifndef HALIO_TESTS_CTS_CTS_UTIL_H_
#define HALIO_TESTS_CTS_CTS_UTIL_H_

#include "testing/matrix.h"

namespace halio::cts {

using testing::PatternBytes;

}  // namespace halio::cts

#endif  // HALIO_TESTS_CTS_CTS_UTIL_H_
