// The isolator modules end to end: a real mantle-master and mantle-agent
// (tests/support/cluster.hpp) with --isolation naming the modules, a small
// framework launching command tasks, and the agent turning the modules'
// limitations into TASK_FAILED with the limitation's reason. Also what must
// hold across a kill -9 of the agent: the containers' cgroups and GPUs stay
// theirs, and are released when the tasks end.
#include <signal.h>
#include <unistd.h>

#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include <gtest/gtest.h>

#include <set>

#include "../../isolators/support/isolator_test_support.hpp"
#include "cluster.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "mantle/module/v1/mesos.pb.h"
#include "module_manifest.hpp"
#include "process.hpp"
#include "task_expectations.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"

namespace mantle::testing::e2e {
namespace {

using namespace ::mantle::testing::isolators;
namespace mv1 = ::mesos::v1;
using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1024 * 1024;

// A JSON number, also when protobuf's JSON mapping wrote a 64-bit one as a string.
double number(const Json::Value& value) {
  if (value.isString()) return std::stod(value.asString());
  return value.isNumeric() ? value.asDouble() : 0;
}

// The cgroups directly below `dir`.
std::vector<fs::path> childCgroups(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->is_directory(error)) out.push_back(it->path());
  }
  return out;
}

// The container cgroup (below the test's root in the hierarchy of
// `controller`) whose cgroup.procs holds `pid`.
std::optional<fs::path> containerCgroupOf(const CgroupRootScope& scope, const std::string& controller, pid_t pid) {
  std::optional<fs::path> root = scope.dir(controller);
  if (!root) return std::nullopt;
  for (const fs::path& cgroup : childCgroups(*root)) {
    std::vector<pid_t> procs = cgroupProcs(cgroup);
    if (std::find(procs.begin(), procs.end(), pid) != procs.end()) return cgroup;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> memoryLimit(const fs::path& cgroup) {
  std::error_code error;
  std::string text = readFile(fs::exists(cgroup / "memory.limit_in_bytes", error) ? cgroup / "memory.limit_in_bytes"
                                                                                  : cgroup / "memory.max");
  if (text.empty() || text == "max") return std::nullopt;
  return std::stoull(text);
}

class IsolatorsE2ETest : public ::testing::Test {
 protected:
  // Starts a master and an agent with `flags`, and the framework.
  void startCluster(std::vector<std::string> flags, TestFramework::Options options = {}) {
    startMasterAndAgent(std::move(flags));
    if (cluster_) startFramework(options);
  }

  void startMasterAndAgent(std::vector<std::string> flags) {
    ClusterOptions clusterOptions;
    clusterOptions.agentFlags = std::move(flags);
    auto cluster = std::make_unique<LocalCluster>(clusterOptions);
    Status started = cluster->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    cluster_ = std::move(cluster);
  }

  void startFramework(TestFramework::Options options) {
    auto framework = std::make_unique<TestFramework>(cluster_->masterUrl(), options);
    Status subscribed = framework->start();
    ASSERT_TRUE(subscribed.ok()) << subscribed.error().message;
    framework_ = std::move(framework);
  }

  // kill -9 of the agent (its executors keep running), then the same agent
  // again: same work dir, flags and port.
  void killAndRestartAgent() {
    ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
    ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
    ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();
  }

  // A task command's start: records the shell's pid (the task's, as the
  // shell execs or loops) to <name>.pid in files_.
  std::string recordPid(const std::string& name) const {
    const std::string base = (files_.path() / name).string();
    return "echo $$ > " + base + ".tmp && mv " + base + ".tmp " + base + ".pid";
  }

  // A task command that writes its environment to <name>.env and its pid
  // to <name>.pid in files_, then sleeps.
  std::string recordingTask(const std::string& name) const {
    return "env > " + (files_.path() / (name + ".env")).string() + " && " + recordPid(name) + " && exec sleep 600";
  }

  // The pid recordPid(name) wrote (0 when it did not in time).
  pid_t recordedPid(const std::string& name) const {
    const fs::path file = files_.path() / (name + ".pid");
    if (!waitUntil([&] { return fs::exists(file); }, 20s)) return 0;
    return static_cast<pid_t>(std::stol(readFile(file)));
  }

  // The value of `variable` in the environment recordingTask(name) wrote.
  std::string recordedVariable(const std::string& name, const std::string& variable) const {
    std::istringstream in(readFile(files_.path() / (name + ".env")));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(variable + "=", 0) == 0) return line.substr(variable.size() + 1);
    }
    return "";
  }

  // The agent's /monitor/statistics entry of executor `executorId`, once
  // `accept` holds for it.
  std::optional<Json::Value> statisticsOf(const std::string& executorId,
                                          const std::function<bool(const Json::Value&)>& accept,
                                          std::chrono::milliseconds timeout = 30s) {
    std::optional<Json::Value> found;
    waitUntil(
        [&] {
          std::optional<Json::Value> all = getJson(cluster_->agentUrl(0) + "/monitor/statistics");
          if (!all || !all->isArray()) return false;
          for (const Json::Value& entry : *all) {
            if (entry["executor_id"].asString() != executorId) continue;
            found = entry;
            return accept(entry["statistics"]);
          }
          return false;
        },
        timeout);
    return found;
  }

  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << cluster_->logs(60);
    framework_.reset();
    cluster_.reset();  // stops the agent before the cgroup scope removes what is left
  }

  CgroupRootScope scope_;  // declared first: destroyed last
  TempDir files_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<TestFramework> framework_;
};

