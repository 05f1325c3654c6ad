// namespaces/pid, loaded through the host from libmantle_namespaces.so. The
// test plays the agent: it creates the namespaces the isolator asks for, runs
// its pre-exec command inside them, and checks what the task sees and that
// cleanup leaves no process of the namespace behind.
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "../support/isolator_test_support.hpp"
#include "module_host.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::isolators::namespaces {
namespace {

using namespace ::mantle::testing::isolators;
using modules::Instance;
using modules::Registry;

std::string readLink(const fs::path& path) {
  std::error_code error;
  fs::path target = fs::read_symlink(path, error);
  return error ? std::string() : target.string();
}

std::vector<pid_t> processesIn(const std::string& ns) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (readLink(entry.path() / "ns" / "pid") == ns) out.push_back(std::stoi(name));
  }
  return out;
}

int procMounts() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  int count = 0;
  for (std::string line; std::getline(mountinfo, line);) {
    if (line.find(" - proc ") != std::string::npos) ++count;
  }
  return count;
}

class PidNamespaceIsolatorTest : public ::testing::Test {
 protected:
  std::shared_ptr<Instance> create(bool mountProc = true) {
    Json::Value module;
    module["name"] = "namespaces/pid";
    module["instance"] = "pid#" + std::to_string(instances_++);
    module["config"]["mount_proc"] = mountProc;
    Result<std::shared_ptr<Instance>> instance =
        testing::createModule(registry_, "mantle_namespaces", module, "isolator");
    EXPECT_TRUE(instance.ok()) << instance.error().message;
    return instance.ok() ? *instance : nullptr;
  }

  Registry registry_;
  int instances_ = 0;
};

TEST_F(PidNamespaceIsolatorTest, PrepareAsksForPidAndMountNamespacesAndAProcMount) {
  std::shared_ptr<Instance> pid = create();
  ASSERT_NE(pid, nullptr);
  Result<v1::IsolatorPrepareResponse> prepared = prepare(*pid, "c1", {});
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  EXPECT_EQ(prepared->launch_info().clone_namespaces(), std::uint32_t(CLONE_NEWPID | CLONE_NEWNS));
  ASSERT_EQ(prepared->launch_info().pre_exec_commands_size(), 1);
  EXPECT_NE(prepared->launch_info().pre_exec_commands(0).value().find("mount -t proc"), std::string::npos);

  std::shared_ptr<Instance> bare = create(/*mountProc=*/false);
  ASSERT_NE(bare, nullptr);
  prepared = prepare(*bare, "c1", {});
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ(prepared->launch_info().clone_namespaces(), std::uint32_t(CLONE_NEWPID));
  EXPECT_EQ(prepared->launch_info().pre_exec_commands_size(), 0);
}

