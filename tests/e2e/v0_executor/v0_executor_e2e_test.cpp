// Mesos' own libmesos (v0) executors, test-executor and balloon-executor from
// ../shared/mesos-reference, launched as custom executors by a real
// mantle-agent under a real mantle-master (LocalCluster) for a v1 framework
// (the C++ scheduler client): their tasks run to TASK_FINISHED through the
// master with every update acknowledged, framework messages reach them, and
// one keeps running across kill -9 of its agent, reregisters with the
// restarted agent and its task finishes once. Then Mesos' v0 frameworks with
// their v0 executors, unchanged: test-framework, and balloon-framework across
// kill -9 of the agent. Skipped where the reference build is absent.
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "cluster.hpp"
#include "master_fixture.hpp"
#include "mesos_peer.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {
namespace {

namespace fs = std::filesystem;

fs::path mesosReference() {
  return MesosPeer::home();
}

class V0ExecutorE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(mesosReference() / "bin" / "test-executor")) {
      GTEST_SKIP() << "no Mesos reference build at " << mesosReference();
    }
    ClusterOptions options;
    options.agentFlags = {"--executor_shutdown_grace_period=1secs", "--executor_reregistration_timeout=10secs"};
    cluster_ = std::make_unique<LocalCluster>(options);
    Status started = cluster_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    scheduler::SchedulerOptions schedulerOptions;
    schedulerOptions.master = cluster_->masterAddress();
    schedulerOptions.frameworkInfo.set_user("root");
    schedulerOptions.frameworkInfo.set_name("v0 executor e2e");
    schedulerOptions.frameworkInfo.set_checkpoint(true);
    scheduler::SchedulerCallbacks callbacks = recorder_.callbacks();
    scheduler_ = std::make_unique<scheduler::Scheduler>(schedulerOptions, callbacks);
    scheduler_->start();
    ASSERT_TRUE(recorder_.waitFor([&] { return recorder_.subscribed > 0; }, 10s));
  }

  // The cluster kills what runs in its work dirs, executors included.
  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << cluster_->logs();
    if (scheduler_) scheduler_->stop();
  }

  // A task for libmesos executor `program` (bin/ of the reference build)
  // with executor id `executorId` on `offer`.
  v1::TaskInfo v0Task(const std::string& taskId, const v1::Offer& offer, const std::string& executorId,
                      const std::string& program, const std::string& data = "") {
    v1::TaskInfo task = scheduler::commandTask(taskId, offer, "", "cpus:0.1;mem:32");
    task.clear_command();
    task.set_data(data);
    v1::ExecutorInfo* executor = task.mutable_executor();
    executor->set_type(v1::ExecutorInfo::CUSTOM);
    executor->mutable_executor_id()->set_value(executorId);
    executor->set_name("v0 " + program);
    executor->mutable_command()->set_shell(false);
    executor->mutable_command()->set_value((mesosReference() / "bin" / program).string());
    executor->mutable_command()->add_arguments(program);
    return task;
  }

  std::string sandboxFile(const std::string& executorId, const std::string& name) {
    return testing::sandboxFile(cluster_->agentWorkDir(0), executorId, name);
  }

  int count(const std::string& taskId, v1::TaskState state) {
    return recorder_.snapshot([&] {
      int n = 0;
      for (const auto& update : recorder_.updates) n += update.task_id().value() == taskId && update.state() == state;
      return n;
    });
  }

  std::unique_ptr<LocalCluster> cluster_;
  Recorder recorder_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
};

TEST_F(V0ExecutorE2E, TestExecutorRunsTwoTasksOfAV1FrameworkToFinished) {
  std::optional<v1::Offer> offer = recorder_.takeOffer(20s);
  ASSERT_TRUE(offer);
  ASSERT_TRUE(scheduler_
                  ->launch(*offer, {v0Task("v0-e2e-1", *offer, "v0-e2e", "test-executor"),
                                    v0Task("v0-e2e-2", *offer, "v0-e2e", "test-executor")})
                  .ok());
  for (const std::string task : {"v0-e2e-1", "v0-e2e-2"}) {
    ASSERT_TRUE(recorder_.waitForUpdate(task, v1::TASK_FINISHED, 30s)) << task;
    EXPECT_EQ(count(task, v1::TASK_RUNNING), 1);
    EXPECT_EQ(count(task, v1::TASK_FINISHED), 1);
  }
  EXPECT_TRUE(waitUntil(
      [&] { return sandboxFile("v0-e2e", "stdout").find("Registered executor on") != std::string::npos; }, 10s));
  // The scheduler acknowledged both tasks' updates: the master lists them
  // completed.
  EXPECT_TRUE(waitUntil(
      [&] {
        auto r = http::request("POST", cluster_->masterUrl() + "/api/v1", {{"Content-Type", "application/json"}},
                               R"({"type":"GET_TASKS"})");
        return r.ok() && r->body.find("\"completed_tasks\"") != std::string::npos &&
               r->body.find("v0-e2e-2") != std::string::npos;
      },
      10s));
}

