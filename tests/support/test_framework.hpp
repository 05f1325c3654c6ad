// The v1 scheduler of the end-to-end tests, on the scheduler client of
// core/scheduler: subscribes to a master, keeps the offers it gets (less the
// rescinded ones) and the largest amount of each resource one offer held,
// launches tasks on them, kills tasks, and records every status update it
// receives (duplicates included, in order; the client acknowledges them).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "scheduler/scheduler.hpp"

namespace mantle::testing {

struct TestFrameworkOptions {
  // FrameworkInfo.checkpoint: its tasks survive an agent restart.
  bool checkpoint = false;
  // The GPU_RESOURCES capability: offered agents with GPUs.
  bool gpuResources = false;
  // The SHARED_RESOURCES capability: offered shared persistent volumes.
  bool sharedResources = false;
  std::string name = "mantle-e2e";
  std::string role = "*";
  // The user its tasks run as; empty: the user running the test.
  std::string user = {};
  // FrameworkInfo.hostname; empty: none.
  std::string hostname = {};
};

// A shell command task `taskId` (also its name) of `resources` (Mesos text
// syntax) on no agent yet: TestFramework::launch places it.
mesos::v1::TaskInfo shellTask(const std::string& taskId, const std::string& command, const std::string& resources);

class TestFramework {
 public:
  using Options = TestFrameworkOptions;
  // `master`: "http://host:port" (or "host:port"). Subscribes on start().
  explicit TestFramework(std::string master, Options options = {});
  ~TestFramework();
  TestFramework(const TestFramework&) = delete;
  TestFramework& operator=(const TestFramework&) = delete;

  // Subscribes (once: a lost subscription is not renewed) and waits for
  // SUBSCRIBED.
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // The first offer kept that `wanted` accepts (any offer without one),
  // taken out of the pool; nullopt when none came within `timeout`.
  std::optional<mesos::v1::Offer> takeOffer(const std::function<bool(const mesos::v1::Offer&)>& wanted = {},
                                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Launches a shell command task with `resources` (text such as
  // "cpus:0.1;mem:64;disk:8;ports:[31005-31005]") on the next offer that
  // holds them, with `container` as its ContainerInfo and `environment` as
  // its command's when given.
  Status launch(const std::string& taskId, const std::string& command, const std::string& resources,
                std::chrono::milliseconds timeout = std::chrono::seconds(20),
                const std::optional<mesos::v1::ContainerInfo>& container = std::nullopt,
                const std::optional<mesos::v1::Environment>& environment = std::nullopt);

  // The same with `command` as the task's CommandInfo (and `healthCheck` as
  // its HealthCheck when given).
  Status launch(const std::string& taskId, const mesos::v1::CommandInfo& command, const std::string& resources,
                std::chrono::milliseconds timeout = std::chrono::seconds(20),
                const std::optional<mesos::v1::ContainerInfo>& container = std::nullopt,
                const std::optional<mesos::v1::HealthCheck>& healthCheck = std::nullopt);

  // Launches `task` on the next offer that holds its resources, on that
  // offer's agent.
  Status launch(mesos::v1::TaskInfo task, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The same for `tasks` together, in one ACCEPT of one offer.
  Status launch(std::vector<mesos::v1::TaskInfo> tasks, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // One ACCEPT of `offer` (taken with takeOffer) launching `tasks`.
  Status launch(const mesos::v1::Offer& offer, const std::vector<mesos::v1::TaskInfo>& tasks);
  // One ACCEPT of `offer` launching `tasks` as a group of `executor`.
  Status launchGroup(const mesos::v1::Offer& offer, const mesos::v1::ExecutorInfo& executor,
                     const std::vector<mesos::v1::TaskInfo>& tasks);

  // Asks the master to kill a task this framework launched.
  Status kill(const std::string& taskId);

  // The largest amount of scalar resource `name` any single offer held so
  // far (0 when none held it).
  double mostOffered(const std::string& name);

  // The id the master gave this framework ("" before SUBSCRIBED).
  std::string frameworkId();

  // Waits for the task's first update in `state` (its first terminal one
  // without).
  std::optional<mesos::v1::TaskStatus> waitForState(const std::string& taskId,
                                                    std::optional<mesos::v1::TaskState> state = std::nullopt,
                                                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Waits for an update of the task that says it is healthy (or unhealthy,
  // with `healthy` false).
  std::optional<mesos::v1::TaskStatus> waitForHealth(const std::string& taskId, bool healthy,
                                                     std::chrono::milliseconds timeout);

  // Every update of the task received so far, in order.
  std::vector<mesos::v1::TaskStatus> updates(const std::string& taskId);
  // Their states.
  std::vector<mesos::v1::TaskState> states(const std::string& taskId);
  // The last of them; nullopt before the first.
  std::optional<mesos::v1::TaskStatus> latest(const std::string& taskId);

 private:
  // The first update of the task `matches` accepts, waiting up to `timeout`.
  std::optional<mesos::v1::TaskStatus> waitForUpdate(const std::string& taskId,
                                                     const std::function<bool(const mesos::v1::TaskStatus&)>& matches,
                                                     std::chrono::milliseconds timeout);
  Status accept(const mesos::v1::Offer& offer, const mesos::v1::Offer::Operation& operation,
                const std::vector<mesos::v1::TaskInfo>& tasks);

  Options options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<mesos::v1::Offer> offers_;
  std::map<std::string, double> mostOffered_;
  std::map<std::string, mesos::v1::AgentID> taskAgents_;
  std::map<std::string, std::vector<mesos::v1::TaskStatus>> updates_;
  bool ended_ = false;  // the subscription ended, saying endedWhy_
  std::string endedWhy_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
};

}  // namespace mantle::testing
