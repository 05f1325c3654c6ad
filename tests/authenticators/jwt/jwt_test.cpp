// Token parsing of the jwt authenticator (authenticators/jwt/jwt.hpp) on
// hostile tokens: every one is an error value, never an exception or an
// overflow.
#include "jwt.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace mantle::authenticators::jwt {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kSecret = "s3cret";

std::string sign(const std::string& header, const std::string& payload) {
  std::string signingInput = encodeBase64Url(header) + "." + encodeBase64Url(payload);
  return signingInput + "." + encodeBase64Url(hmacSha256(kSecret, signingInput));
}

std::string verifyError(const std::string& token) {
  VerifyOptions options;
  options.now = 1000;
  Result<Claims> claims = verify(token, kSecret, options);
  EXPECT_FALSE(claims.ok()) << token.substr(0, 80);
  return claims.ok() ? "" : claims.error().message;
}

TEST(JwtTest, AWellFormedTokenVerifies) {
  VerifyOptions options;
  options.now = 1000;
  Result<Claims> claims = verify(sign(R"({"alg":"HS256"})", R"({"sub":"ops","exp":2000})"), kSecret, options);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->subject, "ops");
  EXPECT_EQ(claims->expiry, 2000);
}

TEST(JwtTest, ADeeplyNestedHeaderIsAnErrorNotAnException) {
  // The header is read before the signature is checked: anyone can send it.
  // jsoncpp threw past its stack limit, through the module's C ABI.
  EXPECT_EQ(verifyError(sign(std::string(100000, '['), "{}")), "the token header is not valid JSON");
  EXPECT_EQ(verifyError(sign("{\"alg\":\"HS256\",\"x\":\"\xff\"}", "{}")), "the token header is not valid JSON");
}

TEST(JwtTest, NumericDatesBeyondTwoToTheFiftyThreeAreOutOfRange) {
  // static_cast<int64_t>(1e300) was undefined (INT64_MIN on x86: "expired").
  EXPECT_THAT(verifyError(sign(R"({"alg":"HS256"})", R"({"sub":"ops","exp":1e300})")),
              HasSubstr("claim 'exp' is out of range"));
  EXPECT_THAT(verifyError(sign(R"({"alg":"HS256"})", R"({"sub":"ops","exp":2000,"nbf":-1e19})")),
              HasSubstr("claim 'nbf' is out of range"));
  EXPECT_EQ(verifyError(sign(R"({"alg":"HS256"})", R"({"sub":"ops","exp":1e999})")),
            "the token payload is not valid JSON");
}

}  // namespace
}  // namespace mantle::authenticators::jwt
