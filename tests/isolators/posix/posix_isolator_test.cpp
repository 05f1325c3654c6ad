// posix/cpu and posix/mem, loaded through the host from libmantle_posix.so,
// measuring real child processes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "../support/isolator_test_support.hpp"
#include "mantle/module/v1/isolator.pb.h"
#include "module_host.hpp"

namespace mantle::isolators::posix {
namespace {

namespace v1 = ::mantle::module::v1;
using modules::Instance;
using modules::Registry;
using testing::isolators::spinFor;

constexpr std::size_t kTouchedBytes = 32u << 20;

// A container stand-in: a child in its own process group that forks one
// grandchild. Each burns some CPU and touches 32 MiB, reports ready through
// a pipe, then sleeps. The destructor kills the group and reaps the child,
// also when an assertion fails.
class ChildTree {
 public:
  ChildTree() {
    // Orphaned grandchildren come to this process, which reaps them, instead
    // of to an init that may not.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls from here: the test process has threads.
      setpgid(0, 0);
      close(fds[0]);
      pid_t grandchild = fork();
      work(fds[1]);
      (void)grandchild;
      for (;;) pause();
    }
    close(fds[1]);
    if (pid_ > 0) {
      setpgid(pid_, pid_);
      ready_ = waitForBytes(fds[0], 2);
    }
    close(fds[0]);
  }
  ~ChildTree() { kill(); }
  ChildTree(const ChildTree&) = delete;
  ChildTree& operator=(const ChildTree&) = delete;

  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }

  // Kills the whole group and reaps every member: the child, and the
  // grandchild, which this (subreaper) process inherits when its parent dies.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    while (waitpid(-pid_, &status, 0) > 0 || errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  static void work(int readyFd) {
    void* memory = mmap(nullptr, kTouchedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory != MAP_FAILED) memset(memory, 0x5a, kTouchedBytes);
    spinFor(0.2);
    char byte = 1;
    (void)!write(readyFd, &byte, 1);
    close(readyFd);
  }

  static bool waitForBytes(int fd, int count) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count > 0 && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buffer[8];
      ssize_t n = read(fd, buffer, sizeof buffer);
      if (n <= 0) return false;
      count -= static_cast<int>(n);
    }
    return count <= 0;
  }

  pid_t pid_ = -1;
  bool ready_ = false;
};

v1::ContainerID containerId(const std::string& value) {
  v1::ContainerID id;
  id.set_value(value);
  return id;
}

v1::Resource scalarResource(const std::string& name, double value) {
  v1::Resource r;
  r.set_name(name);
  r.set_type(v1::Value::SCALAR);
  r.mutable_scalar()->set_value(value);
  return r;
}

class PosixIsolatorTest : public ::testing::Test {
 protected:
  std::shared_ptr<Instance> create(const std::string& name) {
    Json::Value module;
    module["name"] = name;
    module["kind"] = "isolator";
    Result<std::shared_ptr<Instance>> instance = testing::createModule(registry_, "mantle_posix", module, "isolator");
    EXPECT_TRUE(instance.ok()) << instance.error().message;
    return instance.ok() ? *instance : nullptr;
  }

  static Status isolate(Instance& isolator, const std::string& id, pid_t pid) {
    v1::IsolatorIsolateRequest request;
    *request.mutable_container_id() = containerId(id);
    request.set_pid(pid);
    Result<v1::Empty> done = modules::IsolatorClient(isolator).isolate(request);
    if (!done.ok()) return done.error();
    return {};
  }

  static Result<v1::ResourceStatistics> usage(Instance& isolator, const std::string& id) {
    v1::IsolatorUsageRequest request;
    *request.mutable_container_id() = containerId(id);
    Result<v1::IsolatorUsageResponse> response = modules::IsolatorClient(isolator).usage(request);
    if (!response.ok()) return response.error();
    return response->statistics();
  }

  Registry registry_;
};

TEST_F(PosixIsolatorTest, LibraryDeclaresBothModules) {
  Result<std::shared_ptr<const modules::Library>> library =
      modules::Library::open(testing::moduleLibrary("mantle_posix"));
  ASSERT_TRUE(library.ok()) << library.error().message;
  EXPECT_EQ((*library)->moduleNames(), (std::vector<std::string>{"posix/cpu", "posix/mem"}));
  for (const char* name : {"posix/cpu", "posix/mem"}) {
    Result<modules::ModuleInfo> info = (*library)->module(name);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->kind, "isolator");
  }
}