TEST_F(IsolatorsE2ETest, ROOT_CGROUPS_AMemoryHogFailsWithTheMemoryReasonAndItsNeighbourRuns) {
  if (!isRoot()) GTEST_SKIP() << "needs root for cgroups";
  if (!hierarchyOf("memory") || !hierarchyOf("cpu")) GTEST_SKIP() << "needs the memory and cpu controllers";
  Json::Value config;
  config["root"] = scope_.name();
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_cgroups", "cgroups/cpu", config),
                                               isolatorModule("mantle_cgroups", "cgroups/mem", config)}),
                "--isolation=cgroups/cpu,cgroups/mem"});
  ASSERT_NE(framework_, nullptr);

  ASSERT_TRUE(framework_->launch("neighbour", "sleep 600", "cpus:0.1;mem:64").ok());
  ASSERT_TRUE(framework_->waitForState("neighbour", mv1::TASK_RUNNING, std::chrono::seconds(30)).has_value());
  // tail keeps the current line, and /dev/zero has no newline: it grows until killed.
  std::optional<mv1::TaskStatus> hog = runToEnd(*framework_, "hog", "tail /dev/zero", "cpus:0.1;mem:64");
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
  startCluster(
      {"--modules=" + moduleManifest({isolatorModule("mantle_disk_du", "disk/du", config)}), "--isolation=disk/du"});
  ASSERT_NE(framework_, nullptr);
  std::optional<mv1::TaskStatus> status =
      runToEnd(*framework_, "filler", "dd if=/dev/zero of=fill bs=1M count=24 status=none && sync && sleep 600",
               "cpus:0.1;mem:64;disk:8");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state(), mv1::TASK_FAILED);
  EXPECT_EQ(status->reason(), mv1::TaskStatus::REASON_CONTAINER_LIMITATION_DISK) << status->message();
}

TEST_F(IsolatorsE2ETest, ListeningOutsideItsPortsFailsTheTask) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "the task listens with python3";
  Json::Value config;
  config["enforce_container_ports"] = true;
  config["container_ports_watch_interval_ms"] = 200;
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_network_ports", "network/ports", config)}),
                "--isolation=network/ports"});
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
  ASSERT_TRUE(framework_->waitForState("allowed", mv1::TASK_RUNNING, std::chrono::seconds(30)).has_value());
  EXPECT_FALSE(framework_->waitForState("allowed", std::nullopt, std::chrono::seconds(1)).has_value());
}

TEST_F(IsolatorsE2ETest, ROOT_TheTaskRunsInAPidNamespaceOfItsOwn) {
  if (!isRoot()) GTEST_SKIP() << "creating namespaces needs root";
  std::error_code error;
  std::string agentNs = fs::read_symlink("/proc/self/ns/pid", error).string();  // the agent inherits it
  Json::Value config(Json::objectValue);  // mount_proc defaults to true: the task gets its own /proc
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_namespaces", "namespaces/pid", config)}),
                "--isolation=namespaces/pid"});
  ASSERT_NE(framework_, nullptr);
  EXPECT_FINISHED(runToEnd(*framework_, "inside",
                           "test \"$(readlink /proc/self/ns/pid)\" != '" + agentNs +
                               "' && tr '\\0' ' ' < /proc/1/cmdline | grep -q mantle-executor",
                           "cpus:0.1;mem:64"));
}

TEST_F(IsolatorsE2ETest, ROOT_CGROUPS_MonitorStatisticsShowTheCgroupUsageOfABusyTask) {
  if (!isRoot()) GTEST_SKIP() << "needs root for cgroups";
  if (!hierarchyOf("memory") || !hierarchyOf("cpu")) GTEST_SKIP() << "needs the memory and cpu controllers";
  Json::Value config;
  config["root"] = scope_.name();
  Json::Value cpu = config;
  cpu["cgroups_enable_cfs"] = true;  // 0.2 CPU: the busy loop is throttled and cheap
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_cgroups", "cgroups/cpu", cpu),
                                               isolatorModule("mantle_cgroups", "cgroups/mem", config)}),
                "--isolation=cgroups/cpu,cgroups/mem"});
  ASSERT_NE(framework_, nullptr);
  ASSERT_TRUE(framework_->launch("busy", recordPid("busy") + " && while :; do :; done", "cpus:0.2;mem:64").ok());
  ASSERT_TRUE(framework_->waitForState("busy", mv1::TASK_RUNNING, 30s).has_value());
  const pid_t pid = recordedPid("busy");
  ASSERT_GT(pid, 0);

  std::optional<Json::Value> entry = statisticsOf("busy", [](const Json::Value& s) {
    return number(s["cpus_user_time_secs"]) + number(s["cpus_system_time_secs"]) >= 0.2 &&
           number(s["cpus_nr_throttled"]) > 0;
  });
  ASSERT_TRUE(entry.has_value()) << "no statistics for the busy task";
  const Json::Value& stats = (*entry)["statistics"];
  const double cpuSeconds = number(stats["cpus_user_time_secs"]) + number(stats["cpus_system_time_secs"]);
  EXPECT_GE(cpuSeconds, 0.2) << stats.toStyledString();
  EXPECT_GT(number(stats["cpus_nr_throttled"]), 0) << stats.toStyledString();
  EXPECT_GT(number(stats["cpus_throttled_time_secs"]), 0) << stats.toStyledString();
  EXPECT_DOUBLE_EQ(number(stats["cpus_limit"]), 0.2) << stats.toStyledString();
  EXPECT_GT(number(stats["mem_rss_bytes"]), 0) << stats.toStyledString();
  EXPECT_GE(number(stats["mem_total_bytes"]), number(stats["mem_rss_bytes"])) << stats.toStyledString();
  EXPECT_EQ(number(stats["mem_limit_bytes"]), 64.0 * kMiB) << stats.toStyledString();
  EXPECT_GE(number(stats["processes"]), 2) << "the executor and the task";

  // The numbers are the container cgroup's: read it after the statistics,
  // it has counted at least as much.
  std::optional<fs::path> memory = containerCgroupOf(scope_, "memory", pid);
  ASSERT_TRUE(memory.has_value()) << "the task is not in a memory cgroup below the test's root";
  EXPECT_EQ(memory->filename().string(), (*entry)["container_id"].asString());
  std::optional<fs::path> cpuacct = containerCgroupOf(scope_, hierarchyOf("cpuacct") ? "cpuacct" : "cpu", pid);
  ASSERT_TRUE(cpuacct.has_value());
  double cgroupSeconds = 0;
  std::error_code error;
  if (fs::exists(*cpuacct / "cpuacct.stat", error)) {
    std::istringstream in(readFile(*cpuacct / "cpuacct.stat"));
    for (std::string key; in >> key;) {
      double ticks = 0;
      in >> ticks;
      cgroupSeconds += ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  } else {
    std::istringstream in(readFile(*cpuacct / "cpu.stat"));
    for (std::string key; in >> key;) {
      double value = 0;
      in >> value;
      if (key == "user_usec" || key == "system_usec") cgroupSeconds += value / 1e6;
    }
  }
  EXPECT_GE(cgroupSeconds + 1e-6, cpuSeconds);
}

