// A framework for end-to-end tests of tools that watch the cluster
// (mantle-dns, mantle-lb): launches command tasks as they are asked for on
// the next offer, kills them, and records when each reached each state.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "scheduler/scheduler.hpp"

namespace mantle::testing {

struct TaskSpec {
  std::string id;
  std::string name;
  std::string command;
  std::string resources = "cpus:0.1;mem:32";  // Mesos text syntax, e.g. with "ports:[31000-31000]"
  std::vector<std::pair<std::string, std::string>> labels;
  std::optional<mesos::v1::HealthCheck> healthCheck;
};

class TaskLauncher {
 public:
  using Clock = std::chrono::steady_clock;

  // Subscribes as framework `name` (hostname 127.0.0.1) to `master`.
  TaskLauncher(const std::string& master, const std::string& name);
  ~TaskLauncher();

  // Launches the task on the next offer.
  void launch(TaskSpec spec);
  Status kill(const std::string& taskId);
  // When the task first reached `state` (waits up to `timeout`); nullopt: not in time.
  std::optional<Clock::time_point> waitFor(const std::string& taskId, mesos::v1::TaskState state,
                                           std::chrono::milliseconds timeout);
  // The task's latest status update, healthy flag included.
  std::optional<mesos::v1::TaskStatus> latest(const std::string& taskId);

 private:
  void offers(const std::vector<mesos::v1::Offer>& offers);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<TaskSpec> pending_;
  std::map<std::string, mesos::v1::AgentID> agents_;
  std::map<std::string, std::map<int, Clock::time_point>> reached_;
  std::map<std::string, mesos::v1::TaskStatus> latest_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
};

}  // namespace mantle::testing
