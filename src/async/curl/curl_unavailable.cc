// Built when libcurl is not found (or -Dcurl=disabled): remote files are
// refused with the fix.
#include "http_ranges.h"

namespace halio {

bool HttpRangeClientAvailable() { return false; }

Result<std::unique_ptr<HttpRangeClient>> CreateHttpRangeClient(HttpTarget target,
                                                               const RemoteFileOptions&) {
  return UnimplementedError("halio was built without libcurl, so it cannot open " +
                            target.description +
                            "; install libcurl4-openssl-dev and rebuild (-Dcurl=enabled)");
}

}  // namespace halio