TEST_F(IsolatorsE2ETest, ROOT_CGROUPS_AfterAnAgentKill9TheContainerCgroupsAreReadoptedThenRemoved) {
  if (!isRoot()) GTEST_SKIP() << "needs root for cgroups";
  if (!hierarchyOf("memory") || !hierarchyOf("cpu") || !hierarchyOf("pids")) {
    GTEST_SKIP() << "needs the memory, cpu and pids controllers";
  }
  Json::Value config;
  config["root"] = scope_.name();
  Json::Value mem = config;
  mem["oom_check_interval_ms"] = 200;
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_cgroups", "cgroups/cpu", config),
                                               isolatorModule("mantle_cgroups", "cgroups/mem", mem),
                                               isolatorModule("mantle_cgroups", "cgroups/pids", config)}),
                "--isolation=cgroups/cpu,cgroups/mem,cgroups/pids", "--executor_reregistration_timeout=20secs"},
               {.checkpoint = true});
  ASSERT_NE(framework_, nullptr);
  const std::vector<std::string> controllers = {"cpu", "memory", "pids"};

  // A long task, and one that starts eating memory when told to (after the restart).
  ASSERT_TRUE(framework_->launch("survivor", recordingTask("survivor"), "cpus:0.1;mem:64").ok());
  const fs::path go = files_.path() / "go";
  ASSERT_TRUE(framework_
                  ->launch("late-hog", "while [ ! -e " + go.string() + " ]; do sleep 0.1; done; exec tail /dev/zero",
                           "cpus:0.1;mem:48")
                  .ok());
  ASSERT_TRUE(framework_->waitForState("survivor", mv1::TASK_RUNNING, 30s).has_value());
  ASSERT_TRUE(framework_->waitForState("late-hog", mv1::TASK_RUNNING, 30s).has_value());
  const pid_t pid = recordedPid("survivor");
  ASSERT_GT(pid, 0);
  std::map<std::string, fs::path> cgroups;
  for (const std::string& controller : controllers) {
    std::optional<fs::path> cgroup = containerCgroupOf(scope_, controller, pid);
    ASSERT_TRUE(cgroup.has_value()) << "the task is not in a " << controller << " cgroup below the test's root";
    cgroups[controller] = *cgroup;
  }
  ASSERT_EQ(memoryLimit(cgroups["memory"]).value_or(0), 64 * kMiB);

  ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
  ASSERT_EQ(::kill(pid, 0), 0) << "the task died with its agent";
  // An orphan: a container cgroup no checkpoint knows of, with a process in it.
  const fs::path orphan = *scope_.dir("memory") / "orphan-container";
  ASSERT_TRUE(fs::create_directory(orphan));
  ChildProcess stray({"/bin/sleep", "600"}, files_.path() / "stray.log");
  std::ofstream(orphan / "cgroup.procs") << stray.pid();
  ASSERT_EQ(cgroupProcs(orphan), std::vector<pid_t>{stray.pid()});

  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();
  // The same process, in the same cgroups, under the same limit.
  EXPECT_EQ(::kill(pid, 0), 0);
  for (const std::string& controller : controllers) {
    std::vector<pid_t> procs = cgroupProcs(cgroups[controller]);
    EXPECT_NE(std::find(procs.begin(), procs.end(), pid), procs.end()) << pid << " left " << cgroups[controller];
  }
  EXPECT_EQ(memoryLimit(cgroups["memory"]).value_or(0), 64 * kMiB);
  // The orphan's cgroup is gone, and its process with it.
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_NE(stray.wait(10s), -1) << "the orphan cgroup's process still runs";
  // The re-adopted container is measured.
  std::optional<Json::Value> entry = statisticsOf("survivor", [](const Json::Value& s) {
    return number(s["mem_limit_bytes"]) > 0 && number(s["mem_rss_bytes"]) > 0;
  });
  ASSERT_TRUE(entry.has_value()) << "no statistics for the recovered task";
  EXPECT_EQ((*entry)["container_id"].asString(), cgroups["memory"].filename().string());
  EXPECT_EQ(number((*entry)["statistics"]["mem_limit_bytes"]), 64.0 * kMiB);
  EXPECT_DOUBLE_EQ(number((*entry)["statistics"]["cpus_limit"]), 0.1) << (*entry).toStyledString();

  // Its memory is still watched: the other task now goes over its limit.
  std::ofstream(go) << "go";
  std::optional<mv1::TaskStatus> hog = framework_->waitForState("late-hog", std::nullopt, 60s);
  ASSERT_TRUE(hog.has_value()) << "the hog did not end";
  EXPECT_EQ(hog->state(), mv1::TASK_FAILED);
  EXPECT_EQ(hog->reason(), mv1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY) << hog->message();
  EXPECT_NE(hog->message().find("limit 48 MB"), std::string::npos) << hog->message();
  if (hog->has_limitation()) {  // set when the agent, not the executor, reported the failure
    ASSERT_EQ(hog->limitation().resources_size(), 1) << hog->DebugString();
    EXPECT_EQ(hog->limitation().resources(0).name(), "mem");
  }

  // Killed, the survivor's cgroups go.
  ASSERT_TRUE(framework_->kill("survivor").ok());
  std::optional<mv1::TaskStatus> killed = framework_->waitForState("survivor", std::nullopt, 30s);
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(killed->state(), mv1::TASK_KILLED) << killed->message();
  for (const std::string& controller : controllers) {
    EXPECT_TRUE(waitUntil([&] { return !fs::exists(cgroups[controller]); }, 20s)) << cgroups[controller] << " is left";
  }
  for (const std::string& controller : controllers) {
    EXPECT_TRUE(waitUntil([&] { return childCgroups(*scope_.dir(controller)).empty(); }, 20s))
        << "a " << controller << " cgroup is left below the test's root";
  }
}

