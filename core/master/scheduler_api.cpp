// The scheduler API on the state thread: subscriptions and failover, ACCEPT
// validation and launches, declines, filters, kills, acknowledgements,
// reconciliation; and the task bookkeeping they share with the agent side.
#include <cmath>
#include <cstdio>

#include "master/master_impl.hpp"
#include "master/validation.hpp"
#include "resources/format.hpp"
#include "wire/recordio.hpp"
#include "wire/secrets.hpp"

namespace mantle::master {

using v1::scheduler::Call;
using v1::scheduler::Event;

namespace {

http::Response accepted() { return http::Response{202, {}, ""}; }

// The shared resources (Resource.shared: shared persistent volumes) of
// `resources` that `taken` does not hold yet. A task's shared resources stay
// available to the ACCEPT's other tasks (Mesos' SHARED_RESOURCES).
Resources sharedNotIn(const Resources& resources, const Resources& taken) {
  Resources out;
  for (const v1::Resource& r : resources.items()) {
    Resources one;
    one.add(r);
    if (r.has_shared() && !taken.contains(one)) out.add(r);
  }
  return out;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool partitionAware(const Framework& f) {
  return hasCapability(f.info, v1::FrameworkInfo::Capability::PARTITION_AWARE);
}

// Answers a SUBSCRIBE with one ERROR event and closes the stream.
void refuseSubscription(const http::Responder& responder, wire::ResponseFormat format, const std::string& message) {
  std::shared_ptr<http::Stream> stream = responder.stream(200, {{"Content-Type", std::string(format.contentType())}});
  Event event;
  event.set_type(Event::ERROR);
  event.mutable_error()->set_message(message);
  stream->write(wire::encodeRecord(wire::encode(event, format.message)));
  stream->close();
}

// A framework without RESERVATION_REFINEMENT gets resources in Mesos'
// pre-refinement format (`role`, `reservation`), as a Mesos master sends them.
// The allocator offers it no refined reservations, the one thing that format
// cannot say.
void toPreRefinementFormat(Event* event) {
  if (Status s = resources::downgradeResources(event); !s.ok()) {
    LOG(ERROR) << "an event for a framework without RESERVATION_REFINEMENT: " << s.error().message;
  }
}

// A v1 subscription: RecordIO-framed events on the SUBSCRIBE's response.
class HttpEventSink : public EventSink {
 public:
  HttpEventSink(std::shared_ptr<http::Stream> stream, wire::MediaType mediaType)
      : stream_(std::move(stream)), mediaType_(mediaType) {}
  void send(const Event& event) override { stream_->write(wire::encodeRecord(wire::encode(event, mediaType_))); }
  void close() override { stream_->close(); }

 private:
  std::shared_ptr<http::Stream> stream_;
  wire::MediaType mediaType_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Events

void MasterImpl::sendEvent(Framework& framework, const Event& event) {
  if (!framework.connected || !framework.sink) return;
  if (hasCapability(framework.info, v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT)) {
    return framework.sink->send(event);
  }
  Event copy = event;
  sendEvent(framework, &copy);
}

void MasterImpl::sendEvent(Framework& framework, Event* event) {
  if (!framework.connected || !framework.sink) return;
  if (!hasCapability(framework.info, v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT)) {
    toPreRefinementFormat(event);
  }
  framework.sink->send(*event);
}

void MasterImpl::sendError(Framework& framework, const std::string& message) {
  Event event;
  event.set_type(Event::ERROR);
  event.mutable_error()->set_message(message);
  sendEvent(framework, event);
}

void MasterImpl::sendMasterUpdate(Framework& framework, const v1::TaskID& taskId, const std::string& agentId,
                                  v1::TaskState state, v1::TaskStatus::Reason reason, const std::string& message) {
  Event event;
  event.set_type(Event::UPDATE);
  v1::TaskStatus* status = event.mutable_update()->mutable_status();
  *status->mutable_task_id() = taskId;
  status->set_state(state);
  status->set_source(v1::TaskStatus::SOURCE_MASTER);
  status->set_reason(reason);
  if (!message.empty()) status->set_message(message);
  if (!agentId.empty()) status->mutable_agent_id()->set_value(agentId);
  status->set_timestamp(wallNow());
  count("master/" + lower(v1::TaskState_Name(state)) + "/source_master/" + lower(v1::TaskStatus::Reason_Name(reason)));
  sendEvent(framework, event);
}

// ---------------------------------------------------------------------------
// Dispatch

void MasterImpl::schedulerCall(Call call, std::string streamId, wire::ResponseFormat format,
                               http::Responder responder, std::optional<auth::Principal> principal) {
  count("master/messages_scheduler_calls");
  count("master/calls/" + lower(Call::Type_Name(call.type())));
  if (call.type() == Call::SUBSCRIBE) return subscribe(call, httpSubscriber(format, responder));
  auto it = frameworks_.find(call.framework_id().value());
  if (it == frameworks_.end()) {
    return responder.respond(http::Response::text(400, "Framework cannot be found"));
  }
  Framework& f = it->second;
  if (principal && f.info.principal() != principal->value) {
    return responder.respond(http::Response::text(
        400, "Authenticated principal '" + principal->value + "' does not match principal '" + f.info.principal() +
                 "' of framework " + f.id));
  }
  if (!f.connected) return responder.respond(http::Response::text(403, "Framework is not subscribed"));
  if (streamId.empty()) {
    return responder.respond(
        http::Response::text(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"));
  }
  if (streamId != f.streamId) {
    return responder.respond(http::Response::text(
        400, "The stream ID '" + streamId + "' included in this request didn't match the stream ID currently "
             "associated with framework ID " + f.id));
  }
  bool update = call.type() == Call::UPDATE_FRAMEWORK;
  if (Status done = frameworkCall(f, call); !done.ok()) return responder.respond(http::Response::error(done.error()));
  responder.respond(update ? http::Response{200, {}, ""} : accepted());
}

Status MasterImpl::frameworkCall(Framework& f, const Call& call) {
  switch (call.type()) {
    case Call::TEARDOWN:
      teardown(f);
      break;
    case Call::ACCEPT:
      accept(f, call.accept());
      break;
    case Call::DECLINE:
      decline(f, call.decline());
      break;
    case Call::REVIVE:
      revive(f, call.revive());
      break;
    case Call::SUPPRESS:
      suppress(f, call.suppress());
      break;
    case Call::KILL:
      kill(f, call.kill());
      break;
    case Call::SHUTDOWN:
      shutdownExecutor(f, call.shutdown());
      break;
    case Call::ACKNOWLEDGE:
      acknowledge(f, call.acknowledge());
      break;
    case Call::RECONCILE:
      reconcile(f, call.reconcile());
      break;
    case Call::MESSAGE:
      frameworkMessage(f, call.message());
      break;
    case Call::UPDATE_FRAMEWORK: {
      Status updated = updateFramework(f, call.update_framework());
      if (!updated.ok()) return updated.error().withContext("Failed to update framework");
      break;
    }
    case Call::ACKNOWLEDGE_OPERATION_STATUS: acknowledgeOperationStatus(f, call.acknowledge_operation_status()); break;
    case Call::RECONCILE_OPERATIONS: reconcileOperations(f, call.reconcile_operations()); break;
    case Call::ACCEPT_INVERSE_OFFERS:
      answerInverseOffers(f, call.accept_inverse_offers().inverse_offer_ids(), call.accept_inverse_offers().filters(),
                          /*accept=*/true);
      break;
    case Call::DECLINE_INVERSE_OFFERS:
      answerInverseOffers(f, call.decline_inverse_offers().inverse_offer_ids(), call.decline_inverse_offers().filters(),
                          /*accept=*/false);
      break;
    case Call::REQUEST:
      // Mesos' own allocator ignores REQUEST too.
      break;
    default:
      return unimplemented("Received an unexpected '" + Call::Type_Name(call.type()) + "' call");
  }
  return {};
}

// ---------------------------------------------------------------------------
// SUBSCRIBE and framework lifecycle

Subscriber MasterImpl::httpSubscriber(wire::ResponseFormat format, const http::Responder& responder) {
  Subscriber subscriber;
  subscriber.refuse = [format, responder](const std::string& message) {
    refuseSubscription(responder, format, message);
  };
  subscriber.open = [this, format, responder](const std::string& id, const std::string& streamId) {
    std::shared_ptr<http::Stream> stream = responder.stream(
        200, {{"Content-Type", std::string(format.contentType())}, {std::string(wire::kMesosStreamIdHeader), streamId}});
    std::weak_ptr<MasterImpl> weak = weak_from_this();
    stream->onClose([weak, id, streamId] {
      if (auto self = weak.lock()) self->post([self, id, streamId] { self->frameworkDisconnected(id, streamId); });
    });
    return std::make_shared<HttpEventSink>(stream, format.message);
  };
  return subscriber;
}

void MasterImpl::subscribe(const Call& call, Subscriber subscriber, bool recorded) {
  const Call::Subscribe& sub = call.subscribe();
  v1::FrameworkInfo info = sub.framework_info();
  const auto& refuse = subscriber.refuse;
  if (Status valid = validateFrameworkInfo(info, sub.suppressed_roles()); !valid.ok()) {
    return refuse(valid.error().message);
  }
  Result<OfferConstraintsFilter> constraints =
      OfferConstraintsFilter::create(sub.offer_constraints(), frameworkRoles(info));
  if (!constraints.ok()) return refuse(constraints.error().message);
  std::string id = info.id().value();
  if (!id.empty() && removedFrameworkIds_.count(id)) return refuse("Framework has been removed");

  bool added = false;  // new to the allocator
  bool known = !id.empty() && frameworks_.count(id);
  if (known) {
    const v1::FrameworkInfo& current = frameworks_.at(id).info;
    if (current.has_principal() && info.principal() != current.principal()) {
      return refuse("Changing the framework's principal is not allowed");
    }
  }
  if (!recorded) {
    // SUBSCRIBED only once the registry holds the framework (with the id
    // assigned here for a new one).
    Call withId = call;
    if (known) {  // immutable on re-subscription (see below)
      v1::FrameworkInfo* staged = withId.mutable_subscribe()->mutable_framework_info();
      const v1::FrameworkInfo& current = frameworks_.at(id).info;
      if (!current.user().empty()) staged->set_user(current.user());
      staged->set_checkpoint(current.checkpoint());
    }
    if (id.empty()) {
      char buffer[32];
      std::snprintf(buffer, sizeof(buffer), "-%04llu", static_cast<unsigned long long>(nextFrameworkId_++));
      withId.mutable_subscribe()->mutable_framework_info()->mutable_id()->set_value(masterId_ + buffer);
    }
    v1::FrameworkInfo staged = withId.subscribe().framework_info();
    registrar_.submit(RegistryOperation{
        [staged](RegistryState& state) {
          for (v1::FrameworkInfo& f : state.frameworks) {
            if (f.id().value() == staged.id().value()) return void(f = staged);
          }
          state.frameworks.push_back(staged);
        },
        [this, withId, subscriber] { subscribe(withId, subscriber, /*recorded=*/true); },
        [refuse = subscriber.refuse](const Error& error) {
          refuse("Failed to record the framework in the registry: " + error.message);
        }});
    return;
  }
  Framework* f;
  if (!known) {
    f = &frameworks_[id];
    f->id = id;
    f->registeredTime = wallNow();
    added = true;
  } else {
    f = &frameworks_.at(id);
    // Failover: the old subscription ends with an ERROR.
    if (f->connected && f->sink) {
      sendError(*f, "Framework failed over");
      f->sink->close();
    }
    if (f->failoverTimer) {
      f->failoverTimer->cancel();
      f->failoverTimer.reset();
    }
    offerBook_.rescindOfFramework(f->id);
    // Immutable on re-subscription: silently kept.
    if (!f->info.user().empty()) info.set_user(f->info.user());
    info.set_checkpoint(f->info.checkpoint());
    f->reregisteredTime = wallNow();
  }
  bool wasRecovered = f->recovered;
  f->info = info;
  f->recovered = false;
  f->streamId = uuid::randomText();
  f->sink = subscriber.open(id, f->streamId);
  f->connected = true;
  f->active = true;
  f->suppressedRoles = {sub.suppressed_roles().begin(), sub.suppressed_roles().end()};
  f->offerConstraints = std::move(*constraints);
  f->offerConstraintsInfo = sub.offer_constraints();

  if (added) {
    module::v1::AllocatorAddFramework request;
    *request.mutable_framework_info() = convert<module::v1::FrameworkInfo>(info).value();
    request.set_active(true);
    for (const std::string& role : sub.suppressed_roles()) request.add_suppressed_roles(role);
    allocator_.addFramework(request);
  } else {
    module::v1::AllocatorUpdateFramework request;
    *request.mutable_framework_info() = convert<module::v1::FrameworkInfo>(info).value();
    for (const std::string& role : sub.suppressed_roles()) request.add_suppressed_roles(role);
    allocator_.updateFramework(request);
    allocator_.setFrameworkActive(id, true);
  }

  Event subscribed;
  subscribed.set_type(Event::SUBSCRIBED);
  subscribed.mutable_subscribed()->mutable_framework_id()->set_value(id);
  subscribed.mutable_subscribed()->set_heartbeat_interval_seconds(flags_.heartbeatInterval);
  *subscribed.mutable_subscribed()->mutable_master_info() = masterInfo_;
  sendEvent(*f, subscribed);
  Event heartbeat;
  heartbeat.set_type(Event::HEARTBEAT);
  sendEvent(*f, heartbeat);

  if (known || wasRecovered) {
    internal::Event update;
    update.set_type(internal::Event::UPDATE_FRAMEWORK);
    *update.mutable_update_framework()->mutable_framework_info() = info;
    std::set<std::string> agentIds;
    for (const auto& [taskId, task] : f->tasks) agentIds.insert(task.agent_id().value());
    for (const auto& [agentId, executors] : f->executors) agentIds.insert(agentId);
    for (const std::string& agentId : agentIds) {
      auto a = agents_.find(agentId);
      if (a != agents_.end()) sendAgentEvent(a->second, update);
    }
  }
  v1::master::Event op;
  if (known) {
    op.set_type(v1::master::Event::FRAMEWORK_UPDATED);
    *op.mutable_framework_updated()->mutable_framework() = frameworkProto(*f);
  } else {
    op.set_type(v1::master::Event::FRAMEWORK_ADDED);
    *op.mutable_framework_added()->mutable_framework() = frameworkProto(*f);
  }
  emitOperatorEvent(op);
  LOG(INFO) << (known ? "Re-subscribed" : "Subscribed") << " framework " << id << " (" << info.name() << ")";
  registrar_.persist();
  requestAllocation();
}

void MasterImpl::frameworkDisconnected(const std::string& frameworkId, const std::string& streamId) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  Framework& f = it->second;
  if (!f.connected || f.streamId != streamId) return;
  LOG(INFO) << "Framework " << frameworkId << " disconnected; failover timeout " << f.info.failover_timeout() << "s";
  f.connected = false;
  f.active = false;
  f.sink.reset();
  f.unregisteredTime = wallNow();
  offerBook_.rescindOfFramework(f.id);
  allocator_.setFrameworkActive(frameworkId, false);
  f.failoverTimer = std::make_shared<asio::steady_timer>(stateIo_);
  f.failoverTimer->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(f.info.failover_timeout())));
  std::weak_ptr<MasterImpl> weak = weak_from_this();
  TimerPtr timer = f.failoverTimer;
  timer->async_wait([weak, frameworkId, timer](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->failoverExpired(frameworkId, timer);
  });
  v1::master::Event op;
  op.set_type(v1::master::Event::FRAMEWORK_UPDATED);
  *op.mutable_framework_updated()->mutable_framework() = frameworkProto(f);
  emitOperatorEvent(op);
}

void MasterImpl::failoverExpired(const std::string& frameworkId, const TimerPtr& timer) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end() || it->second.connected || it->second.failoverTimer != timer) return;
  LOG(INFO) << "Framework " << frameworkId << " did not re-subscribe within its failover timeout; removing it";
  removeFramework(frameworkId, "failover timeout");
}

void MasterImpl::teardown(Framework& framework) {
  std::string id = framework.id;
  removeFramework(id, "teardown");
}

void MasterImpl::removeFramework(const std::string& frameworkId, const std::string& reason) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  Framework& f = it->second;
  operations_.erase(frameworkId);
  for (const std::string& offerId : offerBook_.ofFramework(frameworkId)) offerBook_.remove(offerId, /*rescind=*/false);
  if (f.failoverTimer) f.failoverTimer->cancel();

