// Many simulated agents in one process, each a real peer of the master over
// Mantle's master <-> agent protocol (core/proto/mantle/internal/
// agent_master.proto): its own event stream (one TCP connection per agent),
// its own id, resources, attributes and tasks. Nothing runs: RUN_TASK is
// answered with TASK_RUNNING after a delay, then TASK_FINISHED or
// TASK_FAILED; KILL_TASK with TASK_KILLED. Like the real agent it sends a
// task's next update only after the master acknowledged the previous one,
// retries unacknowledged updates, and re-registers (REREGISTER with every
// task it runs) when its stream ends or ZooKeeper names a new leader.
//
// One asio thread drives every agent; calls other than the stream-opening
// ones go over a small pool of keep-alive connections (they carry the
// agent id and stream id, so any connection will do).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "mantle/result.hpp"

namespace mantle::agent_sim {

struct Options {
  // "host:port", "http://host:port" or a ZooKeeper URL (zk://host:port/path)
  // whose leading master the agents follow.
  std::string master;
  int agents = 100;
  // Resources and attributes of every agent (Mesos text forms). Each agent
  // also gets the attributes `rack:rack-<index % racks>` and `sim_index:<index>`.
  std::string resources = "cpus:8;mem:16384;disk:65536;ports:[31000-32000]";
  int racks = 10;
  // When not empty, agent i starts with the id `<id_prefix>-S<i>` and
  // `tasks_per_agent` tasks in state TASK_RUNNING of the framework
  // `<id_prefix>-framework`, and registers with REREGISTER (the master admits
  // agents it has not seen into its registry, as after a failover). When
  // empty, agents REGISTER and run only what they are sent.
  std::string idPrefix;
  int tasksPerAgent = 0;
  // After RUN_TASK: TASK_RUNNING after `runningDelay`, then after
  // `taskDuration` TASK_FAILED with probability `failureRatio`, else
  // TASK_FINISHED. A negative duration: tasks run until killed.
  double runningDelaySeconds = 0.01;
  double taskDurationSeconds = -1;
  double failureRatio = 0;
  // Keep-alive connections for calls (STATUS_UPDATE, PONG).
  int callConnections = 8;
  // Agents whose REGISTER/REREGISTER is in flight at once (the rest wait).
  int maxPendingRegistrations = 512;
  // Agents on a loopback master bind their connections to 127.0.<k>.1, k =
  // 1 + index / agentsPerSourceAddress, so that 50,000 streams do not exhaust
  // one address's ephemeral ports.
  int agentsPerSourceAddress = 16000;
  std::uint64_t seed = 1;
};

// What the agents saw, summed over all of them.
struct Report {
  int agents = 0;
  int connected = 0;                 // stream open and (RE)REGISTERED
  int everRegistered = 0;            // agents that got at least one (RE)REGISTERED
  std::int64_t registrations = 0;    // REGISTERED events
  std::int64_t reregistrations = 0;  // REREGISTERED events
  std::int64_t disconnects = 0;      // streams that ended
  std::int64_t refusals = 0;         // stream calls answered non-200 or with ERROR
  std::int64_t shutdowns = 0;        // SHUTDOWN events (the agent stops)
  std::int64_t launches = 0;         // tasks from RUN_TASK / RUN_TASK_GROUP
  std::int64_t kills = 0;
  std::int64_t updatesSent = 0;  // STATUS_UPDATE calls, retries included
  std::int64_t acknowledgements = 0;
  std::int64_t unknownReconciled = 0;  // RECONCILE_TASKS entries for tasks the agent does not run
  std::int64_t callFailures = 0;       // calls without an answer or answered >= 300
  std::int64_t events = 0;
  std::int64_t tasksLive = 0;  // non-terminal tasks on the agents
  std::int64_t tasksRunning = 0;
  std::int64_t tasksFinished = 0;  // terminal updates created, by state
  std::int64_t tasksFailed = 0;
  std::int64_t tasksKilled = 0;
  std::int64_t unacknowledged = 0;  // updates waiting for ACKNOWLEDGE
  // Seconds from start() to the last agent's first (RE)REGISTERED; 0 until all.
  double allRegisteredSeconds = 0;
  // Seconds from the last leader change (or start) to the moment every agent
  // was connected again; 0 while some are not.
  double allConnectedSinceLeaderSeconds = 0;
  std::string leader;  // the master the agents talk to ("" while none)

  std::string toText() const;
};

class AgentSimulator {
 public:
  // Checks the options (precise errors), raises RLIMIT_NOFILE to its hard
  // limit and refuses an agent count the descriptors cannot hold.
  static Result<std::unique_ptr<AgentSimulator>> create(Options options);
  ~AgentSimulator();
  AgentSimulator(const AgentSimulator&) = delete;
  AgentSimulator& operator=(const AgentSimulator&) = delete;

  // Starts the thread and the ZooKeeper detector; agents register at once.
  Status start();
  // Closes every connection; agents' tasks are left as they are.
  void stop();
  Report report() const;
  // Waits until `done(report())` or the timeout; returns the last report.
  template <typename Predicate>
  Report waitUntil(Predicate done, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    Report last = report();
    while (!done(last) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      last = report();
    }
    return last;
  }

 private:
  struct Impl;
  explicit AgentSimulator(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace mantle::agent_sim
