// Built when liburing is not found: io_uring reports UNAVAILABLE so `auto`
// moves on to the next backend.
#include "async_io.h"

namespace halio {

Result<AsyncIoEngineRef> CreateUringEngine(const IoEngineOptions&) {
  return UnavailableError("halio was built without liburing; install liburing-dev and "
                          "rebuild to use io_uring");
}

}  // namespace halio
