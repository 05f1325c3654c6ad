// mantle-master, mantle-agent and mantle-executor as real processes
// (LocalCluster), driven by the tests' v1 scheduler (test_framework.hpp): a
// task runs to TASK_FINISHED, a task survives kill -9 of its agent, keeps its
// pid, and its TASK_FINISHED reaches the scheduler exactly once, and an agent
// restarted with --recover=cleanup kills its task, which the scheduler then
// sees TASK_LOST once.
#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "../../core/agent/agent_fixture.hpp"
#include "cluster.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "test_framework.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;

class AgentEndToEnd : public ::testing::Test {
 protected:
  void TearDown() override {
    scheduler_.reset();
    cluster_.reset();
    killSessionsUnder(dir_.path());
  }

  // A cluster whose master has `reregisterTimeout`, with `taskId` running
  // `command`.
  void startWithRunningTask(const std::string& reregisterTimeout, const std::string& taskId,
                            const std::string& command) {
    ClusterOptions options;
    options.masterFlags = {"--agent_reregister_timeout=" + reregisterTimeout};
    options.agentFlags = {"--executor_shutdown_grace_period=1secs"};
    cluster_ = std::make_unique<LocalCluster>(options);
    ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
    ASSERT_NO_FATAL_FAILURE(startScheduler());
    ASSERT_TRUE(launch(taskId, command));
    ASSERT_TRUE(scheduler_->waitForState(taskId, mesos::v1::TASK_RUNNING, 60s)) << cluster_->logs();
  }

  // A checkpointing framework on the cluster's master.
  void startScheduler() {
    scheduler_ = std::make_unique<TestFramework>(
        cluster_->masterUrl(), TestFramework::Options{.checkpoint = true, .name = "agent e2e", .user = "root"});
    Status started = scheduler_->start();
    ASSERT_TRUE(started.ok()) << started.error().message << "\n" << cluster_->logs();
  }

  // Launches `command` as task `taskId` on the next offer (`adjust` may
  // change the TaskInfo first).
  bool launch(const std::string& taskId, const std::string& command,
              const std::function<void(mesos::v1::TaskInfo&)>& adjust = {}) {
    mesos::v1::TaskInfo task = commandTask(taskId, command, "");
    if (adjust) adjust(task);
    Status launched = scheduler_->launch(task);
    EXPECT_TRUE(launched.ok()) << launched.error().message;
    return launched.ok();
  }

  // kill -9 of the agent, then the same agent once with --recover=cleanup,
  // which must exit 0.
  void killAgentAndCleanUp() {
    ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
    std::vector<std::string> args = cluster_->agentArgs(0);
    args.push_back("--recover=cleanup");
    ChildProcess cleanup(args, dir_.path() / "cleanup.log");
    const int status = cleanup.wait(30s);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << cleanup.output();
  }

  // The terminal updates `taskId` got.
  std::vector<mesos::v1::TaskStatus> terminalUpdates(const std::string& taskId) {
    std::vector<mesos::v1::TaskStatus> terminal;
    for (const auto& update : scheduler_->updates(taskId)) {
      if (wire::isTerminal(update.state())) terminal.push_back(update);
    }
    return terminal;
  }

  TempDir dir_;  // where the tasks write; their sessions are reaped from here
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<TestFramework> scheduler_;
};

TEST_F(AgentEndToEnd, TaskRunsToFinishedThroughTheMaster) {
  cluster_ = std::make_unique<LocalCluster>();
  ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
  ASSERT_NO_FATAL_FAILURE(startScheduler());
  ASSERT_TRUE(launch("e2e-hello", "cd " + dir_.path().string() + " && echo hello"));
  EXPECT_TRUE(scheduler_->waitForState("e2e-hello", mesos::v1::TASK_FINISHED, 60s)) << cluster_->logs();
  std::vector<mesos::v1::TaskState> seen;
  for (const auto& status : scheduler_->updates("e2e-hello")) seen.push_back(status.state());
  EXPECT_EQ(seen, (std::vector<mesos::v1::TaskState>{mesos::v1::TASK_STARTING, mesos::v1::TASK_RUNNING,
                                                     mesos::v1::TASK_FINISHED}));
}

TEST_F(AgentEndToEnd, TaskSurvivesAgentKillNineAndFinishesOnce) {
  cluster_ = std::make_unique<LocalCluster>();
  ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
  ASSERT_NO_FATAL_FAILURE(startScheduler());
  const auto marker = dir_.path() / "release";
  const auto pidFile = dir_.path() / "pid";
  ASSERT_TRUE(launch("e2e-survivor", "cd " + dir_.path().string() + " && echo $$ > " + pidFile.string() +
                                         " && while [ ! -e " + marker.string() + " ]; do sleep 0.1; done"));
  ASSERT_TRUE(scheduler_->waitForState("e2e-survivor", mesos::v1::TASK_RUNNING, 60s)) << cluster_->logs();
  ASSERT_TRUE(
      waitUntil([&] { return std::filesystem::exists(pidFile) && std::filesystem::file_size(pidFile) > 0; }, 10s));
  pid_t pid = 0;
  std::ifstream(pidFile) >> pid;
  ASSERT_GT(pid, 0);
  // Lines of the agent's log (kept across restarts) saying the executor subscribed.
  auto subscriptions = [&] {
    std::istringstream log(cluster_->agent(0).output());
    int count = 0;
    for (std::string line; std::getline(log, line);) {
      count += line.find("Executor e2e-survivor of framework") != std::string::npos &&
               line.find(" subscribed") != std::string::npos;
    }
    return count;
  };
  const int before = subscriptions();
  ASSERT_TRUE(cluster_->restartAgent(0, /*kill9=*/true).ok()) << cluster_->logs();
  EXPECT_EQ(::kill(pid, 0), 0);
  // The task ends once its executor has subscribed to the new agent.
  ASSERT_TRUE(waitUntil([&] { return subscriptions() > before; }, 60s)) << cluster_->logs();
  std::ofstream(marker) << "go";
  ASSERT_TRUE(scheduler_->waitForState("e2e-survivor", mesos::v1::TASK_FINISHED, 60s)) << cluster_->logs();
  std::this_thread::sleep_for(1s);
  int finished = 0;
  for (const auto& status : scheduler_->updates("e2e-survivor")) finished += status.state() == mesos::v1::TASK_FINISHED;
  EXPECT_EQ(finished, 1);
}

