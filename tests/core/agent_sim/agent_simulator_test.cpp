// The agent simulator against one real mantle-master: options are checked
// with precise messages; simulated agents register, and a framework's task
// launched on one of them goes TASK_RUNNING and then ends as the options say.
#include "agent_sim/agent_simulator.hpp"

#include <gtest/gtest.h>

#include "master_fixture.hpp"
#include "scheduler/scheduler.hpp"
#include "state_counts.hpp"

namespace mantle::testing {
namespace {

using agent_sim::AgentSimulator;
using agent_sim::Options;
using agent_sim::Report;

std::string refusal(Options options) {
  Result<std::unique_ptr<AgentSimulator>> simulator = AgentSimulator::create(std::move(options));
  return simulator.ok() ? "" : simulator.error().message;
}

TEST(AgentSimulatorOptions, BadOptionsAreRefusedNamingTheFlag) {
  Options base;
  base.master = "127.0.0.1:5050";
  Options noMaster = base;
  noMaster.master = "";
  EXPECT_EQ(refusal(noMaster), "--master is required");
  Options tasksWithoutIds = base;
  tasksWithoutIds.tasksPerAgent = 3;
  EXPECT_NE(refusal(tasksWithoutIds).find("--tasks_per_agent needs --id_prefix"), std::string::npos);
  Options ratio = base;
  ratio.failureRatio = 1.5;
  EXPECT_EQ(refusal(ratio), "--failure_ratio must be in [0, 1]");
  Options resources = base;
  resources.resources = "cpus:lots";
  EXPECT_NE(refusal(resources).find("--resources: "), std::string::npos);
  Options none = base;
  none.agents = 0;
  EXPECT_EQ(refusal(none), "--agents must be in [1, 1000000]");
  EXPECT_EQ(refusal(base), "");
}

class AgentSimulatorTest : public MasterFixture {};

TEST_F(AgentSimulatorTest, AgentsRegisterAndAnswerLaunchesWithRunningThenTheConfiguredEnd) {
  startMaster();
  Options options;
  options.master = url();
  options.agents = 50;
  options.resources = "cpus:2;mem:1024";
  options.runningDelaySeconds = 0.05;
  options.taskDurationSeconds = 0.2;
  options.failureRatio = 1;  // every task ends TASK_FAILED
  Result<std::unique_ptr<AgentSimulator>> simulator = AgentSimulator::create(options);
  ASSERT_TRUE(simulator.ok()) << simulator.error().message;
  ASSERT_TRUE((*simulator)->start().ok());
  Report registered = (*simulator)->waitUntil([](const Report& r) { return r.connected == 50; }, 60s);
  ASSERT_EQ(registered.connected, 50) << registered.toText();
  EXPECT_EQ(registered.registrations, 50);
  EXPECT_GT(registered.allRegisteredSeconds, 0);
  EXPECT_EQ(stateCounts(url()).agents, 50);

  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  ASSERT_TRUE(launchRunning(*scheduler, recorder, "sim-task", "true", "cpus:1;mem:128"));
  ASSERT_TRUE(recorder.waitForUpdate("sim-task", v1::TASK_FAILED)) << (*simulator)->report().toText();
  Report done = (*simulator)->waitUntil([](const Report& r) { return r.unacknowledged == 0; }, 10s);
  EXPECT_EQ(done.launches, 1);
  EXPECT_EQ(done.tasksRunning, 1);
  EXPECT_EQ(done.tasksFailed, 1);
  EXPECT_EQ(done.tasksFinished, 0);
  EXPECT_EQ(done.acknowledgements, 2) << done.toText();
  EXPECT_EQ(done.tasksLive, 0);
  (*simulator)->stop();
}

TEST_F(AgentSimulatorTest, AStandaloneMasterRecordsABurstOfRegistrationsInFewerRegistryWritesThanAgents) {
  startMaster();
  Options options;
  options.master = url();
  options.agents = 300;
  Result<std::unique_ptr<AgentSimulator>> simulator = AgentSimulator::create(options);
  ASSERT_TRUE(simulator.ok()) << simulator.error().message;
  ASSERT_TRUE((*simulator)->start().ok());
  Report registered = (*simulator)->waitUntil([](const Report& r) { return r.connected == 300; }, 120s);
  ASSERT_EQ(registered.connected, 300) << registered.toText();
  Json::Value metrics = parseJson(get("/metrics/snapshot")->body);
  // One write per batch of registrations waiting together, not one each.
  EXPECT_LT(metrics["registrar/state_store"].asDouble(), 150) << metrics.toStyledString();
  EXPECT_EQ(stateCounts(url()).agents, 300);
  (*simulator)->stop();
}

TEST_F(AgentSimulatorTest, AgentsWithIdsComeBackWithTheirRunningTasksAfterAMasterRestart) {
  startMaster();
  Options options;
  options.master = url();
  options.agents = 20;
  options.idPrefix = "restart";
  options.tasksPerAgent = 3;
  Result<std::unique_ptr<AgentSimulator>> simulator = AgentSimulator::create(options);
  ASSERT_TRUE(simulator.ok()) << simulator.error().message;
  ASSERT_TRUE((*simulator)->start().ok());
  Report first = (*simulator)->waitUntil([](const Report& r) { return r.connected == 20; }, 60s);
  ASSERT_EQ(first.connected, 20) << first.toText();
  StateCounts before = stateCounts(url());
  EXPECT_EQ(before.agents, 20);
  EXPECT_EQ(before.tasksRunning, 60);

  restartMaster();
  Report again =
      (*simulator)->waitUntil([](const Report& r) { return r.connected == 20 && r.reregistrations >= 40; }, 60s);
  EXPECT_EQ(again.connected, 20) << again.toText();
  EXPECT_GE(again.disconnects, 20);
  EXPECT_EQ(again.shutdowns, 0);
  EXPECT_EQ(again.unknownReconciled, 0);
  EXPECT_EQ(again.tasksLive, 60);
  StateCounts after = stateCounts(url());
  EXPECT_EQ(after.agents, 20);
  EXPECT_EQ(after.tasksRunning, 60);
  EXPECT_EQ(after.tasksOther, 0);
}

}  // namespace
}  // namespace mantle::testing
