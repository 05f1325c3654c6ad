// Authentication (basic, jwt), ACL authorization and per-principal state
// filtering of a real mantle-master over real HTTP.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <json/value.h>
#include <json/writer.h>

#include <sys/wait.h>

#include "cluster.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "module_manifest.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kCredentials =
    R"({"credentials": [{"principal": "ops", "secret": "ops-secret"},
                        {"principal": "dev", "secret": "dev-secret"},
                        {"principal": "alice-viewer", "secret": "viewer-secret"},
                        {"principal": "agent", "secret": "agent-secret"}]})";
constexpr const char* kJwtSecret = "0123456789abcdef0123456789abcdef-jwt";

std::string base64(const std::string& plain) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int bits = 0;
  unsigned buffer = 0;
  for (unsigned char c : plain) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) out += alphabet[(buffer >> (bits -= 6)) & 0x3f];
  }
  if (bits > 0) out += alphabet[(buffer << (6 - bits)) & 0x3f];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

std::string base64Url(const std::string& bytes) {
  std::string out = base64(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  return out;
}

std::string hs256(const std::string& key, const std::string& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &size);
  return std::string(reinterpret_cast<const char*>(mac), size);
}

std::string jwt(const std::string& header, const std::string& payload, const std::string& key) {
  std::string signingInput = base64Url(header) + "." + base64Url(payload);
  return signingInput + "." + base64Url(hs256(key, signingInput));
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

http::Headers basic(const std::string& principal, const std::string& secret) {
  return {{"Authorization", "Basic " + base64(principal + ":" + secret)}};
}
http::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::vector<std::string> challenges(const http::ClientResponse& response) {
  std::vector<std::string> out;
  for (const auto& [name, value] : response.headers) {
    if (name == "WWW-Authenticate" || name == "www-authenticate") out.push_back(value);
  }
  return out;
}

http::ClientResponse get(const std::string& url, const http::Headers& headers) {
  auto response = http::request("GET", url, headers, "");
  EXPECT_TRUE(response.ok()) << (response.ok() ? "" : response.error().message);
  return response.ok() ? *response : http::ClientResponse{};
}

http::ClientResponse post(const std::string& url, http::Headers headers, const std::string& json) {
  headers.emplace_back("Content-Type", "application/json");
  headers.emplace_back("Accept", "application/json");
  auto response = http::request("POST", url, headers, json);
  EXPECT_TRUE(response.ok()) << (response.ok() ? "" : response.error().message);
  return response.ok() ? *response : http::ClientResponse{};
}

// A SUBSCRIBE stream held open on its own thread.
class Subscription {
 public:
  Subscription(const std::string& url, http::Headers headers, const std::string& frameworkInfo) {
    headers.emplace_back("Content-Type", "application/json");
    headers.emplace_back("Accept", "application/json");
    std::string body = R"({"type": "SUBSCRIBE", "subscribe": {"framework_info": )" + frameworkInfo + "}}";
    thread_ = std::thread([this, url, headers, body] {
      http::StreamCallbacks callbacks;
      callbacks.onHead = [this](const http::ClientResponse& head) {
        std::lock_guard<std::mutex> lock(mutex_);
        status_ = head.status;
        streamId_ = head.header("Mesos-Stream-Id");
        return true;
      };
      callbacks.onData = [this](std::string_view data) {
        std::lock_guard<std::mutex> lock(mutex_);
        body_.append(data);
        return true;
      };
      (void)http::stream("POST", url + "/api/v1/scheduler", headers, body, callbacks, cancel_);
      std::lock_guard<std::mutex> lock(mutex_);
      ended_ = true;
    });
  }
  ~Subscription() {
    cancel_->store(true);
    thread_.join();
  }
  // Waits until the stream carries `text` (or ends); returns what it carried.
  std::string waitFor(const std::string& text) {
    waitUntil(
        [&] {
          std::lock_guard<std::mutex> lock(mutex_);
          return body_.find(text) != std::string::npos || ended_;
        },
        10s);
    std::lock_guard<std::mutex> lock(mutex_);
    return body_;
  }
  int status() {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }
  std::string streamId() {
    std::lock_guard<std::mutex> lock(mutex_);
    return streamId_;
  }
  // The events (RecordIO records, parsed) received so far.
  std::vector<Json::Value> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Json::Value> out;
    std::size_t pos = 0;
    while (pos < body_.size()) {
      std::size_t newline = body_.find('\n', pos);
      if (newline == std::string::npos) break;
      std::size_t length = std::stoul(body_.substr(pos, newline - pos));
      if (newline + 1 + length > body_.size()) break;
      out.push_back(parseJson(body_.substr(newline + 1, length)));
      pos = newline + 1 + length;
    }
    return out;
  }

 private:
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::mutex mutex_;
  std::string body_;
  std::string streamId_;
  int status_ = 0;
  bool ended_ = false;
  std::thread thread_;
};

class SecurityTest : public ::testing::Test {
 protected:
  TempDir files_;
  std::string credentials_ = files_.write("credentials.json", kCredentials).string();
  std::string jwtSecret_ = files_.write("jwt.secret", kJwtSecret).string();
};