TEST_F(IsolatorsE2ETest, ROOT_CGROUPS_GpusGoToOneTaskEachAndTheirAssignmentSurvivesAnAgentRestart) {
  if (!isRoot()) GTEST_SKIP() << "needs root for the devices cgroup";
  std::optional<CgroupHierarchy> devices = hierarchyOf("devices");
  if (!devices || devices->version != 1) GTEST_SKIP() << "needs the cgroups v1 devices controller";
  Json::Value gpu;
  gpu["root"] = scope_.name();
  gpu["nvml_library"] = fixtureLibrary("fake_nvml");  // 4 GPUs, minors 0-3
  Json::Value allowList;
  allowList["root"] = scope_.name();
  startMasterAndAgent({"--modules=" + moduleManifest({isolatorModule("mantle_gpu_nvidia", "gpu/nvidia", gpu),
                                                      isolatorModule("mantle_cgroups", "cgroups/devices", allowList)}),
                       "--isolation=gpu/nvidia,cgroups/devices", "--executor_reregistration_timeout=20secs"});
  ASSERT_NE(cluster_, nullptr);
  // First a framework without GPU_RESOURCES, alone: the allocator leaves the
  // GPU agent out for it.
  TestFramework plain(cluster_->masterUrl(), {.checkpoint = true});
  ASSERT_TRUE(plain.start().ok());
  std::optional<Json::Value> explained;
  EXPECT_TRUE(waitUntil(
      [&] {
        explained = getJson(cluster_->masterUrl() + "/master/explain?framework_id=" + plain.frameworkId());
        if (!explained) return false;
        for (const Json::Value& e : (*explained)["entries"]) {
          if (e["code"].asString() == "GPU_CAPABILITY") return true;
        }
        return false;
      },
      10s))
      << (explained ? explained->toStyledString() : "no answer");
  startFramework({.checkpoint = true, .gpuResources = true});
  ASSERT_NE(framework_, nullptr);

  auto uuids = [&](const std::string& task) {
    std::set<std::string> out;
    std::istringstream in(recordedVariable(task, "NVIDIA_VISIBLE_DEVICES"));
    for (std::string uuid; std::getline(in, uuid, ',');) out.insert(uuid);
    EXPECT_EQ(recordedVariable(task, "CUDA_VISIBLE_DEVICES"), recordedVariable(task, "NVIDIA_VISIBLE_DEVICES"));
    return out;
  };
  // The fake's GPU i has UUID GPU-fa4e0000-0000-0000-0000-00000000000i and minor i.
  auto minorOf = [](const std::string& uuid) { return uuid.back() - '0'; };
  // The GPU minors the task's devices cgroup lets it open.
  auto grantedMinors = [&](pid_t pid) {
    std::set<int> out;
    std::optional<fs::path> cgroup = containerCgroupOf(scope_, "devices", pid);
    EXPECT_TRUE(cgroup.has_value()) << pid << " is in no devices cgroup below the test's root";
    if (!cgroup) return out;
    std::istringstream in(readFile(*cgroup / "devices.list"));
    for (std::string line; std::getline(in, line);) {
      EXPECT_NE(line.rfind("a ", 0), 0u) << "the devices cgroup is open: " << line;
      if (line.rfind("c 195:", 0) == 0 && line.find(":255") == std::string::npos) {
        out.insert(std::stoi(line.substr(6)));
      }
    }
    return out;
  };
  auto minorsOf = [&](const std::set<std::string>& ids) {
    std::set<int> out;
    for (const std::string& uuid : ids) out.insert(minorOf(uuid));
    return out;
  };

  const std::string twoGpus = "cpus:0.1;mem:32;gpus:2";
  ASSERT_TRUE(framework_->launch("a", recordingTask("a"), twoGpus).ok());
  ASSERT_TRUE(framework_->launch("b", recordingTask("b"), twoGpus).ok());
  ASSERT_TRUE(framework_->waitForState("a", mv1::TASK_RUNNING, 30s).has_value());
  ASSERT_TRUE(framework_->waitForState("b", mv1::TASK_RUNNING, 30s).has_value());
  EXPECT_EQ(framework_->mostOffered("gpus"), 4) << "the agent advertises the fake NVML's 4 GPUs";
  const pid_t a = recordedPid("a"), b = recordedPid("b");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  const std::set<std::string> gpusA = uuids("a"), gpusB = uuids("b");
  ASSERT_EQ(gpusA.size(), 2u) << recordedVariable("a", "NVIDIA_VISIBLE_DEVICES");
  ASSERT_EQ(gpusB.size(), 2u) << recordedVariable("b", "NVIDIA_VISIBLE_DEVICES");
  for (const std::string& uuid : gpusA) EXPECT_EQ(gpusB.count(uuid), 0u) << uuid << " went to both tasks";
  EXPECT_EQ(grantedMinors(a), minorsOf(gpusA));
  EXPECT_EQ(grantedMinors(b), minorsOf(gpusB));
  // A third task finds no GPUs offered while both run.
  EXPECT_FALSE(framework_->launch("c", recordingTask("c"), twoGpus, 3s).ok()) << "GPUs offered while all are in use";

  killAndRestartAgent();
  EXPECT_EQ(::kill(a, 0), 0);
  EXPECT_EQ(::kill(b, 0), 0);
  EXPECT_EQ(grantedMinors(a), minorsOf(gpusA));
  EXPECT_EQ(grantedMinors(b), minorsOf(gpusB));
  EXPECT_FALSE(framework_->launch("c", recordingTask("c"), twoGpus, 3s).ok())
      << "GPUs offered after the restart while all are in use";

  // a's GPUs, and only those, go to the third task once a is gone.
  ASSERT_TRUE(framework_->kill("a").ok());
  std::optional<mv1::TaskStatus> killed = framework_->waitForState("a", std::nullopt, 30s);
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(killed->state(), mv1::TASK_KILLED) << killed->message();
  ASSERT_TRUE(framework_->launch("c", recordingTask("c"), twoGpus, 30s).ok());
  ASSERT_TRUE(framework_->waitForState("c", mv1::TASK_RUNNING, 30s).has_value());
  const pid_t c = recordedPid("c");
  ASSERT_GT(c, 0);
  EXPECT_EQ(uuids("c"), gpusA);
  EXPECT_EQ(grantedMinors(c), minorsOf(gpusA));
  EXPECT_EQ(grantedMinors(b), minorsOf(gpusB));

  // The framework without GPU_RESOURCES was never offered any.
  EXPECT_EQ(plain.mostOffered("gpus"), 0);
}