  std::set<std::string> agentIds;
  for (const auto& [taskId, task] : f.tasks) agentIds.insert(task.agent_id().value());
  for (const auto& [agentId, executors] : f.executors) agentIds.insert(agentId);
  internal::Event shutdown;
  shutdown.set_type(internal::Event::SHUTDOWN_FRAMEWORK);
  shutdown.mutable_shutdown_framework()->mutable_framework_id()->set_value(frameworkId);
  for (const std::string& agentId : agentIds) {
    auto a = agents_.find(agentId);
    if (a != agents_.end()) sendAgentEvent(a->second, shutdown);
  }
  for (auto& [taskId, task] : f.tasks) {
    auto a = agents_.find(task.agent_id().value());
    if (a != agents_.end()) a->second.tasks.erase({frameworkId, taskId});
    if (!isTerminal(task.state())) {
      v1::TaskStatus status;
      *status.mutable_task_id() = task.task_id();
      status.set_state(v1::TASK_KILLED);
      status.set_source(v1::TaskStatus::SOURCE_MASTER);
      status.set_reason(v1::TaskStatus::REASON_FRAMEWORK_REMOVED);
      status.set_message("Framework removed: " + reason);
      status.set_timestamp(wallNow());
      *status.mutable_agent_id() = task.agent_id();
      task.set_state(v1::TASK_KILLED);
      *task.add_statuses() = status;
      v1::master::Event op;
      op.set_type(v1::master::Event::TASK_UPDATED);
      op.mutable_task_updated()->mutable_framework_id()->set_value(frameworkId);
      *op.mutable_task_updated()->mutable_status() = status;
      op.mutable_task_updated()->set_state(v1::TASK_KILLED);
      emitOperatorEvent(op);
    }
    f.completedTasks.push_back(task);
  }
  f.tasks.clear();
  for (auto& [taskId, task] : f.unreachableTasks) f.completedTasks.push_back(task);
  f.unreachableTasks.clear();
  while (f.completedTasks.size() > static_cast<std::size_t>(flags_.maxCompletedTasksPerFramework)) {
    f.completedTasks.pop_front();
  }
  allocator_.removeFramework(frameworkId);
  if (f.sink) f.sink->close();
  f.sink.reset();
  f.connected = false;
  f.active = false;
  f.unregisteredTime = wallNow();