TEST_F(SecurityTest, BasicRefusesAnonymousWrongSecretAndUnknownPrincipal) {
  ClusterOptions options;
  options.agents = 0;
  options.masterFlags = {"--authenticate_http_readonly", "--authenticate_http_readwrite",
                         "--authenticate_http_frameworks", "--credentials=" + credentials_};
  options.clientHeaders = basic("ops", "ops-secret");
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok());
  const std::string url = cluster.masterUrl();

  http::ClientResponse anonymous = get(url + "/master/state", {});
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(challenges(anonymous), std::vector<std::string>{"Basic realm=\"mesos-master-readonly\""});
  EXPECT_NE(anonymous.body.find("missing Authorization header"), std::string::npos) << anonymous.body;

  http::ClientResponse wrong = get(url + "/master/state", basic("ops", "not-the-secret"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("invalid credentials"), std::string::npos) << wrong.body;
  EXPECT_EQ(wrong.body.find("not-the-secret"), std::string::npos) << "the secret leaked into the answer";

  http::ClientResponse unknown = get(url + "/master/state", basic("mallory", "ops-secret"));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_NE(unknown.body.find("invalid credentials"), std::string::npos) << unknown.body;

  EXPECT_EQ(get(url + "/master/state", basic("ops", "ops-secret")).status, 200);
  EXPECT_EQ(get(url + "/health", {}).status, 200);  // liveness stays anonymous

  // Every endpoint that shows or changes state refuses anonymous requests.
  for (const char* path : {"/master/state", "/master/state-summary", "/master/frameworks", "/master/slaves",
                           "/master/tasks", "/master/roles", "/master/flags", "/metrics/snapshot", "/metrics"}) {
    EXPECT_EQ(get(url + path, {}).status, 401) << path;
  }
  http::ClientResponse op = post(url + "/api/v1", {}, R"({"type": "GET_STATE"})");
  EXPECT_EQ(op.status, 401);
  EXPECT_EQ(challenges(op), std::vector<std::string>{"Basic realm=\"mesos-master-readwrite\""});
  http::ClientResponse sched = post(url + "/api/v1/scheduler", {}, R"({"type": "SUBSCRIBE"})");
  EXPECT_EQ(sched.status, 401);
  EXPECT_EQ(challenges(sched), std::vector<std::string>{"Basic realm=\"mesos-master-scheduler\""});
  // --authenticate_agents is off: the agent protocol answers (415: a JSON body).
  EXPECT_EQ(post(url + "/internal/v1/agent", {}, "").status, 415);

  // Failures are counted.
  Json::Value metrics = parseJson(get(url + "/metrics/snapshot", basic("ops", "ops-secret")).body);
  EXPECT_GE(metrics["master/authentication/mesos-master-readonly/unauthorized"].asDouble(), 3.0);
  EXPECT_GE(metrics["master/authentication/mesos-master-readonly/successes"].asDouble(), 1.0);
  EXPECT_GE(metrics["master/authentication/mesos-master-scheduler/unauthorized"].asDouble(), 1.0);
}

TEST_F(SecurityTest, JwtChecksSignatureExpiryAlgorithmAndRealm) {
  ClusterOptions options;
  options.agents = 0;
  options.masterFlags = {"--authenticate_http_readonly", "--http_authenticators=basic,jwt",
                         "--credentials=" + credentials_, "--jwt_secret_file=" + jwtSecret_};
  options.clientHeaders = basic("ops", "ops-secret");
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok());
  const std::string state = cluster.masterUrl() + "/master/state";
  const std::string header = R"({"alg": "HS256", "typ": "JWT"})";
  const std::string later = std::to_string(now() + 600);

  EXPECT_EQ(get(state, bearer(jwt(header, R"({"sub": "ops", "exp": )" + later + "}", kJwtSecret))).status, 200);
  EXPECT_EQ(get(state, bearer(jwt(header, R"({"sub": "ops", "aud": "mesos-master-readonly", "exp": )" + later + "}",
                                  kJwtSecret)))
                .status,
            200);

  auto refused = [&](const std::string& token, const std::string& why) {
    http::ClientResponse response = get(state, bearer(token));
    EXPECT_EQ(response.status, 401) << why;
    EXPECT_NE(response.body.find(why), std::string::npos) << response.body;
    // Both authenticators challenge.
    std::vector<std::string> c = challenges(response);
    EXPECT_EQ(c.size(), 2u) << response.body;
    EXPECT_EQ(response.body.find(token), std::string::npos) << "the token leaked into the answer";
  };
  refused(jwt(header, R"({"sub": "ops", "exp": )" + std::to_string(now() - 60) + "}", kJwtSecret),
          "the token has expired");
  refused(jwt(header, R"({"sub": "ops", "exp": )" + later + "}", "another-secret-another-secret-12"),
          "invalid token signature");
  std::string unsignedToken =
      base64Url(R"({"alg": "none"})") + "." + base64Url(R"({"sub": "ops", "exp": )" + later + "}") + ".";
  refused(unsignedToken, "algorithm 'none' is not accepted");
  refused(jwt(R"({"alg": "HS512"})", R"({"sub": "ops", "exp": )" + later + "}", kJwtSecret),
          "algorithm 'HS512' is not accepted");
  refused(jwt(header, R"({"sub": "ops", "aud": "mesos-master-scheduler", "exp": )" + later + "}", kJwtSecret),
          "the token is for realm 'mesos-master-scheduler', not 'mesos-master-readonly'");
  refused(jwt(header, R"({"sub": "ops"})", kJwtSecret), "the token has no expiry");
  refused("not-a-token", "malformed token");
}

// Certificates for one test, made with the openssl command line: a CA, a
// server certificate for 127.0.0.1, a client certificate from the same CA and
// one from an unrelated CA.
struct Certificates {
  explicit Certificates(const TempDir& dir) : dir(dir.path().string()) {
    const std::string d = this->dir;
    std::string ext = dir.write("san.ext", "subjectAltName=IP:127.0.0.1\n").string();
    auto run = [](const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; };
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    ok = run("openssl req -x509" + key + " -keyout " + d + "/ca.key -out " + d +
             "/ca.crt -days 1 -subj /CN=mantle-test-ca") &&
         run("openssl req -x509" + key + " -keyout " + d + "/other-ca.key -out " + d +
             "/other-ca.crt -days 1 -subj /CN=other-ca") &&
         run("openssl req" + key + " -keyout " + d + "/server.key -out " + d + "/server.csr -subj /CN=127.0.0.1") &&
         run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d +
             "/ca.key -CAcreateserial -out " + d + "/server.crt -days 1 -extfile " + ext) &&
         run("openssl req" + key + " -keyout " + d + "/client.key -out " + d + "/client.csr -subj /CN=client") &&
         run("openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.crt -CAkey " + d +
             "/ca.key -CAcreateserial -out " + d + "/client.crt -days 1") &&
         run("openssl req" + key + " -keyout " + d + "/rogue.key -out " + d + "/rogue.csr -subj /CN=rogue") &&
         run("openssl x509 -req -in " + d + "/rogue.csr -CA " + d + "/other-ca.crt -CAkey " + d +
             "/other-ca.key -CAcreateserial -out " + d + "/rogue.crt -days 1");
  }
  std::string path(const std::string& name) const { return dir + "/" + name; }
  std::string dir;
  bool ok = false;
};

