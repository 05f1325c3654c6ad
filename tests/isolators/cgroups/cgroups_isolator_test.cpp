// cgroups/cpu, cgroups/mem, cgroups/pids and cgroups/devices, loaded through
// the host from libmantle_cgroups.so, enforcing limits on real processes in
// real cgroups. Tests that need root and cgroups carry ROOT_CGROUPS_ and skip
// where the machine lacks them; each uses its own cgroup root, removed
// whatever the outcome.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "../support/isolator_test_support.hpp"
#include "module_host.hpp"

namespace mantle::isolators::cgroups {
namespace {

using namespace ::mantle::testing::isolators;
using modules::Instance;
using modules::Registry;

constexpr std::size_t kMiB = 1024 * 1024;

// Child bodies: async-signal-safe only.
int touch(std::size_t bytes) {
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return 2;
  memset(memory, 0x5a, bytes);
  return 0;
}

class CgroupsIsolatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "needs root to create cgroups";
  }

  // Skips the test unless the host has every controller named.
  bool haveControllers(std::initializer_list<const char*> controllers) {
    for (const char* c : controllers) {
      if (!hierarchyOf(c)) return false;
    }
    return true;
  }

  std::shared_ptr<Instance> create(const std::string& name, Json::Value config = Json::Value(Json::objectValue)) {
    config["root"] = scope_.name();
    Json::Value module;
    module["name"] = name;
    module["instance"] = name + "#" + std::to_string(instances_++);
    module["kind"] = "isolator";
    module["config"] = config;
    Result<std::shared_ptr<Instance>> instance = testing::createModule(registry_, "mantle_cgroups", module, "isolator");
    EXPECT_TRUE(instance.ok()) << instance.error().message;
    return instance.ok() ? *instance : nullptr;
  }

  // The container's cgroup in the hierarchy of `controller`, as seen by the test.
  fs::path cgroupOf(const std::string& controller, const std::string& key) { return *scope_.dir(controller) / key; }

  CgroupRootScope scope_;
  Registry registry_;
  int instances_ = 0;
};

