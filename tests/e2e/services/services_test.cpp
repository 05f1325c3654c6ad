// mantle-services (core/services) against real processes: a master, agents,
// executors, ZooKeeper and the mantle-services binary, driven through its
// Marathon v2 REST API and event stream.
#include "services_fixture.hpp"

namespace mantle::services {
namespace {

using namespace testing_support;
using testing::ChildProcess;

TEST_F(ServicesTest, ThreeInstancesServeOnPort0AndAKilledTaskIsReplaced) {
  if (!std::filesystem::exists(kPython)) GTEST_SKIP() << kPython << " is not installed";
  ASSERT_NO_FATAL_FAILURE(startCluster());
  ServicesProcess& services = startServices(cluster_->masterAddress());
  EventReader events(services.url());
  // An app that crashes at once backs off (1 s, 2 s, 4 s ...) and does not
  // keep the others from launching.
  ASSERT_EQ(services
                .call("POST", "/v2/apps",
                      R"({"id":"/crash","cmd":"exit 1","cpus":0.1,"mem":16,"backoffSeconds":1,"backoffFactor":2})")
                .status,
            201);
  ASSERT_EQ(services.call("POST", "/v2/apps", text(webApp("/web", 3))).status, 201);
  ASSERT_TRUE(
      testing::waitUntil([&] { return services.call("GET", "/v2/apps/web").json["app"]["deployments"].empty(); },
                         std::chrono::seconds(40)))
      << logs();
  std::vector<Json::Value> tasks = healthyTasks(services, "/web");
  ASSERT_EQ(tasks.size(), 3u) << services.call("GET", "/v2/apps/web/tasks").body << logs();
  std::set<std::string> ids;
  for (const Json::Value& task : tasks) {
    ids.insert(task["id"].asString());
    ASSERT_EQ(task["ports"].size(), 1u);
    // PORT0 reached the task, and it serves there.
    auto page = http::request("GET", "http://127.0.0.1:" + task["ports"][0].asString() + "/", {}, "");
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(task["servicePorts"].size(), 1u);
  }
  // The master holds each task with its host port in its discovery info.
  std::set<std::string> hostPorts, discovered;
  for (const Json::Value& task : tasks) hostPorts.insert(task["ports"][0].asString());
  auto masterTasks = http::request("GET", cluster_->masterUrl() + "/master/tasks", {}, "");
  ASSERT_TRUE(masterTasks.ok());
  const Json::Value atMaster = parseJson(masterTasks->body);
  for (const Json::Value& task : atMaster["tasks"]) {
    if (task["id"].asString().rfind("web.", 0) != 0 || task["state"].asString() != "TASK_RUNNING") continue;
    discovered.insert(task["discovery"]["ports"]["ports"][0]["number"].asString());
  }
  EXPECT_TRUE(std::includes(discovered.begin(), discovered.end(), hostPorts.begin(), hostPorts.end()))
      << masterTasks->body;
  EXPECT_FALSE(events.of("deployment_success").empty());
  EXPECT_FALSE(events.of("status_update_event").empty());
  EXPECT_FALSE(events.of("health_status_changed_event").empty());

  // A task that dies is replaced by a new one.
  std::ifstream pids(dir_.path() / "pids");
  pid_t pid = 0;
  pids >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        std::vector<Json::Value> now = healthyTasks(services, "/web");
        std::set<std::string> nowIds;
        for (const Json::Value& task : now) nowIds.insert(task["id"].asString());
        std::vector<std::string> kept;
        std::set_intersection(ids.begin(), ids.end(), nowIds.begin(), nowIds.end(), std::back_inserter(kept));
        return now.size() == 3 && kept.size() == 2;
      },
      std::chrono::seconds(30)))
      << logs();
  Answer app = services.call("GET", "/v2/apps/web");
  EXPECT_EQ(app.json["app"]["lastTaskFailure"]["state"].asString(), "TASK_FAILED");

  Answer crash = services.call("GET", "/v2/apps/crash");
  EXPECT_EQ(crash.json["app"]["lastTaskFailure"]["state"].asString(), "TASK_FAILED");
  const std::string log = services.process().output();
  int launches = 0;
  for (std::size_t at = 0; (at = log.find("launching crash.", at)) != std::string::npos; ++at) ++launches;
  EXPECT_GE(launches, 2);
  EXPECT_LE(launches, 5) << "backoff between launches of a crashing app\n" << log;

  // kill -9 and a restart on the same --work_dir: the same framework and
  // tasks, reconciled with the master, nothing launched for /web.
  std::set<std::string> before;
  for (const Json::Value& task : healthyTasks(services, "/web")) before.insert(task["id"].asString());
  const std::string frameworkId = services.call("GET", "/v2/info").json["frameworkId"].asString();
  services.process().kill();
  ServicesProcess& restarted = startServices(cluster_->masterAddress());
  ASSERT_TRUE(
      testing::waitUntil([&] { return restarted.process().output().find("(failed over)") != std::string::npos; },
                         std::chrono::seconds(20)))
      << logs();
  EXPECT_EQ(restarted.call("GET", "/v2/info").json["frameworkId"].asString(), frameworkId);
  std::set<std::string> after;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        after.clear();
        for (const Json::Value& task : healthyTasks(restarted, "/web")) after.insert(task["id"].asString());
        return after == before;
      },
      std::chrono::seconds(20)))
      << logs();
  EXPECT_THAT(restarted.process().output(), ::testing::Not(::testing::HasSubstr("launching web.")));
}

