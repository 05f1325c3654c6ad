// SDK base class of the HTTP authenticator kind (API 1.0).
#pragma once

#include <string_view>

#include "mantle/module/v1/auth.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

// ASCII case-insensitive equality (header names, auth schemes).
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The request's one Authorization header, split at the first space or tab:
// `scheme` ("Basic", "Bearer", compare with equalsIgnoreCase) and
// `credentials` (spaces and tabs around it trimmed; may be empty). Views
// into `request`, valid while it lives.
struct AuthorizationHeader {
  std::string_view scheme;
  std::string_view credentials;
};

// The Authorization header of `request`; an Error saying "missing
// Authorization header" or "more than one Authorization header".
inline Result<AuthorizationHeader> authorizationHeader(const module::v1::AuthenticateRequest& request) {
  const module::v1::HttpHeader* found = nullptr;
  for (const module::v1::HttpHeader& header : request.headers()) {
    if (!equalsIgnoreCase(header.name(), "Authorization")) continue;
    if (found != nullptr) return Error(StatusCode::kInvalidArgument, "more than one Authorization header");
    found = &header;
  }
  if (found == nullptr) return Error(StatusCode::kInvalidArgument, "missing Authorization header");
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  const std::string_view value = trim(found->value());
  const std::size_t space = value.find_first_of(" \t");
  if (space == std::string_view::npos) return AuthorizationHeader{value, {}};
  return AuthorizationHeader{value.substr(0, space), trim(value.substr(space + 1))};
}

class Authenticator {
 public:
  MANTLE_SDK_KIND(Authenticator, mantle_authenticator_table, AUTHENTICATOR)

  virtual ~Authenticator() = default;

  // A principal, a 401 challenge or a 403; an Error only when the
  // authenticator itself is broken (the host answers 500-free: 401).
  virtual Result<v1::AuthenticateResponse> authenticate(const v1::AuthenticateRequest&) = 0;
};

}  // namespace mantle::sdk
