// Mesos' legacy operator endpoints (/master/quota, /master/weights,
// /master/reserve, /master/unreserve, /master/create-volumes,
// /master/destroy-volumes, /master/teardown, /logging/toggle), SET_QUOTA /
// REMOVE_QUOTA and GET/SET_LOGGING_LEVEL on a real mantle-master.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <json/json.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "master_fixture.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;

std::string formEncode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class LegacyCallsTest : public MasterFixture {
 protected:
  Json::Value json(const std::string& text) { return parseJson(text); }
  // An operator call; returns the response (status checked by the caller).
  http::ClientResponse call(const std::string& body) {
    auto r = post("/api/v1", body, {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  }
  http::ClientResponse request(const std::string& method, const std::string& path, const std::string& body = "",
                               http::Headers headers = {}) {
    auto r = http::request(method, url() + path, headers, body);
    EXPECT_TRUE(r.ok()) << method << " " << path;
    return r.ok() ? *r : http::ClientResponse{};
  }
  http::ClientResponse form(const std::string& path, const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string body;
    for (const auto& [name, value] : fields) body += (body.empty() ? "" : "&") + name + "=" + formEncode(value);
    return request("POST", path, body, {{"Content-Type", "application/x-www-form-urlencoded"}});
  }
  int loggingLevel() {
    http::ClientResponse r = call(R"({"type":"GET_LOGGING_LEVEL"})");
    EXPECT_EQ(r.status, 200) << r.body;
    return json(r.body)["get_logging_level"]["level"].asInt();
  }
  Json::Value agentTotal() {
    Json::Value agents = json(call(R"({"type":"GET_AGENTS"})").body)["get_agents"]["agents"];
    return agents.size() == 1 ? agents[0]["total_resources"] : Json::Value();
  }
  static bool hasReservation(const Json::Value& resources, const std::string& name, const std::string& role) {
    for (const auto& r : resources) {
      if (r["name"].asString() == name && r["reservations"].size() > 0 &&
          r["reservations"][r["reservations"].size() - 1]["role"].asString() == role) {
        return true;
      }
    }
    return false;
  }
};

constexpr const char* kCpuGuarantee = R"([{"name":"cpus","type":"SCALAR","scalar":{"value":1}}])";

TEST_F(LegacyCallsTest, QuotaEndpointSetsListsAndRemovesQuotaAsMesosDoes) {
  startMaster();
  auto agent = startAgent("cpus:4;mem:2048");

  http::ClientResponse set =
      request("POST", "/master/quota", std::string(R"({"role":"dev","guarantee":)") + kCpuGuarantee + "}");
  EXPECT_EQ(set.status, 200) << set.body;
  Json::Value status = json(request("GET", "/master/quota").body);
  ASSERT_EQ(status["configs"].size(), 1u) << status;
  EXPECT_EQ(status["configs"][0]["role"].asString(), "dev");
  EXPECT_EQ(status["configs"][0]["guarantees"]["cpus"]["value"].asDouble(), 1.0);
  EXPECT_EQ(status["configs"][0]["limits"]["cpus"]["value"].asDouble(), 1.0);  // SET_QUOTA: limit = guarantee
  ASSERT_EQ(status["infos"].size(), 1u);
  EXPECT_EQ(status["infos"][0]["guarantee"][0]["name"].asString(), "cpus");
  // The v1 view is the same quota.
  Json::Value v1 = json(call(R"({"type":"GET_QUOTA"})").body)["get_quota"]["status"];
  EXPECT_EQ(v1["configs"][0]["role"].asString(), "dev");

  http::ClientResponse again =
      request("POST", "/quota", std::string(R"({"role":"dev","guarantee":)") + kCpuGuarantee + "}");
  EXPECT_EQ(again.status, 400);
  EXPECT_THAT(again.body, HasSubstr("which already has quota"));

  http::ClientResponse overcommit =
      request("POST", "/master/quota",
              R"({"role":"big","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":100}}]})");
  EXPECT_EQ(overcommit.status, 409) << overcommit.body;
  EXPECT_THAT(overcommit.body, HasSubstr("overcommit the cluster"));
  EXPECT_EQ(
      request("POST", "/master/quota",
              R"({"role":"big","force":true,"guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":100}}]})")
          .status,
      200);

  EXPECT_EQ(request("DELETE", "/master/quota/dev").status, 200);
  http::ClientResponse gone = request("DELETE", "/master/quota/dev");
  EXPECT_EQ(gone.status, 400);
  EXPECT_THAT(gone.body, HasSubstr("Role 'dev' has no quota set"));
  status = json(request("GET", "/master/quota").body);
  ASSERT_EQ(status["configs"].size(), 1u);
  EXPECT_EQ(status["configs"][0]["role"].asString(), "big");
}

TEST_F(LegacyCallsTest, MalformedQuotaRequestsAreRefusedWithTheirReason) {
  startMaster();
  auto agent = startAgent("cpus:4;mem:2048");
  http::ClientResponse notJson = request("POST", "/master/quota", "{");
  EXPECT_EQ(notJson.status, 400);
  EXPECT_THAT(notJson.body, HasSubstr("Failed to parse set quota request JSON"));
  http::ClientResponse ranges = request(
      "POST", "/master/quota",
      R"({"role":"dev","guarantee":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":2}]}}]})");
  EXPECT_EQ(ranges.status, 400);
  EXPECT_THAT(ranges.body, HasSubstr("guarantee 'ports' is not a scalar"));
  http::ClientResponse star =
      request("POST", "/master/quota", std::string(R"({"role":"*","guarantee":)") + kCpuGuarantee + "}");
  EXPECT_EQ(star.status, 400);
  EXPECT_THAT(star.body, HasSubstr("role '*'"));
  http::ClientResponse negative = request(
      "POST", "/master/quota", R"({"role":"dev","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]})");
  EXPECT_EQ(negative.status, 400);
  EXPECT_THAT(negative.body, HasSubstr("non-negative"));
  http::ClientResponse put = request("PUT", "/master/quota", "{}");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(json(request("GET", "/master/quota").body)["configs"].size(), 0u);
}