// Restores the process's client TLS settings when a test ends.
struct ClientTlsScope {
  explicit ClientTlsScope(http::ClientTls tls) : saved(http::defaultClientTls()) { http::setDefaultClientTls(tls); }
  ~ClientTlsScope() { http::setDefaultClientTls(saved); }
  void set(http::ClientTls tls) const { http::setDefaultClientTls(std::move(tls)); }
  http::ClientTls saved;
};

TEST_F(SecurityTest, TlsServerVerifiedAndClientCertificateRequired) {
  Certificates certs(files_);
  ASSERT_TRUE(certs.ok) << "openssl could not make the test certificates";
  ClientTlsScope tls({certs.path("ca.crt"), certs.path("client.crt"), certs.path("client.key")});
  ClusterOptions options;
  options.agents = 0;
  options.tls = true;
  options.masterFlags = {"--ssl_cert=" + certs.path("server.crt"), "--ssl_key=" + certs.path("server.key"),
                         "--ssl_ca=" + certs.path("ca.crt"), "--ssl_require_client_cert"};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok());
  const std::string state = cluster.masterUrl() + "/master/state";
  ASSERT_EQ(state.rfind("https://", 0), 0u);

  EXPECT_EQ(get(state, {}).status, 200);  // the right CA and a client certificate from it

  tls.set({certs.path("ca.crt"), "", ""});  // no client certificate
  auto none = http::request("GET", state, {}, "");
  EXPECT_FALSE(none.ok()) << "a client without a certificate was served";

  tls.set({certs.path("ca.crt"), certs.path("rogue.crt"), certs.path("rogue.key")});  // from another CA
  auto rogue = http::request("GET", state, {}, "");
  EXPECT_FALSE(rogue.ok()) << "a client with a certificate from another CA was served";

  tls.set({certs.path("other-ca.crt"), certs.path("client.crt"), certs.path("client.key")});  // server not trusted
  auto untrusted = http::request("GET", state, {}, "");
  ASSERT_FALSE(untrusted.ok()) << "the client accepted a server its CA did not sign";
  EXPECT_NE(untrusted.error().message.find("certificate"), std::string::npos) << untrusted.error().message;

  auto plain = http::request("GET", "http://" + cluster.masterAddress() + "/master/state", {}, "");
  EXPECT_TRUE(!plain.ok() || plain->status != 200) << "plain HTTP was served";

  tls.set({certs.path("ca.crt"), certs.path("client.crt"), certs.path("client.key")});
  Json::Value metrics = parseJson(get(cluster.masterUrl() + "/metrics/snapshot", {}).body);
  EXPECT_GE(metrics["master/tls/handshake_failures"].asDouble(), 3.0);
}

constexpr const char* kAcls = R"({
  "permissive": false,
  "register_frameworks": [
    {"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}},
    {"principals": {"values": ["dev"]}, "roles": {"values": ["dev"]}}
  ],
  "teardown_frameworks": [{"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}}],
  "reserve_resources": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
  "unreserve_resources": [{"principals": {"values": ["ops"]}, "reserver_principals": {"type": "ANY"}}],
  "create_volumes": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
  "destroy_volumes": [{"principals": {"values": ["ops"]}, "creator_principals": {"type": "ANY"}}],
  "update_weights": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
  "update_quotas": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
  "mark_agents_gone": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
  "drain_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
  "deactivate_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
  "reactivate_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
  "view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}}],
  "view_frameworks": [
    {"principals": {"values": ["ops", "dev"]}, "users": {"type": "ANY"}},
    {"principals": {"values": ["alice-viewer"]}, "users": {"values": ["alice"]}}
  ],
  "view_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
  "view_executors": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]
})";

class AuthorizationTest : public SecurityTest {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.agents = 0;
    options.masterFlags = {"--authenticate_http_readonly", "--authenticate_http_readwrite",
                           "--authenticate_http_frameworks", "--credentials=" + credentials_,
                           "--acls=" + files_.write("acls.json", kAcls).string()};
    options.clientHeaders = basic("ops", "ops-secret");
    cluster_ = std::make_unique<LocalCluster>(options);
    ASSERT_TRUE(cluster_->start().ok());
  }
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(AuthorizationTest, FrameworkMayRegisterOnlyInItsRoles) {
  const std::string url = cluster_->masterUrl();
  Subscription refused(url, basic("dev", "dev-secret"),
                       R"({"user": "dev", "name": "f", "principal": "dev", "roles": ["prod"],
                           "capabilities": [{"type": "MULTI_ROLE"}]})");
  std::string events = refused.waitFor("ERROR");
  EXPECT_EQ(refused.status(), 200);
  EXPECT_NE(events.find("Not authorized to use roles 'prod'"), std::string::npos) << events;
  EXPECT_EQ(events.find("SUBSCRIBED"), std::string::npos) << events;

  Subscription allowed(url, basic("dev", "dev-secret"),
                       R"({"user": "dev", "name": "f", "principal": "dev", "roles": ["dev"],
                           "capabilities": [{"type": "MULTI_ROLE"}]})");
  EXPECT_NE(allowed.waitFor("SUBSCRIBED").find("SUBSCRIBED"), std::string::npos);

  // A principal may not subscribe under another principal's name.
  Subscription impostor(url, basic("dev", "dev-secret"), R"({"user": "dev", "name": "f", "principal": "ops"})");
  impostor.waitFor("ops");
  EXPECT_EQ(impostor.status(), 400);
}

