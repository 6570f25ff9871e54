// HttpRangeClient over libcurl's multi interface (see http_ranges.h).
//
// Callers cut a read into Requests and hand them to the transfer thread
// (Submit), which is the only thread that touches the multi handle and the
// easy handles. It starts requests while fewer than max_in_flight run,
// lets curl move them (one multi handle, so connections are cached and
// reused), and when one ends decides what its outcome means (Outcome): done,
// retry after a backoff, or the request's error. Each range's body is
// written straight into the caller's memory by OnBody, which first checks
// that the response is the 206 for exactly that range and refuses any byte
// past its end: a server that ignores Range can never leave wrong bytes.
#include <curl/curl.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "http_ranges.h"
#include "take_out.h"

namespace halio {
namespace {

using Clock = std::chrono::steady_clock;

// The payload hash of a GET or HEAD (SHA-256 of nothing): S3 wants it in a
// header, which curl 7.88's SigV4 signing leaves out.
constexpr char kEmptyPayloadSha256[] =
    "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// Enough of an error response to find S3's <Code> and <Message>.
constexpr size_t kErrorBodyBytes = 2048;
// Bigger than curl's 16 KiB default: fewer callbacks per megabyte.
constexpr long kReceiveBufferBytes = 512 * 1024;

// Below this a body piece is copied by memcpy: the stores' fences and the
// alignment head cost more than they save.
constexpr size_t kStreamingCopyBytes = 16 << 10;

// Copies a body piece from curl's receive buffer into the destination with
// non-temporal stores (x86-64). The destination is a read's target, not
// read again soon (a loader's arena, a staging buffer the copy engine
// takes), and with ordinary stores every line is first read into the cache
// (RFO) and then evicted: on loopback this copy costs as much CPU as the
// kernel's own receive copy (bench/README.md, "Remote files"); streaming
// stores write past the cache at about 1.6x the speed.
void CopyBody(std::byte* target, const char* source, size_t bytes) {
#if defined(__x86_64__) || defined(_M_X64)
  if (bytes >= kStreamingCopyBytes) {
    const size_t head = (16 - (reinterpret_cast<uintptr_t>(target) & 15)) & 15;
    std::memcpy(target, source, head);
    target += head;
    source += head;
    bytes -= head;
    for (; bytes >= 64; bytes -= 64, target += 64, source += 64) {
      const auto* from = reinterpret_cast<const __m128i*>(source);
      auto* to = reinterpret_cast<__m128i*>(target);
      const __m128i a = _mm_loadu_si128(from), b = _mm_loadu_si128(from + 1);
      const __m128i c = _mm_loadu_si128(from + 2), d = _mm_loadu_si128(from + 3);
      _mm_stream_si128(to, a);
      _mm_stream_si128(to + 1, b);
      _mm_stream_si128(to + 2, c);
      _mm_stream_si128(to + 3, d);
    }
    // Streaming stores are weakly ordered: fence them before the request's
    // completion publishes the bytes to the reader.
    _mm_sfence();
  }
#endif
  std::memcpy(target, source, bytes);
}

std::string RangeText(uint64_t offset, uint64_t length) {
  return "bytes [" + std::to_string(offset) + ", " + std::to_string(offset + length) + ")";
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

std::string Trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

// "bytes FIRST-LAST/TOTAL" or "bytes */TOTAL" (TOTAL may be "*").
struct ContentRange {
  bool has_range = false;
  uint64_t first = 0, last = 0;
  bool has_total = false;
  uint64_t total = 0;
};

bool ParseNumber(std::string_view& text, uint64_t* value) {
  size_t used = 0;
  uint64_t result = 0;
  while (used < text.size() && text[used] >= '0' && text[used] <= '9') {
    if (result > (UINT64_MAX - 9) / 10) return false;
    result = result * 10 + static_cast<uint64_t>(text[used] - '0');
    ++used;
  }
  if (used == 0) return false;
  text.remove_prefix(used);
  *value = result;
  return true;
}

bool ParseContentRange(std::string_view text, ContentRange* range) {
  if (!StartsWithNoCase(text, "bytes ")) return false;
  text.remove_prefix(6);
  if (!text.empty() && text.front() == '*') {
    text.remove_prefix(1);
  } else {
    if (!ParseNumber(text, &range->first) || text.empty() || text.front() != '-') return false;
    text.remove_prefix(1);
    if (!ParseNumber(text, &range->last) || range->last < range->first) return false;
    range->has_range = true;
  }
  if (text.empty() || text.front() != '/') return false;
  text.remove_prefix(1);
  if (text == "*") return true;
  range->has_total = ParseNumber(text, &range->total) && text.empty();
  return range->has_total;
}

// The text of <name>...</name> in an S3 error body, or "".
std::string XmlElement(const std::string& body, const std::string& name) {
  const size_t open = body.find("<" + name + ">");
  if (open == std::string::npos) return "";
  const size_t begin = open + name.size() + 2;
  const size_t close = body.find("</" + name + ">", begin);
  if (close == std::string::npos) return "";
  return body.substr(begin, std::min<size_t>(close - begin, 200));
}

struct Batch;

// One request (HEAD, a range, or the one-byte length probe) and its retries.
struct Request {
  enum class Kind { kHead, kRange, kProbe };
  Kind kind = Kind::kRange;
  Batch* batch = nullptr;
  uint64_t offset = 0;
  std::byte* data = nullptr;
  size_t length = 0;
  uint64_t epoch = 0;  // CancelInFlight aborts requests of earlier epochs

  // This attempt's response, reset by Reset().
  size_t received = 0;
  bool checked = false;       // OnBody looked at the status line
  bool discard_body = false;  // an error response: keep only its start
  std::string content_range;  // the last response's Content-Range
  std::string error_body;
  Status refused;  // why OnBody stopped the transfer
  char curl_error[CURL_ERROR_SIZE] = {};

  // Across attempts.
  uint32_t attempts = 0;
  Clock::time_point deadline;
  Clock::time_point not_before;
  uint64_t total = 0;  // kHead / kProbe: the resource's length
  CURL* easy = nullptr;
  // The attempt's request headers: the client's own plus Range, as a
  // header rather than CURLOPT_RANGE so that SigV4 signs it.
  curl_slist* headers = nullptr;

  void Reset() {
    received = 0;
    checked = false;
    discard_body = false;
    content_range.clear();
    error_body.clear();
    refused = Status();
    curl_error[0] = '\0';
  }
  bool is_range() const { return kind != Kind::kHead; }
  std::string what() const {
    return kind == Kind::kHead ? std::string("HEAD") : RangeText(offset, length);
  }
};

class CurlRangeClient;

// The requests of one ReadRanges / FetchLength call.
struct Batch {
  CurlRangeClient* client = nullptr;
  size_t outstanding = 0;
  Status first_error;
  std::atomic<bool> failed{false};
  // Set (under the client's mutex_) when the call's CancelToken is
  // cancelled; read by the transfer thread.
  std::atomic<bool> cancelled{false};
  const char* cancel_why = nullptr;
};

class CurlRangeClient final : public HttpRangeClient {
 public:
  CurlRangeClient(HttpTarget target, const RemoteFileOptions& options, CURLM* multi)
      : target_(std::move(target)), options_(options), multi_(multi) {}
  ~CurlRangeClient() override;

  Status Start();
  Result<uint64_t> FetchLength() override;
  Status ReadRanges(std::span<const HttpRange> ranges, CancelToken* cancel) override;
  void CancelInFlight() override;

 private:
  // Caller side: hands `requests` to the transfer thread and waits for all;
  // `cancel` (may be null) aborts them.
  Status RunBatch(Batch& batch, std::span<Request> requests, CancelToken* cancel);
  Result<uint64_t> RunLengthRequest(Request::Kind kind);
  // CancelToken's callback (any thread): marks the batch and wakes the loop.
  static void OnBatchCancelled(void* batch, const char* why);

  // Transfer thread.
  void Loop();
  // Completes with CANCELLED ("... aborted: <why(request)>") every request
  // `aborts` picks, started or waiting.
  template <typename Picks, typename Why>
  void AbortWhere(Picks aborts, Why why);
  void StartReady(Clock::time_point now);
  Status Configure(Request& request, Clock::time_point now);
  Status SetHeaders(Request& request);
  void OnDone(Request& request, CURLcode result);
  Status Outcome(Request& request, CURLcode result, bool* retryable);
  Status HttpError(const Request& request, long code) const;
  int PollTimeoutMs(Clock::time_point now) const;
  void Complete(Request& request, Status status);
  void ReleaseEasy(Request& request);

  static size_t OnBody(char* data, size_t size, size_t count, void* user);
  static size_t OnHeader(char* data, size_t size, size_t count, void* user);
  static Status CheckResponse(Request& request);

  const HttpTarget target_;
  const RemoteFileOptions options_;
  CURLM* const multi_;
  curl_slist* headers_ = nullptr;

  std::mutex mutex_;
  std::condition_variable completed_;
  std::deque<Request*> submitted_;  // guarded
  uint64_t epoch_ = 0;              // guarded
  uint64_t batches_cancelled_ = 0;  // guarded: OnBatchCancelled calls
  bool stopping_ = false;           // guarded

  // Transfer thread only.
  std::deque<Request*> waiting_;  // not started yet, or backing off
  std::vector<Request*> active_;
  std::vector<CURL*> idle_easy_;
  uint64_t cancelled_epoch_ = 0;
  uint64_t batches_cancelled_seen_ = 0;
  std::thread thread_;
};

CurlRangeClient::~CurlRangeClient() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
  }
  for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
  curl_slist_free_all(headers_);
}

// Appends `line` to `*list`; false (the list freed) when out of memory.
bool AppendHeader(curl_slist** list, const char* line) {
  curl_slist* grown = curl_slist_append(*list, line);
  if (grown == nullptr) {
    curl_slist_free_all(*list);
    *list = nullptr;
    return false;
  }
  *list = grown;
  return true;
}

Status CurlRangeClient::Start() {
  bool appended = true;
  for (const std::string& line : options_.headers) {
    appended = appended && AppendHeader(&headers_, line.c_str());
  }
  if (!target_.access_key_id.empty()) {
    appended = appended && AppendHeader(&headers_, kEmptyPayloadSha256);
    if (!target_.session_token.empty()) {
      const std::string token = "x-amz-security-token: " + target_.session_token;
      appended = appended && AppendHeader(&headers_, token.c_str());
    }
  }
  if (!appended) {
    return ResourceExhaustedError("out of memory for the request headers of " +
                                  target_.description);
  }
  // Connections per host as requests in flight: each request keeps one.
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options_.max_in_flight));
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_in_flight));
  try {
    thread_ = std::thread([this] { Loop(); });
  } catch (const std::system_error& error) {
    return ResourceExhaustedError(std::string("cannot start the transfer thread for ") +
                                  target_.description + ": " + error.what());
  }
  return Status();
}

