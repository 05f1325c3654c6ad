// The basic authenticator, loaded through the host from
// libmantle_basic_authenticator.so.
#include <gtest/gtest.h>

#include "mantle/module/v1/auth.pb.h"
#include "module_host.hpp"

namespace mantle::authenticators::basic {
namespace {

namespace v1 = ::mantle::module::v1;
using modules::Instance;
using modules::Registry;

const std::string kDataDir = MANTLE_BASIC_TEST_DATA_DIR;

// Test-side encoder, so the module's decoder is checked against an
// independent implementation.
std::string base64(const std::string& in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(alphabet[(v >> s) & 63]);
  }
  if (in.size() - i == 1) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += std::string{alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += std::string{alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
  }
  return out;
}

v1::AuthenticateRequest request(const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::string& realm = "mantle-master") {
  v1::AuthenticateRequest r;
  r.set_realm(realm);
  r.set_method("GET");
  r.set_path("/master/state");
  for (const auto& [name, value] : headers) {
    v1::HttpHeader* h = r.add_headers();
    h->set_name(name);
    h->set_value(value);
  }
  return r;
}

v1::AuthenticateRequest basic(const std::string& principal, const std::string& secret) {
  return request({{"Accept", "application/json"}, {"Authorization", "Basic " + base64(principal + ":" + secret)}});
}

// Every secret in the test data: none may appear in any message.
const std::vector<std::string> kSecrets = {"s3cret-ops-XYZ",  "colon:in:secret",        "orphan-secret-QQQ",
                                           "typo-secret-WWW", "three-field-secret-PPP", "other-secret-RRR"};

void expectNoSecret(const std::string& message) {
  for (const std::string& secret : kSecrets) {
    EXPECT_EQ(message.find(secret), std::string::npos) << "message leaks a secret: " << message;
  }
}

class BasicAuthenticatorTest : public ::testing::Test {
 protected:
  Result<std::shared_ptr<Instance>> create(const std::string& credentialsFile, const std::string& realm = "") {
    Json::Value module;
    module["name"] = "basic";
    module["instance"] = "basic-" + std::to_string(++created_);
    module["kind"] = "authenticator";
    module["config"]["credentials"] = credentialsFile;
    if (!realm.empty()) module["config"]["realm"] = realm;
    return testing::createModule(registry_, "mantle_basic_authenticator", module, "authenticator");
  }

  std::shared_ptr<Instance> createOk(const std::string& credentialsFile = kDataDir + "/credentials.json") {
    Result<std::shared_ptr<Instance>> made = create(credentialsFile);
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? *made : nullptr;
  }

  static v1::AuthenticateResponse authenticate(Instance& authenticator, const v1::AuthenticateRequest& r) {
    Result<v1::AuthenticateResponse> response = modules::AuthenticatorClient(authenticator).authenticate(r);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : v1::AuthenticateResponse();
  }

  static void expectUnauthorized(const v1::AuthenticateResponse& response, const std::string& realm,
                                 const std::string& messagePart) {
    ASSERT_EQ(response.result_case(), v1::AuthenticateResponse::kUnauthorized);
    EXPECT_EQ(response.unauthorized().www_authenticate(), "Basic realm=\"" + realm + "\"");
    EXPECT_NE(response.unauthorized().message().find(messagePart), std::string::npos)
        << response.unauthorized().message();
    expectNoSecret(response.unauthorized().message());
  }