TEST_F(PidNamespaceIsolatorTest, ThePreExecCommandRefusesToMountInTheAgentsNamespaces) {
  std::shared_ptr<Instance> pid = create();
  ASSERT_NE(pid, nullptr);
  Result<v1::IsolatorPrepareResponse> prepared = prepare(*pid, "c1", {});
  ASSERT_TRUE(prepared.ok());
  int before = procMounts();
  testing::TempDir dir;
  // An agent that got the order wrong: the command runs in its own namespaces.
  testing::ChildProcess shell({"/bin/sh", "-c", prepared->launch_info().pre_exec_commands(0).value()},
                              dir.path() / "log");
  int status = shell.wait(std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(shell.output().find("must run inside the new pid and mount namespaces"), std::string::npos)
      << shell.output();
  EXPECT_EQ(procMounts(), before) << "a proc mount leaked into the agent's mount namespace";
}

TEST_F(PidNamespaceIsolatorTest, ROOT_TheTaskSeesOnlyItsOwnProcessesAndCleanupKillsThemAll) {
  if (!isRoot()) GTEST_SKIP() << "creating namespaces needs root";
  std::shared_ptr<Instance> isolator = create();
  ASSERT_NE(isolator, nullptr);
  Result<v1::IsolatorPrepareResponse> prepared = prepare(*isolator, "c1", {});
  ASSERT_TRUE(prepared.ok());
  const v1::ContainerLaunchInfo info = prepared->launch_info();
  testing::TempDir dir;
  const std::string report = (dir.path() / "report").string();
  // The task: pid 1 of the namespace runs the isolator's pre-exec command,
  // reports its own pid and how many processes its /proc shows, then starts
  // two more processes and waits.
  std::string script = info.pre_exec_commands(0).value() + " || exit 3; echo $$ > " + report +
                       ".tmp; ls /proc | grep -c '^[0-9][0-9]*$' >> " + report + ".tmp; mv " + report + ".tmp " +
                       report + "; sleep 600 & sleep 600 & wait";
  std::vector<std::string> argvStorage = {"/bin/sh", "-c", script};
  std::vector<char*> argv;
  for (std::string& s : argvStorage) argv.push_back(s.data());
  argv.push_back(nullptr);
  char* envp[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
  const int flags = static_cast<int>(info.clone_namespaces());
  int before = procMounts();

  // The container's first process, as an agent's launcher: it unshares the
  // namespaces and forks the task, which becomes the namespace's init.
  GatedChild root([&] {
    if (unshare(flags) != 0) return 10;
    pid_t init = fork();
    if (init == 0) {
      execve(argv[0], argv.data(), envp);
      _exit(127);
    }
    int status = 0;
    while (waitpid(init, &status, 0) < 0) {
    }
    return 0;
  });
  ASSERT_TRUE(isolate(*isolator, "c1", root.pid()).ok());
  root.release();

  ASSERT_TRUE(testing::waitUntil([&] { return fs::exists(report); }, std::chrono::seconds(10)))
      << "the task did not report; root exit status " << root.wait(std::chrono::milliseconds(0)).value_or(-1);
  std::ifstream in(report);
  int ownPid = 0, visible = 0;
  in >> ownPid >> visible;
  EXPECT_EQ(ownPid, 1) << "the task is not its namespace's init";
  EXPECT_GE(visible, 1);
  EXPECT_LE(visible, 6) << "the task's /proc shows processes outside its namespace";
  EXPECT_EQ(procMounts(), before) << "the container's /proc mount leaked into the agent's mount namespace";

  std::string ns = statusLabels(*isolator, "c1")["namespaces/pid.namespace"];
  ASSERT_FALSE(ns.empty());
  EXPECT_NE(ns, readLink("/proc/self/ns/pid"));
  ASSERT_TRUE(testing::waitUntil([&] { return processesIn(ns).size() >= 3; }, std::chrono::seconds(10)))
      << "expected the shell and its two sleeps in " << ns;

  Status cleaned = cleanup(*isolator, "c1");
  ASSERT_TRUE(cleaned.ok()) << cleaned.error().message;
  EXPECT_TRUE(processesIn(ns).empty());
  std::optional<int> status = root.wait(std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));  // its task was killed; it reaped it and returned
}

TEST_F(PidNamespaceIsolatorTest, ROOT_IsolateRecordsAProcessThatGotNoNamespaceAndCleanupLeavesItAlone) {
  if (!isRoot()) GTEST_SKIP() << "needs root like the other namespace tests";
  std::shared_ptr<Instance> isolator = create();
  ASSERT_NE(isolator, nullptr);
  ASSERT_TRUE(prepare(*isolator, "c1", {}).ok());
  GatedChild plain([] {
    for (;;) pause();
  });
  ASSERT_TRUE(isolate(*isolator, "c1", plain.pid()).ok());
  plain.release();
  EXPECT_TRUE(statusLabels(*isolator, "c1").empty()) << "no namespace of its own";
  ASSERT_TRUE(cleanup(*isolator, "c1").ok());
  EXPECT_TRUE(plain.alive()) << "cleanup must never kill in the agent's own namespace";
  Status noPid = isolate(*isolator, "c2", 0);
  EXPECT_FALSE(noPid.ok());
}

}  // namespace
}  // namespace mantle::isolators::namespaces