// --- caller side -----------------------------------------------------------

Status CurlRangeClient::RunBatch(Batch& batch, std::span<Request> requests,
                                 CancelToken* cancel) {
  batch.client = this;
  // Registered before the requests are handed over and gone only after all
  // completed: a cancel in between reaches every one of them.
  const CancelToken::Registration registration(cancel, &CurlRangeClient::OnBatchCancelled,
                                               &batch);
  if (!registration.active()) {
    const Request& first = requests.front();
    const Request& last = requests.back();
    return CancelledError(target_.description + ": " +
                          RangeText(first.offset, last.offset + last.length - first.offset) +
                          " not requested: " + cancel->why());
  }
  batch.outstanding = requests.size();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Request& request : requests) {
      request.batch = &batch;
      request.epoch = epoch_;
      submitted_.push_back(&request);
    }
  }
  curl_multi_wakeup(multi_);
  std::unique_lock<std::mutex> lock(mutex_);
  completed_.wait(lock, [&] { return batch.outstanding == 0; });
  return batch.first_error;
}

Result<uint64_t> CurlRangeClient::RunLengthRequest(Request::Kind kind) {
  std::byte probe_byte{};
  Request request;
  request.kind = kind;
  request.data = &probe_byte;
  request.length = kind == Request::Kind::kProbe ? 1 : 0;
  Batch batch;
  HALIO_RETURN_IF_ERROR(RunBatch(batch, std::span(&request, 1), nullptr));
  return request.total;
}