TEST_F(V0ExecutorE2E, BalloonExecutorGetsFrameworkMessagesAndSurvivesKillNineOfItsAgent) {
  std::optional<v1::Offer> offer = recorder_.takeOffer(20s);
  ASSERT_TRUE(offer);
  // 5 steps of 64 MB, one a second, then TASK_FINISHED.
  ASSERT_TRUE(
      scheduler_->launch(*offer, {v0Task("v0-balloon", *offer, "v0-balloon", "balloon-executor", "320MB")}).ok());
  ASSERT_TRUE(recorder_.waitForUpdate("v0-balloon", v1::TASK_RUNNING, 30s));
  v1::ExecutorID executorId;
  executorId.set_value("v0-balloon");
  ASSERT_TRUE(scheduler_->message(offer->agent_id(), executorId, "through the master").ok());
  EXPECT_TRUE(waitUntil(
      [&] {
        return sandboxFile("v0-balloon", "stderr").find("Framework message: through the master") != std::string::npos;
      },
      10s))
      << sandboxFile("v0-balloon", "stderr");

  ASSERT_TRUE(cluster_->restartAgent(0, /*kill9=*/true).ok());
  EXPECT_TRUE(
      waitUntil([&] { return sandboxFile("v0-balloon", "stderr").find("Reregistered") != std::string::npos; }, 15s))
      << sandboxFile("v0-balloon", "stderr");
  ASSERT_TRUE(recorder_.waitForUpdate("v0-balloon", v1::TASK_FINISHED, 30s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(count("v0-balloon", v1::TASK_FINISHED), 1);
  for (const auto& update : recorder_.snapshot([&] { return recorder_.updates; })) {
    EXPECT_TRUE(update.state() == v1::TASK_RUNNING || update.state() == v1::TASK_FINISHED)
        << v1::TaskState_Name(update.state()) << ": " << update.message();
  }
}

// Mesos' test-framework: the v0 scheduler driver launches its tasks on its
// own v0 test-executor (found through MESOS_HELPER_DIR) and exits 0 once
// every task finished.
TEST(V0FrameworkE2E, TestFrameworkRunsItsTasksOnItsV0ExecutorToSuccess) {
  if (!fs::exists(mesosReference() / "bin" / "test-framework")) {
    GTEST_SKIP() << "no Mesos reference build at " << mesosReference();
  }
  LocalCluster cluster;
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  TempDir dir;
  ChildProcess framework(
      {(mesosReference() / "bin" / "test-framework").string(), "--master=" + cluster.masterAddress()},
      dir.path() / "framework.log", {{"MESOS_HELPER_DIR", (mesosReference() / "bin").string()}});
  const int status = framework.wait(60s);
  if (status == -1) framework.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << framework.output() << cluster.logs();
}

// Mesos' balloon-framework (checkpointing) with its v0 balloon-executor:
// the agent is killed with -9 and restarted while the executor runs; the
// executor reregisters and its TASK_FINISHED ends the framework with 0.
TEST(V0FrameworkE2E, BalloonFrameworkFinishesAcrossKillNineOfTheAgent) {
  if (!fs::exists(mesosReference() / "bin" / "balloon-framework")) {
    GTEST_SKIP() << "no Mesos reference build at " << mesosReference();
  }
  ClusterOptions options;
  options.agentFlags = {"--executor_reregistration_timeout=10secs"};
  LocalCluster cluster(options);
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  TempDir dir;
  // 5 steps of 64 MB, one a second.
  ChildProcess framework(
      {(mesosReference() / "bin" / "balloon-framework").string(), "--master=" + cluster.masterAddress(), "--checkpoint",
       "--task_memory=512MB", "--task_memory_usage_limit=320MB",
       "--executor_command=" + (mesosReference() / "bin" / "balloon-executor").string()},
      dir.path() / "framework.log");
  ASSERT_TRUE(waitUntil(
      [&] {
        return testing::sandboxFile(cluster.agentWorkDir(0), "0", "stderr").find("Increasing memory") !=
               std::string::npos;
      },
      30s))
      << framework.output() << cluster.logs();
  ASSERT_TRUE(cluster.restartAgent(0, /*kill9=*/true).ok());
  const int status = framework.wait(60s);
  if (status == -1) framework.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << framework.output() << cluster.logs();
  EXPECT_THAT(framework.output(), ::testing::HasSubstr("TASK_FINISHED"));
  EXPECT_THAT(testing::sandboxFile(cluster.agentWorkDir(0), "0", "stderr"), ::testing::HasSubstr("Reregistered"));
}

}  // namespace
}  // namespace mantle::testing