  v1::master::Event op;
  op.set_type(v1::master::Event::FRAMEWORK_REMOVED);
  *op.mutable_framework_removed()->mutable_framework_info() = f.info;
  emitOperatorEvent(op);

  removedFrameworkIds_.insert(frameworkId);
  completedFrameworks_.push_back(std::move(f));
  frameworks_.erase(it);
  while (completedFrameworks_.size() > static_cast<std::size_t>(flags_.maxCompletedFrameworks)) {
    completedFrameworks_.pop_front();
  }
  LOG(INFO) << "Removed framework " << frameworkId << " (" << reason << ")";
  registrar_.persist();
}

Status MasterImpl::updateFramework(Framework& f, const Call::UpdateFramework& update) {
  const v1::FrameworkInfo& info = update.framework_info();
  if (Status valid = validateFrameworkInfo(info, update.suppressed_roles()); !valid.ok()) return valid;
  if (info.user() != f.info.user()) return invalidArgument("'user' cannot be changed");
  if (info.checkpoint() != f.info.checkpoint()) return invalidArgument("'checkpoint' cannot be changed");
  if (info.principal() != f.info.principal()) return invalidArgument("'principal' cannot be changed");
  std::vector<std::string> newRoles = frameworkRoles(info);
  Result<OfferConstraintsFilter> constraints = OfferConstraintsFilter::create(update.offer_constraints(), newRoles);
  if (!constraints.ok()) return constraints.error();
  std::set<std::string> roleSet(newRoles.begin(), newRoles.end());
  f.info = info;
  f.suppressedRoles = {update.suppressed_roles().begin(), update.suppressed_roles().end()};
  f.offerConstraints = std::move(*constraints);
  f.offerConstraintsInfo = update.offer_constraints();
  // Offers in roles the framework left, or on agents its new constraints
  // exclude, are rescinded.
  for (const std::string& offerId : offerBook_.ofFramework(f.id)) {
    const OfferEntry* o = offerBook_.find(offerId);
    if (o == nullptr) continue;
    const std::string& role = o->offer().allocation_info().role();
    auto a = agents_.find(o->agentId);
    if (!roleSet.count(role) || (a != agents_.end() && f.offerConstraints.excludes(role, a->second.info))) {
      offerBook_.remove(offerId, true);
    }
  }
  module::v1::AllocatorUpdateFramework request;
  *request.mutable_framework_info() = convert<module::v1::FrameworkInfo>(info).value();
  for (const std::string& role : update.suppressed_roles()) request.add_suppressed_roles(role);
  allocator_.updateFramework(request);

  internal::Event event;
  event.set_type(internal::Event::UPDATE_FRAMEWORK);
  *event.mutable_update_framework()->mutable_framework_info() = info;
  std::set<std::string> agentIds;
  for (const auto& [taskId, task] : std::as_const(f.tasks)) agentIds.insert(task.agent_id().value());
  for (const std::string& agentId : agentIds) {
    auto a = agents_.find(agentId);
    if (a != agents_.end()) sendAgentEvent(a->second, event);
  }
  v1::master::Event op;
  op.set_type(v1::master::Event::FRAMEWORK_UPDATED);
  *op.mutable_framework_updated()->mutable_framework() = frameworkProto(f);
  emitOperatorEvent(op);
  registrar_.persist();
  requestAllocation();
  return {};
}

