// The master operator API (POST /api/v1) on the state thread, its event
// stream, state snapshots, metrics and the allocator's explanations.
#include <cmath>
#include <cstdio>
#include <utility>

#include "master/master_impl.hpp"
#include "master/validation.hpp"
#include "wire/recordio.hpp"

namespace mantle::master {

using v1::master::Call;
using v1::master::Response;

namespace {

v1::TimeInfo timeInfo(double seconds) {
  v1::TimeInfo t;
  t.set_nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
  return t;
}

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// The objects of the calls' ACL checks (docs/SECURITY.md).
// The role a resource is reserved to (its innermost reservation).
std::string reservationRole(const v1::Resource& resource) {
  if (resource.reservations_size() > 0) return resource.reservations(resource.reservations_size() - 1).role();
  return resource.role();
}

std::string reservationPrincipal(const v1::Resource& resource) {
  if (resource.reservations_size() > 0) return resource.reservations(resource.reservations_size() - 1).principal();
  return resource.reservation().principal();
}

std::vector<std::string> reserveObjects(const Call& call) {
  std::vector<std::string> objects;
  for (const v1::Resource& r : call.reserve_resources().resources()) objects.push_back(reservationRole(r));
  return objects;
}

std::vector<std::string> unreserveObjects(const Call& call) {
  std::vector<std::string> objects;
  for (const v1::Resource& r : call.unreserve_resources().resources()) objects.push_back(reservationPrincipal(r));
  return objects;
}

std::vector<std::string> createVolumesObjects(const Call& call) {
  std::vector<std::string> objects;
  for (const v1::Resource& r : call.create_volumes().volumes()) objects.push_back(reservationRole(r));
  return objects;
}

std::vector<std::string> destroyVolumesObjects(const Call& call) {
  std::vector<std::string> objects;
  for (const v1::Resource& r : call.destroy_volumes().volumes()) objects.push_back(r.disk().persistence().principal());
  return objects;
}

std::vector<std::string> weightObjects(const Call& call) {
  std::vector<std::string> objects;
  for (const v1::WeightInfo& w : call.update_weights().weight_infos()) objects.push_back(w.role());
  return objects;
}

std::vector<std::string> quotaObjects(const Call& call) {
  std::vector<std::string> objects;
  for (const v1::quota::QuotaConfig& q : call.update_quota().quota_configs()) objects.push_back(q.role());
  return objects;
}

std::vector<std::string> setQuotaObjects(const Call& call) {
  return {call.set_quota().quota_request().role()};
}

std::vector<std::string> removeQuotaObjects(const Call& call) {
  return {call.remove_quota().role()};
}

}  // namespace

std::function<void(const Error&)> registryFailure(const http::Responder& responder) {
  return [responder](const Error& error) {
    responder.respond(http::Response::text(503, "Failed to update the registry: " + error.message));
  };
}

void MasterImpl::respondMessage(const http::Responder& responder, const google::protobuf::Message& message,
                                wire::MediaType type, int status) {
  // Encoding a large snapshot happens on an HTTP thread, not here.
  std::shared_ptr<google::protobuf::Message> copy(message.New());
  copy->CopyFrom(message);
  postHttp([copy, type, status, responder] {
    http::Response response{
        status, {{"Content-Type", std::string(wire::mediaTypeName(type))}}, wire::encode(*copy, type)};
    responder.respond(std::move(response));
  });
}

// ---------------------------------------------------------------------------
// The call table

const MasterImpl::OperatorCallSpec* MasterImpl::operatorCallSpec(Call::Type type) {
  using M = MasterImpl;
  static const OperatorCallSpec kCalls[] = {
      {.type = Call::GET_HEALTH, .query = &M::onGetHealth},
      {.type = Call::GET_FLAGS, .query = &M::onGetFlags, .acl = "view_flags"},
      {.type = Call::GET_VERSION, .query = &M::onGetVersion},
      {.type = Call::GET_METRICS, .query = &M::onGetMetrics},
      {.type = Call::GET_LOGGING_LEVEL, .query = &M::onGetLoggingLevel},
      {.type = Call::SET_LOGGING_LEVEL,
       .field = "set_logging_level",
       .action = &M::onSetLoggingLevel,
       .acl = "set_log_level"},
      {.type = Call::GET_STATE, .action = &M::onStateCall},
      {.type = Call::GET_AGENTS, .action = &M::onStateCall},
      {.type = Call::GET_FRAMEWORKS, .action = &M::onStateCall},
      {.type = Call::GET_EXECUTORS, .action = &M::onStateCall},
      {.type = Call::GET_TASKS, .action = &M::onStateCall},
      {.type = Call::GET_ROLES, .action = &M::onStateCall},
      {.type = Call::GET_WEIGHTS, .query = &M::onGetWeights},
      {.type = Call::GET_MASTER, .query = &M::onGetMaster},
      {.type = Call::GET_QUOTA, .query = &M::onGetQuota},
      {.type = Call::GET_OPERATIONS, .query = &M::onGetOperations},
      {.type = Call::SUBSCRIBE, .action = &M::onSubscribe},
      {.type = Call::RESERVE_RESOURCES,
       .field = "reserve_resources",
       .action = &M::onAgentOperation,
       .acl = "reserve_resources",
       .aclObjects = reserveObjects},
      {.type = Call::UNRESERVE_RESOURCES,
       .field = "unreserve_resources",
       .action = &M::onAgentOperation,
       .acl = "unreserve_resources",
       .aclObjects = unreserveObjects},
      {.type = Call::CREATE_VOLUMES,
       .field = "create_volumes",
       .action = &M::onAgentOperation,
       .acl = "create_volumes",
       .aclObjects = createVolumesObjects},
      {.type = Call::DESTROY_VOLUMES,
       .field = "destroy_volumes",
       .action = &M::onAgentOperation,
       .acl = "destroy_volumes",
       .aclObjects = destroyVolumesObjects},
      {.type = Call::MARK_AGENT_GONE,
       .field = "mark_agent_gone",
       .action = &M::onMarkAgentGone,
       .acl = "mark_agents_gone"},
      {.type = Call::DRAIN_AGENT, .field = "drain_agent", .action = &M::onDrainAgent, .acl = "drain_agents"},
      {.type = Call::DEACTIVATE_AGENT,
       .field = "deactivate_agent",
       .action = &M::onAgentActivation,
       .acl = "deactivate_agents"},
      {.type = Call::REACTIVATE_AGENT,
       .field = "reactivate_agent",
       .action = &M::onAgentActivation,
       .acl = "reactivate_agents"},
      {.type = Call::UPDATE_WEIGHTS,
       .field = "update_weights",
       .action = &M::onUpdateWeights,
       .acl = "update_weights",
       .aclObjects = weightObjects},
      {.type = Call::UPDATE_QUOTA,
       .field = "update_quota",
       .action = &M::onUpdateQuota,
       .acl = "update_quotas",
       .aclObjects = quotaObjects},
      {.type = Call::SET_QUOTA,
       .field = "set_quota",
       .action = &M::onSetQuota,
       .acl = "update_quotas",
       .aclObjects = setQuotaObjects},
      {.type = Call::REMOVE_QUOTA,
       .field = "remove_quota",
       .action = &M::onRemoveQuota,
       .acl = "update_quotas",
       .aclObjects = removeQuotaObjects},
      {.type = Call::TEARDOWN, .field = "teardown", .action = &M::onTeardown},
      {.type = Call::GET_MAINTENANCE_SCHEDULE, .action = &M::onMaintenance, .acl = "get_maintenance_schedules"},
      {.type = Call::GET_MAINTENANCE_STATUS, .action = &M::onMaintenance, .acl = "get_maintenance_statuses"},
      {.type = Call::UPDATE_MAINTENANCE_SCHEDULE, .action = &M::onMaintenance, .acl = "update_maintenance_schedules"},
      {.type = Call::START_MAINTENANCE, .action = &M::onMaintenance, .acl = "start_maintenances"},
      {.type = Call::STOP_MAINTENANCE, .action = &M::onMaintenance, .acl = "stop_maintenances"},
  };
  for (const OperatorCallSpec& spec : kCalls) {
    if (spec.type == type) return &spec;
  }
  return nullptr;
}

void MasterImpl::operatorCall(Call call, wire::ResponseFormat format, http::Responder responder) {
  count("master/calls/operator/" + Call::Type_Name(call.type()));
  const OperatorCallSpec* spec = operatorCallSpec(call.type());
  if (call.type() == Call::UNKNOWN) {
    return responder.respond(http::Response::text(501, "Received an unexpected 'UNKNOWN' call"));
  }
  if (spec == nullptr || (spec->query == nullptr && spec->action == nullptr)) {
    return responder.respond(
        http::Response::text(501, "The call '" + Call::Type_Name(call.type()) + "' is not supported by Mantle yet"));
  }
  if (spec->field != nullptr) {
    const google::protobuf::FieldDescriptor* field = Call::descriptor()->FindFieldByName(spec->field);
    CHECK(field != nullptr) << "operator call table: no field '" << spec->field << "'";
    if (!call.GetReflection()->HasField(call, field)) {
      return responder.respond(http::Response::text(
          400, "Failed to validate master::Call: Expecting '" + std::string(spec->field) + "' to be present"));
    }
  }
  if (spec->query != nullptr) {
    Result<Response> response = (this->*spec->query)(call);
    if (!response.ok()) return responder.respond(http::Response::error(response.error()));
    return respondMessage(responder, *response, format.message);
  }
  Status status = (this->*spec->action)(call, format, responder);
  if (!status.ok()) responder.respond(http::Response::error(status.error()));
}

// ---------------------------------------------------------------------------
// Queries

Result<Response> MasterImpl::onGetHealth(const Call&) {
  Response response;
  response.set_type(Response::GET_HEALTH);
  response.mutable_get_health()->set_healthy(true);
  return response;
}

Result<Response> MasterImpl::onGetFlags(const Call&) {
  Response response;
  response.set_type(Response::GET_FLAGS);
  for (const auto& [name, value] : flags_.values) {
    v1::Flag* flag = response.mutable_get_flags()->add_flags();
    flag->set_name(name);
    flag->set_value(value);
  }
  return response;
}

Result<Response> MasterImpl::onGetVersion(const Call&) {
  Response response;
  response.set_type(Response::GET_VERSION);
  response.mutable_get_version()->mutable_version_info()->set_version(kVersion);
  response.mutable_get_version()->mutable_version_info()->set_build_date(__DATE__);
  return response;
}

Result<Response> MasterImpl::onGetMetrics(const Call&) {
  Response response;
  response.set_type(Response::GET_METRICS);
  for (const auto& [name, value] : buildMetrics()) {
    v1::Metric* metric = response.mutable_get_metrics()->add_metrics();
    metric->set_name(name);
    metric->set_value(value);
  }
  return response;
}

Result<Response> MasterImpl::onGetLoggingLevel(const Call&) {
  Response response;
  response.set_type(Response::GET_LOGGING_LEVEL);
  response.mutable_get_logging_level()->set_level(static_cast<std::uint32_t>(verbosity_->level()));
  return response;
}

Status MasterImpl::onStateCall(const Call& call, const wire::ResponseFormat& format, const http::Responder& responder) {
  Response::Type type;
  CHECK(Response::Type_Parse(Call::Type_Name(call.type()), &type)) << Call::Type_Name(call.type());
  shareSnapshot([type, format, responder](const std::shared_ptr<const Snapshot>& snapshot) {
    const std::string mediaType(wire::mediaTypeName(format.message));
    std::shared_ptr<const http::Body> body = snapshot->rendered->get(
        Response::Type_Name(type) + " " + mediaType, [&] { return encodeStateCall(*snapshot, type, format.message); });
    responder.respond(http::Response{200, {{"Content-Type", mediaType}}, "", std::move(body)});
  });
  return {};
}

Result<Response> MasterImpl::onGetWeights(const Call&) {
  Response response;
  response.set_type(Response::GET_WEIGHTS);
  for (const auto& [role, weight] : weights_) {
    v1::WeightInfo* info = response.mutable_get_weights()->add_weight_infos();
    info->set_role(role);
    info->set_weight(weight);
  }
  return response;
}

Result<Response> MasterImpl::onGetMaster(const Call&) {
  Response response;
  response.set_type(Response::GET_MASTER);
  *response.mutable_get_master()->mutable_master_info() = masterInfo_;
  response.mutable_get_master()->set_start_time(startTime_);
  response.mutable_get_master()->set_elected_time(startTime_);
  return response;
}

Result<Response> MasterImpl::onGetQuota(const Call&) {
  Response response;
  response.set_type(Response::GET_QUOTA);
  *response.mutable_get_quota()->mutable_status() = quotaStatus();
  return response;
}

Result<Response> MasterImpl::onGetOperations(const Call&) {
  Response response;
  response.set_type(Response::GET_OPERATIONS);
  response.mutable_get_operations();
  for (v1::Operation& operation : knownOperations())
    *response.mutable_get_operations()->add_operations() = std::move(operation);
  return response;
}

// ---------------------------------------------------------------------------
// Actions

Status MasterImpl::onAgentOperation(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  v1::Offer::Operation op;
  v1::AgentID agentId;
  switch (call.type()) {
    case Call::RESERVE_RESOURCES:
      op.set_type(v1::Offer::Operation::RESERVE);
      *op.mutable_reserve()->mutable_resources() = call.reserve_resources().resources();
      agentId = call.reserve_resources().agent_id();
      break;
    case Call::UNRESERVE_RESOURCES:
      op.set_type(v1::Offer::Operation::UNRESERVE);
      *op.mutable_unreserve()->mutable_resources() = call.unreserve_resources().resources();
      agentId = call.unreserve_resources().agent_id();
      break;
    case Call::CREATE_VOLUMES:
      op.set_type(v1::Offer::Operation::CREATE);
      *op.mutable_create()->mutable_volumes() = call.create_volumes().volumes();
      agentId = call.create_volumes().agent_id();
      break;
    case Call::DESTROY_VOLUMES:
      op.set_type(v1::Offer::Operation::DESTROY);
      *op.mutable_destroy()->mutable_volumes() = call.destroy_volumes().volumes();
      agentId = call.destroy_volumes().agent_id();
      break;
    default: LOG(FATAL) << "not an agent operation: " << Call::Type_Name(call.type());
  }
  if (Status applied = applyOperatorReservation(agentId.value(), op); !applied.ok()) return applied;
  responder.respond(http::Response{202, {}, ""});
  return {};
}

Status MasterImpl::onMarkAgentGone(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  const std::string& id = call.mark_agent_gone().agent_id().value();
  if (!agents_.count(id) && !recoveredAgents_.count(id) && !unreachableAgents_.count(id)) {
    if (!goneAgents_.count(id)) return notFound("Agent " + id + " is not known");
    responder.respond(http::Response{200, {}, ""});
    return {};
  }
  // Answered once the registry holds the mark.
  RegistryOperation op;
  op.stage = [id](RegistryState& state) { state.goneAgents.push_back(id); };
  op.apply = [this, id, responder] {
    markAgentGone(id);
    responder.respond(http::Response{200, {}, ""});
  };
  op.fail = registryFailure(responder);
  registrar_.submit(std::move(op));
  return {};
}

Status MasterImpl::onDrainAgent(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  if (call.drain_agent().has_max_grace_period()) {
    if (Status valid = validation::maxGracePeriod(call.drain_agent().max_grace_period()); !valid.ok()) return valid;
  }
  auto agent = agents_.find(call.drain_agent().agent_id().value());
  if (agent == agents_.end()) return notFound("Agent is not registered");
  drainAgent(agent->second, call.drain_agent());
  responder.respond(http::Response{200, {}, ""});
  return {};
}

Status MasterImpl::onAgentActivation(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  bool deactivate = call.type() == Call::DEACTIVATE_AGENT;
  auto it = agents_.find(deactivate ? call.deactivate_agent().agent_id().value()
                                    : call.reactivate_agent().agent_id().value());
  if (it == agents_.end()) return notFound("Agent is not registered");
  Agent& agent = it->second;
  agent.deactivated = deactivate;
  if (deactivate) {
    offerBook_.rescindOnAgent(agent.id);
  } else {
    agent.drain.reset();
  }
  setAgentState(agent);
  if (!deactivate) requestAllocation();
  responder.respond(http::Response{200, {}, ""});
  return {};
}

Status MasterImpl::onUpdateWeights(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  if (Status valid = validateWeights(call.update_weights().weight_infos()); !valid.ok()) return valid;
  recordWeights({call.update_weights().weight_infos().begin(), call.update_weights().weight_infos().end()}, responder,
                202);
  return {};
}

Status MasterImpl::onUpdateQuota(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  for (const v1::quota::QuotaConfig& config : call.update_quota().quota_configs()) {
    if (Status valid = validateRole(config.role()); !valid.ok()) return valid;
    if (config.role() == "*") return invalidArgument("Quota cannot be set on role '*'");
    for (const auto& [name, guarantee] : config.guarantees()) {
      auto limit = config.limits().find(name);
      if (guarantee.value() < 0) return invalidArgument("Quota guarantee of '" + name + "' is negative");
      if (limit != config.limits().end() && limit->second.value() < guarantee.value()) {
        return invalidArgument("Quota limit of '" + name + "' in role '" + config.role() + "' is below its guarantee");
      }
    }
  }
  recordQuotaConfigs({call.update_quota().quota_configs().begin(), call.update_quota().quota_configs().end()},
                     responder);
  return {};
}

Status MasterImpl::onTeardown(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  const std::string& id = call.teardown().framework_id().value();
  if (!frameworks_.count(id)) return invalidArgument("Framework " + id + " is not known");
  // Answered once the registry no longer holds the framework.
  RegistryOperation op;
  op.stage = [id](RegistryState& state) {
    std::erase_if(state.frameworks, [&](const v1::FrameworkInfo& f) { return f.id().value() == id; });
  };
  op.apply = [this, id, responder] {
    removeFramework(id, "operator teardown");
    responder.respond(http::Response{200, {}, ""});
  };
  op.fail = registryFailure(responder);
  registrar_.submit(std::move(op));
  return {};
}

Status MasterImpl::onMaintenance(const Call& call, const wire::ResponseFormat& format,
                                 const http::Responder& responder) {
  maintenanceCall(call, format, responder);
  return {};
}

// ---------------------------------------------------------------------------
// Agent mutations

Status MasterImpl::applyOperatorReservation(const std::string& agentId, const v1::Offer::Operation& op) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) return invalidArgument("Agent " + agentId + " is not registered");
  Agent& agent = it->second;
  Result<validation::Conversion> conversion = validation::operation(op, nullptr);
  if (!conversion.ok()) {
    return conversion.error().withContext("Invalid " + v1::Offer::Operation::Type_Name(op.type()));
  }
  const Resources& consumed = conversion->consumed;
  const Resources& produced = conversion->produced;
  // Outstanding offers hold resources the operation may need: take them back.
  offerBook_.rescindOnAgent(agent.id);
  Resources used;
  for (const auto& [frameworkId, resources] : usedOnAgent(agent, false)) {
    used += resources.withoutAllocation();
    for (const v1::Resource& volume : consumed.items()) {
      if (op.type() != v1::Offer::Operation::DESTROY) break;
      Resources one;
      one.add(volume);
      if (resources.withoutAllocation().contains(one)) {
        return failedPrecondition("Persistent volume '" + volume.disk().persistence().id() +
                                  "' is in use by a task of framework " + frameworkId + " on agent " + agentId);
      }
    }
  }
  Result<Resources> available = agent.total.minus(used);
  if (!available.ok() || !available->contains(consumed)) {
    return failedPrecondition("Agent " + agentId + " does not have " + consumed.toString() + " available (it has " +
                              (available.ok() ? available->toString() : std::string("nothing")) + ")");
  }
  agent.total = *agent.total.minus(consumed) + produced;
  if (agent.inAllocator) {
    allocator_.removeAgent(agentId);
    agent.inAllocator = false;
  }
  addAgentToAllocator(agent);
  internal::Event apply;
  apply.set_type(internal::Event::APPLY_OPERATION);
  *apply.mutable_apply_operation()->mutable_operation() = op;
  apply.mutable_apply_operation()->mutable_operation_uuid()->set_value(uuid::randomBytes());
  sendAgentEvent(agent, apply);
  agentsChanged();
  requestAllocation();
  return {};
}

