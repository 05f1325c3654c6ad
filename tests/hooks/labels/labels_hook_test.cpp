// The labels hook, loaded through the host from libmantle_labels.so.
#include <gtest/gtest.h>

#include "mantle/module/v1/hook.pb.h"
#include "module_host.hpp"

namespace mantle::hooks::labels {
namespace {

namespace v1 = ::mantle::module::v1;
using modules::Instance;
using modules::Registry;

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs pairs(const v1::Labels& labels) {
  Pairs out;
  for (const v1::Label& l : labels.labels()) out.emplace_back(l.key(), l.value());
  return out;
}

v1::TaskContext taskWithLabels(const Pairs& labels) {
  v1::TaskContext context;
  context.mutable_task_info()->set_name("task");
  context.mutable_task_info()->mutable_task_id()->set_value("t1");
  for (const auto& [key, value] : labels) {
    v1::Label* l = context.mutable_task_info()->mutable_labels()->add_labels();
    l->set_key(key);
    l->set_value(value);
  }
  return context;
}

class LabelsHookTest : public ::testing::Test {
 protected:
  Result<std::shared_ptr<Instance>> create(const Json::Value& config) {
    Json::Value module;
    module["name"] = "labels";
    module["instance"] = "labels-" + std::to_string(++created_);  // one registry, several configurations
    module["kind"] = "hook";
    module["config"] = config;
    return testing::createModule(registry_, "mantle_labels", module, "hook");
  }

  static Result<Pairs> decorate(Instance& hook, const std::string& method, const v1::TaskContext& context) {
    modules::HookClient client(hook);
    Result<v1::LabelsDecoration> decoration = method == "master_launch_task_label_decorator"
                                                  ? client.masterLaunchTaskLabelDecorator(context)
                                                  : client.agentRunTaskLabelDecorator(context);
    if (!decoration.ok()) return decoration.error();
    EXPECT_TRUE(decoration->has_labels());
    return pairs(decoration->labels());
  }

  Registry registry_;
  int created_ = 0;
};

Json::Value config(const std::vector<std::string>& labels) {
  Json::Value c(Json::objectValue);
  for (const std::string& l : labels) c["labels"].append(l);
  return c;
}

TEST_F(LabelsHookTest, AddsConfiguredLabelsAtBothDecorators) {
  Json::Value c = config({"team=infra", "tier=gold"});
  c["cluster"] = "eu-west";
  Result<std::shared_ptr<Instance>> hook = create(c);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  for (const char* method : {"master_launch_task_label_decorator", "agent_run_task_label_decorator"}) {
    Result<Pairs> labels = decorate(**hook, method, taskWithLabels({}));
    ASSERT_TRUE(labels.ok()) << labels.error().message;
    EXPECT_EQ(*labels, (Pairs{{"team", "infra"}, {"tier", "gold"}, {"cluster", "eu-west"}})) << method;
  }
}

TEST_F(LabelsHookTest, KeepsExistingLabelsAndOverridesSameKeysInPlace) {
  Result<std::shared_ptr<Instance>> hook = create(config({"team=infra", "env=prod"}));
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  Result<Pairs> labels = decorate(**hook, "master_launch_task_label_decorator",
                                  taskWithLabels({{"owner", "alice"}, {"env", "dev"}, {"env", "stage"}, {"x", ""}}));
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  EXPECT_EQ(*labels, (Pairs{{"owner", "alice"}, {"env", "prod"}, {"x", ""}, {"team", "infra"}}));
}

TEST_F(LabelsHookTest, ValuesMayContainEqualsOrBeEmpty) {
  Result<std::shared_ptr<Instance>> hook = create(config({"expr=a=b", "empty="}));
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  Result<Pairs> labels = decorate(**hook, "agent_run_task_label_decorator", taskWithLabels({}));
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(*labels, (Pairs{{"expr", "a=b"}, {"empty", ""}}));
}

TEST_F(LabelsHookTest, AcceptsMesosStyleParameters) {
  Json::Value module;
  module["name"] = "labels";
  Json::Value p1;
  p1["key"] = "labels";
  p1["value"] = "team=infra,tier=gold";
  Json::Value p2;
  p2["key"] = "cluster";
  p2["value"] = "us-east";
  module["parameters"].append(p1);
  module["parameters"].append(p2);
  Result<std::shared_ptr<Instance>> hook = testing::createModule(registry_, "mantle_labels", module, "hook");
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  Result<Pairs> labels = decorate(**hook, "master_launch_task_label_decorator", taskWithLabels({{"a", "1"}}));
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(*labels, (Pairs{{"a", "1"}, {"team", "infra"}, {"tier", "gold"}, {"cluster", "us-east"}}));
}

TEST_F(LabelsHookTest, NoConfigurationLeavesLabelsUnchanged) {
  Result<std::shared_ptr<Instance>> hook = create(Json::Value(Json::objectValue));
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  Result<Pairs> labels = decorate(**hook, "master_launch_task_label_decorator", taskWithLabels({{"a", "1"}}));
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(*labels, (Pairs{{"a", "1"}}));
}

TEST_F(LabelsHookTest, ItemWithoutEqualsIsRefusedAtCreate) {
  Result<std::shared_ptr<Instance>> hook = create(config({"team=infra", "oops"}));
  ASSERT_FALSE(hook.ok());
  EXPECT_EQ(hook.error().code, StatusCode::kInvalidArgument);
  EXPECT_NE(hook.error().message.find("'oops'"), std::string::npos) << hook.error().message;
  EXPECT_NE(hook.error().message.find("key=value"), std::string::npos) << hook.error().message;
  EXPECT_NE(hook.error().message.find("labels"), std::string::npos) << hook.error().message;
}

TEST_F(LabelsHookTest, EmptyKeyAndDuplicateKeysAreRefused) {
  Result<std::shared_ptr<Instance>> emptyKey = create(config({"=v"}));
  ASSERT_FALSE(emptyKey.ok());
  EXPECT_NE(emptyKey.error().message.find("'=v'"), std::string::npos) << emptyKey.error().message;

  Json::Value c = config({"cluster=a"});
  c["cluster"] = "b";
  Result<std::shared_ptr<Instance>> duplicate = create(c);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message.find("'cluster'"), std::string::npos) << duplicate.error().message;
}

TEST_F(LabelsHookTest, OtherHookPointsChangeNothing) {
  Result<std::shared_ptr<Instance>> hook = create(config({"team=infra"}));
  ASSERT_TRUE(hook.ok());
  v1::TaskStatusContext status;
  status.mutable_status()->mutable_task_id()->set_value("t1");
  Result<v1::LabelsDecoration> decoration = modules::HookClient(**hook).taskStatusUpdateDecorator(status);
  ASSERT_TRUE(decoration.ok()) << decoration.error().message;
  EXPECT_FALSE(decoration->has_labels());
}

}  // namespace
}  // namespace mantle::hooks::labels

