// The one errno -> Status mapping. Messages name the operation and its
// target (path or fd, offset and length), as the caller describes it, plus
// the system's text and a hint where one is known.
#ifndef HALIO_SRC_BASE_ERRNO_STATUS_H_
#define HALIO_SRC_BASE_ERRNO_STATUS_H_

#include <string_view>

#include "halio/status.h"

namespace halio {

// The canonical code for an errno value (ENOENT -> NOT_FOUND, ...).
StatusCode ErrnoToStatusCode(int error_number);

// A Status for `error_number` whose message is
// "<what>: <strerror> (errno N)" plus a fix-it hint where one is known.
// `what` says what failed, e.g. "pread of /x [0, 4096)".
Status ErrnoToStatus(int error_number, std::string_view what,
                     SourceLocation location = SourceLocation::current());

}  // namespace halio

#endif  // HALIO_SRC_BASE_ERRNO_STATUS_H_
