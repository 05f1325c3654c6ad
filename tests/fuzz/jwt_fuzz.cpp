// Bearer tokens of the jwt authenticator. Inputs starting with an even byte
// are verified as they are (header, signature); the others are split at the
// first newline into header and payload JSON and signed first, so the
// payload's claims are reached too.
#include "fuzz_check.hpp"
#include "jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  namespace jwt = mantle::authenticators::jwt;
  constexpr std::string_view kSecret = "fuzz";
  std::string_view input = mantle::fuzz::text(data, size);
  std::string token;
  if (input.empty() || static_cast<unsigned char>(input[0]) % 2 == 0) {
    token = std::string(input);
  } else {
    input.remove_prefix(1);
    std::size_t newline = input.find('\n');
    std::string_view header = input.substr(0, newline);
    std::string_view payload = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    std::string signingInput = jwt::encodeBase64Url(header) + "." + jwt::encodeBase64Url(payload);
    token = signingInput + "." + jwt::encodeBase64Url(jwt::hmacSha256(kSecret, signingInput));
    auto decoded = jwt::decodeBase64Url(jwt::encodeBase64Url(payload));
    MANTLE_FUZZ_CHECK(decoded && *decoded == payload, "base64url round trip");
  }
  jwt::VerifyOptions options;
  options.now = 1700000000;
  options.leeway = 60;
  auto claims = jwt::verify(token, kSecret, options);
  if (!claims.ok()) MANTLE_FUZZ_CHECK(!claims.error().message.empty(), "an error without a message");
  return 0;
}
