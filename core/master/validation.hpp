// Checks on scheduler calls and their messages that need no master state.
// Each returns nullopt when the input is valid, or a message that says what
// is wrong (the HTTP 400 body, the ERROR event, or a TASK_ERROR message).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "wire/task_state.hpp"

namespace mantle::master {

// Envelope rules of the scheduler API: type set, the call's sub-message
// present, framework ids consistent, acknowledgement uuids valid.
std::optional<std::string> validateSchedulerCall(const mesos::v1::scheduler::Call& call);

// A role name: non-empty, no leading/trailing '/', no '.' or '..' segment,
// no whitespace, '*' only alone.
std::optional<std::string> validateRole(const std::string& role);

// FrameworkInfo on SUBSCRIBE and UPDATE_FRAMEWORK: roles vs MULTI_ROLE,
// duplicate roles, valid role names, failover_timeout, id characters, and
// suppressed roles a subset of the framework's roles.
std::optional<std::string> validateFrameworkInfo(const mesos::v1::FrameworkInfo& info,
                                                 const google::protobuf::RepeatedPtrField<std::string>& suppressed);

// The roles a framework is in ({role} or roles, "*" by default).
std::vector<std::string> frameworkRoles(const mesos::v1::FrameworkInfo& info);

bool hasCapability(const mesos::v1::FrameworkInfo& info, mesos::v1::FrameworkInfo::Capability::Type type);

// An id usable as a task or executor id: non-empty, printable, no '/'.
std::optional<std::string> validateId(const std::string& what, const std::string& id);

using wire::isTerminal;

}  // namespace mantle::master
