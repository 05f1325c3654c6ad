// Mesos' own v0 example frameworks (libmesos' MesosSchedulerDriver, from
// ../shared/mesos-reference) run unchanged against a real Mantle master and
// agent: standalone, and through ZooKeeper with the leading master killed in
// the middle. Skipped where the reference build is not there.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include "cluster.hpp"
#include "ha_cluster.hpp"
#include "http/client.hpp"
#include "mesos_peer.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;

bool exitedZero(int status) {
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Runs one of the reference build's frameworks against a cluster.
class V0SchedulerE2E : public ::testing::Test {
 protected:
  // Skips the test where the reference build lacks `program`.
  void require(const std::string& program) {
    path_ = MesosPeer::home() / "bin" / program;
    if (!std::filesystem::exists(path_)) GTEST_SKIP() << "no Mesos reference build at " << MesosPeer::home();
  }
  // Starts it with --master=`master` and `args` (and `environment`); its
  // driver's libprocess server on loopback.
  ChildProcess& run(const std::string& master, std::vector<std::string> args,
                    std::map<std::string, std::string> environment = {}) {
    args.insert(args.begin(), {path_.string(), "--master=" + master});
    environment.emplace("LIBPROCESS_IP", "127.0.0.1");
    environment.emplace("GLOG_v", "1");
    framework_ = std::make_unique<ChildProcess>(args, dir_.path() / "framework.log", environment);
    return *framework_;
  }
  // Its wait status once it exits, or -1 (then stopped) past `timeout`.
  int finish(std::chrono::milliseconds timeout) {
    int status = framework_->wait(timeout);
    if (status == -1) framework_->stop();
    return status;
  }
  std::string frameworksJson(const std::string& masterUrl) {
    Result<http::ClientResponse> response = http::request("GET", masterUrl + "/master/frameworks", {}, "");
    return response.ok() ? response->body : std::string();
  }

  std::filesystem::path path_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> framework_;
};

// no-executor-framework launches command tasks on the offers it gets and
// exits 0 once every one of them finished (TASK_FINISHED, acknowledged).
TEST_F(V0SchedulerE2E, NoExecutorFrameworkRunsItsTasksToCompletion) {
  require("no-executor-framework");
  LocalCluster cluster;
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ChildProcess& framework =
      run(cluster.masterAddress(), {"--num_tasks=5", "--command=true", "--task_resources=cpus:0.1;mem:32"});
  EXPECT_TRUE(exitedZero(finish(60s))) << framework.output() << "\n" << cluster.logs();
  // The master saw it as a framework like any other: registered, tasks done.
  EXPECT_NE(frameworksJson(cluster.masterUrl()).find("No Executor Framework"), std::string::npos);
}

// test-framework launches its tasks on its own v0 executor (test-executor,
// found through MESOS_HELPER_DIR, registered with the agent's slave(1)), with
// the driver acknowledging updates implicitly, then explicitly.
TEST_F(V0SchedulerE2E, TestFrameworkRunsItsTasksOnTheV0TestExecutor) {
  require("test-framework");
  if (!std::filesystem::exists(MesosPeer::home() / "bin" / "test-executor")) GTEST_SKIP() << "no test-executor";
  LocalCluster cluster;
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  for (bool explicitAcknowledgements : {false, true}) {
    SCOPED_TRACE(explicitAcknowledgements ? "explicit acknowledgements" : "implicit acknowledgements");
    std::map<std::string, std::string> environment = {{"MESOS_HELPER_DIR", (MesosPeer::home() / "bin").string()}};
    if (explicitAcknowledgements) environment.emplace("MESOS_EXPLICIT_ACKNOWLEDGEMENTS", "1");
    ChildProcess& framework = run(cluster.masterAddress(), {}, environment);
    EXPECT_TRUE(exitedZero(finish(90s))) << framework.output() << "\n" << cluster.logs();
  }
}

// dynamic-reservation-framework reserves resources for its role (RESERVE
// through ACCEPT), launches tasks on them, then unreserves them, and exits 0.
TEST_F(V0SchedulerE2E, DynamicReservationFrameworkReservesLaunchesAndUnreserves) {
  require("dynamic-reservation-framework");
  LocalCluster cluster;
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ChildProcess& framework = run(cluster.masterAddress(), {"--role=dev", "--command=true"});
  EXPECT_TRUE(exitedZero(finish(90s))) << framework.output() << "\n" << cluster.logs();
}

// Malformed and unknown messages to the master are answered as libprocess
// answers them, logged with their sender and dropped; a driver registers
// and runs after them.
TEST_F(V0SchedulerE2E, MalformedAndUnknownMessagesAreDroppedAndTheMasterServesOn) {
  require("no-executor-framework");
  LocalCluster cluster;
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  const http::Headers from = {{"Libprocess-From", "scheduler-x@127.0.0.1:1"}};
  auto post = [&](const std::string& path, const std::string& body) {
    Result<http::ClientResponse> response = http::request("POST", cluster.masterUrl() + path, from, body);
    return response.ok() ? response->status : -1;
  };
  EXPECT_EQ(post("/master/mesos.scheduler.Call", std::string("\xff\xff\xff\x0f", 4)), 202);
  EXPECT_EQ(post("/master/mesos.internal.RegisterFrameworkMessage", "\x0a\x05junk"), 202);
  EXPECT_EQ(post("/master/mesos.internal.NoSuchMessage", "x"), 202);
  EXPECT_EQ(post("/nobody/mesos.scheduler.Call", ""), 404);
  ChildProcess& framework =
      run(cluster.masterAddress(), {"--num_tasks=1", "--command=true", "--task_resources=cpus:0.1;mem:32"});
  EXPECT_TRUE(exitedZero(finish(60s))) << framework.output() << "\n" << cluster.logs();
  EXPECT_NE(cluster.logs(200).find("scheduler-x@127.0.0.1:1"), std::string::npos) << cluster.logs(200);
}

// A driver that goes away (kill -9) is seen through its broken connection:
// the master marks its framework disconnected (inactive), as Mesos' links do.
TEST_F(V0SchedulerE2E, AKilledDriverDisconnectsItsFramework) {
  require("no-executor-framework");
  LocalCluster cluster;
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ChildProcess& framework =
      run(cluster.masterAddress(), {"--num_tasks=1", "--command=sleep 600", "--task_resources=cpus:0.1;mem:32"});
  auto active = [&] { return frameworksJson(cluster.masterUrl()).find("\"active\":true") != std::string::npos; };
  ASSERT_TRUE(waitUntil(active, 30s)) << framework.output() << cluster.logs();
  framework.kill();
  EXPECT_TRUE(waitUntil([&] { return !active(); }, 15s)) << frameworksJson(cluster.masterUrl()) << cluster.logs();
}

// SASL CRAM-MD5 against the master's --credentials (Cyrus SASL on both
// sides): the driver authenticates, then registers and runs its tasks.
TEST_F(V0SchedulerE2E, ADriverAuthenticatesWithSaslCramMd5AndRuns) {
  require("no-executor-framework");
  std::filesystem::path credentials = dir_.path() / "credentials";
  std::ofstream(credentials) << R"({"credentials":[{"principal":"ops","secret":"s3cret"}]})";
  ClusterOptions options;
  options.masterFlags = {"--credentials=" + credentials.string(), "--authenticate_frameworks"};
  // The cluster's own requests (the agent, waiting for it) authenticate too.
  options.clientHeaders = {{"Authorization", "Basic b3BzOnMzY3JldA=="}};  // ops:s3cret
  LocalCluster cluster(options);
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ChildProcess& framework = run(cluster.masterAddress(), {"--num_tasks=2", "--command=true", "--authenticate",
                                                          "--principal=ops", "--secret=s3cret"});
  EXPECT_TRUE(exitedZero(finish(60s))) << framework.output() << "\n" << cluster.logs();
  EXPECT_NE(framework.output().find("Successfully authenticated with master"), std::string::npos) << framework.output();
}

// A wrong secret, an unknown principal or a master without --credentials:
// the driver is refused at once and stops with its own "Master refused
// authentication" error instead of retrying.
TEST_F(V0SchedulerE2E, AWrongSecretOrAMasterWithoutCredentialsRefusesAuthentication) {
  require("no-executor-framework");
  std::filesystem::path credentials = dir_.path() / "credentials";
  std::ofstream(credentials) << "ops s3cret\n";
  for (bool masterHasCredentials : {true, false}) {
    SCOPED_TRACE(masterHasCredentials ? "wrong secret" : "no --credentials");
    ClusterOptions options;
    if (masterHasCredentials) options.masterFlags = {"--credentials=" + credentials.string()};
    LocalCluster cluster(options);
    Status started = cluster.start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    ChildProcess& framework = run(cluster.masterAddress(), {"--num_tasks=1", "--command=true", "--authenticate",
                                                            "--principal=ops", "--secret=wrong"});
    int status = finish(30s);
    ASSERT_NE(status, -1) << "the framework did not stop:\n" << framework.output();
    EXPECT_FALSE(exitedZero(status)) << framework.output();
    EXPECT_NE(framework.output().find("Master refused authentication"), std::string::npos) << framework.output();
  }
}

// With --authenticate_frameworks a driver that does not authenticate is
// refused with FrameworkErrorMessage and stops.
TEST_F(V0SchedulerE2E, WithAuthenticateFrameworksAnUnauthenticatedDriverIsRefused) {
  require("no-executor-framework");
  std::filesystem::path credentials = dir_.path() / "credentials";
  std::ofstream(credentials) << "ops s3cret\n";
  ClusterOptions options;
  options.masterFlags = {"--credentials=" + credentials.string(), "--authenticate_frameworks"};
  options.clientHeaders = {{"Authorization", "Basic b3BzOnMzY3JldA=="}};
  LocalCluster cluster(options);
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ChildProcess& framework = run(cluster.masterAddress(), {"--num_tasks=1", "--command=true"});
  int status = finish(30s);
  ASSERT_NE(status, -1) << "the framework did not stop:\n" << framework.output();
  EXPECT_FALSE(exitedZero(status)) << framework.output();
  EXPECT_NE(framework.output().find("is not authenticated"), std::string::npos) << framework.output();
}

// Master detection through ZooKeeper (the json.info_* znodes): the driver
// finds the leader, and when the leader is killed while tasks run, finds the
// new one and re-registers with the same FrameworkID; every task finishes.
TEST_F(V0SchedulerE2E, NoExecutorFrameworkSurvivesALeaderFailoverThroughZooKeeper) {
  require("no-executor-framework");
  if (!ZooKeeperServer::available()) GTEST_SKIP() << "ZooKeeper (and a JRE) is not installed";
  HaClusterOptions options;
  options.masters = 2;
  HaCluster cluster(options);
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  Result<int> leader = cluster.waitForLeader(30s);
  ASSERT_TRUE(leader.ok()) << leader.error().message;
  ChildProcess& framework =
      run(cluster.zkUrl(), {"--num_tasks=4", "--command=sleep 6", "--task_resources=cpus:0.1;mem:32"});
  // Until the tasks run.
  ASSERT_TRUE(waitUntil([&] { return framework.output().find("TASK_RUNNING") != std::string::npos; }, 30s))
      << framework.output() << cluster.logs();
  cluster.killMaster(*leader);
  EXPECT_TRUE(exitedZero(finish(120s))) << framework.output() << "\n" << cluster.logs();
}

}  // namespace
}  // namespace mantle::testing