void MasterImpl::markAgentGone(const std::string& agentId) {
  goneAgents_.insert(agentId);
  auto it = agents_.find(agentId);
  if (it != agents_.end()) {
    internal::Event shutdown;
    shutdown.set_type(internal::Event::SHUTDOWN);
    shutdown.mutable_shutdown()->set_message("Agent was marked gone by the operator");
    sendAgentEvent(it->second, shutdown);
    removeAgent(agentId, v1::TASK_GONE_BY_OPERATOR, v1::TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR, false,
                "Agent was marked gone by the operator");
  }
  recoveredAgents_.erase(agentId);
  unreachableAgents_.erase(agentId);
  for (auto& [frameworkId, framework] : frameworks_) {
    for (auto t = framework.unreachableTasks.begin(); t != framework.unreachableTasks.end();) {
      if (t->second.agent_id().value() != agentId) {
        ++t;
        continue;
      }
      t->second.set_state(v1::TASK_GONE_BY_OPERATOR);
      framework.completedTasks.push_back(std::move(t->second));
      t = framework.unreachableTasks.erase(t);
    }
  }
  registrar_.persist();
}

void MasterImpl::drainAgent(Agent& agent, const Call::DrainAgent& drain) {
  v1::DrainInfo info;
  info.set_state(v1::DRAINING);
  if (drain.has_max_grace_period()) {
    info.mutable_config()->mutable_max_grace_period()->set_nanoseconds(
        drain.max_grace_period().seconds() * 1000000000LL + drain.max_grace_period().nanos());
  }
  info.mutable_config()->set_mark_gone(drain.mark_gone());
  agent.drain = info;
  offerBook_.rescindOnAgent(agent.id);
  setAgentState(agent);
  internal::Event event;
  event.set_type(internal::Event::DRAIN);
  *event.mutable_drain()->mutable_config() = info.config();
  sendAgentEvent(agent, event);
  checkDrained(agent);
}

