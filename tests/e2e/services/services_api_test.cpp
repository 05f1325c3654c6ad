// mantle-services' REST API in Marathon's shapes and status codes, on its
// own (no master listens at --master): validation, locking, deployments,
// events.
#include "services_fixture.hpp"

namespace mantle::services {
namespace {

using namespace testing_support;

TEST_F(ServicesTest, RestApiAnswersInMarathonShapesWithPreciseErrors) {
  // No master listens there: the API works on its own state.
  ServicesProcess& services = startServices("127.0.0.1:" + std::to_string(testing::freePort()));
  EventReader events(services.url());
  EXPECT_EQ(services.call("GET", "/ping").body, "pong\n");
  EXPECT_EQ(services.call("GET", "/v2/info").json["name"].asString(), "mantle-services");

  Answer invalid = services.call("POST", "/v2/apps", R"({"id":"/Bad_Id","cmd":"x","cpus":-1,"bogus":1})");
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(invalid.json["message"].asString(), "Object is not valid");
  std::set<std::string> paths;
  for (const Json::Value& detail : invalid.json["details"]) paths.insert(detail["path"].asString());
  EXPECT_EQ(paths, (std::set<std::string>{"/id", "/cpus", "/bogus"}));

  Answer container = services.call("POST", "/v2/apps", R"({"id":"/c","cmd":"x","container":{"type":"MESOS",
      "docker":{"image":"busybox"},"volumes":[{"containerPath":"data","mode":"RW","persistent":{"size":10}}]}})");
  EXPECT_EQ(container.status, 422);
  EXPECT_EQ(container.json["details"][0]["path"].asString(), "/container/volumes(0)/persistent");
  EXPECT_THAT(container.json["details"][0]["errors"][0].asString(), ::testing::HasSubstr("not supported"));
  Answer docker = services.call("POST", "/v2/apps", R"({"id":"/d","cmd":"x","networks":[{"mode":"container/bridge"}],
      "container":{"type":"DOCKER","docker":{"image":"busybox"}}})");
  EXPECT_EQ(docker.status, 422);
  EXPECT_EQ(docker.json["details"][0]["path"].asString(), "/networks");
  EXPECT_THAT(docker.json["details"][0]["errors"][0].asString(), ::testing::HasSubstr("use container type MESOS"));
  Answer health =
      services.call("POST", "/v2/apps", R"({"id":"/h","cmd":"x","healthChecks":[{"protocol":"HTTP","portIndex":3}],
        "constraints":[["hostname","MAX_PER","zero"]]})");
  EXPECT_EQ(health.status, 422);
  EXPECT_EQ(health.json["details"][0]["path"].asString(), "/constraints(0)");
  EXPECT_EQ(health.json["details"][1]["path"].asString(), "/healthChecks(0)/portIndex");
  EXPECT_EQ(services.call("POST", "/v2/apps", "{not json").status, 400);

  Answer created = services.call(
      "POST", "/v2/apps",
      R"({"id":"group/web","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":2,"labels":{"HAPROXY_GROUP":"external"},
          "env":{"A":"1"},"constraints":[["hostname","UNIQUE"]],"portDefinitions":[{"port":0,"name":"http"}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("Location"), "/v2/apps/group/web");
  EXPECT_EQ(created.json["id"].asString(), "/group/web");
  EXPECT_EQ(created.json["labels"]["HAPROXY_GROUP"].asString(), "external");
  const Json::Int64 servicePort = created.json["portDefinitions"][0]["port"].asInt64();
  EXPECT_GE(servicePort, 10000);
  ASSERT_EQ(created.json["deployments"].size(), 1u);
  const std::string deploymentId = created.json["deployments"][0]["id"].asString();
  EXPECT_EQ(created.header("Marathon-Deployment-Id"), deploymentId);

  EXPECT_EQ(services.call("POST", "/v2/apps", R"({"id":"/group/web","cmd":"x"})").status, 409);
  Answer got = services.call("GET", "/v2/apps/group/web");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.json["app"]["instances"].asInt(), 2);
  EXPECT_EQ(got.json["app"]["tasks"].size(), 0u);
  EXPECT_EQ(services.call("GET", "/v2/apps/nope").status, 404);
  EXPECT_EQ(services.call("GET", "/v2/apps").json["apps"].size(), 1u);
  Answer deployments = services.call("GET", "/v2/deployments");
  ASSERT_EQ(deployments.json.size(), 1u);
  EXPECT_EQ(deployments.json[0]["affectedApps"][0].asString(), "/group/web");

  // The running deployment locks the app until force=true.
  Answer locked = services.call("PUT", "/v2/apps/group/web", R"({"instances":3})");
  EXPECT_EQ(locked.status, 409);
  EXPECT_EQ(locked.json["deployments"][0]["id"].asString(), deploymentId);
  Answer scaled = services.call("PUT", "/v2/apps/group/web?force=true", R"({"instances":3})");
  EXPECT_EQ(scaled.status, 200) << scaled.body;
  EXPECT_FALSE(scaled.json["deploymentId"].asString().empty());
  got = services.call("GET", "/v2/apps/group/web");
  EXPECT_EQ(got.json["app"]["instances"].asInt(), 3);
  EXPECT_EQ(got.json["app"]["cmd"].asString(), "sleep 600") << "a PUT changes only the fields it gives";
  EXPECT_EQ(got.json["app"]["portDefinitions"][0]["port"].asInt64(), servicePort) << "service ports are kept";
  EXPECT_EQ(services.call("PUT", "/v2/apps/group/web?force=true", R"({"mem":-5})").status, 422);

  // Cancelling without rollback (force) answers 202; an unknown one 404.
  const std::string scaleDeployment = scaled.json["deploymentId"].asString();
  EXPECT_EQ(services.call("DELETE", "/v2/deployments/" + scaleDeployment + "?force=true").status, 202);
  EXPECT_EQ(services.call("DELETE", "/v2/deployments/" + scaleDeployment).status, 404);
  EXPECT_EQ(services.call("GET", "/v2/deployments").json.size(), 0u);

  // The event stream is asynchronous: wait for each kind of event.
  for (const char* type : {"deployment_info", "api_post_event", "deployment_failed"}) {
    ASSERT_TRUE(testing::waitUntil([&] { return !events.of(type).empty(); }, std::chrono::seconds(30))) << type;
  }
  EXPECT_EQ(events.of("api_post_event")[0]["appDefinition"]["id"].asString(), "/group/web");

  EXPECT_EQ(services.call("DELETE", "/v2/apps/group/web").status, 200);
  EXPECT_EQ(services.call("GET", "/v2/apps/group/web").status, 404);
}

