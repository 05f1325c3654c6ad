// Mesos' own example frameworks (../shared/mesos-reference, built from the
// last apache/mesos commit) as peers against a real Mantle cluster
// (LocalCluster). Skipped where the reference build is not there.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "cluster.hpp"
#include "mesos_peer.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;

std::filesystem::path mesosReference() { return MesosPeer::home(); }

// Mesos' operation-feedback-framework reserves resources with operation ids
// and waits for OPERATION_FINISHED, launches a task on them, then unreserves
// them (again waiting for OPERATION_FINISHED); it exits 0 once every task is
// done and its resources are unreserved.
TEST(MesosFrameworksE2E, OperationFeedbackFrameworkReservesLaunchesAndUnreserves) {
  std::filesystem::path framework = mesosReference() / "bin" / "operation-feedback-framework";
  if (!std::filesystem::exists(framework)) GTEST_SKIP() << "no Mesos reference build at " << mesosReference();
  LocalCluster cluster;
  Status started = cluster.start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  TempDir dir;
  ChildProcess peer({framework.string(), "--master=" + cluster.masterAddress(), "--role=dev", "--num_tasks=2",
                     "--command=true", "--resources=cpus:0.5;mem:32"},
                    dir.path() / "framework.log", {{"GLOG_v", "1"}});
  int status = peer.wait(90s);
  if (status == -1) peer.stop();
  ASSERT_NE(status, -1) << "the framework did not finish:\n" << peer.output();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << peer.output();
}

}  // namespace
}  // namespace mantle::testing
