// Media types of the Mesos v1 HTTP APIs: which encoding a request body is in,
// which one the response must use, and the one way to encode and decode a
// message in either.
//
// Request (Content-Type):
//   missing                                     -> 400
//   application/json | application/x-protobuf  -> that encoding
//   application/recordio (streaming requests only, e.g. the agent's
//     ATTACH_CONTAINER_INPUT): the records' encoding is Message-Content-Type,
//     missing -> 400, other -> 415
//   anything else                               -> 415
//   Message-Content-Type on a non-RecordIO request -> 415
// Type and subtype compare case-insensitively and parameters are ignored, so
// "application/json; charset=utf-8" is JSON (Mesos answers 415 to it; Mantle
// is lenient on purpose).
//
// Response (Accept, RFC 7231 media ranges with q-values; the most specific
// range that matches a type gives its quality, q=0 means "not acceptable"):
//   missing or empty Accept                     -> the request's encoding
//   otherwise the acceptable encoding with the higher quality; on a tie the
//     request's encoding (Mesos picks JSON whenever it is acceptable; Mesos
//     clients always send an explicit Accept, so they see no difference)
//   neither json nor protobuf acceptable        -> 406
// For RecordIO responses (the agent's LAUNCH_NESTED_CONTAINER_SESSION and
// ATTACH_CONTAINER_OUTPUT) Accept must allow application/recordio (else 406)
// and Message-Accept picks the records' encoding by the same rules.
// Message-Accept on any other response -> 406.
//
// Event streams of the scheduler, executor and master operator APIs are
// RecordIO too, but their Content-Type is the records' encoding; that is
// ResponseFraming::kStream.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "mantle/result.hpp"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace mantle::wire {

inline constexpr std::string_view kApplicationJson = "application/json";
inline constexpr std::string_view kApplicationProtobuf = "application/x-protobuf";
inline constexpr std::string_view kApplicationRecordIO = "application/recordio";

inline constexpr std::string_view kContentTypeHeader = "Content-Type";
inline constexpr std::string_view kAcceptHeader = "Accept";
inline constexpr std::string_view kMessageContentTypeHeader = "Message-Content-Type";
inline constexpr std::string_view kMessageAcceptHeader = "Message-Accept";
// Set on SUBSCRIBE responses of the scheduler API; required on later calls.
inline constexpr std::string_view kMesosStreamIdHeader = "Mesos-Stream-Id";

// How one message is encoded.
enum class MediaType { kJson, kProtobuf };

// "application/json" or "application/x-protobuf".
std::string_view mediaTypeName(MediaType type);

// The encoding a Content-Type names (parameters ignored), if json or protobuf.
std::optional<MediaType> parseMediaType(std::string_view contentType);

// The quality (0..1) an Accept header value gives `mediaType`. An absent or
// blank header accepts everything (1).
double acceptQuality(std::optional<std::string_view> accept, std::string_view mediaType);

// An HTTP status code and the message for the response body.
struct HttpError {
  int status = 400;
  std::string message;
};

// A value or an HttpError.
template <typename T>
class [[nodiscard]] HttpResult {
 public:
  HttpResult(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  HttpResult(HttpError error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const T& value() const { return std::get<0>(state_); }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }
  const HttpError& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, HttpError> state_;
};

// The request headers negotiation looks at; absent headers are nullopt. The
// views must outlive the call.
struct RequestHeaders {
  std::optional<std::string_view> contentType;
  std::optional<std::string_view> accept;
  std::optional<std::string_view> messageContentType;
  std::optional<std::string_view> messageAccept;
};

// How to read the request body.
struct RequestFormat {
  MediaType message = MediaType::kJson;
  // True for an application/recordio body: RecordIO records, each `message`.
  bool recordio = false;
};

// How the response body is framed.
enum class ResponseFraming {
  // One message (synchronous operator calls, UPDATE_FRAMEWORK, errors).
  kSingle,
  // A RecordIO stream of events whose Content-Type is the records' encoding
  // (scheduler SUBSCRIBE, executor SUBSCRIBE, master operator SUBSCRIBE).
  kStream,
  // Content-Type application/recordio with Message-Content-Type (the agent's
  // streaming container calls).
  kRecordIO,
};

struct ResponseFormat {
  MediaType message = MediaType::kJson;
  ResponseFraming framing = ResponseFraming::kSingle;

  // The Content-Type header of the response.
  std::string_view contentType() const;
  // The Message-Content-Type header of the response, for kRecordIO only.
  std::optional<std::string_view> messageContentType() const;
};

// How to decode the request body. `allowRecordIO`: whether this endpoint and
// call take streaming (application/recordio) requests.
HttpResult<RequestFormat> negotiateRequest(const RequestHeaders& headers, bool allowRecordIO = false);

// How to encode the response to a request whose body was `request`.
HttpResult<ResponseFormat> negotiateResponse(const RequestHeaders& headers, const RequestFormat& request,
                                             ResponseFraming framing = ResponseFraming::kSingle);

// `message` as JSON text (Mesos mapping, see json.hpp) or serialized protobuf.
std::string encode(const google::protobuf::Message& message, MediaType type);

// Replaces `message` with the decoded `body`. Errors (InvalidArgument, for a
// 400) say what failed: "invalid JSON: ...", a JSON path and problem,
// "failed to parse body into mesos.v1.scheduler.Call protobuf", or the missing
// required fields.
Status decode(std::string_view body, MediaType type, google::protobuf::Message* message);

template <typename T>
Result<T> decodeAs(std::string_view body, MediaType type) {
  T message;
  Status status = decode(body, type, &message);
  if (!status.ok()) {
    return status.error();
  }
  return message;
}

}  // namespace mantle::wire