// ---------------------------------------------------------------------------
// Offers: ACCEPT, DECLINE, REVIVE, SUPPRESS

void MasterImpl::decline(Framework& f, const Call::Decline& decline) {
  double refuse = decline.filters().refuse_seconds();
  if (!std::isfinite(refuse) || refuse < 0) refuse = 5.0;
  refuse = std::min(refuse, 31536000.0);
  for (const v1::OfferID& offerId : decline.offer_ids()) {
    const OfferEntry* o = offerBook_.find(offerId.value());
    if (o == nullptr || o->frameworkId != f.id) continue;
    ++f.declinedOffers;
    count("master/offers_declined");
    offerBook_.remove(offerId.value(), /*rescind=*/false, refuse);
  }
}

void MasterImpl::revive(Framework& f, const Call::Revive& revive) {
  module::v1::AllocatorRoles request;
  request.mutable_framework_id()->set_value(f.id);
  for (const std::string& role : revive.roles()) request.add_roles(role);
  if (revive.roles().empty()) {
    f.suppressedRoles.clear();
  } else {
    for (const std::string& role : revive.roles()) f.suppressedRoles.erase(role);
  }
  allocator_.revive(request);
  requestAllocation();
}

void MasterImpl::suppress(Framework& f, const Call::Suppress& suppress) {
  module::v1::AllocatorRoles request;
  request.mutable_framework_id()->set_value(f.id);
  for (const std::string& role : suppress.roles()) request.add_roles(role);
  if (suppress.roles().empty()) {
    for (const std::string& role : frameworkRoles(f.info)) f.suppressedRoles.insert(role);
  } else {
    for (const std::string& role : suppress.roles()) f.suppressedRoles.insert(role);
  }
  allocator_.suppress(request);
}