Result<uint64_t> CurlRangeClient::FetchLength() {
  Result<uint64_t> head = RunLengthRequest(Request::Kind::kHead);
  if (head.ok()) return head;
  switch (head.status().code()) {
    case StatusCode::kNotFound:
    case StatusCode::kUnavailable:  // retried already; a GET would fare no better
    case StatusCode::kCancelled:
    case StatusCode::kDeadlineExceeded:
      return head;
    default:
      // HEAD refused (a URL presigned for GET only, a server without HEAD)
      // or no Content-Length: a ranged GET's Content-Range says the length.
      return RunLengthRequest(Request::Kind::kProbe);
  }
}

Status CurlRangeClient::ReadRanges(std::span<const HttpRange> ranges, CancelToken* cancel) {
  const uint64_t piece = options_.request_bytes;
  // Requests end at multiples of request_bytes, so reads of neighbouring
  // ranges ask for the same pieces a server or cache has seen.
  std::vector<Request> requests;
  try {
    size_t count = 0;
    for (const HttpRange& range : ranges) count += range.destination.size() / piece + 2;
    requests.reserve(count);
    for (const HttpRange& range : ranges) {
      for (uint64_t done = 0; done < range.destination.size();) {
        const uint64_t position = range.offset + done;
        const uint64_t length =
            std::min<uint64_t>(piece - position % piece, range.destination.size() - done);
        Request& request = requests.emplace_back();
        request.offset = position;
        request.data = range.destination.data() + done;
        request.length = static_cast<size_t>(length);
        done += length;
      }
    }
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of host memory for the requests of reading " +
                                  target_.description);
  }
  if (requests.empty()) return Status();
  Batch batch;
  return RunBatch(batch, requests, cancel);
}

