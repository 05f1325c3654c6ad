// mantle-agent-sim: N simulated agents in one process against a real master
// (see agent_simulator.hpp). Prints what the agents saw every
// --report_interval and when it ends (after --duration, or on SIGINT/SIGTERM).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include <glog/logging.h>

#include "agent_sim/agent_simulator.hpp"
#include "flags/flags.hpp"

namespace {

volatile std::sig_atomic_t interrupted = 0;

void onSignal(int) {
  interrupted = 1;
}

}  // namespace

using mantle::Result;
using mantle::Status;

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mantle::agent_sim::Options options;
  std::int64_t agents = options.agents;
  std::int64_t tasksPerAgent = options.tasksPerAgent;
  std::int64_t racks = options.racks;
  std::int64_t callConnections = options.callConnections;
  std::int64_t maxPending = options.maxPendingRegistrations;
  std::int64_t perAddress = options.agentsPerSourceAddress;
  std::int64_t seed = static_cast<std::int64_t>(options.seed);
  double duration = 0;
  double reportInterval = 5;
  double taskDuration = options.taskDurationSeconds;
  mantle::flags::FlagSet flags(
      "mantle-agent-sim",
      "Simulates many agents in one process, each a real peer of the master over the master <-> agent\n"
      "protocol: registers (or re-registers with running tasks), answers RUN_TASK with TASK_RUNNING and\n"
      "then TASK_FINISHED/TASK_FAILED, KILL_TASK with TASK_KILLED, retries updates until acknowledged,\n"
      "follows the leading master through ZooKeeper and re-registers after a failover. For sizing a master\n"
      "and for benchmarks (bench/README.md).");
  flags.addString("master", &options.master, "host:port, http://host:port or zk://host:port/path (required)");
  flags.addInt("agents", &agents, "number of simulated agents (each holds one connection: mind ulimit -n)");
  flags.addString("resources", &options.resources, "resources of every agent");
  flags.addInt("racks", &racks, "agents get the attribute rack:rack-<index % racks>");
  flags.addString("id_prefix", &options.idPrefix,
                  "give agents the ids <prefix>-S<i> and register with REREGISTER (as after a failover); "
                  "needed for --tasks_per_agent");
  flags.addInt("tasks_per_agent", &tasksPerAgent,
               "running tasks each agent reports from the start (framework <id_prefix>-framework)");
  flags.addDuration("running_delay", &options.runningDelaySeconds, "RUN_TASK to TASK_RUNNING");
  flags.addDuration("task_duration", &taskDuration,
                    "TASK_RUNNING (acknowledged) to TASK_FINISHED/TASK_FAILED; unset: tasks run until killed");
  flags.addDouble("failure_ratio", &options.failureRatio, "share of ending tasks that end TASK_FAILED");
  flags.addInt("call_connections", &callConnections, "keep-alive connections for status updates and pongs");
  flags.addInt("max_pending_registrations", &maxPending, "registrations in flight at once");
  flags.addInt("agents_per_source_address", &perAddress,
               "on a loopback master, agents per source address 127.0.<k>.1 (ephemeral ports)");
  flags.addInt("seed", &seed, "seed of the random choices (update uuids, failures, backoff)");
  flags.addDuration("duration", &duration, "stop after this long (default: until SIGINT/SIGTERM)");
  flags.addDuration("report_interval", &reportInterval, "print a report this often");
  if (Status parsed = flags.parse(argc, argv); !parsed.ok()) {
    std::cerr << "mantle-agent-sim: " << parsed.error().message << "\n";
    return 2;
  }
  if (flags.helpRequested()) {
    std::cout << flags.usage();
    return 0;
  }
  options.agents = static_cast<int>(std::min<std::int64_t>(agents, 1000001));
  options.tasksPerAgent = static_cast<int>(std::min<std::int64_t>(tasksPerAgent, 1 << 20));
  options.racks = static_cast<int>(std::clamp<std::int64_t>(racks, 1, 1 << 20));
  options.callConnections = static_cast<int>(std::min<std::int64_t>(callConnections, 1024));
  options.maxPendingRegistrations = static_cast<int>(std::min<std::int64_t>(maxPending, 1 << 20));
  options.agentsPerSourceAddress = static_cast<int>(std::clamp<std::int64_t>(perAddress, 0, 1 << 20));
  options.seed = static_cast<std::uint64_t>(seed);
  options.taskDurationSeconds = taskDuration;
  Result<std::unique_ptr<mantle::agent_sim::AgentSimulator>> simulator =
      mantle::agent_sim::AgentSimulator::create(options);
  if (!simulator.ok()) {
    std::cerr << "mantle-agent-sim: " << simulator.error().message << "\n";
    return 2;
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  if (Status started = (*simulator)->start(); !started.ok()) {
    std::cerr << "mantle-agent-sim: " << started.error().message << "\n";
    return 1;
  }
  const auto begin = std::chrono::steady_clock::now();
  auto nextReport = begin + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(reportInterval));
  while (!interrupted) {
    const auto now = std::chrono::steady_clock::now();
    if (duration > 0 && now - begin >= std::chrono::duration<double>(duration)) break;
    if (reportInterval > 0 && now >= nextReport) {
      std::cout << (*simulator)->report().toText() << std::endl;
      nextReport += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(reportInterval));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cout << (*simulator)->report().toText() << std::endl;
  (*simulator)->stop();
  return 0;
}