void MasterImpl::accept(Framework& f, const Call::Accept& accept) {
  count("master/messages_accept");
  Result<std::string> offersAgent = validation::offers(accept.offer_ids(), f.id, offerBook_.all());
  if (!offersAgent.ok()) {
    const std::string& error = offersAgent.error().message;
    for (const v1::OfferID& offerId : accept.offer_ids()) {
      const OfferEntry* o = offerBook_.find(offerId.value());
      if (o != nullptr && o->frameworkId == f.id) offerBook_.remove(offerId.value(), false);
    }
    v1::TaskState state = partitionAware(f) ? v1::TASK_DROPPED : v1::TASK_LOST;
    for (const v1::Offer::Operation& op : accept.operations()) {
      operationFeedback(f, "", op, v1::OPERATION_ERROR, error, {});
      if (op.type() == v1::Offer::Operation::LAUNCH) {
        for (const v1::TaskInfo& task : op.launch().task_infos()) {
          sendMasterUpdate(f, task.task_id(), task.agent_id().value(), state,
                           v1::TaskStatus::REASON_INVALID_OFFERS, error);
        }
      } else if (op.type() == v1::Offer::Operation::LAUNCH_GROUP) {
        for (const v1::TaskInfo& task : op.launch_group().task_group().tasks()) {
          sendMasterUpdate(f, task.task_id(), task.agent_id().value(), state,
                           v1::TaskStatus::REASON_INVALID_OFFERS, error);
        }
      }
    }
    LOG(WARNING) << "ACCEPT from framework " << f.id << " dropped: " << error;
    return;
  }
  const std::string agentId = *offersAgent;

  Resources available;
  std::set<std::string> roles;
  for (const v1::OfferID& offerId : accept.offer_ids()) {
    OfferEntry entry = *offerBook_.take(offerId.value());
    available += entry.resources();
    roles.insert(entry.offer().allocation_info().role());
  }
  Agent& agent = agents_.at(agentId);
  double refuse = accept.filters().refuse_seconds();
  if (!std::isfinite(refuse) || refuse < 0) refuse = 5.0;
  refuse = std::min(refuse, 31536000.0);

  std::set<std::string> launched;  // task ids in this ACCEPT
  Resources sharedUsed;            // shared resources this ACCEPT's tasks hold
  // The framework's executors on the agent; this ACCEPT's join as they launch.
  auto& knownExecutors = f.executors[agentId];
  const validation::LaunchContext context{f.id, agentId, roles, f.tasks, f.unreachableTasks, launched, knownExecutors};

  bool converted = false;
  Resources produced;  // by this ACCEPT's RESERVE/UNRESERVE/CREATE/DESTROY
  // run_tasks: the framework's principal, the task's user (Mesos). A refused
  // task's resources stay available to the ACCEPT's other operations.
  auth::RequestAuthorizer runTasks = runTasksAuthorizer(f);
  for (const v1::Offer::Operation& op : accept.operations()) {
    if (std::optional<std::string> e = operationFeedbackError(op)) {
      operationFeedback(f, agentId, op, v1::OPERATION_ERROR, *e, {});
      for (const v1::TaskInfo& task : op.launch().task_infos()) {
        sendMasterUpdate(f, task.task_id(), agentId, v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_INVALID, *e);
      }
      for (const v1::TaskInfo& task : op.launch_group().task_group().tasks()) {
        sendMasterUpdate(f, task.task_id(), agentId, v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_GROUP_INVALID, *e);
      }
      continue;
    }
    switch (op.type()) {
      case v1::Offer::Operation::LAUNCH: {
        for (const v1::TaskInfo& task : op.launch().task_infos()) {
          if (Status authorized = authorizeRunTask(f, task, nullptr, runTasks); !authorized.ok()) {
            sendMasterUpdate(f, task.task_id(), agentId, v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_UNAUTHORIZED,
                             authorized.error().message);
            continue;
          }
          Result<validation::LaunchableTask> checked = validation::task(task, nullptr, available, context);
          if (!checked.ok()) {
            count("master/invalid_tasks");
            sendMasterUpdate(f, task.task_id(), agentId, v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_INVALID,
                             checked.error().message);
            continue;
          }
          v1::TaskInfo& toSend = checked->task;
          // The hooks decorate a valid task; a failing or slow decorator
          // refuses it (its resources stay available).
          Result<v1::Labels> labels = decorateLaunchLabels(f, agent, toSend);
          if (!labels.ok()) {
            count("master/invalid_tasks");
            sendMasterUpdate(f, task.task_id(), agentId, v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_INVALID,
                             labels.error().message);
            continue;
          }
          if (hooks_ && !hooks_->empty()) *toSend.mutable_labels() = std::move(*labels);
          const Resources shared = sharedNotIn(checked->consumed, Resources());
          available = *available.minus(*checked->consumed.minus(shared));
          sharedUsed += sharedNotIn(shared, sharedUsed);
          launched.insert(task.task_id().value());
          bool launchExecutor = true;
          if (toSend.has_executor()) {
            launchExecutor = knownExecutors
                                 .emplace(toSend.executor().executor_id().value(),
                                          wire::redactedSecrets(toSend.executor()))
                                 .second;
          }
          addTask(f, agent, toSend);
          internal::Event run;
          run.set_type(internal::Event::RUN_TASK);
          *run.mutable_run_task()->mutable_framework_info() = f.info;
          *run.mutable_run_task()->mutable_task() = toSend;
          run.mutable_run_task()->set_launch_executor(launchExecutor);
          sendAgentEvent(agent, run);
        }
        break;
      }
      case v1::Offer::Operation::LAUNCH_GROUP: {
        const auto& group = op.launch_group();
        std::string groupError;
        v1::ExecutorInfo executor = group.executor();
        executor.mutable_framework_id()->set_value(f.id);
        Resources consumedAll;
        std::vector<v1::TaskInfo> toSend;
        bool launchExecutor = !knownExecutors.count(executor.executor_id().value());
        if (Status valid = validation::taskGroup(group); !valid.ok()) groupError = valid.error().message;
        // One unauthorized task refuses the whole group.
        bool unauthorized = false;
        for (const v1::TaskInfo& task : group.task_group().tasks()) {
          if (!groupError.empty()) break;
          if (Status authorized = authorizeRunTask(f, task, &executor, runTasks); !authorized.ok()) {
            unauthorized = true;
            groupError = authorized.error().message;
          }
        }
        if (groupError.empty()) {
          Result<Resources> executorResources = validation::allocated(executor.resources(), roles);
          if (!executorResources.ok()) {
            groupError = "Executor resources are invalid: " + executorResources.error().message;
          } else {
            executor.clear_resources();
            executorResources->copyTo(executor.mutable_resources());
            if (launchExecutor) consumedAll += *executorResources;
          }
        }
        for (const v1::TaskInfo& task : group.task_group().tasks()) {
          if (!groupError.empty()) break;
          Result<validation::LaunchableTask> checked = validation::task(task, &executor, available, context);
          if (!checked.ok()) {
            groupError = checked.error().message;
            break;
          }
          const Resources shared = sharedNotIn(checked->consumed, Resources());
          consumedAll += *checked->consumed.minus(shared) + sharedNotIn(shared, consumedAll);
          launched.insert(task.task_id().value());
          *checked->task.mutable_executor() = executor;
          toSend.push_back(std::move(checked->task));
        }
        // All or nothing: one failing decorator refuses the whole group.
        for (v1::TaskInfo& out : toSend) {
          if (!groupError.empty() || !hooks_ || hooks_->empty()) break;
          Result<v1::Labels> labels = decorateLaunchLabels(f, agent, out);
          if (!labels.ok()) {
            groupError = labels.error().message;
            break;
          }
          *out.mutable_labels() = std::move(*labels);
        }
        if (groupError.empty() && !available.contains(consumedAll)) {
          groupError = "Task group uses more resources (" + consumedAll.toString() +
                       ") than available in the offers (" + available.toString() + ")";
        }
        if (!groupError.empty()) {
          count("master/invalid_tasks");
          for (const v1::TaskInfo& task : group.task_group().tasks()) {
            launched.erase(task.task_id().value());
            sendMasterUpdate(f, task.task_id(), agentId, v1::TASK_ERROR,
                             unauthorized ? v1::TaskStatus::REASON_TASK_GROUP_UNAUTHORIZED
                                          : v1::TaskStatus::REASON_TASK_GROUP_INVALID,
                             groupError);
          }
          break;
        }
        available = *available.minus(consumedAll) + sharedNotIn(consumedAll, Resources());
        sharedUsed += sharedNotIn(consumedAll, sharedUsed);
        knownExecutors.emplace(executor.executor_id().value(), wire::redactedSecrets(executor));
        internal::Event run;
        run.set_type(internal::Event::RUN_TASK_GROUP);
        *run.mutable_run_task_group()->mutable_framework_info() = f.info;
        *run.mutable_run_task_group()->mutable_executor() = executor;
        for (v1::TaskInfo& task : toSend) {
          addTask(f, agent, task);
          task.clear_executor();
          *run.mutable_run_task_group()->mutable_task_group()->add_tasks() = task;
        }
        run.mutable_run_task_group()->set_launch_executor(launchExecutor);
        sendAgentEvent(agent, run);
        break;
      }
      case v1::Offer::Operation::RESERVE:
      case v1::Offer::Operation::UNRESERVE:
      case v1::Offer::Operation::CREATE:
      case v1::Offer::Operation::DESTROY: {
        Result<validation::Conversion> conversion = validation::operation(op, &roles);
        std::string opError;
        if (!conversion.ok()) {
          opError = conversion.error().message;
        } else if (!available.contains(conversion->consumed)) {
          opError =
              "operation needs " + conversion->consumed.toString() + " but the offers have " + available.toString();
        }
        if (!opError.empty()) {
          count("master/invalid_operations");
          LOG(WARNING) << "Dropping " << v1::Offer::Operation::Type_Name(op.type()) << " of framework " << f.id
                       << ": " << opError;
          operationFeedback(f, agentId, op, v1::OPERATION_ERROR, opError, {});
          break;
        }
        available = *available.minus(conversion->consumed);
        available += conversion->produced;
        produced += conversion->produced;
        Result<Resources> total = agent.total.minus(conversion->consumed.withoutAllocation());
        if (total.ok()) agent.total = *total + conversion->produced.withoutAllocation();
        converted = true;
        internal::Event apply;
        apply.set_type(internal::Event::APPLY_OPERATION);
        apply.mutable_apply_operation()->mutable_framework_id()->set_value(f.id);
        *apply.mutable_apply_operation()->mutable_operation() = op;
        apply.mutable_apply_operation()->mutable_operation_uuid()->set_value(uuid::randomBytes());
        sendAgentEvent(agent, apply);
        operationFeedback(f, agentId, op, v1::OPERATION_FINISHED, "", conversion->produced);
        break;
      }
      default:
        LOG(WARNING) << "Framework " << f.id << " asked for unsupported operation "
                     << v1::Offer::Operation::Type_Name(op.type()) << "; ignored";
        break;
    }
  }
  // The shared resources the tasks hold go back with their last task.
  if (Result<Resources> unused = available.minus(sharedUsed); unused.ok()) available = *unused;
  if (converted) {
    // The allocator has no "convert" call: give it the agent afresh, with the
    // leftovers counted as this framework's until they are recovered below.
    if (agent.inAllocator) allocator_.removeAgent(agentId);
    agent.inAllocator = false;
    addAgentToAllocator(agent, {{f.id, available}});
    agentsChanged();
  }
  // As Mesos: what the operations produced and nothing used is offered again
  // unfiltered (a RESERVE's reservation comes back at once); only the rest is
  // declined for the ACCEPT's refuse_seconds.
  Result<Resources> declined = available.minus(produced);
  if (!produced.empty() && declined.ok()) {
    allocator_.recoverResources(f.id, agentId, produced, 0);
    available = *declined;
  }
  allocator_.recoverResources(f.id, agentId, available, refuse);
}