TEST_F(LegacyCallsTest, SetQuotaAndRemoveQuotaOperatorCalls) {
  startMaster();
  auto agent = startAgent("cpus:4;mem:2048");
  http::ClientResponse set =
      call(std::string(R"({"type":"SET_QUOTA","set_quota":{"quota_request":{"role":"web","guarantee":)") +
           kCpuGuarantee + "}}}");
  EXPECT_EQ(set.status, 200) << set.body;
  Json::Value roles = json(call(R"({"type":"GET_ROLES"})").body)["get_roles"]["roles"];
  bool sawWeb = false;
  for (const auto& r : roles) sawWeb |= r["name"].asString() == "web";
  EXPECT_TRUE(sawWeb);
  http::ClientResponse nested =
      call(std::string(R"({"type":"SET_QUOTA","set_quota":{"quota_request":{"role":"web/a","guarantee":)") +
           kCpuGuarantee + "}}}");
  EXPECT_EQ(nested.status, 400);
  EXPECT_THAT(nested.body, HasSubstr("nested role 'web/a'"));
  http::ClientResponse missing = call(R"({"type":"SET_QUOTA"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_THAT(missing.body, HasSubstr("'set_quota'"));
  EXPECT_EQ(call(R"({"type":"REMOVE_QUOTA","remove_quota":{"role":"web"}})").status, 200);
  EXPECT_EQ(json(call(R"({"type":"GET_QUOTA"})").body)["get_quota"]["status"]["configs"].size(), 0u);
  http::ClientResponse none = call(R"({"type":"REMOVE_QUOTA","remove_quota":{"role":"web"}})");
  EXPECT_EQ(none.status, 400);
  EXPECT_THAT(none.body, HasSubstr("has no quota set"));
}

TEST_F(LegacyCallsTest, WeightsEndpointUpdatesAndListsWeights) {
  startMaster();
  http::ClientResponse put =
      request("PUT", "/master/weights", R"([{"role":"ads","weight":2.5},{"role":"web","weight":1.5}])");
  EXPECT_EQ(put.status, 200) << put.body;
  Json::Value weights = json(request("GET", "/master/weights").body);
  ASSERT_TRUE(weights.isArray());
  ASSERT_EQ(weights.size(), 2u);
  EXPECT_EQ(weights[0]["role"].asString(), "ads");
  EXPECT_EQ(weights[0]["weight"].asDouble(), 2.5);
  EXPECT_EQ(json(call(R"({"type":"GET_WEIGHTS"})").body)["get_weights"]["weight_infos"].size(), 2u);

  http::ClientResponse negative = request("PUT", "/master/weights", R"([{"role":"ads","weight":-1}])");
  EXPECT_EQ(negative.status, 400);
  EXPECT_THAT(negative.body, HasSubstr("must be a positive number"));
  http::ClientResponse object = request("PUT", "/master/weights", R"({"role":"ads","weight":3})");
  EXPECT_EQ(object.status, 400);
  EXPECT_THAT(object.body, HasSubstr("expecting an array of WeightInfo"));
  EXPECT_EQ(request("POST", "/master/weights", "[]").status, 405);
  EXPECT_EQ(json(request("GET", "/master/weights").body)[0]["weight"].asDouble(), 2.5);
}

TEST_F(LegacyCallsTest, ReserveAndVolumeEndpointsTakeMesosFormParameters) {
  startMaster();
  auto agent = startAgent("cpus:4;mem:1024;disk:1024");
  const std::string reserved =
      R"([{"name":"disk","type":"SCALAR","scalar":{"value":100},
           "reservations":[{"type":"DYNAMIC","role":"dev","principal":"ops"}]}])";
  http::ClientResponse reserve = form("/master/reserve", {{"slaveId", agent->id()}, {"resources", reserved}});
  EXPECT_EQ(reserve.status, 202) << reserve.body;
  EXPECT_TRUE(hasReservation(agentTotal(), "disk", "dev")) << agentTotal();
  EXPECT_TRUE(agent->waitFor(internal::Event::APPLY_OPERATION, 30s));

  const std::string volume =
      R"([{"name":"disk","type":"SCALAR","scalar":{"value":100},
           "reservations":[{"type":"DYNAMIC","role":"dev","principal":"ops"}],
           "disk":{"persistence":{"id":"v1","principal":"ops"},"volume":{"container_path":"data","mode":"RW"}}}])";
  http::ClientResponse create = form("/create-volumes", {{"slaveId", agent->id()}, {"volumes", volume}});
  EXPECT_EQ(create.status, 202) << create.body;
  bool sawVolume = false;
  for (const auto& r : agentTotal()) sawVolume |= r["disk"]["persistence"]["id"].asString() == "v1";
  EXPECT_TRUE(sawVolume) << agentTotal();
  EXPECT_EQ(form("/master/destroy-volumes", {{"slaveId", agent->id()}, {"volumes", volume}}).status, 202);
  EXPECT_EQ(form("/master/unreserve", {{"slaveId", agent->id()}, {"resources", reserved}}).status, 202);
  EXPECT_FALSE(hasReservation(agentTotal(), "disk", "dev")) << agentTotal();

  http::ClientResponse noAgent = form("/master/reserve", {{"resources", reserved}});
  EXPECT_EQ(noAgent.status, 400);
  EXPECT_EQ(noAgent.body, "Missing 'slaveId' query parameter in the request body");
  http::ClientResponse noResources = form("/master/unreserve", {{"slaveId", agent->id()}});
  EXPECT_EQ(noResources.status, 400);
  EXPECT_EQ(noResources.body, "Missing 'resources' query parameter in the request body");
  http::ClientResponse badJson = form("/master/reserve", {{"slaveId", agent->id()}, {"resources", "[{"}});
  EXPECT_EQ(badJson.status, 400);
  EXPECT_THAT(badJson.body, HasSubstr("Error in parsing 'resources' query parameter"));
  http::ClientResponse noVolumes = form("/master/create-volumes", {{"slaveId", agent->id()}, {"resources", volume}});
  EXPECT_EQ(noVolumes.status, 400);
  EXPECT_EQ(noVolumes.body, "Missing 'volumes' query parameter in the request body");
  const std::string tooMuch =
      R"([{"name":"cpus","type":"SCALAR","scalar":{"value":64},"reservations":[{"type":"DYNAMIC","role":"dev"}]}])";
  EXPECT_EQ(form("/master/reserve", {{"slaveId", agent->id()}, {"resources", tooMuch}}).status, 409);
  EXPECT_EQ(form("/master/reserve", {{"slaveId", "no-such-agent"}, {"resources", reserved}}).status, 400);
  http::ClientResponse get = request("GET", "/master/reserve");
  EXPECT_EQ(get.status, 405);
}