void MasterImpl::checkDrained(Agent& agent) {
  if (!agent.drain || agent.drain->state() != v1::DRAINING) return;
  for (const auto& [frameworkId, taskId] : agent.tasks) {
    auto f = frameworks_.find(frameworkId);
    if (f == frameworks_.end()) continue;
    auto t = f->second.tasks.find(taskId);
    if (t != f->second.tasks.end() && !isTerminal(t->second.state())) return;
  }
  agent.drain->set_state(v1::DRAINED);
  LOG(INFO) << "Agent " << agent.id << " is drained";
  if (agent.drain->config().mark_gone()) {
    std::string id = agent.id;
    markAgentGone(id);
  }
}

// ---------------------------------------------------------------------------
// Event stream

Status MasterImpl::onSubscribe(const Call&, const wire::ResponseFormat& format, const http::Responder& responder) {
  subscribeOperator(format, responder, nullptr);
  return {};
}

void MasterImpl::subscribeOperator(const wire::ResponseFormat& format, const http::Responder& responder,
                                   std::shared_ptr<auth::RequestAuthorizer> viewer) {
  OperatorSubscriber subscriber;
  subscriber.id = nextSubscriberId_++;
  subscriber.mediaType = format.message;
  subscriber.viewer = std::move(viewer);
  subscriber.stream = responder.stream(200, {{"Content-Type", std::string(format.contentType())}});
  v1::master::Event subscribed;
  subscribed.set_type(v1::master::Event::SUBSCRIBED);
  *subscribed.mutable_subscribed()->mutable_get_state() = buildState();
  if (subscriber.viewer) filterState(subscribed.mutable_subscribed()->mutable_get_state(), *subscriber.viewer);
  subscribed.mutable_subscribed()->set_heartbeat_interval_seconds(flags_.heartbeatInterval);
  subscriber.stream->write(wire::encodeRecord(wire::encode(subscribed, format.message)));
  v1::master::Event heartbeat;
  heartbeat.set_type(v1::master::Event::HEARTBEAT);
  subscriber.stream->write(wire::encodeRecord(wire::encode(heartbeat, format.message)));
  std::weak_ptr<MasterImpl> weak = weak_from_this();
  std::uint64_t id = subscriber.id;
  subscriber.stream->onClose([weak, id] {
    if (auto self = weak.lock()) {
      self->post(
          [self, id] { std::erase_if(self->subscribers_, [id](const OperatorSubscriber& s) { return s.id == id; }); });
    }
  });
  subscribers_.push_back(std::move(subscriber));
  while (subscribers_.size() > static_cast<std::size_t>(flags_.maxOperatorEventStreamSubscribers)) {
    subscribers_.front().stream->close();
    subscribers_.erase(subscribers_.begin());
  }
}

