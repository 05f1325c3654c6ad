// A master failover through ZooKeeper at 2,000 simulated agents (each a real
// peer over the master <-> agent protocol, with running tasks) loses no
// agent and no task: the new leader's GET_STATE holds every agent and every
// task TASK_RUNNING, and no agent was shut down or told about tasks it does
// not run.
#include <signal.h>

#include <gtest/gtest.h>

#include "agent_sim/agent_simulator.hpp"
#include "ha_cluster.hpp"
#include "process.hpp"
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

// ZooKeeper and three masters, no agents (the simulator brings them).
class AgentSimulatorFailover : public ::testing::Test {
 protected:
  static HaClusterOptions withoutAgents() {
    HaClusterOptions options;
    options.agents = 0;
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(cluster.start().ok());
    Result<int> elected = cluster.waitForLeader(30s);
    ASSERT_TRUE(elected.ok()) << elected.error().message;
    leader = *elected;
  }

  HaCluster cluster{withoutAgents()};
  int leader = -1;
};

TEST_F(AgentSimulatorFailover, AFailoverAtTwoThousandAgentsLosesNoAgentAndNoTask) {
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
  StateCounts before = waitForState(cluster.masterUrl(leader), 60s);
  ASSERT_EQ(before.agents, kAgents);
  ASSERT_EQ(before.tasksRunning, kTasks);

  cluster.killMaster(leader);
  Result<int> next = cluster.waitForLeader(60s);
  ASSERT_TRUE(next.ok()) << next.error().message;
  ASSERT_NE(*next, leader);
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

// Agents waiting for a registration slot when the leader changes register
// with the new leader (the change used to empty the queue of waiting agents
// while they stayed marked as queued, so they never registered again).
TEST_F(AgentSimulatorFailover, AgentsWaitingForARegistrationSlotWhenTheLeaderChangesRegisterWithTheNewOne) {
  // A frozen leader: the first agent's connection is accepted by the kernel
  // and never answered, so it holds the only slot and the others wait.
  cluster.master(leader)->signal(SIGSTOP);

  constexpr int kWaiting = 20;
  agent_sim::Options options;
  options.master = cluster.zkUrl();
  options.agents = kWaiting;
  options.maxPendingRegistrations = 1;
  Result<std::unique_ptr<AgentSimulator>> simulator = AgentSimulator::create(options);
  ASSERT_TRUE(simulator.ok()) << simulator.error().message;
  ASSERT_TRUE((*simulator)->start().ok());
  Report found = (*simulator)->waitUntil([&](const Report& r) { return r.leader == cluster.masterUrl(leader); }, 60s);
  ASSERT_EQ(found.leader, cluster.masterUrl(leader)) << found.toText();

  // The frozen leader's session expires and another master is elected (the
  // frozen one is not asked: it would not answer).
  int next = -1;
  ASSERT_TRUE(waitUntil(
      [&] {
        for (int i = 0; i < cluster.masterCount(); ++i) {
          if (i != leader && masterElected(cluster.masterUrl(i)).value_or(false)) next = i;
        }
        return next >= 0;
      },
      120s));
  Report after =
      (*simulator)
          ->waitUntil([&](const Report& r) { return r.connected == kWaiting && r.leader == cluster.masterUrl(next); },
                      120s);
  EXPECT_EQ(after.connected, kWaiting) << after.toText();
  EXPECT_EQ(after.leader, cluster.masterUrl(next)) << after.toText();
  (*simulator)->stop();
  cluster.killMaster(leader);  // SIGKILL ends a stopped process too
}

}  // namespace
}  // namespace mantle::testing