TEST_F(AuthorizationTest, MutatingOperatorCallsNeedTheirAcl) {
  const std::string url = cluster_->masterUrl() + "/api/v1";
  const std::string reserved =
      R"({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
          "reservations": [{"type": "DYNAMIC", "role": "prod", "principal": "ops"}]})";
  const std::vector<std::string> calls = {
      R"({"type": "RESERVE_RESOURCES", "reserve_resources": {"agent_id": {"value": "a"}, "resources": [)" + reserved +
          "]}}",
      R"({"type": "UNRESERVE_RESOURCES", "unreserve_resources": {"agent_id": {"value": "a"}, "resources": [)" +
          reserved + "]}}",
      R"({"type": "CREATE_VOLUMES", "create_volumes": {"agent_id": {"value": "a"}, "volumes": [)" + reserved + "]}}",
      R"({"type": "DESTROY_VOLUMES", "destroy_volumes": {"agent_id": {"value": "a"}, "volumes": [)" + reserved + "]}}",
      R"({"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [{"role": "prod", "weight": 2}]}})",
      R"({"type": "UPDATE_QUOTA", "update_quota": {"quota_configs": [{"role": "prod"}]}})",
      R"({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": "a"}}})",
      R"({"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": "a"}}})",
      R"({"type": "DEACTIVATE_AGENT", "deactivate_agent": {"agent_id": {"value": "a"}}})",
      R"({"type": "REACTIVATE_AGENT", "reactivate_agent": {"agent_id": {"value": "a"}}})",
      R"({"type": "TEARDOWN", "teardown": {"framework_id": {"value": "f"}}})",
      R"({"type": "GET_FLAGS"})",
  };
  for (const std::string& call : calls) {
    http::ClientResponse dev = post(url, basic("dev", "dev-secret"), call);
    EXPECT_EQ(dev.status, 403) << call << " -> " << dev.body;
    EXPECT_NE(dev.body.find("principal 'dev'"), std::string::npos) << dev.body;
    // The same call by "ops" passes authorization (and then fails or succeeds on its merits).
    http::ClientResponse ops = post(url, basic("ops", "ops-secret"), call);
    EXPECT_NE(ops.status, 403) << call << " -> " << ops.body;
    EXPECT_NE(ops.status, 401) << call;
    EXPECT_LT(ops.status, 500) << call << " -> " << ops.body;
  }
  EXPECT_EQ(get(cluster_->masterUrl() + "/master/flags", basic("dev", "dev-secret")).status, 403);

  // TEARDOWN of a live framework: the object is the framework's principal.
  Subscription framework(cluster_->masterUrl(), basic("dev", "dev-secret"),
                         R"({"user": "dev", "name": "f", "principal": "dev", "role": "dev"})");
  const std::string stream = framework.waitFor("SUBSCRIBED");
  Json::Value subscribed = parseJson(stream.substr(stream.find('{')));
  std::string id = subscribed["subscribed"]["framework_id"]["value"].asString();
  ASSERT_FALSE(id.empty());
  std::string teardown = R"({"type": "TEARDOWN", "teardown": {"framework_id": {"value": ")" + id + "\"}}}";
  http::ClientResponse byDev = post(url, basic("dev", "dev-secret"), teardown);
  EXPECT_EQ(byDev.status, 403);
  EXPECT_NE(byDev.body.find("teardown_frameworks"), std::string::npos) << byDev.body;
  EXPECT_EQ(post(url, basic("ops", "ops-secret"), teardown).status, 200);

  Json::Value metrics = parseJson(get(cluster_->masterUrl() + "/metrics/snapshot", basic("ops", "ops-secret")).body);
  EXPECT_GE(metrics["master/authorization/denied"].asDouble(), static_cast<double>(calls.size()));
}

TEST_F(AuthorizationTest, StateIsFilteredPerPrincipal) {
  const std::string url = cluster_->masterUrl();
  Subscription alice(url, basic("ops", "ops-secret"), R"({"user": "alice", "name": "alice-fw", "principal": "ops"})");
  Subscription bob(url, basic("ops", "ops-secret"), R"({"user": "bob", "name": "bob-fw", "principal": "ops"})");
  ASSERT_NE(alice.waitFor("SUBSCRIBED").find("SUBSCRIBED"), std::string::npos);
  ASSERT_NE(bob.waitFor("SUBSCRIBED").find("SUBSCRIBED"), std::string::npos);

  auto names = [](const Json::Value& frameworks, const char* infoKey) {
    std::set<std::string> out;
    for (const Json::Value& f : frameworks) {
      out.insert(infoKey[0] == '\0' ? f["name"].asString() : f[infoKey]["name"].asString());
    }
    return out;
  };
  Json::Value opsState = parseJson(get(url + "/master/state", basic("ops", "ops-secret")).body);
  EXPECT_EQ(names(opsState["frameworks"], ""), (std::set<std::string>{"alice-fw", "bob-fw"}));
  Json::Value viewerState = parseJson(get(url + "/master/state", basic("alice-viewer", "viewer-secret")).body);
  EXPECT_EQ(names(viewerState["frameworks"], ""), (std::set<std::string>{"alice-fw"}));
  Json::Value viewerFrameworks =
      parseJson(get(url + "/master/frameworks", basic("alice-viewer", "viewer-secret")).body);
  EXPECT_EQ(names(viewerFrameworks["frameworks"], ""), (std::set<std::string>{"alice-fw"}));

  Json::Value opsApi = parseJson(post(url + "/api/v1", basic("ops", "ops-secret"), R"({"type": "GET_STATE"})").body);
  EXPECT_EQ(names(opsApi["get_state"]["get_frameworks"]["frameworks"], "framework_info"),
            (std::set<std::string>{"alice-fw", "bob-fw"}));
  Json::Value viewerApi =
      parseJson(post(url + "/api/v1", basic("alice-viewer", "viewer-secret"), R"({"type": "GET_FRAMEWORKS"})").body);
  EXPECT_EQ(names(viewerApi["get_frameworks"]["frameworks"], "framework_info"), (std::set<std::string>{"alice-fw"}));
}