  Registry registry_;
  int created_ = 0;
};

TEST_F(BasicAuthenticatorTest, RightCredentialsGiveThePrincipal) {
  std::shared_ptr<Instance> auth = createOk();
  ASSERT_NE(auth, nullptr);
  v1::AuthenticateResponse ops = authenticate(*auth, basic("ops", "s3cret-ops-XYZ"));
  ASSERT_EQ(ops.result_case(), v1::AuthenticateResponse::kPrincipal);
  EXPECT_EQ(ops.principal().value(), "ops");
  // The secret is everything after the first ':'.
  v1::AuthenticateResponse marathon = authenticate(*auth, basic("marathon", "colon:in:secret"));
  ASSERT_EQ(marathon.result_case(), v1::AuthenticateResponse::kPrincipal);
  EXPECT_EQ(marathon.principal().value(), "marathon");
  v1::AuthenticateResponse empty = authenticate(*auth, basic("empty-secret", ""));
  ASSERT_EQ(empty.result_case(), v1::AuthenticateResponse::kPrincipal);
}

TEST_F(BasicAuthenticatorTest, SchemeAndHeaderNameAreCaseInsensitive) {
  std::shared_ptr<Instance> auth = createOk();
  ASSERT_NE(auth, nullptr);
  v1::AuthenticateResponse response =
      authenticate(*auth, request({{"authorization", "  bAsIc   " + base64("ops:s3cret-ops-XYZ") + " "}}));
  ASSERT_EQ(response.result_case(), v1::AuthenticateResponse::kPrincipal);
  EXPECT_EQ(response.principal().value(), "ops");
}

TEST_F(BasicAuthenticatorTest, MissingHeaderGetsAChallengeForTheRequestRealm) {
  std::shared_ptr<Instance> auth = createOk();
  ASSERT_NE(auth, nullptr);
  expectUnauthorized(authenticate(*auth, request({{"Accept", "*/*"}})), "mantle-master", "missing Authorization");
  // No realm in the request: the configured one (default "mantle").
  expectUnauthorized(authenticate(*auth, request({}, "")), "mantle", "missing Authorization");
}

TEST_F(BasicAuthenticatorTest, ConfiguredRealmIsUsedWhenTheRequestHasNone) {
  Result<std::shared_ptr<Instance>> auth = create(kDataDir + "/credentials.json", "ops-realm");
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  expectUnauthorized(authenticate(**auth, request({}, "")), "ops-realm", "missing Authorization");
}

TEST_F(BasicAuthenticatorTest, MalformedHeadersAreUnauthorizedWithAMessage) {
  std::shared_ptr<Instance> auth = createOk();
  ASSERT_NE(auth, nullptr);
  expectUnauthorized(authenticate(*auth, request({{"Authorization", "Bearer abc.def.ghi"}})), "mantle-master", "Basic");
  expectUnauthorized(authenticate(*auth, request({{"Authorization", "Basic"}})), "mantle-master", "empty");
  expectUnauthorized(authenticate(*auth, request({{"Authorization", "Basic    "}})), "mantle-master", "malformed");
  for (const std::string bad : {"b3Bz!zM=", "b3BzOnM", "b3=zOnM=", "b3BzOnN=", "====", "b3BzOnMz\tZ"}) {
    expectUnauthorized(authenticate(*auth, request({{"Authorization", "Basic " + bad}})), "mantle-master", "base64");
  }
  // Valid base64, but no ':' inside.
  expectUnauthorized(authenticate(*auth, request({{"Authorization", "Basic " + base64("ops")}})), "mantle-master",
                     "no ':'");
  // Two Authorization headers are ambiguous.
  std::string good = "Basic " + base64("ops:s3cret-ops-XYZ");
  expectUnauthorized(authenticate(*auth, request({{"Authorization", good}, {"Authorization", good}})), "mantle-master",
                     "more than one");
}

TEST_F(BasicAuthenticatorTest, WrongSecretAndUnknownPrincipalGetTheSameAnswer) {
  std::shared_ptr<Instance> auth = createOk();
  ASSERT_NE(auth, nullptr);
  v1::AuthenticateResponse wrong = authenticate(*auth, basic("ops", "s3cret-ops-XY"));
  v1::AuthenticateResponse longer = authenticate(*auth, basic("ops", "s3cret-ops-XYZZ"));
  v1::AuthenticateResponse unknown = authenticate(*auth, basic("nobody", "s3cret-ops-XYZ"));
  v1::AuthenticateResponse otherSecret = authenticate(*auth, basic("ops", "colon:in:secret"));
  for (const v1::AuthenticateResponse* r : {&wrong, &longer, &unknown, &otherSecret}) {
    expectUnauthorized(*r, "mantle-master", "invalid credentials");
    EXPECT_EQ(r->unauthorized().message(), wrong.unauthorized().message());
  }
}

TEST_F(BasicAuthenticatorTest, LegacyTextCredentialsFile) {
  std::shared_ptr<Instance> auth = createOk(kDataDir + "/credentials.txt");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(authenticate(*auth, basic("ops", "s3cret-ops-XYZ")).principal().value(), "ops");
  EXPECT_EQ(authenticate(*auth, basic("marathon", "colon:in:secret")).principal().value(), "marathon");
  expectUnauthorized(authenticate(*auth, basic("marathon", "nope")), "mantle-master", "invalid credentials");
}

TEST_F(BasicAuthenticatorTest, BadCredentialsFilesAreCreateErrorsNamingFileAndProblem) {
  struct Case {
    std::string file;
    std::string problem;
  };
  for (const Case& c : std::vector<Case>{
           {"does_not_exist.json", "does not exist"},
           {"malformed.json", "not valid JSON"},
           {"missing_principal.json", "credentials[1].principal"},
           {"unknown_key.json", "credentials[0].secrte"},
           {"bad_line.txt", "line 2"},
           {"duplicate.txt", "more than once"},
       }) {
    Result<std::shared_ptr<Instance>> auth = create(kDataDir + "/" + c.file);
    ASSERT_FALSE(auth.ok()) << c.file;
    EXPECT_NE(auth.error().message.find(c.file), std::string::npos) << auth.error().message;
    EXPECT_NE(auth.error().message.find(c.problem), std::string::npos) << auth.error().message;
    expectNoSecret(auth.error().message);
  }
  Result<std::shared_ptr<Instance>> directory = create(kDataDir);
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos) << directory.error().message;
}

TEST_F(BasicAuthenticatorTest, CredentialsParameterIsRequired) {
  Json::Value module;
  module["name"] = "basic";
  Result<std::shared_ptr<Instance>> auth =
      testing::createModule(registry_, "mantle_basic_authenticator", module, "authenticator");
  ASSERT_FALSE(auth.ok());
  EXPECT_NE(auth.error().message.find("credentials"), std::string::npos) << auth.error().message;
}

}  // namespace
}  // namespace mantle::authenticators::basic