namespace mantle::hooks::labels {
namespace {

TEST_F(LabelsHookTest, AgentHostnameLabelComesFromTheAgentInfo) {
  Json::Value c = config({"team=infra"});
  c["agent_hostname_label"] = "agent";
  Result<std::shared_ptr<Instance>> hook = create(c);
  ASSERT_TRUE(hook.ok()) << hook.error().message;
  v1::TaskContext context = taskWithLabels({{"agent", "stale"}, {"own", "x"}});
  context.mutable_agent_info()->set_hostname("node-7.example");
  for (const char* method : {"master_launch_task_label_decorator", "agent_run_task_label_decorator"}) {
    Result<Pairs> labels = decorate(**hook, method, context);
    ASSERT_TRUE(labels.ok()) << labels.error().message;
    EXPECT_EQ(*labels, (Pairs{{"agent", "node-7.example"}, {"own", "x"}, {"team", "infra"}})) << method;
  }
  // Without an agent hostname in the context there is nothing to add.
  Result<Pairs> labels = decorate(**hook, "agent_run_task_label_decorator", taskWithLabels({}));
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  EXPECT_EQ(*labels, (Pairs{{"team", "infra"}}));
}

TEST_F(LabelsHookTest, AgentHostnameLabelMustNotCollideOrBeEmpty) {
  Json::Value collide = config({"host=x"});
  collide["agent_hostname_label"] = "host";
  Result<std::shared_ptr<Instance>> hook = create(collide);
  ASSERT_FALSE(hook.ok());
  EXPECT_NE(hook.error().message.find("'agent_hostname_label'"), std::string::npos) << hook.error().message;
  Json::Value empty(Json::objectValue);
  empty["agent_hostname_label"] = "";
  hook = create(empty);
  ASSERT_FALSE(hook.ok());
  EXPECT_NE(hook.error().message.find("must not be empty"), std::string::npos) << hook.error().message;
}

}  // namespace
}  // namespace mantle::hooks::labels