void CurlRangeClient::OnBatchCancelled(void* user_data, const char* why) {
  Batch& batch = *static_cast<Batch*>(user_data);
  CurlRangeClient& client = *batch.client;
  {
    std::lock_guard<std::mutex> lock(client.mutex_);
    batch.cancel_why = why;
    batch.cancelled.store(true, std::memory_order_release);
    ++client.batches_cancelled_;
  }
  curl_multi_wakeup(client.multi_);
}

void CurlRangeClient::CancelInFlight() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++epoch_;
  }
  curl_multi_wakeup(multi_);
}

// --- transfer thread -------------------------------------------------------

void CurlRangeClient::Loop() {
  while (true) {
    uint64_t epoch, batches_cancelled;
    bool stopping;
    // A read may be cancelled after it registered with its token but before
    // its requests arrived here: the pass for that cancel found none of them,
    // so their arrival calls for another.
    bool arrived_cancelled = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      epoch = epoch_;
      batches_cancelled = batches_cancelled_;
      stopping = stopping_;
      while (!submitted_.empty()) {
        Request* request = submitted_.front();
        submitted_.pop_front();
        arrived_cancelled |= request->batch->cancelled.load(std::memory_order_relaxed);
        waiting_.push_back(request);
      }
    }
    if (stopping) {
      AbortWhere([](const Request*) { return true; },
                 [](const Request&) { return "the remote file was closed"; });
      return;
    }
    if (epoch != cancelled_epoch_) {
      AbortWhere([&](const Request* request) { return request->epoch < epoch; },
                 [](const Request&) { return "cancelled"; });
      cancelled_epoch_ = epoch;
    }
    if (batches_cancelled != batches_cancelled_seen_ || arrived_cancelled) {
      // A batch's cancel_why is published by its release store of
      // `cancelled`, read here with acquire.
      AbortWhere(
          [](const Request* request) {
            return request->batch->cancelled.load(std::memory_order_acquire);
          },
          [](const Request& request) { return request.batch->cancel_why; });
      batches_cancelled_seen_ = batches_cancelled;
    }
    StartReady(Clock::now());
    int running = 0;
    curl_multi_perform(multi_, &running);
    bool finished_any = false;
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Request* request = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &request);
      const CURLcode result = message->data.result;
      OnDone(*request, result);
      finished_any = true;
    }
    if (finished_any) continue;  // start the next requests before waiting
    curl_multi_poll(multi_, nullptr, 0, PollTimeoutMs(Clock::now()), nullptr);
  }
}

template <typename Picks, typename Why>
void CurlRangeClient::AbortWhere(Picks aborts, Why why) {
  auto cancel = [&](Request& request) {
    ReleaseEasy(request);  // a no-op for one not started
    Complete(request, CancelledError(target_.description + ": " + request.what() +
                                     " aborted: " + why(request)));
  };
  // `aborts` is asked once per request (TakeOutWhere), so every request
  // taken out is completed; a read cancelled while this runs keeps the
  // requests already asked about for the next pass, which its cancel's
  // count and wakeup bring.
  for (Request* request : TakeOutWhere(active_, aborts)) cancel(*request);
  for (Request* request : TakeOutWhere(waiting_, aborts)) cancel(*request);
}

