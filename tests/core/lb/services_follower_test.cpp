#include "lb/services_follower.hpp"

#include <gtest/gtest.h>

#include "http_json.hpp"

namespace mantle::lb {
namespace {

using testing::parseJson;

std::optional<std::string> resolveAgent1(const std::string& host) {
  return host == "agent1" ? std::optional<std::string>("10.0.0.1") : std::nullopt;
}

std::vector<std::string> serverNames(const Service& service) {
  std::vector<std::string> names;
  for (const Server& server : service.servers)
    names.push_back(server.name + "@" + server.ip + ":" + std::to_string(server.port));
  return names;
}

TEST(AppServices, ServersAreTheRunningTasksThatPassEveryHealthCheckAtTheirHostAndFirstPort) {
  const Json::Value apps = parseJson(R"([
    {"id": "/shop/web", "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "Web.Example"},
     "portDefinitions": [{"port": 10001}, {"port": 10002}], "healthChecks": [{"protocol": "HTTP"}],
     "tasks": [
       {"id": "web.2", "host": "agent1", "state": "TASK_RUNNING", "ports": [31002, 31003],
        "healthCheckResults": [{"alive": true}]},
       {"id": "web.1", "host": "agent1", "state": "TASK_RUNNING", "ports": [31001],
        "healthCheckResults": [{"alive": true}]},
       {"id": "web.sick", "host": "agent1", "state": "TASK_RUNNING", "ports": [31004],
        "healthCheckResults": [{"alive": false}]},
       {"id": "web.new", "host": "agent1", "state": "TASK_RUNNING", "ports": [31005], "healthCheckResults": []},
       {"id": "web.staged", "host": "agent1", "state": "TASK_STAGING", "ports": [31006]},
       {"id": "web.nohost", "host": "elsewhere", "state": "TASK_RUNNING", "ports": [31007],
        "healthCheckResults": [{"alive": true}]}]},
    {"id": "/plain", "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_PORT": "9000"},
     "portDefinitions": [{"port": 10003}],
     "tasks": [{"id": "plain.1", "host": "agent1", "state": "TASK_RUNNING", "ports": [31010]}]},
    {"id": "/internal", "labels": {"HAPROXY_GROUP": "internal"}, "portDefinitions": [{"port": 10004}],
     "tasks": [{"id": "internal.1", "host": "agent1", "state": "TASK_RUNNING", "ports": [31020]}]},
    {"id": "/noport", "labels": {"HAPROXY_GROUP": "external"},
     "tasks": [{"id": "noport.1", "host": "agent1", "state": "TASK_RUNNING", "ports": [31030]}]},
    {"id": "/broken", "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_PORT": "70000"},
     "portDefinitions": [{"port": 10005}], "tasks": []}
  ])");
  std::vector<std::string> problems;
  const auto found = appServices(apps, "external", resolveAgent1, &problems);

  ASSERT_EQ(found.size(), 2u);
  const Service& web = found.at(10001);
  EXPECT_EQ(web.name, "shop_web_10001");
  EXPECT_EQ(web.mode, "http");
  EXPECT_EQ(web.vhosts, std::vector<std::string>{"web.example"});
  EXPECT_EQ(serverNames(web), (std::vector<std::string>{"web.1@10.0.0.1:31001", "web.2@10.0.0.1:31002"}));
  // HAPROXY_0_PORT wins over the app's service port; no health checks: running is enough.
  const Service& plain = found.at(9000);
  EXPECT_EQ(plain.mode, "tcp");
  EXPECT_EQ(serverNames(plain), std::vector<std::string>{"plain.1@10.0.0.1:31010"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "app /broken: HAPROXY_0_PORT '70000' is not a port (1-65535)");
}

TEST(AppServices, AnAppRendersAsAFrontendOnItsServicePortWithItsTasksAsServers) {
  const Json::Value apps = parseJson(R"([{"id": "/web", "labels": {"HAPROXY_GROUP": "external"},
    "portDefinitions": [{"port": 10001}],
    "tasks": [{"id": "web.1", "host": "agent1", "state": "TASK_RUNNING", "ports": [31001]}]}])");
  std::vector<std::string> problems;
  const std::string config = render(appServices(apps, "external", resolveAgent1, &problems), ConfigOptions{});
  EXPECT_NE(config.find("frontend web_10001\n  bind 0.0.0.0:10001\n"), std::string::npos) << config;
  EXPECT_NE(config.find("  server web.1 10.0.0.1:31001\n"), std::string::npos) << config;
}

TEST(AppServices, OnContainerNetworksTheFirstPortMappingGivesTheServicePortAndUnmappedPortsAreAtTheTasksAddress) {
  const Json::Value apps = parseJson(R"([
    {"id": "/bridged", "labels": {"HAPROXY_GROUP": "external"}, "portDefinitions": [],
     "container": {"type": "MESOS", "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 10010}]},
     "tasks": [{"id": "bridged.1", "host": "agent1", "state": "TASK_RUNNING", "ports": [31040],
                "ipAddresses": [{"ipAddress": "172.16.0.5", "protocol": "IPv4"}]}]},
    {"id": "/overlay", "labels": {"HAPROXY_GROUP": "external"}, "portDefinitions": [],
     "container": {"type": "MESOS", "portMappings": [{"containerPort": 8080, "servicePort": 10011},
                                                     {"containerPort": 9000, "hostPort": 0, "servicePort": 10012}]},
     "tasks": [{"id": "overlay.1", "host": "agent1", "state": "TASK_RUNNING", "ports": [31041],
                "ipAddresses": [{"ipAddress": "172.16.0.6", "protocol": "IPv4"}]},
               {"id": "overlay.noip", "host": "agent1", "state": "TASK_RUNNING", "ports": [31042],
                "ipAddresses": []}]}
  ])");
  std::vector<std::string> problems;
  const auto found = appServices(apps, "external", resolveAgent1, &problems);
  ASSERT_EQ(found.size(), 2u);
  // A mapped port: the host and its host port, as on the host network.
  EXPECT_EQ(serverNames(found.at(10010)), std::vector<std::string>{"bridged.1@10.0.0.1:31040"});
  // No host port: the task's address on its network and the container port.
  EXPECT_EQ(serverNames(found.at(10011)), std::vector<std::string>{"overlay.1@172.16.0.6:8080"});
  EXPECT_TRUE(problems.empty());
}

TEST(ChangesBackends, TaskHealthDeploymentAndAppEventsDoAndOthersDoNot) {
  for (const char* type : {"status_update_event", "health_status_changed_event", "deployment_success",
                           "deployment_info", "api_post_event", "api_put_event", "app_terminated_event"}) {
    EXPECT_TRUE(changesBackends(type)) << type;
  }
  for (const char* type : {"event_stream_attached", "failed_health_check_event", "framework_message_event"}) {
    EXPECT_FALSE(changesBackends(type)) << type;
  }
}

}  // namespace
}  // namespace mantle::lb
