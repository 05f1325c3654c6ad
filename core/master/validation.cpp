#include "master/validation.hpp"

#include <cmath>
#include <limits>
#include <set>

#include "wire/secrets.hpp"

namespace mantle::master {

namespace v1 = ::mesos::v1;
using v1::scheduler::Call;

Status validateId(const std::string& what, const std::string& id) {
  if (id.empty()) return invalidArgument(what + " is empty");
  if (id == "." || id == "..") return invalidArgument(what + " '" + id + "' is not allowed");
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ' ') {
      return invalidArgument(what + " '" + id + "' contains a space, '/', '\\' or a control character");
    }
  }
  return {};
}

Status validateRole(const std::string& role) {
  if (role.empty()) return invalidArgument("role name is empty");
  if (role == "*") return {};
  if (role.front() == '/' || role.back() == '/') return invalidArgument("role '" + role + "' starts or ends with '/'");
  if (role.front() == '-') return invalidArgument("role '" + role + "' starts with '-'");
  std::size_t start = 0;
  while (start <= role.size()) {
    std::size_t end = role.find('/', start);
    if (end == std::string::npos) end = role.size();
    std::string part = role.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return invalidArgument("role '" + role + "' has an invalid path segment");
    if (part == "*") return invalidArgument("role '" + role + "' uses '*' as a path segment");
    for (unsigned char c : part) {
      if (c <= 0x20 || c == 0x7f || c == '\\')
        return invalidArgument("role '" + role + "' contains whitespace or a backslash");
    }
    start = end + 1;
  }
  return {};
}

bool hasCapability(const v1::FrameworkInfo& info, v1::FrameworkInfo::Capability::Type type) {
  for (const auto& c : info.capabilities()) {
    if (c.type() == type) return true;
  }
  return false;
}

std::vector<std::string> frameworkRoles(const v1::FrameworkInfo& info) {
  if (hasCapability(info, v1::FrameworkInfo::Capability::MULTI_ROLE)) {
    return {info.roles().begin(), info.roles().end()};
  }
  return {info.has_role() ? info.role() : std::string("*")};
}

