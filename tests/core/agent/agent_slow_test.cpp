// mantle-agent as a real process, the slow cases: recovery after kill -9 of
// the agent with a task running (the executor alive, dead, or not
// subscribing again) or between an executor's launch and its subscription,
// --recover=cleanup, and a hundred tasks at once.
#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "agent_fixture.hpp"
#include "mesos/v1/agent/agent.pb.h"
#include "module_manifest.hpp"
#include "wire/content_type.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST_F(AgentTest, KilledAgentReattachesToRunningTaskAndItsUpdateArrivesOnce) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const std::filesystem::path marker = dir_.path() / "release";
  const std::filesystem::path pidFile = dir_.path() / "task.pid";
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("survivor",
                                                         "echo $$ > " + pidFile.string() + "; while [ ! -e " +
                                                             marker.string() + " ]; do sleep 0.1; done",
                                                         peer_.agentId())));
  ASSERT_EQ(peer_.waitForUpdate("survivor", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);
  ASSERT_TRUE(
      waitUntil([&] { return std::filesystem::exists(pidFile) && std::filesystem::file_size(pidFile) > 0; }, 10s));
  pid_t pid = 0;
  std::ifstream(pidFile) >> pid;
  ASSERT_GT(pid, 0);

  const int subscriptions = logLinesWith(" subscribed");
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
  EXPECT_TRUE(waitUntil([&] { return logLinesWith(" subscribed") > subscriptions; }, 30s)) << agent_->output();
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
    ASSERT_TRUE(peer_.runTask(framework,
                              commandTask("t" + std::to_string(i), "exit " + std::to_string(i % 2), peer_.agentId())));
  }
  int finished = 0;
  int failed = 0;
  for (int i = 0; i < 100; ++i) {
    auto update = peer_.waitForTerminal("t" + std::to_string(i), 120s);
    ASSERT_TRUE(wire::isTerminal(update.status().state())) << "t" << i << " never ended\n" << agent_->output();
    if (update.status().state() == mesos::v1::TASK_FINISHED) ++finished;
    if (update.status().state() == mesos::v1::TASK_FAILED) ++failed;
  }
  EXPECT_EQ(finished, 50);
  EXPECT_EQ(failed, 50);
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 30s));
}

// Runs a long task, waits for TASK_RUNNING; returns the executor's pid and
// the task's (the task writes it to a file).
std::pair<pid_t, pid_t> runLongTask(MasterPeer& peer, const std::filesystem::path& dir, const std::string& taskId,
                                    const std::string& afterPid) {
  const std::filesystem::path pidFile = dir / (taskId + ".pid");
  EXPECT_TRUE(peer.runTask(testFramework(),
                           commandTask(taskId, "echo $$ > " + pidFile.string() + "; " + afterPid, peer.agentId())));
  auto running = peer.waitForUpdate(taskId, mesos::v1::TASK_RUNNING, 30s);
  EXPECT_EQ(running.status().state(), mesos::v1::TASK_RUNNING);
  EXPECT_TRUE(
      waitUntil([&] { return std::filesystem::exists(pidFile) && std::filesystem::file_size(pidFile) > 0; }, 10s));
  pid_t task = 0;
  std::ifstream(pidFile) >> task;
  return {static_cast<pid_t>(running.status().container_status().executor_pid()), task};
}

int terminalCount(const MasterPeer& peer, const std::string& taskId) {
  int count = 0;
  for (const auto& update : peer.distinctUpdates(taskId)) count += wire::isTerminal(update.status().state()) ? 1 : 0;
  return count;
}

TEST_F(AgentTest, ExecutorKilledWhileTheAgentIsDownFailsItsTaskOnce) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto [executor, task] = runLongTask(peer_, dir_.path(), "doomed", "sleep 100");
  ASSERT_GT(executor, 0);
  ASSERT_GT(task, 0);
  // The container's root process, from the agent's checkpoint.
  const std::filesystem::path runs =
      dir_.path() / "agent/meta/slaves" / peer_.agentId() / "frameworks/framework-1/executors/doomed/runs";
  std::string container;
  std::ifstream(runs / "latest") >> container;
  pid_t root = 0;
  std::ifstream(runs / container / "pid") >> root;
  ASSERT_GT(root, 0);
  agent_->kill();
  ASSERT_EQ(::kill(executor, SIGKILL), 0);
  // The root process follows its executor; the task stays behind.
  ASSERT_TRUE(waitUntil([&] { return gone(root); }, 10s));
  EXPECT_FALSE(gone(task));
  startAgent();
  // What the dead container left behind (its task) goes on recovery.
  EXPECT_TRUE(waitUntil([&] { return gone(task); }, 10s));
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
  auto failed = peer_.waitForTerminal("doomed", 30s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED);
  EXPECT_EQ(failed.status().source(), mesos::v1::TaskStatus::SOURCE_AGENT);
  EXPECT_THAT(failed.status().message(), HasSubstr("while the agent was down"));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(terminalCount(peer_, "doomed"), 1);
}

