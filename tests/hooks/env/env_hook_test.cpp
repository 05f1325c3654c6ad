// The env hook, loaded through the host from libmantle_env.so.
#include <gtest/gtest.h>

#include "mantle/module/v1/hook.pb.h"
#include "module_host.hpp"

namespace mantle::hooks::env {
namespace {

namespace v1 = ::mantle::module::v1;
using modules::Instance;
using modules::Registry;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Json::Value list(const std::vector<std::string>& items) {
  Json::Value out(Json::arrayValue);
  for (const std::string& item : items) out.append(item);
  return out;
}

// A task of framework `name` (ID fw-<name>) with `roles`, `labels`, and the
// executor environment `environment`.
v1::TaskContext task(const std::string& framework, const std::vector<std::string>& roles, const Pairs& labels,
                     const Pairs& environment = {}) {
  v1::TaskContext context;
  context.mutable_framework_info()->set_name(framework);
  context.mutable_framework_info()->mutable_id()->set_value("fw-" + framework);
  for (const std::string& role : roles) context.mutable_framework_info()->add_roles(role);
  context.mutable_task_info()->mutable_task_id()->set_value("t1");
  for (const auto& [key, value] : labels) {
    v1::Label* label = context.mutable_task_info()->mutable_labels()->add_labels();
    label->set_key(key);
    label->set_value(value);
  }
  for (const auto& [name, value] : environment) {
    auto* variable = context.mutable_executor_info()->mutable_command()->mutable_environment()->add_variables();
    variable->set_name(name);
    variable->set_value(value);
  }
  return context;
}

class EnvHookTest : public ::testing::Test {
 protected:
  Result<std::shared_ptr<Instance>> create(const Json::Value& config) {
    Json::Value module;
    module["name"] = "env";
    module["instance"] = "env-" + std::to_string(++created_);
    module["kind"] = "hook";
    module["config"] = config;
    return testing::createModule(registry_, "mantle_env", module, "hook");
  }

  // The decorated environment, or nullopt when the hook left it unchanged.
  static std::optional<Pairs> decorate(Instance& hook, const v1::TaskContext& context) {
    Result<v1::EnvironmentDecoration> out = modules::HookClient(hook).executorEnvironmentDecorator(context);
    EXPECT_TRUE(out.ok()) << out.error().message;
    if (!out.ok() || !out->has_environment()) return std::nullopt;
    Pairs variables;
    for (const auto& variable : out->environment().variables())
      variables.emplace_back(variable.name(), variable.value());
    return variables;
  }