void MasterImpl::emitOperatorEvent(const v1::master::Event& event) {
  notifyHooks(event);
  if (subscribers_.empty()) return;
  std::optional<std::string> json, protobuf;
  for (OperatorSubscriber& s : subscribers_) {
    if (s.viewer && !eventVisible(event, *s.viewer)) continue;
    std::optional<std::string>& record = s.mediaType == wire::MediaType::kJson ? json : protobuf;
    if (!record) record = wire::encodeRecord(wire::encode(event, s.mediaType));
    s.stream->write(*record);
  }
}

void MasterImpl::notifyHooks(const v1::master::Event& event) {
  if (!hooks_ || hooks_->empty()) return;
  using module::v1::StateEvent;
  StateEvent out;
  switch (event.type()) {
    case v1::master::Event::TASK_ADDED: {
      const v1::Task& task = event.task_added().task();
      out.set_type(StateEvent::TASK_UPDATED);
      *out.mutable_framework_id() = convert<module::v1::FrameworkID>(task.framework_id()).value();
      module::v1::TaskStatus* status = out.mutable_task_status();
      *status->mutable_task_id() = convert<module::v1::TaskID>(task.task_id()).value();
      status->set_state(module::v1::TASK_STAGING);
      *status->mutable_agent_id() = convert<module::v1::AgentID>(task.agent_id()).value();
      if (task.has_executor_id())
        *status->mutable_executor_id() = convert<module::v1::ExecutorID>(task.executor_id()).value();
      break;
    }
    case v1::master::Event::TASK_UPDATED: {
      const auto& updated = event.task_updated();
      out.set_type(StateEvent::TASK_UPDATED);
      *out.mutable_framework_id() = convert<module::v1::FrameworkID>(updated.framework_id()).value();
      // The update itself, in order: `updated.state()` is the task's latest
      // state, which may already be ahead of this update.
      *out.mutable_task_status() = convert<module::v1::TaskStatus>(updated.status()).value();
      break;
    }
    case v1::master::Event::AGENT_ADDED:
      out.set_type(StateEvent::AGENT_ADDED);
      *out.mutable_agent_info() = convert<module::v1::AgentInfo>(event.agent_added().agent().agent_info()).value();
      break;
    case v1::master::Event::AGENT_REMOVED: {
      out.set_type(StateEvent::AGENT_REMOVED);
      const std::string& agentId = event.agent_removed().agent_id().value();
      auto agent = agents_.find(agentId);
      auto unreachable = unreachableAgents_.find(agentId);
      if (agent != agents_.end()) {
        *out.mutable_agent_info() = convert<module::v1::AgentInfo>(agent->second.info).value();
      } else if (unreachable != unreachableAgents_.end()) {
        *out.mutable_agent_info() = convert<module::v1::AgentInfo>(unreachable->second).value();
      }
      out.mutable_agent_info()->mutable_id()->set_value(agentId);
      break;
    }
    case v1::master::Event::FRAMEWORK_ADDED: {
      const v1::FrameworkInfo& info = event.framework_added().framework().framework_info();
      out.set_type(StateEvent::FRAMEWORK_ADDED);
      *out.mutable_framework_info() = convert<module::v1::FrameworkInfo>(info).value();
      *out.mutable_framework_id() = convert<module::v1::FrameworkID>(info.id()).value();
      break;
    }
    case v1::master::Event::FRAMEWORK_REMOVED: {
      const v1::FrameworkInfo& info = event.framework_removed().framework_info();
      out.set_type(StateEvent::FRAMEWORK_REMOVED);
      *out.mutable_framework_info() = convert<module::v1::FrameworkInfo>(info).value();
      *out.mutable_framework_id() = convert<module::v1::FrameworkID>(info.id()).value();
      break;
    }
    default: return;  // not a hook event
  }
  out.set_timestamp(wallNow());
  hooks_->stateEvent(out);  // only enqueues
}