TEST_F(LegacyCallsTest, TeardownEndpointRemovesTheFramework) {
  startMaster();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  http::ClientResponse missing = form("/master/teardown", {});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, "Missing 'frameworkId' query parameter in the request body");
  http::ClientResponse teardown = form("/master/teardown", {{"frameworkId", recorder.frameworkId}});
  EXPECT_EQ(teardown.status, 200) << teardown.body;
  Json::Value frameworks = json(call(R"({"type":"GET_FRAMEWORKS"})").body)["get_frameworks"];
  EXPECT_EQ(frameworks["frameworks"].size(), 0u);
  EXPECT_EQ(frameworks["completed_frameworks"].size(), 1u);
  EXPECT_EQ(form("/master/teardown", {{"frameworkId", "unknown"}}).status, 400);
}

TEST_F(LegacyCallsTest, LoggingLevelIsRaisedForItsDurationThenReverts) {
  startMaster();
  EXPECT_EQ(loggingLevel(), 0);
  http::ClientResponse set =
      call(R"({"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":2,"duration":{"nanoseconds":800000000}}})");
  EXPECT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(loggingLevel(), 2);
  EXPECT_TRUE(waitUntil([&] { return loggingLevel() == 0; }, 30s));

  http::ClientResponse toggle = request("GET", "/logging/toggle?level=1&duration=600ms");
  EXPECT_EQ(toggle.status, 200) << toggle.body;
  EXPECT_EQ(loggingLevel(), 1);
  EXPECT_EQ(request("GET", "/logging/toggle").body, "1\n");
  EXPECT_TRUE(waitUntil([&] { return loggingLevel() == 0; }, 30s));

  EXPECT_EQ(request("GET", "/logging/toggle?level=1").body, "Expecting 'duration=value' in query.\n");
  EXPECT_EQ(request("POST", "/logging/toggle?level=1&duration=later").status, 400);
  http::ClientResponse negative =
      call(R"({"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":-1}}})");
  EXPECT_EQ(negative.status, 400);
  EXPECT_THAT(negative.body, HasSubstr("must not be negative"));
  http::ClientResponse missing = call(R"({"type":"SET_LOGGING_LEVEL"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_THAT(missing.body, HasSubstr("'set_logging_level'"));
  EXPECT_EQ(loggingLevel(), 0);
}

constexpr const char* kAcls = R"({
  "permissive": false,
  "register_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
  "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
  "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
  "update_weights": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
  "update_quotas": [{"principals": {"type": "ANY"}, "roles": {"values": ["allowed"]}}]
})";

