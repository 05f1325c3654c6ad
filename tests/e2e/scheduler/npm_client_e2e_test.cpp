// An independent Mesos client, the npm package @dcos/mesos-client, follows a
// real cluster's operator event stream and sees TASK_ADDED and TASK_UPDATED
// for a task launched through the C++ scheduler client. npm installs the
// package into the test's temporary directory; without a reachable npm
// registry (or without node) the test is skipped, saying why.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster.hpp"
#include "master_fixture.hpp"

namespace mantle::testing {
namespace {

bool onPath(const std::string& program) {
  ChildProcess which({"/bin/sh", "-c", "command -v " + program}, "/dev/null");
  return which.wait(10000ms) == 0;
}

TEST(NpmClientE2eTest, DcosMesosClientSeesTaskAddedAndTaskUpdated) {
  if (!onPath("node") || !onPath("npm")) GTEST_SKIP() << "node and npm are needed";
  TempDir npm;
  ChildProcess install({"/usr/bin/env", "npm", "install", "--no-audit", "--no-fund", "--prefix", npm.path().string(),
                        "@dcos/mesos-client@1.0.0"},
                       npm.path() / "npm.log");
  int status = install.wait(180000ms);
  if (status != 0) GTEST_SKIP() << "npm install @dcos/mesos-client failed:\n" << install.output();

  LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  std::string script = std::string(MANTLE_SOURCE_DIR) + "/tests/e2e/scheduler/operator_stream_client.js";
  ChildProcess client({"/usr/bin/env", "node", script, cluster.masterUrl(), "60"}, npm.path() / "client.log",
                      {{"NODE_PATH", (npm.path() / "node_modules").string()}});
  ASSERT_TRUE(waitUntil([&] { return client.output().find("EVENT SUBSCRIBED") != std::string::npos; }, 20000ms))
      << client.output();

  Recorder recorder;
  scheduler::SchedulerOptions options;
  options.master = cluster.masterAddress();
  options.frameworkInfo.set_user(currentUser());
  options.frameworkInfo.set_name("npm e2e");
  options.reconnect = false;
  scheduler::Scheduler scheduler(options, recorder.callbacks());
  scheduler.start();
  std::optional<v1::Offer> offer = recorder.takeOffer(20s);
  ASSERT_TRUE(offer);
  ASSERT_TRUE(scheduler.launch(*offer, {scheduler::commandTask("npm-1", *offer, "sleep 2", "cpus:0.1;mem:32")}).ok());
  ASSERT_TRUE(recorder.waitForUpdate("npm-1", v1::TASK_RUNNING, 30s)) << cluster.logs();
  EXPECT_TRUE(waitUntil([&] { return client.output().find("EVENT TASK_ADDED npm-1") != std::string::npos; }, 10000ms))
      << client.output();
  EXPECT_TRUE(waitUntil(
      [&] { return client.output().find("EVENT TASK_UPDATED npm-1 TASK_RUNNING") != std::string::npos; }, 10000ms))
      << client.output();
  EXPECT_EQ(client.output().find("ERROR"), std::string::npos) << client.output();
}

}  // namespace
}  // namespace mantle::testing