  Registry registry_;
  int created_ = 0;
};

TEST_F(EnvHookTest, WithoutSelectorsEveryTaskGetsTheVariables) {
  Json::Value config;
  config["variables"] = list({"DC=eu-west", "PROXY=http://proxy:3128?a=b"});
  auto hook = create(config);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ(decorate(**hook, task("web", {}, {})), (Pairs{{"DC", "eu-west"}, {"PROXY", "http://proxy:3128?a=b"}}));
}

TEST_F(EnvHookTest, OverridesInPlaceAndKeepsTheExecutorsOtherVariables) {
  Json::Value config;
  config["variables"] = list({"PROXY=new", "EXTRA="});
  auto hook = create(config);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ(decorate(**hook, task("web", {}, {}, {{"A", "1"}, {"PROXY", "old"}, {"B", "2"}})),
            (Pairs{{"A", "1"}, {"PROXY", "new"}, {"B", "2"}, {"EXTRA", ""}}));
}

TEST_F(EnvHookTest, SelectsByFrameworkNameOrId) {
  Json::Value config;
  config["variables"] = list({"X=1"});
  config["frameworks"] = list({"spark", "fw-batch"});
  auto hook = create(config);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ(decorate(**hook, task("spark", {}, {})), (Pairs{{"X", "1"}}));
  EXPECT_EQ(decorate(**hook, task("batch", {}, {})), (Pairs{{"X", "1"}}));
  EXPECT_EQ(decorate(**hook, task("web", {}, {})), std::nullopt);
}

TEST_F(EnvHookTest, SelectsByFrameworkRoleOrResourceRole) {
  Json::Value config;
  config["variables"] = list({"X=1"});
  config["roles"] = list({"analytics"});
  auto hook = create(config);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ(decorate(**hook, task("a", {"web", "analytics"}, {})), (Pairs{{"X", "1"}}));
  EXPECT_EQ(decorate(**hook, task("a", {"web"}, {})), std::nullopt);

  v1::TaskContext allocated = task("a", {}, {});
  auto* cpus = allocated.mutable_task_info()->add_resources();
  cpus->set_name("cpus");
  cpus->mutable_allocation_info()->set_role("analytics");
  EXPECT_EQ(decorate(**hook, allocated), (Pairs{{"X", "1"}}));

  v1::TaskContext reserved = task("a", {}, {});
  auto* mem = reserved.mutable_task_info()->add_resources();
  mem->set_name("mem");
  mem->add_reservations()->set_role("analytics");
  EXPECT_EQ(decorate(**hook, reserved), (Pairs{{"X", "1"}}));
}

TEST_F(EnvHookTest, SelectsByLabelKeyOrKeyAndValue) {
  Json::Value config;
  config["variables"] = list({"X=1"});
  config["labels"] = list({"gpu", "tier=gold"});
  auto hook = create(config);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ(decorate(**hook, task("a", {}, {{"gpu", "whatever"}})), (Pairs{{"X", "1"}}));
  EXPECT_EQ(decorate(**hook, task("a", {}, {{"tier", "gold"}})), (Pairs{{"X", "1"}}));
  EXPECT_EQ(decorate(**hook, task("a", {}, {{"tier", "silver"}})), std::nullopt);
  EXPECT_EQ(decorate(**hook, task("a", {}, {})), std::nullopt);
}

TEST_F(EnvHookTest, EverySelectorGivenMustMatch) {
  Json::Value config;
  config["variables"] = list({"X=1"});
  config["frameworks"] = list({"spark"});
  config["labels"] = list({"tier=gold"});
  auto hook = create(config);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ(decorate(**hook, task("spark", {}, {{"tier", "gold"}})), (Pairs{{"X", "1"}}));
  EXPECT_EQ(decorate(**hook, task("spark", {}, {})), std::nullopt);
  EXPECT_EQ(decorate(**hook, task("web", {}, {{"tier", "gold"}})), std::nullopt);
}

TEST_F(EnvHookTest, AcceptsMesosStyleParameters) {
  Json::Value module;
  module["name"] = "env";
  for (auto [key, value] : {std::pair{"variables", "A=1,B=2"}, std::pair{"frameworks", "spark"}}) {
    Json::Value parameter;
    parameter["key"] = key;
    parameter["value"] = value;
    module["parameters"].append(parameter);
  }
  auto hook = testing::createModule(registry_, "mantle_env", module, "hook");
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  EXPECT_EQ(decorate(**hook, task("spark", {}, {})), (Pairs{{"A", "1"}, {"B", "2"}}));
}

TEST_F(EnvHookTest, BadConfigurationIsRefusedAtCreateNamingTheItem) {
  struct Case {
    Json::Value config;
    std::string expected;
  };
  std::vector<Case> cases;
  Json::Value noEquals;
  noEquals["variables"] = list({"A=1", "OOPS"});
  cases.push_back({noEquals, "('OOPS'): expected NAME=value"});
  Json::Value badName;
  badName["variables"] = list({"1A=1"});
  cases.push_back({badName, "'1A' is not a variable name"});
  Json::Value duplicate;
  duplicate["variables"] = list({"A=1", "A=2"});
  cases.push_back({duplicate, "variable 'A' is given more than once"});
  Json::Value empty;
  empty["variables"] = Json::Value(Json::arrayValue);
  cases.push_back({empty, "give at least one NAME=value"});
  Json::Value emptyLabel;
  emptyLabel["variables"] = list({"A=1"});
  emptyLabel["labels"] = list({"=x"});
  cases.push_back({emptyLabel, "parameter 'labels', item 0 ('=x'): the key is empty"});
  Json::Value missing(Json::objectValue);
  cases.push_back({missing, "variables"});
  for (const Case& c : cases) {
    auto hook = create(c.config);
    ASSERT_FALSE(hook.ok()) << c.expected;
    EXPECT_NE(hook.error().message.find(c.expected), std::string::npos) << hook.error().message;
  }
}

TEST_F(EnvHookTest, OtherHookPointsChangeNothing) {
  Json::Value config;
  config["variables"] = list({"X=1"});
  auto hook = create(config);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  Result<v1::LabelsDecoration> labels =
      modules::HookClient(**hook).agentRunTaskLabelDecorator(task("a", {}, {{"k", "v"}}));
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  EXPECT_FALSE(labels->has_labels());
}

}  // namespace
}  // namespace mantle::hooks::env
