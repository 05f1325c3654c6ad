#include "services/app.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include <json/reader.h>

namespace mantle::services {
namespace {

Json::Value parse(const std::string& text) {
  Json::Value root;
  std::istringstream in(text);
  EXPECT_TRUE(Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) << text;
  return root;
}

std::vector<Violation> violationsOf(const std::string& text) {
  std::vector<Violation> violations;
  readApp(parse(text), &violations);
  return violations;
}

TEST(AppTest, ReadsMarathonFieldsWithTheirDefaults) {
  std::vector<Violation> violations;
  App app = readApp(parse(R"({"id":"shop/web","cmd":"serve","env":{"A":"1"},"labels":{"HAPROXY_GROUP":"external"},
      "portDefinitions":[{"port":0,"name":"http"},{"port":9000}],"instances":2,
      "healthChecks":[{"protocol":"MESOS_TCP","portIndex":1}],"killSelection":"OLDEST_FIRST"})"),
                    &violations);
  ASSERT_TRUE(violations.empty()) << violations[0].path << ": " << violations[0].message;
  EXPECT_EQ(app.id, "/shop/web");
  EXPECT_EQ(app.cpus, 1);
  EXPECT_EQ(app.mem, 128);
  EXPECT_EQ(app.instances, 2);
  EXPECT_EQ(app.env.at("A"), "1");
  ASSERT_EQ(app.portDefinitions.size(), 2u);
  EXPECT_EQ(app.portDefinitions[0].name, "http");
  EXPECT_EQ(app.portDefinitions[1].port, 9000);
  EXPECT_EQ(app.healthChecks[0].intervalSeconds, 60);
  EXPECT_EQ(app.healthChecks[0].maxConsecutiveFailures, 3);
  EXPECT_EQ(app.upgradeStrategy.minimumHealthCapacity, 1);
  EXPECT_EQ(app.backoffFactor, 1.15);
  EXPECT_EQ(app.killSelection, "OLDEST_FIRST");
  // Without portDefinitions an app has one port, as in Marathon.
  EXPECT_EQ(readApp(parse(R"({"id":"a","cmd":"x"})"), &violations).portDefinitions.size(), 1u);
}

TEST(AppTest, WhatAGetAnswersCanBeSentBack) {
  std::vector<Violation> violations;
  App app = readApp(parse(R"({"id":"/a","cmd":"x","constraints":[["hostname","UNIQUE"]]})"), &violations);
  Json::Value json = appJson(app);
  json["tasksRunning"] = 3;
  json["deployments"] = Json::Value(Json::arrayValue);
  App again = readApp(json, &violations);
  EXPECT_TRUE(violations.empty());
  EXPECT_FALSE(configChanged(app, again));
  again.instances = 5;
  EXPECT_FALSE(configChanged(app, again)) << "instances alone is a scaling";
  again.cmd = "y";
  EXPECT_TRUE(configChanged(app, again));
}

TEST(AppTest, ViolationsNameTheFieldPathAsMarathonDoes) {
  auto violations = violationsOf(R"({"id":"/Web","cmd":"x","cpus":0,"instances":-1,"upgradeStrategy":
      {"minimumHealthCapacity":2},"portDefinitions":[{"port":80},{"port":80,"protocol":"sctp"}],
      "constraints":[["hostname","NEAR"],["rack","LIKE","("]],"killSelection":"RANDOM","surprise":true})");
  std::vector<std::string> paths;
  for (const Violation& violation : violations) paths.push_back(violation.path);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/surprise", "/id", "/cpus", "/instances", "/constraints(0)", "/constraints(1)",
                                      "/portDefinitions(1)/protocol", "/portDefinitions(1)/port",
                                      "/upgradeStrategy/minimumHealthCapacity", "/killSelection"}));
  Json::Value body = violationsJson(violations);
  EXPECT_EQ(body["message"].asString(), "Object is not valid");
  EXPECT_EQ(body["details"][0]["path"].asString(), "/surprise");
}

TEST(AppTest, UnsupportedFieldsAreRefusedUnlessEmpty) {
  EXPECT_TRUE(violationsOf(R"({"id":"a","cmd":"x","container":null,"uris":[],"acceptedResourceRoles":["*"]})").empty());
  auto container = violationsOf(R"({"id":"a","cmd":"x","container":{"type":"DOCKER"}})");
  ASSERT_EQ(container.size(), 1u);
  EXPECT_EQ(container[0].path, "/container");
  auto residency = violationsOf(R"({"id":"a","cmd":"x","residency":{"taskLostBehavior":"WAIT_FOREVER"}})");
  ASSERT_EQ(residency.size(), 1u);
  EXPECT_EQ(residency[0].path, "/residency");
  auto fetch = violationsOf(R"({"id":"a","cmd":"x","fetch":[{"uri":"http://x/y"}]})");
  ASSERT_EQ(fetch.size(), 1u);
  EXPECT_EQ(fetch[0].path, "/fetch");
}

TEST(AppTest, CmdOrArgsButNotBothAndHealthChecksNeedAPort) {
  EXPECT_EQ(violationsOf(R"({"id":"a"})").size(), 1u);
  EXPECT_EQ(violationsOf(R"({"id":"a","cmd":"x","args":["y"]})").size(), 1u);
  auto check = violationsOf(R"({"id":"a","cmd":"x","portDefinitions":[],"healthChecks":[{"protocol":"HTTP"}]})");
  ASSERT_EQ(check.size(), 1u);
  EXPECT_EQ(check[0].path, "/healthChecks(0)/portIndex");
  auto command = violationsOf(R"({"id":"a","cmd":"x","healthChecks":[{"protocol":"COMMAND"}]})");
  ASSERT_EQ(command.size(), 1u);
  EXPECT_EQ(command[0].path, "/healthChecks(0)/command");
}

TEST(AppTest, IdsAreNormalizedPaths) {
  EXPECT_EQ(normalizeAppId("web"), "/web");
  EXPECT_EQ(normalizeAppId("/shop/web/"), "/shop/web");
  EXPECT_EQ(normalizeAppId("/a.b-c/d"), "/a.b-c/d");
  EXPECT_EQ(normalizeAppId("/Web"), "");
  EXPECT_EQ(normalizeAppId("/a//b"), "");
  EXPECT_EQ(normalizeAppId("/-a"), "");
}

}  // namespace
}  // namespace mantle::services
