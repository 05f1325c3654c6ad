// Credential files: the basic authenticator's --credentials (JSON or
// "principal secret" lines) and a daemon's own --credential file. Errors
// never quote a secret.
#include "auth/security.hpp"
#include "mantle/common/credentials.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string input(mantle::fuzz::text(data, size));
  auto many = mantle::parseCredentials(input, "credentials");
  if (many.ok()) {
    MANTLE_FUZZ_CHECK(!many->empty(), "no credentials but no error");
    for (const auto& [principal, secret] : *many) MANTLE_FUZZ_CHECK(!principal.empty(), "an empty principal");
  }
  auto one = mantle::auth::parseCredential(input, "credential file");
  if (one.ok()) {
    MANTLE_FUZZ_CHECK(!one->principal.empty() && one->principal.find(':') == std::string::npos, one->principal);
    (void)mantle::auth::basicAuthorization(*one);
  } else if (input.find('{') == std::string::npos) {
    MANTLE_FUZZ_CHECK(one.error().message.rfind("credential file", 0) == 0, one.error().message);
  }
  return 0;
}