void CurlRangeClient::StartReady(Clock::time_point now) {
  for (auto it = waiting_.begin();
       it != waiting_.end() && active_.size() < options_.max_in_flight;) {
    Request& request = **it;
    if (request.batch->failed.load(std::memory_order_acquire)) {
      // Its read already failed: the rest of it is not worth fetching.
      it = waiting_.erase(it);
      Complete(request, Status());
      continue;
    }
    if (request.not_before > now) {
      ++it;
      continue;
    }
    it = waiting_.erase(it);
    Status configured = Configure(request, now);
    if (!configured.ok()) {
      Complete(request, std::move(configured));
      continue;
    }
    active_.push_back(&request);
  }
}

Status CurlRangeClient::Configure(Request& request, Clock::time_point now) {
  if (idle_easy_.empty()) {
    CURL* easy = curl_easy_init();
    if (easy == nullptr) {
      return ResourceExhaustedError("libcurl could not create a transfer for " +
                                    target_.description);
    }
    idle_easy_.push_back(easy);
  }
  request.easy = idle_easy_.back();
  idle_easy_.pop_back();
  request.Reset();
  // A request's deadline runs from its first attempt, not from the wait
  // for an in-flight slot.
  if (request.attempts++ == 0) request.deadline = now + options_.deadline;
  CURL* easy = request.easy;
  curl_easy_reset(easy);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      request.deadline - now);
  curl_easy_setopt(easy, CURLOPT_URL, target_.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &request);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request.curl_error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, left.count())));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &CurlRangeClient::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &request);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &CurlRangeClient::OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &request);
  if (request.kind == Request::Kind::kHead) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  }
  HALIO_RETURN_IF_ERROR(SetHeaders(request));
  if (!target_.access_key_id.empty()) {
    const std::string sigv4 = "aws:amz:" + target_.sigv4_region + ":s3";
    curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(easy, CURLOPT_USERNAME, target_.access_key_id.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, target_.secret_access_key.c_str());
  }
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    ReleaseEasy(request);
    return ResourceExhaustedError("libcurl could not start a transfer for " +
                                  target_.description);
  }
  return Status();
}

Status CurlRangeClient::SetHeaders(Request& request) {
  bool appended = true;
  for (const curl_slist* line = headers_; line != nullptr; line = line->next) {
    appended = appended && AppendHeader(&request.headers, line->data);
  }
  if (request.is_range()) {
    const std::string range = "Range: bytes=" + std::to_string(request.offset) + "-" +
                              std::to_string(request.offset + request.length - 1);
    appended = appended && AppendHeader(&request.headers, range.c_str());
  }
  if (!appended) {
    ReleaseEasy(request);
    return ResourceExhaustedError("out of memory for the request headers of " +
                                  target_.description);
  }
  curl_easy_setopt(request.easy, CURLOPT_HTTPHEADER, request.headers);
  return Status();
}

void CurlRangeClient::OnDone(Request& request, CURLcode result) {
  // Every transfer curl reports is in active_: an aborted one was removed
  // from the multi handle, which drops its report. Checked all the same: a
  // request not there was completed already, and erasing end() or
  // completing it again would corrupt memory.
  const auto it = std::find(active_.begin(), active_.end(), &request);
  if (it == active_.end()) return;
  active_.erase(it);
  bool retryable = false;
  Status status = Outcome(request, result, &retryable);
  ReleaseEasy(request);
  if (status.ok() || !retryable) return Complete(request, std::move(status));
  const Clock::time_point now = Clock::now();
  const auto backoff = options_.retry_backoff * (int64_t{1} << std::min(request.attempts - 1, 20u));
  const std::string tries = std::to_string(request.attempts) +
                            (request.attempts == 1 ? " attempt" : " attempts");
  if (request.attempts > options_.max_retries) {
    return Complete(request, status.Annotate("gave up after " + tries));
  }
  if (now + backoff >= request.deadline) {
    return Complete(request, status.Annotate("the deadline of " +
                                             std::to_string(options_.deadline.count()) +
                                             " ms leaves no time to retry after " + tries));
  }
  request.not_before = now + backoff;
  waiting_.push_back(&request);
}

