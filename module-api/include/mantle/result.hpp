// Result<T>: a value or an Error (a status code and a message). Untrusted
// input and environment failures are values of this type, on both sides of the
// module boundary; invariants are checks. Header-only, no dependencies.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace mantle {

// Same numbering as the C ABI's mantle_status (canonical gRPC codes).
enum class StatusCode : std::int32_t {
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
  kUnauthenticated = 16,
};

const char* statusCodeName(StatusCode code);

struct Error {
  StatusCode code = StatusCode::kUnknown;
  std::string message;

  Error() = default;
  Error(StatusCode c, std::string m) : code(c), message(std::move(m)) {}
  // An error whose message is `context + ": " + message`, same code.
  Error withContext(const std::string& context) const { return Error(code, context + ": " + message); }
};

inline Error invalidArgument(std::string m) {
  return Error(StatusCode::kInvalidArgument, std::move(m));
}
inline Error failedPrecondition(std::string m) {
  return Error(StatusCode::kFailedPrecondition, std::move(m));
}
inline Error notFound(std::string m) {
  return Error(StatusCode::kNotFound, std::move(m));
}
inline Error internalError(std::string m) {
  return Error(StatusCode::kInternal, std::move(m));
}
inline Error unimplemented(std::string m) {
  return Error(StatusCode::kUnimplemented, std::move(m));
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Error& error() const { return std::get<1>(state_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

// Success or an Error, no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline const char* statusCodeName(StatusCode code) {
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
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

}  // namespace mantle
