// Status and Result<T>: how every halio call reports failure.
//
// A Status is OK or carries a canonical code, a message that says what failed
// (file, range, and how to fix it where known) and the source location that
// created it. OK is a null pointer: creating, copying and testing an OK status
// never allocates. Result<T> holds either a value or a non-OK Status.
//
// Thread-safety: a Status/Result is a value; distinct objects may be used from
// distinct threads, one object needs external synchronization.
#ifndef HALIO_STATUS_H_
#define HALIO_STATUS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace halio {

// Canonical codes, numbered as absl::StatusCode / IREE so logs compare 1:1.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

// "OUT_OF_RANGE" etc.; "UNKNOWN_CODE" for values outside the enum.
const char* StatusCodeName(StatusCode code);

// Where a Status was created. std::source_location is not usable with clang 14
// + libstdc++ 12 (no __builtin_source_location), so this uses the builtins
// both gcc and clang have.
struct SourceLocation {
  const char* file = "";
  int line = 0;
  static constexpr SourceLocation current(
      const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return SourceLocation{file, line};
  }
};

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  // A non-OK status. Passing StatusCode::kOk yields OK and drops the message.
  Status(StatusCode code, std::string_view message,
         SourceLocation location = SourceLocation::current());
  // Copying, moving and destroying an OK status is inline and touches only
  // the null pointer; the non-OK paths are out of line.
  Status(const Status& other) : rep_(other.rep_ ? CopyRep(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (rep_ != other.rep_) [[unlikely]] AssignSlow(other);
    return *this;
  }
  Status(Status&& other) noexcept : rep_(other.rep_) { other.rep_ = nullptr; }
  Status& operator=(Status&& other) noexcept {
    if (this != &other) [[likely]] {
      Rep* old = rep_;
      rep_ = other.rep_;
      other.rep_ = nullptr;
      if (old != nullptr) [[unlikely]] DeleteRep(old);
    }
    return *this;
  }
  ~Status() {
    if (rep_ != nullptr) [[unlikely]] DeleteRep(rep_);
  }

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  std::string_view message() const;
  SourceLocation location() const { return rep_ ? rep_->location : SourceLocation{}; }

  // "CODE: message" ("OK" when ok). With `with_location`, " [file:line]" follows.
  std::string ToString(bool with_location = false) const;

  // Prepends `context + ": "` to the message (no-op on OK). For adding the
  // caller's view ("loading tensor x") to an error from below.
  Status& Annotate(std::string_view context);

  // Explicitly discards a status the caller has decided not to act on.
  void IgnoreError() const {}

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    SourceLocation location;
  };
  static Rep* CopyRep(const Rep& rep);
  static void DeleteRep(Rep* rep) noexcept;
  void AssignSlow(const Status& other);
  Rep* rep_ = nullptr;  // owned; null means OK
};

bool operator==(const Status& a, const Status& b);
inline bool operator!=(const Status& a, const Status& b) { return !(a == b); }

// Returns `primary` with the message of `cleanup` appended ("; while cleaning
// up: CODE: message"), so a failure during cleanup is never dropped. If
// `primary` is OK the result is `cleanup`.
Status JoinStatus(Status primary, const Status& cleanup);

// Constructors named after the codes.
#define HALIO_DECLARE_STATUS_CTOR(Name)                       \
  Status Name##Error(std::string_view message,                \
                     SourceLocation location = SourceLocation::current());
