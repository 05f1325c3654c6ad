// core/hooks: the hook chain against fixture hook modules loaded through the
// registry (append, fail, sleep, and the hand-written partial table).
#include <gtest/gtest.h>

#include <fstream>

#include <json/value.h>

#include "hooks/hook_chain.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"
#include "module_manifest.hpp"
#include "temp_dir.hpp"

namespace mantle::hooks {
namespace {

namespace v1 = ::mantle::module::v1;
using Pairs = std::vector<std::pair<std::string, std::string>>;

using ::mantle::testing::fixtureLibrary;
// One hook instance to declare.
using HookSpec = ::mantle::testing::ManifestModule;

// The hook `module` of the fixture library `fixture`, as `instance`.
HookSpec hook(const std::string& fixture, const std::string& module, const std::string& instance) {
  return {.library = fixtureLibrary(fixture), .name = module, .kind = "hook", .instance = instance};
}

HookSpec append(const std::string& instance, const std::string& key, const std::string& value,
                const std::string& record = "") {
  HookSpec spec = hook("fixture_hook_append", "append", instance);
  spec.config["key"] = key;
  spec.config["value"] = value;
  if (!record.empty()) spec.config["record"] = record;
  return spec;
}

HookSpec failing(const std::string& instance, const std::string& message) {
  HookSpec spec = hook("fixture_hook_fail", "fail", instance);
  spec.config["message"] = message;
  return spec;
}

HookSpec sleeping(const std::string& instance, int sleepMs, int timeoutMs) {
  HookSpec spec = hook("fixture_hook_sleep", "sleep", instance);
  spec.config["sleep_ms"] = sleepMs;
  spec.timeoutMs = timeoutMs;
  return spec;
}

HookSpec partial(const std::string& instance) {
  return hook("fixture_raw_partial", "partial", instance);
}

class HookChainTest : public ::testing::Test {
 protected:
  // Loads the hooks into the registry and builds a chain of them in order.
  std::unique_ptr<HookChain> chain(const std::vector<HookSpec>& specs, HookChainOptions options = {}) {
    Result<modules::Manifest> parsed = modules::parseManifest(testing::moduleManifest(specs), "test manifest", "");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    if (!parsed.ok()) return nullptr;
    Status loaded = registry_.load(*parsed);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    std::vector<std::string> names;
    for (const HookSpec& spec : specs) names.push_back(spec.instance);
    auto instances = registry_.createAll("hook", names);
    EXPECT_TRUE(instances.ok()) << instances.error().message;
    if (!instances.ok()) return nullptr;
    return std::make_unique<HookChain>(*instances, options);
  }

  static v1::TaskContext task(const Pairs& labels) {
    v1::TaskContext context;
    context.mutable_task_info()->mutable_task_id()->set_value("t1");
    for (const auto& [key, value] : labels) {
      v1::Label* label = context.mutable_task_info()->mutable_labels()->add_labels();
      label->set_key(key);
      label->set_value(value);
    }
    return context;
  }

  static Pairs pairs(const v1::Labels& labels) {
    Pairs out;
    for (const v1::Label& label : labels.labels()) out.emplace_back(label.key(), label.value());
    return out;
  }

  static v1::StateEvent taskEvent(const std::string& taskId) {
    v1::StateEvent event;
    event.set_type(v1::StateEvent::TASK_UPDATED);
    event.mutable_task_status()->mutable_task_id()->set_value(taskId);
    event.mutable_task_status()->set_state(v1::TASK_RUNNING);
    return event;
  }

