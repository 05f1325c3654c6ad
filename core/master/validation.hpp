// Checks on scheduler calls and their messages that need no master state.
// Each returns an InvalidArgument error whose message says what is wrong
// (the HTTP 400 body, the ERROR event, or a TASK_ERROR message).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/duration.pb.h>
#include "master/offer_book.hpp"

#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "wire/task_state.hpp"

namespace mantle::master {

// Envelope rules of the scheduler API: type set, the call's sub-message
// present, framework ids consistent, acknowledgement uuids valid.
Status validateSchedulerCall(const mesos::v1::scheduler::Call& call);

// A role name: non-empty, no leading/trailing '/', no '.' or '..' segment,
// no whitespace, '*' only alone.
Status validateRole(const std::string& role);

// FrameworkInfo on SUBSCRIBE and UPDATE_FRAMEWORK: roles vs MULTI_ROLE,
// duplicate roles, valid role names, failover_timeout, id characters, and
// suppressed roles a subset of the framework's roles.
Status validateFrameworkInfo(const mesos::v1::FrameworkInfo& info,
                             const google::protobuf::RepeatedPtrField<std::string>& suppressed);

// The roles a framework is in ({role} or roles, "*" by default).
std::vector<std::string> frameworkRoles(const mesos::v1::FrameworkInfo& info);

bool hasCapability(const mesos::v1::FrameworkInfo& info, mesos::v1::FrameworkInfo::Capability::Type type);

// An id usable as a task or executor id: non-empty, printable, no '/'.
Status validateId(const std::string& what, const std::string& id);

using wire::isTerminal;

// The checks of an ACCEPT's offers, tasks and operations (Mesos'
// validation::offer, validation::task, validation::operation). Their errors
// are kInvalidArgument with the message the framework sees (TASK_ERROR or
// TASK_DROPPED/LOST updates, the log).
namespace validation {

// An ACCEPT's offers: at least one, each listed once, outstanding, made to
// `frameworkId`, all on one agent. The agent's id.
Result<std::string> offers(const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& offerIds,
                           const std::string& frameworkId, const std::map<std::string, OfferEntry>& outstanding);

// `list` with allocation_info.role set to the offers' role where missing;
// an error when one lacks it and the offers were made to several roles.
Result<resources::Resources> allocated(const google::protobuf::RepeatedPtrField<mesos::v1::Resource>& list,
                                       const std::set<std::string>& roles);

// What a task of an ACCEPT is checked against. The references outlive the
// checks; `launched` and `executors` grow as the ACCEPT's tasks launch.
struct LaunchContext {
  const std::string& frameworkId;
  const std::string& agentId;          // the offers' agent
  const std::set<std::string>& roles;  // the offers' roles
  // The framework's tasks (not yet removed, unreachable) by task id.
  const std::map<std::string, mesos::v1::Task>& tasks;
  const std::map<std::string, mesos::v1::Task>& unreachableTasks;
  // Task ids launched earlier in this ACCEPT.
  const std::set<std::string>& launched;
  // The framework's executors on the agent, those of this ACCEPT included.
  const std::map<std::string, mesos::v1::ExecutorInfo>& executors;
};

// A task that may launch: the TaskInfo to send (resources with their
// allocation_info, a new executor's with the framework id) and what it
// consumes of the offers (its resources, plus a new executor's).
struct LaunchableTask {
  mesos::v1::TaskInfo task;
  resources::Resources consumed;
};

// One task of LAUNCH (`groupExecutor` null) or LAUNCH_GROUP: a valid, new
// id; the offers' agent; exactly one of command and executor (tasks of a
// group may repeat the group's executor only); a command; resources, limits
// not below them; an executor that matches the one running under its id;
// and no more than `available`.
Result<LaunchableTask> task(const mesos::v1::TaskInfo& task, const mesos::v1::ExecutorInfo* groupExecutor,
                            const resources::Resources& available, const LaunchContext& context);

// A LAUNCH_GROUP's own checks: the executor's id, its type DEFAULT, a
// non-empty group.
Status taskGroup(const mesos::v1::Offer::Operation::LaunchGroup& group);

// What a RESERVE/UNRESERVE/CREATE/DESTROY consumes and produces.
struct Conversion {
  resources::Resources consumed;
  resources::Resources produced;
};

// A RESERVE, UNRESERVE, CREATE or DESTROY: names resources, each reserved
// (RESERVE: dynamically) or a persistent volume. `roles`: the offers' roles,
// to fill in allocation_info (null: an operator call, without offers).
Result<Conversion> operation(const mesos::v1::Offer::Operation& op, const std::set<std::string>* roles);

// DRAIN_AGENT's max_grace_period: non-negative, nanos within a second, and
// short enough to be held in int64 nanoseconds (the agent's DurationInfo).
Status maxGracePeriod(const google::protobuf::Duration& period);

}  // namespace validation

}  // namespace mantle::master
