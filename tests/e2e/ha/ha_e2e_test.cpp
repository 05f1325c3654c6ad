// Failover of the master through ZooKeeper with real processes: three
// mantle-masters (--zk), a mantle-agent following the leader, tasks in real
// executors, and the C++ scheduler client given the zk:// URL.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ha_cluster.hpp"
#include "master_fixture.hpp"
#include "tcp_proxy.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;

Result<http::ClientResponse> getState(const std::string& masterUrl) {
  return http::request("POST", masterUrl + "/api/v1", {{"Content-Type", "application/json"}}, R"({"type":"GET_STATE"})",
                       http::ClientOptions{5, 2});
}

// Samples every master's master/elected in the background and records any
// moment at which two said 1.
class LeaderSampler {
 public:
  explicit LeaderSampler(HaCluster& cluster) : cluster_(cluster), thread_([this] { run(); }) {}
  ~LeaderSampler() {
    stop_ = true;
    thread_.join();
  }
  int overlaps() const { return overlaps_; }
  int samples() const { return samples_; }

 private:
  void run() {
    while (!stop_) {
      int elected = 0;
      for (int i = 0; i < cluster_.masterCount(); ++i) {
        if (masterElected(cluster_.masterUrl(i)).value_or(false)) ++elected;
      }
      if (elected > 1) ++overlaps_;
      ++samples_;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  HaCluster& cluster_;
  std::atomic<bool> stop_{false};
  std::atomic<int> overlaps_{0};
  std::atomic<int> samples_{0};
  std::thread thread_;
};

class HaE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ZooKeeperServer::available()) GTEST_SKIP() << "ZooKeeper (and a JRE) is not installed";
  }
};

TEST_F(HaE2eTest, LeaderKilledTasksKeepRunningAndFrameworkResubscribesWithItsId) {
  HaCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  Result<int> leader = cluster.waitForLeader(10s);
  ASSERT_TRUE(leader.ok());
  LeaderSampler sampler(cluster);

  Recorder recorder;
  scheduler::SchedulerOptions options;
  options.master = cluster.zkUrl();
  options.frameworkInfo.set_user(currentUser());
  options.frameworkInfo.set_name("ha e2e");
  options.frameworkInfo.set_failover_timeout(300);
  options.reconnect = true;
  scheduler::Scheduler scheduler(options, recorder.callbacks());
  scheduler.start();
  ASSERT_TRUE(recorder.waitFor([&] { return recorder.subscribed > 0; }, 20s));
  const std::string frameworkId = recorder.snapshot([&] { return recorder.frameworkId; });

  std::optional<v1::Offer> offer = recorder.takeOffer(20s);
  ASSERT_TRUE(offer);
  const std::vector<std::string> taskIds = {"ha-1", "ha-2", "ha-3"};
  std::vector<v1::TaskInfo> tasks;
  // Long enough to outlive the failover, short enough to finish in the test.
  for (const std::string& id : taskIds)
    tasks.push_back(scheduler::commandTask(id, *offer, "sleep 12", "cpus:0.1;mem:32"));
  ASSERT_TRUE(scheduler.launch(*offer, tasks).ok());
  for (const std::string& id : taskIds)
    ASSERT_TRUE(recorder.waitForUpdate(id, v1::TASK_RUNNING, 30s)) << cluster.logs();

  cluster.killMaster(*leader);
  Result<int> next = cluster.waitForLeader(20s);
  ASSERT_TRUE(next.ok()) << cluster.logs();
  EXPECT_NE(*next, *leader);

  // The framework comes back with its id, and the new leader rebuilt every
  // task from the agent's report.
  ASSERT_TRUE(recorder.waitFor([&] { return recorder.subscribed >= 2; }, 20s)) << cluster.logs();
  EXPECT_EQ(recorder.snapshot([&] { return recorder.frameworkId; }), frameworkId);
  ASSERT_TRUE(waitUntil(
      [&] {
        auto state = getState(cluster.masterUrl(*next));
        if (!state.ok() || state->status != 200) return false;
        int running = 0;
        for (const std::string& id : taskIds) {
          std::size_t at = state->body.find("\"value\":\"" + id + "\"");
          if (at != std::string::npos && state->body.find("TASK_RUNNING", at) != std::string::npos) ++running;
        }
        return running == static_cast<int>(taskIds.size()) && state->body.find(frameworkId) != std::string::npos;
      },
      20s))
      << cluster.logs();
  // Non-leaders redirect to the new leader.
  for (int i = 0; i < cluster.masterCount(); ++i) {
    if (i == *next || !cluster.masterRunning(i)) continue;
    auto response = getState(cluster.masterUrl(i));
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, 307);
    EXPECT_THAT(response->header("Location"),
                HasSubstr(":" + cluster.masterUrl(*next).substr(cluster.masterUrl(*next).rfind(':') + 1) + "/api/v1"));
  }

  for (const std::string& id : taskIds) {
    ASSERT_TRUE(recorder.waitForUpdate(id, v1::TASK_FINISHED, 40s)) << cluster.logs();
  }
  // Every update exactly once: none lost, none made twice across the
  // failover. An update whose acknowledgement was cut off by the kill is
  // delivered again with the same uuid (at-least-once, as in Mesos); it is
  // the same update, so updates are counted by uuid.
  std::map<std::pair<std::string, int>, std::set<std::string>> uuids = recorder.snapshot([&] {
    std::map<std::pair<std::string, int>, std::set<std::string>> c;
    for (const v1::TaskStatus& status : recorder.updates) {
      if (status.has_uuid()) c[{status.task_id().value(), status.state()}].insert(status.uuid());
    }
    return c;
  });
  for (const std::string& id : taskIds) {
    EXPECT_EQ((uuids[{id, v1::TASK_RUNNING}].size()), 1u) << id;
    EXPECT_EQ((uuids[{id, v1::TASK_FINISHED}].size()), 1u) << id;
  }
  for (const auto& [key, set] : uuids) EXPECT_EQ(set.size(), 1u) << key.first << " " << v1::TaskState_Name(key.second);
  scheduler.stop();
  EXPECT_GT(sampler.samples(), 0);
  EXPECT_EQ(sampler.overlaps(), 0);
}