// ---------------------------------------------------------------------------
// Tasks

Result<v1::Labels> MasterImpl::decorateLaunchLabels(const Framework& f, const Agent& agent,
                                                    const v1::TaskInfo& task) {
  if (!hooks_ || hooks_->empty()) return task.labels();
  module::v1::TaskContext context;
  *context.mutable_framework_info() = convert<module::v1::FrameworkInfo>(f.info).value();
  context.mutable_framework_info()->mutable_id()->set_value(f.id);
  *context.mutable_task_info() = convert<module::v1::TaskInfo>(wire::redactedSecrets(task)).value();
  *context.mutable_agent_info() = convert<module::v1::AgentInfo>(agent.info).value();
  Result<module::v1::Labels> labels = hooks_->masterLaunchTaskLabels(context);
  if (!labels.ok()) return labels.error();
  return convert<v1::Labels>(*labels);
}

void MasterImpl::addTask(Framework& f, Agent& agent, const v1::TaskInfo& info) {
  v1::Task task;
  task.set_name(info.name());
  *task.mutable_task_id() = info.task_id();
  task.mutable_framework_id()->set_value(f.id);
  if (info.has_executor()) *task.mutable_executor_id() = info.executor().executor_id();
  task.mutable_agent_id()->set_value(agent.id);
  task.set_state(v1::TASK_STAGING);
  *task.mutable_resources() = info.resources();
  if (info.has_labels()) *task.mutable_labels() = info.labels();
  if (info.has_discovery()) *task.mutable_discovery() = info.discovery();
  if (info.has_container()) *task.mutable_container() = info.container();
  if (info.has_health_check()) *task.mutable_health_check() = info.health_check();
  if (info.has_kill_policy()) *task.mutable_kill_policy() = info.kill_policy();
  *task.mutable_limits() = info.limits();
  task.set_user(info.command().has_user() ? info.command().user() : f.info.user());
  wire::redactSecrets(task);  // kept to be shown
  agent.tasks.insert({f.id, info.task_id().value()});
  count("master/tasks_launched");
  v1::master::Event op;
  op.set_type(v1::master::Event::TASK_ADDED);
  *op.mutable_task_added()->mutable_task() = task;
  f.tasks.emplace(info.task_id().value(), std::move(task));
  emitOperatorEvent(op);
}