// ---------------------------------------------------------------------------
// Snapshots

Response::GetAgents::Agent MasterImpl::agentProto(const Agent& agent, bool withAllocated) const {
  Response::GetAgents::Agent out;
  *out.mutable_agent_info() = agent.info;
  out.mutable_agent_info()->clear_resources();
  agent.total.copyTo(out.mutable_agent_info()->mutable_resources());
  out.set_active(agent.connected && !agent.deactivated);
  out.set_version(agent.version);
  std::string ip = ipOf(agent.address);
  out.set_pid("slave(1)@" + ip + ":" + std::to_string(agent.info.port()));
  *out.mutable_registered_time() = timeInfo(agent.registeredTime);
  if (agent.reregisteredTime > 0) *out.mutable_reregistered_time() = timeInfo(agent.reregisteredTime);
  agent.total.copyTo(out.mutable_total_resources());
  if (withAllocated) {
    Resources allocated;
    for (const auto& [frameworkId, resources] : usedOnAgent(agent, false)) allocated += resources;
    allocated.copyTo(out.mutable_allocated_resources());
    offerBook_.offeredOn(agent.id).copyTo(out.mutable_offered_resources());
  }
  for (const auto& c : agent.capabilities) *out.add_capabilities() = c;
  out.set_deactivated(agent.deactivated || (agent.drain.has_value()));
  if (agent.drain) *out.mutable_drain_info() = *agent.drain;
  return out;
}

