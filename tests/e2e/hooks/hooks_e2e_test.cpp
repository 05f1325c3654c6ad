// Hooks in a real cluster: mantle-master, and mantle-agent loading hook
// modules through --modules and --hooks, driven by the tests' v1 scheduler
// (test_framework.hpp). The env and labels hooks reach a task (and the status
// update decorator its updates); a failing hook, and one past its deadline,
// fail the launch with TASK_FAILED and the hook's reason. The master's --hooks: its
// label decorator's labels are what the master shows and the agent runs, a
// failing one refuses the task with TASK_ERROR, and a webhook on the master
// receives a task's TASK_UPDATED events in order.
#include <gtest/gtest.h>

#include <json/value.h>
#include <json/writer.h>
#include <fstream>
#include <set>
#include <sstream>

#include "cluster.hpp"
#include "http_json.hpp"
#include "master_peer.hpp"
#include "module_manifest.hpp"
#include "process.hpp"
#include "process/sessions.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"
#include "webhook_receiver.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;

Json::Value strings(const std::vector<std::string>& items) {
  Json::Value out(Json::arrayValue);
  for (const std::string& item : items) out.append(item);
  return out;
}

// A hook instance of `library` with `config`.
ManifestModule hook(const std::string& library, const std::string& name, const std::string& instance,
                    const Json::Value& config, int timeoutMs = -1) {
  return {
      .library = library, .name = name, .kind = "hook", .config = config, .instance = instance, .timeoutMs = timeoutMs};
}

std::vector<std::pair<std::string, std::string>> labelsOf(const mesos::v1::Labels& labels) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& label : labels.labels()) out.emplace_back(label.key(), label.value());
  return out;
}

class HooksEndToEnd : public ::testing::Test {
 protected:
  void TearDown() override {
    scheduler_.reset();
    cluster_.reset();
    process::killSessionsUnder(dir_.path());
  }

  // The manifest every test's agent loads: the posix isolators and every
  // hook instance the tests select from with --hooks.
  std::string manifest() const { return dir_.write("modules.json", manifestJson()).string(); }

  std::string manifestJson() const {
    Json::Value labelsConfig;
    labelsConfig["labels"] = strings({"team=infra"});
    labelsConfig["agent_hostname_label"] = "agent_hostname";
    Json::Value envConfig;
    envConfig["variables"] = strings({"HOOK_TEAM_ENV=infra-env", "HOOK_SECOND=2"});
    envConfig["labels"] = strings({"team=infra"});  // the label the labels hook adds
    Json::Value stampConfig;
    stampConfig["key"] = "stamped";
    stampConfig["value"] = "yes";
    Json::Value gateConfig;
    gateConfig["message"] = "launches are frozen for maintenance";
    Json::Value slowConfig;
    slowConfig["sleep_ms"] = 1000;

    Json::Value masterLabelsConfig;
    masterLabelsConfig["labels"] = strings({"placed_by=master"});

    std::vector<ManifestModule> modules = {
        {.library = "mantle_posix", .name = "posix/cpu"},
        {.library = "mantle_posix", .name = "posix/mem"},
        hook("mantle_labels", "labels", "labels", labelsConfig),
        hook("mantle_env", "env", "env", envConfig),
        hook(fixtureLibrary("fixture_hook_append"), "append", "stamp", stampConfig),
        hook(fixtureLibrary("fixture_hook_fail"), "fail", "gate", gateConfig),
        hook(fixtureLibrary("fixture_hook_sleep"), "sleep", "slow", slowConfig, /*timeoutMs=*/200),
        // The master's: its allocator, a labels instance of its own and a
        // webhook posting to the test's receiver.
        {.library = "mantle_allocator_drf", .name = "drf", .kind = "allocator"},
        hook("mantle_labels", "labels", "master_labels", masterLabelsConfig)};
    if (!webhookUrl_.empty()) {
      Json::Value webhookConfig;
      webhookConfig["urls"] = strings({webhookUrl_});
      webhookConfig["events"] = strings({"TASK_UPDATED"});
      modules.push_back(hook("mantle_webhook", "webhook", "webhook", webhookConfig));
    }
    return moduleManifest(modules);
  }

