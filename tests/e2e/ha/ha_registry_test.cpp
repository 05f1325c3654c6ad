// The registry in ZooKeeper with real mantle-masters (docs/HA.md,
// "Durability"): an agent or framework is answered only once the registry
// write recording it succeeded, a deposed leader answers nothing, whatever
// was answered survives a kill -9 of the leader, and so does maintenance.
// Agents speak the real protocol (test_agent.hpp); nothing runs tasks.
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <json/json.h>

#include "ha_cluster.hpp"
#include "master_fixture.hpp"
#include "zookeeper/session.hpp"

namespace mantle::testing {
namespace {

using internal::Event;
using ::testing::HasSubstr;
using ::testing::Not;

Json::Value operatorCall(const std::string& masterUrl, const std::string& body, int* status = nullptr) {
  auto r = http::request("POST", masterUrl + "/api/v1",
                         {{"Content-Type", "application/json"}, {"Accept", "application/json"}}, body,
                         http::ClientOptions{5, 2});
  if (status != nullptr) *status = r.ok() ? r->status : 0;
  if (!r.ok() || r->status != 200 || r->body.empty()) return Json::Value();
  return parseJson(r->body);
}

std::string rawCall(const std::string& masterUrl, const std::string& body) {
  auto r = http::request("POST", masterUrl + "/api/v1",
                         {{"Content-Type", "application/json"}, {"Accept", "application/json"}}, body,
                         http::ClientOptions{5, 2});
  return r.ok() ? std::to_string(r->status) + " " + r->body : "no answer";
}

TestAgent::Options agentOptions(const std::string& url, const std::string& hostname) {
  TestAgent::Options options;
  options.masterUrl = url;
  options.hostname = hostname;
  return options;
}

std::set<std::string> recoveredAgentIds(const std::string& url) {
  std::set<std::string> ids;
  Json::Value agents = operatorCall(url, R"({"type":"GET_AGENTS"})")["get_agents"];
  for (const Json::Value& info : agents["recovered_agents"]) ids.insert(info["id"]["value"].asString());
  for (const Json::Value& agent : agents["agents"]) ids.insert(agent["agent_info"]["id"]["value"].asString());
  return ids;
}

scheduler::SchedulerOptions frameworkOptions(const std::string& url, const std::string& name) {
  scheduler::SchedulerOptions options;
  options.master = url;
  options.frameworkInfo.set_user("nobody");
  options.frameworkInfo.set_name(name);
  options.frameworkInfo.set_failover_timeout(3600);
  return options;
}

class HaRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ZooKeeperServer::available()) GTEST_SKIP() << "ZooKeeper (and a JRE) is not installed";
  }
  // ZooKeeper and `masters` masters without agents; url_ is the leader's.
  void startCluster(int masters, const std::string& sessionTimeout = "2secs") {
    HaClusterOptions options;
    options.masters = masters;
    options.agents = 0;
    options.zkSessionTimeout = sessionTimeout;
    cluster_ = std::make_unique<HaCluster>(options);
    ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
    Result<int> leader = cluster_->waitForLeader(10s);
    ASSERT_TRUE(leader.ok());
    leader_ = *leader;
    url_ = cluster_->masterUrl(leader_);
  }
  // kill -9 of the leader; the URL of the next one.
  std::string failOver() {
    cluster_->killMaster(leader_);
    Result<int> next = cluster_->waitForLeader(20s);
    EXPECT_TRUE(next.ok()) << cluster_->logs();
    EXPECT_NE(next.ok() ? *next : leader_, leader_);
    return next.ok() ? cluster_->masterUrl(*next) : "";
  }

  std::unique_ptr<HaCluster> cluster_;
  int leader_ = -1;
  std::string url_;
};