Status validateFrameworkInfo(const v1::FrameworkInfo& info,
                             const google::protobuf::RepeatedPtrField<std::string>& suppressed) {
  bool multiRole = hasCapability(info, v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (multiRole && info.has_role()) {
    return invalidArgument(
        "'framework_info.role' must not be set together with the MULTI_ROLE capability (use 'roles')");
  }
  if (!multiRole && info.roles_size() > 0) {
    return invalidArgument("'framework_info.roles' requires the MULTI_ROLE capability");
  }
  std::set<std::string> roles;
  for (const std::string& role : frameworkRoles(info)) {
    if (Status valid = validateRole(role); !valid.ok()) return valid.error().withContext("framework_info");
    if (!roles.insert(role).second) return invalidArgument("framework_info.roles: role '" + role + "' appears twice");
  }
  for (const std::string& role : suppressed) {
    if (!roles.count(role))
      return invalidArgument("suppressed role '" + role + "' is not one of the framework's roles");
  }
  if (info.has_id()) {
    if (Status valid = validateId("framework_info.id", info.id().value()); !valid.ok()) return valid;
  }
  double timeout = info.failover_timeout();
  if (std::isnan(timeout) || timeout < 0 || timeout > 1e11) {
    return invalidArgument("'framework_info.failover_timeout' must be a non-negative number of seconds");
  }
  return {};
}

Status validateSchedulerCall(const Call& call) {
  if (!call.has_type()) return invalidArgument("Expecting 'type' to be present");
  auto need = [&](bool present, const char* field) -> Status {
    if (present) return {};
    return invalidArgument("Expecting '" + std::string(field) + "' to be present");
  };
  if (call.type() == Call::SUBSCRIBE) {
    if (!call.has_subscribe()) return invalidArgument("Expecting 'subscribe' to be present");
    const v1::FrameworkInfo& info = call.subscribe().framework_info();
    bool callHasId = call.has_framework_id() && !call.framework_id().value().empty();
    bool infoHasId = info.has_id() && !info.id().value().empty();
    if (callHasId != infoHasId || (callHasId && call.framework_id().value() != info.id().value())) {
      return invalidArgument("'framework_id' differs from 'subscribe.framework_info.id'");
    }
    return {};
  }
  if (call.type() == Call::UNKNOWN) return {};  // answered 501 later
  if (!call.has_framework_id()) return invalidArgument("Expecting 'framework_id' to be present");
  switch (call.type()) {
    case Call::TEARDOWN:
    case Call::REVIVE:
    case Call::SUPPRESS: return {};
    case Call::ACCEPT: return need(call.has_accept(), "accept");
    case Call::DECLINE: return need(call.has_decline(), "decline");
    case Call::ACCEPT_INVERSE_OFFERS: return need(call.has_accept_inverse_offers(), "accept_inverse_offers");
    case Call::DECLINE_INVERSE_OFFERS: return need(call.has_decline_inverse_offers(), "decline_inverse_offers");
    case Call::KILL: return need(call.has_kill(), "kill");
    case Call::SHUTDOWN: return need(call.has_shutdown(), "shutdown");
    case Call::ACKNOWLEDGE:
      if (!call.has_acknowledge()) return invalidArgument("Expecting 'acknowledge' to be present");
      if (call.acknowledge().uuid().size() != 16) {
        return invalidArgument(std::string("'acknowledge.uuid' is not a valid UUID (expected 16 bytes, got ") +
                               std::to_string(call.acknowledge().uuid().size()) + ")");
      }
      return {};
    case Call::ACKNOWLEDGE_OPERATION_STATUS:
      if (!call.has_acknowledge_operation_status()) {
        return invalidArgument("Expecting 'acknowledge_operation_status' to be present");
      }
      if (call.acknowledge_operation_status().uuid().size() != 16) {
        return invalidArgument("'acknowledge_operation_status.uuid' is not a valid UUID");
      }
      if (!call.acknowledge_operation_status().has_agent_id()) {
        return invalidArgument("Expecting 'acknowledge_operation_status.agent_id' to be present");
      }
      return {};
    case Call::RECONCILE: return need(call.has_reconcile(), "reconcile");
    case Call::RECONCILE_OPERATIONS: return need(call.has_reconcile_operations(), "reconcile_operations");
    case Call::MESSAGE: return need(call.has_message(), "message");
    case Call::REQUEST: return need(call.has_request(), "request");
    case Call::UPDATE_FRAMEWORK:
      if (!call.has_update_framework()) return invalidArgument("Expecting 'update_framework' to be present");
      if (call.update_framework().framework_info().id().value() != call.framework_id().value()) {
        return invalidArgument("'framework_id' differs from 'update_framework.framework_info.id'");
      }
      return {};
    default: return {};
  }
}

namespace {

// Mesos' rules for TaskInfo.health_check (its checks::validation), each
// message naming the field. A check without `type` has the type of the one
// of command/http/tcp it sets (as the executor runs it).
Status validateHealthCheck(const v1::HealthCheck& check) {
  using Type = v1::HealthCheck;
  const Type::Type type = check.type() != Type::UNKNOWN ? check.type()
                          : check.has_command()         ? Type::COMMAND
                          : check.has_http()            ? Type::HTTP
                          : check.has_tcp()             ? Type::TCP
                                                        : Type::UNKNOWN;
  switch (type) {
    case Type::COMMAND:
      if (!check.has_command() || !check.command().has_value()) {
        return invalidArgument("health_check.command.value: a COMMAND health check needs a command");
      }
      break;
    case Type::HTTP:
      if (!check.has_http()) return invalidArgument("health_check.http: an HTTP health check needs 'http'");
      if (check.http().has_scheme() && check.http().scheme() != "http" && check.http().scheme() != "https") {
        return invalidArgument("health_check.http.scheme: unsupported scheme '" + check.http().scheme() +
                               "' (only 'http' or 'https')");
      }
      if (check.http().has_path() && check.http().path().rfind('/', 0) != 0) {
        return invalidArgument("health_check.http.path: '" + check.http().path() + "' does not start with '/'");
      }
      break;
    case Type::TCP:
      if (!check.has_tcp()) return invalidArgument("health_check.tcp: a TCP health check needs 'tcp'");
      break;
    default: return invalidArgument("health_check.type: names no COMMAND, HTTP or TCP check");
  }
  for (const auto& [field, value] :
       {std::pair{"delay_seconds", check.delay_seconds()}, std::pair{"interval_seconds", check.interval_seconds()},
        std::pair{"timeout_seconds", check.timeout_seconds()},
        std::pair{"grace_period_seconds", check.grace_period_seconds()}}) {
    if (!(value >= 0)) return invalidArgument(std::string("health_check.") + field + " is negative");
  }
  return {};
}

}  // namespace

namespace validation {

using resources::Resources;

Result<std::string> offers(const google::protobuf::RepeatedPtrField<v1::OfferID>& offerIds,
                           const std::string& frameworkId, const std::map<std::string, OfferEntry>& outstanding) {
  std::string agentId;
  std::set<std::string> seen;
  for (const v1::OfferID& offerId : offerIds) {
    auto o = outstanding.find(offerId.value());
    if (!seen.insert(offerId.value()).second) {
      return invalidArgument("Offer " + offerId.value() + " appears more than once");
    }
    if (o == outstanding.end()) return invalidArgument("Offer " + offerId.value() + " is no longer valid");
    if (o->second.frameworkId != frameworkId) {
      return invalidArgument("Offer " + offerId.value() + " was made to another framework");
    }
    if (!agentId.empty() && o->second.agentId != agentId) {
      return invalidArgument("Offers are from different agents (" + agentId + " and " + o->second.agentId + ")");
    }
    agentId = o->second.agentId;
  }
  if (offerIds.empty()) return invalidArgument("No offers were given");
  return agentId;
}

Result<Resources> allocated(const google::protobuf::RepeatedPtrField<v1::Resource>& list,
                            const std::set<std::string>& roles) {
  google::protobuf::RepeatedPtrField<v1::Resource> copy = list;
  for (v1::Resource& r : copy) {
    if (r.has_allocation_info()) continue;
    if (roles.size() != 1) {
      return invalidArgument("resource '" + r.name() +
                             "' has no 'allocation_info' and the offers were made to several roles");
    }
    r.mutable_allocation_info()->set_role(*roles.begin());
  }
  return Resources::from(copy);
}

Result<LaunchableTask> task(const v1::TaskInfo& task, const v1::ExecutorInfo* groupExecutor, const Resources& available,
                            const LaunchContext& context) {
  if (Status valid = validateId("task id", task.task_id().value()); !valid.ok()) return valid.error();
  const std::string& taskId = task.task_id().value();
  if (context.tasks.count(taskId) || context.unreachableTasks.count(taskId)) {
    return invalidArgument("Task '" + taskId + "' already exists");
  }
  if (context.launched.count(taskId)) return invalidArgument("Task '" + taskId + "' appears more than once");
  if (task.agent_id().value() != context.agentId) {
    return invalidArgument("Task uses agent '" + task.agent_id().value() + "' but the offers are for agent '" +
                           context.agentId + "'");
  }
  if (groupExecutor == nullptr && task.has_command() == task.has_executor()) {
    return invalidArgument("Task must set exactly one of 'command' or 'executor'");
  }
  if (groupExecutor != nullptr && task.has_executor() &&
      task.executor().executor_id().value() != groupExecutor->executor_id().value()) {
    return invalidArgument("Task in a group must not name an executor other than the group's");
  }
  // A command task's or a task group's checks are run by Mantle's own
  // executors, which run health checks but not the general checks of
  // TaskInfo.check (Mesos' CheckInfo); a custom executor gets the field as
  // given and is the one to run it.
  if (task.has_check() && (groupExecutor != nullptr || !task.has_executor())) {
    return invalidArgument("Task '" + taskId +
                           "' sets 'check' (a CheckInfo), which Mantle's command and default executors do not run; "
                           "use 'health_check'");
  }
  if (task.has_health_check()) {
    if (Status valid = validateHealthCheck(task.health_check()); !valid.ok()) {
      return invalidArgument("Task '" + taskId + "' has an invalid health check: " + valid.error().message);
    }
  }
  if (task.has_command() && !task.has_container() && task.command().value().empty()) {
    return invalidArgument("Task's 'command.value' is empty");
  }
  Result<Resources> taskResources = allocated(task.resources(), context.roles);
  if (!taskResources.ok()) return taskResources.error().withContext("Task resources are invalid");
  if (taskResources->empty()) return invalidArgument("Task uses no resources");
  for (const auto& [name, limit] : task.limits()) {
    if (limit.value() < taskResources->scalar(name)) {
      return invalidArgument("Task's limit for '" + name + "' is below its request");
    }
  }
  LaunchableTask out{task, *taskResources};
  out.task.clear_resources();
  taskResources->copyTo(out.task.mutable_resources());
  if (groupExecutor == nullptr && task.has_executor()) {
    const v1::ExecutorInfo& executor = task.executor();
    const std::string& executorId = executor.executor_id().value();
    if (Status valid = validateId("executor id", executorId); !valid.ok()) return valid.error();
    if (executor.has_framework_id() && executor.framework_id().value() != context.frameworkId) {
      return invalidArgument("ExecutorInfo has framework id '" + executor.framework_id().value() +
                             "', not the framework's");
    }
    v1::ExecutorInfo normalized = executor;
    normalized.mutable_framework_id()->set_value(context.frameworkId);
    Result<Resources> executorResources = allocated(executor.resources(), context.roles);
    if (!executorResources.ok()) return executorResources.error().withContext("Executor resources are invalid");
    normalized.clear_resources();
    executorResources->copyTo(normalized.mutable_resources());
    auto existing = context.executors.find(executorId);
    if (existing != context.executors.end()) {
      Result<Resources> running = Resources::from(existing->second.resources());
      // The running executor's info is kept with its secret values emptied.
      if (existing->second.command().SerializeAsString() !=
              wire::redactedSecrets(normalized.command()).SerializeAsString() ||
          !(running.ok() && *running == *executorResources)) {
        return invalidArgument("ExecutorInfo of executor '" + executorId +
                               "' differs from the one already running on the agent");
      }
    } else {
      out.consumed += *executorResources;
    }
    *out.task.mutable_executor() = std::move(normalized);
  }
  if (!available.contains(out.consumed)) {
    return invalidArgument("Task uses more resources (" + out.consumed.toString() + ") than available in the offers (" +
                           available.toString() + ")");
  }
  return out;
}

Status taskGroup(const v1::Offer::Operation::LaunchGroup& group) {
  if (Status valid = validateId("executor id", group.executor().executor_id().value()); !valid.ok()) return valid;
  if (group.executor().type() != v1::ExecutorInfo::DEFAULT) {
    return invalidArgument("LAUNCH_GROUP needs an executor of type DEFAULT");
  }
  if (group.task_group().tasks().empty()) return invalidArgument("The task group is empty");
  return {};
}

namespace {

// The resource with its newest reservation (or its persistent volume) taken
// away: what a RESERVE consumes / an UNRESERVE produces.
std::optional<v1::Resource> withoutLastReservation(const v1::Resource& r) {
  if (r.reservations_size() == 0) return std::nullopt;
  v1::Resource source = r;
  source.mutable_reservations()->RemoveLast();
  return source;
}

std::optional<v1::Resource> withoutVolume(const v1::Resource& r) {
  if (!r.has_disk() || !r.disk().has_persistence()) return std::nullopt;
  v1::Resource source = r;
  source.mutable_disk()->clear_persistence();
  source.mutable_disk()->clear_volume();
  if (!source.disk().has_source()) source.clear_disk();
  source.clear_shared();  // a shared volume is made of (and goes back to) plain disk
  return source;
}

}  // namespace

Result<Conversion> operation(const v1::Offer::Operation& op, const std::set<std::string>* roles) {
  using Operation = v1::Offer::Operation;
  const google::protobuf::RepeatedPtrField<v1::Resource>* targets =
      op.type() == Operation::RESERVE     ? &op.reserve().resources()
      : op.type() == Operation::UNRESERVE ? &op.unreserve().resources()
      : op.type() == Operation::CREATE    ? &op.create().volumes()
      : op.type() == Operation::DESTROY   ? &op.destroy().volumes()
                                          : nullptr;
  if (targets == nullptr) return invalidArgument("unsupported operation " + Operation::Type_Name(op.type()));
  if (targets->empty()) return invalidArgument("the operation names no resources");
  Result<Resources> given = roles != nullptr ? allocated(*targets, *roles) : Resources::from(*targets);
  if (!given.ok()) return invalidArgument(given.error().message);
  bool reservation = op.type() == Operation::RESERVE || op.type() == Operation::UNRESERVE;
  bool forward = op.type() == Operation::RESERVE || op.type() == Operation::CREATE;
  Conversion out;
  for (const v1::Resource& r : given->items()) {
    std::optional<v1::Resource> other = reservation ? withoutLastReservation(r) : withoutVolume(r);
    if (!other) {
      return invalidArgument("resource " + r.name() + " is not " + (reservation ? "reserved" : "a persistent volume"));
    }
    if (op.type() == Operation::CREATE) {
      const std::string& id = r.disk().persistence().id();
      if (!r.disk().has_volume()) {
        return invalidArgument("persistent volume '" + id + "' needs 'disk.volume' (its container_path and mode)");
      }
      if (r.disk().volume().mode() == v1::Volume::RO) {
        return invalidArgument("persistent volume '" + id +
                               "' is read-only: read-only persistent volumes are not supported (tasks may mount one "
                               "read-only through their own ContainerInfo volume)");
      }
    }
    if (op.type() == Operation::RESERVE &&
        r.reservations(r.reservations_size() - 1).type() == v1::Resource::ReservationInfo::STATIC) {
      return invalidArgument("a RESERVE operation makes dynamic reservations, not static ones");
    }
    out.consumed.add(forward ? *other : r);
    out.produced.add(forward ? r : *other);
  }
  return out;
}

Status maxGracePeriod(const google::protobuf::Duration& period) {
  constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max() / 1000000000 - 1;
  if (period.seconds() < 0 || period.nanos() < 0 || period.nanos() > 999999999 || period.seconds() > kMaxSeconds) {
    return invalidArgument("'max_grace_period' must be between 0 and " + std::to_string(kMaxSeconds) +
                           " seconds, with nanos in [0, 999999999]; got seconds " + std::to_string(period.seconds()) +
                           ", nanos " + std::to_string(period.nanos()));
  }
  return {};
}

}  // namespace validation

}  // namespace mantle::master
