// The isolator modules end to end: a real mantle-master and mantle-agent
// (tests/support/cluster.hpp) with --isolation naming the modules, a small
// framework launching command tasks, and the agent turning the modules'
// limitations into TASK_FAILED with the limitation's reason.
#include <unistd.h>

#include <json/value.h>
#include <json/writer.h>

#include <gtest/gtest.h>

#include "../../isolators/support/isolator_test_support.hpp"
#include "cluster.hpp"
#include "process.hpp"
#include "test_framework.hpp"

namespace mantle::testing::e2e {
namespace {

using namespace ::mantle::testing::isolators;
namespace mv1 = ::mesos::v1;

// An inline --modules manifest: one library, its modules with their configs.
std::string manifest(const std::string& library, const std::vector<std::pair<std::string, Json::Value>>& modules) {
  Json::Value lib;
  lib["name"] = library;
  for (const auto& [name, config] : modules) {
    Json::Value m;
    m["name"] = name;
    m["kind"] = "isolator";
    m["config"] = config;
    lib["modules"].append(m);
  }
  Json::Value root;
  root["libraries"].append(lib);
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, root);
}

class IsolatorsE2ETest : public ::testing::Test {
 protected:
  // Starts a master and an agent with `flags`, and the framework.
  void startCluster(std::vector<std::string> flags) {
    ClusterOptions options;
    options.agentFlags = std::move(flags);
    cluster_ = std::make_unique<LocalCluster>(options);
    Status started = cluster_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    framework_ = std::make_unique<TestFramework>(cluster_->masterUrl());
    Status subscribed = framework_->start();
    ASSERT_TRUE(subscribed.ok()) << subscribed.error().message;
  }

  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << cluster_->logs(60);
    framework_.reset();
    cluster_.reset();  // stops the agent before the cgroup scope removes what is left
  }

  CgroupRootScope scope_;  // declared first: destroyed last
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<TestFramework> framework_;
};

TEST_F(IsolatorsE2ETest, ROOT_CGROUPS_AMemoryHogFailsWithTheMemoryReasonAndItsNeighbourRuns) {
  if (!isRoot()) GTEST_SKIP() << "needs root for cgroups";
  if (!hierarchyOf("memory") || !hierarchyOf("cpu")) GTEST_SKIP() << "needs the memory and cpu controllers";
  Json::Value config;
  config["root"] = scope_.name();
  startCluster({"--modules=" + manifest("mantle_cgroups", {{"cgroups/cpu", config}, {"cgroups/mem", config}}),
                "--isolation=cgroups/cpu,cgroups/mem"});
  ASSERT_NE(framework_, nullptr);

  ASSERT_TRUE(framework_->launch("neighbour", "sleep 600", "cpus:0.1;mem:64").ok());
  ASSERT_TRUE(framework_->waitForState("neighbour", mv1::TASK_RUNNING, std::chrono::seconds(30)).has_value());
  // tail keeps the current line, and /dev/zero has no newline: it grows until killed.
  ASSERT_TRUE(framework_->launch("hog", "tail /dev/zero", "cpus:0.1;mem:64").ok());
  std::optional<mv1::TaskStatus> hog = framework_->waitForState("hog", std::nullopt, std::chrono::seconds(60));
  ASSERT_TRUE(hog.has_value()) << "the hog did not end";
  EXPECT_EQ(hog->state(), mv1::TASK_FAILED);
  EXPECT_EQ(hog->reason(), mv1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY) << hog->message();
  EXPECT_NE(hog->message().find("Memory limit exceeded"), std::string::npos) << hog->message();

  EXPECT_FALSE(framework_->waitForState("neighbour", std::nullopt, std::chrono::seconds(1)).has_value())
      << "the neighbour ended too";
}