// ---- The hardening isolators (libmantle_hardening): what the agent applies before exec. ----

// A MESOS ContainerInfo; the tests add the Linux hardening fields of Mesos'
// v1 ContainerInfo (hostname, linux_info, rlimit_info).
mv1::ContainerInfo mesosContainer() {
  mv1::ContainerInfo container;
  container.set_type(mv1::ContainerInfo::MESOS);
  return container;
}

// The task's final state and message, after launching it with `container`.
std::optional<mv1::TaskStatus> runTask(TestFramework& framework, const std::string& id, const std::string& command,
                                       const mv1::ContainerInfo& container) {
  return runToEnd(framework, id, command, "cpus:0.1;mem:32", 20s, container);
}

TEST_F(IsolatorsE2ETest, ROOT_ATaskGetsItsHostnameAndAPrivateIpcNamespaceWithItsOwnDevShm) {
  if (!isRoot()) GTEST_SKIP() << "creating namespaces needs root";
  std::error_code error;
  const std::string agentIpc = fs::read_symlink("/proc/self/ns/ipc", error).string();
  const std::string agentHost = readFile("/proc/sys/kernel/hostname");
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_hardening", "namespaces/uts"),
                                               isolatorModule("mantle_hardening", "namespaces/ipc")}),
                "--isolation=namespaces/uts,namespaces/ipc"});
  ASSERT_NE(framework_, nullptr);
  mv1::ContainerInfo container = mesosContainer();
  container.set_hostname("harden-task");
  container.mutable_linux_info()->set_ipc_mode(mv1::LinuxInfo::PRIVATE);
  container.mutable_linux_info()->set_shm_size(16);
  EXPECT_FINISHED(runTask(*framework_, "named",
                          "test \"$(cat /proc/sys/kernel/hostname)\" = harden-task && "
                          "test \"$(readlink /proc/self/ns/ipc)\" != '" +
                              agentIpc + "' && grep ' /dev/shm tmpfs ' /proc/self/mounts | grep -q size=16384k",
                          container));
  // The host keeps its name and its /dev/shm.
  EXPECT_EQ(readFile("/proc/sys/kernel/hostname"), agentHost);
  EXPECT_FINISHED(runTask(*framework_, "unnamed", "test \"$(readlink /proc/self/ns/ipc)\" != '" + agentIpc + "'",
                          mesosContainer()));
  container.set_hostname("-not valid-");
  std::optional<mv1::TaskStatus> bad = runTask(*framework_, "bad", "true", container);
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->state(), mv1::TASK_FINISHED);
  EXPECT_NE(bad->message().find("ContainerInfo.hostname"), std::string::npos) << bad->message();
}

