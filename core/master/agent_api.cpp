// The master <-> agent protocol on the state thread (see
// core/proto/mantle/internal/agent_master.proto): registration and
// re-registration streams, status updates, executor exits, agent loss.
#include "master/master_impl.hpp"
#include "master/validation.hpp"
#include "wire/recordio.hpp"
#include "wire/secrets.hpp"

namespace mantle::master {

using v1::scheduler::Event;

namespace {

bool partitionAware(const Framework& f) {
  return hasCapability(f.info, v1::FrameworkInfo::Capability::PARTITION_AWARE);
}

// The agent's total: its declared resources with the checkpointed
// reservations and volumes applied (each replaces its unreserved, plain
// counterpart).
Result<Resources> agentTotal(const v1::AgentInfo& info,
                             const google::protobuf::RepeatedPtrField<v1::Resource>& checkpointed) {
  Result<Resources> total = Resources::from(info.resources());
  if (!total.ok()) return total.error().withContext("agent_info.resources");
  for (const v1::Resource& r : checkpointed) {
    Result<Resources> one = Resources::from(google::protobuf::RepeatedPtrField<v1::Resource>(&r, &r + 1));
    if (!one.ok()) return one.error().withContext("checkpointed_resources");
    if (total->contains(*one)) continue;  // already part of the declared resources
    v1::Resource source = r;
    source.clear_reservations();
    source.clear_reservation();
    source.clear_role();
    source.clear_disk();
    Result<Resources> plain = Resources::from(google::protobuf::RepeatedPtrField<v1::Resource>(&source, &source + 1));
    if (plain.ok()) {
      Result<Resources> less = total->minus(*plain);
      if (less.ok()) *total = *less;
    }
    *total += *one;
  }
  return total;
}

std::shared_ptr<http::Stream> openAgentStream(const http::Responder& responder, const std::string& streamId) {
  return responder.stream(200, {{"Content-Type", "application/x-protobuf"}, {kAgentStreamIdHeader, streamId}});
}

// Answers a (re-)registration with one event (ERROR: try again later;
// SHUTDOWN: the agent must stop) and closes the stream.
void answerAgentOnce(const http::Responder& responder, internal::Event::Type type, const std::string& message) {
  std::shared_ptr<http::Stream> stream = openAgentStream(responder, uuid::randomText());
  internal::Event event;
  event.set_type(type);
  if (type == internal::Event::SHUTDOWN) {
    event.mutable_shutdown()->set_message(message);
  } else {
    event.mutable_error()->set_message(message);
  }
  stream->write(wire::encodeRecord(event.SerializeAsString()));
  stream->close();
}

void refuseAgent(const http::Responder& responder, const std::string& message) {
  answerAgentOnce(responder, internal::Event::ERROR, message);
}

}  // namespace

void prepareAgentCall(internal::Call& call) {
  if (call.type() != internal::Call::REREGISTER || !call.has_reregistration()) return;
  internal::Call::Reregister& rr = *call.mutable_reregistration();
  const std::string& agentId = rr.agent_info().id().value();
  for (internal::FrameworkState& state : *rr.mutable_frameworks()) {
    const std::string& frameworkId = state.framework_info().id().value();
    for (v1::Task& task : *state.mutable_tasks()) {
      wire::redactSecrets(task);
      task.mutable_framework_id()->set_value(frameworkId);
      task.mutable_agent_id()->set_value(agentId);
    }
  }
}

void MasterImpl::sendAgentEvent(const Agent& agent, const internal::Event& event) {
  if (!agent.connected || !agent.stream) return;
  agent.stream->write(wire::encodeRecord(event.SerializeAsString()));
}

void MasterImpl::agentCall(internal::Call call, std::string streamId, std::string remote, http::Responder responder) {
  switch (call.type()) {
    case internal::Call::REGISTER:
      if (!call.has_registration()) {
        return responder.respond(http::Response::text(400, "REGISTER needs 'registration'"));
      }
      return registerAgent(call, remote, responder);
    case internal::Call::REREGISTER:
      if (!call.has_reregistration()) {
        return responder.respond(http::Response::text(400, "REREGISTER needs 'reregistration'"));
      }
      return reregisterAgent(std::move(call), remote, responder);
    default: break;
  }
  if (!call.has_agent_id()) return responder.respond(http::Response::text(400, "Expecting 'agent_id' to be present"));
  auto it = agents_.find(call.agent_id().value());
  if (it == agents_.end()) {
    return responder.respond(http::Response::text(404, "Agent " + call.agent_id().value() + " is not registered"));
  }
  Agent& agent = it->second;
  if (!agent.connected || streamId.empty() || streamId != agent.streamId) {
    return responder.respond(
        http::Response::text(409, "The stream id does not match agent " + agent.id + "'s current stream"));
  }
  switch (call.type()) {
    case internal::Call::STATUS_UPDATE:
      if (!call.has_status_update()) return responder.respond(http::Response::text(400, "Expecting 'status_update'"));
      statusUpdate(agent, call.status_update().update());
      break;
    case internal::Call::EXECUTOR_EXITED:
      if (!call.has_executor_exited()) {
        return responder.respond(http::Response::text(400, "Expecting 'executor_exited'"));
      }
      executorExited(agent, call.executor_exited());
      break;
    case internal::Call::UPDATE_RESOURCES:
      if (!call.has_update_resources()) {
        return responder.respond(http::Response::text(400, "Expecting 'update_resources'"));
      }
      updateAgentResources(agent, call.update_resources());
      break;
    case internal::Call::EXECUTOR_MESSAGE:
      if (!call.has_executor_message()) {
        return responder.respond(http::Response::text(400, "Expecting 'executor_message'"));
      }
      executorMessage(agent, call.executor_message());
      break;
    case internal::Call::PONG: break;
    case internal::Call::UNREGISTER: {
      responder.respond(http::Response{202, {}, ""});
      std::string id = agent.id;
      removeAgent(id, v1::TASK_GONE, v1::TaskStatus::REASON_AGENT_REMOVED, false, "Agent unregistered");
      return;
    }
    default: return responder.respond(http::Response::text(400, "Unknown call type"));
  }
  responder.respond(http::Response{202, {}, ""});
}

void MasterImpl::registerAgent(const internal::Call& call, const std::string& remote,
                               const http::Responder& responder) {
  const internal::Call::Register& reg = call.registration();
  Result<Resources> total = agentTotal(reg.agent_info(), reg.checkpointed_resources());
  if (!total.ok()) return refuseAgent(responder, "Invalid agent resources: " + total.error().message);
  if (std::string down = machineDownMessage(reg.agent_info(), remote); !down.empty()) {
    return answerAgentOnce(responder, internal::Event::SHUTDOWN, down);
  }
  // As in Mesos: a new agent registering from the address (IP and port) of a
  // disconnected one replaced it (restarted with --recover=cleanup or a wiped
  // work_dir), so the old one is removed now instead of after
  // --agent_reregister_timeout: its tasks are gone (TASK_LOST for frameworks
  // that are not partition-aware).
  for (const std::string& otherId : disconnectedAgents_) {
    const Agent& other = agents_.at(otherId);
    if (other.info.port() != reg.agent_info().port() || ipOf(other.address) != ipOf(remote)) continue;
    const std::string replaced = otherId;
    LOG(INFO) << "Removing disconnected agent " << replaced << " at " << other.address
              << ": a new agent registers at its address";
    removeAgent(replaced, v1::TASK_GONE, v1::TaskStatus::REASON_AGENT_REMOVED, /*unreachable=*/false,
                "Agent " + replaced + " was replaced by a new agent registering at the same address");
    break;
  }
  std::string id = masterId_ + "-S" + std::to_string(nextAgentId_++);
  v1::AgentInfo info = reg.agent_info();
  info.mutable_id()->set_value(id);
  // REGISTERED only once the registry holds the agent.
  registrar_.submit(RegistryOperation{
      [info](RegistryState& state) { state.agents.push_back(info); },
      [this, call, id, total = *total, remote, responder] { admitAgent(call, id, total, remote, responder); },
      [responder](const Error& error) {
        refuseAgent(responder, "Failed to record the agent in the registry: " + error.message);
      }});
}

void MasterImpl::admitAgent(const internal::Call& call, const std::string& id, const Resources& total,
                            const std::string& remote, const http::Responder& responder) {
  const internal::Call::Register& reg = call.registration();
  Agent& agent = agents_[id];
  agent.id = id;
  agent.info = reg.agent_info();
  agent.info.mutable_id()->set_value(id);
  agent.version = reg.version();
  agent.capabilities.assign(reg.capabilities().begin(), reg.capabilities().end());
  agent.total = total;
  agent.address = remote;
  agent.registeredTime = wallNow();
  agent.streamId = uuid::randomText();
  agent.stream = openAgentStream(responder, agent.streamId);
  agent.connected = true;
  std::weak_ptr<MasterImpl> weak = weak_from_this();
  agent.stream->onClose([weak, id, streamId = agent.streamId] {
    if (auto self = weak.lock()) self->post([self, id, streamId] { self->agentDisconnected(id, streamId); });
  });
  internal::Event event;
  event.set_type(internal::Event::REGISTERED);
  event.mutable_registered()->mutable_agent_id()->set_value(id);
  *event.mutable_registered()->mutable_master_info() = masterInfo_;
  event.mutable_registered()->set_heartbeat_interval_seconds(flags_.agentHeartbeatInterval);
  sendAgentEvent(agent, event);
  addAgentToAllocator(agent);
  count("master/slave_registrations");
  LOG(INFO) << "Registered agent " << id << " (" << agent.info.hostname() << ") at " << remote << " with "
            << agent.total.toString();
  v1::master::Event op;
  op.set_type(v1::master::Event::AGENT_ADDED);
  *op.mutable_agent_added()->mutable_agent() = agentProto(agent);
  emitOperatorEvent(op);
  requestAllocation();
}

void MasterImpl::reregisterAgent(internal::Call call, const std::string& remote, const http::Responder& responder,
                                 bool recorded) {
  internal::Call::Reregister& rr = *call.mutable_reregistration();
  const std::string id = rr.agent_info().id().value();
  if (id.empty()) return refuseAgent(responder, "REREGISTER needs 'agent_info.id'");
  if (goneAgents_.count(id)) {
    return answerAgentOnce(responder, internal::Event::SHUTDOWN, "Agent " + id + " was marked gone by the operator");
  }
  Result<Resources> total = agentTotal(rr.agent_info(), rr.checkpointed_resources());
  if (!total.ok()) return refuseAgent(responder, "Invalid agent resources: " + total.error().message);
  if (std::string down = machineDownMessage(rr.agent_info(), remote); !down.empty()) {
    return answerAgentOnce(responder, internal::Event::SHUTDOWN, down);
  }
  // An agent the registry does not hold (e.g. admitted by a leader that
  // died before recording it) is recorded before REREGISTERED.
  if (!recorded && !agents_.count(id) && !recoveredAgents_.count(id) && !unreachableAgents_.count(id)) {
    registrar_.submit(
        RegistryOperation{[info = rr.agent_info()](RegistryState& state) { state.agents.push_back(info); },
                          [this, call, remote, responder]() mutable {
                            reregisterAgent(std::move(call), remote, responder, /*recorded=*/true);
                          },
                          [responder](const Error& error) {
                            refuseAgent(responder, "Failed to record the agent in the registry: " + error.message);
                          }});
    return;
  }

  // The registry holds agents' infos and the frameworks: a re-registration
  // that changes neither (every agent's after a failover, or one whose info
  // was just recorded above) writes nothing.
  const v1::AgentInfo* recordedInfo = nullptr;
  if (auto a = agents_.find(id); a != agents_.end()) {
    recordedInfo = &a->second.info;
  } else if (auto r = recoveredAgents_.find(id); r != recoveredAgents_.end()) {
    recordedInfo = &r->second;
  } else if (auto u = unreachableAgents_.find(id); u != unreachableAgents_.end()) {
    recordedInfo = &u->second;
  }
  bool registryChanged = !recorded && (recordedInfo == nullptr ||
                                       recordedInfo->SerializeAsString() != rr.agent_info().SerializeAsString());

  bool known = agents_.count(id) > 0;
  Agent& agent = agents_[id];
  if (known) {
    if (agent.stream) {
      std::shared_ptr<http::Stream> old = agent.stream;
      agent.stream.reset();
      old->close();
    }
    if (agent.reregisterTimer) {
      agent.reregisterTimer->cancel();
      agent.reregisterTimer.reset();
    }
  } else {
    agent.id = id;
    agent.registeredTime = wallNow();
    recoveredAgents_.erase(id);
    unreachableAgents_.erase(id);
  }
  agent.reregisteredTime = wallNow();
  agent.info = rr.agent_info();
  agent.version = rr.version();
  agent.capabilities.assign(rr.capabilities().begin(), rr.capabilities().end());
  bool totalChanged = !(agent.total == *total);
  agent.total = *total;
  agent.address = remote;
  agent.streamId = uuid::randomText();
  agent.stream = openAgentStream(responder, agent.streamId);
  agent.connected = true;
  disconnectedAgents_.erase(id);
  std::weak_ptr<MasterImpl> weak = weak_from_this();
  agent.stream->onClose([weak, id, streamId = agent.streamId] {
    if (auto self = weak.lock()) self->post([self, id, streamId] { self->agentDisconnected(id, streamId); });
  });

  // What the agent runs: frameworks the master does not know (after a master
  // restart) come back as recovered ones; tasks it reports are known again.
  std::vector<std::string> removedReported;
  std::set<std::string> frameworksHere;
  for (internal::FrameworkState& state : *rr.mutable_frameworks()) {
    const std::string& frameworkId = state.framework_info().id().value();
    if (frameworkId.empty()) continue;
    if (removedFrameworkIds_.count(frameworkId)) {
      removedReported.push_back(frameworkId);
      continue;
    }
    frameworksHere.insert(frameworkId);
    auto f = frameworks_.find(frameworkId);
    if (f == frameworks_.end()) {
      registryChanged = true;
      Framework& fresh = frameworks_[frameworkId];
      fresh.id = frameworkId;
      fresh.info = state.framework_info();
      fresh.recovered = true;
      fresh.registeredTime = wallNow();
      module::v1::AllocatorAddFramework add;
      *add.mutable_framework_info() = convert<module::v1::FrameworkInfo>(fresh.info).value();
      add.set_active(false);
      allocator_.addFramework(add);
      f = frameworks_.find(frameworkId);
      v1::master::Event op;
      op.set_type(v1::master::Event::FRAMEWORK_ADDED);
      *op.mutable_framework_added()->mutable_framework() = frameworkProto(fresh);
      emitOperatorEvent(op);
    }
    Framework& framework = f->second;
    for (const v1::ExecutorInfo& executor : state.executors()) {
      v1::ExecutorInfo copy = executor;
      copy.mutable_framework_id()->set_value(frameworkId);
      wire::redactSecrets(copy);
      framework.executors[id][executor.executor_id().value()] = copy;
    }
    // Looked up through the const view: only tasks that change are
    // recorded as changed for the next state snapshot.
    const TaskMap& knownTasks = framework.tasks;
    for (v1::Task& reported : *state.mutable_tasks()) {
      std::string taskId = reported.task_id().value();
      auto known = knownTasks.find(taskId);
      if (known == knownTasks.end()) {
        if (framework.unreachableTasks.count(taskId)) framework.unreachableTasks.erase(taskId);
        const v1::Task& task = framework.tasks.emplace(taskId, std::move(reported)).first->second;
        if (operatorEventsWanted()) {
          v1::master::Event op;
          op.set_type(v1::master::Event::TASK_ADDED);
          *op.mutable_task_added()->mutable_task() = task;
          emitOperatorEvent(op);
        }
      } else if (!isTerminal(known->second.state()) && reported.state() != known->second.state()) {
        v1::TaskStatus status;
        if (reported.statuses_size() > 0) status = reported.statuses(reported.statuses_size() - 1);
        *status.mutable_task_id() = reported.task_id();
        status.set_state(reported.state());
        transitionTask(framework, framework.tasks.find(taskId)->second, status, reported.state());
      }
      agent.tasks.emplace(frameworkId, std::move(taskId));
    }
  }

  if (agent.inAllocator) {
    module::v1::AllocatorUpdateAgent update;
    update.mutable_agent_id()->set_value(id);
    if (totalChanged) {
      for (const v1::Resource& r : agent.total.items()) *update.add_total() = convert<module::v1::Resource>(r).value();
    }
    update.set_state(agent.drain         ? module::v1::AllocatorUpdateAgent::DRAINING
                     : agent.deactivated ? module::v1::AllocatorUpdateAgent::DEACTIVATED
                                         : module::v1::AllocatorUpdateAgent::ACTIVE);
    allocator_.updateAgent(update);
  } else {
    addAgentToAllocator(agent);
  }

  internal::Event event;
  event.set_type(internal::Event::REREGISTERED);
  event.mutable_reregistered()->mutable_agent_id()->set_value(id);
  *event.mutable_reregistered()->mutable_master_info() = masterInfo_;
  event.mutable_reregistered()->set_heartbeat_interval_seconds(flags_.agentHeartbeatInterval);
  internal::Event reconcile;
  reconcile.set_type(internal::Event::RECONCILE_TASKS);
  // agent.tasks is ordered by framework: one lookup per framework, and the
  // tasks through the const view (reading records no change).
  auto framework = frameworks_.end();
  for (const auto& [frameworkId, taskId] : agent.tasks) {
    if (framework == frameworks_.end() || framework->first != frameworkId) {
      framework = frameworks_.find(frameworkId);
      if (framework == frameworks_.end()) continue;
      *event.mutable_reregistered()->add_frameworks() = framework->second.info;
    }
    const TaskMap& tasks = framework->second.tasks;
    auto t = tasks.find(taskId);
    if (t == tasks.end()) continue;
    auto* item = reconcile.mutable_reconcile_tasks()->add_tasks();
    item->mutable_framework_id()->set_value(frameworkId);
    *item->mutable_task_id() = t->second.task_id();
    item->set_state(t->second.state());
  }
  // Both events in one write.
  if (agent.stream) {
    agent.stream->write(wire::encodeRecord(event.SerializeAsString()) +
                        wire::encodeRecord(reconcile.SerializeAsString()));
  }
  for (const std::string& frameworkId : removedReported) {
    internal::Event shutdown;
    shutdown.set_type(internal::Event::SHUTDOWN_FRAMEWORK);
    shutdown.mutable_shutdown_framework()->mutable_framework_id()->set_value(frameworkId);
    sendAgentEvent(agent, shutdown);
  }

  count("master/slave_reregistrations");
  LOG(INFO) << "Re-registered agent " << id << " (" << agent.info.hostname() << ") at " << remote << " with "
            << agent.tasks.size() << " tasks";
  if (!known && operatorEventsWanted()) {
    v1::master::Event op;
    op.set_type(v1::master::Event::AGENT_ADDED);
    *op.mutable_agent_added()->mutable_agent() = agentProto(agent);
    emitOperatorEvent(op);
  }
  if (registryChanged) agentsChanged();
  requestAllocation();
}

void MasterImpl::addAgentToAllocator(Agent& agent, const std::map<std::string, Resources>& extra) {
  module::v1::AllocatorAddAgent add;
  *add.mutable_agent_info() = convert<module::v1::AgentInfo>(agent.info).value();
  for (const v1::Resource& r : agent.total.items()) *add.add_total() = convert<module::v1::Resource>(r).value();
  std::map<std::string, Resources> used = usedOnAgent(agent, /*includeOffers=*/true);
  for (const auto& [frameworkId, resources] : extra) used[frameworkId] += resources;
  for (const auto& [frameworkId, resources] : used) {
    if (resources.empty()) continue;
    module::v1::FrameworkResources* fr = add.add_used();
    fr->mutable_framework_id()->set_value(frameworkId);
    for (const v1::Resource& r : resources.items()) *fr->add_resources() = convert<module::v1::Resource>(r).value();
  }
  agent.inAllocator = allocator_.addAgent(add);
  if (agent.inAllocator && (agent.deactivated || agent.drain || !agent.connected)) setAgentState(agent);
}

void MasterImpl::setAgentState(Agent& agent) {
  if (!agent.inAllocator) return;
  module::v1::AllocatorUpdateAgent update;
  update.mutable_agent_id()->set_value(agent.id);
  update.set_state(agent.drain                               ? module::v1::AllocatorUpdateAgent::DRAINING
                   : (agent.deactivated || !agent.connected) ? module::v1::AllocatorUpdateAgent::DEACTIVATED
                                                             : module::v1::AllocatorUpdateAgent::ACTIVE);
  allocator_.updateAgent(update);
}

void MasterImpl::statusUpdate(Agent& agent, const internal::StatusUpdate& update) {
  v1::TaskStatus status = update.status();
  if (!status.has_agent_id()) status.mutable_agent_id()->set_value(agent.id);
  if (!status.has_uuid() && update.has_uuid()) status.set_uuid(update.uuid());
  if (!status.has_timestamp()) status.set_timestamp(update.timestamp());
  const std::string& frameworkId = update.framework_id().value();
  auto f = frameworks_.find(frameworkId);
  if (f == frameworks_.end()) {
    // The framework is gone: nobody will acknowledge; stop the agent retrying.
    count("master/invalid_status_updates");
    if (!status.uuid().empty()) {
      internal::Event ack;
      ack.set_type(internal::Event::ACKNOWLEDGE);
      *ack.mutable_acknowledge()->mutable_framework_id() = update.framework_id();
      *ack.mutable_acknowledge()->mutable_task_id() = status.task_id();
      ack.mutable_acknowledge()->set_uuid(status.uuid());
      sendAgentEvent(agent, ack);
    }
    return;
  }
  count("master/valid_status_updates");
  count("master/messages_status_update");
  Framework& framework = f->second;
  const std::string& taskId = status.task_id().value();
  auto t = framework.tasks.find(taskId);
  if (t == framework.tasks.end()) {
    auto u = framework.unreachableTasks.find(taskId);
    if (u != framework.unreachableTasks.end()) {
      framework.tasks[taskId] = u->second;
      framework.unreachableTasks.erase(u);
      agent.tasks.insert({frameworkId, taskId});
      t = framework.tasks.find(taskId);
    }
  }
  if (t != framework.tasks.end()) {
    std::optional<v1::TaskState> latest;
    if (update.has_latest_state()) latest = update.latest_state();
    transitionTask(framework, t->second, status, latest);
    t->second.set_status_update_state(status.state());
    t->second.set_status_update_uuid(status.uuid());
  }
  Event event;
  event.set_type(Event::UPDATE);
  *event.mutable_update()->mutable_status() = status;
  sendEvent(framework, event);
  // An update without uuid is never acknowledged: a terminal one ends the task now.
  if (t != framework.tasks.end() && status.uuid().empty() && isTerminal(status.state())) {
    completeTask(framework, taskId);
  }
  if (agent.drain) checkDrained(agent);  // may remove the agent (mark_gone): nothing after this
}

void MasterImpl::executorExited(Agent& agent, const internal::Call::ExecutorExited& exited) {
  const std::string& frameworkId = exited.framework_id().value();
  auto f = frameworks_.find(frameworkId);
  if (f == frameworks_.end()) return;
  Framework& framework = f->second;
  auto e = framework.executors.find(agent.id);
  if (e != framework.executors.end()) {
    auto x = e->second.find(exited.executor_id().value());
    if (x != e->second.end()) {
      Result<Resources> r = Resources::from(x->second.resources());
      if (r.ok()) allocator_.recoverResources(frameworkId, agent.id, *r, 0);
      e->second.erase(x);
    }
    if (e->second.empty()) framework.executors.erase(e);
  }
  Event event;
  event.set_type(Event::FAILURE);
  event.mutable_failure()->mutable_agent_id()->set_value(agent.id);
  *event.mutable_failure()->mutable_executor_id() = exited.executor_id();
  if (exited.has_status()) event.mutable_failure()->set_status(exited.status());
  sendEvent(framework, event);
}

void MasterImpl::updateAgentResources(Agent& agent, const internal::Call::UpdateResources& update) {
  if (update.total_resources().empty()) return;
  Result<Resources> total = Resources::from(update.total_resources());
  if (!total.ok()) {
    LOG(WARNING) << "Agent " << agent.id << " sent invalid resources: " << total.error().message;
    return;
  }
  agent.total = *total;
  offerBook_.rescindOnAgent(agent.id);
  module::v1::AllocatorUpdateAgent request;
  request.mutable_agent_id()->set_value(agent.id);
  for (const v1::Resource& r : agent.total.items()) *request.add_total() = convert<module::v1::Resource>(r).value();
  allocator_.updateAgent(request);
  requestAllocation();
}

void MasterImpl::executorMessage(Agent& agent, const internal::Call::ExecutorMessage& message) {
  auto f = frameworks_.find(message.framework_id().value());
  if (f == frameworks_.end()) return;
  Event event;
  event.set_type(Event::MESSAGE);
  event.mutable_message()->mutable_agent_id()->set_value(agent.id);
  *event.mutable_message()->mutable_executor_id() = message.executor_id();
  event.mutable_message()->set_data(message.data());
  count("master/messages_executor_to_framework");
  sendEvent(f->second, event);
}

void MasterImpl::agentDisconnected(const std::string& agentId, const std::string& streamId) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) return;
  Agent& agent = it->second;
  if (!agent.connected || agent.streamId != streamId) return;
  LOG(INFO) << "Agent " << agentId << " disconnected; it has " << flags_.agentReregisterTimeout << "s to re-register";
  agent.connected = false;
  disconnectedAgents_.insert(agentId);
  agent.stream.reset();
  offerBook_.rescindOnAgent(agent.id);
  setAgentState(agent);
  agent.reregisterTimer = std::make_shared<asio::steady_timer>(stateIo_);
  agent.reregisterTimer->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(flags_.agentReregisterTimeout)));
  std::weak_ptr<MasterImpl> weak = weak_from_this();
  TimerPtr timer = agent.reregisterTimer;
  timer->async_wait([weak, agentId, timer](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->agentReregisterTimeout(agentId, timer);
  });
}

