// SASL CRAM-MD5 of v0 drivers (Cyrus SASL behind V0Authenticator), with the
// client's answer computed independently (HMAC-MD5 of the challenge, RFC 2195).
#include "master/v0_authenticator.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>

namespace mantle::master {
namespace {

using State = V0Authenticator::Step::State;

// "<user> <hex HMAC-MD5(secret, challenge)>", as a CRAM-MD5 client answers.
std::string cramMd5Response(const std::string& user, const std::string& secret, const std::string& challenge) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "MD5", nullptr, secret.data(), secret.size(),
                      reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), mac, sizeof(mac),
                      &length),
            nullptr);
  std::string out = user + " ";
  char hex[3];
  for (std::size_t i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof(hex), "%02x", mac[i]);
    out += hex;
  }
  return out;
}

std::unique_ptr<V0Authenticator> authenticator() {
  Result<std::unique_ptr<V0Authenticator>> created = V0Authenticator::create({{"ops", "s3cret"}});
  EXPECT_TRUE(created.ok()) << created.error().message;
  return created.ok() ? std::move(*created) : nullptr;
}

TEST(V0AuthenticatorTest, TheRightSecretAuthenticatesTheDriverAsItsPrincipal) {
  auto sasl = authenticator();
  ASSERT_NE(sasl, nullptr);
  sasl->begin("authenticatee(1)@127.0.0.1:7", "scheduler-1@127.0.0.1:7");
  V0Authenticator::Step challenge = sasl->start("authenticatee(1)@127.0.0.1:7", "CRAM-MD5", "");
  ASSERT_EQ(challenge.state, State::kContinue) << challenge.error;
  ASSERT_FALSE(challenge.data.empty());
  EXPECT_FALSE(sasl->principal("scheduler-1@127.0.0.1:7"));
  V0Authenticator::Step done =
      sasl->step("authenticatee(1)@127.0.0.1:7", cramMd5Response("ops", "s3cret", challenge.data));
  EXPECT_EQ(done.state, State::kCompleted) << done.error;
  EXPECT_EQ(sasl->principal("scheduler-1@127.0.0.1:7"), "ops");
}

TEST(V0AuthenticatorTest, AWrongSecretOrAnUnknownPrincipalFails) {
  auto sasl = authenticator();
  ASSERT_NE(sasl, nullptr);
  for (auto [user, secret] : {std::pair{"ops", "wrong"}, std::pair{"nobody", "s3cret"}}) {
    sasl->begin("a@127.0.0.1:7", "d@127.0.0.1:7");
    V0Authenticator::Step challenge = sasl->start("a@127.0.0.1:7", "CRAM-MD5", "");
    ASSERT_EQ(challenge.state, State::kContinue) << challenge.error;
    V0Authenticator::Step done = sasl->step("a@127.0.0.1:7", cramMd5Response(user, secret, challenge.data));
    EXPECT_EQ(done.state, State::kFailed) << user;
    EXPECT_FALSE(sasl->principal("d@127.0.0.1:7"));
  }
}

TEST(V0AuthenticatorTest, AnotherMechanismOrAStepOutOfTurnIsAnError) {
  auto sasl = authenticator();
  ASSERT_NE(sasl, nullptr);
  EXPECT_EQ(sasl->start("a@127.0.0.1:7", "CRAM-MD5", "").state, State::kError);  // no AuthenticateMessage
  EXPECT_EQ(sasl->step("a@127.0.0.1:7", "ops 00").state, State::kError);
  sasl->begin("a@127.0.0.1:7", "d@127.0.0.1:7");
  V0Authenticator::Step plain = sasl->start("a@127.0.0.1:7", "PLAIN", "ops\0ops\0s3cret");
  EXPECT_EQ(plain.state, State::kError);
  EXPECT_NE(plain.error.find("only CRAM-MD5"), std::string::npos) << plain.error;
}

}  // namespace
}  // namespace mantle::master
