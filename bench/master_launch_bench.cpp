// Task launch through the whole stack: the C++ scheduler client sends ACCEPT
// (LAUNCH) to a real mantle-master, which sends RUN_TASK to a real
// mantle-agent (posix isolation), which starts mantle-executor, which runs the
// command and reports TASK_RUNNING back through agent and master. Measured:
// launch -> TASK_RUNNING latency one task at a time, with its split from the
// agent's launch trace (CLOCK_MONOTONIC stamps compared with the bench's
// own), and tasks/s for N tasks in one ACCEPT; beside them, in the same run,
// the floor: fork + cgroup + exec of /bin/true (until the exec happened), and
// what starting mantle-executor costs (fork + exec until it exits, with no
// environment, against /bin/true; and until its SUBSCRIBE arrives at a socket
// standing in for the agent).
//
//   mantle_master_launch_bench [N=100] [SEQUENTIAL=30] [checkpoint] [COMMAND=true]
//
// `checkpoint`: the framework checkpoints (its tasks survive an agent
// restart; their checkpoints are fsynced). Prints tables; asserts nothing (a
// measurement, not a test).
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "launch_trace.hpp"
#include "mantle/common/clock.hpp"
#include "process.hpp"
#include "scheduler/scheduler.hpp"
#include "spawn_floor.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = ::mesos::v1;

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
  std::map<std::string, std::int64_t> runningNs;  // steadyNanos() when seen
  std::size_t finished = 0;                       // tasks seen TASK_FINISHED
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
      if (status.state() == v1::TASK_FINISHED) {
        std::lock_guard<std::mutex> lock(mutex);
        ++finished;
        cv.notify_all();
        return;
      }
      if (status.state() != v1::TASK_RUNNING) return;
      std::lock_guard<std::mutex> lock(mutex);
      running.emplace(status.task_id().value(), Clock::now());
      runningNs.emplace(status.task_id().value(), mantle::steadyNanos());
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

  bool waitFinished(std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(120), [&] { return finished >= count; });
  }

  bool waitRunning(std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(120), [&] { return running.size() >= count; });
  }
};

}  // namespace

double scalar(const v1::Offer& offer, const std::string& name) {
  double total = 0;
  for (const auto& resource : offer.resources()) {
    if (resource.name() == name) total += resource.scalar().value();
  }
  return total;
}

// CPU seconds of `pid` (utime + stime) and of its children it has reaped
// (cutime + cstime: the container roots, and through them the executors and
// the tasks' shells), from /proc/<pid>/stat.
std::pair<double, double> cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return {0, 0};
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  if (fields.size() < 15) return {0, 0};
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  // fields[0] is field 3 (state): utime, stime, cutime, cstime are 14-17.
  return {(std::stod(fields[11]) + std::stod(fields[12])) / tick,
          (std::stod(fields[13]) + std::stod(fields[14])) / tick};
}

double loadAverage() {
  double load[1] = {0};
  return ::getloadavg(load, 1) == 1 ? load[0] : -1;
}

