#include "hooks/hook_chain.hpp"

#include <glog/logging.h>

#include <utility>

namespace mantle::hooks {

namespace v1 = ::mantle::module::v1;

const char* hookPointName(HookPoint point) {
  switch (point) {
    case HookPoint::kMasterLaunchTaskLabelDecorator: return "master_launch_task_label_decorator";
    case HookPoint::kAgentRunTaskLabelDecorator: return "agent_run_task_label_decorator";
    case HookPoint::kExecutorEnvironmentDecorator: return "executor_environment_decorator";
    case HookPoint::kTaskStatusUpdateDecorator: return "task_status_update_decorator";
    case HookPoint::kExecutorRemoved: return "executor_removed";
    case HookPoint::kStateEvent: return "state_event";
  }
  return "unknown";
}

namespace {

std::size_t index(HookPoint point) {
  return static_cast<std::size_t>(point);
}

bool isSkip(const Status& status) {
  return !status.ok() && status.error().code == StatusCode::kUnimplemented;
}

Error hookFailed(const modules::Instance& hook, HookPoint point, const Error& error) {
  return Error(error.code, "hook '" + hook.name() + "' failed at " + hookPointName(point) + ": " + error.message);
}

}  // namespace

HookChain::HookChain(std::vector<std::shared_ptr<modules::Instance>> hooks, HookChainOptions options)
    : hooks_(std::move(hooks)), options_(options) {
  for (const auto& hook : hooks_) metrics_[hook->name()];
  if (!hooks_.empty()) thread_ = std::thread([this] { deliverLoop(); });
}

HookChain::~HookChain() {
  std::size_t left = 0;
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    stopping_ = true;
    left = queue_.size();
    queue_.clear();
  }
  queueChanged_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (left > 0) LOG(WARNING) << "Hooks: " << left << " notification(s) not delivered at shutdown";
}

std::vector<std::string> HookChain::names() const {
  std::vector<std::string> out;
  for (const auto& hook : hooks_) out.push_back(hook->name());
  return out;
}

void HookChain::record(const std::string& hook, HookPoint point, const Status& outcome, bool called) {
  std::lock_guard<std::mutex> lock(metricsMutex_);
  HookPointMetrics& m = metrics_[hook][index(point)];
  if (!called) {
    ++m.skipped;
    return;
  }
  ++m.calls;
  if (!outcome.ok()) {
    ++m.failures;
    if (outcome.error().code == StatusCode::kDeadlineExceeded) ++m.timeouts;
  }
}

Status HookChain::runDecorator(HookPoint point, const std::function<Status(const modules::HookClient&)>& step) {
  for (const auto& hook : hooks_) {
    Status outcome = step(modules::HookClient(*hook));
    if (isSkip(outcome)) {
      record(hook->name(), point, outcome, false);
      continue;
    }
    record(hook->name(), point, outcome, true);
    if (!outcome.ok()) {
      Error error = hookFailed(*hook, point, outcome.error());
      LOG(WARNING) << error.message;
      return error;
    }
  }
  return {};
}

Result<v1::Labels> HookChain::labelDecorators(HookPoint point, const v1::TaskContext& input) {
  v1::TaskContext context = input;
  auto decorate = &modules::HookClient::agentRunTaskLabelDecorator;
  if (point == HookPoint::kMasterLaunchTaskLabelDecorator)
    decorate = &modules::HookClient::masterLaunchTaskLabelDecorator;
  Status status = runDecorator(point, [&](const modules::HookClient& hook) -> Status {
    Result<v1::LabelsDecoration> out = (hook.*decorate)(context);
    if (!out.ok()) return out.error();
    if (out->has_labels()) *context.mutable_task_info()->mutable_labels() = out->labels();
    return {};
  });
  if (!status.ok()) return status.error();
  return context.task_info().labels();
}

Result<v1::Labels> HookChain::masterLaunchTaskLabels(const v1::TaskContext& context) {
  return labelDecorators(HookPoint::kMasterLaunchTaskLabelDecorator, context);
}

Result<v1::Labels> HookChain::agentRunTaskLabels(const v1::TaskContext& context) {
  return labelDecorators(HookPoint::kAgentRunTaskLabelDecorator, context);
}

Result<v1::Environment> HookChain::executorEnvironment(const v1::TaskContext& input) {
  const HookPoint point = HookPoint::kExecutorEnvironmentDecorator;
  v1::TaskContext context = input;
  Status status = runDecorator(point, [&](const modules::HookClient& hook) -> Status {
    Result<v1::EnvironmentDecoration> out = hook.executorEnvironmentDecorator(context);
    if (!out.ok()) return out.error();
    if (out->has_environment()) {
      *context.mutable_executor_info()->mutable_command()->mutable_environment() = out->environment();
    }
    return {};
  });
  if (!status.ok()) return status.error();
  return context.executor_info().command().environment();
}

