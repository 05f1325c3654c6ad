// The discrete-event simulator behind `mantle sim`: replays a trace on a
// simulated cluster through one allocator module instance, loaded by the
// host's module registry and called through the typed modules::AllocatorClient
// as the master's allocator client calls it (recoveries batched before the
// next call), so the module sees the calls a master would make. Simulated time only: the allocator gets
// it in `now_seconds`; nothing reads the wall clock except the optional
// measurement of the allocator's CPU time.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mantle/modules/registry.hpp"
#include "mantle/result.hpp"
#include "sim/workload.hpp"

namespace mantle::sim {

struct Options {
  double allocationInterval = 1.0;  // seconds between allocation cycles (Mesos' --allocation_interval)
  double refuseSeconds = 5.0;       // the filter of a declined offer (Mesos' default)
  std::uint64_t seed = 1;           // orders the agents as they register
  double until = std::numeric_limits<double>::infinity();  // simulated seconds
  int samples = 200;                                       // points of each time series
};

// One point of the time series.
struct Sample {
  double time = 0;
  std::vector<double> shares;       // per framework (RunReport::frameworks order)
  std::vector<double> utilisation;  // per resource (RunReport::resourceNames order)
};

struct FrameworkResult {
  std::string name;
  int peakRunningTasks = 0;
  double meanDominantShare = 0;
  std::int64_t tasksFinished = 0;
};

struct Percentiles {
  std::optional<double> p50, p95, p99;  // none when nothing was measured
};

// What one run measured. Everything but the timing fields is a function of
// the inputs and the seed.
struct RunReport {
  double jainFairness = 1;
  std::vector<std::string> resourceNames;  // sorted
  std::vector<double> utilisation;         // time-weighted, per resource
  double makespan = 0;
  Percentiles jct, queueing;
  std::vector<FrameworkResult> frameworks;  // sorted by name
  std::vector<Sample> series;
  std::vector<double> queueingDelays;   // per task launched, sorted
  std::vector<double> completionTimes;  // per job finished, sorted
  std::int64_t tasksUnfinished = 0;
  double endTime = 0;  // simulated seconds when the run stopped

  // Timing (not deterministic).
  std::uint64_t cycles = 0;
  std::uint64_t offers = 0;
  std::uint64_t declined = 0;       // offers declined whole (the next task did not fit)
  double allocatorCpuSeconds = 0;   // thread CPU time inside allocation cycles
  double allocatorWallSeconds = 0;  // wall time of every allocator call
  double wallSeconds = 0;           // the whole run
  double cpuSeconds = 0;            // the whole run, this thread's CPU time
};

// A policy: an allocator module instance loaded from a manifest, and the
// registry that keeps its library open.
struct Policy {
  std::string name;      // as given to --policy (the instance name)
  std::string manifest;  // "" for the default manifest
  std::shared_ptr<modules::Registry> registry;
  std::shared_ptr<modules::Instance> instance;
};

// Loads `spec` ("NAME" or "NAME:MANIFEST"): the instance NAME of kind
// allocator from MANIFEST, or from the default manifest
// (<prefix>/etc/mantle/modules.json). Only that instance's library is opened.
Result<Policy> loadPolicy(const std::string& spec);

// Runs `trace` on `cluster` under `allocator` (a fresh instance: the run adds
// the agents and frameworks). An allocator error ends the run with it.
Result<RunReport> simulate(const Cluster& cluster, const Trace& trace, modules::Instance& allocator,
                           const Options& options);

}  // namespace mantle::sim
