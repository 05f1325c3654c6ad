#include "services/app.hpp"

#include <gtest/gtest.h>

#include "http_json.hpp"

namespace mantle::services {
namespace {

using testing::parseJson;

std::vector<Violation> violationsOf(const std::string& text) {
  std::vector<Violation> violations;
  readApp(parseJson(text), &violations);
  return violations;
}

TEST(AppTest, ReadsMarathonFieldsWithTheirDefaults) {
  std::vector<Violation> violations;
  App app = readApp(parseJson(R"({"id":"shop/web","cmd":"serve","env":{"A":"1"},"labels":{"HAPROXY_GROUP":"external"},
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
  EXPECT_EQ(readApp(parseJson(R"({"id":"a","cmd":"x"})"), &violations).portDefinitions.size(), 1u);
}

TEST(AppTest, WhatAGetAnswersCanBeSentBack) {
  std::vector<Violation> violations;
  App app = readApp(parseJson(R"({"id":"/a","cmd":"x","constraints":[["hostname","UNIQUE"]]})"), &violations);
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
  EXPECT_EQ(container[0].path, "/container/docker");
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
  auto relative =
      violationsOf(R"({"id":"a","cmd":"x","healthChecks":[{"protocol":"MESOS_HTTP","portIndex":0,"path":"ready"}]})");
  ASSERT_EQ(relative.size(), 1u);
  EXPECT_EQ(relative[0].path, "/healthChecks(0)/path");
  auto command = violationsOf(R"({"id":"a","cmd":"x","healthChecks":[{"protocol":"COMMAND"}]})");
  ASSERT_EQ(command.size(), 1u);
  EXPECT_EQ(command[0].path, "/healthChecks(0)/command");
}

TEST(AppTest, AContainerAndItsNetworksAreReadAndWhatAGetAnswersReadsBackTheSame) {
  std::vector<Violation> violations;
  App app = readApp(parseJson(R"({"id":"/web","args":["serve"],"networks":[{"mode":"container/bridge"}],
      "container":{"type":"MESOS","docker":{"image":"127.0.0.1:5000/web:1","forcePullImage":true},
        "linuxInfo":{"seccomp":{"profileName":"strict.json"},"ipcInfo":{"mode":"PRIVATE","shmSize":64}},
        "volumes":[{"containerPath":"/data","hostPath":"/srv/data","mode":"RO"},
                   {"containerPath":"/scratch","hostPath":"scratch","mode":"RW"}],
        "portMappings":[{"containerPort":80,"name":"http","labels":{"VIP_0":"/web:80"}},
                        {"containerPort":0,"hostPort":31005,"servicePort":12000,"protocol":"udp"}]}})"),
                    &violations);
  ASSERT_TRUE(violations.empty()) << violations[0].path << ": " << violations[0].message;
  ASSERT_TRUE(app.container.has_value());
  EXPECT_EQ(app.container->type, "MESOS");
  EXPECT_EQ(app.container->image, "127.0.0.1:5000/web:1");
  EXPECT_TRUE(app.container->forcePullImage);
  ASSERT_EQ(app.container->volumes.size(), 2u);
  EXPECT_EQ(app.container->volumes[0].mode, "RO");
  EXPECT_EQ(app.container->volumes[1].hostPath, "scratch");
  ASSERT_EQ(app.container->portMappings.size(), 2u);
  EXPECT_EQ(app.container->portMappings[0].hostPort, 0) << "on the bridge an unspecified hostPort is 0";
  EXPECT_EQ(app.container->portMappings[1].hostPort, 31005);
  EXPECT_TRUE(onContainerNetworks(app));
  EXPECT_TRUE(app.portDefinitions.empty()) << "container networks have port mappings instead";
  EXPECT_EQ(servicePortsOf(app), (std::vector<std::int64_t>{0, 12000}));

  Json::Value json = appJson(app);
  EXPECT_EQ(json["container"]["docker"]["image"].asString(), "127.0.0.1:5000/web:1");
  EXPECT_EQ(json["container"]["portMappings"][0]["labels"]["VIP_0"].asString(), "/web:80");
  EXPECT_EQ(json["networks"][0]["mode"].asString(), "container/bridge");
  EXPECT_EQ(json["container"]["linuxInfo"]["ipcInfo"]["shmSize"].asInt(), 64);
  App again = readApp(json, &violations);
  ASSERT_TRUE(violations.empty()) << violations[0].path << ": " << violations[0].message;
  EXPECT_FALSE(configChanged(app, again));
  EXPECT_EQ(appJson(again), json);
  again.container->image = "127.0.0.1:5000/web:2";
  EXPECT_TRUE(configChanged(app, again)) << "a new image is a new config";

  // Defaults: Marathon's one port mapping; container mode maps no host port.
  App named =
      readApp(parseJson(R"({"id":"/n","cmd":"x","networks":[{"name":"shop","labels":{"a":"b"}}]})"), &violations);
  ASSERT_TRUE(violations.empty()) << violations[0].path << ": " << violations[0].message;
  ASSERT_TRUE(named.container.has_value());
  EXPECT_EQ(named.container->type, "MESOS");
  ASSERT_EQ(named.container->portMappings.size(), 1u);
  EXPECT_EQ(named.container->portMappings[0].name, "default");
  EXPECT_FALSE(named.container->portMappings[0].hostPort.has_value());
  // No cmd: the image's own command.
  EXPECT_TRUE(violationsOf(R"({"id":"i","container":{"type":"DOCKER","docker":{"image":"busybox"}}})").empty());
  // The host network, explicitly, keeps the port definitions.
  App host = readApp(parseJson(R"({"id":"/h","cmd":"x","networks":[{"mode":"host"}]})"), &violations);
  EXPECT_FALSE(onContainerNetworks(host));
  EXPECT_EQ(host.portDefinitions.size(), 1u);
}

TEST(AppTest, ContainerFieldsMantleCannotHonourAreRefusedNamingTheField) {
  auto pathsOf = [](const std::string& text) {
    std::vector<std::string> paths;
    for (const Violation& violation : violationsOf(text)) paths.push_back(violation.path);
    return paths;
  };
  using Paths = std::vector<std::string>;
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","container":{"type":"MESOS","docker":{"image":"b"},"volumes":[
      {"containerPath":"data","mode":"RW","persistent":{"size":10}},
      {"containerPath":"/e","mode":"RW","external":{"name":"v","provider":"dvdi"}},
      {"containerPath":"/s","secret":"db"},
      {"containerPath":"/h","mode":"RW"},
      {"containerPath":"rel","hostPath":"rel","mode":"RW"},
      {"containerPath":"/x","hostPath":"/srv/../etc","mode":"RW"},
      {"containerPath":"/y","hostPath":"/srv","mode":"rw"}]}})"),
            (Paths{"/container/volumes(0)/persistent", "/container/volumes(1)/external", "/container/volumes(2)/secret",
                   "/container/volumes(3)/hostPath", "/container/volumes(4)/containerPath",
                   "/container/volumes(5)/hostPath", "/container/volumes(6)/mode"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","networks":[{"mode":"container/bridge"}],
      "container":{"type":"DOCKER","docker":{"image":"b"}}})"),
            (Paths{"/networks"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","container":{"type":"MESOS","docker":{"image":"b",
      "credential":{"principal":"p","secret":"s"},"privileged":true,"parameters":[{"key":"env","value":"A=1"}],
      "network":"BRIDGE","portMappings":[{"containerPort":80}]},
      "linuxInfo":{"seccomp":{"unconfined":true,"profileName":"x"},"ipcInfo":{"mode":"SHARE_PARENT","shmSize":64}},
      "appc":{"image":"x"}}})"),
            (Paths{"/container/appc", "/container/linuxInfo/seccomp", "/container/linuxInfo/ipcInfo/shmSize",
                   "/container/docker/privileged", "/container/docker/parameters", "/container/docker/network",
                   "/container/docker/portMappings", "/container/docker/credential"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","container":{"type":"DOCKER","docker":{"image":"b",
      "parameters":[{"key":"env","value":"A=1"},{"key":"volume-driver","value":"rexray"}]}}})"),
            (Paths{"/container/docker/parameters(1)/key"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","container":{"type":"UCR"}})"), (Paths{"/container/type"}));
  // Ports: mappings only on container networks, definitions only on the host's.
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","container":{"type":"MESOS","portMappings":[{"containerPort":80}]}})"),
            (Paths{"/container/portMappings"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","networks":[{"name":"n"}],"portDefinitions":[{"port":0}]})"),
            (Paths{"/portDefinitions"}));
  // Networks: named container networks, one mode, host ports on one network only.
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","networks":[{"mode":"container"}]})"), (Paths{"/networks(0)/name"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","networks":[{"mode":"host"},{"mode":"container","name":"n"}]})"),
            (Paths{"/networks"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","networks":[{"mode":"container/bridge","name":"n"}]})"),
            (Paths{"/networks(0)/name"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","networks":[{"name":"n"},{"name":"m"}],
      "container":{"type":"MESOS","portMappings":[{"containerPort":80,"hostPort":0}]}})"),
            (Paths{"/container/portMappings(0)/hostPort"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","networks":[{"name":"n"}],"container":{"type":"MESOS",
      "portMappings":[{"containerPort":80,"hostPort":8080},{"containerPort":81,"hostPort":8080}]}})"),
            (Paths{"/container/portMappings(1)/hostPort"}));
  EXPECT_EQ(pathsOf(R"({"id":"a","cmd":"x","networks":[{"name":"n"}],"container":{"type":"MESOS","portMappings":[]},
      "healthChecks":[{"protocol":"MESOS_HTTP"}]})"),
            (Paths{"/healthChecks(0)/portIndex"}));
  // Without cmd or args only an image has something to run.
  EXPECT_EQ(pathsOf(R"({"id":"a","container":{"type":"MESOS","volumes":[]}})"), (Paths{"/"}));
}