Response::GetFrameworks::Framework MasterImpl::frameworkProto(const Framework& f, bool withAllocated) const {
  Response::GetFrameworks::Framework out;
  *out.mutable_framework_info() = f.info;
  if (!f.offerConstraintsInfo.role_constraints().empty()) *out.mutable_offer_constraints() = f.offerConstraintsInfo;
  out.set_active(f.active);
  out.set_connected(f.connected);
  out.set_recovered(f.recovered);
  if (f.registeredTime > 0) *out.mutable_registered_time() = timeInfo(f.registeredTime);
  if (f.reregisteredTime > 0) *out.mutable_reregistered_time() = timeInfo(f.reregisteredTime);
  if (f.unregisteredTime > 0) *out.mutable_unregistered_time() = timeInfo(f.unregisteredTime);
  if (withAllocated) {
    Resources offered;
    for (const OfferPiecePtr& offer : *offerBook_.piecesOf(f.id)) {
      *out.add_offers() = offer->offer();
      offered += offer->resources();
    }
    offered.copyTo(out.mutable_offered_resources());
    Resources allocated = f.tasks.pieces()->sums().total;
    for (const auto& [agentId, executors] : f.executors) {
      for (const auto& [executorId, info] : executors) {
        Result<Resources> r = Resources::from(info.resources());
        if (r.ok()) allocated += *r;
      }
    }
    allocated.copyTo(out.mutable_allocated_resources());
  }
  return out;
}

