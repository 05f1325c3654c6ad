#include "master/validation.hpp"

#include <cmath>
#include <set>

namespace mantle::master {

namespace v1 = ::mesos::v1;
using v1::scheduler::Call;

std::optional<std::string> validateId(const std::string& what, const std::string& id) {
  if (id.empty()) return what + " is empty";
  if (id == "." || id == "..") return what + " '" + id + "' is not allowed";
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ' ') {
      return what + " '" + id + "' contains a space, '/', '\\' or a control character";
    }
  }
  return std::nullopt;
}

std::optional<std::string> validateRole(const std::string& role) {
  if (role.empty()) return std::string("role name is empty");
  if (role == "*") return std::nullopt;
  if (role.front() == '/' || role.back() == '/') return "role '" + role + "' starts or ends with '/'";
  if (role.front() == '-') return "role '" + role + "' starts with '-'";
  std::size_t start = 0;
  while (start <= role.size()) {
    std::size_t end = role.find('/', start);
    if (end == std::string::npos) end = role.size();
    std::string part = role.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return "role '" + role + "' has an invalid path segment";
    if (part == "*") return "role '" + role + "' uses '*' as a path segment";
    for (unsigned char c : part) {
      if (c <= 0x20 || c == 0x7f || c == '\\') return "role '" + role + "' contains whitespace or a backslash";
    }
    start = end + 1;
  }
  return std::nullopt;
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

std::optional<std::string> validateFrameworkInfo(const v1::FrameworkInfo& info,
                                                 const google::protobuf::RepeatedPtrField<std::string>& suppressed) {
  bool multiRole = hasCapability(info, v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (multiRole && info.has_role()) {
    return std::string("'framework_info.role' must not be set together with the MULTI_ROLE capability (use 'roles')");
  }
  if (!multiRole && info.roles_size() > 0) {
    return std::string("'framework_info.roles' requires the MULTI_ROLE capability");
  }
  std::set<std::string> roles;
  for (const std::string& role : frameworkRoles(info)) {
    if (auto e = validateRole(role)) return "framework_info: " + *e;
    if (!roles.insert(role).second) return "framework_info.roles: role '" + role + "' appears twice";
  }
  for (const std::string& role : suppressed) {
    if (!roles.count(role)) return "suppressed role '" + role + "' is not one of the framework's roles";
  }
  if (info.has_id()) {
    if (auto e = validateId("framework_info.id", info.id().value())) return e;
  }
  double timeout = info.failover_timeout();
  if (std::isnan(timeout) || timeout < 0 || timeout > 1e11) {
    return std::string("'framework_info.failover_timeout' must be a non-negative number of seconds");
  }
  return std::nullopt;
}

std::optional<std::string> validateSchedulerCall(const Call& call) {
  if (!call.has_type()) return std::string("Expecting 'type' to be present");
  auto need = [&](bool present, const char* field) -> std::optional<std::string> {
    if (present) return std::nullopt;
    return "Expecting '" + std::string(field) + "' to be present";
  };
  if (call.type() == Call::SUBSCRIBE) {
    if (!call.has_subscribe()) return std::string("Expecting 'subscribe' to be present");
    const v1::FrameworkInfo& info = call.subscribe().framework_info();
    bool callHasId = call.has_framework_id() && !call.framework_id().value().empty();
    bool infoHasId = info.has_id() && !info.id().value().empty();
    if (callHasId != infoHasId || (callHasId && call.framework_id().value() != info.id().value())) {
      return std::string("'framework_id' differs from 'subscribe.framework_info.id'");
    }
    return std::nullopt;
  }
  if (call.type() == Call::UNKNOWN) return std::nullopt;  // answered 501 later
  if (!call.has_framework_id()) return std::string("Expecting 'framework_id' to be present");
  switch (call.type()) {
    case Call::TEARDOWN:
    case Call::REVIVE:
    case Call::SUPPRESS: return std::nullopt;
    case Call::ACCEPT: return need(call.has_accept(), "accept");
    case Call::DECLINE: return need(call.has_decline(), "decline");
    case Call::ACCEPT_INVERSE_OFFERS: return need(call.has_accept_inverse_offers(), "accept_inverse_offers");
    case Call::DECLINE_INVERSE_OFFERS: return need(call.has_decline_inverse_offers(), "decline_inverse_offers");
    case Call::KILL: return need(call.has_kill(), "kill");
    case Call::SHUTDOWN: return need(call.has_shutdown(), "shutdown");
    case Call::ACKNOWLEDGE:
      if (!call.has_acknowledge()) return std::string("Expecting 'acknowledge' to be present");
      if (call.acknowledge().uuid().size() != 16) {
        return std::string("'acknowledge.uuid' is not a valid UUID (expected 16 bytes, got ") +
               std::to_string(call.acknowledge().uuid().size()) + ")";
      }
      return std::nullopt;
    case Call::ACKNOWLEDGE_OPERATION_STATUS:
      if (!call.has_acknowledge_operation_status()) {
        return std::string("Expecting 'acknowledge_operation_status' to be present");
      }
      if (call.acknowledge_operation_status().uuid().size() != 16) {
        return std::string("'acknowledge_operation_status.uuid' is not a valid UUID");
      }
      if (!call.acknowledge_operation_status().has_agent_id()) {
        return std::string("Expecting 'acknowledge_operation_status.agent_id' to be present");
      }
      return std::nullopt;
    case Call::RECONCILE: return need(call.has_reconcile(), "reconcile");
    case Call::RECONCILE_OPERATIONS: return need(call.has_reconcile_operations(), "reconcile_operations");
    case Call::MESSAGE: return need(call.has_message(), "message");
    case Call::REQUEST: return need(call.has_request(), "request");
    case Call::UPDATE_FRAMEWORK:
      if (!call.has_update_framework()) return std::string("Expecting 'update_framework' to be present");
      if (call.update_framework().framework_info().id().value() != call.framework_id().value()) {
        return std::string("'framework_id' differs from 'update_framework.framework_info.id'");
      }
      return std::nullopt;
    default: return std::nullopt;
  }
}

}  // namespace mantle::master