TEST(AppTest, SecretsAreDeclaredOnceAndReferencedFromEnvAndVolumes) {
  std::vector<Violation> violations;
  App app = readApp(parseJson(R"({"id":"/db","cmd":"serve","secrets":{"pw":{"source":"db-password"}},
      "env":{"PLAIN":"1","DB_PASSWORD":{"secret":"pw"}},
      "container":{"type":"MESOS","volumes":[{"containerPath":"creds/password","secret":"pw"}]}})"),
                    &violations);
  ASSERT_TRUE(violations.empty()) << violations[0].path << ": " << violations[0].message;
  EXPECT_EQ(app.secrets.at("pw"), "db-password");
  EXPECT_EQ(app.env.at("PLAIN"), "1");
  EXPECT_EQ(app.secretEnv.at("DB_PASSWORD"), "pw");
  ASSERT_EQ(app.container->volumes.size(), 1u);
  EXPECT_EQ(app.container->volumes[0].secret, "pw");
  Json::Value json = appJson(app);
  EXPECT_EQ(json["env"]["DB_PASSWORD"]["secret"].asString(), "pw");
  EXPECT_EQ(json["secrets"]["pw"]["source"].asString(), "db-password");
  EXPECT_EQ(json["container"]["volumes"][0]["secret"].asString(), "pw");
  App again = readApp(json, &violations);
  ASSERT_TRUE(violations.empty()) << violations[0].path << ": " << violations[0].message;
  EXPECT_EQ(appJson(again), json);

  std::vector<std::string> paths;
  for (const Violation& violation : violationsOf(R"({"id":"a","cmd":"x","secrets":{"s":{},"t":{"source":"t"}},
      "env":{"A":{"secret":"nope"},"B":{"value":"x"}},
      "container":{"type":"MESOS","volumes":[{"containerPath":"/abs","secret":"t"},{"containerPath":"f","secret":"u"}]}})")) {
    paths.push_back(violation.path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/secrets/s/source", "/env/A", "/env/B",
                                             "/container/volumes(0)/containerPath", "/container/volumes(1)/secret"}));
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