int main(int argc, char** argv) {
  int n = 100;
  int sequential = 30;
  bool checkpoint = false;
  std::string command = "true";
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "checkpoint") {
      checkpoint = true;
    } else if (positional == 0) {
      n = std::atoi(argv[i]), ++positional;
    } else if (positional == 1) {
      sequential = std::atoi(argv[i]), ++positional;
    } else {
      command = arg;
    }
  }
  const double loadBefore = loadAverage();

  // The floor, in this run.
  const std::optional<std::string> cgroups = mantle::bench::cgroupRoot();
  const std::string executorPath = mantle::testing::binary("mantle-executor");
  std::vector<double> floorExec, floorCgroup, trueExit, executorExit, executorSubscribe;
  for (int i = 0; i < std::max(n, sequential); ++i) {
    floorExec.push_back(1000 * mantle::bench::spawnOnce(std::nullopt, i));
    if (cgroups) floorCgroup.push_back(1000 * mantle::bench::spawnOnce(cgroups, i));
    trueExit.push_back(1000 * mantle::bench::spawnOnce(std::nullopt, i, {"/bin/true"}, true));
    executorExit.push_back(1000 * mantle::bench::spawnOnce(std::nullopt, i, {executorPath}, true));
    executorSubscribe.push_back(1000 * mantle::bench::executorSubscribeOnce(executorPath));
  }

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
  so.frameworkInfo.set_checkpoint(checkpoint);
  so.reconnect = false;
  mantle::scheduler::Scheduler scheduler(so, bench.callbacks());
  scheduler.start();

  // One task at a time.
  std::vector<double> latencies;
  std::map<std::string, std::int64_t> acceptedNs;
  for (int i = 0; i < sequential; ++i) {
    std::optional<v1::Offer> offer = bench.offer();
    if (!offer) {
      std::fprintf(stderr, "no offer\n%s\n", cluster.logs().c_str());
      return 1;
    }
    std::string id = "seq-" + std::to_string(i);
    auto start = Clock::now();
    acceptedNs[id] = mantle::steadyNanos();
    if (!scheduler.launch(*offer, {mantle::scheduler::commandTask(id, *offer, command, "cpus:0.5;mem:32")}, 0.0).ok()) {
      return 1;
    }
    if (!bench.waitRunning(static_cast<std::size_t>(i + 1))) {
      std::fprintf(stderr, "task %s did not run\n%s\n", id.c_str(), cluster.logs().c_str());
      return 1;
    }
    std::lock_guard<std::mutex> lock(bench.mutex);
    latencies.push_back(std::chrono::duration<double, std::milli>(bench.running.at(id) - start).count());
  }

  // N tasks in one ACCEPT, on an offer that holds them all (the resources
  // of the finished one-at-a-time tasks come back in offers of their own:
  // declined, so that they join the next).
  std::optional<v1::Offer> offer;
  for (int tries = 0; tries < 100; ++tries) {
    offer = bench.offer();
    if (!offer) return 1;
    if (scalar(*offer, "cpus") >= 0.5 * n && scalar(*offer, "mem") >= 32.0 * n) break;
    (void)scheduler.decline({offer->id()}, 0.0);
    offer.reset();
  }
  if (!offer) {
    std::fprintf(stderr, "no offer holds %d tasks\n", n);
    return 1;
  }
  std::vector<v1::TaskInfo> tasks;
  for (int i = 0; i < n; ++i) {
    tasks.push_back(mantle::scheduler::commandTask("batch-" + std::to_string(i), *offer, command, "cpus:0.5;mem:32"));
  }
  const pid_t agentPid = cluster.agent(0).pid();
  const pid_t masterPid = cluster.master().pid();
  const std::pair<double, double> agentCpuBefore = cpuSeconds(agentPid);
  const double masterCpuBefore = cpuSeconds(masterPid).first;
  auto start = Clock::now();
  const std::int64_t batchAcceptedNs = mantle::steadyNanos();
  if (!scheduler.launch(*offer, tasks, 0.0).ok()) return 1;
  if (!bench.waitRunning(static_cast<std::size_t>(sequential + n))) {
    std::lock_guard<std::mutex> lock(bench.mutex);
    std::fprintf(stderr, "batch did not run: %zu of %d tasks seen TASK_RUNNING\n%s\n",
                 bench.running.size() - static_cast<std::size_t>(sequential), n, cluster.logs().c_str());
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
  // For `perf record -k CLOCK_MONOTONIC` and `perf report --time`: the burst's window.
  std::printf("batch window (CLOCK_MONOTONIC s): %.6f,%.6f\n", batchAcceptedNs / 1e9,
              (batchAcceptedNs + static_cast<std::int64_t>(seconds * 1e9)) / 1e9);
  // CPU per task of the N: until every one has finished and its container
  // root is reaped (the agent reaps a root as it exits, right behind its
  // executor's last update), the agent's own and that of the containers.
  if (!bench.waitFinished(static_cast<std::size_t>(sequential + n))) {
    std::fprintf(stderr, "the batch's tasks did not all finish\n");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const std::pair<double, double> agentCpuAfter = cpuSeconds(agentPid);
  const double masterCpuAfter = cpuSeconds(masterPid).first;
  (void)scheduler.teardown();
  scheduler.stop();

  // The split of the one-at-a-time launches: the agent's steps in launch
  // order, framed by the bench's ACCEPT and the scheduler seeing TASK_RUNNING
  // (the agent gets its acknowledgement after that); medians over the tasks,
  // as time since the ACCEPT and as time since the step before.
  const std::vector<std::string> order = {"received",
                                          "set_up",
                                          "checkpoint_durable",
                                          "prepared",
                                          "forked",
                                          "isolated",
                                          "released",
                                          "subscribed",
                                          "launch_sent",
                                          "starting_received",
                                          "starting_forwarded",
                                          "starting_ack_written",
                                          "running_received",
                                          "running_forwarded",
                                          "scheduler sees TASK_RUNNING",
                                          "running_ack_written"};
  auto traces = mantle::bench::launchTraces(cluster.agent(0).output());
  std::map<std::string, std::vector<double>> sinceAccept, sincePrevious;
  std::size_t traced = 0;
  for (int i = 0; i < sequential; ++i) {
    const std::string id = "seq-" + std::to_string(i);
    auto trace = traces.find(id);
    if (trace == traces.end()) continue;
    ++traced;
    std::map<std::string, std::int64_t> at(trace->second.begin(), trace->second.end());
    {
      std::lock_guard<std::mutex> lock(bench.mutex);
      at["scheduler sees TASK_RUNNING"] = bench.runningNs.at(id);
    }
    std::int64_t previous = acceptedNs[id];
    for (const std::string& step : order) {
      auto it = at.find(step);
      if (it == at.end()) continue;
      sinceAccept[step].push_back((it->second - acceptedNs[id]) / 1e6);
      sincePrevious[step].push_back((it->second - previous) / 1e6);
      previous = it->second;
    }
  }

  // The same steps over the N tasks of one ACCEPT: when the first, the median
  // and the last task reached each (since that ACCEPT), which shows what
  // the tasks queue behind.
  std::map<std::string, std::vector<double>> batchSteps;
  std::size_t batchTraced = 0;
  for (int i = 0; i < n; ++i) {
    const std::string id = "batch-" + std::to_string(i);
    auto trace = traces.find(id);
    if (trace == traces.end()) continue;
    ++batchTraced;
    std::map<std::string, std::int64_t> at(trace->second.begin(), trace->second.end());
    {
      std::lock_guard<std::mutex> lock(bench.mutex);
      at["scheduler sees TASK_RUNNING"] = bench.runningNs.at(id);
    }
    for (const auto& [step, ns] : at) batchSteps[step].push_back((ns - batchAcceptedNs) / 1e6);
  }

  Stats fe = stats(floorExec), fc = stats(floorCgroup), te = stats(trueExit), ee = stats(executorExit),
        es = stats(executorSubscribe);
  Stats s = stats(latencies), g = stats(batch);
  std::printf("\nframework checkpoints: %s; command: %s; load average %.2f before, %.2f after\n",
              checkpoint ? "yes" : "no", command.c_str(), loadBefore, loadAverage());
  std::printf("\n%-52s %8s %8s %8s %8s %10s\n", "measurement (ms)", "p50", "p90", "p99", "max", "tasks/s");
  auto row = [](const std::string& name, const Stats& st, double rate) {
    std::printf("%-52s %8.3f %8.3f %8.3f %8.3f ", name.c_str(), st.p50, st.p90, st.p99, st.max);
    if (rate > 0) {
      std::printf("%10.1f\n", rate);
    } else {
      std::printf("%10s\n", "-");
    }
  };
  row("floor: fork + exec /bin/true", fe, 0);
  if (cgroups) row("floor: fork + cgroup + exec /bin/true", fc, 0);
  row("fork + exec /bin/true until it exits", te, 0);
  row("fork + exec mantle-executor until it exits", ee, 0);
  row("fork + exec mantle-executor until its SUBSCRIBE", es, 0);
  row("launch->TASK_RUNNING, 1 at a time (" + std::to_string(sequential) + ")", s, s.p50 > 0 ? 1000.0 / s.p50 : 0.0);
  row("launch->TASK_RUNNING, " + std::to_string(n) + " in one ACCEPT", g, seconds > 0 ? n / seconds : 0.0);
  std::printf(
      "\nCPU per task of the %d (ms; /proc, 10 ms ticks): agent %.2f, containers (roots, executors, tasks) %.2f, "
      "master %.2f\n",
      n, 1000 * (agentCpuAfter.first - agentCpuBefore.first) / n,
      1000 * (agentCpuAfter.second - agentCpuBefore.second) / n, 1000 * (masterCpuAfter - masterCpuBefore) / n);
  const double floorP50 = cgroups ? fc.p50 : fe.p50;
  std::printf("\none launch / floor (p50): %.1fx\n", floorP50 > 0 ? s.p50 / floorP50 : 0.0);
  std::printf("\nsplit of one launch (p50 over %zu traced tasks; ms)\n", traced);
  std::printf("  %-40s %12s %12s\n", "step (ACCEPT sent at 0)", "since ACCEPT", "since prior");
  for (const std::string& step : order) {
    if (!sinceAccept.count(step)) continue;
    std::printf("  %-40s %12.3f %12.3f\n", step.c_str(), stats(sinceAccept[step]).p50, stats(sincePrevious[step]).p50);
  }
  std::printf("\nsplit of the %d in one ACCEPT (%zu traced; ms since the ACCEPT)\n", n, batchTraced);
  std::printf("  %-40s %10s %10s %10s\n", "step", "first", "p50", "last");
  for (const std::string& step : order) {
    auto it = batchSteps.find(step);
    if (it == batchSteps.end() || it->second.empty()) continue;
    const Stats st = stats(it->second);
    std::printf("  %-40s %10.3f %10.3f %10.3f\n", step.c_str(), *std::min_element(it->second.begin(), it->second.end()),
                st.p50, st.max);
  }
  return 0;
}