TEST_F(ServicesTest, AnAppsContainerIsAnsweredAsGivenAndKeptByScalingAndRestarts) {
  ServicesProcess& services = startServices("127.0.0.1:" + std::to_string(testing::freePort()));
  Answer created = services.call("POST", "/v2/apps", R"({"id":"/img","args":["serve"],
      "networks":[{"mode":"container/bridge"}],
      "container":{"type":"MESOS","docker":{"image":"127.0.0.1:5000/web:1","forcePullImage":true},
        "volumes":[{"containerPath":"/data","hostPath":"/srv/data","mode":"RO"}],
        "portMappings":[{"containerPort":80,"hostPort":0,"name":"http","labels":{"VIP_0":"/img:80"}}]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  const Json::Value container = created.json["container"];
  EXPECT_EQ(container["type"].asString(), "MESOS");
  EXPECT_EQ(container["docker"]["image"].asString(), "127.0.0.1:5000/web:1");
  EXPECT_TRUE(container["docker"]["forcePullImage"].asBool());
  EXPECT_EQ(container["volumes"][0]["hostPath"].asString(), "/srv/data");
  EXPECT_EQ(container["volumes"][0]["mode"].asString(), "RO");
  EXPECT_EQ(container["portMappings"][0]["containerPort"].asInt(), 80);
  EXPECT_EQ(container["portMappings"][0]["labels"]["VIP_0"].asString(), "/img:80");
  EXPECT_GE(container["portMappings"][0]["servicePort"].asInt(), 10000) << "a service port is assigned";
  EXPECT_EQ(created.json["networks"][0]["mode"].asString(), "container/bridge");
  EXPECT_TRUE(created.json["portDefinitions"].empty());

  // Scaling, a change of another field and a restart keep the container.
  ASSERT_EQ(services.call("PUT", "/v2/apps/img?force=true", R"({"instances":2})").status, 200);
  ASSERT_EQ(services.call("PUT", "/v2/apps/img?force=true", R"({"env":{"A":"1"}})").status, 200);
  ASSERT_EQ(services.call("POST", "/v2/apps/img/restart?force=true").status, 200);
  Answer got = services.call("GET", "/v2/apps/img");
  EXPECT_EQ(got.json["app"]["container"], container) << got.body;
  EXPECT_EQ(got.json["app"]["instances"].asInt(), 2);
  // What a GET answers is accepted back unchanged.
  Json::Value app = got.json["app"];
  Answer sentBack = services.call("PUT", "/v2/apps/img?force=true", text(app));
  EXPECT_EQ(sentBack.status, 200) << sentBack.body;
  EXPECT_EQ(services.call("GET", "/v2/apps/img").json["app"]["container"], container);
  // New networks without new ports: the new mode's default ports.
  Answer onHost = services.call("PUT", "/v2/apps/img?force=true", R"({"networks":[{"mode":"host"}]})");
  EXPECT_EQ(onHost.status, 200) << onHost.body;
  got = services.call("GET", "/v2/apps/img");
  EXPECT_EQ(got.json["app"]["portDefinitions"].size(), 1u) << got.body;
  EXPECT_TRUE(got.json["app"]["container"]["portMappings"].empty()) << got.body;
  EXPECT_EQ(got.json["app"]["container"]["docker"], container["docker"]);
  Json::Value restore;
  restore["networks"][0]["mode"] = "container/bridge";
  restore["container"] = container;
  Answer back = services.call("PUT", "/v2/apps/img?force=true", text(restore));
  EXPECT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(services.call("GET", "/v2/apps/img").json["app"]["container"], container);
  // Refused changes name the field and leave the app as it was.
  Answer refused =
      services.call("PUT", "/v2/apps/img?force=true",
                    R"({"container":{"type":"MESOS","docker":{"image":"x","pullConfig":{"secret":"s"}}}})");
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(refused.json["details"][0]["path"].asString(), "/container/docker/pullConfig");
  EXPECT_EQ(services.call("GET", "/v2/apps/img").json["app"]["container"], container);
}

}  // namespace
}  // namespace mantle::services