  // `masterHooks` non-empty: the master gets the manifest inline and --hooks.
  void startCluster(const std::string& hooks, const std::string& masterHooks = "") {
    ClusterOptions options;
    options.agentFlags = {"--modules=" + manifest(), "--hooks=" + hooks};
    if (!masterHooks.empty()) options.masterFlags = {"--modules=" + manifestJson(), "--hooks=" + masterHooks};
    cluster_ = std::make_unique<LocalCluster>(options);
    ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
    scheduler_ = std::make_unique<TestFramework>(cluster_->masterUrl(),
                                                 TestFramework::Options{.name = "hooks e2e", .user = "root"});
    Status started = scheduler_->start();
    ASSERT_TRUE(started.ok()) << started.error().message << "\n" << cluster_->logs();
  }

  Json::Value agentJson(const std::string& path) {
    return getJson(cluster_->agentUrl(0) + path).value_or(Json::Value());
  }

  // The agent's view of a live task's labels, from /state.
  std::vector<std::pair<std::string, std::string>> agentTaskLabels(const std::string& taskId) {
    std::vector<std::pair<std::string, std::string>> out;
    const Json::Value state = agentJson("/state");
    for (const auto& framework : state["frameworks"]) {
      for (const auto& executor : framework["executors"]) {
        for (const auto& task : executor["tasks"]) {
          if (task["id"].asString() != taskId) continue;
          for (const auto& label : task["labels"]) out.emplace_back(label["key"].asString(), label["value"].asString());
        }
      }
    }
    return out;
  }

  Json::Value masterJson(const std::string& path) {
    return getJson(cluster_->masterUrl() + path).value_or(Json::Value());
  }

  // The master's view of a task's labels, from /master/tasks.
  std::vector<std::pair<std::string, std::string>> masterTaskLabels(const std::string& taskId) {
    std::vector<std::pair<std::string, std::string>> out;
    const Json::Value tasks = masterJson("/master/tasks");  // keep it alive for the loop
    for (const auto& task : tasks["tasks"]) {
      if (task["id"].asString() != taskId) continue;
      for (const auto& label : task["labels"]) out.emplace_back(label["key"].asString(), label["value"].asString());
    }
    return out;
  }

  std::string webhookUrl_;  // set before startCluster for the master's webhook instance
  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<TestFramework> scheduler_;
};

TEST_F(HooksEndToEnd, EnvAndLabelsReachTheTask) {
  ASSERT_NO_FATAL_FAILURE(startCluster("labels,env,stamp"));
  const auto out = dir_.path() / "env.out";
  const auto release = dir_.path() / "release";
  mesos::v1::TaskInfo task = commandTask("hooked",
                                         "echo \"$HOOK_TEAM_ENV $HOOK_SECOND $stamped\" > " + out.string() +
                                             " && while [ ! -e " + release.string() + " ]; do sleep 0.1; done",
                                         "");
  auto* own = task.mutable_labels()->add_labels();
  own->set_key("owner");
  own->set_value("alice");
  ASSERT_TRUE(scheduler_->launch(task).ok());
  ASSERT_TRUE(scheduler_->waitForState("hooked", mesos::v1::TASK_RUNNING, 60s)) << cluster_->logs();
  ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(out) && std::filesystem::file_size(out) > 0; }, 30s));
  std::string line;
  std::getline(std::ifstream(out) >> std::ws, line);
  // env (selected by the label the labels hook added) and then the stamp hook
  // decorated the executor's environment; the task inherits it.
  EXPECT_EQ(line, "infra-env 2 yes");

  // The agent runs the task with the labels every hook added, in --hooks order.
  const std::string hostname = agentJson("/state")["hostname"].asString();
  ASSERT_FALSE(hostname.empty());
  EXPECT_EQ(agentTaskLabels("hooked"),
            (std::vector<std::pair<std::string, std::string>>{
                {"owner", "alice"}, {"team", "infra"}, {"agent_hostname", hostname}, {"stamped", "yes"}}));

  std::ofstream(release) << "go";
  std::optional<mesos::v1::TaskStatus> finished = scheduler_->waitForState("hooked", mesos::v1::TASK_FINISHED, 60s);
  ASSERT_TRUE(finished.has_value()) << cluster_->logs();
  // The status update decorator (the stamp hook) labelled the update.
  EXPECT_EQ(labelsOf(finished->labels()), (std::vector<std::pair<std::string, std::string>>{{"stamped", "yes"}}));

  Json::Value metrics = agentJson("/metrics/snapshot");
  EXPECT_EQ(metrics["slave/hooks/agent_run_task_label_decorator/labels/calls"].asDouble(), 1);
  EXPECT_EQ(metrics["slave/hooks/executor_environment_decorator/env/calls"].asDouble(), 1);
  EXPECT_EQ(metrics["slave/hooks/executor_environment_decorator/env/failures"].asDouble(), 0);
}

