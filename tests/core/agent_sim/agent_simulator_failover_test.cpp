// A master failover through ZooKeeper at 2,000 simulated agents (each a real
// peer over the master <-> agent protocol, with running tasks) loses no
// agent and no task: the new leader's GET_STATE holds every agent and every
// task TASK_RUNNING, and no agent was shut down or told about tasks it does
// not run.
#include <gtest/gtest.h>

#include "agent_sim/agent_simulator.hpp"
#include "ha_cluster.hpp"
#include "state_counts.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;
using agent_sim::AgentSimulator;
using agent_sim::Report;

constexpr int kAgents = 2000;
constexpr int kTasksPerAgent = 3;
constexpr int kTasks = kAgents * kTasksPerAgent;

// Waits until the master at `url` holds every agent and every task running.
StateCounts waitForState(const std::string& url, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  StateCounts counts = stateCounts(url);
  while ((counts.agents != kAgents || counts.tasksRunning != kTasks) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(250ms);
    counts = stateCounts(url);
  }
  return counts;
}

TEST(AgentSimulatorFailover, AFailoverAtTwoThousandAgentsLosesNoAgentAndNoTask) {
  HaClusterOptions clusterOptions;
  clusterOptions.agents = 0;
  HaCluster cluster(clusterOptions);
  ASSERT_TRUE(cluster.start().ok());
  Result<int> leader = cluster.waitForLeader(30s);
  ASSERT_TRUE(leader.ok()) << leader.error().message;

  agent_sim::Options options;
  options.master = cluster.zkUrl();
  options.agents = kAgents;
  options.idPrefix = "failover";
  options.tasksPerAgent = kTasksPerAgent;
  Result<std::unique_ptr<AgentSimulator>> simulator = AgentSimulator::create(options);
  ASSERT_TRUE(simulator.ok()) << simulator.error().message;
  ASSERT_TRUE((*simulator)->start().ok());
  Report first = (*simulator)->waitUntil([](const Report& r) { return r.connected == kAgents; }, 240s);
  ASSERT_EQ(first.connected, kAgents) << first.toText();
  StateCounts before = waitForState(cluster.masterUrl(*leader), 60s);
  ASSERT_EQ(before.agents, kAgents);
  ASSERT_EQ(before.tasksRunning, kTasks);

  cluster.killMaster(*leader);
  Result<int> next = cluster.waitForLeader(60s);
  ASSERT_TRUE(next.ok()) << next.error().message;
  ASSERT_NE(*next, *leader);
  Report after = (*simulator)
                     ->waitUntil(
                         [&](const Report& r) {
                           return r.connected == kAgents && r.reregistrations >= 2 * kAgents &&
                                  r.leader == cluster.masterUrl(*next);
                         },
                         240s);
  EXPECT_EQ(after.connected, kAgents) << after.toText();
  EXPECT_EQ(after.leader, cluster.masterUrl(*next));
  EXPECT_EQ(after.shutdowns, 0) << after.toText();
  EXPECT_EQ(after.unknownReconciled, 0) << after.toText();
  EXPECT_EQ(after.tasksLive, kTasks);
  StateCounts counts = waitForState(cluster.masterUrl(*next), 60s);
  EXPECT_EQ(counts.agents, kAgents);
  EXPECT_EQ(counts.tasksRunning, kTasks);
  EXPECT_EQ(counts.tasksOther, 0);
  (*simulator)->stop();
}

}  // namespace
}  // namespace mantle::testing
