// An example hook module: greets every task. It adds the environment variable
// GREETING to each executor's environment and a `greeted-by` label to each
// task the master launches. Built with nothing but the installed module API.
#include <memory>
#include <string>

#include "mantle/module_api/sdk/hook.hpp"

namespace greeting {

namespace v1 = mantle::module::v1;

class GreetingHook : public mantle::sdk::Hook {
 public:
  GreetingHook(std::string greeting, std::string name) : greeting_(std::move(greeting)), name_(std::move(name)) {}

  static mantle::Result<std::unique_ptr<GreetingHook>> create(const mantle::sdk::Context& context) {
    std::string greeting = context.config.getString("greeting");
    if (greeting.empty()) return mantle::invalidArgument("'greeting' must not be empty");
    return std::make_unique<GreetingHook>(greeting, context.instanceName);
  }

  mantle::Result<v1::EnvironmentDecoration> executorEnvironmentDecorator(const v1::TaskContext& context) override {
    v1::EnvironmentDecoration decoration;
    // Keep what the executor already has and add ours.
    *decoration.mutable_environment() = context.executor_info().command().environment();
    auto* variable = decoration.mutable_environment()->add_variables();
    variable->set_name("GREETING");
    variable->set_value(greeting_ + ", " + context.task_info().name());
    return decoration;
  }

  mantle::Result<v1::LabelsDecoration> masterLaunchTaskLabelDecorator(const v1::TaskContext& context) override {
    v1::LabelsDecoration decoration;
    *decoration.mutable_labels() = context.task_info().labels();
    auto* label = decoration.mutable_labels()->add_labels();
    label->set_key("greeted-by");
    label->set_value(name_);
    return decoration;
  }

 private:
  std::string greeting_;
  std::string name_;
};

}  // namespace greeting

MANTLE_MODULE_LIBRARY(
    "greeting_hook", "1.0.0",
    mantle::sdk::describe<greeting::GreetingHook>("greeting", "Greets every task through its environment and labels",
                                                  {mantle::sdk::Param::string("greeting", "what to say", "hello")}))