TEST_F(HaRegistryTest, AgentAndFrameworkAreAnsweredOnlyOnceTheRegistryWriteSucceeded) {
  // Sessions long enough that pausing ZooKeeper for a few seconds loses none.
  ASSERT_NO_FATAL_FAILURE(startCluster(1, "10secs"));
  HaCluster& cluster = *cluster_;
  const std::string url = url_;

  // ZooKeeper holds its connections but answers nothing: the registry write
  // admitting the agent and the framework cannot complete.
  cluster.zookeeper().pause();
  TestAgent agent(agentOptions(url, "paused-agent"));
  Recorder recorder;
  scheduler::Scheduler scheduler(frameworkOptions(url, "waits for the registry"), recorder.callbacks());
  scheduler.start();
  EXPECT_FALSE(agent.connect(3s).ok());
  EXPECT_EQ(agent.count(Event::REGISTERED), 0);
  EXPECT_EQ(recorder.snapshot([&] { return recorder.subscribed; }), 0);
  // The master is not blocked meanwhile: it answers, without either of them.
  int status = 0;
  Json::Value agents = operatorCall(url, R"({"type":"GET_AGENTS"})", &status)["get_agents"];
  EXPECT_EQ(status, 200);
  EXPECT_EQ(agents["agents"].size(), 0u);
  EXPECT_EQ(operatorCall(url, R"({"type":"GET_FRAMEWORKS"})")["get_frameworks"]["frameworks"].size(), 0u);

  cluster.zookeeper().resume();
  EXPECT_TRUE(agent.waitFor(Event::REGISTERED, 15s)) << cluster.logs();
  EXPECT_TRUE(recorder.waitFor([&] { return recorder.subscribed > 0; }, 15s)) << cluster.logs();
  EXPECT_EQ(operatorCall(url, R"({"type":"GET_AGENTS"})")["get_agents"]["agents"].size(), 1u);
  EXPECT_EQ(operatorCall(url, R"({"type":"GET_FRAMEWORKS"})")["get_frameworks"]["frameworks"].size(), 1u);
  scheduler.stop();
}

TEST_F(HaRegistryTest, DeposedLeaderAnswersNothingAndItsSuccessorNeverHeardOfIt) {
  ASSERT_NO_FATAL_FAILURE(startCluster(2));
  HaCluster& cluster = *cluster_;
  const std::string url = url_;
  TestAgent first(agentOptions(url, "first-agent"));
  ASSERT_TRUE(first.connect().ok());

  // Another writer moves the registry's version: the leader's next
  // conditional write is refused, as a deposed leader's would be.
  zookeeper::SessionOptions sessionOptions;
  sessionOptions.servers = cluster.zookeeper().connectString();
  auto session = zookeeper::Session::create(sessionOptions);
  ASSERT_TRUE(session->waitConnected(10s));
  Result<zookeeper::NodeData> registry = session->getSync("/mantle/registry");
  ASSERT_TRUE(registry.ok()) << registry.error().message;
  ASSERT_TRUE(session->setSync("/mantle/registry", registry->data, registry->stat.version).ok());

  TestAgent second(agentOptions(url, "second-agent"));
  EXPECT_FALSE(second.connect(5s).ok());
  EXPECT_EQ(second.count(Event::REGISTERED), 0);
  // The leader stepped down (exit status 1) instead of answering.
  int exit = cluster.master(leader_)->wait(10s);
  ASSERT_NE(exit, -1) << cluster.logs();
  EXPECT_TRUE(WIFEXITED(exit) && WEXITSTATUS(exit) == 1) << exit;
  EXPECT_THAT(cluster.master(leader_)->output(), HasSubstr("a registry write was refused"));

  Result<int> next = cluster.waitForLeader(20s);
  ASSERT_TRUE(next.ok()) << cluster.logs();
  ASSERT_NE(*next, leader_);
  std::string agents = rawCall(cluster.masterUrl(*next), R"({"type":"GET_AGENTS"})");
  EXPECT_THAT(agents, HasSubstr("first-agent"));
  EXPECT_THAT(agents, Not(HasSubstr("second-agent")));
}

TEST_F(HaRegistryTest, EveryAcknowledgedAgentAndFrameworkSurvivesAKillOfTheLeader) {
  ASSERT_NO_FATAL_FAILURE(startCluster(2));
  const std::string url = url_;

  std::vector<std::unique_ptr<TestAgent>> agents;
  std::set<std::string> acknowledged;
  for (int i = 0; i < 5; ++i) {
    agents.push_back(std::make_unique<TestAgent>(agentOptions(url, "agent-" + std::to_string(i))));
    ASSERT_TRUE(agents.back()->connect().ok());
    acknowledged.insert(agents.back()->id());
  }
  Recorder recorder;
  scheduler::Scheduler scheduler(frameworkOptions(url, "acknowledged"), recorder.callbacks());
  scheduler.start();
  ASSERT_TRUE(recorder.waitFor([&] { return recorder.subscribed > 0; }, 10s));
  const std::string frameworkId = recorder.snapshot([&] { return recorder.frameworkId; });

  // At once after the last answer: nothing gets time to be written later.
  const std::string nextUrl = failOver();
  scheduler.stop();
  ASSERT_FALSE(nextUrl.empty());
  EXPECT_EQ(recoveredAgentIds(nextUrl), acknowledged);
  std::string frameworks = rawCall(nextUrl, R"({"type":"GET_FRAMEWORKS"})");
  EXPECT_THAT(frameworks, HasSubstr(frameworkId));
}