// Runs the mantle CLI to its end with `environment`; returns its exit code.
int mantleCli(const TempDir& dir, std::vector<std::string> args, std::map<std::string, std::string> environment,
              std::string* output) {
  static int runs = 0;
  args.insert(args.begin(), binary("mantle"));
  ChildProcess cli(args, dir.path() / ("cli-" + std::to_string(++runs) + ".log"), std::move(environment));
  const int status = cli.wait(std::chrono::seconds(60));
  *output = cli.output();
  return status == -1 ? -1 : WEXITSTATUS(status);
}

Json::Value metricsOf(const std::string& url, const http::Headers& headers) {
  return parseJson(get(url + "/metrics/snapshot", headers).body);
}

// --authenticate_agents: an agent with its --credential registers and runs
// tasks (and registers again after the master restarts); one without or with
// a wrong credential is refused, keeps running and retrying, and is counted.
TEST_F(SecurityTest, AgentsAuthenticateWithTheirCredential) {
  const std::string good = files_.write("agent.credential", R"({"principal": "agent", "secret": "agent-secret"})");
  const std::string wrong = files_.write("wrong.credential", "agent not-the-secret\n");
  ClusterOptions options;
  options.masterFlags = {"--authenticate_agents", "--credentials=" + credentials_};
  options.agentFlags = {"--credential=" + good};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  EXPECT_NE(cluster.agent(0).output().find("Authenticating to the master as principal 'agent'"), std::string::npos);

  std::string out;
  EXPECT_EQ(
      mantleCli(files_, {"run", "--master=" + cluster.masterAddress(), "--", "echo", "ran-on-an-authenticated-agent"},
                {}, &out),
      0)
      << out;
  EXPECT_NE(out.find("ran-on-an-authenticated-agent"), std::string::npos) << out;

  struct Refused {
    std::vector<std::string> flags;
    std::string hint;
  };
  std::vector<Refused> cases = {
      {{}, "give this agent --credential"},
      {{"--credential=" + wrong}, "does not accept this agent's --credential"},
  };
  TempDir agentDirs;
  std::vector<std::unique_ptr<ChildProcess>> refused;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::vector<std::string> args = {binary("mantle-agent"),
                                     "--master=" + cluster.masterAddress(),
                                     "--ip=127.0.0.1",
                                     "--port=" + std::to_string(freePort()),
                                     "--work_dir=" + (agentDirs.path() / std::to_string(i)).string(),
                                     "--resources=cpus:1;mem:256;disk:256"};
    args.insert(args.end(), cases[i].flags.begin(), cases[i].flags.end());
    refused.push_back(std::make_unique<ChildProcess>(args, agentDirs.path() / ("agent" + std::to_string(i) + ".log")));
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ChildProcess& agent = *refused[i];
    EXPECT_TRUE(
        waitUntil([&] { return agent.output().find("The master refused this agent") != std::string::npos; }, 20s))
        << agent.output();
    const std::string log = agent.output();
    EXPECT_NE(log.find("master answered 401"), std::string::npos) << log;
    EXPECT_NE(log.find(cases[i].hint), std::string::npos) << log;
    EXPECT_EQ(log.find("not-the-secret"), std::string::npos) << "the secret leaked into the log";
    EXPECT_TRUE(agent.running()) << "a refused agent must keep retrying, not exit:\n" << log;
  }
  // The master knows only the authenticated agent, and counted the refusals.
  Json::Value slaves = parseJson(get(cluster.masterUrl() + "/master/slaves", {}).body);
  EXPECT_EQ(slaves["slaves"].size(), 1u);
  Json::Value metrics = metricsOf(cluster.masterUrl(), {});
  EXPECT_GE(metrics["master/authentication/mantle-master-agent/unauthorized"].asDouble(), 2.0);
  EXPECT_GE(metrics["master/authentication/mantle-master-agent/successes"].asDouble(), 1.0);

  // Re-registration with a restarted master carries the credential too.
  ASSERT_TRUE(cluster.restartMaster(false).ok());
  EXPECT_TRUE(cluster.waitForAgents(1, 30s).ok()) << cluster.logs();
  for (auto& agent : refused) agent->stop();
}

constexpr const char* kAgentAcls = R"({
  "permissive": false,
  "view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}}],
  "view_frameworks": [
    {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
    {"principals": {"values": ["alice-viewer"]}, "users": {"values": ["alice"]}}
  ],
  "view_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
  "view_executors": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
  "view_containers": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}],
  "access_sandboxes": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}]
})";