TEST_F(HaE2eTest, WithoutALeaderMastersAnswer503AndStandbysRedirectToTheLeader) {
  HaClusterOptions options;
  options.agents = 0;
  HaCluster cluster(options);
  // ZooKeeper not up yet: nobody can be elected, so nobody leads.
  ASSERT_TRUE(cluster.startMaster(0).ok()) << cluster.logs();
  auto none = getState(cluster.masterUrl(0));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 503);
  EXPECT_THAT(none->body, HasSubstr("No leader elected"));
  auto noRedirect = http::request("GET", cluster.masterUrl(0) + "/master/redirect", {}, "");
  ASSERT_TRUE(noRedirect.ok());
  EXPECT_EQ(noRedirect->status, 503);

  std::string error;
  ASSERT_TRUE(cluster.zookeeper().start(&error)) << error;
  Result<int> leader = cluster.waitForLeader(20s);
  ASSERT_TRUE(leader.ok()) << cluster.logs();
  EXPECT_EQ(*leader, 0);
  ASSERT_TRUE(cluster.startMaster(1).ok()) << cluster.logs();
  ASSERT_TRUE(cluster.startMaster(2).ok()) << cluster.logs();
  const std::string leaderPort = cluster.masterUrl(0).substr(cluster.masterUrl(0).rfind(':') + 1);
  for (int i = 1; i < cluster.masterCount(); ++i) {
    // The standby's detector may need a moment for its first look.
    ASSERT_TRUE(waitUntil(
        [&] {
          auto r = http::request("GET", cluster.masterUrl(i) + "/master/redirect", {}, "");
          return r.ok() && r->status == 307;
        },
        10s));
    auto redirect = http::request("GET", cluster.masterUrl(i) + "/master/redirect", {}, "");
    ASSERT_TRUE(redirect.ok());
    EXPECT_THAT(redirect->header("Location"), ::testing::EndsWith(":" + leaderPort));
    auto state = http::request("GET", cluster.masterUrl(i) + "/master/state?x=1", {}, "");
    ASSERT_TRUE(state.ok());
    EXPECT_EQ(state->status, 307);
    EXPECT_THAT(state->header("Location"), ::testing::EndsWith(":" + leaderPort + "/master/state?x=1"));
    auto subscribe = http::request("POST", cluster.masterUrl(i) + "/api/v1/scheduler",
                                   {{"Content-Type", "application/json"}}, R"({"type":"SUBSCRIBE"})");
    ASSERT_TRUE(subscribe.ok());
    EXPECT_EQ(subscribe->status, 307);
    EXPECT_EQ(masterElected(cluster.masterUrl(i)), std::optional<bool>(false));
  }
  EXPECT_EQ(masterElected(cluster.masterUrl(0)), std::optional<bool>(true));
  auto leaderRedirect = http::request("GET", cluster.masterUrl(0) + "/master/redirect", {}, "");
  ASSERT_TRUE(leaderRedirect.ok());
  EXPECT_EQ(leaderRedirect->status, 307);
  EXPECT_THAT(leaderRedirect->header("Location"), ::testing::EndsWith(":" + leaderPort));
  // The CLI finds the leader through ZooKeeper, whatever it lists.
  TempDir cliDir;
  ChildProcess cli({binary("mantle"), "frameworks", "--json", "--master=" + cluster.zkUrl()},
                   cliDir.path() / "cli.log");
  int cliStatus = cli.wait(30s);
  EXPECT_TRUE(WIFEXITED(cliStatus) && WEXITSTATUS(cliStatus) == 0) << cli.output();
  EXPECT_THAT(cli.output(), ::testing::StartsWith("["));
}

