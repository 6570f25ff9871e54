// Invariant checks shared by the libFuzzer targets: a broken promise aborts,
// which libFuzzer reports as a crash with the input that broke it.
#ifndef HALIO_FUZZ_FUZZ_CHECKS_H_
#define HALIO_FUZZ_FUZZ_CHECKS_H_

#include <cstdlib>

#include "halio/status.h"

namespace halio::fuzz {

inline void Check(bool condition) {
  if (!condition) std::abort();
}

// The parsers fail only with INVALID_ARGUMENT or OUT_OF_RANGE.
inline void CheckErrorCode(const Status& status) {
  Check(status.code() == StatusCode::kInvalidArgument ||
        status.code() == StatusCode::kOutOfRange);
}

}  // namespace halio::fuzz

#endif  // HALIO_FUZZ_FUZZ_CHECKS_H_
