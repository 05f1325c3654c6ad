// The host side of the hook kind: the hook instances named by --hooks, called
// in that order at each hook point with one failure policy per point.
//
//   decorators (master launch labels, agent run-task labels, executor
//   environment) fail closed: each hook sees the previous one's output; an
//   error or a missed deadline stops the chain and comes back as an Error
//   naming the hook, and the caller fails the launch with that text.
//
//   the task status decorator fails open: a failing hook is logged, counted
//   and skipped (its output is ignored), because a status update must never
//   be lost or held back.
//
//   notifications (executor removed, state events) never reach the caller:
//   they are queued (bounded) and delivered by the chain's own thread, in
//   order; a failure is logged and counted, a full queue drops the
//   notification and counts it.
//
// A hook whose table has no entry for a point (UNIMPLEMENTED) skips it.
// Thread-safe: any thread may call any method.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mantle/module/v1/hook.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/registry.hpp"
#include "mantle/result.hpp"

namespace mantle::hooks {

enum class HookPoint : std::size_t {
  kMasterLaunchTaskLabelDecorator = 0,
  kAgentRunTaskLabelDecorator,
  kExecutorEnvironmentDecorator,
  kTaskStatusUpdateDecorator,
  kExecutorRemoved,
  kStateEvent,
};
inline constexpr std::size_t kHookPointCount = 6;
inline constexpr std::array<HookPoint, kHookPointCount> kAllHookPoints = {HookPoint::kMasterLaunchTaskLabelDecorator,
                                                                          HookPoint::kAgentRunTaskLabelDecorator,
                                                                          HookPoint::kExecutorEnvironmentDecorator,
                                                                          HookPoint::kTaskStatusUpdateDecorator,
                                                                          HookPoint::kExecutorRemoved,
                                                                          HookPoint::kStateEvent};

// The hook table's method name: "agent_run_task_label_decorator", ...
const char* hookPointName(HookPoint point);

// Counters of one hook at one point.
struct HookPointMetrics {
  std::uint64_t calls = 0;     // calls made (skips not included)
  std::uint64_t skipped = 0;   // the hook does not implement the point
  std::uint64_t failures = 0;  // calls that returned an error or missed their deadline
  std::uint64_t timeouts = 0;  // of those, the missed deadlines
};

struct HookChainOptions {
  // Notifications waiting for the chain's thread; one more is dropped (and
  // counted) rather than blocking the caller.
  std::size_t notificationQueueCapacity = 4096;
};

class HookChain {
 public:
  explicit HookChain(std::vector<std::shared_ptr<modules::Instance>> hooks, HookChainOptions options = {});
  // Stops the notification thread after the call in progress; notifications
  // still queued are dropped (logged with their number).
  ~HookChain();
  HookChain(const HookChain&) = delete;
  HookChain& operator=(const HookChain&) = delete;

  bool empty() const { return hooks_.empty(); }
  std::vector<std::string> names() const;

  // ---- decorators: fail closed ------------------------------------------
  // The task's labels after every hook (the task's own labels when no hook
  // changes them). context.task_info().labels() is the input.
  Result<module::v1::Labels> masterLaunchTaskLabels(const module::v1::TaskContext& context);
  Result<module::v1::Labels> agentRunTaskLabels(const module::v1::TaskContext& context);
  // The executor's environment after every hook;
  // context.executor_info().command().environment() is the input.
  Result<module::v1::Environment> executorEnvironment(const module::v1::TaskContext& context);

  // ---- status decorator: fails open --------------------------------------
  // The status's labels after every hook that succeeded;
  // context.status().labels() is the input.
  module::v1::Labels taskStatusLabels(const module::v1::TaskStatusContext& context);

  // ---- notifications: queued, never fail ----------------------------------
  void executorRemoved(const module::v1::ExecutorRemoved& removed);
  void stateEvent(const module::v1::StateEvent& event);
  // Waits until every notification queued so far has been delivered (or
  // `timeout` passes); true when the queue drained.
  bool flushNotifications(std::chrono::milliseconds timeout);

  // ---- metrics -------------------------------------------------------------
  HookPointMetrics metrics(const std::string& hook, HookPoint point) const;
  std::uint64_t droppedNotifications(HookPoint point) const;
  // Flat metrics for the metrics endpoints, without a prefix:
  //   hooks/<point>/<hook>/{calls,skipped,failures,timeouts}
  //   hooks/<point>/dropped (notification points only)
  std::map<std::string, double> metricsSnapshot() const;

 private:
  // Runs `step` for every hook in order; the first failure (other than
  // UNIMPLEMENTED, a skip) stops the chain with an Error naming the hook.
  Status runDecorator(HookPoint point, const std::function<Status(const modules::HookClient&)>& step);
  Result<module::v1::Labels> labelDecorators(HookPoint point, const module::v1::TaskContext& context);
  void record(const std::string& hook, HookPoint point, const Status& outcome, bool called);
  // A notification's call into one hook.
  using Delivery = std::function<Result<module::v1::Empty>(const modules::HookClient&)>;
  void enqueue(HookPoint point, Delivery deliver);
  void deliverLoop();

  std::vector<std::shared_ptr<modules::Instance>> hooks_;
  HookChainOptions options_;

  mutable std::mutex metricsMutex_;
  std::map<std::string, std::array<HookPointMetrics, kHookPointCount>> metrics_;
  std::array<std::uint64_t, kHookPointCount> dropped_{};

  struct Notification {
    HookPoint point;
    Delivery deliver;
  };
  std::mutex queueMutex_;
  std::condition_variable queueChanged_;
  std::deque<Notification> queue_;
  bool delivering_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mantle::hooks