TEST_F(PosixIsolatorTest, CpuReportsTimesProcessesAndThreadsOfTheTree) {
  std::shared_ptr<Instance> cpu = create("posix/cpu");
  ASSERT_NE(cpu, nullptr);
  auto started = std::chrono::steady_clock::now();
  ChildTree child;
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(child.ready()) << "the child processes did not start";

  Status isolated = isolate(*cpu, "c1", child.pid());
  ASSERT_TRUE(isolated.ok()) << isolated.error().message;
  Result<v1::ResourceStatistics> stats = usage(*cpu, "c1");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  EXPECT_EQ(stats->processes(), 2u);  // the child and its grandchild
  EXPECT_GE(stats->threads(), 2u);
  // Each process spun 0.2 s of CPU; clock ticks are 10 ms.
  double cpuSeconds = stats->cpus_user_time_secs() + stats->cpus_system_time_secs();
  EXPECT_GT(stats->cpus_user_time_secs(), 0.0);
  EXPECT_GE(cpuSeconds, 0.3);
  EXPECT_LE(cpuSeconds, 2 * elapsed + 0.1);  // two processes cannot use more than two cores' worth
  EXPECT_GT(stats->timestamp(), 1.6e9);
  EXPECT_FALSE(stats->has_mem_rss_bytes()) << "posix/cpu reports no memory";
}

TEST_F(PosixIsolatorTest, MemReportsResidentMemoryOfTheTree) {
  std::shared_ptr<Instance> mem = create("posix/mem");
  ASSERT_NE(mem, nullptr);
  ChildTree child;
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(child.ready());

  ASSERT_TRUE(isolate(*mem, "c1", child.pid()).ok());
  Result<v1::ResourceStatistics> stats = usage(*mem, "c1");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  // Both processes touched 32 MiB each.
  EXPECT_GE(stats->mem_rss_bytes(), 2 * kTouchedBytes);
  EXPECT_LT(stats->mem_rss_bytes(), std::uint64_t{2} << 30);
  EXPECT_EQ(stats->mem_total_bytes(), stats->mem_rss_bytes());
  EXPECT_FALSE(stats->has_processes()) << "posix/mem reports no process counts";
}

TEST_F(PosixIsolatorTest, LimitsComeFromPrepareAndUpdate) {
  std::shared_ptr<Instance> cpu = create("posix/cpu");
  ASSERT_NE(cpu, nullptr);
  Json::Value memModule;
  memModule["name"] = "posix/mem";
  Result<std::shared_ptr<Instance>> memCreated =
      testing::createModule(registry_, "mantle_posix", memModule, "isolator");
  ASSERT_TRUE(memCreated.ok()) << memCreated.error().message;
  std::shared_ptr<Instance> mem = *memCreated;

  for (Instance* isolator : {cpu.get(), mem.get()}) {
    v1::IsolatorPrepareRequest prepare;
    *prepare.mutable_container_id() = containerId("c2");
    *prepare.mutable_config()->add_resources() = scalarResource("cpus", 0.5);
    *prepare.mutable_config()->add_resources() = scalarResource("mem", 64);
    ASSERT_TRUE(modules::IsolatorClient(*isolator).prepare(prepare).ok());
    // Prepared but not isolated: limits, no process counts.
    Result<v1::ResourceStatistics> before = usage(*isolator, "c2");
    ASSERT_TRUE(before.ok()) << before.error().message;
    EXPECT_FALSE(before->has_processes());

    v1::IsolatorUpdateRequest update;
    *update.mutable_container_id() = containerId("c2");
    *update.add_resources() = scalarResource("cpus", 1.0);
    *update.add_resources() = scalarResource("cpus", 0.5);  // scalars of one name add up
    *update.add_resources() = scalarResource("mem", 256);
    Result<v1::Empty> updated = modules::IsolatorClient(*isolator).update(update);
    ASSERT_TRUE(updated.ok()) << updated.error().message;
  }
  Result<v1::ResourceStatistics> cpuStats = usage(*cpu, "c2");
  ASSERT_TRUE(cpuStats.ok());
  EXPECT_DOUBLE_EQ(cpuStats->cpus_limit(), 1.5);
  EXPECT_FALSE(cpuStats->has_mem_limit_bytes());
  Result<v1::ResourceStatistics> memStats = usage(*mem, "c2");
  ASSERT_TRUE(memStats.ok());
  EXPECT_EQ(memStats->mem_limit_bytes(), std::uint64_t{256} << 20);
  EXPECT_FALSE(memStats->has_cpus_limit());

  // Preparing the same container twice is refused.
  v1::IsolatorPrepareRequest again;
  *again.mutable_container_id() = containerId("c2");
  Result<v1::IsolatorPrepareResponse> twice = modules::IsolatorClient(*cpu).prepare(again);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, StatusCode::kAlreadyExists);
}