Response::GetExecutors MasterImpl::buildExecutors() const {
  Response::GetExecutors out;
  for (const auto& [id, f] : frameworks_) {
    for (const auto& [agentId, executors] : f.executors) {
      for (const auto& [executorId, info] : executors) {
        auto* e = out.add_executors();
        *e->mutable_executor_info() = info;
        e->mutable_agent_id()->set_value(agentId);
      }
    }
  }
  return out;
}

Response::GetState MasterImpl::buildState() const {
  return completeSnapshot().getState();
}

Snapshot MasterImpl::completeSnapshot() const {
  Snapshot s = buildSnapshot();
  s.complete();
  return s;
}

void MasterImpl::shareSnapshot(std::function<void(const std::shared_ptr<const Snapshot>&)> use) {
  snapshotWaiters_.push_back(std::move(use));
  if (snapshotWaiters_.size() > 1) return;
  // Made after the events queued meanwhile, so that requests among them
  // share it too.
  post([this] {
    count("master/state_snapshots");
    auto snapshot = std::make_shared<Snapshot>(buildSnapshot());
    // What is derived from the tasks is summed on a render thread.
    postRender([snapshot, waiters = std::exchange(snapshotWaiters_, {})]() mutable {
      snapshot->complete();
      std::shared_ptr<const Snapshot> done = std::move(snapshot);
      for (auto& waiter : waiters) waiter(done);
    });
  });
}

Snapshot MasterImpl::buildSnapshot() const {
  Snapshot s;
  s.masterInfo = masterInfo_;
  s.startTime = startTime_;
  s.electedTime = startTime_;
  s.cluster = flags_.cluster;
  s.flags = flags_.values;
  s.agentPieces = agentPieces_;
  // Tasks as GET_TASKS lists them: by framework, the live ones; the
  // terminal ones not yet removed, then the completed ones; the unreachable.
  auto addTasks = [&](const Framework& f) {
    const TaskListPtr& tasks = f.tasks.pieces();
    s.tasks.push_back({tasks, TaskRun::Show::kLive});
    s.completedTasks.push_back({tasks, TaskRun::Show::kTerminal});
    s.completedTasks.push_back({f.completedTasks.pieces(), TaskRun::Show::kAll});
    s.unreachableTasks.push_back({f.unreachableTasks.pieces(), TaskRun::Show::kAll});
  };
  for (const auto& [id, f] : frameworks_) {
    addTasks(f);
    *s.frameworks.add_frameworks() = frameworkProto(f, /*withAllocated=*/false);
    s.offers.push_back(offerBook_.piecesOf(f.id));
    s.allocations.push_back(f.tasks.pieces());
  }
  for (const Framework& f : completedFrameworks_) {
    addTasks(f);
    *s.frameworks.add_completed_frameworks() = frameworkProto(f);
  }
  s.executors = buildExecutors();
  s.agentRecords = agents_.records([&](const Agent& agent) { return agentProto(agent, /*withAllocated=*/false); });
  for (const auto& [id, info] : recoveredAgents_) *s.recoveredAgents.Add() = info;
  s.weights = weights_;
  for (const auto& [role, config] : quotas_) s.quotas.push_back(config);
  return s;
}

