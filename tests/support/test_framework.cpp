#include "test_framework.hpp"

#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "process.hpp"
#include "resources/resources.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {

namespace v1 = ::mesos::v1;

namespace {

// Whether `offer` holds `wanted` in its role.
bool holds(const v1::Offer& offer, const resources::Resources& wanted) {
  Result<resources::Resources> offered = resources::Resources::from(offer.resources());
  if (!offered.ok()) return false;
  const std::string& role = offer.allocation_info().role();
  return offered->contains(role.empty() ? wanted : wanted.allocatedTo(role));
}

}  // namespace

v1::TaskInfo shellTask(const std::string& taskId, const std::string& command, const std::string& resources) {
  v1::TaskInfo task;
  task.set_name(taskId);
  task.mutable_task_id()->set_value(taskId);
  task.mutable_command()->set_shell(true);
  task.mutable_command()->set_value(command);
  Result<resources::Resources> parsed = resources::Resources::parse(resources);
  EXPECT_TRUE(parsed.ok()) << taskId << ": " << parsed.error().message;
  if (parsed.ok()) parsed->copyTo(task.mutable_resources());
  return task;
}

TestFramework::TestFramework(std::string master, Options options) : options_(std::move(options)) {
  scheduler::SchedulerOptions schedulerOptions;
  schedulerOptions.master = std::move(master);
  schedulerOptions.reconnect = false;
  v1::FrameworkInfo& info = schedulerOptions.frameworkInfo;
  info.set_user(options_.user.empty() ? currentUser() : options_.user);
  info.set_name(options_.name);
  info.add_roles(options_.role);
  info.set_checkpoint(options_.checkpoint);
  if (!options_.hostname.empty()) info.set_hostname(options_.hostname);
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (options_.gpuResources) info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::GPU_RESOURCES);
  if (options_.sharedResources) info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::SHARED_RESOURCES);

  scheduler::SchedulerCallbacks callbacks;
  callbacks.subscribed = [this](const v1::scheduler::Event::Subscribed&) {
    std::lock_guard<std::mutex> lock(mutex_);
    changed_.notify_all();
  };
  callbacks.offers = [this](const std::vector<v1::Offer>& offers) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const v1::Offer& offer : offers) {
      std::map<std::string, double> amounts;
      for (const v1::Resource& r : offer.resources()) {
        if (r.type() == v1::Value::SCALAR) amounts[r.name()] += r.scalar().value();
      }
      for (const auto& [name, amount] : amounts) mostOffered_[name] = std::max(mostOffered_[name], amount);
      offers_.push_back(offer);
    }
    changed_.notify_all();
  };
  callbacks.rescind = [this](const v1::OfferID& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::erase_if(offers_, [&](const v1::Offer& offer) { return offer.id().value() == id.value(); });
  };
  callbacks.update = [this](const v1::TaskStatus& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    updates_[status.task_id().value()].push_back(status);
    changed_.notify_all();
  };
  callbacks.disconnected = [this](const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    endedWhy_ = why;
    changed_.notify_all();
  };
  scheduler_ = std::make_unique<scheduler::Scheduler>(std::move(schedulerOptions), std::move(callbacks));
}

TestFramework::~TestFramework() {
  scheduler_->stop();
}

Status TestFramework::start(std::chrono::milliseconds timeout) {
  scheduler_->start();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return scheduler_->frameworkId().has_value() || ended_; });
  if (!scheduler_->frameworkId()) {
    return Error(StatusCode::kUnavailable,
                 "the framework did not subscribe: " + (ended_ ? endedWhy_ : std::string("no answer in time")));
  }
  return {};
}

std::optional<v1::Offer> TestFramework::takeOffer(const std::function<bool(const v1::Offer&)>& wanted,
                                                  std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<v1::Offer> found;
  changed_.wait_for(lock, timeout, [&] {
    for (auto it = offers_.begin(); it != offers_.end(); ++it) {
      if (wanted && !wanted(*it)) continue;
      found = *it;
      offers_.erase(it);
      return true;
    }
    return false;
  });
  return found;
}

Status TestFramework::launch(const std::string& taskId, const std::string& command, const std::string& resources,
                             std::chrono::milliseconds timeout, const std::optional<v1::ContainerInfo>& container,
                             const std::optional<v1::Environment>& environment) {
  v1::CommandInfo shell;
  shell.set_shell(true);
  shell.set_value(command);
  if (environment) *shell.mutable_environment() = *environment;
  return launch(taskId, shell, resources, timeout, container);
}

Status TestFramework::launch(const std::string& taskId, const v1::CommandInfo& command, const std::string& resources,
                             std::chrono::milliseconds timeout, const std::optional<v1::ContainerInfo>& container,
                             const std::optional<v1::HealthCheck>& healthCheck) {
  v1::TaskInfo task = shellTask(taskId, "", resources);
  *task.mutable_command() = command;
  if (container) *task.mutable_container() = *container;
  if (healthCheck) *task.mutable_health_check() = *healthCheck;
  return launch(std::move(task), timeout);
}

