#include "halio/status.h"

#include <cstdio>
#include <cstdlib>
#include <new>

namespace halio {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
  }
  return "UNKNOWN_CODE";
}

Status::Status(StatusCode code, std::string_view message, SourceLocation location) {
  if (code == StatusCode::kOk) return;
  rep_ = new Rep{code, std::string(message), location};
}

Status::Rep* Status::CopyRep(const Rep& rep) { return new Rep(rep); }

void Status::DeleteRep(Rep* rep) noexcept { delete rep; }

void Status::AssignSlow(const Status& other) {
  // Copy first: if it throws, *this is unchanged.
  Rep* copy = other.rep_ ? CopyRep(*other.rep_) : nullptr;
  DeleteRep(rep_);
  rep_ = copy;
}

std::string_view Status::message() const {
  return rep_ ? std::string_view(rep_->message) : std::string_view();
}

std::string Status::ToString(bool with_location) const {
  if (ok()) return "OK";
  std::string out = StatusCodeName(rep_->code);
  if (!rep_->message.empty()) {
    out += ": ";
    out += rep_->message;
  }
  if (with_location && rep_->location.line != 0) {
    out += " [";
    out += rep_->location.file;
    out += ":";
    out += std::to_string(rep_->location.line);
    out += "]";
  }
  return out;
}

Status& Status::Annotate(std::string_view context) {
  if (rep_ && !context.empty()) {
    std::string message(context);
    message += ": ";
    message += rep_->message;
    rep_->message = std::move(message);
  }
  return *this;
}

bool operator==(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message();
}

Status JoinStatus(Status primary, const Status& cleanup) {
  if (cleanup.ok()) return primary;
  if (primary.ok()) return cleanup;
  std::string message(primary.message());
  message += "; while cleaning up: ";
  message += cleanup.ToString();
  return Status(primary.code(), message, primary.location());
}

namespace internal {

void ResultAccessFailed(const Status& status) {
  // An OK status here means the status was moved out of the Result (by
  // `std::move(result).status()`) and the value then read.
  const std::string text =
      status.ok() ? "no value (its status was moved out)" : status.ToString(true);
  std::fprintf(stderr, "halio: Result accessed with error: %s\n", text.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace internal

#define HALIO_DEFINE_STATUS_CTOR(Name, Code)                                \
  Status Name##Error(std::string_view message, SourceLocation location) { \
    return Status(StatusCode::Code, message, location);                   \
  }
HALIO_DEFINE_STATUS_CTOR(Cancelled, kCancelled)
HALIO_DEFINE_STATUS_CTOR(Unknown, kUnknown)
HALIO_DEFINE_STATUS_CTOR(InvalidArgument, kInvalidArgument)
HALIO_DEFINE_STATUS_CTOR(DeadlineExceeded, kDeadlineExceeded)
HALIO_DEFINE_STATUS_CTOR(NotFound, kNotFound)
HALIO_DEFINE_STATUS_CTOR(AlreadyExists, kAlreadyExists)
HALIO_DEFINE_STATUS_CTOR(PermissionDenied, kPermissionDenied)
HALIO_DEFINE_STATUS_CTOR(ResourceExhausted, kResourceExhausted)
HALIO_DEFINE_STATUS_CTOR(FailedPrecondition, kFailedPrecondition)
HALIO_DEFINE_STATUS_CTOR(Aborted, kAborted)
HALIO_DEFINE_STATUS_CTOR(OutOfRange, kOutOfRange)
HALIO_DEFINE_STATUS_CTOR(Unimplemented, kUnimplemented)
HALIO_DEFINE_STATUS_CTOR(Internal, kInternal)
HALIO_DEFINE_STATUS_CTOR(Unavailable, kUnavailable)
HALIO_DEFINE_STATUS_CTOR(DataLoss, kDataLoss)
#undef HALIO_DEFINE_STATUS_CTOR

}  // namespace halio