TEST(CgroupsLibraryTest, DeclaresTheFourModules) {
  Result<std::shared_ptr<const modules::Library>> library =
      modules::Library::open(testing::moduleLibrary("mantle_cgroups"));
  ASSERT_TRUE(library.ok()) << library.error().message;
  EXPECT_EQ((*library)->moduleNames(),
            (std::vector<std::string>{"cgroups/cpu", "cgroups/mem", "cgroups/pids", "cgroups/devices"}));
  for (const std::string& name : (*library)->moduleNames()) {
    Result<modules::ModuleInfo> info = (*library)->module(name);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->kind, "isolator");
  }
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_CpuSharesAndQuotaAreSetAsAsked) {
  if (!haveControllers({"cpu"})) GTEST_SKIP() << "no cpu controller";
  Json::Value config;
  config["cgroups_enable_cfs"] = true;
  std::shared_ptr<Instance> cpu = create("cgroups/cpu", config);
  ASSERT_NE(cpu, nullptr);
  ASSERT_TRUE(prepare(*cpu, "c1", {scalarResource("cpus", 0.5)}).ok());
  fs::path d = cgroupOf("cpu", "c1");
  ASSERT_TRUE(fs::exists(d)) << d;
  EXPECT_EQ(statusLabels(*cpu, "c1")["cgroups/cpu.cpu"], d.string());
  bool v1 = hierarchyOf("cpu")->version == 1;
  if (v1) {
    EXPECT_EQ(readFile(d / "cpu.shares"), "512");
    EXPECT_EQ(readFile(d / "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(readFile(d / "cpu.cfs_quota_us"), "50000");
  } else {
    EXPECT_EQ(readFile(d / "cpu.weight"), "50");
    EXPECT_EQ(readFile(d / "cpu.max"), "50000 100000");
  }

  Status updated = update(*cpu, "c1", {scalarResource("cpus", 2)});
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  if (v1) {
    EXPECT_EQ(readFile(d / "cpu.shares"), "2048");
    EXPECT_EQ(readFile(d / "cpu.cfs_quota_us"), "200000");
  } else {
    EXPECT_EQ(readFile(d / "cpu.weight"), "200");
    EXPECT_EQ(readFile(d / "cpu.max"), "200000 100000");
  }

  // Revocable CPUs weigh far less.
  v1::Resource revocable = scalarResource("cpus", 1);
  revocable.mutable_revocable();
  ASSERT_TRUE(prepare(*cpu, "c2", {revocable}).ok());
  if (v1) {
    EXPECT_EQ(readFile(cgroupOf("cpu", "c2") / "cpu.shares"), "10");
  }

  ASSERT_TRUE(cleanup(*cpu, "c1").ok());
  ASSERT_TRUE(cleanup(*cpu, "c2").ok());
  EXPECT_FALSE(scope_.anyCgroupNamed("c1"));
  EXPECT_FALSE(scope_.anyCgroupNamed("c2"));
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_WithoutCfsNoQuotaIsSet) {
  if (!haveControllers({"cpu"})) GTEST_SKIP() << "no cpu controller";
  std::shared_ptr<Instance> cpu = create("cgroups/cpu");
  ASSERT_NE(cpu, nullptr);
  ASSERT_TRUE(prepare(*cpu, "c1", {scalarResource("cpus", 0.25)}).ok());
  fs::path d = cgroupOf("cpu", "c1");
  if (hierarchyOf("cpu")->version == 1) {
    EXPECT_EQ(readFile(d / "cpu.shares"), "256");
    EXPECT_EQ(readFile(d / "cpu.cfs_quota_us"), "-1");
  } else {
    EXPECT_EQ(readFile(d / "cpu.max").substr(0, 3), "max");
  }
  ASSERT_TRUE(cleanup(*cpu, "c1").ok());
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_UsageShowsRealNumbers) {
  if (!haveControllers({"cpu", "memory", "pids"})) GTEST_SKIP() << "needs the cpu, memory and pids controllers";
  std::shared_ptr<Instance> cpu = create("cgroups/cpu");
  std::shared_ptr<Instance> mem = create("cgroups/mem");
  std::shared_ptr<Instance> pids = create("cgroups/pids");
  ASSERT_TRUE(cpu && mem && pids);
  std::vector<v1::Resource> resources = {scalarResource("cpus", 1), scalarResource("mem", 128)};
  for (Instance* i : {cpu.get(), mem.get(), pids.get()}) ASSERT_TRUE(prepare(*i, "u1", resources).ok());

  Channel ready;
  GatedChild child([&] {
    if (touch(24 * kMiB) != 0) return 2;
    spinFor(0.3);
    ready.send(1);
    for (;;) pause();
  });
  ASSERT_GT(child.pid(), 0);
  for (Instance* i : {cpu.get(), mem.get(), pids.get()}) {
    Status s = isolate(*i, "u1", child.pid());
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  child.release();
  ASSERT_EQ(ready.receive(std::chrono::seconds(20)), 1L);

  Result<v1::ResourceStatistics> c = usage(*cpu, "u1");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->processes(), 1u);
  EXPECT_GE(c->threads(), 1u);
  EXPECT_DOUBLE_EQ(c->cpus_limit(), 1.0);
  if (hierarchyOf("cpuacct") || hierarchyOf("cpu")->version == 2) {
    EXPECT_GE(c->cpus_user_time_secs() + c->cpus_system_time_secs(), 0.2);
  }
  EXPECT_GT(c->timestamp(), 1.6e9);

  Result<v1::ResourceStatistics> m = usage(*mem, "u1");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_GE(m->mem_rss_bytes(), 24 * kMiB);
  EXPECT_LT(m->mem_rss_bytes(), 128 * kMiB);
  EXPECT_GE(m->mem_total_bytes(), m->mem_rss_bytes());
  EXPECT_EQ(m->mem_limit_bytes(), 128 * kMiB);

  Result<v1::ResourceStatistics> p = usage(*pids, "u1");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->processes(), 1u);
  EXPECT_GE(p->threads(), 1u);

  child.kill();
  for (Instance* i : {cpu.get(), mem.get(), pids.get()}) ASSERT_TRUE(cleanup(*i, "u1").ok());
  EXPECT_FALSE(scope_.anyCgroupNamed("u1"));
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_MemoryOomKillIsReportedAndTheNeighbourSurvives) {
  if (!haveControllers({"memory"})) GTEST_SKIP() << "no memory controller";
  Json::Value config;
  config["memory_soft_limit_percent"] = 50;
  config["oom_check_interval_ms"] = 60000;  // the kernel event must be enough
  std::shared_ptr<Instance> mem = create("cgroups/mem", config);
  ASSERT_NE(mem, nullptr);
  Limitations limitations(*mem);
  ASSERT_TRUE(prepare(*mem, "big", {scalarResource("mem", 64)}).ok());
  ASSERT_TRUE(prepare(*mem, "small", {scalarResource("mem", 64)}).ok());
  if (hierarchyOf("memory")->version == 1) {
    EXPECT_EQ(readFile(cgroupOf("memory", "big") / "memory.limit_in_bytes"), std::to_string(64 * kMiB));
    EXPECT_EQ(readFile(cgroupOf("memory", "big") / "memory.soft_limit_in_bytes"), std::to_string(32 * kMiB));
  } else {
    EXPECT_EQ(readFile(cgroupOf("memory", "big") / "memory.max"), std::to_string(64 * kMiB));
    EXPECT_EQ(readFile(cgroupOf("memory", "big") / "memory.low"), std::to_string(32 * kMiB));
  }

  Channel smallReady;
  GatedChild small([&] {
    if (touch(8 * kMiB) != 0) return 2;
    smallReady.send(1);
    for (;;) pause();
  });
  GatedChild big([] { return touch(512 * kMiB); });
  ASSERT_TRUE(isolate(*mem, "small", small.pid()).ok());
  ASSERT_TRUE(isolate(*mem, "big", big.pid()).ok());
  small.release();
  ASSERT_EQ(smallReady.receive(std::chrono::seconds(20)), 1L);
  big.release();

  std::optional<int> bigStatus = big.wait(std::chrono::seconds(30));
  ASSERT_TRUE(bigStatus.has_value()) << "the process over its limit was not killed";
  ASSERT_TRUE(WIFSIGNALED(*bigStatus)) << "exited with " << *bigStatus;
  EXPECT_EQ(WTERMSIG(*bigStatus), SIGKILL);

  std::optional<v1::ContainerLimitation> limitation = limitations.waitFor("big", std::chrono::seconds(10));
  ASSERT_TRUE(limitation.has_value()) << "no limitation was reported";
  EXPECT_EQ(limitation->reason(), v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY);
  ASSERT_EQ(limitation->resources_size(), 1);
  EXPECT_EQ(limitation->resources(0).name(), "mem");
  EXPECT_NE(limitation->message().find("Memory limit exceeded"), std::string::npos) << limitation->message();

  // The neighbour was not touched, and nothing was said about it.
  EXPECT_TRUE(small.alive());
  for (const v1::ContainerLimitation& l : limitations.all()) EXPECT_EQ(l.container_id().value(), "big");
  Result<v1::ResourceStatistics> smallStats = usage(*mem, "small");
  ASSERT_TRUE(smallStats.ok()) << smallStats.error().message;
  EXPECT_GE(smallStats->mem_rss_bytes(), 8 * kMiB);
  EXPECT_EQ(smallStats->mem_soft_limit_bytes(), 32 * kMiB);

  ASSERT_TRUE(cleanup(*mem, "big").ok());
  ASSERT_TRUE(cleanup(*mem, "small").ok());
  EXPECT_FALSE(scope_.anyCgroupNamed("small"));
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_PidsLimitStopsAForkBomb) {
  if (!haveControllers({"pids"})) GTEST_SKIP() << "no pids controller";
  Json::Value config;
  config["max_pids"] = 100;
  std::shared_ptr<Instance> pids = create("cgroups/pids", config);
  ASSERT_NE(pids, nullptr);
  // The container's own pids resource wins over max_pids.
  ASSERT_TRUE(prepare(*pids, "bomb", {scalarResource("pids", 16)}).ok());
  EXPECT_EQ(readFile(cgroupOf("pids", "bomb") / "pids.max"), "16");

  Channel result;
  GatedChild bomb([&] {
    long forked = 0;
    for (int i = 0; i < 1000; ++i) {
      pid_t p = fork();
      if (p == 0) {
        for (;;) pause();
      }
      if (p < 0) {
        result.send(forked);
        result.send(errno);
        for (;;) pause();
      }
      ++forked;
    }
    result.send(forked);
    result.send(0);
    for (;;) pause();
  });
  ASSERT_TRUE(isolate(*pids, "bomb", bomb.pid()).ok());
  bomb.release();
  std::optional<long> forked = result.receive(std::chrono::seconds(20));
  std::optional<long> error = result.receive(std::chrono::seconds(5));
  ASSERT_TRUE(forked && error);
  EXPECT_EQ(*forked, 15) << "the bomb itself counts as one of the 16";
  EXPECT_EQ(*error, EAGAIN);
  Result<v1::ResourceStatistics> stats = usage(*pids, "bomb");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->processes(), 16u);
  EXPECT_EQ(stats->threads(), 16u);

  // Without a pids resource, max_pids applies.
  ASSERT_TRUE(prepare(*pids, "other", {}).ok());
  EXPECT_EQ(readFile(cgroupOf("pids", "other") / "pids.max"), "100");

  Status cleaned = cleanup(*pids, "bomb");
  ASSERT_TRUE(cleaned.ok()) << cleaned.error().message;
  EXPECT_FALSE(scope_.anyCgroupNamed("bomb"));
  ASSERT_TRUE(cleanup(*pids, "other").ok());
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_CleanupKillsLingeringProcessesAndRemovesEveryCgroup) {
  if (!haveControllers({"cpu", "memory"})) GTEST_SKIP() << "needs the cpu and memory controllers";
  std::shared_ptr<Instance> cpu = create("cgroups/cpu");
  std::shared_ptr<Instance> mem = create("cgroups/mem");
  ASSERT_TRUE(cpu && mem);
  for (Instance* i : {cpu.get(), mem.get()}) {
    ASSERT_TRUE(prepare(*i, "linger", {scalarResource("cpus", 1), scalarResource("mem", 64)}).ok());
  }
  Channel started;
  // Processes that ignore SIGTERM and keep forking.
  GatedChild child([&] {
    signal(SIGTERM, SIG_IGN);
    for (int i = 0; i < 4; ++i) {
      if (fork() == 0) {
        setsid();  // leave the test's process group: only the cgroup still holds it
        for (;;) {
          if (fork() == 0) _exit(0);
          usleep(1000);
        }
      }
    }
    started.send(1);
    for (;;) pause();
  });
  for (Instance* i : {cpu.get(), mem.get()}) ASSERT_TRUE(isolate(*i, "linger", child.pid()).ok());
  child.release();
  ASSERT_EQ(started.receive(std::chrono::seconds(20)), 1L);
  EXPECT_GE(cgroupProcs(cgroupOf("memory", "linger")).size(), 5u);

  // The agent would have killed the executor; the isolators must not rely on it.
  for (Instance* i : {mem.get(), cpu.get()}) {
    Status cleaned = cleanup(*i, "linger");
    ASSERT_TRUE(cleaned.ok()) << cleaned.error().message;
  }
  EXPECT_FALSE(scope_.anyCgroupNamed("linger"));
  std::optional<int> status = child.wait(std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  // Cleaning up again, or an unknown container, is fine.
  EXPECT_TRUE(cleanup(*cpu, "linger").ok());
  EXPECT_TRUE(cleanup(*cpu, "never-seen").ok());
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_RecoverReadoptsALiveContainerAndRemovesOrphans) {
  if (!haveControllers({"memory"})) GTEST_SKIP() << "no memory controller";
  Channel ready;
  GatedChild live([&] {
    ready.send(1);
    for (;;) pause();
  });
  GatedChild orphan([&] {
    ready.send(2);
    for (;;) pause();
  });
  {
    // The agent before its restart.
    std::shared_ptr<Instance> before = create("cgroups/mem");
    ASSERT_NE(before, nullptr);
    ASSERT_TRUE(prepare(*before, "live", {scalarResource("mem", 64)}).ok());
    ASSERT_TRUE(prepare(*before, "orphan", {scalarResource("mem", 64)}).ok());
    ASSERT_TRUE(prepare(*before, "listed-orphan", {scalarResource("mem", 64)}).ok());
    ASSERT_TRUE(isolate(*before, "live", live.pid()).ok());
    ASSERT_TRUE(isolate(*before, "orphan", orphan.pid()).ok());
    live.release();
    orphan.release();
    ASSERT_TRUE(ready.receive(std::chrono::seconds(20)).has_value());
    ASSERT_TRUE(ready.receive(std::chrono::seconds(20)).has_value());
  }  // the instance goes away; its cgroups and processes stay

  std::shared_ptr<Instance> after = create("cgroups/mem");
  ASSERT_NE(after, nullptr);
  Limitations limitations(*after);
  v1::IsolatorRecoverRequest request;
  v1::ContainerState* state = request.add_states();
  *state->mutable_container_id() = containerId("live");
  *state->mutable_config()->add_resources() = scalarResource("mem", 64);
  state->set_pid(live.pid());
  *request.add_orphans() = containerId("listed-orphan");
  Result<v1::Empty> recovered = modules::IsolatorClient(*after).recover(request);
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;

  // The orphans' cgroups are gone and their processes killed.
  EXPECT_FALSE(scope_.anyCgroupNamed("orphan"));
  EXPECT_FALSE(scope_.anyCgroupNamed("listed-orphan"));
  std::optional<int> orphanStatus = orphan.wait(std::chrono::seconds(5));
  ASSERT_TRUE(orphanStatus.has_value());
  EXPECT_TRUE(WIFSIGNALED(*orphanStatus));

  // The live one is managed again: usage, update, OOM watching, cleanup.
  EXPECT_TRUE(live.alive());
  EXPECT_EQ(cgroupProcs(cgroupOf("memory", "live")), std::vector<pid_t>{live.pid()});
  Result<v1::ResourceStatistics> stats = usage(*after, "live");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->mem_limit_bytes(), 64 * kMiB);
  ASSERT_TRUE(update(*after, "live", {scalarResource("mem", 96)}).ok());
  stats = usage(*after, "live");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->mem_limit_bytes(), 96 * kMiB);
  ASSERT_TRUE(cleanup(*after, "live").ok());
  EXPECT_FALSE(scope_.anyCgroupNamed("live"));
  EXPECT_TRUE(limitations.all().empty());
}