// Called on the first body bytes of a range response: only the 206 for
// exactly the requested range may write into the destination.
Status CurlRangeClient::CheckResponse(Request& request) {
  long code = 0;
  curl_easy_getinfo(request.easy, CURLINFO_RESPONSE_CODE, &code);
  if (code != 206) {
    request.discard_body = true;
    return Status();  // an error response: Outcome names it
  }
  ContentRange range;
  if (!ParseContentRange(request.content_range, &range) || !range.has_range ||
      range.first != request.offset || range.last != request.offset + request.length - 1) {
    return DataLossError("asked for " + request.what() + ", the server answered 206 with " +
                         (request.content_range.empty()
                              ? std::string("no Content-Range")
                              : "Content-Range: " + request.content_range));
  }
  if (range.has_total) request.total = range.total;
  return Status();
}

size_t CurlRangeClient::OnBody(char* data, size_t size, size_t count, void* user) {
  Request& request = *static_cast<Request*>(user);
  const size_t bytes = size * count;
  if (!request.checked) {
    request.checked = true;
    request.refused = CheckResponse(request);
    if (!request.refused.ok()) return 0;  // curl stops: CURLE_WRITE_ERROR
  }
  if (request.discard_body) {
    const size_t keep = std::min(bytes, kErrorBodyBytes - std::min(kErrorBodyBytes,
                                                                    request.error_body.size()));
    request.error_body.append(data, keep);
    long code = 0;
    curl_easy_getinfo(request.easy, CURLINFO_RESPONSE_CODE, &code);
    // A 200 to a range request is the whole resource: not worth receiving.
    return code == 200 ? 0 : bytes;
  }
  if (bytes > request.length - request.received) {
    request.refused = DataLossError("the server sent more than the " +
                                    std::to_string(request.length) + " bytes of " +
                                    request.what());
    return 0;
  }
  CopyBody(request.data + request.received, data, bytes);
  request.received += bytes;
  return bytes;
}

size_t CurlRangeClient::OnHeader(char* data, size_t size, size_t count, void* user) {
  Request& request = *static_cast<Request*>(user);
  const std::string_view line(data, size * count);
  if (StartsWithNoCase(line, "http/")) {
    request.content_range.clear();  // a new response (after a redirect or 100)
  } else if (StartsWithNoCase(line, "content-range:")) {
    request.content_range = Trimmed(line.substr(14));
  }
  return size * count;
}

Status CurlRangeClient::Outcome(Request& request, CURLcode result, bool* retryable) {
  const std::string& url = target_.description;
  if (!request.refused.ok()) {
    return request.refused.Annotate(url);
  }
  long code = 0;
  curl_easy_getinfo(request.easy, CURLINFO_RESPONSE_CODE, &code);
  const std::string arrived = std::to_string(request.received) + " of " +
                              std::to_string(request.length) + " bytes arrived";
  switch (result) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT:
      if (Clock::now() + std::chrono::milliseconds(1) >= request.deadline) {
        return DeadlineExceededError(url + ": " + request.what() +
                                     " not received within the deadline of " +
                                     std::to_string(options_.deadline.count()) + " ms (" +
                                     arrived + ")");
      }
      *retryable = true;
      return UnavailableError(url + ": " + request.what() + ": " + request.curl_error);
    case CURLE_PARTIAL_FILE:
      *retryable = true;
      return DataLossError(url + ": the response to " + request.what() +
                           " ended before its Content-Length (" + arrived + ")");
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      *retryable = true;
      return UnavailableError(url + ": " + request.what() + ": " + request.curl_error + " (" +
                              arrived + ")");
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return FailedPreconditionError(
          url + ": TLS: " + (request.curl_error[0] ? request.curl_error : curl_easy_strerror(result)) +
          "; give the server's certificate authority (RemoteFileOptions::ca_file) or, for a "
          "test server only, turn verification off (verify_tls = false)");
    case CURLE_WRITE_ERROR:
      if (code == 200 && request.is_range()) break;  // named below
      [[fallthrough]];
    default:
      return UnavailableError(url + ": " + request.what() + ": " + curl_easy_strerror(result) +
                              (request.curl_error[0] ? std::string(": ") + request.curl_error
                                                     : std::string()));
  }
  if (code == 429 || code == 500 || code == 502 || code == 503 || code == 504) {
    *retryable = true;  // overloaded or restarting: worth another try
    return HttpError(request, code);
  }
  if (request.kind == Request::Kind::kHead) {
    if (code != 200) return HttpError(request, code);
    curl_off_t length = -1;
    curl_easy_getinfo(request.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    // No length: FetchLength asks a ranged GET instead.
    if (length < 0) return FailedPreconditionError(url + ": HEAD gave no Content-Length");
    request.total = static_cast<uint64_t>(length);
    return Status();
  }
  if (request.kind == Request::Kind::kProbe && code == 416) {
    // "bytes */TOTAL": an empty resource has no byte 0.
    ContentRange range;
    if (ParseContentRange(request.content_range, &range) && range.has_total) {
      request.total = range.total;
      return Status();
    }
  }
  if (code == 200) {
    return FailedPreconditionError(
        url + ": the server ignores Range requests: it answered 200 with the whole resource "
        "to a request for " + request.what() + "; halio reads remote files only from servers "
        "that answer byte ranges (206 Partial Content)");
  }
  if (code != 206) return HttpError(request, code);
  if (request.kind == Request::Kind::kProbe) {
    ContentRange range;
    if (!ParseContentRange(request.content_range, &range) || !range.has_total) {
      return UnavailableError(url + ": the answer to " + request.what() +
                              " gives no length (Content-Range: " + request.content_range + ")");
    }
    request.total = range.total;
    return Status();
  }
  if (request.received < request.length) {
    *retryable = true;
    return DataLossError(url + ": the response to " + request.what() + " was short (" +
                         arrived + ")");
  }
  return Status();
}