std::map<std::string, double> MasterImpl::buildMetrics() const {
  std::map<std::string, double> m;
  for (const char* state : {"staging", "starting", "running", "killing", "finished", "failed", "killed", "lost",
                            "error", "dropped", "unreachable", "gone", "gone_by_operator"}) {
    m[std::string("master/tasks_") + state] = 0;
  }
  for (const char* name : {"master/valid_status_updates", "master/invalid_status_updates", "master/slave_registrations",
                           "master/slave_reregistrations", "master/slave_removals", "master/messages_accept",
                           "master/offers_declined", "allocator/mesos/allocation_runs"}) {
    m[name] = 0;
  }
  for (const auto& [name, value] : counters_) m[name] = value;
  for (const auto& [name, value] : registrar_.metrics()) m[name] = value;
  if (hooks_) {
    for (const auto& [name, value] : hooks_->metricsSnapshot()) m["master/" + name] = value;
  }
  m["master/uptime_secs"] = wallNow() - startTime_;
  m["master/elected"] = leading_ && recovered_ ? 1 : 0;
  double active = 0, inactive = 0, connected = 0, disconnected = 0;
  std::map<std::string, double> total, used;
  for (const auto& [id, agent] : agents_) {
    (agent.connected && !agent.deactivated ? active : inactive) += 1;
    (agent.connected ? connected : disconnected) += 1;
    for (const char* name : {"cpus", "gpus", "mem", "disk"}) {
      total[name] += agent.total.scalar(name);
      double u = 0;
      for (const auto& [frameworkId, resources] : usedOnAgent(agent, false)) u += resources.scalar(name);
      used[name] += u;
    }
  }
  m["master/slaves_active"] = active;
  m["master/slaves_inactive"] = inactive;
  m["master/slaves_connected"] = connected;
  m["master/slaves_disconnected"] = disconnected;
  m["master/slaves_unreachable"] = static_cast<double>(unreachableAgents_.size());
  for (const char* name : {"cpus", "gpus", "mem", "disk"}) {
    m[std::string("master/") + name + "_total"] = total[name];
    m[std::string("master/") + name + "_used"] = used[name];
    m[std::string("master/") + name + "_percent"] = total[name] > 0 ? used[name] / total[name] : 0;
  }
  double fActive = 0, fInactive = 0, fConnected = 0, fDisconnected = 0;
  for (const auto& [id, f] : frameworks_) {
    (f.active ? fActive : fInactive) += 1;
    (f.connected ? fConnected : fDisconnected) += 1;
    for (const auto& [taskId, task] : f.tasks) {
      if (!isTerminal(task.state())) {
        std::string name = v1::TaskState_Name(task.state()).substr(5);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        m["master/tasks_" + name] += 1;
      }
    }
    m["master/tasks_unreachable"] += static_cast<double>(f.unreachableTasks.size());
  }
  m["master/frameworks_active"] = fActive;
  m["master/frameworks_inactive"] = fInactive;
  m["master/frameworks_connected"] = fConnected;
  m["master/frameworks_disconnected"] = fDisconnected;
  m["master/outstanding_offers"] = static_cast<double>(offerBook_.size());
  m["master/operator_event_stream_subscribers"] = static_cast<double>(subscribers_.size());
  m["allocator/mesos/allocation_run_ms"] = lastAllocationMs_;
  if (security_) {
    for (const auto& [name, value] : security_->metrics()) m["master/" + name] = value;
  }
  if (server_ && flags_.security.tls()) {
    m["master/tls/handshake_failures"] = static_cast<double>(server_->tlsHandshakeFailures());
  }
  return m;
}

std::string MasterImpl::explainJson(const std::string& frameworkId, const std::string& role) {
  module::v1::ExplainRequest request;
  if (!frameworkId.empty()) request.mutable_framework_id()->set_value(frameworkId);
  if (!role.empty()) request.set_role(role);
  Result<module::v1::ExplainResponse> response = allocator_.explain(request);
  std::string out = "{";
  out += frameworkId.empty() ? "\"role\":" + jsonString(role) : "\"framework_id\":" + jsonString(frameworkId);
  out += ",\"allocator\":" + jsonString(flags_.allocator);
  if (!response.ok()) {
    out += ",\"error\":" + jsonString(response.error().message) + "}";
    return out;
  }
  out += ",\"reasons\":[";
  for (int i = 0; i < response->reasons_size(); ++i) {
    if (i > 0) out += ",";
    out += jsonString(response->reasons(i));
  }
  out += "],\"entries\":[";
  for (int i = 0; i < response->entries_size(); ++i) {
    const auto& e = response->entries(i);
    if (i > 0) out += ",";
    out += "{\"framework_id\":" + jsonString(e.framework_id().value()) + ",\"role\":" + jsonString(e.role()) +
           ",\"code\":" + jsonString(module::v1::ExplainResponse::Code_Name(e.code())) +
           ",\"agent_count\":" + std::to_string(e.agent_count()) + ",\"message\":" + jsonString(e.message()) + "}";
  }
  out += "]}";
  return out;
}

}  // namespace mantle::master