// The agent's own endpoints with --authenticate_http_readonly/readwrite,
// --http_credentials and --acls: nothing that shows or changes state answers
// anonymously; view ACLs filter what a principal sees; the CLI reads a task's
// output through the agent with MANTLE_CREDENTIAL.
TEST_F(SecurityTest, AgentEndpointsAuthenticateAndFilterPerPrincipal) {
  const std::string ops = files_.write("ops.credential", R"({"principal": "ops", "secret": "ops-secret"})");
  ClusterOptions options;
  options.agentFlags = {"--authenticate_http_readonly", "--authenticate_http_readwrite",
                        "--http_credentials=" + credentials_,
                        "--acls=" + files_.write("agent-acls.json", kAgentAcls).string()};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  const std::string agent = cluster.agentUrl(0);

  // `mantle run` prints the task's output, read through the agent with the
  // credential; the task stays running while the agent is examined.
  ChildProcess run({binary("mantle"), "run", "--follow", "--master=" + cluster.masterAddress(), "--",
                    "echo read-through-the-agent; sleep 60"},
                   files_.path() / "run.log", {{"MANTLE_CREDENTIAL", ops}});
  ASSERT_TRUE(waitUntil([&] { return run.output().find("read-through-the-agent") != std::string::npos; }, 30s))
      << "mantle run printed no task output:\n"
      << run.output() << cluster.logs();
  std::string out;

  // Anonymous and wrong credentials: 401 with the realm's challenge everywhere.
  for (const char* path :
       {"/state", "/slave(1)/state", "/state.json", "/flags", "/monitor/statistics", "/files/browse?path=x",
        "/files/read?path=x", "/files/download?path=x", "/metrics/snapshot", "/metrics", "/containers"}) {
    http::ClientResponse anonymous = get(agent + path, {});
    EXPECT_EQ(anonymous.status, 401) << path;
    EXPECT_EQ(challenges(anonymous), std::vector<std::string>{"Basic realm=\"mesos-agent-readonly\""}) << path;
    EXPECT_EQ(get(agent + path, basic("ops", "wrong-secret")).status, 401) << path;
  }
  http::ClientResponse op = post(agent + "/api/v1", {}, R"({"type": "GET_STATE"})");
  EXPECT_EQ(op.status, 401);
  EXPECT_EQ(challenges(op), std::vector<std::string>{"Basic realm=\"mesos-agent-readwrite\""});
  EXPECT_EQ(post(agent + "/api/v1", basic("mallory", "ops-secret"), R"({"type": "GET_STATE"})").status, 401);
  EXPECT_EQ(get(agent + "/health", {}).status, 200);
  // The executor API keeps its own (token) authentication: not this realm's 401.
  EXPECT_NE(post(agent + "/api/v1/executor", {}, R"({"type": "SUBSCRIBE"})").status, 401);

  // The right credentials: 200; view ACLs filter per principal.
  EXPECT_EQ(get(agent + "/metrics/snapshot", basic("ops", "ops-secret")).status, 200);
  Json::Value opsState = parseJson(get(agent + "/state", basic("ops", "ops-secret")).body);
  ASSERT_EQ(opsState["frameworks"].size(), 1u) << opsState;
  Json::Value viewerState = parseJson(get(agent + "/state", basic("alice-viewer", "viewer-secret")).body);
  EXPECT_EQ(viewerState["frameworks"].size(), 0u) << viewerState;
  EXPECT_TRUE(viewerState["flags"].empty()) << "view_flags is only for ops";
  Json::Value opsApi = parseJson(post(agent + "/api/v1", basic("ops", "ops-secret"), R"({"type": "GET_TASKS"})").body);
  const Json::Value& tasks = opsApi["get_tasks"];
  EXPECT_EQ(tasks["launched_tasks"].size(), 1u) << opsApi;
  Json::Value viewerApi =
      parseJson(post(agent + "/api/v1", basic("alice-viewer", "viewer-secret"), R"({"type": "GET_STATE"})").body);
  EXPECT_TRUE(viewerApi["get_state"]["get_frameworks"]["frameworks"].empty()) << viewerApi;
  EXPECT_TRUE(viewerApi["get_state"]["get_tasks"]["launched_tasks"].empty()) << viewerApi;
  EXPECT_EQ(get(agent + "/flags", basic("alice-viewer", "viewer-secret")).status, 403);
  EXPECT_EQ(get(agent + "/flags", basic("ops", "ops-secret")).status, 200);

  // Sandboxes: access_sandboxes decides.
  std::string directory;
  for (const char* list : {"frameworks", "completed_frameworks"}) {
    for (const Json::Value& f : opsState[list]) {
      for (const char* executors : {"executors", "completed_executors"}) {
        for (const Json::Value& e : f[executors]) directory = e["directory"].asString();
      }
    }
  }
  ASSERT_FALSE(directory.empty()) << opsState;
  const std::string stdoutFile = agent + "/files/read?path=" + directory + "/stdout&offset=0";
  EXPECT_EQ(get(stdoutFile, basic("ops", "ops-secret")).status, 200);
  http::ClientResponse denied = get(stdoutFile, basic("alice-viewer", "viewer-secret"));
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("access_sandboxes"), std::string::npos) << denied.body;

  // `mantle logs` reads through the agent with the credential; without it the
  // agent refuses the CLI, which says so.
  std::string taskId;
  for (const Json::Value& task : tasks["launched_tasks"]) taskId = task["task_id"]["value"].asString();
  ASSERT_FALSE(taskId.empty()) << opsApi;
  EXPECT_EQ(
      mantleCli(files_, {"logs", "--master=" + cluster.masterAddress(), taskId}, {{"MANTLE_CREDENTIAL", ops}}, &out), 0)
      << out;
  EXPECT_NE(out.find("read-through-the-agent"), std::string::npos) << out;
  EXPECT_NE(mantleCli(files_, {"logs", "--master=" + cluster.masterAddress(), taskId}, {}, &out), 0) << out;
  EXPECT_NE(out.find("401"), std::string::npos) << out;

  Json::Value metrics = metricsOf(agent, basic("ops", "ops-secret"));
  EXPECT_GE(metrics["slave/authentication/mesos-agent-readonly/unauthorized"].asDouble(), 22.0);
  EXPECT_GE(metrics["slave/authentication/mesos-agent-readwrite/unauthorized"].asDouble(), 2.0);
  EXPECT_GE(metrics["slave/authorization/denied"].asDouble(), 2.0);
}

