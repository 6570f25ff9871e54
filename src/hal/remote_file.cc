// RemoteFile (include/halio/remote_file.h): what the URL means (the S3
// addressing and credentials, a description safe for messages), range
// checks and where the bytes land. Moving them is the HttpRangeClient's
// (async/http_ranges.h).
#include "halio/remote_file.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <new>

#include "buffer_internals.h"
#include "cancel_token.h"
#include "device_memory.h"
#include "http_ranges.h"
#include "staged_transfer.h"

namespace halio {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

std::string FromEnvironment(const std::string& given, std::initializer_list<const char*> names) {
  if (!given.empty()) return given;
  for (const char* name : names) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "";
}

// The URL without user info and query string: either may hold credentials.
std::string DescribeUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t authority = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const size_t path = std::min(url.find('/', authority), url.size());
  const size_t at = url.substr(0, path).rfind('@');
  std::string described(url.substr(0, authority));
  described += url.substr(at == std::string_view::npos || at < authority ? authority : at + 1);
  const size_t query = described.find('?');
  if (query != std::string::npos) described = described.substr(0, query) + "?<query omitted>";
  return described;
}

// S3 keys in a URL path: every byte but unreserved ones and '/' escaped.
std::string EscapeKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string escaped;
  for (const char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      escaped += c;
    } else {
      escaped += '%';
      escaped += kHex[byte >> 4];
      escaped += kHex[byte & 15];
    }
  }
  return escaped;
}

Result<HttpTarget> ResolveS3(const std::string& url, const RemoteFileOptions& options) {
  const std::string_view rest = std::string_view(url).substr(5);  // after "s3://"
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
    return InvalidArgumentError(url + ": an S3 URL is s3://BUCKET/KEY, with both");
  }
  const std::string bucket(rest.substr(0, slash));
  const std::string_view key = rest.substr(slash + 1);
  HttpTarget target;
  target.sigv4_region = FromEnvironment(options.s3_region, {"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (target.sigv4_region.empty()) target.sigv4_region = "us-east-1";
  std::string endpoint = FromEnvironment(options.s3_endpoint, {"AWS_ENDPOINT_URL"});
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (endpoint.empty()) {
    target.url = "https://" + bucket + ".s3." + target.sigv4_region + ".amazonaws.com/" +
                 EscapeKey(key);
    endpoint = "https://s3." + target.sigv4_region + ".amazonaws.com";
  } else {
    target.url = endpoint + "/" + bucket + "/" + EscapeKey(key);  // path style
  }
  target.access_key_id = FromEnvironment(options.access_key_id, {"AWS_ACCESS_KEY_ID"});
  target.secret_access_key =
      FromEnvironment(options.secret_access_key, {"AWS_SECRET_ACCESS_KEY"});
  target.session_token = FromEnvironment(options.session_token, {"AWS_SESSION_TOKEN"});
  if (target.access_key_id.empty() != target.secret_access_key.empty()) {
    return InvalidArgumentError(
        url + ": an access key id needs its secret access key and the other way round "
        "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or RemoteFileOptions)");
  }
  target.description = url + " (endpoint " + DescribeUrl(endpoint) + ", region " +
                       target.sigv4_region + ")";
  return target;
}

Result<HttpTarget> ResolveTarget(const std::string& url, const RemoteFileOptions& options) {
  if (StartsWithNoCase(url, "s3://")) return ResolveS3(url, options);
  if (!StartsWithNoCase(url, "http://") && !StartsWithNoCase(url, "https://")) {
    return InvalidArgumentError(DescribeUrl(url) +
                                ": not a remote URL (http://, https:// or s3://)");
  }
  HttpTarget target;
  target.url = url;
  target.description = DescribeUrl(url);
  return target;
}

std::string RangeText(uint64_t offset, uint64_t length) {
  return "[" + std::to_string(offset) + ", " + std::to_string(offset + length) + ")";
}

// Staging buffers one device-memory read fills at once, at most.
constexpr size_t kMaxStagingRound = 16;

// Memory the host cannot map: as many staging buffers as the pool spares (at
// least one) fill at once, all their range requests in flight together, then
// the copy engine moves each to the device. The network, not the copy, is
// what a remote read waits for, so the copies are not overlapped with it.
Status ReadToDeviceMemory(HttpRangeClient& client, const std::string& description,
                          DeviceMemory& memory, uint64_t file_offset, std::byte* address,
                          uint64_t length, CancelToken* cancel) {
  StagingPool& pool = memory.staging();
  const uint64_t chunk = pool.buffer_bytes();
  const uint64_t wanted = std::min<uint64_t>((length + chunk - 1) / chunk, kMaxStagingRound);
  std::byte* staging[kMaxStagingRound];
  size_t held = 0;
  HALIO_ASSIGN_OR_RETURN(staging[held++], pool.Acquire());
  for (std::byte* more; held < wanted && (more = pool.TryAcquire()) != nullptr;) {
    staging[held++] = more;
  }
  Status status;
  HttpRange ranges[kMaxStagingRound];
  for (uint64_t done = 0; done < length && status.ok();) {
    size_t count = 0;
    uint64_t round = 0;
    for (; count < held && done + round < length; ++count) {
      const size_t bytes = static_cast<size_t>(std::min(chunk, length - done - round));
      ranges[count] = {file_offset + done + round, std::span(staging[count], bytes)};
      round += bytes;
    }
    status = client.ReadRanges(std::span(ranges, count), cancel);
    for (size_t i = 0; i < count && status.ok(); ++i) {
      const HttpRange& range = ranges[i];
      status = CopyAndWait(memory, DeviceCopy::Kind::kToDevice, range.destination.data(),
                           address + (range.offset - file_offset), range.destination.size());
      if (!status.ok()) {
        status.Annotate("copying to " + memory.description() + " the bytes of " + description +
                        " " + RangeText(range.offset, range.destination.size()));
      }
    }
    done += round;
  }
  for (size_t i = 0; i < held; ++i) pool.Release(staging[i]);
  return status;
}

}  // namespace

