// labels: adds operator-configured labels to every task the master launches
// and the agent runs.
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mantle/module_api/sdk/hook.hpp"

namespace mantle::hooks::labels {

namespace v1 = ::mantle::module::v1;

namespace {

using Label = std::pair<std::string, std::string>;

// Parses the `labels` items and `cluster`. Every problem names the item.
Result<std::vector<Label>> parseLabels(const std::vector<std::string>& items, const std::string& cluster,
                                       bool hasCluster) {
  std::vector<Label> labels;
  std::set<std::string> keys;
  auto add = [&](const std::string& key, const std::string& value, const std::string& where) -> Status {
    if (!keys.insert(key).second) {
      return invalidArgument(where + ": label key '" + key + "' is given more than once");
    }
    labels.emplace_back(key, value);
    return {};
  };
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    std::string where = "parameter 'labels', item " + std::to_string(i) + " ('" + item + "')";
    std::size_t eq = item.find('=');
    if (eq == std::string::npos) return invalidArgument(where + ": expected key=value, found no '='");
    if (eq == 0) return invalidArgument(where + ": the key before '=' is empty");
    if (Status s = add(item.substr(0, eq), item.substr(eq + 1), where); !s.ok()) return s.error();
  }
  if (hasCluster) {
    if (cluster.empty()) return invalidArgument("parameter 'cluster': must not be empty");
    if (Status s = add("cluster", cluster, "parameter 'cluster'"); !s.ok()) return s.error();
  }
  return labels;
}

class LabelsHook final : public sdk::Hook {
 public:
  LabelsHook(std::vector<Label> labels, std::string hostnameKey)
      : labels_(std::move(labels)), hostnameKey_(std::move(hostnameKey)) {}

  static Result<std::unique_ptr<LabelsHook>> create(const sdk::Context& context) {
    Result<std::vector<Label>> labels = parseLabels(context.config.getStringList("labels"),
                                                    context.config.getString("cluster"), context.config.has("cluster"));
    if (!labels.ok()) return labels.error();
    std::string hostnameKey = context.config.getString("agent_hostname_label");
    if (context.config.has("agent_hostname_label")) {
      if (hostnameKey.empty()) return invalidArgument("parameter 'agent_hostname_label': must not be empty");
      for (const Label& label : *labels) {
        if (label.first == hostnameKey) {
          return invalidArgument("parameter 'agent_hostname_label': label key '" + hostnameKey +
                                 "' is also given by 'labels' or 'cluster'");
        }
      }
    }
    return std::make_unique<LabelsHook>(std::move(*labels), std::move(hostnameKey));
  }

  Result<v1::LabelsDecoration> masterLaunchTaskLabelDecorator(const v1::TaskContext& context) override {
    return decorate(context);
  }
  Result<v1::LabelsDecoration> agentRunTaskLabelDecorator(const v1::TaskContext& context) override {
    return decorate(context);
  }

 private:
  // The task's labels with ours applied: a configured key replaces the
  // first existing label of that key in place (later duplicates of it are
  // dropped); new keys are appended in configuration order, the agent's
  // hostname last.
  v1::LabelsDecoration decorate(const v1::TaskContext& context) const {
    std::vector<Label> labels = labels_;
    if (!hostnameKey_.empty() && !context.agent_info().hostname().empty()) {
      labels.emplace_back(hostnameKey_, context.agent_info().hostname());
    }
    return apply(context, labels);
  }

  static v1::LabelsDecoration apply(const v1::TaskContext& context, const std::vector<Label>& labels) {
    v1::LabelsDecoration decoration;
    v1::Labels& out = *decoration.mutable_labels();
    std::vector<bool> applied(labels.size(), false);
    for (const v1::Label& existing : context.task_info().labels().labels()) {
      std::size_t i = 0;
      while (i < labels.size() && labels[i].first != existing.key()) ++i;
      if (i == labels.size()) {
        *out.add_labels() = existing;
        continue;
      }
      if (applied[i]) continue;
      applied[i] = true;
      append(out, labels[i]);
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (!applied[i]) append(out, labels[i]);
    }
    return decoration;
  }

  static void append(v1::Labels& out, const Label& label) {
    v1::Label* added = out.add_labels();
    added->set_key(label.first);
    added->set_value(label.second);
  }

  std::vector<Label> labels_;
  std::string hostnameKey_;  // empty: no hostname label
};

}  // namespace

}  // namespace mantle::hooks::labels

MANTLE_MODULE_LIBRARY("mantle_labels", "0.1.0",
                      mantle::sdk::describe<mantle::hooks::labels::LabelsHook>(
                          "labels", "Adds configured labels to tasks when the master launches and the agent runs them",
                          {mantle::sdk::Param::stringList("labels", "labels to add, each key=value"),
                           mantle::sdk::Param::string("cluster", "adds the label cluster=<value>"),
                           mantle::sdk::Param::string("agent_hostname_label",
                                                      "adds the label <this key>=<the agent's hostname>")}))