Resources MasterImpl::taskResources(const v1::Task& task) const {
  Result<Resources> r = Resources::from(task.resources());
  return r.ok() ? *r : Resources();
}

void MasterImpl::transitionTask(Framework& f, v1::Task& task, const v1::TaskStatus& status,
                                std::optional<v1::TaskState> latest) {
  v1::TaskState old = task.state();
  v1::TaskState next = latest ? *latest : status.state();
  if (!isTerminal(old)) task.set_state(next);
  if (!isTerminal(old) && isTerminal(next)) {
    // A shared resource another live task of the framework holds stays allocated.
    Resources released = taskResources(task);
    const Resources shared = sharedNotIn(released, Resources());
    for (const v1::Resource& r : shared.items()) {
      Resources one;
      one.add(r);
      for (const auto& [id, other] : std::as_const(f.tasks)) {
        if (&other == &task || isTerminal(other.state()) || other.agent_id().value() != task.agent_id().value() ||
            !taskResources(other).contains(one)) {
          continue;
        }
        if (Result<Resources> rest = released.minus(one); rest.ok()) released = *rest;
        break;
      }
    }
    allocator_.recoverResources(f.id, task.agent_id().value(), released, 0);
    count("master/tasks_" + lower(v1::TaskState_Name(next).substr(5)));
  }
  v1::TaskStatus recorded = status;
  recorded.clear_data();
  if (task.statuses_size() < 100) *task.add_statuses() = recorded;
  v1::master::Event op;
  op.set_type(v1::master::Event::TASK_UPDATED);
  op.mutable_task_updated()->mutable_framework_id()->set_value(f.id);
  *op.mutable_task_updated()->mutable_status() = status;
  op.mutable_task_updated()->set_state(task.state());
  // Operator subscribers hear of state changes (as in Mesos); hooks hear of
  // every update, in order (an agent may report a task's latest state ahead
  // of the update it forwards, so a change can come without a new state).
  if (task.state() != old) {
    emitOperatorEvent(op);
  } else {
    notifyHooks(op);
  }
}

void MasterImpl::completeTask(Framework& f, const std::string& taskId) {
  auto it = f.tasks.find(taskId);
  if (it == f.tasks.end()) return;
  auto a = agents_.find(it->second.agent_id().value());
  if (a != agents_.end()) a->second.tasks.erase({f.id, taskId});
  f.completedTasks.push_back(std::move(it->second));
  f.tasks.erase(it);
  while (f.completedTasks.size() > static_cast<std::size_t>(flags_.maxCompletedTasksPerFramework)) {
    f.completedTasks.pop_front();
  }
}

std::map<std::string, Resources> MasterImpl::usedOnAgent(const Agent& agent, bool includeOffers) const {
  std::map<std::string, Resources> used;
  for (const auto& [frameworkId, taskId] : agent.tasks) {
    auto f = frameworks_.find(frameworkId);
    if (f == frameworks_.end()) continue;
    auto t = f->second.tasks.find(taskId);
    if (t != f->second.tasks.end() && !isTerminal(t->second.state())) used[frameworkId] += taskResources(t->second);
  }
  for (const auto& [frameworkId, f] : frameworks_) {
    auto e = f.executors.find(agent.id);
    if (e == f.executors.end()) continue;
    for (const auto& [executorId, info] : e->second) {
      Result<Resources> r = Resources::from(info.resources());
      if (r.ok()) used[frameworkId] += *r;
    }
  }
  if (includeOffers) {
    for (const std::string& offerId : offerBook_.onAgent(agent.id)) {
      const OfferEntry* o = offerBook_.find(offerId);
      used[o->frameworkId] += o->resources();
    }
  }
  return used;
}

// ---------------------------------------------------------------------------
// KILL, SHUTDOWN, ACKNOWLEDGE, RECONCILE, MESSAGE

