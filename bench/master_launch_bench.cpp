// Task launch through the whole stack: the C++ scheduler client sends ACCEPT
// (LAUNCH) to a real mantle-master, which sends RUN_TASK to a real
// mantle-agent, which starts mantle-executor, which runs the command and
// reports TASK_RUNNING back through agent and master. Measured: launch ->
// TASK_RUNNING latency one task at a time, and tasks/s for N tasks in one
// ACCEPT; beside it, in the same run, the bare fork + exec of the same
// command (/bin/sh -c "<command>", until the exec happened).
//
//   mantle_master_launch_bench [N=100] [SEQUENTIAL=30]
//
// Prints a table; asserts nothing (a measurement, not a test).
#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "scheduler/scheduler.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = ::mesos::v1;
const char* const kCommand = "sleep 120";

double forkExecOnce() {
  auto start = Clock::now();
  int execed[2];
  if (::pipe2(execed, O_CLOEXEC) != 0) return 0;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(execed[0]);
    char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), const_cast<char*>("exit 0"), nullptr};
    ::execv(argv[0], argv);
    ::_exit(127);
  }
  ::close(execed[1]);
  char byte;
  while (::read(execed[0], &byte, 1) > 0) {
  }
  auto done = Clock::now();
  ::close(execed[0]);
  ::waitpid(pid, nullptr, 0);
  return std::chrono::duration<double, std::milli>(done - start).count();
}

struct Stats {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * (v.size() - 1) + 0.5))]; };
  s.p50 = at(0.5);
  s.p90 = at(0.9);
  s.p99 = at(0.99);
  s.max = v.back();
  return s;
}

class Bench {
 public:
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<v1::Offer> offers;
  std::map<std::string, Clock::time_point> running;
  int subscribed = 0;

  mantle::scheduler::SchedulerCallbacks callbacks() {
    mantle::scheduler::SchedulerCallbacks c;
    c.subscribed = [this](const auto&) {
      std::lock_guard<std::mutex> lock(mutex);
      ++subscribed;
      cv.notify_all();
    };
    c.offers = [this](const std::vector<v1::Offer>& list) {
      std::lock_guard<std::mutex> lock(mutex);
      offers.insert(offers.end(), list.begin(), list.end());
      cv.notify_all();
    };
    c.update = [this](const v1::TaskStatus& status) {
      if (status.state() != v1::TASK_RUNNING) return;
      std::lock_guard<std::mutex> lock(mutex);
      running.emplace(status.task_id().value(), Clock::now());
      cv.notify_all();
    };
    return c;
  }

  std::optional<v1::Offer> offer() {
    std::unique_lock<std::mutex> lock(mutex);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return !offers.empty(); })) return std::nullopt;
    v1::Offer o = offers.front();
    offers.erase(offers.begin());
    return o;
  }

  bool waitRunning(std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(120), [&] { return running.size() >= count; });
  }
};

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100;
  int sequential = argc > 2 ? std::atoi(argv[2]) : 30;

  std::vector<double> baseline;
  for (int i = 0; i < std::max(n, sequential); ++i) baseline.push_back(forkExecOnce());

  mantle::testing::ClusterOptions options;
  options.agentResources = "cpus:" + std::to_string(n + sequential) + ";mem:" + std::to_string(64 * (n + sequential));
  options.masterFlags = {"--allocation_interval=50ms"};
  mantle::testing::LocalCluster cluster(options);
  if (mantle::Status s = cluster.start(); !s.ok()) {
    std::fprintf(stderr, "cluster: %s\n", s.error().message.c_str());
    return 1;
  }
  Bench bench;
  mantle::scheduler::SchedulerOptions so;
  so.master = cluster.masterAddress();
  struct passwd* pw = ::getpwuid(::getuid());
  so.frameworkInfo.set_user(pw != nullptr ? pw->pw_name : "root");
  so.frameworkInfo.set_name("master launch bench");
  so.reconnect = false;
  mantle::scheduler::Scheduler scheduler(so, bench.callbacks());
  scheduler.start();

  // One task at a time.
  std::vector<double> latencies;
  for (int i = 0; i < sequential; ++i) {
    std::optional<v1::Offer> offer = bench.offer();
    if (!offer) {
      std::fprintf(stderr, "no offer\n%s\n", cluster.logs().c_str());
      return 1;
    }
    std::string id = "seq-" + std::to_string(i);
    auto start = Clock::now();
    if (!scheduler.launch(*offer, {mantle::scheduler::commandTask(id, *offer, kCommand, "cpus:0.5;mem:32")}, 0.0).ok()) {
      return 1;
    }
    if (!bench.waitRunning(static_cast<std::size_t>(i + 1))) {
      std::fprintf(stderr, "task %s did not run\n%s\n", id.c_str(), cluster.logs().c_str());
      return 1;
    }
    std::lock_guard<std::mutex> lock(bench.mutex);
    latencies.push_back(std::chrono::duration<double, std::milli>(bench.running.at(id) - start).count());
  }

  // N tasks in one ACCEPT.
  std::optional<v1::Offer> offer = bench.offer();
  if (!offer) return 1;
  std::vector<v1::TaskInfo> tasks;
  for (int i = 0; i < n; ++i) {
    tasks.push_back(mantle::scheduler::commandTask("batch-" + std::to_string(i), *offer, kCommand, "cpus:0.5;mem:32"));
  }
  auto start = Clock::now();
  if (!scheduler.launch(*offer, tasks, 0.0).ok()) return 1;
  if (!bench.waitRunning(static_cast<std::size_t>(sequential + n))) {
    std::fprintf(stderr, "batch did not run\n%s\n", cluster.logs().c_str());
    return 1;
  }
  std::vector<double> batch;
  Clock::time_point last = start;
  {
    std::lock_guard<std::mutex> lock(bench.mutex);
    for (const auto& [id, at] : bench.running) {
      if (id.rfind("batch-", 0) != 0) continue;
      batch.push_back(std::chrono::duration<double, std::milli>(at - start).count());
      last = std::max(last, at);
    }
  }
  double seconds = std::chrono::duration<double>(last - start).count();
  (void)scheduler.teardown();
  scheduler.stop();

  Stats b = stats(baseline), s = stats(latencies), g = stats(batch);
  std::printf("\n%-44s %8s %8s %8s %8s %10s\n", "measurement (ms)", "p50", "p90", "p99", "max", "tasks/s");
  std::printf("%-44s %8.3f %8.3f %8.3f %8.3f %10s\n", "fork+exec /bin/sh -c (baseline)", b.p50, b.p90, b.p99, b.max,
              "-");
  std::printf("%-44s %8.3f %8.3f %8.3f %8.3f %10.1f\n",
              ("launch->TASK_RUNNING, 1 at a time (" + std::to_string(sequential) + ")").c_str(), s.p50, s.p90, s.p99,
              s.max, s.p50 > 0 ? 1000.0 / s.p50 : 0.0);
  std::printf("%-44s %8.3f %8.3f %8.3f %8.3f %10.1f\n",
              ("launch->TASK_RUNNING, " + std::to_string(n) + " in one ACCEPT").c_str(), g.p50, g.p90, g.p99, g.max,
              seconds > 0 ? n / seconds : 0.0);
  return 0;
}
