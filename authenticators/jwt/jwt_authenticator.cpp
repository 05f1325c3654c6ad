// jwt: HTTP bearer authentication (RFC 6750) with JSON Web Tokens signed
// HS256 under a secret read from a file.
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "jwt.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/module_api/sdk/authenticator.hpp"

namespace mantle::authenticators::jwt {

namespace v1 = ::mantle::module::v1;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

class JwtAuthenticator final : public sdk::Authenticator {
 public:
  JwtAuthenticator(std::string secret, std::string realm, std::int64_t leeway, bool requireExpiry,
                   std::string principalClaim)
      : secret_(std::move(secret)),
        realm_(std::move(realm)),
        leeway_(leeway),
        requireExpiry_(requireExpiry),
        principalClaim_(std::move(principalClaim)) {}

  static Result<std::unique_ptr<JwtAuthenticator>> create(const sdk::Context& context) {
    const std::string path = context.config.getString("secret_file");
    if (path.empty()) return invalidArgument("parameter 'secret_file': a path to the HS256 secret is required");
    std::ifstream in(path, std::ios::binary);
    if (!in) return notFound("secret file '" + path + "' cannot be read");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string secret(trim(content));
    if (secret.size() < 32) {
      return invalidArgument("secret file '" + path + "' holds " + std::to_string(secret.size()) +
                             " bytes; HS256 needs at least 32");
    }
    struct stat info {};
    if (stat(path.c_str(), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      context.host.warning("secret file '" + path + "' is accessible to group or others; restrict it to its owner");
    }
    std::int64_t leeway = context.config.getInt("leeway_seconds");
    if (leeway < 0) return invalidArgument("parameter 'leeway_seconds' must not be negative");
    const std::string principalClaim = context.config.getString("principal_claim");
    if (principalClaim == "aud" || principalClaim == "exp" || principalClaim == "nbf") {
      return invalidArgument("parameter 'principal_claim': '" + principalClaim + "' cannot name a principal");
    }
    return std::make_unique<JwtAuthenticator>(std::move(secret), context.config.getString("realm"), leeway,
                                              context.config.getBool("require_expiry"), principalClaim);
  }

  Result<v1::AuthenticateResponse> authenticate(const v1::AuthenticateRequest& request) override {
    const std::string realm = request.realm().empty() ? realm_ : request.realm();
    Result<sdk::AuthorizationHeader> header = sdk::authorizationHeader(request);
    if (!header.ok()) return unauthorized(realm, "", header.error().message);
    if (!sdk::equalsIgnoreCase(header->scheme, "Bearer") || header->credentials.empty()) {
      return unauthorized(realm, "", "the Authorization header does not carry a Bearer token");
    }
    const std::string_view token = header->credentials;
    VerifyOptions options;
    options.now = static_cast<std::int64_t>(wallNow());
    options.leeway = leeway_;
    options.requireExpiry = requireExpiry_;
    Result<Claims> claims = verify(token, secret_, options);
    if (!claims.ok()) return unauthorized(realm, "invalid_token", claims.error().message);
    if (claims->audience && *claims->audience != realm) {
      return unauthorized(realm, "invalid_token",
                          "the token is for realm '" + *claims->audience + "', not '" + realm + "'");
    }
    // The principal's name is the configured claim ("sub" by default); every
    // other string claim (and "sub" when it is not the name) is a claim of
    // the principal. An empty principal_claim makes principals of claims only.
    std::map<std::string, std::string> all = claims->extra;
    if (!claims->subject.empty()) all["sub"] = claims->subject;
    v1::AuthenticateResponse response;
    v1::Principal* principal = response.mutable_principal();
    if (!principalClaim_.empty()) {
      auto name = all.find(principalClaim_);
      if (name == all.end() || name->second.empty()) {
        return unauthorized(realm, "invalid_token",
                            principalClaim_ == "sub"
                                ? "the token has no subject ('sub')"
                                : "the token has no '" + principalClaim_ + "' claim (the principal's name)");
      }
      principal->set_value(name->second);
      all.erase(name);
    } else if (all.empty()) {
      return unauthorized(realm, "invalid_token", "the token carries no string claim to make a principal of");
    }
    for (const auto& [key, v] : all) (*principal->mutable_claims())[key] = v;
    return response;
  }

 private:
  static v1::AuthenticateResponse unauthorized(const std::string& realm, const std::string& error,
                                               const std::string& message) {
    v1::AuthenticateResponse response;
    std::string challenge = "Bearer realm=\"" + realm + "\"";
    if (!error.empty()) challenge += ", error=\"" + error + "\"";
    response.mutable_unauthorized()->set_www_authenticate(challenge);
    response.mutable_unauthorized()->set_message(message);
    return response;
  }

  std::string secret_;
  std::string realm_;
  std::int64_t leeway_;
  bool requireExpiry_;
  std::string principalClaim_;  // "": principals of claims only
};

}  // namespace

}  // namespace mantle::authenticators::jwt

MANTLE_MODULE_LIBRARY(
    "mantle_jwt_authenticator", "0.1.0",
    mantle::sdk::describe<mantle::authenticators::jwt::JwtAuthenticator>(
        "jwt", "HTTP bearer authentication with HS256 JSON Web Tokens",
        {mantle::sdk::Param::required(
             mantle::sdk::Param::string("secret_file", "path to a file holding the HS256 secret (32 bytes or more)")),
         mantle::sdk::Param::string("realm", "realm of the challenge when the request names none", "mantle"),
         mantle::sdk::Param::integer("leeway_seconds", "clock skew allowed on 'exp' and 'nbf'", "0"),
         mantle::sdk::Param::boolean("require_expiry", "refuse tokens without 'exp'", "true"),
         mantle::sdk::Param::string(
             "principal_claim", "the string claim that names the principal; \"\": principals of claims only", "sub")}))