TEST_F(IsolatorsE2ETest, ROOT_WithoutCapNetRawATaskCannotOpenARawSocketAndWithItCan) {
  if (!isRoot()) GTEST_SKIP() << "changing capabilities needs root";
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "the task opens its raw socket with python3";
  Json::Value caps;
  caps["bounding_capabilities"].append("NET_RAW");
  caps["bounding_capabilities"].append("CHOWN");
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_hardening", "linux/capabilities", caps),
                                               isolatorModule("mantle_hardening", "linux/nnp")}),
                "--isolation=linux/capabilities,linux/nnp"});
  ASSERT_NE(framework_, nullptr);
  const std::string rawSocket =
      "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)'";
  auto withCapabilities = [](std::initializer_list<mv1::CapabilityInfo::Capability> capabilities) {
    mv1::ContainerInfo container = mesosContainer();
    for (auto capability : capabilities) {
      container.mutable_linux_info()->mutable_effective_capabilities()->add_capabilities(capability);
    }
    return container;
  };
  // CapEff 0x2000 is CAP_NET_RAW alone; NoNewPrivs from linux/nnp.
  EXPECT_FINISHED(runTask(*framework_, "with",
                          rawSocket + " && grep -q 'CapEff:.*0000000000002000' /proc/self/status "
                                      "&& grep -q 'NoNewPrivs:.*1' /proc/self/status",
                          withCapabilities({mv1::CapabilityInfo::NET_RAW})));
  EXPECT_FINISHED(runTask(*framework_, "without", "! " + rawSocket, withCapabilities({mv1::CapabilityInfo::CHOWN})));
  // Beyond the agent's bounding set, and an unknown capability: refused, naming the field.
  std::optional<mv1::TaskStatus> refused =
      runTask(*framework_, "beyond", "true", withCapabilities({mv1::CapabilityInfo::SYS_ADMIN}));
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->state(), mv1::TASK_FINISHED);
  EXPECT_NE(refused->message().find("SYS_ADMIN"), std::string::npos) << refused->message();
  // A capability number newer than this proto knows travels as an unknown
  // field of LinuxInfo (a scheduler built against a newer Mesos sends it so).
  mv1::ContainerInfo unknown = mesosContainer();
  std::string capability;  // CapabilityInfo{capabilities: 1999}
  capability.push_back(static_cast<char>(0x08));
  capability.push_back(static_cast<char>(0xCF));
  capability.push_back(static_cast<char>(0x0F));
  std::string linuxInfo;  // LinuxInfo{effective_capabilities (3): CapabilityInfo}
  linuxInfo.push_back(static_cast<char>(0x1A));
  linuxInfo.push_back(static_cast<char>(capability.size()));
  ASSERT_TRUE(unknown.mutable_linux_info()->ParseFromString(linuxInfo + capability));
  std::optional<mv1::TaskStatus> bad = runTask(*framework_, "unknown", "true", unknown);
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->state(), mv1::TASK_FINISHED);
  EXPECT_NE(bad->message().find("linux_info.effective_capabilities"), std::string::npos) << bad->message();
}

TEST_F(IsolatorsE2ETest, ROOT_ASeccompProfileDenyingMkdirFailsItWithTheProfilesErrnoWhileUnconfinedItSucceeds) {
  if (!isRoot()) GTEST_SKIP() << "the agent runs its tasks as root here";
  // errno 28 (ENOSPC) is one mkdir would not return by itself here.
  files_.write("seccomp/no-mkdir.json",
               R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"],
                   "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]})");
  files_.write("seccomp/broken.json", R"({"defaultAction": )");
  // Mesos' agent flags, filled into the module's configuration.
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_hardening", "linux/seccomp")}),
                "--isolation=linux/seccomp", "--seccomp_config_dir=" + (files_.path() / "seccomp").string(),
                "--seccomp_profile_name=no-mkdir.json"});
  ASSERT_NE(framework_, nullptr);
  EXPECT_FINISHED(runTask(*framework_, "default",
                          "! mkdir d 2>err && grep -q 'No space left on device' err && "
                          "grep -q 'Seccomp:.*2' /proc/self/status",
                          mesosContainer()));
  mv1::ContainerInfo unconfined = mesosContainer();
  unconfined.mutable_linux_info()->mutable_seccomp()->set_unconfined(true);
  EXPECT_FINISHED(runTask(*framework_, "unconfined", "mkdir d && test -d d", unconfined));
  mv1::ContainerInfo broken = mesosContainer();
  broken.mutable_linux_info()->mutable_seccomp()->set_profile_name("broken.json");
  std::optional<mv1::TaskStatus> bad = runTask(*framework_, "broken", "true", broken);
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->state(), mv1::TASK_FINISHED);
  EXPECT_NE(bad->message().find("linux_info.seccomp.profile_name"), std::string::npos) << bad->message();
  // The agent keeps running its tasks.
  EXPECT_FINISHED(runTask(*framework_, "after", "true", unconfined));
}