  static std::vector<std::string> lines(const std::filesystem::path& file) {
    std::vector<std::string> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  modules::Registry registry_;
  testing::TempDir dir_;
};

TEST_F(HookChainTest, LabelDecoratorsChainInHooksOrder) {
  auto hooks = chain({append("first", "a", "1"), append("second", "b", "2")});
  ASSERT_NE(hooks, nullptr);
  for (bool master : {true, false}) {
    Result<v1::Labels> labels = master ? hooks->masterLaunchTaskLabels(task({{"own", "x"}}))
                                       : hooks->agentRunTaskLabels(task({{"own", "x"}}));
    ASSERT_TRUE(labels.ok()) << labels.error().message;
    // The second hook appended to the first one's output.
    EXPECT_EQ(pairs(*labels), (Pairs{{"own", "x"}, {"a", "1"}, {"b", "2"}}));
  }
  EXPECT_EQ(hooks->metrics("first", HookPoint::kAgentRunTaskLabelDecorator).calls, 1u);
  EXPECT_EQ(hooks->metrics("second", HookPoint::kMasterLaunchTaskLabelDecorator).calls, 1u);
}

TEST_F(HookChainTest, OrderOfTheHooksIsTheOrderOfTheOutput) {
  auto hooks = chain({append("second", "b", "2"), append("first", "a", "1")});
  ASSERT_NE(hooks, nullptr);
  Result<v1::Labels> labels = hooks->agentRunTaskLabels(task({}));
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  EXPECT_EQ(pairs(*labels), (Pairs{{"b", "2"}, {"a", "1"}}));
}

TEST_F(HookChainTest, EnvironmentDecoratorsChainInOrder) {
  auto hooks = chain({append("first", "A", "1"), append("second", "B", "2")});
  ASSERT_NE(hooks, nullptr);
  v1::TaskContext context = task({});
  v1::Environment::Variable* own =
      context.mutable_executor_info()->mutable_command()->mutable_environment()->add_variables();
  own->set_name("OWN");
  own->set_value("x");
  Result<v1::Environment> environment = hooks->executorEnvironment(context);
  ASSERT_TRUE(environment.ok()) << environment.error().message;
  Pairs variables;
  for (const auto& variable : environment->variables()) variables.emplace_back(variable.name(), variable.value());
  EXPECT_EQ(variables, (Pairs{{"OWN", "x"}, {"A", "1"}, {"B", "2"}}));
}

TEST_F(HookChainTest, FailingDecoratorFailsWithItsReasonAndStopsTheChain) {
  auto hooks = chain({append("first", "a", "1"), failing("gatekeeper", "team label missing"),
                      append("after", "b", "2")});
  ASSERT_NE(hooks, nullptr);
  for (HookPoint point : {HookPoint::kMasterLaunchTaskLabelDecorator, HookPoint::kAgentRunTaskLabelDecorator,
                          HookPoint::kExecutorEnvironmentDecorator}) {
    Status outcome;
    if (point == HookPoint::kMasterLaunchTaskLabelDecorator) {
      auto r = hooks->masterLaunchTaskLabels(task({}));
      if (!r.ok()) outcome = r.error();
    } else if (point == HookPoint::kAgentRunTaskLabelDecorator) {
      auto r = hooks->agentRunTaskLabels(task({}));
      if (!r.ok()) outcome = r.error();
    } else {
      auto r = hooks->executorEnvironment(task({}));
      if (!r.ok()) outcome = r.error();
    }
    ASSERT_FALSE(outcome.ok()) << hookPointName(point);
    EXPECT_EQ(outcome.error().code, StatusCode::kFailedPrecondition);
    const std::string& message = outcome.error().message;
    EXPECT_EQ(message.rfind("hook 'gatekeeper' failed at " + std::string(hookPointName(point)) + ": ", 0), 0u)
        << message;
    EXPECT_NE(message.find("team label missing"), std::string::npos) << message;
    EXPECT_EQ(hooks->metrics("gatekeeper", point).failures, 1u);
    EXPECT_EQ(hooks->metrics("first", point).calls, 1u);
    EXPECT_EQ(hooks->metrics("after", point).calls, 0u) << "the chain stops at the failing hook";
  }
}

TEST_F(HookChainTest, DecoratorPastItsDeadlineIsAFailure) {
  auto hooks = chain({append("first", "a", "1"), sleeping("slow", 1500, 200)});
  ASSERT_NE(hooks, nullptr);
  Result<v1::Labels> labels = hooks->agentRunTaskLabels(task({}));
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.error().code, StatusCode::kDeadlineExceeded);
  EXPECT_NE(labels.error().message.find("hook 'slow' failed at agent_run_task_label_decorator"), std::string::npos)
      << labels.error().message;
  EXPECT_NE(labels.error().message.find("deadline of 200 ms"), std::string::npos) << labels.error().message;
  HookPointMetrics slow = hooks->metrics("slow", HookPoint::kAgentRunTaskLabelDecorator);
  EXPECT_EQ(slow.failures, 1u);
  EXPECT_EQ(slow.timeouts, 1u);
}

TEST_F(HookChainTest, UnimplementedPointIsSkipped) {
  // The hand-written partial hook has no decorators at all.
  auto hooks = chain({partial("partial"), append("labeller", "a", "1")});
  ASSERT_NE(hooks, nullptr);
  Result<v1::Labels> labels = hooks->agentRunTaskLabels(task({{"own", "x"}}));
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  EXPECT_EQ(pairs(*labels), (Pairs{{"own", "x"}, {"a", "1"}}));
  HookPointMetrics skipped = hooks->metrics("partial", HookPoint::kAgentRunTaskLabelDecorator);
  EXPECT_EQ(skipped.skipped, 1u);
  EXPECT_EQ(skipped.calls, 0u);
  EXPECT_EQ(skipped.failures, 0u);
}

TEST_F(HookChainTest, StatusDecoratorFailsOpenAndKeepsTheOthersOutput) {
  auto hooks = chain({append("first", "a", "1"), failing("broken", "no"), sleeping("slow", 1500, 100),
                      append("second", "b", "2")});
  ASSERT_NE(hooks, nullptr);
  v1::TaskStatusContext context;
  context.mutable_status()->mutable_task_id()->set_value("t1");
  v1::Label* own = context.mutable_status()->mutable_labels()->add_labels();
  own->set_key("own");
  own->set_value("x");
  v1::Labels labels = hooks->taskStatusLabels(context);
  EXPECT_EQ(pairs(labels), (Pairs{{"own", "x"}, {"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(hooks->metrics("broken", HookPoint::kTaskStatusUpdateDecorator).failures, 1u);
  EXPECT_EQ(hooks->metrics("slow", HookPoint::kTaskStatusUpdateDecorator).timeouts, 1u);
  EXPECT_EQ(hooks->metrics("second", HookPoint::kTaskStatusUpdateDecorator).calls, 1u);
}

TEST_F(HookChainTest, NotificationsReachEveryHookInOrderAndFailuresAreCounted) {
  const auto record = dir_.path() / "record";
  auto hooks = chain({append("h1", "k", "v", record.string()), failing("broken", "down"), partial("partial"),
                      append("h2", "k", "v", record.string())});
  ASSERT_NE(hooks, nullptr);
  hooks->stateEvent(taskEvent("t1"));
  v1::ExecutorRemoved removed;
  removed.mutable_executor_info()->mutable_executor_id()->set_value("e1");
  hooks->executorRemoved(removed);
  hooks->stateEvent(taskEvent("t2"));
  ASSERT_TRUE(hooks->flushNotifications(std::chrono::seconds(30)));
  EXPECT_EQ(lines(record), (std::vector<std::string>{"h1 state_event t1", "h2 state_event t1",
                                                     "h1 executor_removed e1", "h2 executor_removed e1",
                                                     "h1 state_event t2", "h2 state_event t2"}));
  EXPECT_EQ(hooks->metrics("broken", HookPoint::kStateEvent).failures, 2u);
  EXPECT_EQ(hooks->metrics("broken", HookPoint::kExecutorRemoved).failures, 1u);
  // The partial hook rejects state events and throws from executor_removed:
  // both are failures, neither reaches the caller.
  EXPECT_EQ(hooks->metrics("partial", HookPoint::kStateEvent).failures, 2u);
  EXPECT_EQ(hooks->metrics("partial", HookPoint::kExecutorRemoved).failures, 1u);
  EXPECT_EQ(hooks->metrics("h2", HookPoint::kStateEvent).calls, 2u);
}

TEST_F(HookChainTest, FullNotificationQueueDropsAndCounts) {
  HookChainOptions options;
  options.notificationQueueCapacity = 2;
  auto hooks = chain({sleeping("slow", 300, 5000)}, options);
  ASSERT_NE(hooks, nullptr);
  for (int i = 0; i < 8; ++i) hooks->stateEvent(taskEvent("t" + std::to_string(i)));
  ASSERT_TRUE(hooks->flushNotifications(std::chrono::seconds(30)));
  const std::uint64_t dropped = hooks->droppedNotifications(HookPoint::kStateEvent);
  const std::uint64_t delivered = hooks->metrics("slow", HookPoint::kStateEvent).calls;
  // At most one in the hook's hands and two queued when the burst arrives.
  EXPECT_GE(dropped, 5u);
  EXPECT_EQ(dropped + delivered, 8u);
  EXPECT_EQ(hooks->metricsSnapshot().at("hooks/state_event/dropped"), static_cast<double>(dropped));
}

TEST_F(HookChainTest, MetricsSnapshotNamesEveryHookAndPoint) {
  auto hooks = chain({append("labeller", "a", "1")});
  ASSERT_NE(hooks, nullptr);
  ASSERT_TRUE(hooks->agentRunTaskLabels(task({})).ok());
  std::map<std::string, double> snapshot = hooks->metricsSnapshot();
  EXPECT_EQ(snapshot.at("hooks/agent_run_task_label_decorator/labeller/calls"), 1);
  EXPECT_EQ(snapshot.at("hooks/agent_run_task_label_decorator/labeller/failures"), 0);
  EXPECT_EQ(snapshot.at("hooks/state_event/labeller/calls"), 0);
  EXPECT_EQ(snapshot.at("hooks/executor_removed/dropped"), 0);
}

TEST(HookChainEmpty, NoHooksChangesNothing) {
  HookChain hooks({});
  EXPECT_TRUE(hooks.empty());
  v1::TaskContext context;
  v1::Label* label = context.mutable_task_info()->mutable_labels()->add_labels();
  label->set_key("own");
  Result<v1::Labels> labels = hooks.agentRunTaskLabels(context);
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->labels_size(), 1);
  hooks.stateEvent(v1::StateEvent());
  EXPECT_TRUE(hooks.flushNotifications(std::chrono::milliseconds(10)));
  EXPECT_TRUE(hooks.metricsSnapshot().empty());
}

}  // namespace
}  // namespace mantle::hooks
