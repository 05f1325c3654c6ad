// Authentication realms, ACL checks and per-principal state filtering of the
// master's HTTP APIs (docs/SECURITY.md).
#include <map>
#include <utility>

#include "master/master_impl.hpp"
#include "master/ui_server.hpp"
#include "master/validation.hpp"

namespace mantle::master {

namespace {

using v1::master::Call;
using v1::master::Response;

}  // namespace

std::string MasterImpl::realmFor(const std::string& path) const {
  if (path == "/api/v1/scheduler") return auth::kMasterSchedulerRealm;
  if (path == "/internal/v1/agent") return auth::kMasterAgentRealm;
  if (path == "/api/v1" || path == "/api/v1/" || isLegacyOperatorPath(path)) {
    // The operator API both shows and changes state: with either flag on it
    // is never anonymous.
    if (security_->authentication.enabled(auth::kMasterReadwriteRealm)) return auth::kMasterReadwriteRealm;
    return auth::kMasterReadonlyRealm;
  }
  if (path == "/health" || path == "/version" || path == "/redirect" || ui::isAssetPath(path)) return "";
  return auth::kMasterReadonlyRealm;
}

Status MasterImpl::authorizeSubscribe(const v1::scheduler::Call& call, const Principal& principal) {
  const v1::FrameworkInfo& info = call.subscribe().framework_info();
  std::vector<std::string> refused;
  for (const std::string& role : frameworkRoles(info)) {
    if (!security_->authorization.authorize(principal, "register_frameworks", role)) refused.push_back(role);
  }
  if (refused.empty()) return {};
  std::string roles;
  for (const std::string& role : refused) roles += (roles.empty() ? "'" : ", '") + role + "'";
  return Error(StatusCode::kPermissionDenied, "Not authorized to use roles " + roles + " (" +
                                                  auth::describe(principal) + ", ACL 'register_frameworks')");
}

namespace {

// The subject of a framework's ACL checks: its FrameworkInfo principal
// (checked against the authenticated one at SUBSCRIBE); none: anonymous.
std::optional<auth::Principal> frameworkPrincipal(const Framework& f) {
  if (!f.info.has_principal() || f.info.principal().empty()) return std::nullopt;
  return auth::Principal{f.info.principal(), {}};
}

}  // namespace

auth::RequestAuthorizer MasterImpl::runTasksAuthorizer(const Framework& f) {
  return auth::RequestAuthorizer(security_->authorization, frameworkPrincipal(f));
}

Status MasterImpl::authorizeRunTask(const Framework& f, const v1::TaskInfo& task, const v1::ExecutorInfo* groupExecutor,
                                    auth::RequestAuthorizer& authorizer) {
  // The task's user: its command's, else its executor's, else the framework's.
  const v1::ExecutorInfo* executor = task.has_executor() ? &task.executor() : groupExecutor;
  std::string user = f.info.user();
  if (task.has_command() && task.command().has_user()) {
    user = task.command().user();
  } else if (executor != nullptr && executor->command().has_user()) {
    user = executor->command().user();
  }
  if (authorizer.may("run_tasks", user)) return {};
  return Error(StatusCode::kPermissionDenied, "Not authorized to launch task '" + task.task_id().value() +
                                                  "' as user '" + user + "' (" + auth::describe(frameworkPrincipal(f)) +
                                                  ", ACL 'run_tasks')");
}

Status MasterImpl::authorizeOperatorCall(const Call& call, const Principal& principal) {
  const OperatorCallSpec* spec = operatorCallSpec(call.type());
  if (spec == nullptr || spec->acl == nullptr) return {};
  std::vector<std::string> objects =
      spec->aclObjects != nullptr ? spec->aclObjects(call) : std::vector<std::string>{""};
  for (const std::string& object : objects) {
    if (!security_->authorization.authorize(principal, spec->acl, object)) {
      return Error(StatusCode::kPermissionDenied, "Not authorized: " + auth::describe(principal) + " may not '" +
                                                      spec->acl + "'" +
                                                      (object.empty() ? std::string() : " on '" + object + "'"));
    }
  }
  return {};
}

void MasterImpl::authorizeTeardown(Call call, wire::ResponseFormat format, http::Responder responder,
                                   Principal principal) {
  // The object is the framework's principal: read it on the state thread,
  // ask the authorizer on an HTTP thread, act on the state thread.
  post([self = shared_from_this(), call = std::move(call), format, responder, principal]() mutable {
    // An unknown framework is asked about as "any principal".
    auto it = self->frameworks_.find(call.teardown().framework_id().value());
    std::string owner = it == self->frameworks_.end() ? "" : it->second.info.principal();
    self->postHttp([self, call = std::move(call), format, responder, principal, owner]() mutable {
      if (!self->security_->authorization.authorize(principal, "teardown_frameworks", owner)) {
        return responder.respond(http::Response::error(Error(
            StatusCode::kPermissionDenied, "Not authorized: " + auth::describe(principal) +
                                               " may not 'teardown_frameworks'" +
                                               (owner.empty() ? std::string() : " of principal '" + owner + "'"))));
      }
      self->post([self, call = std::move(call), format, responder]() mutable {
        self->operatorCall(std::move(call), format, responder);
      });
    });
  });
}

void MasterImpl::filterState(Response::GetState* state, const Principal& principal) {
  auth::RequestAuthorizer authorizer(security_->authorization, principal);  // one question per (action, user)
  filterState(state, authorizer);
}

void MasterImpl::filterState(Response::GetState* state, auth::RequestAuthorizer& authorizer) {
  auth::StateFilter filter(authorizer);
  filter.frameworks(state->mutable_get_frameworks()->mutable_frameworks());
  filter.frameworks(state->mutable_get_frameworks()->mutable_completed_frameworks());
  Response::GetTasks* tasks = state->mutable_get_tasks();
  for (auto* list : {tasks->mutable_pending_tasks(), tasks->mutable_tasks(), tasks->mutable_unreachable_tasks(),
                     tasks->mutable_completed_tasks(), tasks->mutable_orphan_tasks()}) {
    filter.tasks(list);
  }
  filter.executors(state->mutable_get_executors()->mutable_executors());
  filter.executors(state->mutable_get_executors()->mutable_orphan_executors());
}

bool MasterImpl::eventVisible(const v1::master::Event& event, auth::RequestAuthorizer& viewer) const {
  // As StateFilter: a task is seen with its framework, by the task's user
  // (or the framework's) for view_tasks.
  auto taskVisible = [&](const std::string& frameworkId, const std::string& taskId, const v1::Task* added) {
    auto framework = frameworks_.find(frameworkId);
    const std::string user = framework == frameworks_.end() ? "" : framework->second.info.user();
    const v1::Task* task = added;
    if (task == nullptr && framework != frameworks_.end()) {
      auto it = framework->second.tasks.find(taskId);
      if (it != framework->second.tasks.end()) task = &it->second;
    }
    return viewer.may("view_frameworks", user) &&
           viewer.may("view_tasks", task != nullptr && task->has_user() ? task->user() : user);
  };
  using Event = v1::master::Event;
  switch (event.type()) {
    case Event::TASK_ADDED: {
      const v1::Task& task = event.task_added().task();
      return taskVisible(task.framework_id().value(), task.task_id().value(), &task);
    }
    case Event::TASK_UPDATED:
      return taskVisible(event.task_updated().framework_id().value(), event.task_updated().status().task_id().value(),
                         nullptr);
    case Event::FRAMEWORK_ADDED:
      return viewer.may("view_frameworks", event.framework_added().framework().framework_info().user());
    case Event::FRAMEWORK_UPDATED:
      return viewer.may("view_frameworks", event.framework_updated().framework().framework_info().user());
    case Event::FRAMEWORK_REMOVED:
      return viewer.may("view_frameworks", event.framework_removed().framework_info().user());
    default: return true;  // agents and heartbeats, as in Mesos
  }
}

void MasterImpl::filteredStateCall(Call call, wire::ResponseFormat format, http::Responder responder,
                                   Principal principal) {
  post([self = shared_from_this(), type = call.type(), format, responder, principal] {
    self->count("master/calls/operator/" + Call::Type_Name(type));
    self->shareSnapshot([self, type, format, responder, principal](const std::shared_ptr<const Snapshot>& snapshot) {
      auto state = std::make_shared<Response::GetState>(snapshot->getState());
      self->filterState(state.get(), principal);
      Response response;
      switch (type) {
        case Call::GET_FRAMEWORKS:
          response.set_type(Response::GET_FRAMEWORKS);
          response.mutable_get_frameworks()->Swap(state->mutable_get_frameworks());
          break;
        case Call::GET_TASKS:
          response.set_type(Response::GET_TASKS);
          response.mutable_get_tasks()->Swap(state->mutable_get_tasks());
          break;
        case Call::GET_EXECUTORS:
          response.set_type(Response::GET_EXECUTORS);
          response.mutable_get_executors()->Swap(state->mutable_get_executors());
          break;
        default:
          response.set_type(Response::GET_STATE);
          response.mutable_get_state()->Swap(state.get());
          break;
      }
      responder.respond(http::Response{200,
                                       {{"Content-Type", std::string(wire::mediaTypeName(format.message))}},
                                       wire::encode(response, format.message)});
    });
  });
}

}  // namespace mantle::master