HALIO_DECLARE_STATUS_CTOR(Cancelled)
HALIO_DECLARE_STATUS_CTOR(Unknown)
HALIO_DECLARE_STATUS_CTOR(InvalidArgument)
HALIO_DECLARE_STATUS_CTOR(DeadlineExceeded)
HALIO_DECLARE_STATUS_CTOR(NotFound)
HALIO_DECLARE_STATUS_CTOR(AlreadyExists)
HALIO_DECLARE_STATUS_CTOR(PermissionDenied)
HALIO_DECLARE_STATUS_CTOR(ResourceExhausted)
HALIO_DECLARE_STATUS_CTOR(FailedPrecondition)
HALIO_DECLARE_STATUS_CTOR(Aborted)
HALIO_DECLARE_STATUS_CTOR(OutOfRange)
HALIO_DECLARE_STATUS_CTOR(Unimplemented)
HALIO_DECLARE_STATUS_CTOR(Internal)
HALIO_DECLARE_STATUS_CTOR(Unavailable)
HALIO_DECLARE_STATUS_CTOR(DataLoss)
#undef HALIO_DECLARE_STATUS_CTOR

namespace internal {
// Called by Result<T>'s accessors when there is no value: writes "halio:
// Result accessed with error: CODE: message [file:line]" to stderr and calls
// std::abort(). This is the one place the library prints: reading the value
// of a failed Result is a programming error in the caller (as with Abseil's
// StatusOr), and stopping loudly beats undefined behaviour. Out of line and
// cold so the accessors stay one predictable branch on the OK path.
[[noreturn, gnu::cold, gnu::noinline]] void ResultAccessFailed(const Status& status);
}  // namespace internal

// Either a T or a non-OK Status. Constructing from an OK Status is a bug and
// yields INTERNAL, so a Result never claims success without a value.
//
// value(), * and -> require ok(): on an error they stop the program with the
// status on stderr (see internal::ResultAccessFailed). Check ok() first, or
// use HALIO_ASSIGN_OR_RETURN.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : value_(value) {}  // NOLINT: implicit by design
  Result(T&& value) : value_(std::move(value)) {}  // NOLINT
  template <typename U,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, T> &&
                                        !std::is_same_v<std::decay_t<U>, Status>>>
  Result(U&& value) : value_(T(std::forward<U>(value))) {}  // NOLINT
  Result(Status status)  // NOLINT
      : status_(status.ok() ? InternalError("Result constructed from OK status")
                            : std::move(status)) {}

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  T& value() & { return CheckedValue(); }
  const T& value() const& { return CheckedValue(); }
  T&& value() && { return std::move(CheckedValue()); }
  T& operator*() & { return CheckedValue(); }
  const T& operator*() const& { return CheckedValue(); }
  T&& operator*() && { return std::move(CheckedValue()); }
  T* operator->() { return &CheckedValue(); }
  const T* operator->() const { return &CheckedValue(); }

 private:
  // Tests the optional rather than the status: it is the precondition of the
  // dereference, and also catches a Result whose status was moved out.
  T& CheckedValue() {
    if (!value_.has_value()) [[unlikely]] internal::ResultAccessFailed(status_);
    return *value_;
  }
  const T& CheckedValue() const {
    if (!value_.has_value()) [[unlikely]] internal::ResultAccessFailed(status_);
    return *value_;
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace halio

#define HALIO_STATUS_CONCAT_INNER_(a, b) a##b
#define HALIO_STATUS_CONCAT_(a, b) HALIO_STATUS_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function if it is not OK.
#define HALIO_RETURN_IF_ERROR(expr)                                    \
  do {                                                                 \
    ::halio::Status halio_status_ = (expr);                            \
    if (!halio_status_.ok()) [[unlikely]] return halio_status_;        \
  } while (0)

// `HALIO_ASSIGN_OR_RETURN(auto x, MakeX());` declares/assigns from a Result or
// returns its status.
#define HALIO_ASSIGN_OR_RETURN(lhs, rexpr)                                    \
  HALIO_ASSIGN_OR_RETURN_IMPL_(HALIO_STATUS_CONCAT_(halio_result_, __LINE__), \
                               lhs, rexpr)
#define HALIO_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr)     \
  auto result = (rexpr);                                     \
  if (!result.ok()) [[unlikely]] return std::move(result).status(); \
  lhs = std::move(result).value()

#endif  // HALIO_STATUS_H_
