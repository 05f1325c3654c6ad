// Operation feedback for the operations the master applies itself (RESERVE,
// UNRESERVE, CREATE, DESTROY on an agent's default resources): an operation
// with an `id` is answered with UPDATE_OPERATION_STATUS (OPERATION_FINISHED
// once applied and sent to the agent, with a uuid to acknowledge;
// OPERATION_ERROR, without one, when the master refuses it), kept until its
// terminal status is acknowledged, reconciled by RECONCILE_OPERATIONS and
// listed by GET_OPERATIONS (docs/MASTER.md, "Operation feedback").
#include "master/master_impl.hpp"

namespace mantle::master {

namespace {

bool hasFeedback(v1::Offer::Operation::Type type) {
  switch (type) {
    case v1::Offer::Operation::RESERVE:
    case v1::Offer::Operation::UNRESERVE:
    case v1::Offer::Operation::CREATE:
    case v1::Offer::Operation::DESTROY: return true;
    default: return false;
  }
}

}  // namespace

std::optional<std::string> operationFeedbackError(const v1::Offer::Operation& operation) {
  if (!operation.has_id() || hasFeedback(operation.type())) return std::nullopt;
  return "Operation feedback is not supported for " + v1::Offer::Operation::Type_Name(operation.type()) +
         " operations (only RESERVE, UNRESERVE, CREATE and DESTROY take an 'id')";
}

void MasterImpl::operationFeedback(Framework& framework, const std::string& agentId,
                                   const v1::Offer::Operation& operation, v1::OperationState state,
                                   const std::string& message, const Resources& converted) {
  if (!operation.has_id()) return;
  v1::OperationStatus status;
  *status.mutable_operation_id() = operation.id();
  status.set_state(state);
  if (!message.empty()) status.set_message(message);
  if (!agentId.empty()) status.mutable_agent_id()->set_value(agentId);
  converted.copyTo(status.mutable_converted_resources());
  if (state == v1::OPERATION_FINISHED) {
    // Kept, and to be acknowledged, as the agent's updates are in Mesos.
    status.mutable_uuid()->set_value(uuid::randomBytes());
    v1::Operation& kept = operations_[framework.id][operation.id().value()];
    kept.mutable_framework_id()->set_value(framework.id);
    kept.mutable_agent_id()->set_value(agentId);
    *kept.mutable_info() = operation;
    *kept.mutable_latest_status() = status;
    *kept.add_statuses() = status;
    kept.mutable_uuid()->set_value(uuid::randomBytes());
  }
  count("master/operations/" + v1::OperationState_Name(state));
  v1::scheduler::Event event;
  event.set_type(v1::scheduler::Event::UPDATE_OPERATION_STATUS);
  *event.mutable_update_operation_status()->mutable_status() = status;
  sendEvent(framework, event);
}

void MasterImpl::acknowledgeOperationStatus(Framework& framework,
                                            const v1::scheduler::Call::AcknowledgeOperationStatus& ack) {
  auto byFramework = operations_.find(framework.id);
  if (byFramework == operations_.end()) return;
  auto it = byFramework->second.find(ack.operation_id().value());
  if (it == byFramework->second.end() || it->second.latest_status().uuid().value() != ack.uuid()) {
    LOG(WARNING) << "Framework " << framework.id << " acknowledged unknown status of operation '"
                 << ack.operation_id().value() << "'; ignored";
    return;
  }
  // Every status kept is terminal: acknowledged, the operation is done.
  byFramework->second.erase(it);
  if (byFramework->second.empty()) operations_.erase(byFramework);
}

void MasterImpl::reconcileOperations(Framework& framework, const v1::scheduler::Call::ReconcileOperations& reconcile) {
  auto known = operations_.find(framework.id);
  std::vector<v1::OperationStatus> statuses;
  auto latest = [](const v1::Operation& operation) {
    v1::OperationStatus status = operation.latest_status();
    status.clear_uuid();  // reconciliation answers are not acknowledged
    return status;
  };
  if (reconcile.operations().empty()) {
    if (known != operations_.end()) {
      for (const auto& [id, operation] : known->second) statuses.push_back(latest(operation));
    }
  }
  for (const auto& asked : reconcile.operations()) {
    if (known != operations_.end()) {
      auto it = known->second.find(asked.operation_id().value());
      if (it != known->second.end()) {
        statuses.push_back(latest(it->second));
        continue;
      }
    }
    v1::OperationStatus status;
    *status.mutable_operation_id() = asked.operation_id();
    if (asked.has_agent_id()) *status.mutable_agent_id() = asked.agent_id();
    const std::string& agentId = asked.agent_id().value();
    if (!asked.has_agent_id() || agents_.count(agentId)) {
      status.set_state(v1::OPERATION_UNKNOWN);
    } else if (recoveredAgents_.count(agentId)) {
      status.set_state(v1::OPERATION_RECOVERING);
    } else if (unreachableAgents_.count(agentId)) {
      status.set_state(v1::OPERATION_UNREACHABLE);
    } else if (goneAgents_.count(agentId)) {
      status.set_state(v1::OPERATION_GONE_BY_OPERATOR);
    } else {
      status.set_state(v1::OPERATION_UNKNOWN);
    }
    statuses.push_back(std::move(status));
  }
  for (v1::OperationStatus& status : statuses) {
    v1::scheduler::Event event;
    event.set_type(v1::scheduler::Event::UPDATE_OPERATION_STATUS);
    *event.mutable_update_operation_status()->mutable_status() = std::move(status);
    sendEvent(framework, event);
  }
}

std::vector<v1::Operation> MasterImpl::knownOperations() const {
  std::vector<v1::Operation> out;
  for (const auto& [frameworkId, operations] : operations_) {
    for (const auto& [id, operation] : operations) out.push_back(operation);
  }
  return out;
}

}  // namespace mantle::master
