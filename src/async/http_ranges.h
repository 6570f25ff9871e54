// The transfer engine behind RemoteFile (include/halio/remote_file.h): byte
// ranges of one HTTP(S) resource, many requests in flight on a thread of the
// client's own. Implemented over libcurl's multi interface in
// curl/curl_range_client.cc, the only code that includes libcurl's headers;
// curl/curl_unavailable.cc is built instead when libcurl is missing.
//
// Ownership: a client owns its transfer thread, connections and easy
// handles; destroying it aborts what is in flight (the calls waiting on it
// return CANCELLED) and joins the thread.
// Thread-safety: every method may be called from any thread, concurrently.
#ifndef HALIO_SRC_ASYNC_HTTP_RANGES_H_
#define HALIO_SRC_ASYNC_HTTP_RANGES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "cancel_token.h"
#include "halio/remote_file.h"
#include "halio/status.h"

namespace halio {

// What to fetch and how to sign it. `url` may carry credentials (user info,
// a presigned query string); messages use only `description`.
struct HttpTarget {
  std::string url;
  std::string description;
  // SigV4 for S3: signed when access_key_id is not empty.
  std::string sigv4_region;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

// File bytes at `offset` for `destination`.
struct HttpRange {
  uint64_t offset = 0;
  std::span<std::byte> destination;
};

class HttpRangeClient {
 public:
  virtual ~HttpRangeClient() = default;

  // The resource's length: HEAD, or where HEAD is refused or says no
  // length, the total of a one-byte ranged GET's Content-Range. Errors: as
  // ReadRanges, naming the request.
  virtual Result<uint64_t> FetchLength() = 0;
  // Fills each range's destination with the bytes at its offset, in
  // requests of the options' request_bytes, up to max_in_flight at once
  // (the requests of all the ranges together); blocks until all arrived or
  // the first failed (those in flight are then still waited for, so nothing
  // writes into a destination after this returns). When `cancel` (may be
  // null) is cancelled before or while this runs, the call's requests are
  // aborted, those already sent included, and it returns CANCELLED naming
  // the URL, the range and the token's reason; other calls' requests go on.
  // Errors: as listed in remote_file.h.
  virtual Status ReadRanges(std::span<const HttpRange> ranges, CancelToken* cancel) = 0;
  Status ReadRange(uint64_t offset, std::span<std::byte> destination, CancelToken* cancel) {
    const HttpRange range{offset, destination};
    return ReadRanges(std::span(&range, 1), cancel);
  }
  // Aborts the requests submitted before this call, of every caller; their
  // ReadRanges and FetchLength calls return CANCELLED.
  virtual void CancelInFlight() = 0;
};

// Errors: UNIMPLEMENTED (built without libcurl), INVALID_ARGUMENT (options
// out of range), RESOURCE_EXHAUSTED (libcurl or the thread could not start).
Result<std::unique_ptr<HttpRangeClient>> CreateHttpRangeClient(
    HttpTarget target, const RemoteFileOptions& options);
bool HttpRangeClientAvailable();

}  // namespace halio

#endif  // HALIO_SRC_ASYNC_HTTP_RANGES_H_