// A process in container `id` that opens /dev/null and /dev/kmsg; the errnos
// (0 when it opened).
std::pair<long, long> openNullAndKmsg(Instance& isolator, const std::string& id) {
  Channel out;
  GatedChild child([&out] {
    int fd = open("/dev/null", O_RDWR);
    out.send(fd >= 0 ? 0 : errno);
    fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
    out.send(fd >= 0 ? 0 : errno);
    return 0;
  });
  Status isolated = isolate(isolator, id, child.pid());
  EXPECT_TRUE(isolated.ok()) << isolated.error().message;
  child.release();
  long null = out.receive(std::chrono::seconds(10)).value_or(-1);
  long kmsg = out.receive(std::chrono::seconds(10)).value_or(-1);
  return {null, kmsg};
}

// The same checks whichever way device access is controlled.
void checkDeviceIsolation(Instance& isolator, CgroupRootScope& scope) {
  ASSERT_TRUE(prepare(isolator, "plain", {}).ok());
  EXPECT_EQ(openNullAndKmsg(isolator, "plain"), std::make_pair(0L, long{EPERM}))
      << "/dev/null is on the default list, /dev/kmsg is not";

  // A grant through the task label.
  v1::IsolatorPrepareRequest granted;
  *granted.mutable_container_id() = containerId("granted");
  v1::Label* label = granted.mutable_config()->mutable_task_info()->mutable_labels()->add_labels();
  label->set_key("mantle.devices");
  label->set_value("/dev/kmsg r");
  Result<v1::IsolatorPrepareResponse> prepared = modules::IsolatorClient(isolator).prepare(granted);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  EXPECT_EQ(openNullAndKmsg(isolator, "granted"), std::make_pair(0L, 0L)) << "/dev/kmsg was granted";

  // Asking for more than the operator made grantable is refused, leaving nothing.
  label->set_value("c 1:11 rw");
  *granted.mutable_container_id() = containerId("greedy");
  Result<v1::IsolatorPrepareResponse> refused = modules::IsolatorClient(isolator).prepare(granted);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, StatusCode::kPermissionDenied) << refused.error().message;
  EXPECT_FALSE(scope.anyCgroupNamed("greedy"));

  for (const char* id : {"plain", "granted"}) ASSERT_TRUE(cleanup(isolator, id).ok());
  EXPECT_FALSE(scope.anyCgroupNamed("plain"));
  EXPECT_FALSE(scope.anyCgroupNamed("granted"));
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_DevicesAllowTheDefaultsAndGrantsOnly) {
  std::optional<CgroupHierarchy> devices = hierarchyOf("devices");
  if (!devices || devices->version != 1) GTEST_SKIP() << "no cgroups v1 devices controller";
  Json::Value config;
  config["grantable_devices"].append("c 1:11 r");  // /dev/kmsg, read only
  config["device_control"] = "v1";
  std::shared_ptr<Instance> isolator = create("cgroups/devices", config);
  ASSERT_NE(isolator, nullptr);
  ASSERT_TRUE(prepare(*isolator, "listed", {}).ok());
  std::string list = readFile(cgroupOf("devices", "listed") / "devices.list");
  EXPECT_NE(list.find("c 1:3 rwm"), std::string::npos) << list;
  EXPECT_EQ(list.find("a *:*"), std::string::npos) << list;
  ASSERT_TRUE(cleanup(*isolator, "listed").ok());
  checkDeviceIsolation(*isolator, scope_);
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_DevicesThroughAnEbpfProgramOnCgroupsV2) {
  std::optional<CgroupHierarchy> unified;
  for (const CgroupHierarchy& h : cgroupHierarchies()) {
    if (h.version == 2) unified = h;
  }
  if (!unified) GTEST_SKIP() << "no cgroup2 mount";
  Json::Value config;
  config["grantable_devices"].append("c 1:11 r");
  config["device_control"] = "v2";  // also on a hybrid host
  std::shared_ptr<Instance> isolator = create("cgroups/devices", config);
  ASSERT_NE(isolator, nullptr);
  Result<v1::IsolatorPrepareResponse> probe = prepare(*isolator, "probe", {});
  if (!probe.ok() && probe.error().code == StatusCode::kUnimplemented) {
    GTEST_SKIP() << "the kernel has no cgroup device programs: " << probe.error().message;
  }
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  EXPECT_EQ(statusLabels(*isolator, "probe")["cgroups/devices.devices"],
            (unified->ownDir / scope_.name() / "probe").string());
  ASSERT_TRUE(cleanup(*isolator, "probe").ok());
  checkDeviceIsolation(*isolator, scope_);
}