TEST_F(AgentEndToEnd, RecoverCleanupKillsTheTaskAndTheSchedulerSeesItLostOnce) {
  const auto pidFile = dir_.path() / "pid";
  ASSERT_NO_FATAL_FAILURE(startWithRunningTask(
      "2secs", "e2e-old", "cd " + dir_.path().string() + " && echo $$ > " + pidFile.string() + " && exec sleep 100"));
  ASSERT_TRUE(
      waitUntil([&] { return std::filesystem::exists(pidFile) && std::filesystem::file_size(pidFile) > 0; }, 10s));
  pid_t pid = 0;
  std::ifstream(pidFile) >> pid;
  ASSERT_GT(pid, 0);

  ASSERT_NO_FATAL_FAILURE(killAgentAndCleanUp());
  EXPECT_TRUE(waitUntil([&] { return ::kill(pid, 0) != 0; }, 10s)) << "the task outlived --recover=cleanup";

  // The master gives the old agent up and its task ends, once.
  ASSERT_TRUE(scheduler_->waitForState("e2e-old", mesos::v1::TASK_LOST, 30s)) << cluster_->logs();
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(terminalUpdates("e2e-old").size(), 1u);
}

// Mesos' rule: a new agent registering from the address of a disconnected
// one replaced it; the master removes the old agent at once (not after a
// long --agent_reregister_timeout) and its task is lost once, saying why.
TEST_F(AgentEndToEnd, NewAgentAtTheAddressOfADisconnectedOneReplacesIt) {
  ASSERT_NO_FATAL_FAILURE(startWithRunningTask("10mins", "e2e-replaced", "exec sleep 100"));
  ASSERT_NO_FATAL_FAILURE(killAgentAndCleanUp());
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();

  ASSERT_TRUE(scheduler_->waitForState("e2e-replaced", mesos::v1::TASK_LOST, 30s)) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();
  std::this_thread::sleep_for(1s);
  const std::vector<mesos::v1::TaskStatus> terminal = terminalUpdates("e2e-replaced");
  EXPECT_EQ(terminal.size(), 1u);
  for (const mesos::v1::TaskStatus& update : terminal) {
    EXPECT_EQ(update.reason(), mesos::v1::TaskStatus::REASON_AGENT_REMOVED);
    EXPECT_NE(update.message().find("replaced by a new agent registering at the same address"), std::string::npos)
        << update.message();
  }
  auto slaves = http::request("GET", cluster_->masterUrl() + "/master/slaves", {}, "");
  ASSERT_TRUE(slaves.ok());
  EXPECT_EQ(parseJson(slaves->body)["slaves"].size(), 1u) << "the replaced agent is still listed: " << slaves->body;
}

// DRAIN_AGENT's max_grace_period travels from the operator API through the
// master to the agent, which kills a task ignoring SIGTERM within it although
// the task's own kill policy allows ten minutes.
TEST_F(AgentEndToEnd, DrainAgentWithAMaxGracePeriodKillsATaskIgnoringSigtermWithinIt) {
  cluster_ = std::make_unique<LocalCluster>();
  ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
  ASSERT_NO_FATAL_FAILURE(startScheduler());
  const auto trapped = dir_.path() / "trapped";
  ASSERT_TRUE(
      launch("e2e-stubborn", "trap '' TERM; touch " + trapped.string() + "; sleep 600", [](mesos::v1::TaskInfo& task) {
        task.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(600LL * 1000000000);
      }));
  ASSERT_TRUE(scheduler_->waitForState("e2e-stubborn", mesos::v1::TASK_RUNNING, 60s)) << cluster_->logs();
  ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(trapped); }, 30s)) << "the shell did not set its trap";
  const std::string agentId = scheduler_->updates("e2e-stubborn").front().agent_id().value();
  const auto start = std::chrono::steady_clock::now();
  auto drained = http::request("POST", cluster_->masterUrl() + "/api/v1", {{"Content-Type", "application/json"}},
                               R"({"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":")" + agentId +
                                   R"("},"max_grace_period":{"seconds":1}}})");
  ASSERT_TRUE(drained.ok());
  ASSERT_EQ(drained->status, 200) << drained->body;
  ASSERT_TRUE(scheduler_->waitForState("e2e-stubborn", mesos::v1::TASK_KILLED, 30s)) << cluster_->logs();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

}  // namespace
}  // namespace mantle::testing