TEST_F(AgentTest, TaskEndingWhileTheAgentIsDownReportsItsOwnStateOnce) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const std::filesystem::path marker = dir_.path() / "release";
  auto [executor, task] =
      runLongTask(peer_, dir_.path(), "quitter", "while [ ! -e " + marker.string() + " ]; do sleep 0.05; done; exit 7");
  ASSERT_GT(task, 0);
  agent_->kill();
  std::ofstream(marker) << "go";
  ASSERT_TRUE(waitUntil([&] { return gone(task); }, 10s));
  startAgent();
  // The executor kept the update and hands it to the new agent.
  auto failed = peer_.waitForTerminal("quitter", 30s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_EQ(failed.status().source(), mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  EXPECT_THAT(failed.status().message(), HasSubstr("status 7"));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(terminalCount(peer_, "quitter"), 1);
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
}

TEST_F(AgentTest, ExecutorThatDoesNotSubscribeAgainInTimeIsKilled) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto [executor, task] = runLongTask(peer_, dir_.path(), "frozen", "sleep 100");
  ASSERT_GT(executor, 0);
  agent_->kill();
  // A stopped executor cannot subscribe to the new agent.
  ASSERT_EQ(::kill(executor, SIGSTOP), 0);
  reregistrationTimeout_ = "1secs";
  startAgent();
  auto failed = peer_.waitForTerminal("frozen", 30s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_EXECUTOR_REREGISTRATION_TIMEOUT);
  EXPECT_TRUE(waitUntil([&] { return gone(executor) && gone(task); }, 10s));
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(terminalCount(peer_, "frozen"), 1);
}

// The agent runs with the launch_probe isolator: a launch fails unless its
// task is checkpointed before the container starts, and the executor starts
// 3 s after its container. Runs `taskId` and kills the agent (kill -9) once
// the container started (its pid is checkpointed, and it runs: the agent
// checkpoints the pid right before it lets the executor start), before the
// executor subscribed; returns the run's checkpoint directory.
std::filesystem::path killAgentBetweenLaunchAndSubscription(MasterPeer& peer, ChildProcess& agent,
                                                            const std::filesystem::path& dir,
                                                            const std::string& taskId) {
  EXPECT_TRUE(peer.runTask(testFramework(), commandTask(taskId, "echo ran", peer.agentId())));
  const std::filesystem::path runs =
      dir / "agent/meta/slaves" / peer.agentId() / "frameworks/framework-1/executors" / taskId / "runs";
  std::string container;
  EXPECT_TRUE(waitUntil(
      [&] {
        std::ifstream(runs / "latest") >> container;
        return !container.empty() && std::filesystem::exists(runs / container / "pid") && !sessionsUnder(dir).empty();
      },
      10s))
      << agent.output();
  agent.kill();
  return runs / container;
}

std::vector<std::string> launchProbeFlags() {
  return {"--modules=" + moduleManifest({isolatorModule(fixtureLibrary("fixture_launch_probe"), "launch_probe")}),
          "--isolation=launch_probe"};
}

// The task is in the checkpoint before its executor's container starts: an
// agent killed in between recovers it, and the executor runs it.
TEST_F(AgentTest, ATaskCheckpointedBeforeItsContainerStartedRunsAfterAnAgentKilledRightAfterTheLaunch) {
  extraFlags_ = launchProbeFlags();
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s)) << agent_->output();
  const std::filesystem::path run = killAgentBetweenLaunchAndSubscription(peer_, *agent_, dir_.path(), "windowed");
  ASSERT_TRUE(std::filesystem::exists(run / "tasks/windowed/task.info"));
  startAgent();
  auto finished = peer_.waitForTerminal("windowed", 30s);
  EXPECT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << finished.status().message() << "\n"
                                                                 << agent_->output();
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
}

// What an agent killed between the launch and the task's checkpoint left
// (as agents did before the task was checkpointed first): an executor with
// no task. It subscribes to the next agent with none and is shut down, its
// container with it.
TEST_F(AgentTest, ARecoveredExecutorThatSubscribesWithNoTasksIsShutDownWithNothingLeft) {
  extraFlags_ = launchProbeFlags();
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s)) << agent_->output();
  const std::filesystem::path run = killAgentBetweenLaunchAndSubscription(peer_, *agent_, dir_.path(), "orphan");
  std::filesystem::remove_all(run / "tasks");
  // The container outlived the agent (its processes are found by their working
  // directory, the sandbox, which the executor's process enters right after
  // its release).
  ASSERT_TRUE(waitUntil([this] { return !sessionsUnder(dir_.path()).empty(); }, 30s));
  startAgent();
  // (Its sessions are not looked for before: between the pre-exec command and
  // the executor the container may briefly have no process in the sandbox.)
  EXPECT_TRUE(waitUntil([this] { return logLinesWith("it has no tasks to run") > 0; }, 30s)) << agent_->output();
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 20s)) << agent_->output();
  EXPECT_TRUE(peer_.distinctUpdates("orphan").empty());
}