TEST_F(ServicesTest, RollingUpgradeKeepsMinimumHealthCapacityAndAFailingVersionRollsBack) {
  if (!std::filesystem::exists(kPython)) GTEST_SKIP() << kPython << " is not installed";
  ASSERT_NO_FATAL_FAILURE(startCluster());
  ServicesProcess& services = startServices(cluster_->masterAddress());
  Json::Value app = webApp("/roll", 3);
  app["upgradeStrategy"]["minimumHealthCapacity"] = 0.5;  // 2 of 3
  app["upgradeStrategy"]["maximumOverCapacity"] = 0;
  ASSERT_EQ(services.call("POST", "/v2/apps", text(app)).status, 201);
  ASSERT_TRUE(waitForDeployments(services, std::chrono::seconds(40))) << logs();
  const std::string oldVersion =
      services.call("GET", "/v2/apps/roll").json["app"]["versionInfo"]["lastConfigChangeAt"].asString();

  // A new cmd: replaced one by one, at least 2 healthy at every sample.
  Json::Value newCmd;
  newCmd["cmd"] = webApp("/roll", 3, "v2")["cmd"];
  Answer put = services.call("PUT", "/v2/apps/roll", text(newCmd));
  ASSERT_EQ(put.status, 200) << put.body;
  std::size_t fewest = 3;
  int samples = 0;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        fewest = std::min(fewest, healthyTasks(services, "/roll").size());
        ++samples;
        Answer deployments = services.call("GET", "/v2/deployments");
        return deployments.status == 200 && deployments.json.empty();
      },
      std::chrono::seconds(60)))
      << logs();
  EXPECT_GE(fewest, 2u) << "over " << samples << " samples";
  Json::Value upgraded = services.call("GET", "/v2/apps/roll").json["app"];
  EXPECT_NE(upgraded["versionInfo"]["lastConfigChangeAt"].asString(), oldVersion);
  ASSERT_EQ(upgraded["tasks"].size(), 3u);
  for (const Json::Value& task : upgraded["tasks"]) {
    EXPECT_EQ(task["version"].asString(), upgraded["versionInfo"]["lastConfigChangeAt"].asString());
  }

  // A version whose health check fails: its tasks are killed and replaced,
  // the deployment never completes and the old tasks stay (capacity 1).
  const std::set<std::string> before = [&] {
    std::set<std::string> ids;
    for (const Json::Value& task : upgraded["tasks"]) ids.insert(task["id"].asString());
    return ids;
  }();
  Json::Value broken = webApp("/roll", 3, "v3");
  broken["healthChecks"][0]["path"] = "/missing";
  broken["healthChecks"][0]["gracePeriodSeconds"] = 0;
  broken["upgradeStrategy"]["minimumHealthCapacity"] = 1;
  broken["upgradeStrategy"]["maximumOverCapacity"] = 0.34;  // one extra instance
  broken["backoffSeconds"] = 0.2;
  put = services.call("PUT", "/v2/apps/roll", text(broken));
  ASSERT_EQ(put.status, 200) << put.body;
  const std::string deploymentId = put.json["deploymentId"].asString();
  std::set<std::string> failedIds;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        Json::Value failure = services.call("GET", "/v2/apps/roll").json["app"]["lastTaskFailure"];
        if (!failure.isNull()) failedIds.insert(failure["taskId"].asString());
        return failedIds.size() >= 2;
      },
      std::chrono::seconds(40)))
      << logs();
  Answer deployments = services.call("GET", "/v2/deployments");
  ASSERT_EQ(deployments.json.size(), 1u);
  EXPECT_EQ(deployments.json[0]["id"].asString(), deploymentId);
  std::set<std::string> healthyIds;
  for (const Json::Value& task : healthyTasks(services, "/roll")) healthyIds.insert(task["id"].asString());
  EXPECT_EQ(healthyIds, before) << "the old tasks keep serving";

  // Rollback: the previous definition comes back, its tasks are current again.
  Answer rollback = services.call("DELETE", "/v2/deployments/" + deploymentId);
  ASSERT_EQ(rollback.status, 200) << rollback.body;
  ASSERT_TRUE(waitForDeployments(services, std::chrono::seconds(30))) << logs();
  Json::Value restored = services.call("GET", "/v2/apps/roll").json["app"];
  EXPECT_EQ(restored["healthChecks"][0]["path"].asString(), "/");
  std::set<std::string> after;
  for (const Json::Value& task : restored["tasks"]) after.insert(task["id"].asString());
  EXPECT_EQ(after, before);
}