TEST_F(LegacyCallsTest, LegacyEndpointsAndTheirCallsNeedTheV1Acls) {
  TempDir files;
  std::filesystem::path acls = files.path() / "acls.json";
  std::ofstream(acls) << kAcls;
  startMaster({"--acls=" + acls.string()});
  auto agent = startAgent("cpus:4;mem:1024");
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  const std::string reserved = R"([{"name":"cpus","type":"SCALAR","scalar":{"value":1},
                                    "reservations":[{"type":"DYNAMIC","role":"dev"}]}])";
  std::vector<http::ClientResponse> refused = {
      request("POST", "/master/quota", std::string(R"({"role":"dev","guarantee":)") + kCpuGuarantee + "}"),
      request("DELETE", "/master/quota/dev"),
      call(std::string(R"({"type":"SET_QUOTA","set_quota":{"quota_request":{"role":"dev","guarantee":)") +
           kCpuGuarantee + "}}}"),
      call(R"({"type":"REMOVE_QUOTA","remove_quota":{"role":"dev"}})"),
      form("/master/reserve", {{"slaveId", agent->id()}, {"resources", reserved}}),
      form("/master/unreserve", {{"slaveId", agent->id()}, {"resources", reserved}}),
      form("/master/create-volumes", {{"slaveId", agent->id()}, {"volumes", reserved}}),
      form("/master/destroy-volumes", {{"slaveId", agent->id()}, {"volumes", reserved}}),
      form("/master/teardown", {{"frameworkId", recorder.frameworkId}}),
      request("GET", "/logging/toggle?level=1&duration=1secs"),
      request("GET", "/master/modules"),
      call(R"({"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":1000}}})"),
  };
  for (std::size_t i = 0; i < refused.size(); ++i) {
    EXPECT_EQ(refused[i].status, 403) << i << ": " << refused[i].body;
    EXPECT_THAT(refused[i].body, HasSubstr("Not authorized")) << i;
  }
  EXPECT_EQ(loggingLevel(), 0);
  EXPECT_EQ(json(request("GET", "/master/quota").body)["configs"].size(), 0u);
  // What the ACLs allow goes through.
  EXPECT_EQ(request("PUT", "/master/weights", R"([{"role":"dev","weight":2}])").status, 200);
  EXPECT_EQ(
      request("POST", "/master/quota", std::string(R"({"role":"allowed","guarantee":)") + kCpuGuarantee + "}").status,
      200);
}

}  // namespace
}  // namespace mantle::testing
