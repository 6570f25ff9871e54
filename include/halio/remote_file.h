// Remote files: http://, https:// and s3://bucket/key as a read-only File.
//
// A RemoteFile learns its length once, at Open (HEAD, or when the server
// will not answer HEAD, the Content-Range of a one-byte ranged GET), and
// reads by byte-range GETs: a read is cut into requests of
// `request_bytes`, up to `max_in_flight` of them in flight at once on the
// file's own transfer thread (libcurl's multi interface; connections are
// kept and reused), each landing directly in the destination memory (or,
// for device memory, in host staging that is then copied to the device).
// A request that fails with 429/500/502/503/504, a connection reset or a
// truncated body is retried with exponential backoff, at most `max_retries`
// times and never past `deadline`; then the read fails with the last error.
//
// Errors a read returns, each naming the URL (never credentials: user info
// and query strings are left out of messages) and the byte range:
//   NOT_FOUND (404), PERMISSION_DENIED (401/403; for s3:// also the region
//   and endpoint that signed the request; writes: remote files are
//   read-only), OUT_OF_RANGE (416, or a range outside the file),
//   DATA_LOSS (a body shorter or longer than the range, after retries),
//   FAILED_PRECONDITION (a server that ignores Range and answers 200 with
//   the whole body: never taken as the range's bytes; a TLS peer that fails
//   verification), UNAVAILABLE (HTTP
//   429/5xx or connection failures after retries), DEADLINE_EXCEEDED,
//   CANCELLED (CancelReadsInto, a load's LoadOptions::cancel,
//   CancelInFlight, the file being destroyed, or the device running the
//   read being destroyed: see below).
//
// Cancellation: a device that runs reads on its own workers (local_async,
// local_discrete, cuda) aborts, when it is destroyed, the requests its reads
// have in flight, those already sent included, and fails those reads' signal
// semaphores with CANCELLED naming the URL and the range ("... aborted: the
// device was destroyed while the read ran"); reads of the same file by other
// devices or threads go on. CancelReadsInto aborts the reads into one
// buffer (a load's LoadOptions::cancel aborts the reads into its arena, so
// other reads of a file the load shares go on); CancelInFlight aborts every
// read of the file.
//
// Ownership: files are shared (FileRef). Destroying the last reference
// aborts what is in flight and joins the transfer thread.
// Thread-safety: Read, ReadBytes, length, CancelReadsInto and CancelInFlight
// are thread-safe;
// concurrent reads share the file's in-flight limit.
#ifndef HALIO_REMOTE_FILE_H_
#define HALIO_REMOTE_FILE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "halio/file.h"
#include "halio/status.h"

namespace halio {

class HttpRangeClient;  // halio's own: the transfer engine (src/async/http_ranges.h)

struct RemoteFileOptions {
  // Range requests in flight at once, per file (all its reads together).
  uint32_t max_in_flight = 16;
  // Bytes one range GET asks for; a read is cut at multiples of this. 16
  // MiB: AWS advises 8-16 MB range GETs, and on loopback 64 MiB requests
  // beat 4 MiB ones by only ~10% (bench/README.md).
  uint64_t request_bytes = uint64_t{16} << 20;
  // Retries of one request after a retryable failure (see above).
  uint32_t max_retries = 4;
  // The wait before the first retry; doubled for each further one.
  std::chrono::milliseconds retry_backoff{100};
  // One request, its retries included, must finish within this.
  std::chrono::milliseconds deadline{120000};
  // Establishing one connection (TCP and TLS).
  std::chrono::milliseconds connect_timeout{10000};
  // Verify the TLS peer and host name (https:// and s3:// over https),
  // against the system's certificate authorities or, when set, those in the
  // PEM file `ca_file`.
  bool verify_tls = true;
  std::string ca_file;
  // Extra request headers, "Name: value" each (say "Authorization: Bearer
  // TOKEN" for a model hub). They may carry credentials: never in messages.
  std::vector<std::string> headers;

  // s3:// only. Empty fields come from the environment: AWS_ENDPOINT_URL,
  // AWS_REGION (then AWS_DEFAULT_REGION, then "us-east-1"),
  // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. With an
  // endpoint the object is <endpoint>/<bucket>/<key> (path style); without,
  // https://<bucket>.s3.<region>.amazonaws.com/<key>. Requests are signed
  // (SigV4) when an access key is known, else sent unsigned (public
  // buckets).
  std::string s3_endpoint;
  std::string s3_region;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

class RemoteFile final : public File {
 public:
  // True for "http://", "https://" and "s3://" paths.
  static bool IsRemoteUrl(std::string_view path);
  // False when halio was built without libcurl (then Open fails UNIMPLEMENTED).
  static bool Available();

  // Opens `url` and learns its length. Errors: INVALID_ARGUMENT (not a
  // remote URL, an s3:// URL without bucket or key, bad options),
  // UNIMPLEMENTED (built without libcurl), and the read errors above for
  // the length request.
  static Result<FileRef> Open(const std::string& url, const RemoteFileOptions& options = {});

  RemoteFile(std::unique_ptr<HttpRangeClient> client, uint64_t length, std::string description);
  ~RemoteFile() override;

  uint64_t length() const override { return length_; }
  MemoryAccess allowed_access() const override { return MemoryAccess::kRead; }
  const BufferRef& storage_buffer() const override;
  // Reads block the calling thread until their bytes arrived (devices run
  // them on a worker; local_sync on the caller).
  bool supports_synchronous_io() const override { return true; }
  // The URL without user info or query string, plus, for s3://, the
  // endpoint and region requests go to.
  const std::string& description() const override { return description_; }

  // Errors: as above, plus those of ValidateFileRead.
  Status Read(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
              uint64_t length) override;
  // PERMISSION_DENIED: remote files are read-only.
  Status Write(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
               uint64_t length) override;

  // Reads [file_offset, file_offset + bytes.size()) into host memory.
  // Errors: OUT_OF_RANGE outside the file, and the read errors above.
  Status ReadBytes(uint64_t file_offset, std::span<std::byte> bytes);
  // Aborts the reads into `buffer` running now (those whose Read was given
  // this very Buffer object: a read into another view of the same memory is
  // not one of them), the requests they have sent included: they fail with
  // CANCELLED ("... aborted: cancelled by RemoteFile::CancelReadsInto").
  // Other reads go on, and reads into `buffer` started afterwards run
  // normally (a caller that queued more calls it again as they start, as
  // the loader does).
  void CancelReadsInto(const Buffer& buffer);
  // Aborts every request in flight or waiting now, whoever's read it is:
  // the reads they belong to fail with CANCELLED. Reads started afterwards
  // run normally.
  void CancelInFlight();

 private:
  struct ActiveReads;  // the reads running now (remote_file.cc)

  std::unique_ptr<ActiveReads> reads_;
  std::unique_ptr<HttpRangeClient> client_;
  uint64_t length_;
  std::string description_;
};

}  // namespace halio

#endif  // HALIO_REMOTE_FILE_H_