TEST_F(IsolatorsE2ETest, ROOT_RLimitsOfTheContainerInfoShowInProcSelfLimits) {
  if (!isRoot()) GTEST_SKIP() << "raising hard limits needs root";
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_hardening", "posix/rlimits")}),
                "--isolation=posix/rlimits"});
  ASSERT_NE(framework_, nullptr);
  mv1::ContainerInfo limited = mesosContainer();
  auto* files = limited.mutable_rlimit_info()->add_rlimits();
  files->set_type(mv1::RLimitInfo::RLimit::RLMT_NOFILE);
  files->set_soft(123);
  files->set_hard(456);
  limited.mutable_rlimit_info()->add_rlimits()->set_type(mv1::RLimitInfo::RLimit::RLMT_CORE);  // unlimited
  EXPECT_FINISHED(runTask(*framework_, "limited",
                          "grep -Eq '^Max open files +123 +456 ' /proc/self/limits && "
                          "grep -Eq '^Max core file size +unlimited +unlimited ' /proc/self/limits",
                          limited));
  files->set_soft(1000);
  std::optional<mv1::TaskStatus> bad = runTask(*framework_, "inverted", "true", limited);
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->state(), mv1::TASK_FINISHED);
  EXPECT_NE(bad->message().find("rlimit_info.rlimits[0]"), std::string::npos) << bad->message();
}

// ---- Secrets (libmantle_secrets): environment_secret, volume/secret and the secrets/directory resolver. ----

