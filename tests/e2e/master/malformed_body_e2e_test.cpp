// Hostile request bodies on the master's v1 APIs, sent to a real
// mantle-master process: each is a 400 that names the problem, and the master
// keeps serving.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cluster.hpp"
#include "http/client.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;

class MalformedBodyE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions options;
    options.agents = 0;
    cluster_ = new LocalCluster(options);
    Status started = cluster_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void TearDown() override {
    // The master answered and is still healthy.
    auto health = http::request("GET", cluster_->masterUrl() + "/health", {}, "");
    ASSERT_TRUE(health.ok());
    EXPECT_EQ(health->status, 200) << cluster_->logs();
  }

  static http::ClientResponse post(const std::string& path, const std::string& contentType, const std::string& body) {
    auto response = http::request("POST", cluster_->masterUrl() + path, {{"Content-Type", contentType}}, body);
    EXPECT_TRUE(response.ok()) << (response.ok() ? "" : response.error().message) << cluster_->logs();
    return response.ok() ? *response : http::ClientResponse{};
  }

  static LocalCluster* cluster_;
};

LocalCluster* MalformedBodyE2eTest::cluster_ = nullptr;

TEST_F(MalformedBodyE2eTest, AHundredThousandNestedArraysOnTheSchedulerApiAreA400NamingTheDepth) {
  http::ClientResponse r = post("/api/v1/scheduler", "application/json", std::string(100000, '['));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("Failed to parse the body into a scheduler Call: invalid JSON: nesting deeper than "
                                "100 levels at byte 100"));
}

TEST_F(MalformedBodyE2eTest, FiftyThousandNestedObjectsOnTheOperatorApiAreA400NamingTheDepth) {
  std::string body;
  for (int i = 0; i < 50000; ++i) body += R"({"get_state":)";
  http::ClientResponse r = post("/api/v1", "application/json", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("Failed to parse the body into a master Call: invalid JSON: nesting deeper than "
                                "100 levels at byte 1300"));
}

TEST_F(MalformedBodyE2eTest, JsonThatIsNotUtf8IsA400NamingTheByte) {
  http::ClientResponse r = post("/api/v1", "application/json", "{\"type\":\"GET_HEALTH\",\"x\":\"\xc0\xaf\"}");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("invalid JSON: invalid UTF-8 at byte 26"));
}

TEST_F(MalformedBodyE2eTest, ProtobufNestedPastTheRecursionLimitIsA400) {
  // 100,000 nested groups of an unknown field 100: the protobuf parser stops
  // at its recursion limit.
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "\xa3\x06";
  http::ClientResponse r = post("/api/v1/scheduler", "application/x-protobuf", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("failed to parse body into mesos.v1.scheduler.Call protobuf"));
}

TEST_F(MalformedBodyE2eTest, DeeplyNestedJsonOnALegacyEndpointIsA400) {
  http::ClientResponse r = post("/master/maintenance/schedule", "application/json", std::string(100000, '{'));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("nesting deeper than 100 levels"));
}

}  // namespace
}  // namespace mantle::testing