Status TestFramework::launch(v1::TaskInfo task, std::chrono::milliseconds timeout) {
  return launch(std::vector<v1::TaskInfo>{std::move(task)}, timeout);
}

Status TestFramework::launch(std::vector<v1::TaskInfo> tasks, std::chrono::milliseconds timeout) {
  resources::Resources wanted;
  for (const v1::TaskInfo& task : tasks) {
    Result<resources::Resources> own = resources::Resources::from(task.resources());
    if (!own.ok()) return own.error().withContext("task " + task.task_id().value());
    wanted += *own;
  }
  std::optional<v1::Offer> offer =
      takeOffer([&](const v1::Offer& candidate) { return holds(candidate, wanted); }, timeout);
  if (!offer) return Error(StatusCode::kDeadlineExceeded, "no offer holds " + wanted.toString());
  const std::string& role = offer->allocation_info().role();
  for (v1::TaskInfo& task : tasks) {
    *task.mutable_agent_id() = offer->agent_id();
    // The offer's role for each resource.
    if (!role.empty()) resources::Resources::from(task.resources())->allocatedTo(role).copyTo(task.mutable_resources());
  }
  return launch(*offer, tasks);
}

Status TestFramework::launch(const v1::Offer& offer, const std::vector<v1::TaskInfo>& tasks) {
  v1::Offer::Operation operation;
  operation.set_type(v1::Offer::Operation::LAUNCH);
  for (const v1::TaskInfo& task : tasks) *operation.mutable_launch()->add_task_infos() = task;
  return accept(offer, operation, tasks);
}

Status TestFramework::launchGroup(const v1::Offer& offer, const v1::ExecutorInfo& executor,
                                  const std::vector<v1::TaskInfo>& tasks) {
  v1::Offer::Operation operation;
  operation.set_type(v1::Offer::Operation::LAUNCH_GROUP);
  *operation.mutable_launch_group()->mutable_executor() = executor;
  for (const v1::TaskInfo& task : tasks) *operation.mutable_launch_group()->mutable_task_group()->add_tasks() = task;
  return accept(offer, operation, tasks);
}

Status TestFramework::accept(const v1::Offer& offer, const v1::Offer::Operation& operation,
                             const std::vector<v1::TaskInfo>& tasks) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const v1::TaskInfo& task : tasks) taskAgents_[task.task_id().value()] = offer.agent_id();
  }
  // What the tasks leave of the offer comes back at the next allocation
  // (Mesos' default filter would hold it back for 5 s).
  return scheduler_->accept({offer.id()}, {operation}, /*refuseSeconds=*/0);
}

Status TestFramework::kill(const std::string& taskId) {
  v1::TaskID id;
  id.set_value(taskId);
  v1::AgentID agent;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = taskAgents_.find(taskId);
    if (it == taskAgents_.end()) return notFound("task " + taskId + " was not launched by this framework");
    agent = it->second;
  }
  return scheduler_->kill(id, agent);
}

double TestFramework::mostOffered(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = mostOffered_.find(name);
  return it == mostOffered_.end() ? 0 : it->second;
}

std::string TestFramework::frameworkId() {
  std::optional<v1::FrameworkID> id = scheduler_->frameworkId();
  return id ? id->value() : "";
}

std::optional<v1::TaskStatus> TestFramework::waitForUpdate(const std::string& taskId,
                                                           const std::function<bool(const v1::TaskStatus&)>& matches,
                                                           std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<v1::TaskStatus> found;
  changed_.wait_for(lock, timeout, [&] {
    for (const v1::TaskStatus& status : updates_[taskId]) {
      if (matches(status)) {
        found = status;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::optional<v1::TaskStatus> TestFramework::waitForState(const std::string& taskId, std::optional<v1::TaskState> state,
                                                          std::chrono::milliseconds timeout) {
  return waitForUpdate(
      taskId,
      [&](const v1::TaskStatus& status) { return state ? status.state() == *state : wire::isTerminal(status.state()); },
      timeout);
}

std::optional<v1::TaskStatus> TestFramework::waitForHealth(const std::string& taskId, bool healthy,
                                                           std::chrono::milliseconds timeout) {
  return waitForUpdate(
      taskId, [&](const v1::TaskStatus& status) { return status.has_healthy() && status.healthy() == healthy; },
      timeout);
}

std::vector<v1::TaskStatus> TestFramework::updates(const std::string& taskId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = updates_.find(taskId);
  return it == updates_.end() ? std::vector<v1::TaskStatus>{} : it->second;
}

std::optional<v1::TaskStatus> TestFramework::latest(const std::string& taskId) {
  std::vector<v1::TaskStatus> all = updates(taskId);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::vector<v1::TaskState> TestFramework::states(const std::string& taskId) {
  std::vector<v1::TaskState> out;
  for (const v1::TaskStatus& status : updates(taskId)) out.push_back(status.state());
  return out;
}

}  // namespace mantle::testing
