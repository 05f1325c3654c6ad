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
#include "mantle/module/v1/mesos.pb.h"
#include "process.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"

namespace mantle::testing::e2e {
namespace {

using namespace ::mantle::testing::isolators;
namespace mv1 = ::mesos::v1;
using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1024 * 1024;

using ModuleConfigs = std::vector<std::pair<std::string, Json::Value>>;

// An inline --modules manifest: libraries, each with its modules and their configs.
std::string manifest(const std::vector<std::pair<std::string, ModuleConfigs>>& libraries) {
  Json::Value root;
  for (const auto& [library, modules] : libraries) {
    Json::Value lib;
    lib["name"] = library;
    for (const auto& [name, config] : modules) {
      Json::Value m;
      m["name"] = name;
      m["kind"] = "isolator";
      m["config"] = config;
      lib["modules"].append(m);
    }
    root["libraries"].append(lib);
  }
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, root);
}

std::string manifest(const std::string& library, const ModuleConfigs& modules) {
  return manifest({{library, modules}});
}

// A JSON number, also when protobuf's JSON mapping wrote a 64-bit one as a string.
double number(const Json::Value& value) {
  if (value.isString()) return std::stod(value.asString());
  return value.isNumeric() ? value.asDouble() : 0;
}

std::optional<Json::Value> getJson(const std::string& url) {
  Result<http::ClientResponse> response = http::request("GET", url, {}, "", http::ClientOptions{2, 1});
  if (!response.ok() || response->status != 200) return std::nullopt;
  Json::Value root;
  std::istringstream in(response->body);
  if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) return std::nullopt;
  return root;
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
  ASSERT_TRUE(framework_
                  ->launch("inside",
                           "test \"$(readlink /proc/self/ns/pid)\" != '" + agentNs +
                               "' && tr '\\0' ' ' < /proc/1/cmdline | grep -q mantle-executor",
                           "cpus:0.1;mem:64")
                  .ok());
  std::optional<mv1::TaskStatus> status = framework_->waitForState("inside", std::nullopt, std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state(), mv1::TASK_FINISHED) << status->message();
}

