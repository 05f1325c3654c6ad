#include "http/api_request.hpp"

#include <optional>

namespace mantle::http {

namespace {

// The headers negotiation looks at; views into `request`'s copies.
struct NegotiationHeaders {
  std::string contentType;
  std::string accept;
  wire::RequestHeaders headers;

  explicit NegotiationHeaders(const Request& request) {
    if (request.hasHeader(wire::kContentTypeHeader)) {
      contentType = request.header(wire::kContentTypeHeader);
      headers.contentType = contentType;
    }
    if (request.hasHeader(wire::kAcceptHeader)) {
      accept = request.header(wire::kAcceptHeader);
      headers.accept = accept;
    }
  }
  NegotiationHeaders(const NegotiationHeaders&) = delete;
  NegotiationHeaders& operator=(const NegotiationHeaders&) = delete;
};

}  // namespace

Response errorResponse(const wire::HttpError& error) {
  Response response = Response::text(error.status, error.message);
  if (error.status == 405) response.headers.emplace_back("Allow", "POST");
  return response;
}

wire::HttpResult<wire::RequestFormat> apiRequestFormat(const Request& request) {
  if (request.method != "POST") return wire::HttpError{405, "Expecting 'POST', received '" + request.method + "'"};
  NegotiationHeaders headers(request);
  return wire::negotiateRequest(headers.headers);
}

wire::HttpResult<wire::ResponseFormat> apiResponseFormat(const Request& request, const wire::RequestFormat& format,
                                                         wire::ResponseFraming framing) {
  NegotiationHeaders headers(request);
  return wire::negotiateResponse(headers.headers, format, framing);
}

wire::HttpResult<bool> decodeApiBody(std::string_view body, const wire::RequestFormat& format, std::string_view what,
                                     google::protobuf::Message* message) {
  if (Status s = wire::decode(body, format.message, message); !s.ok()) {
    return wire::HttpError{400, "Failed to parse the body into " + std::string(what) + ": " + s.error().message};
  }
  return true;
}

}  // namespace mantle::http