void MasterImpl::kill(Framework& f, const Call::Kill& kill) {
  const std::string& taskId = kill.task_id().value();
  auto t = f.tasks.find(taskId);
  if (t == f.tasks.end()) {
    if (f.unreachableTasks.count(taskId)) return;  // reconciled when the agent comes back
    sendMasterUpdate(f, kill.task_id(), kill.agent_id().value(), v1::TASK_LOST,
                     v1::TaskStatus::REASON_RECONCILIATION, "Attempted to kill an unknown task");
    return;
  }
  if (isTerminal(t->second.state())) return;
  auto a = agents_.find(t->second.agent_id().value());
  if (a == agents_.end()) return;
  internal::Event event;
  event.set_type(internal::Event::KILL_TASK);
  event.mutable_kill_task()->mutable_framework_id()->set_value(f.id);
  *event.mutable_kill_task()->mutable_task_id() = kill.task_id();
  if (kill.has_kill_policy()) {
    *event.mutable_kill_task()->mutable_kill_policy() = kill.kill_policy();
  } else if (t->second.has_kill_policy()) {
    *event.mutable_kill_task()->mutable_kill_policy() = t->second.kill_policy();
  }
  count("master/messages_kill_task");
  sendAgentEvent(a->second, event);
}

void MasterImpl::shutdownExecutor(Framework& f, const Call::Shutdown& shutdown) {
  auto a = agents_.find(shutdown.agent_id().value());
  if (a == agents_.end()) return;
  internal::Event event;
  event.set_type(internal::Event::SHUTDOWN_EXECUTOR);
  event.mutable_shutdown_executor()->mutable_framework_id()->set_value(f.id);
  *event.mutable_shutdown_executor()->mutable_executor_id() = shutdown.executor_id();
  sendAgentEvent(a->second, event);
}

void MasterImpl::acknowledge(Framework& f, const Call::Acknowledge& ack) {
  count("master/messages_status_update_acknowledgement");
  const std::string& taskId = ack.task_id().value();
  auto a = agents_.find(ack.agent_id().value());
  if (a != agents_.end()) {
    internal::Event event;
    event.set_type(internal::Event::ACKNOWLEDGE);
    event.mutable_acknowledge()->mutable_framework_id()->set_value(f.id);
    *event.mutable_acknowledge()->mutable_task_id() = ack.task_id();
    event.mutable_acknowledge()->set_uuid(ack.uuid());
    sendAgentEvent(a->second, event);
  }
  auto t = std::as_const(f.tasks).find(taskId);
  if (t != f.tasks.end() && t->second.status_update_uuid() == ack.uuid() &&
      isTerminal(t->second.status_update_state())) {
    completeTask(f, taskId);
  }
}

void MasterImpl::reconcile(Framework& f, const Call::Reconcile& reconcile) {
  count("master/messages_reconcile_tasks");
  bool aware = partitionAware(f);
  auto answer = [&](const v1::TaskID& taskId, const std::string& agentId, v1::TaskState state,
                    const std::string& message) {
    sendMasterUpdate(f, taskId, agentId, state, v1::TaskStatus::REASON_RECONCILIATION, message);
  };
  auto known = [&](const v1::Task& task) {
    Event event;
    event.set_type(Event::UPDATE);
    v1::TaskStatus* status = event.mutable_update()->mutable_status();
    if (task.statuses_size() > 0) *status = task.statuses(task.statuses_size() - 1);
    status->clear_uuid();
    *status->mutable_task_id() = task.task_id();
    status->set_state(task.state());
    *status->mutable_agent_id() = task.agent_id();
    if (task.has_executor_id()) *status->mutable_executor_id() = task.executor_id();
    status->set_source(v1::TaskStatus::SOURCE_MASTER);
    status->set_reason(v1::TaskStatus::REASON_RECONCILIATION);
    status->set_timestamp(wallNow());
    sendEvent(f, event);
  };
  if (reconcile.tasks().empty()) {
    // (Read through const: a snapshot then keeps every task's piece.)
    for (const auto& [taskId, task] : std::as_const(f.tasks)) known(task);
    for (const auto& [taskId, task] : std::as_const(f.unreachableTasks)) {
      answer(task.task_id(), task.agent_id().value(), aware ? v1::TASK_UNREACHABLE : v1::TASK_LOST,
             "Task is on an unreachable agent");
    }
    return;
  }
  for (const auto& item : reconcile.tasks()) {
    const std::string& taskId = item.task_id().value();
    std::string agentId = item.agent_id().value();
    const TaskMap& tasks = f.tasks;
    const TaskMap& unreachable = f.unreachableTasks;
    auto t = tasks.find(taskId);
    if (t != tasks.end()) {
      known(t->second);
      continue;
    }
    auto u = unreachable.find(taskId);
    if (u != unreachable.end()) {
      answer(item.task_id(), u->second.agent_id().value(), aware ? v1::TASK_UNREACHABLE : v1::TASK_LOST,
             "Task is on an unreachable agent");
      continue;
    }
    if (!agentId.empty() && recoveredAgents_.count(agentId)) continue;  // answered once the agent is back
    if (!agentId.empty() && agents_.count(agentId)) {
      answer(item.task_id(), agentId, aware ? v1::TASK_GONE : v1::TASK_LOST, "Task is unknown to the agent");
    } else if (!agentId.empty() && unreachableAgents_.count(agentId)) {
      answer(item.task_id(), agentId, aware ? v1::TASK_UNREACHABLE : v1::TASK_LOST, "Agent is unreachable");
    } else if (!agentId.empty() && goneAgents_.count(agentId)) {
      answer(item.task_id(), agentId, aware ? v1::TASK_GONE_BY_OPERATOR : v1::TASK_LOST,
             "Agent was marked gone");
    } else {
      answer(item.task_id(), agentId, aware ? v1::TASK_UNKNOWN : v1::TASK_LOST, "Task is unknown");
    }
  }
}

void MasterImpl::frameworkMessage(Framework& f, const Call::Message& message) {
  auto a = agents_.find(message.agent_id().value());
  if (a == agents_.end()) return;
  internal::Event event;
  event.set_type(internal::Event::FRAMEWORK_MESSAGE);
  event.mutable_framework_message()->mutable_framework_id()->set_value(f.id);
  *event.mutable_framework_message()->mutable_executor_id() = message.executor_id();
  event.mutable_framework_message()->set_data(message.data());
  count("master/messages_framework_to_executor");
  sendAgentEvent(a->second, event);
}

}  // namespace mantle::master
