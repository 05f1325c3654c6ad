// JSON Web Tokens (RFC 7519) in compact JWS form, HS256 only (RFC 7518
// section 3.2): decoding, signature and time checks. Nothing here logs or
// returns the token or the secret.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "mantle/result.hpp"

namespace mantle::authenticators::jwt {

// base64url without padding (RFC 4648 section 5), as JWS uses it.
std::string encodeBase64Url(std::string_view bytes);
std::optional<std::string> decodeBase64Url(std::string_view text);

std::string hmacSha256(std::string_view key, std::string_view message);

struct Claims {
  std::string subject;                               // "sub"
  std::optional<std::string> audience;               // "aud" (a string; an array is refused)
  std::optional<std::int64_t> expiry;                // "exp"
  std::optional<std::int64_t> notBefore;             // "nbf"
  std::map<std::string, std::string> extra;          // other string claims
};

struct VerifyOptions {
  std::int64_t now = 0;         // seconds since the epoch
  std::int64_t leeway = 0;      // seconds allowed on exp/nbf
  bool requireExpiry = true;
};

// Verifies `token` against `secret`: three parts, a header with alg HS256
// (alg "none" and every other algorithm refused), the signature, then
// exp/nbf. The error message says which check failed.
Result<Claims> verify(std::string_view token, std::string_view secret, const VerifyOptions& options);

}  // namespace mantle::authenticators::jwt