Status CurlRangeClient::HttpError(const Request& request, long code) const {
  const std::string s3_code = XmlElement(request.error_body, "Code");
  const std::string s3_message = XmlElement(request.error_body, "Message");
  std::string message = target_.description + ": HTTP " + std::to_string(code) + " for " +
                        request.what();
  if (!s3_code.empty()) message += " (" + s3_code + ": " + s3_message + ")";
  switch (code) {
    case 404:
    case 410:
      return NotFoundError(message);
    case 401:
    case 403:
      return PermissionDeniedError(
          message + (target_.access_key_id.empty()
                         ? "; the request was unsigned (no credentials given)"
                         : "; check the credentials and that the signing region is the "
                           "bucket's"));
    case 416:
      return OutOfRangeError(message + ": the range lies past the end of the resource "
                                       "(did it shrink since it was opened?)");
    default:
      break;
  }
  if (code == 429 || code == 500 || code == 502 || code == 503 || code == 504) {
    return UnavailableError(message);
  }
  return FailedPreconditionError(message);
}

int CurlRangeClient::PollTimeoutMs(Clock::time_point now) const {
  // Wake for the first backoff that ends; curl wakes the poll for its own
  // sockets and timers, curl_multi_wakeup for new requests.
  auto next = now + std::chrono::milliseconds(1000);
  for (const Request* request : waiting_) {
    if (active_.size() < options_.max_in_flight) next = std::min(next, request->not_before);
  }
  return static_cast<int>(std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count()));
}

void CurlRangeClient::Complete(Request& request, Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  Batch& batch = *request.batch;
  if (!status.ok() && batch.first_error.ok()) {
    batch.first_error = std::move(status);
    batch.failed.store(true, std::memory_order_release);
  }
  if (--batch.outstanding == 0) completed_.notify_all();
}

void CurlRangeClient::ReleaseEasy(Request& request) {
  curl_slist_free_all(request.headers);  // after the transfer: curl reads it until then
  request.headers = nullptr;
  if (request.easy == nullptr) return;
  curl_multi_remove_handle(multi_, request.easy);
  idle_easy_.push_back(request.easy);
  request.easy = nullptr;
}

}  // namespace

bool HttpRangeClientAvailable() { return true; }

Result<std::unique_ptr<HttpRangeClient>> CreateHttpRangeClient(
    HttpTarget target, const RemoteFileOptions& options) {
  if (options.max_in_flight == 0 || options.request_bytes == 0 ||
      options.deadline.count() <= 0) {
    return InvalidArgumentError("RemoteFileOptions for " + target.description +
                                ": max_in_flight, request_bytes and deadline must be positive");
  }
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) {
    return UnavailableError(std::string("libcurl did not initialise: ") +
                            curl_easy_strerror(global));
  }
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    return ResourceExhaustedError("libcurl could not create a transfer set for " +
                                  target.description);
  }
  auto client = std::make_unique<CurlRangeClient>(std::move(target), options, multi);
  HALIO_RETURN_IF_ERROR(client->Start());
  return std::unique_ptr<HttpRangeClient>(std::move(client));
}

}  // namespace halio