TEST_F(HaE2eTest, ZooKeeperRestartedUnderTheMastersLeavesOneLeaderServingTheSameState) {
  HaClusterOptions options;
  options.zkSessionTimeout = "6secs";
  HaCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  LeaderSampler sampler(cluster);
  Result<int> leader = cluster.waitForLeader(10s);
  ASSERT_TRUE(leader.ok());
  cluster.zookeeper().stop();
  // The leader suspends itself at once: no master serves as leader.
  EXPECT_TRUE(waitUntil([&] { return cluster.electedMasters().empty(); }, 10s)) << cluster.logs();
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(cluster.zookeeper().start());
  Result<int> next = cluster.waitForLeader(30s);
  ASSERT_TRUE(next.ok()) << cluster.logs();
  ASSERT_TRUE(cluster.waitForAgents(1, 30s).ok());
  EXPECT_EQ(sampler.overlaps(), 0);
}

TEST_F(HaE2eTest, LeaderWhoseSessionExpiredStepsDownAndAnotherLeads) {
  HaClusterOptions options;
  options.masters = 2;
  options.agents = 0;
  HaCluster cluster(options);
  std::string error;
  ASSERT_TRUE(cluster.zookeeper().start(&error)) << error;
  // Master 0 reaches ZooKeeper through a proxy that can be cut; it starts
  // first and so leads.
  zookeeper::test::TcpProxy proxy(cluster.zookeeper().port());
  ASSERT_TRUE(cluster.startMaster(0, proxy.connectString()).ok()) << cluster.logs();
  Result<int> first = cluster.waitForLeader(20s);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(*first, 0);
  ASSERT_TRUE(cluster.startMaster(1).ok()) << cluster.logs();
  LeaderSampler sampler(cluster);

  proxy.setPartitioned(true);
  // Suspended at once: the old leader refuses to act (503), then exits once
  // it learns its session expired; master 1 is elected.
  ASSERT_TRUE(waitUntil(
      [&] {
        auto r = getState(cluster.masterUrl(0));
        return !r.ok() || r->status == 503;
      },
      10s));
  Result<int> next = cluster.waitForLeader(30s);
  ASSERT_TRUE(next.ok()) << cluster.logs();
  EXPECT_EQ(*next, 1);
  proxy.setPartitioned(false);
  EXPECT_TRUE(waitUntil([&] { return !cluster.masterRunning(0); }, 30s)) << cluster.logs();
  EXPECT_THAT(cluster.master(0)->output(), HasSubstr("Stepping down as the leading master"));
  auto state = getState(cluster.masterUrl(1));
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status, 200);
  EXPECT_EQ(sampler.overlaps(), 0);
}

}  // namespace
}  // namespace mantle::testing
