// mantle-master, mantle-agent and mantle-executor as real processes
// (LocalCluster), driven by the C++ scheduler client library.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster.hpp"
#include "master_fixture.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<scheduler::Scheduler> subscribe(LocalCluster& cluster, Recorder& recorder, wire::MediaType type) {
  scheduler::SchedulerOptions options;
  options.master = cluster.masterAddress();
  options.frameworkInfo.set_user(currentUser());
  options.frameworkInfo.set_name("scheduler e2e");
  options.contentType = type;
  options.reconnect = false;
  auto s = std::make_unique<scheduler::Scheduler>(options, recorder.callbacks());
  s->start();
  EXPECT_TRUE(recorder.waitFor([&] { return recorder.subscribed > 0; }, 10s));
  return s;
}

class SchedulerE2eTest : public ::testing::TestWithParam<wire::MediaType> {};

TEST_P(SchedulerE2eTest, TaskOnARealAgentRunsToFinishedWithAcknowledgements) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  Recorder recorder;
  auto scheduler = subscribe(cluster, recorder, GetParam());
  std::optional<v1::Offer> offer = recorder.takeOffer(20s);
  ASSERT_TRUE(offer);
  ASSERT_TRUE(
      scheduler->launch(*offer, {scheduler::commandTask("e2e-1", *offer, "echo hello", "cpus:0.1;mem:32")}).ok());
  ASSERT_TRUE(recorder.waitForUpdate("e2e-1", v1::TASK_RUNNING, 30s)) << cluster.logs();
  ASSERT_TRUE(recorder.waitForUpdate("e2e-1", v1::TASK_FINISHED, 30s)) << cluster.logs();
  // Acknowledged: the master moves the task to the completed list.
  EXPECT_TRUE(waitUntil(
      [&] {
        auto r = http::request("POST", cluster.masterUrl() + "/api/v1", {{"Content-Type", "application/json"}},
                               R"({"type":"GET_TASKS"})");
        return r.ok() && r->body.find("\"completed_tasks\"") != std::string::npos &&
               r->body.find("TASK_FINISHED") != std::string::npos;
      },
      10000ms));
}

INSTANTIATE_TEST_SUITE_P(Encodings, SchedulerE2eTest,
                         ::testing::Values(wire::MediaType::kJson, wire::MediaType::kProtobuf),
                         [](const auto& info) { return info.param == wire::MediaType::kJson ? "Json" : "Protobuf"; });

TEST(SchedulerE2eKillTest, KillARunningTaskOnARealAgent) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  Recorder recorder;
  auto scheduler = subscribe(cluster, recorder, wire::MediaType::kProtobuf);
  std::optional<v1::Offer> offer = recorder.takeOffer(20s);
  ASSERT_TRUE(offer);
  ASSERT_TRUE(
      scheduler->launch(*offer, {scheduler::commandTask("e2e-sleep", *offer, "sleep 300", "cpus:0.1;mem:32")}).ok());
  ASSERT_TRUE(recorder.waitForUpdate("e2e-sleep", v1::TASK_RUNNING, 30s)) << cluster.logs();
  v1::TaskID id;
  id.set_value("e2e-sleep");
  ASSERT_TRUE(scheduler->kill(id).ok());
  EXPECT_TRUE(recorder.waitForUpdate("e2e-sleep", v1::TASK_KILLED, 30s)) << cluster.logs();
}

}  // namespace
}  // namespace mantle::testing