// kill -9 of the agent while many launches are under way (the agent launches
// containers off its strand, several at once). The launch_gate isolator holds
// one task's prepare, so the tasks after it are checkpointed but still
// launching at the kill; it records every container's root pid and cleanup.
// After the restart every task is accounted for: re-adopted and finishing, or
// failed because its executor never ran, each with exactly one terminal
// update; every container's isolator state is cleaned up (those that never
// got a pid as orphans) and no process is left.
TEST_F(AgentTest, AnAgentKilledWhileManyLaunchesAreUnderWayAccountsForEveryTaskAfterItsRestartAndLeavesNothing) {
  const std::filesystem::path gates = dir_.path() / "gates";
  std::filesystem::create_directories(gates);
  extraFlags_ = launchGateFlags(gates);
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s)) << agent_->output();
  constexpr int kTasks = 30;
  constexpr int kHeld = 10;
  std::ofstream(gates / ("t" + std::to_string(kHeld) + ".hold-prepare"));
  const std::filesystem::path finish = gates / "finish";
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(peer_.runTask(
        testFramework(), commandTask("t" + std::to_string(i),
                                     "while [ ! -e '" + finish.string() + "' ]; do sleep 0.1; done", peer_.agentId())));
  }
  const std::filesystem::path executors =
      dir_.path() / "agent/meta/slaves" / peer_.agentId() / "frameworks/framework-1/executors";
  auto containerOf = [&](int i) {
    std::string container;
    std::ifstream(executors / ("t" + std::to_string(i)) / "runs/latest") >> container;
    return container;
  };
  auto checkpointed = [&](int i) {
    const std::string container = containerOf(i);
    const std::string task = "t" + std::to_string(i);
    return !container.empty() &&
           std::filesystem::exists(executors / task / "runs" / container / "tasks" / task / "task.info");
  };
  ASSERT_TRUE(waitUntil(
      [&] {
        for (int i = 0; i < kTasks; ++i) {
          if (!checkpointed(i)) return false;
        }
        return std::filesystem::exists(gates / ("t" + std::to_string(kHeld) + ".preparing"));
      },
      60s))
      << agent_->output();
  agent_->kill();  // kill -9, the tasks after the held one still launching
  std::set<std::string> ranBefore;
  for (int i = 0; i < kTasks; ++i) {
    for (const auto& update : peer_.distinctUpdates("t" + std::to_string(i))) {
      if (update.status().state() == mesos::v1::TASK_RUNNING) ranBefore.insert("t" + std::to_string(i));
    }
  }

  startAgent();
  std::ofstream(finish) << "go";
  for (int i = 0; i < kTasks; ++i) {
    const std::string task = "t" + std::to_string(i);
    auto terminal = peer_.waitForTerminal(task, 120s);
    ASSERT_TRUE(wire::isTerminal(terminal.status().state())) << task << " was never accounted for\n"
                                                             << agent_->output();
    if (ranBefore.count(task) > 0) {
      EXPECT_EQ(terminal.status().state(), mesos::v1::TASK_FINISHED) << task << ": " << terminal.status().message();
    }
  }
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 30s));
  for (int i = 0; i < kTasks; ++i) {
    const std::string task = "t" + std::to_string(i);
    EXPECT_EQ(terminalCount(peer_, task), 1) << task;
    // Cleaned up: after its end, or at recovery as an orphan.
    const std::string container = containerOf(i);
    EXPECT_TRUE(waitUntil([&] { return std::filesystem::exists(gates / "cleaned" / container); }, 30s))
        << task << "'s container " << container << " was never cleaned up";
  }
  for (const auto& entry : std::filesystem::directory_iterator(gates / "pids")) {
    pid_t root = 0;
    std::ifstream(entry.path()) >> root;
    EXPECT_TRUE(waitUntil([&] { return gone(root); }, 30s))
        << "the root " << root << " of " << entry.path().filename() << " is left";
  }
}

TEST_F(AgentTest, RecoverCleanupKillsRecoveredExecutorsAndForgetsThem) {
  extraFlags_ = {"--executor_shutdown_grace_period=1secs"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto [executor, task] = runLongTask(peer_, dir_.path(), "old", "sleep 100");
  ASSERT_GT(task, 0);
  const std::string firstId = peer_.agentId();
  agent_->kill();
  ASSERT_EQ(::kill(task, 0), 0);

  std::vector<std::string> args = agentArgs();
  args.push_back("--recover=cleanup");
  ChildProcess cleanup(args, dir_.path() / "cleanup.log");
  const int status = cleanup.wait(30s);
  ASSERT_TRUE(WIFEXITED(status)) << status << "\n" << cleanup.output();
  EXPECT_EQ(WEXITSTATUS(status), 0) << cleanup.output();
  EXPECT_TRUE(gone(executor));
  EXPECT_TRUE(gone(task));
  EXPECT_TRUE(sessionsUnder(dir_.path()).empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "agent" / "meta"));
  EXPECT_EQ(peer_.reregistrations(), 0) << "cleanup must not talk to the master";

  // The next agent starts afresh: a new registration, nothing to recover.
  startAgent();
  ASSERT_TRUE(waitUntil([this] { return peer_.registrations() == 2; }, 20s)) << agent_->output();
  EXPECT_NE(peer_.agentId(), firstId);
  EXPECT_EQ(peer_.reregistrations(), 0);
}

}  // namespace
}  // namespace mantle::testing