TEST_F(CgroupsIsolatorTest, ROOT_CGROUPS_UnknownContainersAndBadRequests) {
  if (!haveControllers({"cpu"})) GTEST_SKIP() << "no cpu controller";
  std::shared_ptr<Instance> cpu = create("cgroups/cpu");
  ASSERT_NE(cpu, nullptr);
  Result<v1::ResourceStatistics> unknown = usage(*cpu, "nobody");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, StatusCode::kNotFound);
  EXPECT_NE(unknown.error().message.find("nobody"), std::string::npos);
  EXPECT_TRUE(cleanup(*cpu, "nobody").ok());
  EXPECT_FALSE(prepare(*cpu, "../escape", {}).ok());
  ASSERT_TRUE(prepare(*cpu, "twice", {}).ok());
  Result<v1::IsolatorPrepareResponse> again = prepare(*cpu, "twice", {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, StatusCode::kAlreadyExists);
  Status noPid = isolate(*cpu, "twice", 0);
  ASSERT_FALSE(noPid.ok());
  EXPECT_EQ(noPid.error().code, StatusCode::kInvalidArgument);
  ASSERT_TRUE(cleanup(*cpu, "twice").ok());

  Json::Value bad;
  bad["root"] = "..";
  Json::Value module;
  module["name"] = "cgroups/cpu";
  module["instance"] = "bad-root";
  module["config"] = bad;
  Result<std::shared_ptr<Instance>> refused = testing::createModule(registry_, "mantle_cgroups", module, "isolator");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("root"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace mantle::isolators::cgroups
