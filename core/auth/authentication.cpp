#include "auth/authentication.hpp"

#include <glog/logging.h>

#include <cctype>

#include "mantle/module/v1/auth.pb.h"
#include "mantle/modules/clients.hpp"

namespace mantle::auth {

http::Response AuthResult::response() const {
  if (kind == Kind::kForbidden) return http::Response::text(403, message);
  http::Response out = http::Response::text(401, message);
  for (const std::string& challenge : challenges) out.headers.emplace_back("WWW-Authenticate", challenge);
  return out;
}

void Authentication::addRealm(const std::string& realm,
                              std::vector<std::shared_ptr<modules::Instance>> authenticators) {
  realms_[realm] = std::move(authenticators);
  std::lock_guard<std::mutex> lock(metricsMutex_);
  for (const char* what : {"successes", "unauthorized", "forbidden", "errors"}) {
    metrics_["authentication/" + realm + "/" + what] += 0;
  }
}

bool Authentication::enabled(const std::string& realm) const {
  return realms_.count(realm) != 0;
}

void Authentication::count(const std::string& realm, const char* what) {
  std::lock_guard<std::mutex> lock(metricsMutex_);
  metrics_["authentication/" + realm + "/" + what] += 1;
}

std::map<std::string, double> Authentication::metrics() const {
  std::lock_guard<std::mutex> lock(metricsMutex_);
  return metrics_;
}

AuthResult Authentication::authenticate(const std::string& realm, const http::Request& request) {
  AuthResult result;
  auto it = realms_.find(realm);
  if (it == realms_.end()) return result;  // anonymous

  module::v1::AuthenticateRequest query;
  query.set_realm(realm);
  query.set_method(request.method);
  query.set_path(request.path);
  query.set_client_address(request.remoteAddress);
  for (const auto& [name, value] : request.headers) {
    module::v1::HttpHeader* header = query.add_headers();
    header->set_name(name);
    header->set_value(value);
  }

  std::vector<std::string> messages;
  std::optional<std::string> forbidden;
  for (const std::shared_ptr<modules::Instance>& authenticator : it->second) {
    Result<module::v1::AuthenticateResponse> answer = modules::AuthenticatorClient(*authenticator).authenticate(query);
    if (!answer.ok()) {
      // A broken authenticator refuses; the error text is the module's and
      // never carries the request's credentials.
      count(realm, "errors");
      LOG(WARNING) << "Authenticator " << authenticator->name() << " failed in realm '" << realm
                   << "': " << answer.error().message;
      messages.push_back(authenticator->name() + ": authenticator error");
      continue;
    }
    switch (answer->result_case()) {
      case module::v1::AuthenticateResponse::kPrincipal: {
        const module::v1::Principal& p = answer->principal();
        if (p.value().empty() && p.claims().empty()) {
          messages.push_back(authenticator->name() + ": empty principal");
          continue;
        }
        Principal principal;
        principal.value = p.value();
        for (const auto& [key, value] : p.claims()) principal.claims[key] = value;
        if (!forbidden) {
          count(realm, "successes");
          result.kind = AuthResult::Kind::kAuthenticated;
          result.principal = std::move(principal);
          return result;
        }
        break;
      }
      case module::v1::AuthenticateResponse::kUnauthorized:
        if (!answer->unauthorized().www_authenticate().empty()) {
          result.challenges.push_back(answer->unauthorized().www_authenticate());
        }
        messages.push_back(authenticator->name() + ": " + answer->unauthorized().message());
        break;
      case module::v1::AuthenticateResponse::kForbidden:
        if (!forbidden) forbidden = authenticator->name() + ": " + answer->forbidden();
        break;
      case module::v1::AuthenticateResponse::RESULT_NOT_SET:
        messages.push_back(authenticator->name() + ": no answer");
        break;
    }
    if (forbidden) break;
  }

  if (forbidden) {
    count(realm, "forbidden");
    result.kind = AuthResult::Kind::kForbidden;
    result.message = "Forbidden in realm '" + realm + "': " + *forbidden;
  } else {
    count(realm, "unauthorized");
    result.kind = AuthResult::Kind::kUnauthorized;
    result.message = "Unauthorized in realm '" + realm + "'";
    for (std::size_t i = 0; i < messages.size(); ++i) result.message += (i == 0 ? ": " : "; ") + messages[i];
  }
  LOG(WARNING) << "Refused " << request.method << " " << request.path << " from " << request.remoteAddress << ": "
               << result.message;
  return result;
}

std::string bearerToken(const http::Request& request) {
  std::string value = request.header("Authorization");
  if (value.size() < 7) return "";
  for (std::size_t i = 0; i < 6; ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != "bearer"[i]) return "";
  }
  if (value[6] != ' ') return "";
  std::size_t start = value.find_first_not_of(' ', 7);
  return start == std::string::npos ? "" : value.substr(start);
}

}  // namespace mantle::auth