// TLS on master and agent, both requiring client certificates: the agent
// verifies the master and presents its certificate; a task runs end to end
// (its executor calls the agent over HTTPS) and the CLI reads its output
// through the agent; a client without a certificate is refused by the agent.
TEST_F(SecurityTest, TaskRunsWithTlsOnMasterAndAgent) {
  Certificates certs(files_);
  ASSERT_TRUE(certs.ok) << "openssl could not make the test certificates";
  ClientTlsScope tls({certs.path("ca.crt"), certs.path("client.crt"), certs.path("client.key")});
  const std::vector<std::string> tlsFlags = {"--ssl_cert=" + certs.path("server.crt"),
                                             "--ssl_key=" + certs.path("server.key"),
                                             "--ssl_ca=" + certs.path("ca.crt"), "--ssl_require_client_cert"};
  ClusterOptions options;
  options.tls = true;
  options.masterFlags = tlsFlags;
  options.agentFlags = tlsFlags;
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  const std::string agent = cluster.agentUrl(0);
  ASSERT_EQ(agent.rfind("https://", 0), 0u);

  std::string out;
  EXPECT_EQ(mantleCli(files_, {"run", "--master=" + cluster.masterUrl(), "--", "echo", "ran-over-tls"},
                      {{"MANTLE_SSL_CA", certs.path("ca.crt")},
                       {"MANTLE_SSL_CERT", certs.path("client.crt")},
                       {"MANTLE_SSL_KEY", certs.path("client.key")}},
                      &out),
            0)
      << out << cluster.logs();
  EXPECT_NE(out.find("ran-over-tls"), std::string::npos) << out;

  EXPECT_EQ(get(agent + "/state", {}).status, 200);
  tls.set({certs.path("ca.crt"), "", ""});
  EXPECT_FALSE(http::request("GET", agent + "/state", {}, "").ok()) << "a client without a certificate was served";
  tls.set({certs.path("ca.crt"), certs.path("rogue.crt"), certs.path("rogue.key")});
  EXPECT_FALSE(http::request("GET", agent + "/state", {}, "").ok()) << "a certificate from another CA was accepted";
  auto plain = http::request("GET", "http://" + agent.substr(8) + "/state", {}, "");
  EXPECT_TRUE(!plain.ok() || plain->status != 200) << "plain HTTP was served";
  tls.set({certs.path("ca.crt"), certs.path("client.crt"), certs.path("client.key")});
  EXPECT_GE(metricsOf(agent, {})["slave/tls/handshake_failures"].asDouble(), 2.0);
}

// --authenticate_http_frameworks: `mantle run` subscribes with the principal
// and secret of MANTLE_CREDENTIAL (the scheduler library's `authorization`);
// without one the master's 401 reaches the user and nothing runs.
TEST_F(SecurityTest, MantleRunSubscribesWithItsCredential) {
  ClusterOptions options;
  options.masterFlags = {"--authenticate_http_frameworks", "--credentials=" + credentials_};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  const std::string ops = files_.write("ops.credential", R"({"principal": "ops", "secret": "ops-secret"})");
  const std::string wrong = files_.write("wrong.credential", R"({"principal": "ops", "secret": "not-it"})");

  std::string out;
  EXPECT_EQ(mantleCli(files_, {"run", "--master=" + cluster.masterAddress(), "--", "echo", "ran-as-ops"},
                      {{"MANTLE_CREDENTIAL", ops}}, &out),
            0)
      << out << cluster.logs();
  EXPECT_NE(out.find("ran-as-ops"), std::string::npos) << out;
  Json::Value frameworks = parseJson(get(cluster.masterUrl() + "/master/frameworks", {}).body);
  ASSERT_EQ(frameworks["completed_frameworks"].size() + frameworks["frameworks"].size(), 1u) << frameworks;
  const Json::Value& framework =
      frameworks["frameworks"].empty() ? frameworks["completed_frameworks"][0] : frameworks["frameworks"][0];
  EXPECT_EQ(framework["principal"].asString(), "ops") << framework;

  for (const auto& [environment, what] : std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
           {{}, "no credential"}, {{{"MANTLE_CREDENTIAL", wrong}}, "a wrong secret"}}) {
    EXPECT_NE(
        mantleCli(files_, {"run", "--master=" + cluster.masterAddress(), "--", "echo", "never-ran"}, environment, &out),
        0)
        << what << ": " << out;
    EXPECT_NE(out.find("401"), std::string::npos) << what << ": " << out;
    EXPECT_EQ(out.find("never-ran"), std::string::npos) << what << ": " << out;
  }
}

// run_tasks on ACCEPT: the framework's principal may launch tasks only as the
// users the ACL names; a refused task gets TASK_ERROR/REASON_TASK_UNAUTHORIZED
// naming principal and user, the other task of the same ACCEPT runs, and the
// refused task's resources are offered again.
TEST_F(SecurityTest, RunTasksAclOnLaunch) {
  ClusterOptions options;
  options.masterFlags = {"--authenticate_http_frameworks", "--credentials=" + credentials_,
                         "--acls=" + files_
                                         .write("run-acls.json", R"({
    "permissive": false,
    "register_frameworks": [{"principals": {"values": ["dev"]}, "roles": {"type": "ANY"}}],
    "run_tasks": [{"principals": {"values": ["dev"]}, "users": {"values": ["dev"]}}],
    "register_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
    "view_frameworks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
    "view_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
    "view_executors": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]
  })")
                                         .string()};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  const std::string url = cluster.masterUrl();
  Subscription framework(url, basic("dev", "dev-secret"), R"({"user": "dev", "name": "f", "principal": "dev"})");
  framework.waitFor("OFFERS");
  auto firstOf = [&](const char* type, std::size_t skip = 0) {
    Json::Value found;
    for (const Json::Value& event : framework.events()) {
      if (event["type"].asString() == type && skip-- == 0) return event;
    }
    return found;
  };
  Json::Value subscribed = firstOf("SUBSCRIBED");
  Json::Value offers = firstOf("OFFERS");
  ASSERT_FALSE(offers.isNull());
  const std::string frameworkId = subscribed["subscribed"]["framework_id"]["value"].asString();
  const Json::Value& offer = offers["offers"]["offers"][0];
  const std::string agentId = offer["agent_id"]["value"].asString();
  auto task = [&](const std::string& id, double cpus, const std::string& user) {
    return R"({"name": ")" + id + R"(", "task_id": {"value": ")" + id + R"("}, "agent_id": {"value": ")" + agentId +
           R"("}, "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": )" + std::to_string(cpus) +
           R"(}}, {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}], "command": {"value": "sleep 30")" +
           (user.empty() ? std::string() : R"(, "user": ")" + user + "\"") + "}}";
  };
  const std::string accept =
      R"({"framework_id": {"value": ")" + frameworkId + R"("}, "type": "ACCEPT", "accept": {"offer_ids": [)" +
      offer["id"].toStyledString() +
      R"(], "filters": {"refuse_seconds": 0}, "operations": [{"type": "LAUNCH", "launch": {"task_infos": [)" +
      task("as-root", 3.5, "root") + ", " + task("as-dev", 0.1, "") + "]}}]}}";
  http::Headers headers = basic("dev", "dev-secret");
  headers.emplace_back("Mesos-Stream-Id", framework.streamId());
  EXPECT_EQ(post(url + "/api/v1/scheduler", headers, accept).status, 202);

  auto update = [&](const std::string& taskId, const std::string& state) {
    Json::Value found;
    waitUntil(
        [&] {
          for (const Json::Value& event : framework.events()) {
            const Json::Value& status = event["update"]["status"];
            if (status["task_id"]["value"].asString() == taskId && status["state"].asString() == state) {
              found = status;
              return true;
            }
          }
          return false;
        },
        20s);
    return found;
  };
  Json::Value refused = update("as-root", "TASK_ERROR");
  EXPECT_EQ(refused["reason"].asString(), "REASON_TASK_UNAUTHORIZED") << refused;
  EXPECT_NE(refused["message"].asString().find("principal 'dev'"), std::string::npos) << refused;
  EXPECT_NE(refused["message"].asString().find("user 'root'"), std::string::npos) << refused;
  // (TASK_STARTING: this scheduler acknowledges nothing, so RUNNING stays queued.)
  EXPECT_FALSE(update("as-dev", "TASK_STARTING").isNull())
      << "the authorized task of the same ACCEPT did not start: " << framework.waitFor("");
  // The refused task's 3.5 cpus went back to the allocator: offered again.
  ASSERT_TRUE(waitUntil([&] { return !firstOf("OFFERS", 1).isNull(); }, 20s));
  double cpus = 0;
  const Json::Value again = firstOf("OFFERS", 1);
  for (const Json::Value& resource : again["offers"]["offers"][0]["resources"]) {
    if (resource["name"].asString() == "cpus") cpus += resource["scalar"]["value"].asDouble();
  }
  EXPECT_GE(cpus, 3.5);
}

