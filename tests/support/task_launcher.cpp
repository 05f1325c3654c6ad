#include "task_launcher.hpp"

namespace mantle::testing {

namespace v1 = ::mesos::v1;

TaskLauncher::TaskLauncher(const std::string& master, const std::string& name) {
  scheduler::SchedulerOptions options;
  options.master = master;
  options.frameworkInfo.set_name(name);
  options.frameworkInfo.set_user("root");
  options.frameworkInfo.set_hostname("127.0.0.1");
  scheduler::SchedulerCallbacks callbacks;
  callbacks.offers = [this](const std::vector<v1::Offer>& offers) { this->offers(offers); };
  callbacks.update = [this](const v1::TaskStatus& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    reached_[status.task_id().value()].emplace(status.state(), Clock::now());
    latest_[status.task_id().value()] = status;
    changed_.notify_all();
  };
  scheduler_ = std::make_unique<scheduler::Scheduler>(std::move(options), std::move(callbacks));
  scheduler_->start();
}

TaskLauncher::~TaskLauncher() {
  if (scheduler_->connected()) (void)scheduler_->teardown();
  scheduler_->stop();
}

void TaskLauncher::launch(TaskSpec spec) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(spec));
  }
  if (scheduler_->connected()) (void)scheduler_->revive();
}

void TaskLauncher::offers(const std::vector<v1::Offer>& offers) {
  std::vector<TaskSpec> specs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    specs.swap(pending_);
  }
  std::vector<v1::OfferID> unused;
  for (const v1::Offer& offer : offers) {
    if (specs.empty()) {
      unused.push_back(offer.id());
      continue;
    }
    std::vector<v1::TaskInfo> tasks;
    for (const TaskSpec& spec : specs) {
      v1::TaskInfo task = scheduler::commandTask(spec.id, offer, spec.command, spec.resources);
      task.set_name(spec.name);
      for (const auto& [key, value] : spec.labels) {
        v1::Label* label = task.mutable_labels()->add_labels();
        label->set_key(key);
        label->set_value(value);
      }
      if (spec.healthCheck) *task.mutable_health_check() = *spec.healthCheck;
      std::lock_guard<std::mutex> lock(mutex_);
      agents_[spec.id] = offer.agent_id();
      tasks.push_back(std::move(task));
    }
    specs.clear();
    (void)scheduler_->launch(offer, tasks, 0.2);
  }
  if (!unused.empty()) (void)scheduler_->decline(unused, 0.2);
}

Status TaskLauncher::kill(const std::string& taskId) {
  v1::TaskID id;
  id.set_value(taskId);
  std::optional<v1::AgentID> agent;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto found = agents_.find(taskId); found != agents_.end()) agent = found->second;
  }
  return scheduler_->kill(id, agent);
}

std::optional<TaskLauncher::Clock::time_point> TaskLauncher::waitFor(const std::string& taskId, v1::TaskState state,
                                                                     std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<Clock::time_point> when;
  changed_.wait_for(lock, timeout, [&] {
    auto task = reached_.find(taskId);
    if (task == reached_.end()) return false;
    auto found = task->second.find(state);
    if (found != task->second.end()) when = found->second;
    return when.has_value();
  });
  return when;
}

std::optional<v1::TaskStatus> TaskLauncher::latest(const std::string& taskId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = latest_.find(taskId);
  if (found == latest_.end()) return std::nullopt;
  return found->second;
}

}  // namespace mantle::testing