std::string base64(const std::string& bytes) {
  static const char* const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t n = (static_cast<std::uint8_t>(bytes[i]) << 16) | (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                      static_cast<std::uint8_t>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += alphabet[(n >> shift) & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

mv1::Secret referenceSecret(const std::string& name, const std::string& key = "") {
  mv1::Secret secret;
  secret.set_type(mv1::Secret::REFERENCE);
  secret.mutable_reference()->set_name(name);
  if (!key.empty()) secret.mutable_reference()->set_key(key);
  return secret;
}

mv1::Secret valueSecret(const std::string& data) {
  mv1::Secret secret;
  secret.set_type(mv1::Secret::VALUE);
  secret.mutable_value()->set_data(data);
  return secret;
}

void addSecretVariable(mv1::Environment& environment, const std::string& name, const mv1::Secret& secret) {
  mv1::Environment::Variable* variable = environment.add_variables();
  variable->set_name(name);
  variable->set_type(mv1::Environment::Variable::SECRET);
  *variable->mutable_secret() = secret;
}

void addSecretVolume(mv1::ContainerInfo& container, const std::string& path, const mv1::Secret& secret) {
  mv1::Volume* volume = container.add_volumes();
  volume->set_container_path(path);
  volume->set_mode(mv1::Volume::RO);
  volume->mutable_source()->set_type(mv1::Volume::Source::SECRET);
  *volume->mutable_source()->mutable_secret() = secret;
}

// The body of every read-only endpoint of master and agent that shows tasks,
// executors, frameworks or flags, by name; JSON throughout.
std::map<std::string, std::string> everyEndpoint(const LocalCluster& cluster) {
  std::map<std::string, std::string> bodies;
  for (const auto& [base, paths] :
       {std::pair{cluster.masterUrl(),
                  std::vector<std::string>{"/master/state", "/state", "/master/state.json", "/master/tasks", "/tasks",
                                           "/master/frameworks", "/master/state-summary", "/master/flags", "/flags",
                                           "/master/slaves"}},
        std::pair{cluster.agentUrl(0), std::vector<std::string>{"/state", "/slave(1)/state", "/flags", "/containers",
                                                                "/monitor/statistics"}}}) {
    for (const std::string& path : paths) {
      Result<http::ClientResponse> got = http::request("GET", base + path, {}, "", http::ClientOptions{5, 2});
      bodies[base + path] = got.ok() ? got->body : "(" + got.error().message + ")";
    }
    for (const char* call :
         {"GET_STATE", "GET_TASKS", "GET_EXECUTORS", "GET_FRAMEWORKS", "GET_CONTAINERS", "GET_FLAGS", "GET_AGENTS"}) {
      Result<http::ClientResponse> got = http::request(
          "POST", base + "/api/v1", {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
          std::string(R"({"type":")") + call + "\"}", http::ClientOptions{5, 2});
      bodies[base + "/api/v1 " + call] = got.ok() ? got->body : "(" + got.error().message + ")";
    }
  }
  // The operator event stream: SUBSCRIBED (the whole state) and what follows, for a moment.
  std::string events;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread stopper([cancel] {
    std::this_thread::sleep_for(2s);
    *cancel = true;
  });
  (void)http::stream("POST", cluster.masterUrl() + "/api/v1",
                     {{"Content-Type", "application/json"}, {"Accept", "application/json"}}, R"({"type":"SUBSCRIBE"})",
                     {[](const http::ClientResponse&) { return true; },
                      [&events](std::string_view data) {
                        events.append(data);
                        return true;
                      }},
                     cancel);
  stopper.join();
  bodies[cluster.masterUrl() + "/api/v1 SUBSCRIBE"] = events;
  return bodies;
}

TEST_F(IsolatorsE2ETest, ROOT_SecretsReachTheTaskAsEnvironmentAndFilesAndNoEndpointOrLogShowsThem) {
  if (!isRoot()) GTEST_SKIP() << "the secret store must be root-owned and volume/secret mounts a tmpfs";
  const std::string salt = std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr));
  const std::string stored = "stored-db-password-" + salt;
  const std::string keyed = "stored-api-token-" + salt;
  const std::string inlineEnv = "inline-env-value-" + salt;
  const std::string inlineFile = "inline-file-value-" + salt;
  // The store: <store>/db, and <store>/api/token for the reference with a key.
  const fs::path store = files_.path() / "store";
  fs::create_directories(store / "api");
  fs::permissions(store, fs::perms::owner_all);
  fs::permissions(store / "api", fs::perms::owner_all);
  files_.write("store/db", stored);
  files_.write("store/api/token", keyed);
  for (const char* file : {"store/db", "store/api/token"}) fs::permissions(files_.path() / file, fs::perms::owner_read);
  // What the task compares with, by path: its command shows no secret.
  for (const auto& [name, value] : {std::pair{"db", stored}, std::pair{"token", keyed},
                                    std::pair{"inline-env", inlineEnv}, std::pair{"inline-file", inlineFile}}) {
    files_.write("expected/" + std::string(name), value);
  }
  const std::string expected = (files_.path() / "expected").string();

  Json::Value resolver;
  resolver["dir"] = store.string();
  startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_secrets", "environment_secret"),
                                               isolatorModule("mantle_secrets", "volume/secret"),
                                               {.library = "mantle_secrets",
                                                .name = "secrets/directory",
                                                .kind = "secret_resolver",
                                                .config = resolver}}),
                "--isolation=environment_secret,volume/secret", "--secret_resolver=secrets/directory"});
  ASSERT_NE(framework_, nullptr);

  mv1::Environment environment;
  addSecretVariable(environment, "DB_PASSWORD", referenceSecret("db"));
  addSecretVariable(environment, "API_TOKEN", referenceSecret("api", "token"));
  addSecretVariable(environment, "INLINE_TOKEN", valueSecret(inlineEnv));
  mv1::ContainerInfo container = mesosContainer();
  addSecretVolume(container, "secrets/db", referenceSecret("db"));
  addSecretVolume(container, "inline.txt", valueSecret(inlineFile));
  const std::string ready = (files_.path() / "ready").string();
  const std::string command =
      "test \"$DB_PASSWORD\" = \"$(cat " + expected + "/db)\" && test \"$API_TOKEN\" = \"$(cat " + expected +
      "/token)\" && test \"$INLINE_TOKEN\" = \"$(cat " + expected +
      "/inline-env)\" && test \"$(cat secrets/db)\" = \"$(cat " + expected +
      "/db)\" && test \"$(cat inline.txt)\" = \"$(cat " + expected +
      "/inline-file)\" && ! sh -c 'echo x > inline.txt' 2>/dev/null && touch " + ready + " && exec sleep 600";
  ASSERT_TRUE(framework_->launch("secret-task", command, "cpus:0.1;mem:32", 20s, container, environment).ok());
  const bool started = waitUntil([&] { return fs::exists(ready); }, 30s);
  std::optional<mv1::TaskStatus> early = framework_->waitForState("secret-task", std::nullopt, 1ms);
  ASSERT_TRUE(started) << "the task did not see its secrets: "
                       << (early ? mv1::TaskState_Name(early->state()) + " " + early->message() : "still running");

  // A reference the store does not have fails the task, naming the reference.
  mv1::Environment missing;
  addSecretVariable(missing, "MISSING", referenceSecret("no-such-secret", "no-such-key"));
  std::optional<mv1::TaskStatus> failed =
      runToEnd(*framework_, "missing-secret", "true", "cpus:0.1;mem:32", 20s, std::nullopt, missing);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->state(), mv1::TASK_FAILED) << failed->message();
  EXPECT_NE(failed->message().find("no-such-secret:no-such-key"), std::string::npos) << failed->message();
  EXPECT_NE(failed->message().find("MISSING"), std::string::npos) << failed->message();

  // No endpoint shows a secret's bytes, raw or base64 (protobuf's JSON for bytes).
  std::map<std::string, std::string> bodies = everyEndpoint(*cluster_);
  EXPECT_NE(bodies[cluster_->masterUrl() + "/master/state"].find("secret-task"), std::string::npos);
  EXPECT_NE(bodies[cluster_->masterUrl() + "/api/v1 GET_STATE"].find("secret-task"), std::string::npos);
  EXPECT_NE(bodies[cluster_->agentUrl(0) + "/api/v1 GET_EXECUTORS"].find("secret-task"), std::string::npos);
  EXPECT_NE(bodies[cluster_->masterUrl() + "/api/v1 SUBSCRIBE"].find("secret-task"), std::string::npos);
  for (const std::string& secret : {stored, keyed, inlineEnv, inlineFile}) {
    for (const auto& [endpoint, body] : bodies) {
      EXPECT_EQ(body.find(secret), std::string::npos) << endpoint << " shows a secret";
      EXPECT_EQ(body.find(base64(secret)), std::string::npos) << endpoint << " shows a secret in base64";
    }
    const std::string logs = cluster_->logs(1 << 20);
    EXPECT_EQ(logs.find(secret), std::string::npos) << "the daemons' logs show a secret";
    EXPECT_EQ(logs.find(base64(secret)), std::string::npos) << "the daemons' logs show a secret in base64";
  }

  // The secret files go with the container: no tmpfs of volume/secret is left.
  ASSERT_TRUE(framework_->kill("secret-task").ok());
  ASSERT_TRUE(framework_->waitForState("secret-task", std::nullopt, 30s).has_value());
  const std::string stateDir = (cluster_->agentWorkDir(0) / "modules" / "volume" / "secret").string();
  EXPECT_TRUE(waitUntil([&] { return readFile("/proc/self/mountinfo").find(stateDir) == std::string::npos; }, 10s))
      << "a tmpfs of volume/secret is still mounted below " << stateDir;
  std::error_code error;
  EXPECT_TRUE(fs::is_empty(stateDir, error)) << stateDir << " is not empty";
}

}  // namespace
}  // namespace mantle::testing::e2e