TEST_F(HooksEndToEnd, FailingHookFailsTheLaunchWithItsReason) {
  ASSERT_NO_FATAL_FAILURE(startCluster("labels,gate,stamp"));
  const auto marker = dir_.path() / "ran";
  ASSERT_TRUE(scheduler_->launch(commandTask("refused", "touch " + marker.string(), "")).ok());
  std::optional<mesos::v1::TaskStatus> failed = scheduler_->waitForState("refused", mesos::v1::TASK_FAILED, 60s);
  ASSERT_TRUE(failed.has_value()) << cluster_->logs();
  EXPECT_EQ(failed->reason(), mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_EQ(failed->source(), mesos::v1::TaskStatus::SOURCE_AGENT);
  EXPECT_NE(failed->message().find("hook 'gate' failed at agent_run_task_label_decorator"), std::string::npos)
      << failed->message();
  EXPECT_NE(failed->message().find("launches are frozen for maintenance"), std::string::npos) << failed->message();
  EXPECT_EQ(scheduler_->states("refused"), (std::vector<mesos::v1::TaskState>{mesos::v1::TASK_FAILED}));
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the task must not run";

  Json::Value metrics = agentJson("/metrics/snapshot");
  EXPECT_EQ(metrics["slave/hooks/agent_run_task_label_decorator/gate/failures"].asDouble(), 1);
  // The chain stopped at the failing hook.
  EXPECT_EQ(metrics["slave/hooks/agent_run_task_label_decorator/stamp/calls"].asDouble(), 0);
  // The gate also fails the status decorator; that fails open, so the update
  // still went out (with the stamp of the hook after it).
  EXPECT_GE(metrics["slave/hooks/task_status_update_decorator/gate/failures"].asDouble(), 1);
  EXPECT_EQ(labelsOf(failed->labels()), (std::vector<std::pair<std::string, std::string>>{{"stamped", "yes"}}));
}

TEST_F(HooksEndToEnd, HookPastItsDeadlineFailsTheLaunch) {
  ASSERT_NO_FATAL_FAILURE(startCluster("slow"));
  ASSERT_TRUE(scheduler_->launch(commandTask("late", "true", "")).ok());
  std::optional<mesos::v1::TaskStatus> failed = scheduler_->waitForState("late", mesos::v1::TASK_FAILED, 60s);
  ASSERT_TRUE(failed.has_value()) << cluster_->logs();
  EXPECT_EQ(failed->reason(), mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(failed->message().find("hook 'slow' failed at agent_run_task_label_decorator"), std::string::npos)
      << failed->message();
  EXPECT_NE(failed->message().find("deadline of 200 ms"), std::string::npos) << failed->message();
  Json::Value metrics = agentJson("/metrics/snapshot");
  EXPECT_EQ(metrics["slave/hooks/agent_run_task_label_decorator/slow/timeouts"].asDouble(), 1);
}

TEST_F(HooksEndToEnd, MasterLabelDecoratorLabelsWhatTheMasterShowsAndTheAgentRuns) {
  ASSERT_NO_FATAL_FAILURE(startCluster("", "master_labels"));
  const auto release = dir_.path() / "release";
  mesos::v1::TaskInfo task = commandTask("placed", "while [ ! -e " + release.string() + " ]; do sleep 0.1; done", "");
  auto* own = task.mutable_labels()->add_labels();
  own->set_key("owner");
  own->set_value("alice");
  ASSERT_TRUE(scheduler_->launch(task).ok());
  ASSERT_TRUE(scheduler_->waitForState("placed", mesos::v1::TASK_RUNNING, 60s)) << cluster_->logs();
  const std::vector<std::pair<std::string, std::string>> expected = {{"owner", "alice"}, {"placed_by", "master"}};
  EXPECT_EQ(masterTaskLabels("placed"), expected);
  EXPECT_EQ(agentTaskLabels("placed"), expected);
  std::ofstream(release) << "go";
  ASSERT_TRUE(scheduler_->waitForState("placed", mesos::v1::TASK_FINISHED, 60s)) << cluster_->logs();
  Json::Value metrics = masterJson("/metrics/snapshot");
  EXPECT_EQ(metrics["master/hooks/master_launch_task_label_decorator/master_labels/calls"].asDouble(), 1);
  EXPECT_EQ(metrics["master/hooks/master_launch_task_label_decorator/master_labels/failures"].asDouble(), 0);
}

TEST_F(HooksEndToEnd, FailingMasterDecoratorRefusesTheTaskWithTaskError) {
  ASSERT_NO_FATAL_FAILURE(startCluster("", "gate"));
  const auto marker = dir_.path() / "ran";
  ASSERT_TRUE(scheduler_->launch(commandTask("refused", "touch " + marker.string(), "")).ok());
  std::optional<mesos::v1::TaskStatus> error = scheduler_->waitForState("refused", mesos::v1::TASK_ERROR, 60s);
  ASSERT_TRUE(error.has_value()) << cluster_->logs();
  EXPECT_EQ(error->reason(), mesos::v1::TaskStatus::REASON_TASK_INVALID);
  EXPECT_EQ(error->source(), mesos::v1::TaskStatus::SOURCE_MASTER);
  EXPECT_NE(error->message().find("hook 'gate' failed at master_launch_task_label_decorator"), std::string::npos)
      << error->message();
  EXPECT_NE(error->message().find("launches are frozen for maintenance"), std::string::npos) << error->message();
  EXPECT_EQ(scheduler_->states("refused"), (std::vector<mesos::v1::TaskState>{mesos::v1::TASK_ERROR}));
  EXPECT_TRUE(agentTaskLabels("refused").empty());
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the task must not reach the agent";
  // The master is still up and its metrics count the failure.
  Json::Value metrics = masterJson("/metrics/snapshot");
  EXPECT_EQ(metrics["master/hooks/master_launch_task_label_decorator/gate/failures"].asDouble(), 1);
  EXPECT_GE(metrics["master/invalid_tasks"].asDouble(), 1);
}

TEST_F(HooksEndToEnd, MasterWebhookReceivesTheTaskUpdatesInOrder) {
  WebhookReceiver receiver;
  receiver.start();
  webhookUrl_ = receiver.url();
  ASSERT_NO_FATAL_FAILURE(startCluster("", "webhook"));
  ASSERT_TRUE(scheduler_->launch(commandTask("watched", "true", "")).ok());
  ASSERT_TRUE(scheduler_->waitForState("watched", mesos::v1::TASK_FINISHED, 60s)) << cluster_->logs();
  std::vector<std::string> expected = {"TASK_STAGING"};
  for (mesos::v1::TaskState state : scheduler_->states("watched")) expected.push_back(mesos::v1::TaskState_Name(state));
  std::vector<std::string> received;
  std::set<std::string> types;
  ASSERT_TRUE(waitUntil(
      [&] {
        received.clear();
        for (const std::string& body : receiver.bodies()) {
          Json::Value event = parseJson(body);
          types.insert(event["type"].asString());
          if (event["task"]["task_id"].asString() == "watched") received.push_back(event["task"]["state"].asString());
        }
        return received.size() >= expected.size();
      },
      30s))
      << ::testing::PrintToString(received) << " vs " << ::testing::PrintToString(expected);
  EXPECT_EQ(received, expected);
  EXPECT_EQ(types, (std::set<std::string>{"TASK_UPDATED"}));
  Json::Value metrics = masterJson("/metrics/snapshot");
  EXPECT_GE(metrics["master/hooks/state_event/webhook/calls"].asDouble(), expected.size());
}

}  // namespace
}  // namespace mantle::testing
