#include "jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <vector>

#include "mantle/common/strict_json.hpp"

namespace mantle::authenticators::jwt {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int digitValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

Result<Json::Value> decodeObject(std::string_view part, const char* what) {
  std::optional<std::string> bytes = decodeBase64Url(part);
  if (!bytes) return invalidArgument(std::string("the ") + what + " is not base64url");
  Result<Json::Value> value = json::parseStrict(*bytes, what);
  if (!value.ok()) return invalidArgument(std::string("the ") + what + " is not valid JSON");
  if (!value->isObject()) return invalidArgument(std::string("the ") + what + " is not a JSON object");
  return value;
}

Result<std::optional<std::int64_t>> numericDate(const Json::Value& payload, const char* name) {
  if (!payload.isMember(name)) return std::optional<std::int64_t>();
  const Json::Value& v = payload[name];
  if (!v.isNumeric() || !std::isfinite(v.asDouble())) {
    return invalidArgument(std::string("claim '") + name + "' is not a number");
  }
  // Seconds since the epoch. Past 2^53 a double holds no whole seconds, and
  // converting 1e300 to int64 was undefined.
  if (std::fabs(v.asDouble()) > 9007199254740992.0) {
    return invalidArgument(std::string("claim '") + name + "' is out of range (more than 2^53 seconds)");
  }
  return std::optional<std::int64_t>(static_cast<std::int64_t>(v.asDouble()));
}

}  // namespace

std::string encodeBase64Url(std::string_view bytes) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> decodeBase64Url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = digitValue(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string hmacSha256(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &size);
  return std::string(reinterpret_cast<const char*>(mac), size);
}

Result<Claims> verify(std::string_view token, std::string_view secret, const VerifyOptions& options) {
  std::size_t first = token.find('.');
  std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return invalidArgument("malformed token: expected three '.'-separated parts");
  }
  Result<Json::Value> header = decodeObject(token.substr(0, first), "token header");
  if (!header.ok()) return header.error();
  const Json::Value& alg = (*header)["alg"];
  if (!alg.isString()) return invalidArgument("the token header names no 'alg'");
  if (alg.asString() != "HS256") return invalidArgument("algorithm '" + alg.asString() + "' is not accepted (only HS256)");
  if (header->isMember("crit")) return invalidArgument("the token header has critical extensions ('crit')");

  std::optional<std::string> signature = decodeBase64Url(token.substr(second + 1));
  if (!signature) return invalidArgument("the token signature is not base64url");
  std::string expected = hmacSha256(secret, token.substr(0, second));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return invalidArgument("invalid token signature");
  }

  Result<Json::Value> payload = decodeObject(token.substr(first + 1, second - first - 1), "token payload");
  if (!payload.ok()) return payload.error();
  Claims claims;
  Result<std::optional<std::int64_t>> exp = numericDate(*payload, "exp");
  if (!exp.ok()) return exp.error();
  Result<std::optional<std::int64_t>> nbf = numericDate(*payload, "nbf");
  if (!nbf.ok()) return nbf.error();
  claims.expiry = *exp;
  claims.notBefore = *nbf;
  if (!claims.expiry && options.requireExpiry) return invalidArgument("the token has no expiry ('exp')");
  if (claims.expiry && options.now >= *claims.expiry + options.leeway) return invalidArgument("the token has expired");
  if (claims.notBefore && options.now + options.leeway < *claims.notBefore) {
    return invalidArgument("the token is not valid yet ('nbf')");
  }
  for (const std::string& name : payload->getMemberNames()) {
    const Json::Value& v = (*payload)[name];
    if (name == "sub") {
      if (!v.isString()) return invalidArgument("claim 'sub' is not a string");
      claims.subject = v.asString();
    } else if (name == "aud") {
      if (!v.isString()) return invalidArgument("claim 'aud' must be one realm (a string)");
      claims.audience = v.asString();
    } else if (v.isString()) {
      claims.extra[name] = v.asString();
    }
  }
  return claims;
}

}  // namespace mantle::authenticators::jwt
