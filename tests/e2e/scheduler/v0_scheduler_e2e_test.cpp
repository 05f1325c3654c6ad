// Mesos' own v0 example frameworks (libmesos' MesosSchedulerDriver, from
// ../shared/mesos-reference) run unchanged against a real Mantle master and
// agent: standalone, and through ZooKeeper with the leading master killed in
// the middle. Skipped where the reference build is not there.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <map>
#include <memory>
#include <filesystem>
#include <thread>
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
  // Starts it with --master=`master` and `args`; its driver's libprocess
  // server on loopback.
  ChildProcess& run(const std::string& master, std::vector<std::string> args) {
    args.insert(args.begin(), {path_.string(), "--master=" + master});
    framework_ = std::make_unique<ChildProcess>(
        args, dir_.path() / "framework.log",
        std::map<std::string, std::string>{{"LIBPROCESS_IP", "127.0.0.1"}, {"GLOG_v", "1"}});
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
  auto until = std::chrono::steady_clock::now() + 30s;
  while (!active() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(active()) << framework.output() << cluster.logs();
  framework.kill();
  until = std::chrono::steady_clock::now() + 15s;
  while (active() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(active()) << frameworksJson(cluster.masterUrl()) << cluster.logs();
}

// SASL is not served: a driver given credentials is refused at once and
// stops with the driver's own "Master refused authentication" error, instead
// of retrying forever.
TEST_F(V0SchedulerE2E, ADriverWithCredentialsIsRefusedAuthentication) {
  require("no-executor-framework");
  LocalCluster cluster;
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ChildProcess& framework = run(cluster.masterAddress(),
                                {"--num_tasks=1", "--command=true", "--authenticate", "--principal=p", "--secret=s"});
  int status = finish(30s);
  ASSERT_NE(status, -1) << "the framework did not stop:\n" << framework.output();
  EXPECT_FALSE(exitedZero(status)) << framework.output();
  EXPECT_NE(framework.output().find("Master refused authentication"), std::string::npos) << framework.output();
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
  auto until = std::chrono::steady_clock::now() + 30s;
  while (framework.output().find("TASK_RUNNING") == std::string::npos && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(framework.output().find("TASK_RUNNING"), std::string::npos) << framework.output() << cluster.logs();
  cluster.killMaster(*leader);
  EXPECT_TRUE(exitedZero(finish(120s))) << framework.output() << "\n" << cluster.logs();
}

}  // namespace
}  // namespace mantle::testing
