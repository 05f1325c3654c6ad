// mantle-agent as a real process, the slow cases: recovery after kill -9 of
// the agent with a task running, and a hundred tasks at once.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "agent_fixture.hpp"
#include "mesos/v1/agent/agent.pb.h"
#include "wire/content_type.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST_F(AgentTest, KilledAgentReattachesToRunningTaskAndItsUpdateArrivesOnce) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const std::filesystem::path marker = dir_.path() / "release";
  const std::filesystem::path pidFile = dir_.path() / "task.pid";
  ASSERT_TRUE(peer_.runTask(testFramework(),
                            commandTask("survivor",
                                        "echo $$ > " + pidFile.string() + "; while [ ! -e " + marker.string() +
                                            " ]; do sleep 0.1; done",
                                        peer_.agentId())));
  ASSERT_EQ(peer_.waitForUpdate("survivor", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);
  ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(pidFile); }, 10s));
  pid_t pid = 0;
  std::ifstream(pidFile) >> pid;
  ASSERT_GT(pid, 0);

  agent_->kill();  // kill -9
  ASSERT_EQ(::kill(pid, 0), 0) << "the task died with the agent";
  startAgent();
  ASSERT_TRUE(waitUntil([this] { return peer_.reregistrations() >= 1; }, 20s)) << agent_->output();
  EXPECT_EQ(peer_.registrations(), 1);
  const internal::Call reregistration = peer_.lastRegistration();
  ASSERT_EQ(reregistration.type(), internal::Call::REREGISTER);
  ASSERT_EQ(reregistration.reregistration().frameworks_size(), 1);
  EXPECT_EQ(reregistration.reregistration().frameworks(0).tasks_size(), 1);
  // The executor subscribes again; the task keeps its pid.
  EXPECT_TRUE(waitUntil([this] { return agent_->output().find("subscribed") != std::string::npos; }, 20s));
  EXPECT_EQ(::kill(pid, 0), 0);
  std::ofstream(marker) << "go";
  auto finished = peer_.waitForUpdate("survivor", mesos::v1::TASK_FINISHED, 30s);
  ASSERT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  std::this_thread::sleep_for(1s);
  int finishedCount = 0;
  for (const auto& update : peer_.distinctUpdates("survivor")) {
    if (update.status().state() == mesos::v1::TASK_FINISHED) ++finishedCount;
  }
  EXPECT_EQ(finishedCount, 1);
}

TEST_F(AgentTest, HundredConcurrentShortTasksAllEnd) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto framework = testFramework("framework-many", false);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(peer_.runTask(framework, commandTask("t" + std::to_string(i), "exit " + std::to_string(i % 2),
                                                     peer_.agentId())));
  }
  int finished = 0;
  int failed = 0;
  for (int i = 0; i < 100; ++i) {
    auto update = peer_.waitForTerminal("t" + std::to_string(i), 120s);
    ASSERT_TRUE(isTerminalState(update.status().state())) << "t" << i << " never ended\n" << agent_->output();
    if (update.status().state() == mesos::v1::TASK_FINISHED) ++finished;
    if (update.status().state() == mesos::v1::TASK_FAILED) ++failed;
  }
  EXPECT_EQ(finished, 50);
  EXPECT_EQ(failed, 50);
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 30s));
}

}  // namespace
}  // namespace mantle::testing
