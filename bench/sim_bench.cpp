// mantle sim's speed: simulated seconds per wall second for a generated
// week-long trace on 1,000 agents, and how the wall time splits between the
// allocator module (every call through the ABI) and the simulator itself.
//
//   mantle_sim_bench [--days=7] [--agents=1000] [--job-gap=12] [--policy=drf] [--policy=...]
//
// The trace: 10 frameworks in 5 roles, a job every --job-gap seconds on
// average (Poisson), 1-40 tasks of 1-8 CPUs and 2-32 GB each, running 1 min
// to 2 h (log-uniform); at the default gap about two thirds of the cluster's
// CPUs are asked for on average. Generated from a fixed seed, so every run
// replays the same work.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "sim/simulator.hpp"
#include "sim/workload.hpp"

namespace {

using namespace mantle::sim;

Trace generate(double seconds, double gap, std::uint64_t seed) {
  Trace trace;
  std::mt19937_64 random(seed);
  auto uniform = [&] { return static_cast<double>(random() >> 11) / static_cast<double>(1ULL << 53); };
  double t = 0;
  int line = 0;
  while (true) {
    t += -std::log(1 - uniform()) * gap;  // Poisson arrivals
    if (t >= seconds) break;
    Job job;
    job.line = ++line;
    job.submit = std::round(t * 1000) / 1000;
    const int f = static_cast<int>(random() % 10);
    job.framework = "framework-" + std::to_string(f);
    job.role = "role-" + std::to_string(f % 5);
    job.tasks = 1 + static_cast<int>(random() % 40);
    job.resources["cpus"] = static_cast<double>(1 + random() % 8);
    job.resources["mem"] = 2048.0 * static_cast<double>(1 + random() % 16);
    job.duration = std::round(60 * std::pow(120.0, uniform()));  // 1 min .. 2 h
    job.priority = 0;
    trace.jobs.push_back(std::move(job));
  }
  return trace;
}

bool flag(const std::string& arg, const std::string& name, std::string* value) {
  const std::string prefix = "--" + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  double days = 7;
  double gap = 12;
  int agents = 1000;
  std::vector<std::string> policies;
  for (int i = 1; i < argc; ++i) {
    std::string value;
    if (flag(argv[i], "days", &value)) {
      days = std::stod(value);
    } else if (flag(argv[i], "job-gap", &value)) {
      gap = std::stod(value);
    } else if (flag(argv[i], "agents", &value)) {
      agents = std::stoi(value);
    } else if (flag(argv[i], "policy", &value)) {
      policies.push_back(value);
    } else {
      std::cerr << "usage: mantle_sim_bench [--days=7] [--agents=1000] [--job-gap=12] [--policy=NAME[:MANIFEST]]...\n";
      return 2;
    }
  }
  if (policies.empty()) policies = {"drf", "priority"};

  Cluster cluster;
  AgentGroup group;
  group.count = agents;
  group.resources = mantle::resources::Resources::parse("cpus:32;mem:131072").value();
  cluster.agents.push_back(group);
  const Trace trace = generate(days * 86400, gap, 2026);
  std::int64_t tasks = 0;
  for (const Job& job : trace.jobs) tasks += job.tasks;
  std::printf(
      "trace: %.1f days, a job every %.0f s on average: %zu jobs, %lld tasks; %d agents of cpus:32;mem:131072\n\n",
      days, gap, trace.jobs.size(), static_cast<long long>(tasks), agents);
  std::printf("%-10s %12s %9s %14s %8s %13s %9s %12s %12s %11s %10s %10s\n", "policy", "simulated s", "wall s",
              "sim s / wall s", "cpu s", "sim s / cpu s", "cycles", "allocator s", "simulator s", "allocator %",
              "ms/cycle", "unfinished");
  for (const std::string& spec : policies) {
    auto policy = loadPolicy(spec);
    if (!policy.ok()) {
      std::cerr << policy.error().message << "\n";
      return 1;
    }
    Options options;
    auto run = simulate(cluster, trace, *policy->instance, options);
    if (!run.ok()) {
      std::cerr << spec << ": " << run.error().message << "\n";
      return 1;
    }
    const double simulated = run->endTime - (trace.jobs.empty() ? 0 : trace.jobs.front().submit);
    std::printf("%-10s %12.0f %9.2f %14.0f %8.2f %13.0f %9llu %12.2f %12.2f %10.1f%% %10.3f %10lld\n",
                policy->name.c_str(), simulated, run->wallSeconds, simulated / run->wallSeconds, run->cpuSeconds,
                simulated / run->cpuSeconds, static_cast<unsigned long long>(run->cycles), run->allocatorWallSeconds,
                run->wallSeconds - run->allocatorWallSeconds, 100 * run->allocatorWallSeconds / run->wallSeconds,
                run->cycles ? 1000 * run->allocatorCpuSeconds / static_cast<double>(run->cycles) : 0.0,
                static_cast<long long>(run->tasksUnfinished));
    std::printf("           offers %llu, declined %llu\n", static_cast<unsigned long long>(run->offers),
                static_cast<unsigned long long>(run->declined));
  }
  std::printf(
      "\nallocator s: wall time inside allocator calls (through the module ABI); simulator s: the rest "
      "(events, offers, metrics).\ncpu s: the run's CPU time (CLOCK_THREAD_CPUTIME_ID; on a busy machine wall s also "
      "holds other processes' time).\nms/cycle: allocator CPU time per allocation cycle.\n");
  return 0;
}