TEST_F(IsolatorsE2ETest, ROOT_CGROUPS_MonitorStatisticsShowTheCgroupUsageOfABusyTask) {
  if (!isRoot()) GTEST_SKIP() << "needs root for cgroups";
  if (!hierarchyOf("memory") || !hierarchyOf("cpu")) GTEST_SKIP() << "needs the memory and cpu controllers";
  Json::Value config;
  config["root"] = scope_.name();
  Json::Value cpu = config;
  cpu["cgroups_enable_cfs"] = true;  // 0.2 CPU: the busy loop is throttled and cheap
  startCluster({"--modules=" + manifest("mantle_cgroups", {{"cgroups/cpu", cpu}, {"cgroups/mem", config}}),
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
  startCluster({"--modules=" + manifest("mantle_cgroups",
                                        {{"cgroups/cpu", config}, {"cgroups/mem", mem}, {"cgroups/pids", config}}),
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
  gpu["nvml_library"] = std::string(MANTLE_TEST_FIXTURE_DIR) + "/libfake_nvml.so";  // 4 GPUs, minors 0-3
  Json::Value allowList;
  allowList["root"] = scope_.name();
  startMasterAndAgent({"--modules=" + manifest({{"mantle_gpu_nvidia", {{"gpu/nvidia", gpu}}},
                                                {"mantle_cgroups", {{"cgroups/devices", allowList}}}}),
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

namespace mod = ::mantle::module::v1;

// A MESOS ContainerInfo with `info`'s fields. mesos/v1/mesos.proto here does
// not model linux_info and rlimit_info (fields 8, 9) yet: they are built with
// the module API's mirror of Mesos' ContainerInfo and travel as unknown
// fields, which master and agent pass on unchanged.
mv1::ContainerInfo mesosContainer(const mod::ContainerInfo& info = {}) {
  mv1::ContainerInfo type;
  type.set_type(mv1::ContainerInfo::MESOS);
  mv1::ContainerInfo container;  // concatenated messages parse as their merge
  EXPECT_TRUE(container.ParseFromString(type.SerializeAsString() + info.SerializeAsString()));
  return container;
}

// The task's final state and message, after launching it with `container`.
std::optional<mv1::TaskStatus> runTask(TestFramework& framework, const std::string& id, const std::string& command,
                                       const mv1::ContainerInfo& container) {
  Status launched = framework.launch(id, command, "cpus:0.1;mem:32", std::chrono::seconds(20), container);
  EXPECT_TRUE(launched.ok()) << launched.error().message;
  return framework.waitForState(id, std::nullopt, std::chrono::seconds(60));
}

#define EXPECT_FINISHED(status)                                              \
  do {                                                                       \
    ASSERT_TRUE((status).has_value());                                       \
    EXPECT_EQ((status)->state(), mv1::TASK_FINISHED) << (status)->message(); \
  } while (false)

TEST_F(IsolatorsE2ETest, ROOT_ATaskGetsItsHostnameAndAPrivateIpcNamespaceWithItsOwnDevShm) {
  if (!isRoot()) GTEST_SKIP() << "creating namespaces needs root";
  std::error_code error;
  const std::string agentIpc = fs::read_symlink("/proc/self/ns/ipc", error).string();
  const std::string agentHost = readFile("/proc/sys/kernel/hostname");
  Json::Value none(Json::objectValue);
  startCluster({"--modules=" + manifest("mantle_hardening", {{"namespaces/uts", none}, {"namespaces/ipc", none}}),
                "--isolation=namespaces/uts,namespaces/ipc"});
  ASSERT_NE(framework_, nullptr);
  mod::ContainerInfo container;
  container.set_hostname("harden-task");
  container.mutable_linux_info()->set_ipc_mode(1);  // PRIVATE
  container.mutable_linux_info()->set_shm_size(16);
  EXPECT_FINISHED(runTask(*framework_, "named",
                          "test \"$(cat /proc/sys/kernel/hostname)\" = harden-task && "
                          "test \"$(readlink /proc/self/ns/ipc)\" != '" +
                              agentIpc + "' && grep ' /dev/shm tmpfs ' /proc/self/mounts | grep -q size=16384k",
                          mesosContainer(container)));
  // The host keeps its name and its /dev/shm.
  EXPECT_EQ(readFile("/proc/sys/kernel/hostname"), agentHost);
  EXPECT_FINISHED(runTask(*framework_, "unnamed", "test \"$(readlink /proc/self/ns/ipc)\" != '" + agentIpc + "'",
                          mesosContainer()));
  container.set_hostname("-not valid-");
  std::optional<mv1::TaskStatus> bad = runTask(*framework_, "bad", "true", mesosContainer(container));
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
  Json::Value none(Json::objectValue);
  startCluster({"--modules=" + manifest("mantle_hardening", {{"linux/capabilities", caps}, {"linux/nnp", none}}),
                "--isolation=linux/capabilities,linux/nnp"});
  ASSERT_NE(framework_, nullptr);
  const std::string rawSocket =
      "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)'";
  // Mesos' CapabilityInfo numbers: CAP_<NAME> + 1000.
  constexpr std::uint32_t kChown = 1000, kNetRaw = 1013, kSysAdmin = 1021;
  mod::ContainerInfo with;
  with.mutable_linux_info()->mutable_effective_capabilities()->add_capabilities(kNetRaw);
  // CapEff 0x2000 is CAP_NET_RAW alone; NoNewPrivs from linux/nnp.
  EXPECT_FINISHED(runTask(*framework_, "with",
                          rawSocket + " && grep -q 'CapEff:.*0000000000002000' /proc/self/status "
                                      "&& grep -q 'NoNewPrivs:.*1' /proc/self/status",
                          mesosContainer(with)));
  mod::ContainerInfo without;
  without.mutable_linux_info()->mutable_effective_capabilities()->add_capabilities(kChown);
  EXPECT_FINISHED(runTask(*framework_, "without", "! " + rawSocket, mesosContainer(without)));
  // Beyond the agent's bounding set, and an unknown capability: refused, naming the field.
  mod::ContainerInfo beyond;
  beyond.mutable_linux_info()->mutable_effective_capabilities()->add_capabilities(kSysAdmin);
  std::optional<mv1::TaskStatus> refused = runTask(*framework_, "beyond", "true", mesosContainer(beyond));
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->state(), mv1::TASK_FINISHED);
  EXPECT_NE(refused->message().find("SYS_ADMIN"), std::string::npos) << refused->message();
  mod::ContainerInfo unknown;
  unknown.mutable_linux_info()->mutable_effective_capabilities()->add_capabilities(1999);
  std::optional<mv1::TaskStatus> bad = runTask(*framework_, "unknown", "true", mesosContainer(unknown));
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
  Json::Value seccomp;
  seccomp["config_dir"] = (files_.path() / "seccomp").string();
  seccomp["profile_name"] = "no-mkdir.json";
  startCluster(
      {"--modules=" + manifest("mantle_hardening", {{"linux/seccomp", seccomp}}), "--isolation=linux/seccomp"});
  ASSERT_NE(framework_, nullptr);
  EXPECT_FINISHED(runTask(*framework_, "default",
                          "! mkdir d 2>err && grep -q 'No space left on device' err && "
                          "grep -q 'Seccomp:.*2' /proc/self/status",
                          mesosContainer()));
  mod::ContainerInfo unconfined;
  unconfined.mutable_linux_info()->mutable_seccomp()->set_unconfined(true);
  EXPECT_FINISHED(runTask(*framework_, "unconfined", "mkdir d && test -d d", mesosContainer(unconfined)));
  mod::ContainerInfo broken;
  broken.mutable_linux_info()->mutable_seccomp()->set_profile_name("broken.json");
  std::optional<mv1::TaskStatus> bad = runTask(*framework_, "broken", "true", mesosContainer(broken));
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->state(), mv1::TASK_FINISHED);
  EXPECT_NE(bad->message().find("linux_info.seccomp.profile_name"), std::string::npos) << bad->message();
  // The agent keeps running its tasks.
  EXPECT_FINISHED(runTask(*framework_, "after", "true", mesosContainer(unconfined)));
}

TEST_F(IsolatorsE2ETest, ROOT_RLimitsOfTheContainerInfoShowInProcSelfLimits) {
  if (!isRoot()) GTEST_SKIP() << "raising hard limits needs root";
  Json::Value none(Json::objectValue);
  startCluster({"--modules=" + manifest("mantle_hardening", {{"posix/rlimits", none}}), "--isolation=posix/rlimits"});
  ASSERT_NE(framework_, nullptr);
  mod::ContainerInfo limited;
  auto* files = limited.mutable_rlimit_info()->add_rlimits();
  files->set_type(10);  // RLMT_NOFILE
  files->set_soft(123);
  files->set_hard(456);
  limited.mutable_rlimit_info()->add_rlimits()->set_type(2);  // RLMT_CORE, unlimited
  EXPECT_FINISHED(runTask(*framework_, "limited",
                          "grep -Eq '^Max open files +123 +456 ' /proc/self/limits && "
                          "grep -Eq '^Max core file size +unlimited +unlimited ' /proc/self/limits",
                          mesosContainer(limited)));
  files->set_soft(1000);
  std::optional<mv1::TaskStatus> bad = runTask(*framework_, "inverted", "true", mesosContainer(limited));
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->state(), mv1::TASK_FINISHED);
  EXPECT_NE(bad->message().find("rlimit_info.rlimits[0]"), std::string::npos) << bad->message();
}

}  // namespace
}  // namespace mantle::testing::e2e