TEST_F(PosixIsolatorTest, UnknownContainersAreNotFoundAndCleanupAlwaysSucceeds) {
  std::shared_ptr<Instance> cpu = create("posix/cpu");
  ASSERT_NE(cpu, nullptr);
  Result<v1::ResourceStatistics> unknown = usage(*cpu, "nobody");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, StatusCode::kNotFound);
  EXPECT_NE(unknown.error().message.find("nobody"), std::string::npos) << unknown.error().message;

  v1::IsolatorUpdateRequest update;
  *update.mutable_container_id() = containerId("nobody");
  Result<v1::Empty> updated = modules::IsolatorClient(*cpu).update(update);
  ASSERT_FALSE(updated.ok());
  EXPECT_EQ(updated.error().code, StatusCode::kNotFound);

  v1::IsolatorCleanupRequest cleanup;
  *cleanup.mutable_container_id() = containerId("nobody");
  Result<v1::Empty> cleaned = modules::IsolatorClient(*cpu).cleanup(cleanup);
  EXPECT_TRUE(cleaned.ok()) << cleaned.error().message;
}

TEST_F(PosixIsolatorTest, CleanupForgetsTheContainer) {
  std::shared_ptr<Instance> cpu = create("posix/cpu");
  ASSERT_NE(cpu, nullptr);
  ASSERT_TRUE(isolate(*cpu, "c3", getpid()).ok());
  ASSERT_TRUE(usage(*cpu, "c3").ok());

  v1::IsolatorStatusRequest statusRequest;
  *statusRequest.mutable_container_id() = containerId("c3");
  Result<v1::IsolatorStatusResponse> status = modules::IsolatorClient(*cpu).status(statusRequest);
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(status->labels().labels_size(), 1);
  EXPECT_EQ(status->labels().labels(0).value(), std::to_string(getpid()));

  v1::IsolatorCleanupRequest cleanup;
  *cleanup.mutable_container_id() = containerId("c3");
  ASSERT_TRUE(modules::IsolatorClient(*cpu).cleanup(cleanup).ok());
  Result<v1::ResourceStatistics> after = usage(*cpu, "c3");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, StatusCode::kNotFound);
}

TEST_F(PosixIsolatorTest, NestedContainersAreKeptApart) {
  std::shared_ptr<Instance> cpu = create("posix/cpu");
  ASSERT_NE(cpu, nullptr);
  v1::IsolatorIsolateRequest nested;
  nested.mutable_container_id()->set_value("child");
  nested.mutable_container_id()->mutable_parent()->set_value("parent");
  nested.set_pid(getpid());
  ASSERT_TRUE(modules::IsolatorClient(*cpu).isolate(nested).ok());
  // A top-level container of the same value is another container.
  Result<v1::ResourceStatistics> topLevel = usage(*cpu, "child");
  ASSERT_FALSE(topLevel.ok());
  EXPECT_EQ(topLevel.error().code, StatusCode::kNotFound);
  v1::IsolatorUsageRequest request;
  *request.mutable_container_id() = nested.container_id();
  Result<v1::IsolatorUsageResponse> response = modules::IsolatorClient(*cpu).usage(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_GE(response->statistics().processes(), 1u);
}

TEST_F(PosixIsolatorTest, UsageOfAnExitedProcessIsAnError) {
  std::shared_ptr<Instance> cpu = create("posix/cpu");
  ASSERT_NE(cpu, nullptr);
  pid_t pid = -1;
  {
    ChildTree child;
    ASSERT_TRUE(child.ready());
    pid = child.pid();
    ASSERT_TRUE(isolate(*cpu, "c4", pid).ok());
    ASSERT_TRUE(usage(*cpu, "c4").ok());
  }  // killed and reaped
  Result<v1::ResourceStatistics> gone = usage(*cpu, "c4");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, StatusCode::kNotFound);
  EXPECT_NE(gone.error().message.find(std::to_string(pid)), std::string::npos) << gone.error().message;
}

TEST_F(PosixIsolatorTest, IsolateWithoutPidIsRefused) {
  std::shared_ptr<Instance> mem = create("posix/mem");
  ASSERT_NE(mem, nullptr);
  Status refused = isolate(*mem, "c5", 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mantle::isolators::posix