// The reads running now, so that CancelReadsInto finds those into a buffer.
// Lock order: a device's token, then (ForwardCancel) a read's token, then the
// client's own lock; CancelInto takes `mutex` before a read's token.
struct RemoteFile::ActiveReads {
  class Read;
  std::mutex mutex;
  Read* head = nullptr;  // guarded

  void CancelInto(const Buffer& buffer);
};

// A Read running now, on its caller's stack: the buffer it fills and the
// token its requests answer to, which CancelReadsInto cancels and so does
// the token of the device running the read (CurrentCancelToken: its
// shutdown), through `chained_`.
class RemoteFile::ActiveReads::Read {
 public:
  Read(ActiveReads& reads, const Buffer* target);
  ~Read();
  Read(const Read&) = delete;
  Read& operator=(const Read&) = delete;
  CancelToken* token() { return &token_; }

 private:
  friend struct ActiveReads;
  static void ForwardCancel(void* token, const char* why) {
    static_cast<CancelToken*>(token)->Cancel(why);
  }

  ActiveReads& reads_;
  const Buffer* const target_;
  CancelToken token_;
  const CancelToken::Registration chained_;
  Read* prev_ = nullptr;
  Read* next_ = nullptr;
};

void RemoteFile::ActiveReads::CancelInto(const Buffer& buffer) {
  std::lock_guard<std::mutex> lock(mutex);
  for (Read* read = head; read != nullptr; read = read->next_) {
    if (read->target_ == &buffer) read->token_.Cancel("cancelled by RemoteFile::CancelReadsInto");
  }
}

RemoteFile::ActiveReads::Read::Read(ActiveReads& reads, const Buffer* target)
    : reads_(reads),
      target_(target),
      chained_(CurrentCancelToken(), &Read::ForwardCancel, &token_) {
  // The device is shutting down already: the read gives up at once, with
  // the device's reason (a literal its token keeps).
  if (!chained_.active()) token_.Cancel(CurrentCancelToken()->why());
  std::lock_guard<std::mutex> lock(reads_.mutex);
  next_ = reads_.head;
  if (next_ != nullptr) next_->prev_ = this;
  reads_.head = this;
}