double metricOf(const std::string& masterUrl, const char* name) {
  const std::optional<Json::Value> metrics = getJson(masterUrl + "/metrics/snapshot", std::chrono::seconds(5));
  return metrics ? (*metrics)[name].asDouble() : -1;
}

// A leader writes the whole registry once, then appends changes (docs/HA.md,
// "Registry writes"); its successor reads whole registry and changes back
// (an agent marked gone included: a removal) and appends to it, and the next
// successor reads what both wrote.
TEST_F(HaRegistryTest, ARegistryWrittenAsChangesIsReadBackWholeAfterEachLeaderChange) {
  ASSERT_NO_FATAL_FAILURE(startCluster(3));
  std::string url = url_;
  std::vector<std::unique_ptr<TestAgent>> agents;
  std::set<std::string> expected;
  auto admit = [&](const std::string& hostname) {
    agents.push_back(std::make_unique<TestAgent>(agentOptions(url, hostname)));
    Status connected = agents.back()->connect();
    EXPECT_TRUE(connected.ok()) << connected.error().message;
    expected.insert(agents.back()->id());
  };
  for (int i = 0; i < 4; ++i) admit("first-leader-" + std::to_string(i));
  int status = 0;
  const std::string gone = agents[1]->id();
  operatorCall(url, R"({"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":")" + gone + R"("}}})",
               &status);
  ASSERT_EQ(status, 200);
  expected.erase(gone);
  EXPECT_EQ(metricOf(url, "registrar/state_store_whole"), 1);
  EXPECT_GE(metricOf(url, "registrar/state_store"), 5);
  for (auto& agent : agents) agent->disconnect();

  url = failOver();
  ASSERT_FALSE(url.empty());
  EXPECT_EQ(recoveredAgentIds(url), expected);
  EXPECT_THAT(rawCall(url, R"({"type":"GET_AGENTS"})"), Not(HasSubstr("first-leader-1")));
  for (int i = 0; i < 3; ++i) admit("second-leader-" + std::to_string(i));
  EXPECT_EQ(metricOf(url, "registrar/state_store_whole"), 0);
  EXPECT_EQ(metricOf(url, "registrar/state_store"), 3);
  for (auto& agent : agents) agent->disconnect();
  leader_ = -1;
  for (int i = 0; i < 3; ++i) {
    if (cluster_->masterUrl(i) == url) leader_ = i;
  }
  ASSERT_NE(leader_, -1);

  url = failOver();
  ASSERT_FALSE(url.empty());
  EXPECT_EQ(recoveredAgentIds(url), expected);
}

TEST_F(HaRegistryTest, MaintenanceScheduleAndMachineModesSurviveAKillOfTheLeader) {
  ASSERT_NO_FATAL_FAILURE(startCluster(2));
  const std::string url = url_;

  int status = 0;
  operatorCall(
      url,
      R"({"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[)"
      R"({"machine_ids":[{"hostname":"m1"},{"hostname":"m2","ip":"10.0.0.2"}],)"
      R"("unavailability":{"start":{"nanoseconds":1700000000000000000},"duration":{"nanoseconds":3600000000000}}},)"
      R"({"machine_ids":[{"ip":"10.0.0.3"}],"unavailability":{"start":{"nanoseconds":1800000000000000000}}}]}}})",
      &status);
  ASSERT_EQ(status, 200);
  operatorCall(url, R"({"type":"START_MAINTENANCE","start_maintenance":{"machines":[{"hostname":"m1"}]}})", &status);
  ASSERT_EQ(status, 200);
  const std::string schedule = rawCall(url, R"({"type":"GET_MAINTENANCE_SCHEDULE"})");
  const std::string machines = rawCall(url, R"({"type":"GET_MAINTENANCE_STATUS"})");
  EXPECT_THAT(schedule, HasSubstr("10.0.0.3"));
  EXPECT_THAT(machines, HasSubstr("down_machines"));

  const std::string nextUrl = failOver();
  ASSERT_FALSE(nextUrl.empty());
  EXPECT_EQ(rawCall(nextUrl, R"({"type":"GET_MAINTENANCE_SCHEDULE"})"), schedule);
  EXPECT_EQ(rawCall(nextUrl, R"({"type":"GET_MAINTENANCE_STATUS"})"), machines);
}

}  // namespace
}  // namespace mantle::testing
