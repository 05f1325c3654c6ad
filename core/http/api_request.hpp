// The prologue every Mesos v1 API endpoint shares (the master's scheduler,
// operator and agent-protocol endpoints, the agent's operator and executor
// APIs), so that they answer a bad request alike:
//   not a POST                   -> 405 "Expecting 'POST', received '<m>'",
//                                   with Allow: POST
//   Content-Type missing / other -> 400 / 415 (wire/content_type.hpp)
//   a body that does not decode  -> 400 "Failed to parse the body into
//                                   <what>: <why>" (what: "a master Call")
//   Accept without json/protobuf -> 406 (for the call's response framing)
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "http/server.hpp"
#include "wire/content_type.hpp"

namespace mantle::http {

// The answer for a failed prologue (405 carries Allow: POST).
Response errorResponse(const wire::HttpError& error);

// POST only; the body's encoding from Content-Type.
wire::HttpResult<wire::RequestFormat> apiRequestFormat(const Request& request);

// The response's encoding from Accept (and the request's encoding).
wire::HttpResult<wire::ResponseFormat> apiResponseFormat(const Request& request, const wire::RequestFormat& format,
                                                         wire::ResponseFraming framing);

// Parses `body` (encoded as `format`) into `message`; the error names `what`.
wire::HttpResult<bool> decodeApiBody(std::string_view body, const wire::RequestFormat& format, std::string_view what,
                                     google::protobuf::Message* message);

// A decoded call and the format to answer it in.
template <typename Call>
struct ApiCall {
  Call call;
  wire::RequestFormat request;
  wire::ResponseFormat response;
};

// The whole prologue for a call of type `Call` ("what", with its article: e.g. "a master Call",
// for the error). `framing` gives the response framing for the decoded call
// (default: one message).
template <typename Call>
wire::HttpResult<ApiCall<Call>> readApiCall(const Request& request, std::string_view what,
                                            const std::function<wire::ResponseFraming(const Call&)>& framing = {}) {
  wire::HttpResult<wire::RequestFormat> format = apiRequestFormat(request);
  if (!format.ok()) return format.error();
  ApiCall<Call> out;
  out.request = *format;
  if (wire::HttpResult<bool> decoded = decodeApiBody(request.body, *format, what, &out.call); !decoded.ok()) {
    return decoded.error();
  }
  wire::HttpResult<wire::ResponseFormat> response =
      apiResponseFormat(request, *format, framing ? framing(out.call) : wire::ResponseFraming::kSingle);
  if (!response.ok()) return response.error();
  out.response = *response;
  return out;
}

}  // namespace mantle::http