TEST_F(ServicesTest, UniqueHostnameOnTwoAgentsLeavesTheThirdInstanceWaiting) {
  ASSERT_NO_FATAL_FAILURE(startCluster());
  // A second agent with a hostname of its own.
  std::vector<std::string> argv = cluster_->agentArgs(0);
  for (std::string& arg : argv) {
    if (arg.rfind("--port=", 0) == 0) arg = "--port=" + std::to_string(testing::freePort());
    // Under the cluster's directory: the cluster ends the sessions its
    // executors leave there.
    if (arg.rfind("--work_dir=", 0) == 0) {
      arg = "--work_dir=" + (cluster_->agentWorkDir(0).parent_path() / "agent-b").string();
    }
  }
  argv.push_back("--hostname=agent-b.test");
  ChildProcess agentB(argv, dir_.path() / "agent-b.log");
  ASSERT_TRUE(cluster_->waitForAgents(2, std::chrono::seconds(20)).ok()) << logs() << agentB.output();
  ServicesProcess& services = startServices(cluster_->masterAddress());
  ASSERT_EQ(services
                .call("POST", "/v2/apps",
                      R"({"id":"/unique","cmd":"exec sleep 600","cpus":0.1,"mem":16,"instances":3,
                              "constraints":[["hostname","UNIQUE"]]})")
                .status,
            201);
  auto running = [&] { return services.call("GET", "/v2/apps/unique").json["app"]["tasksRunning"].asInt(); };
  ASSERT_TRUE(testing::waitUntil([&] { return running() == 2; }, std::chrono::seconds(20))) << logs();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // offers keep coming; none may take the third
  Json::Value app = services.call("GET", "/v2/apps/unique").json["app"];
  EXPECT_EQ(app["tasksRunning"].asInt(), 2);
  EXPECT_EQ(app["tasks"].size(), 2u);
  std::set<std::string> hosts;
  for (const Json::Value& task : app["tasks"]) hosts.insert(task["host"].asString());
  EXPECT_EQ(hosts.size(), 2u);
  EXPECT_EQ(services.call("GET", "/v2/deployments").json.size(), 1u) << "the deployment waits for the third";
  agentB.stop();
}