TEST_F(IsolatorsE2ETest, ASandboxOverItsDiskFailsWithTheDiskReason) {
  Json::Value config;
  config["enforce_container_disk_quota"] = true;
  config["container_disk_watch_interval_ms"] = 200;
  startCluster({"--modules=" + manifest("mantle_disk_du", {{"disk/du", config}}), "--isolation=disk/du"});
  ASSERT_NE(framework_, nullptr);
  ASSERT_TRUE(framework_
                  ->launch("filler", "dd if=/dev/zero of=fill bs=1M count=24 status=none && sync && sleep 600",
                           "cpus:0.1;mem:64;disk:8")
                  .ok());
  std::optional<mv1::TaskStatus> status = framework_->waitForState("filler", std::nullopt, std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state(), mv1::TASK_FAILED);
  EXPECT_EQ(status->reason(), mv1::TaskStatus::REASON_CONTAINER_LIMITATION_DISK) << status->message();
}

TEST_F(IsolatorsE2ETest, ListeningOutsideItsPortsFailsTheTask) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "the task listens with python3";
  Json::Value config;
  config["enforce_container_ports"] = true;
  config["container_ports_watch_interval_ms"] = 200;
  startCluster(
      {"--modules=" + manifest("mantle_network_ports", {{"network/ports", config}}), "--isolation=network/ports"});
  ASSERT_NE(framework_, nullptr);
  int outside = freePort();  // not in the agent's ports:[31000-32000]
  ASSERT_TRUE(outside < 31000 || outside > 32000);
  std::string listen = "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',%d))\ns.listen()\ntime.sleep(600)";
  auto python = [&](int port) {
    std::string code = listen;
    code.replace(code.find("%d"), 2, std::to_string(port));
    return "exec python3 -c \"" + code + "\"";
  };
  ASSERT_TRUE(framework_->launch("allowed", python(31007), "cpus:0.1;mem:64;ports:[31007-31007]").ok());
  ASSERT_TRUE(framework_->launch("rogue", python(outside), "cpus:0.1;mem:64;ports:[31008-31008]").ok());
  std::optional<mv1::TaskStatus> rogue = framework_->waitForState("rogue", std::nullopt, std::chrono::seconds(60));
  ASSERT_TRUE(rogue.has_value());
  EXPECT_EQ(rogue->state(), mv1::TASK_FAILED);
  EXPECT_EQ(rogue->reason(), mv1::TaskStatus::REASON_CONTAINER_LIMITATION) << rogue->message();
  EXPECT_NE(rogue->message().find(std::to_string(outside)), std::string::npos) << rogue->message();
  ASSERT_TRUE(framework_->waitForState("allowed", mv1::TASK_RUNNING, std::chrono::seconds(5)).has_value());
  EXPECT_FALSE(framework_->waitForState("allowed", std::nullopt, std::chrono::seconds(1)).has_value());
}

TEST_F(IsolatorsE2ETest, ROOT_TheTaskRunsInAPidNamespaceOfItsOwn) {
  if (!isRoot()) GTEST_SKIP() << "creating namespaces needs root";
  std::error_code error;
  std::string agentNs = fs::read_symlink("/proc/self/ns/pid", error).string();  // the agent inherits it
  Json::Value config(Json::objectValue);  // mount_proc defaults to true: the task gets its own /proc
  startCluster(
      {"--modules=" + manifest("mantle_namespaces", {{"namespaces/pid", config}}), "--isolation=namespaces/pid"});
  ASSERT_NE(framework_, nullptr);
  ASSERT_TRUE(
      framework_->launch("inside",
                         "test \"$(readlink /proc/self/ns/pid)\" != '" + agentNs +
                             "' && tr '\\0' ' ' < /proc/1/cmdline | grep -q mantle-executor",
                         "cpus:0.1;mem:64")
          .ok());
  std::optional<mv1::TaskStatus> status = framework_->waitForState("inside", std::nullopt, std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state(), mv1::TASK_FINISHED) << status->message();
}

}  // namespace
}  // namespace mantle::testing::e2e
