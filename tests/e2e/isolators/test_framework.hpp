// A small Mesos v1 scheduler for the isolator end-to-end tests: subscribes
// to the master (protobuf over HTTP, RecordIO event stream), launches command
// tasks on the first offer that fits, kills them, acknowledges and records
// every status update and remembers what it was offered. Just enough to drive
// an agent's isolators from the outside.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"

namespace mantle::testing::e2e {

struct TestFrameworkOptions {
  // FrameworkInfo.checkpoint: its tasks survive an agent restart.
  bool checkpoint = false;
  // The GPU_RESOURCES capability: offered agents with GPUs.
  bool gpuResources = false;
};

class TestFramework {
 public:
  using Options = TestFrameworkOptions;
  explicit TestFramework(std::string masterUrl, Options options = {});
  ~TestFramework();
  TestFramework(const TestFramework&) = delete;
  TestFramework& operator=(const TestFramework&) = delete;

  // Subscribes and waits for SUBSCRIBED.
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(20));

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

  // Asks the master to kill a task this framework launched.
  Status kill(const std::string& taskId);

  // The largest amount of scalar resource `name` any single offer held so
  // far (0 when none held it).
  double mostOffered(const std::string& name);

  // The id the master gave this framework ("" before SUBSCRIBED).
  std::string frameworkId();

  // Waits for a terminal status of the task (or `state`, when given).
  std::optional<mesos::v1::TaskStatus> waitForState(const std::string& taskId,
                                                    std::optional<mesos::v1::TaskState> state,
                                                    std::chrono::milliseconds timeout);

  // Waits for an update of the task that says it is healthy (or unhealthy,
  // with `healthy` false).
  std::optional<mesos::v1::TaskStatus> waitForHealth(const std::string& taskId, bool healthy,
                                                     std::chrono::milliseconds timeout);

 private:
  void run();
  void handle(const mesos::v1::scheduler::Event& event);
  Result<std::string> send(const mesos::v1::scheduler::Call& call);

  std::string url_;
  Options options_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string streamId_;
  std::optional<mesos::v1::FrameworkID> frameworkId_;
  std::vector<mesos::v1::Offer> offers_;
  std::map<std::string, double> mostOffered_;
  std::map<std::string, mesos::v1::AgentID> taskAgents_;
  std::map<std::string, std::vector<mesos::v1::TaskStatus>> updates_;
  std::string streamError_;
};

}  // namespace mantle::testing::e2e