RemoteFile::ActiveReads::Read::~Read() {
  // Unlinked before `chained_` and `token_` go: CancelInto cancels under the
  // lock.
  std::lock_guard<std::mutex> lock(reads_.mutex);
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    reads_.head = next_;
  }
  if (next_ != nullptr) next_->prev_ = prev_;
}

bool RemoteFile::IsRemoteUrl(std::string_view path) {
  return StartsWithNoCase(path, "http://") || StartsWithNoCase(path, "https://") ||
         StartsWithNoCase(path, "s3://");
}

bool RemoteFile::Available() { return HttpRangeClientAvailable(); }

Result<FileRef> RemoteFile::Open(const std::string& url, const RemoteFileOptions& options) {
  HALIO_ASSIGN_OR_RETURN(HttpTarget target, ResolveTarget(url, options));
  std::string description = target.description;
  HALIO_ASSIGN_OR_RETURN(std::unique_ptr<HttpRangeClient> client,
                         CreateHttpRangeClient(std::move(target), options));
  HALIO_ASSIGN_OR_RETURN(uint64_t length, client->FetchLength());
  try {
    return FileRef(std::make_shared<RemoteFile>(std::move(client), length, std::move(description)));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of host memory opening " + DescribeUrl(url));
  }
}

RemoteFile::RemoteFile(std::unique_ptr<HttpRangeClient> client, uint64_t length,
                       std::string description)
    : reads_(std::make_unique<ActiveReads>()),
      client_(std::move(client)),
      length_(length),
      description_(std::move(description)) {}

RemoteFile::~RemoteFile() = default;

const BufferRef& RemoteFile::storage_buffer() const {
  static const BufferRef none;  // constant-initialized: no allocation
  return none;
}

Status RemoteFile::ReadBytes(uint64_t file_offset, std::span<std::byte> bytes) {
  if (file_offset > length_ || bytes.size() > length_ - file_offset) {
    return OutOfRangeError("reading " + description_ + " " +
                           RangeText(file_offset, bytes.size()) + ": the file has " +
                           std::to_string(length_) + " bytes");
  }
  // No buffer, so nothing CancelReadsInto could name: only the device's
  // shutdown cancels it.
  return client_->ReadRange(file_offset, bytes, CurrentCancelToken());
}

Status RemoteFile::Read(uint64_t file_offset, Buffer& buffer, uint64_t buffer_offset,
                        uint64_t length) {
  HALIO_RETURN_IF_ERROR(ValidateFileRead(*this, file_offset, buffer, buffer_offset, length));
  if (length == 0) return Status();
  ActiveReads::Read read(*reads_, &buffer);
  DeviceMemory* memory = BufferInternals::DeviceMemoryOf(buffer);
  if (memory == nullptr) {
    HALIO_ASSIGN_OR_RETURN(std::span<std::byte> bytes,
                           buffer.MapUnretained(MemoryAccess::kWrite, buffer_offset, length));
    return client_->ReadRange(file_offset, bytes, read.token());
  }
  std::byte* address = BufferInternals::ValidatedData(buffer, buffer_offset);
  if (address == nullptr) return BufferInternals::FreedError(buffer);
  return ReadToDeviceMemory(*client_, description_, *memory, file_offset, address, length,
                            read.token());
}

Status RemoteFile::Write(uint64_t file_offset, Buffer&, uint64_t, uint64_t length) {
  return PermissionDeniedError("writing " + description_ + " " +
                               RangeText(file_offset, length) +
                               ": remote files are read-only in halio");
}

void RemoteFile::CancelReadsInto(const Buffer& buffer) { reads_->CancelInto(buffer); }

void RemoteFile::CancelInFlight() { client_->CancelInFlight(); }

}  // namespace halio
