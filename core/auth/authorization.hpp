// The host side of authorization: asks the authorizer module whether a
// principal may perform a Mesos ACL action on an object. Without an
// authorizer everything is allowed; an authorizer error denies (logged and
// counted, never a 500).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "auth/authentication.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::auth {

class Authorization {
 public:
  Authorization() = default;
  // Set once, before requests are served.
  void setAuthorizer(std::shared_ptr<modules::Instance> authorizer) { authorizer_ = std::move(authorizer); }

  bool enabled() const { return authorizer_ != nullptr; }
  // `object` empty: "any object".
  bool authorize(const std::optional<Principal>& subject, const std::string& action, const std::string& object);

  // "authorization/{allowed,denied,errors}".
  std::map<std::string, double> metrics() const;

 private:
  std::shared_ptr<modules::Instance> authorizer_;
  mutable std::mutex mutex_;
  double allowed_ = 0, denied_ = 0, errors_ = 0;
};

// One request's view of the authorizer, for filtering state: each (action,
// object) is asked once; without an authorizer everything is allowed.
class RequestAuthorizer {
 public:
  RequestAuthorizer(Authorization& authorization, std::optional<Principal> subject)
      : authorization_(authorization), subject_(std::move(subject)) {}
  bool may(const std::string& action, const std::string& object);

 private:
  Authorization& authorization_;
  std::optional<Principal> subject_;
  std::map<std::pair<std::string, std::string>, bool> decided_;
};

// Keeps the items of a repeated protobuf field for which `keep` holds (state
// filtered per principal).
template <class Field, class Pred>
void keepIf(Field* field, Pred keep) {
  Field kept;
  for (auto& item : *field) {
    if (keep(item)) *kept.Add() = std::move(item);
  }
  field->Swap(&kept);
}

// Mesos' filtering of state per principal, shared by master and agent: a
// framework is kept when the principal may `view_frameworks` its user, a task
// when it may also `view_tasks` the task's user (or the framework's), an
// executor when it may also `view_executors` its command's user (or the
// framework's). Give every framework list first: tasks and executors of a
// framework no list names are dropped.
class StateFilter {
 public:
  explicit StateFilter(RequestAuthorizer& authorizer) : authorizer_(authorizer) {}

  // Entries with framework_info().
  template <class Field>
  void frameworks(Field* list) {
    for (const auto& f : *list) users_[f.framework_info().id().value()] = f.framework_info().user();
    keepIf(list, [&](const auto& f) { return authorizer_.may("view_frameworks", f.framework_info().user()); });
  }
  // mesos.v1.Task entries.
  template <class Field>
  void tasks(Field* list) {
    keepIf(list, [&](const auto& task) {
      const std::string& id = task.framework_id().value();
      return frameworkVisible(id) && authorizer_.may("view_tasks", task.has_user() ? task.user() : users_[id]);
    });
  }
  // Entries with executor_info().
  template <class Field>
  void executors(Field* list) {
    keepIf(list, [&](const auto& e) {
      const std::string& id = e.executor_info().framework_id().value();
      const auto& command = e.executor_info().command();
      return frameworkVisible(id) &&
             authorizer_.may("view_executors", command.has_user() ? command.user() : users_[id]);
    });
  }

 private:
  bool frameworkVisible(const std::string& frameworkId);

  RequestAuthorizer& authorizer_;
  std::map<std::string, std::string> users_;  // framework id -> user
};

// "principal 'x'" or "anonymous principal", for messages.
std::string describe(const std::optional<Principal>& subject);

}  // namespace mantle::auth