v1::Labels HookChain::taskStatusLabels(const v1::TaskStatusContext& input) {
  const HookPoint point = HookPoint::kTaskStatusUpdateDecorator;
  v1::TaskStatusContext context = input;
  for (const auto& hook : hooks_) {
    Result<v1::LabelsDecoration> out = modules::HookClient(*hook).taskStatusUpdateDecorator(context);
    Status outcome = out.ok() ? Status() : Status(out.error());
    if (isSkip(outcome)) {
      record(hook->name(), point, outcome, false);
      continue;
    }
    record(hook->name(), point, outcome, true);
    if (!out.ok()) {
      LOG(WARNING) << hookFailed(*hook, point, out.error()).message << " (the update keeps its labels)";
      continue;
    }
    if (out->has_labels()) *context.mutable_status()->mutable_labels() = out->labels();
  }
  return context.status().labels();
}

void HookChain::executorRemoved(const v1::ExecutorRemoved& removed) {
  enqueue(HookPoint::kExecutorRemoved,
          [removed](const modules::HookClient& hook) { return hook.executorRemoved(removed); });
}

void HookChain::stateEvent(const v1::StateEvent& event) {
  enqueue(HookPoint::kStateEvent, [event](const modules::HookClient& hook) { return hook.stateEvent(event); });
}

void HookChain::enqueue(HookPoint point, Delivery deliver) {
  if (hooks_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    if (!stopping_ && queue_.size() < options_.notificationQueueCapacity) {
      queue_.push_back({point, std::move(deliver)});
      queueChanged_.notify_all();
      return;
    }
  }
  std::uint64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(metricsMutex_);
    dropped = ++dropped_[index(point)];
  }
  // Once per power of two, so that a stuck hook does not flood the log.
  if ((dropped & (dropped - 1)) == 0) {
    LOG(WARNING) << "Hooks: the notification queue is full (" << options_.notificationQueueCapacity << "); dropped "
                 << dropped << " " << hookPointName(point) << " notification(s) so far";
  }
}

void HookChain::deliverLoop() {
  std::unique_lock<std::mutex> lock(queueMutex_);
  for (;;) {
    queueChanged_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Notification next = std::move(queue_.front());
    queue_.pop_front();
    delivering_ = true;
    lock.unlock();
    for (const auto& hook : hooks_) {
      Result<v1::Empty> out = next.deliver(modules::HookClient(*hook));
      Status outcome = out.ok() ? Status() : Status(out.error());
      if (isSkip(outcome)) {
        record(hook->name(), next.point, outcome, false);
        continue;
      }
      record(hook->name(), next.point, outcome, true);
      if (!outcome.ok()) LOG(WARNING) << hookFailed(*hook, next.point, outcome.error()).message;
      // Each hook gets the notification regardless of the others.
      bool stop = false;
      {
        std::lock_guard<std::mutex> check(queueMutex_);
        stop = stopping_;
      }
      if (stop) break;
    }
    lock.lock();
    delivering_ = false;
    queueChanged_.notify_all();
  }
}

bool HookChain::flushNotifications(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(queueMutex_);
  return queueChanged_.wait_for(lock, timeout, [this] { return stopping_ || (queue_.empty() && !delivering_); });
}

HookPointMetrics HookChain::metrics(const std::string& hook, HookPoint point) const {
  std::lock_guard<std::mutex> lock(metricsMutex_);
  auto it = metrics_.find(hook);
  return it == metrics_.end() ? HookPointMetrics{} : it->second[index(point)];
}

std::uint64_t HookChain::droppedNotifications(HookPoint point) const {
  std::lock_guard<std::mutex> lock(metricsMutex_);
  return dropped_[index(point)];
}

std::map<std::string, double> HookChain::metricsSnapshot() const {
  std::map<std::string, double> out;
  std::lock_guard<std::mutex> lock(metricsMutex_);
  for (const auto& hook : hooks_) {
    auto it = metrics_.find(hook->name());
    if (it == metrics_.end()) continue;
    for (HookPoint point : kAllHookPoints) {
      const HookPointMetrics& m = it->second[index(point)];
      const std::string prefix = std::string("hooks/") + hookPointName(point) + "/" + hook->name() + "/";
      out[prefix + "calls"] = static_cast<double>(m.calls);
      out[prefix + "skipped"] = static_cast<double>(m.skipped);
      out[prefix + "failures"] = static_cast<double>(m.failures);
      out[prefix + "timeouts"] = static_cast<double>(m.timeouts);
    }
  }
  if (!hooks_.empty()) {
    for (HookPoint point : {HookPoint::kExecutorRemoved, HookPoint::kStateEvent}) {
      out[std::string("hooks/") + hookPointName(point) + "/dropped"] = static_cast<double>(dropped_[index(point)]);
    }
  }
  return out;
}

}  // namespace mantle::hooks