void MasterImpl::agentReregisterTimeout(const std::string& agentId, const TimerPtr& timer) {
  auto it = agents_.find(agentId);
  if (it == agents_.end() || it->second.connected || it->second.reregisterTimer != timer) return;
  LOG(INFO) << "Agent " << agentId << " did not re-register in time; it is unreachable";
  removeAgent(agentId, v1::TASK_UNREACHABLE, v1::TaskStatus::REASON_AGENT_REMOVED, /*unreachable=*/true,
              "Agent did not re-register within --agent_reregister_timeout");
}

void MasterImpl::recoveredAgentTimeout() {
  if (recoveredAgents_.empty()) return;
  for (auto& [id, info] : recoveredAgents_) unreachableAgents_[id] = info;
  LOG(INFO) << recoveredAgents_.size() << " recovered agents did not re-register; they are unreachable";
  recoveredAgents_.clear();
  registrar_.persist();
}

void MasterImpl::removeAgent(const std::string& agentId, v1::TaskState taskState, v1::TaskStatus::Reason reason,
                             bool unreachable, const std::string& message) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) return;
  Agent& agent = it->second;
  offerBook_.rescindOnAgent(agent.id);
  if (agent.reregisterTimer) agent.reregisterTimer->cancel();
  std::set<std::string> affected;
  for (const auto& [frameworkId, taskId] : agent.tasks) {
    auto f = frameworks_.find(frameworkId);
    if (f == frameworks_.end()) continue;
    Framework& framework = f->second;
    auto t = framework.tasks.find(taskId);
    if (t == framework.tasks.end()) continue;
    affected.insert(frameworkId);
    v1::Task task = std::move(t->second);
    framework.tasks.erase(t);
    if (isTerminal(task.state())) {
      framework.completedTasks.push_back(std::move(task));
      continue;
    }
    bool aware = partitionAware(framework);
    v1::TaskState state = unreachable ? v1::TASK_UNREACHABLE : taskState;
    v1::TaskState told = aware ? state : v1::TASK_LOST;
    v1::TaskStatus status;
    *status.mutable_task_id() = task.task_id();
    status.set_state(state);
    status.set_source(v1::TaskStatus::SOURCE_MASTER);
    status.set_reason(reason);
    status.set_message(message);
    status.mutable_agent_id()->set_value(agentId);
    status.set_timestamp(wallNow());
    if (unreachable) {
      status.mutable_unreachable_time()->set_nanoseconds(static_cast<std::int64_t>(wallNow() * 1e9));
    }
    task.set_state(state);
    *task.add_statuses() = status;
    v1::master::Event op;
    op.set_type(v1::master::Event::TASK_UPDATED);
    op.mutable_task_updated()->mutable_framework_id()->set_value(frameworkId);
    *op.mutable_task_updated()->mutable_status() = status;
    op.mutable_task_updated()->set_state(state);
    emitOperatorEvent(op);
    sendMasterUpdate(framework, task.task_id(), agentId, told, reason, message);
    if (unreachable) {
      framework.unreachableTasks[task.task_id().value()] = std::move(task);
    } else {
      framework.completedTasks.push_back(std::move(task));
    }
  }
  for (auto& [frameworkId, framework] : frameworks_) {
    if (framework.executors.erase(agentId) > 0) affected.insert(frameworkId);
  }
  for (const std::string& frameworkId : affected) {
    Event failure;
    failure.set_type(Event::FAILURE);
    failure.mutable_failure()->mutable_agent_id()->set_value(agentId);
    sendEvent(frameworks_.at(frameworkId), failure);
  }
  if (agent.inAllocator) allocator_.removeAgent(agentId);
  if (unreachable) unreachableAgents_[agentId] = agent.info;
  if (agent.stream) agent.stream->close();
  count("master/slave_removals");
  // Emitted while the agent is still known: the hooks' AGENT_REMOVED carries
  // its AgentInfo.
  v1::master::Event op;
  op.set_type(v1::master::Event::AGENT_REMOVED);
  op.mutable_agent_removed()->mutable_agent_id()->set_value(agentId);
  emitOperatorEvent(op);
  disconnectedAgents_.erase(agentId);
  agents_.erase(it);
  registrar_.persist();
}

}  // namespace mantle::master
