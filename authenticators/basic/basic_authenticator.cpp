// basic: HTTP Basic authentication (RFC 7617) against a Mesos credentials file.
#include <sys/stat.h>

#include <memory>
#include <string>
#include <string_view>

#include "base64.hpp"
#include "mantle/common/credentials.hpp"
#include "mantle/module_api/sdk/authenticator.hpp"

namespace mantle::authenticators::basic {

namespace v1 = ::mantle::module::v1;

namespace {

// Compares in time that depends only on the length of `expected` (the stored
// secret), never on where the first difference is.
[[gnu::noinline]] bool constantTimeEquals(std::string_view given, std::string_view expected) {
  volatile unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = diff | (g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

class BasicAuthenticator final : public sdk::Authenticator {
 public:
  BasicAuthenticator(Credentials credentials, std::string realm)
      : credentials_(std::move(credentials)), realm_(std::move(realm)) {}

  static Result<std::unique_ptr<BasicAuthenticator>> create(const sdk::Context& context) {
    const std::string path = context.config.getString("credentials");
    if (path.empty()) return invalidArgument("parameter 'credentials': a path to a credentials file is required");
    Result<Credentials> credentials = loadCredentials(path);
    if (!credentials.ok()) return credentials.error();
    struct stat info {};
    if (stat(path.c_str(), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      context.host.warning("credentials file '" + path + "' is accessible to group or others (mode " +
                           std::to_string(info.st_mode & 0777) + " octal " + octal(info.st_mode & 0777) +
                           "); restrict it to its owner");
    }
    return std::make_unique<BasicAuthenticator>(std::move(*credentials), context.config.getString("realm"));
  }

  Result<v1::AuthenticateResponse> authenticate(const v1::AuthenticateRequest& request) override {
    const std::string realm = request.realm().empty() ? realm_ : request.realm();
    Result<sdk::AuthorizationHeader> header = sdk::authorizationHeader(request);
    if (!header.ok()) return unauthorized(realm, header.error().message);
    if (!sdk::equalsIgnoreCase(header->scheme, "Basic")) {
      return unauthorized(realm, "the Authorization header does not carry Basic credentials");
    }
    const std::string_view token = header->credentials;
    if (token.empty()) return unauthorized(realm, "malformed Basic credentials: empty");
    std::optional<std::string> decoded = decodeBase64(token);
    if (!decoded) return unauthorized(realm, "malformed Basic credentials: not valid base64");
    std::size_t colon = decoded->find(':');
    if (colon == std::string::npos) {
      return unauthorized(realm, "malformed Basic credentials: no ':' between principal and secret");
    }
    const std::string principal = decoded->substr(0, colon);
    const std::string_view secret = std::string_view(*decoded).substr(colon + 1);

    auto it = credentials_.find(principal);
    // An unknown principal costs a comparison too, and gets the same answer
    // as a wrong secret: the reply does not tell which principals exist.
    bool match = it != credentials_.end() ? constantTimeEquals(secret, it->second)
                                          : (constantTimeEquals(secret, kDummySecret), false);
    if (!match) return unauthorized(realm, "invalid credentials");

    v1::AuthenticateResponse response;
    response.mutable_principal()->set_value(principal);
    return response;
  }

 private:
  static constexpr std::string_view kDummySecret = "mantle-basic-authenticator-no-such-principal";

  static std::string octal(unsigned mode) {
    std::string s;
    for (int shift = 6; shift >= 0; shift -= 3) s.push_back(static_cast<char>('0' + ((mode >> shift) & 7)));
    return s;
  }

  static v1::AuthenticateResponse unauthorized(const std::string& realm, const std::string& message) {
    v1::AuthenticateResponse response;
    response.mutable_unauthorized()->set_www_authenticate("Basic realm=\"" + realm + "\"");
    response.mutable_unauthorized()->set_message(message);
    return response;
  }

  Credentials credentials_;
  std::string realm_;
};

}  // namespace

}  // namespace mantle::authenticators::basic

MANTLE_MODULE_LIBRARY("mantle_basic_authenticator", "0.1.0",
                      mantle::sdk::describe<mantle::authenticators::basic::BasicAuthenticator>(
                          "basic", "HTTP Basic authentication against a Mesos credentials file",
                          {mantle::sdk::Param::required(mantle::sdk::Param::string(
                               "credentials", "path to a Mesos credentials file (JSON, or 'principal secret' lines)")),
                           mantle::sdk::Param::string("realm", "realm of the challenge when the request names none",
                                                      "mantle")}))