// Principals from JWT claims: a jwt instance with principal_claim "email"
// names the principal by that claim (ACLs speak of it); one with
// principal_claim "" makes principals of claims only, which authenticate, are
// refused by the local authorizer (as Mesos' local authorizer refuses them
// outside its executor rules) and may not register frameworks.
TEST_F(SecurityTest, JwtPrincipalsFromAConfiguredClaimOrClaimsOnly) {
  std::vector<ManifestModule> manifest;
  for (const auto& [instance, claim] :
       {std::pair<std::string, std::string>{"jwt-email", "email"}, {"jwt-claims", ""}}) {
    Json::Value config;
    config["secret_file"] = jwtSecret_;
    config["principal_claim"] = claim;
    manifest.push_back({.library = "mantle_jwt_authenticator",
                        .name = "jwt",
                        .kind = "authenticator",
                        .config = config,
                        .instance = instance});
  }
  // The master's allocator: this manifest replaces the default one.
  manifest.push_back({.library = "mantle_allocator_drf", .name = "drf"});
  const std::string modules = files_.write("jwt-modules.json", moduleManifest(manifest)).string();
  const std::string acls = files_
                               .write("claims-acls.json", R"({
    "view_flags": [{"principals": {"values": ["ops@example.com"]}, "flags": {"type": "ANY"}},
                   {"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}]
  })")
                               .string();
  const std::string header = R"({"alg": "HS256", "typ": "JWT"})";
  const std::string exp = std::to_string(now() + 600);

  {
    ClusterOptions options;
    options.agents = 0;
    options.masterFlags = {"--authenticate_http_readonly", "--http_authenticators=jwt-email", "--modules=" + modules,
                           "--acls=" + acls};
    options.clientHeaders = bearer(jwt(header, R"({"email": "ops@example.com", "exp": )" + exp + "}", kJwtSecret));
    LocalCluster cluster(options);
    ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
    const std::string flags = cluster.masterUrl() + "/master/flags";
    EXPECT_EQ(get(flags, options.clientHeaders).status, 200);
    http::ClientResponse dev =
        get(flags, bearer(jwt(header, R"({"sub": "ops@example.com", "email": "dev@example.com", "exp": )" + exp + "}",
                              kJwtSecret)));
    EXPECT_EQ(dev.status, 403);
    EXPECT_NE(dev.body.find("principal 'dev@example.com'"), std::string::npos) << dev.body;
    http::ClientResponse unnamed = get(flags, bearer(jwt(header, R"({"sub": "ops", "exp": )" + exp + "}", kJwtSecret)));
    EXPECT_EQ(unnamed.status, 401);
    EXPECT_NE(unnamed.body.find("the token has no 'email' claim"), std::string::npos) << unnamed.body;
  }
  {
    ClusterOptions options;
    options.agents = 0;
    options.masterFlags = {"--authenticate_http_readonly", "--authenticate_http_frameworks",
                           "--http_authenticators=jwt-claims", "--modules=" + modules, "--acls=" + acls};
    http::Headers claimsOnly = bearer(jwt(header, R"({"group": "ops", "exp": )" + exp + "}", kJwtSecret));
    options.clientHeaders = claimsOnly;
    LocalCluster cluster(options);
    ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
    const std::string url = cluster.masterUrl();
    EXPECT_EQ(get(url + "/master/state", claimsOnly).status, 200);  // authenticated
    EXPECT_EQ(get(url + "/master/state", {}).status, 401);
    http::ClientResponse flags = get(url + "/master/flags", claimsOnly);
    EXPECT_EQ(flags.status, 403);
    EXPECT_NE(flags.body.find("principal made only of claims (group)"), std::string::npos) << flags.body;
    http::ClientResponse empty = get(url + "/master/state", bearer(jwt(header, R"({"exp": )" + exp + "}", kJwtSecret)));
    EXPECT_EQ(empty.status, 401);
    EXPECT_NE(empty.body.find("no string claim"), std::string::npos) << empty.body;
    http::ClientResponse subscribe =
        post(url + "/api/v1/scheduler", claimsOnly,
             R"({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "f"}}})");
    EXPECT_EQ(subscribe.status, 403);
    EXPECT_NE(subscribe.body.find("principal name"), std::string::npos) << subscribe.body;
  }
}

}  // namespace
}  // namespace mantle::testing
