// Built when asio is not found: asio reports UNAVAILABLE so `auto` moves on.
#include "async_io.h"

namespace halio {

Result<AsyncIoEngineRef> CreateAsioEngine(const IoEngineOptions&) {
  return UnavailableError("halio was built without asio; install libasio-dev and rebuild");
}

}  // namespace halio