TEST_F(ServicesTest, LeaderFailoverKeepsEveryAppAndTheFrameworkId) {
  if (!testing::ZooKeeperServer::available()) GTEST_SKIP() << "ZooKeeper (and a JRE) is not installed";
  testing::ZooKeeperServer zookeeper;
  std::string error;
  ASSERT_TRUE(zookeeper.start(&error)) << error;
  ASSERT_NO_FATAL_FAILURE(startCluster());
  const std::string zk = "--zk=zk://" + zookeeper.connectString() + "/mantle-services";
  ServicesProcess& first = startServices(cluster_->masterAddress(), {zk});
  ASSERT_TRUE(testing::waitUntil([&] { return first.call("GET", "/v2/info").status == 200; }, std::chrono::seconds(20)))
      << logs();
  ServicesProcess& second = startServices(cluster_->masterAddress(), {zk});
  // The standby sends clients to the leader.
  Answer redirect;
  EXPECT_TRUE(testing::waitUntil(
      [&] {
        redirect = second.call("GET", "/v2/apps");
        return redirect.status == 307;
      },
      std::chrono::seconds(10)))
      << redirect.status << " " << redirect.body;
  EXPECT_EQ(redirect.header("Location"), first.url() + "/v2/apps");

  for (const char* id : {"/a", "/b/c"}) {
    ASSERT_EQ(
        first
            .call("POST", "/v2/apps",
                  std::string(R"({"id":")") + id + R"(","cmd":"exec sleep 600","cpus":0.1,"mem":16,"instances":2})")
            .status,
        201);
  }
  ASSERT_TRUE(waitForDeployments(first, std::chrono::seconds(30))) << logs();
  const std::string frameworkId = first.call("GET", "/v2/info").json["frameworkId"].asString();
  ASSERT_FALSE(frameworkId.empty());
  std::set<std::string> tasks;
  const Answer before = first.call("GET", "/v2/tasks");
  for (const Json::Value& task : before.json["tasks"]) tasks.insert(task["id"].asString());
  ASSERT_EQ(tasks.size(), 4u);

  first.process().kill();
  ASSERT_TRUE(
      testing::waitUntil([&] { return second.call("GET", "/v2/info").status == 200; }, std::chrono::seconds(40)))
      << logs();
  EXPECT_EQ(second.call("GET", "/v2/apps").json["apps"].size(), 2u);
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        return second.call("GET", "/v2/info").json["frameworkId"].asString() == frameworkId &&
               second.process().output().find("(failed over)") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << logs();
  // The same tasks, reconciled as running; nothing new launched.
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        std::set<std::string> now;
        const Answer answer = second.call("GET", "/v2/tasks");
        for (const Json::Value& task : answer.json["tasks"]) {
          if (task["state"].asString() == "TASK_RUNNING") now.insert(task["id"].asString());
        }
        return now == tasks;
      },
      std::chrono::seconds(20)))
      << logs();
  EXPECT_THAT(second.process().output(), ::testing::Not(::testing::HasSubstr("launching")));
  // And it keeps serving changes.
  EXPECT_EQ(second.call("PUT", "/v2/apps/a", R"({"instances":1})").status, 200);
  ASSERT_TRUE(waitForDeployments(second, std::chrono::seconds(20))) << logs();
  EXPECT_EQ(second.call("GET", "/v2/apps/a").json["app"]["tasks"].size(), 1u);
}

}  // namespace
}  // namespace mantle::services
