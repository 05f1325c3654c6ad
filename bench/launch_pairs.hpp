// Paired launch benchmarks on one real mantle-agent (the master side is the
// agent tests' protocol peer): each iteration launches a baseline task and
// then the same task with what is measured, until their TASK_RUNNING updates,
// so both see the same load. Used by mantle_network_cni_bench and
// mantle_images_launch_bench.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "master_peer.hpp"

namespace mantle::bench {

inline double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Seconds from RUN_TASK until TASK_RUNNING; negative when it did not run
// (its updates go to stderr).
inline double launchToRunning(testing::MasterPeer& peer, const mesos::v1::FrameworkInfo& framework,
                              const mesos::v1::TaskInfo& task) {
  using namespace std::chrono_literals;
  const auto start = std::chrono::steady_clock::now();
  peer.runTask(framework, task);
  auto running = peer.waitForUpdate(task.task_id().value(), mesos::v1::TASK_RUNNING, 30s);
  const auto end = std::chrono::steady_clock::now();
  if (running.status().state() != mesos::v1::TASK_RUNNING) {
    for (const auto& update : peer.distinctUpdates(task.task_id().value())) {
      std::cerr << task.task_id().value() << ": " << mesos::v1::TaskState_Name(update.status().state()) << " "
                << update.status().message() << "\n";
    }
    return -1;
  }
  return std::chrono::duration<double>(end - start).count();
}

struct LaunchPair {
  std::string baseName;      // counter prefix: "<baseName>_ms"
  std::string measuredName;  // "<measuredName>_ms"; "added_ms" is the median of the differences
  std::function<mesos::v1::TaskInfo(const std::string& id)> base;
  std::function<mesos::v1::TaskInfo(const std::string& id)> measured;
};

// Runs the state's iterations (the measured task's time is the iteration's)
// and sets the counters; returns the ids launched, warm-ups first (one of
// each, untimed; the measured one first). `log` explains a failure.
inline std::vector<std::string> runLaunchPairs(benchmark::State& state, testing::MasterPeer& peer,
                                               const mesos::v1::FrameworkInfo& framework, const LaunchPair& pair,
                                               const std::function<std::string()>& log) {
  std::vector<std::string> launched{pair.measuredName + "-warm", pair.baseName + "-warm"};
  if (launchToRunning(peer, framework, pair.measured(launched[0])) < 0 ||
      launchToRunning(peer, framework, pair.base(launched[1])) < 0) {
    state.SkipWithError(("the warm-up tasks did not run: " + log()).c_str());
    return launched;
  }
  std::vector<double> base, measured, added;
  int serial = 0;
  for (auto _ : state) {
    const std::string id = std::to_string(serial++);
    launched.push_back(pair.baseName + "-" + id);
    launched.push_back(pair.measuredName + "-" + id);
    const double without = launchToRunning(peer, framework, pair.base(launched[launched.size() - 2]));
    const double with = launchToRunning(peer, framework, pair.measured(launched.back()));
    if (without < 0 || with < 0) {
      state.SkipWithError(("a task never reached TASK_RUNNING: " + log()).c_str());
      break;
    }
    base.push_back(without * 1e3);
    measured.push_back(with * 1e3);
    added.push_back((with - without) * 1e3);
    state.SetIterationTime(with);
  }
  state.counters[pair.baseName + "_ms"] = median(base);
  state.counters[pair.measuredName + "_ms"] = median(measured);
  state.counters["added_ms"] = median(added);
  return launched;
}

}  // namespace mantle::bench
