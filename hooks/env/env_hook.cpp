// env: adds or overrides environment variables of the executors (and so of
// the command tasks) that run the tasks it selects.
#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mantle/module_api/sdk/hook.hpp"

namespace mantle::hooks::env {

namespace v1 = ::mantle::module::v1;

namespace {

using Variable = std::pair<std::string, std::string>;

struct LabelSelector {
  std::string key;
  std::optional<std::string> value;  // none: any value
};

bool validName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Result<std::vector<Variable>> parseVariables(const std::vector<std::string>& items) {
  std::vector<Variable> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    const std::string where = "parameter 'variables', item " + std::to_string(i) + " ('" + item + "')";
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) return invalidArgument(where + ": expected NAME=value, found no '='");
    std::string name = item.substr(0, eq);
    if (!validName(name)) {
      return invalidArgument(where + ": '" + name + "' is not a variable name (letters, digits, '_', not starting "
                             "with a digit)");
    }
    if (!names.insert(name).second) return invalidArgument(where + ": variable '" + name + "' is given more than once");
    out.emplace_back(std::move(name), item.substr(eq + 1));
  }
  if (out.empty()) return invalidArgument("parameter 'variables': give at least one NAME=value");
  return out;
}

Result<std::vector<LabelSelector>> parseLabelSelectors(const std::vector<std::string>& items) {
  std::vector<LabelSelector> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    const std::size_t eq = item.find('=');
    LabelSelector selector;
    selector.key = item.substr(0, eq);
    if (eq != std::string::npos) selector.value = item.substr(eq + 1);
    if (selector.key.empty()) {
      return invalidArgument("parameter 'labels', item " + std::to_string(i) + " ('" + item + "'): the key is empty");
    }
    out.push_back(std::move(selector));
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return !value.empty() && std::find(list.begin(), list.end(), value) != list.end();
}

class EnvHook final : public sdk::Hook {
 public:
  EnvHook(std::vector<Variable> variables, std::vector<std::string> frameworks, std::vector<std::string> roles,
          std::vector<LabelSelector> labels)
      : variables_(std::move(variables)),
        frameworks_(std::move(frameworks)),
        roles_(std::move(roles)),
        labels_(std::move(labels)) {}

  static Result<std::unique_ptr<EnvHook>> create(const sdk::Context& context) {
    Result<std::vector<Variable>> variables = parseVariables(context.config.getStringList("variables"));
    if (!variables.ok()) return variables.error();
    Result<std::vector<LabelSelector>> labels = parseLabelSelectors(context.config.getStringList("labels"));
    if (!labels.ok()) return labels.error();
    return std::make_unique<EnvHook>(std::move(*variables), context.config.getStringList("frameworks"),
                                     context.config.getStringList("roles"), std::move(*labels));
  }

  Result<v1::EnvironmentDecoration> executorEnvironmentDecorator(const v1::TaskContext& context) override {
    v1::EnvironmentDecoration decoration;
    if (!selects(context)) return decoration;  // nothing set: no change
    v1::Environment& out = *decoration.mutable_environment();
    out = context.executor_info().command().environment();
    for (const auto& [name, value] : variables_) {
      v1::Environment::Variable* existing = nullptr;
      for (auto& variable : *out.mutable_variables()) {
        if (variable.name() == name) {
          existing = &variable;
          break;
        }
      }
      if (existing == nullptr) {
        existing = out.add_variables();
        existing->set_name(name);
      }
      existing->set_value(value);
    }
    return decoration;
  }

 private:
  // Every selector that is configured must match; within one, any item.
  bool selects(const v1::TaskContext& context) const {
    const v1::FrameworkInfo& framework = context.framework_info();
    if (!frameworks_.empty() && !contains(frameworks_, framework.name()) &&
        !contains(frameworks_, framework.id().value())) {
      return false;
    }
    if (!roles_.empty() && !hasRole(context)) return false;
    if (!labels_.empty() && !hasLabel(context.task_info().labels())) return false;
    return true;
  }

  bool hasRole(const v1::TaskContext& context) const {
    for (const std::string& role : context.framework_info().roles()) {
      if (contains(roles_, role)) return true;
    }
    auto resourceRole = [&](const v1::Resource& resource) {
      if (contains(roles_, resource.allocation_info().role())) return true;
      // Reserved resources: the role of the innermost reservation.
      return resource.reservations_size() > 0 &&
             contains(roles_, resource.reservations(resource.reservations_size() - 1).role());
    };
    for (const v1::Resource& resource : context.task_info().resources()) {
      if (resourceRole(resource)) return true;
    }
    for (const v1::Resource& resource : context.executor_info().resources()) {
      if (resourceRole(resource)) return true;
    }
    return false;
  }

  bool hasLabel(const v1::Labels& labels) const {
    for (const LabelSelector& selector : labels_) {
      for (const v1::Label& label : labels.labels()) {
        if (label.key() == selector.key && (!selector.value || label.value() == *selector.value)) return true;
      }
    }
    return false;
  }

  std::vector<Variable> variables_;
  std::vector<std::string> frameworks_;
  std::vector<std::string> roles_;
  std::vector<LabelSelector> labels_;
};

}  // namespace

}  // namespace mantle::hooks::env

MANTLE_MODULE_LIBRARY(
    "mantle_env", "0.1.0",
    mantle::sdk::describe<mantle::hooks::env::EnvHook>(
        "env", "Adds or overrides environment variables of the executors of selected tasks",
        {mantle::sdk::Param::required(
             mantle::sdk::Param::stringList("variables", "variables to set, each NAME=value")),
         mantle::sdk::Param::stringList("frameworks", "only tasks of these frameworks (name or ID)"),
         mantle::sdk::Param::stringList("roles", "only tasks of these roles (framework roles, allocation or reservation role)"),
         mantle::sdk::Param::stringList("labels", "only tasks carrying one of these labels (key or key=value)")}))
