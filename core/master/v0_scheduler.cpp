// The v0 scheduler driver (libmesos' MesosSchedulerDriver) on the master's
// HTTP port: the libprocess `master` actor. Its messages become the same
// scheduler Calls the v1 API serves, for the same frameworks; a v0
// framework's events go to its driver as the internal messages the driver
// expects (a V0EventSink). docs/V0.md lists what is served and refused.
#include "master/master_impl.hpp"
#include "master/validation.hpp"
#include "mesos/internal/messages.pb.h"
#include "mesos/scheduler/scheduler.pb.h"
#include "resources/format.hpp"

namespace mantle::master {

namespace {

using libprocess::Upid;
using v1::scheduler::Call;
using v1::scheduler::Event;
namespace msg = ::mesos::internal;

constexpr const char* kActor = "master";
constexpr const char* kAuthenticator = "authenticator";  // SASL conversations

// A v0 framework's events as the messages its driver installs handlers for.
class V0EventSink : public EventSink {
 public:
  // `agentPid` (state thread) names an agent's UPID, "" for none.
  V0EventSink(libprocess::Transport& transport, Upid master, Upid driver, std::string frameworkId, bool reregistered,
              std::function<std::string(const std::string& agentId)> agentPid)
      : transport_(transport),
        master_(std::move(master)),
        driver_(std::move(driver)),
        frameworkId_(std::move(frameworkId)),
        reregistered_(reregistered),
        agentPid_(std::move(agentPid)) {}

  void send(const Event& event) override {
    if (closed_) return;
    switch (event.type()) {
      case Event::SUBSCRIBED: {
        // A driver that registered without an id, or failed over, gets
        // FrameworkRegisteredMessage; one that reconnects gets
        // FrameworkReregisteredMessage (as Mesos answers).
        if (reregistered_) {
          msg::FrameworkReregisteredMessage message;
          *message.mutable_framework_id() = event.subscribed().framework_id();
          *message.mutable_master_info() = event.subscribed().master_info();
          return post(message);
        }
        msg::FrameworkRegisteredMessage message;
        *message.mutable_framework_id() = event.subscribed().framework_id();
        *message.mutable_master_info() = event.subscribed().master_info();
        return post(message);
      }
      case Event::OFFERS: {
        msg::ResourceOffersMessage message;
        for (const v1::Offer& offer : event.offers().offers()) {
          *message.add_offers() = offer;
          // No agent UPID: the driver then sends framework messages through
          // the master (MESSAGE), which reaches every Mantle agent.
          message.add_pids("");
        }
        return post(message);
      }
      case Event::RESCIND: {
        msg::RescindResourceOfferMessage message;
        *message.mutable_offer_id() = event.rescind().offer_id();
        return post(message);
      }
      case Event::UPDATE: {
        const v1::TaskStatus& status = event.update().status();
        msg::StatusUpdateMessage message;
        msg::StatusUpdate* update = message.mutable_update();
        update->mutable_framework_id()->set_value(frameworkId_);
        if (status.has_executor_id()) *update->mutable_executor_id() = status.executor_id();
        if (status.has_agent_id()) *update->mutable_slave_id() = status.agent_id();
        *update->mutable_status() = status;
        update->set_timestamp(status.timestamp());
        if (status.has_uuid()) update->set_uuid(status.uuid());
        // The driver keeps the uuid (and acknowledges) only for an update
        // that names the agent it came from.
        message.set_pid(status.has_uuid() && status.has_agent_id() ? agentPid_(status.agent_id().value()) : "");
        return post(message);
      }
      case Event::MESSAGE: {
        msg::ExecutorToFrameworkMessage message;
        *message.mutable_slave_id() = event.message().agent_id();
        message.mutable_framework_id()->set_value(frameworkId_);
        *message.mutable_executor_id() = event.message().executor_id();
        message.set_data(event.message().data());
        return post(message);
      }
      case Event::FAILURE: {
        const Event::Failure& failure = event.failure();
        if (failure.has_executor_id()) {
          msg::ExitedExecutorMessage message;
          *message.mutable_slave_id() = failure.agent_id();
          message.mutable_framework_id()->set_value(frameworkId_);
          *message.mutable_executor_id() = failure.executor_id();
          message.set_status(failure.status());
          return post(message);
        }
        msg::LostSlaveMessage message;
        *message.mutable_slave_id() = failure.agent_id();
        return post(message);
      }
      case Event::ERROR: {
        msg::FrameworkErrorMessage message;
        message.set_message(event.error().message());
        return post(message);
      }
      default:
        // HEARTBEAT (libprocess links stand in for it), inverse offers and
        // operation feedback: the v0 driver has no use for them.
        VLOG(2) << "Not sending " << Event::Type_Name(event.type()) << " to v0 driver " << driver_.str();
    }
  }

  void close() override { closed_ = true; }
  std::string driverPid() const override { return driver_.str(); }

 private:
  void post(const google::protobuf::MessageLite& message) { transport_.send(master_, driver_, message); }

  libprocess::Transport& transport_;
  Upid master_;
  Upid driver_;
  std::string frameworkId_;
  bool reregistered_;
  std::function<std::string(const std::string&)> agentPid_;
  bool closed_ = false;
};

Call callOf(Call::Type type, const v1::FrameworkID& frameworkId) {
  Call call;
  call.set_type(type);
  *call.mutable_framework_id() = frameworkId;
  return call;
}

// A v0 mesos.scheduler.Call as the v1 Call, and its SUBSCRIBE's `force`.
Result<std::pair<Call, bool>> v1CallOf(const std::string& body) {
  ::mesos::scheduler::Call v0;
  if (!v0.ParseFromString(body)) return invalidArgument("the body is not a mesos.scheduler.Call");
  ::mesos::scheduler::Call::Subscribe subscribe = v0.subscribe();
  bool hasSubscribe = v0.has_subscribe();
  v0.clear_subscribe();
  Call call;
  if (!call.ParseFromString(v0.SerializeAsString())) return invalidArgument("the body is not a mesos.scheduler.Call");
  if (!hasSubscribe) return std::pair{std::move(call), false};
  Call::Subscribe* out = call.mutable_subscribe();
  *out->mutable_framework_info() = subscribe.framework_info();
  *out->mutable_suppressed_roles() = subscribe.suppressed_roles();
  if (subscribe.has_offer_constraints()) *out->mutable_offer_constraints() = subscribe.offer_constraints();
  return std::pair{std::move(call), subscribe.force()};
}

}  // namespace

Status MasterImpl::startV0() {
  Result<Upid> self = Upid::parse(masterInfo_.pid());
  CHECK(self.ok()) << self.error().message;
  if (flags_.security.credentials) {
    Result<Credentials> credentials = loadCredentials(*flags_.security.credentials);
    if (!credentials.ok()) return credentials.error().withContext("--credentials");
    Result<std::unique_ptr<V0Authenticator>> authenticator = V0Authenticator::create(*credentials);
    if (!authenticator.ok()) return authenticator.error().withContext("--credentials");
    v0Authenticator_ = std::move(*authenticator);
  }
  libprocess_ = std::make_unique<libprocess::Transport>(libprocess::Transport::Address{self->host, self->port});
  std::weak_ptr<MasterImpl> weak = weak_from_this();
  libprocess_->onExited([weak](const Upid& driver) {
    if (auto master = weak.lock()) master->post([master, driver] { master->v0Exited(driver); });
  });
  libprocess::Transport& t = *libprocess_;
  // A 1.x driver sends mesos.scheduler.Call: v1's but for SUBSCRIBE.
  t.install(kActor, "mesos.scheduler.Call", [this](libprocess::Message message) {
    Result<std::pair<Call, bool>> call = v1CallOf(message.body);
    if (!call.ok()) {
      LOG(WARNING) << "libprocess: dropping a malformed mesos.scheduler.Call from " << message.from.str() << ": "
                   << call.error().message;
      return;
    }
    v0Call(message.from, std::move(call->first), call->second);
  });
  // What older drivers send, as the Calls they became.
  t.install<msg::RegisterFrameworkMessage>(kActor, [this](const Upid& from, msg::RegisterFrameworkMessage m) {
    Call call;
    call.set_type(Call::SUBSCRIBE);
    *call.mutable_subscribe()->mutable_framework_info() = m.framework();
    v0Call(from, std::move(call));
  });
  t.install<msg::ReregisterFrameworkMessage>(kActor, [this](const Upid& from, msg::ReregisterFrameworkMessage m) {
    Call call = callOf(Call::SUBSCRIBE, m.framework().id());
    *call.mutable_subscribe()->mutable_framework_info() = m.framework();
    v0Call(from, std::move(call), m.failover());
  });
  t.install<msg::UnregisterFrameworkMessage>(kActor, [this](const Upid& from, msg::UnregisterFrameworkMessage m) {
    v0Call(from, callOf(Call::TEARDOWN, m.framework_id()));
  });
  t.install<msg::DeactivateFrameworkMessage>(kActor, [this](const Upid& from, msg::DeactivateFrameworkMessage m) {
    if (!leading_ || !recovered_) return;
    post([self = shared_from_this(), from, id = m.framework_id().value()] { self->v0Deactivate(from, id); });
  });
  // SASL authentication is not served: a driver given credentials is told
  // at once (it stops with "Master refused authentication") rather than left
  // retrying.
  // SASL CRAM-MD5 (with --credentials): the driver's authenticatee
  // (`from`) authenticates the driver (`pid`).
  t.install<msg::AuthenticateMessage>(kActor, [this](const Upid& from, msg::AuthenticateMessage m) {
    if (!v0Authenticator_) {
      LOG(WARNING) << "Refusing SASL authentication of " << m.pid() << " (authenticatee " << from.str()
                   << "): this master has no --credentials";
      return libprocess_->send(libprocess_->self(kActor), from, msg::AuthenticationFailedMessage());
    }
    v0Authenticator_->begin(from.str(), m.pid());
    msg::AuthenticationMechanismsMessage mechanisms;
    mechanisms.add_mechanisms("CRAM-MD5");
    libprocess_->send(libprocess_->self(kAuthenticator), from, mechanisms);
  });
  t.install<msg::AuthenticationStartMessage>(
      kAuthenticator, [this](const Upid& from, msg::AuthenticationStartMessage m) {
        if (v0Authenticator_) v0Authenticated(from, v0Authenticator_->start(from.str(), m.mechanism(), m.data()));
      });
  t.install<msg::AuthenticationStepMessage>(kAuthenticator, [this](const Upid& from, msg::AuthenticationStepMessage m) {
    if (v0Authenticator_) v0Authenticated(from, v0Authenticator_->step(from.str(), m.data()));
  });
  t.install<msg::LaunchTasksMessage>(kActor, [this](const Upid& from, msg::LaunchTasksMessage m) {
    Call call = callOf(Call::ACCEPT, m.framework_id());
    Call::Accept* accept = call.mutable_accept();
    *accept->mutable_offer_ids() = m.offer_ids();
    *accept->mutable_filters() = m.filters();
    v1::Offer::Operation* launch = accept->add_operations();
    launch->set_type(v1::Offer::Operation::LAUNCH);
    *launch->mutable_launch()->mutable_task_infos() = m.tasks();
    v0Call(from, std::move(call));
  });
  t.install<msg::ReviveOffersMessage>(kActor, [this](const Upid& from, msg::ReviveOffersMessage m) {
    Call call = callOf(Call::REVIVE, m.framework_id());
    *call.mutable_revive()->mutable_roles() = m.roles();
    v0Call(from, std::move(call));
  });
  t.install<msg::KillTaskMessage>(kActor, [this](const Upid& from, msg::KillTaskMessage m) {
    Call call = callOf(Call::KILL, m.framework_id());
    *call.mutable_kill()->mutable_task_id() = m.task_id();
    if (m.has_kill_policy()) *call.mutable_kill()->mutable_kill_policy() = m.kill_policy();
    v0Call(from, std::move(call));
  });
  t.install<msg::ReconcileTasksMessage>(kActor, [this](const Upid& from, msg::ReconcileTasksMessage m) {
    Call call = callOf(Call::RECONCILE, m.framework_id());
    Call::Reconcile* reconcile = call.mutable_reconcile();
    for (const v1::TaskStatus& status : m.statuses()) {
      Call::Reconcile::Task* task = reconcile->add_tasks();
      *task->mutable_task_id() = status.task_id();
      if (status.has_agent_id()) *task->mutable_agent_id() = status.agent_id();
    }
    v0Call(from, std::move(call));
  });
  t.install<msg::StatusUpdateAcknowledgementMessage>(
      kActor, [this](const Upid& from, msg::StatusUpdateAcknowledgementMessage m) {
        Call call = callOf(Call::ACKNOWLEDGE, m.framework_id());
        *call.mutable_acknowledge()->mutable_agent_id() = m.slave_id();
        *call.mutable_acknowledge()->mutable_task_id() = m.task_id();
        call.mutable_acknowledge()->set_uuid(m.uuid());
        v0Call(from, std::move(call));
      });
  t.install<msg::FrameworkToExecutorMessage>(kActor, [this](const Upid& from, msg::FrameworkToExecutorMessage m) {
    Call call = callOf(Call::MESSAGE, m.framework_id());
    *call.mutable_message()->mutable_agent_id() = m.slave_id();
    *call.mutable_message()->mutable_executor_id() = m.executor_id();
    call.mutable_message()->set_data(m.data());
    v0Call(from, std::move(call));
  });
  return {};
}

// HTTP threads: the checks the v1 endpoint makes before the state thread.
void MasterImpl::v0Call(const Upid& from, Call call, bool failover) {
  std::string what = Call::Type_Name(call.type()) + " call from v0 driver " + from.str();
  if (!leading_ || !recovered_) {
    LOG(WARNING) << "Dropping a " << what << ": this master is not the recovered leader";
    return;
  }
  Status valid = resources::upgradeResources(&call);
  if (valid.ok()) valid = validateSchedulerCall(call);
  if (valid.ok() && call.type() == Call::SUBSCRIBE) {
    // The principal the driver authenticated as (SASL), if it did.
    std::optional<auth::Principal> principal;
    if (v0Authenticator_) {
      if (std::optional<std::string> name = v0Authenticator_->principal(from.str())) {
        principal = auth::Principal{*name, {}};
      }
    }
    const v1::FrameworkInfo& info = call.subscribe().framework_info();
    if (!principal && flags_.security.authenticateFrameworks) {
      valid = Error(StatusCode::kUnauthenticated, "Framework at " + from.str() + " is not authenticated");
    } else if (principal && info.has_principal() && info.principal() != principal->value) {
      valid = Error(StatusCode::kUnauthenticated, "Framework principal '" + info.principal() +
                                                      "' does not match authenticated principal '" + principal->value +
                                                      "'");
    } else {
      valid = authorizeSubscribe(call, principal);
    }
  }
  if (!valid.ok()) {
    LOG(WARNING) << "Dropping a " << what << ": " << valid.error().message;
    // A refused registration is answered, so that the driver stops trying.
    if (call.type() == Call::SUBSCRIBE) v0Refuse(from, valid.error().message);
    return;
  }
  post([self = shared_from_this(), from, call = std::move(call), failover]() mutable {
    self->v0Dispatch(from, std::move(call), failover);
  });
}

void MasterImpl::v0Dispatch(const Upid& from, Call call, bool failover) {
  count("master/messages_scheduler_calls");
  count("master/calls/" + [&] {
    std::string name = Call::Type_Name(call.type());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
  }());
  if (call.type() == Call::SUBSCRIBE) return v0Subscribe(from, std::move(call), failover);
  Framework* f = v0Framework(from, call.framework_id().value(), Call::Type_Name(call.type()) + " call");
  if (f == nullptr) return;
  if (Status done = frameworkCall(*f, call); !done.ok()) {
    LOG(WARNING) << "Dropping a " << Call::Type_Name(call.type()) << " call from v0 driver " << from.str() << ": "
                 << done.error().message;
  }
}

Framework* MasterImpl::v0Framework(const Upid& from, const std::string& frameworkId, const std::string& what) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end() || !it->second.connected || !it->second.sink ||
      it->second.sink->driverPid() != from.str()) {
    LOG(WARNING) << "Dropping a " << what << " for framework '" << frameworkId << "' from v0 driver " << from.str()
                 << ": no framework with that id is subscribed by that driver";
    return nullptr;
  }
  return &it->second;
}

void MasterImpl::v0Subscribe(const Upid& from, Call call, bool failover) {
  if (v0Subscribing_.count(from.str())) {
    VLOG(1) << "Ignoring a repeated SUBSCRIBE from v0 driver " << from.str() << " (being recorded)";
    return;
  }
  const std::string& id = call.subscribe().framework_info().id().value();
  bool reregistered = !id.empty() && !failover;
  // A driver retries until it hears back: an answer may have crossed it.
  for (auto& [frameworkId, f] : frameworks_) {
    if (!f.connected || !f.sink || f.sink->driverPid() != from.str()) continue;
    if (!id.empty() && id != frameworkId) continue;
    LOG(INFO) << "v0 driver " << from.str() << " of framework " << frameworkId << " subscribed again; answering again";
    Event subscribed;
    subscribed.set_type(Event::SUBSCRIBED);
    subscribed.mutable_subscribed()->mutable_framework_id()->set_value(frameworkId);
    *subscribed.mutable_subscribed()->mutable_master_info() = masterInfo_;
    V0EventSink(*libprocess_, libprocess_->self(kActor), from, frameworkId, reregistered, {}).send(subscribed);
    return;
  }
  v0Subscribing_.insert(from.str());
  Subscriber subscriber;
  subscriber.refuse = [this, from](const std::string& message) {
    v0Subscribing_.erase(from.str());
    v0Refuse(from, message);
  };
  subscriber.open = [this, from, reregistered](const std::string& frameworkId, const std::string&) {
    v0Subscribing_.erase(from.str());
    libprocess_->link(from);
    return std::make_shared<V0EventSink>(*libprocess_, libprocess_->self(kActor), from, frameworkId, reregistered,
                                         [this](const std::string& agentId) -> std::string {
                                           auto a = agents_.find(agentId);
                                           if (a == agents_.end()) return "";
                                           v1::URL url = agentUrl(a->second);
                                           return url.path().substr(1) + "@" + url.address().ip() + ":" +
                                                  std::to_string(url.address().port());
                                         });
  };
  LOG(INFO) << "SUBSCRIBE from v0 driver " << from.str();
  subscribe(call, std::move(subscriber));
}

void MasterImpl::v0Deactivate(const Upid& from, const std::string& frameworkId) {
  Framework* f = v0Framework(from, frameworkId, "DeactivateFrameworkMessage");
  if (f == nullptr || !f->active) return;
  LOG(INFO) << "Deactivating framework " << frameworkId << " (its v0 driver aborted)";
  f->active = false;
  offerBook_.rescindOfFramework(frameworkId);
  allocator_.setFrameworkActive(frameworkId, false);
}

void MasterImpl::v0Exited(const Upid& driver) {
  std::vector<std::pair<std::string, std::string>> gone;  // (framework id, stream id)
  for (const auto& [id, f] : frameworks_) {
    if (f.connected && f.sink && f.sink->driverPid() == driver.str()) gone.emplace_back(id, f.streamId);
  }
  for (const auto& [id, streamId] : gone) {
    LOG(INFO) << "v0 driver " << driver.str() << " of framework " << id << " went away";
    frameworkDisconnected(id, streamId);
  }
}

void MasterImpl::v0Authenticated(const Upid& authenticatee, const V0Authenticator::Step& step) {
  const Upid self = libprocess_->self(kAuthenticator);
  switch (step.state) {
    case V0Authenticator::Step::State::kContinue: {
      msg::AuthenticationStepMessage message;
      message.set_data(step.data);
      return libprocess_->send(self, authenticatee, message);
    }
    case V0Authenticator::Step::State::kCompleted:
      LOG(INFO) << "Authenticated the v0 driver behind " << authenticatee.str();
      return libprocess_->send(self, authenticatee, msg::AuthenticationCompletedMessage());
    case V0Authenticator::Step::State::kFailed:
      LOG(WARNING) << "SASL authentication by " << authenticatee.str() << " failed: " << step.error;
      return libprocess_->send(self, authenticatee, msg::AuthenticationFailedMessage());
    case V0Authenticator::Step::State::kError: {
      LOG(WARNING) << "SASL authentication by " << authenticatee.str() << " failed: " << step.error;
      msg::AuthenticationErrorMessage message;
      message.set_error(step.error);
      return libprocess_->send(self, authenticatee, message);
    }
  }
}

void MasterImpl::v0Refuse(const Upid& driver, const std::string& message) {
  msg::FrameworkErrorMessage error;
  error.set_message(message);
  libprocess_->send(libprocess_->self(kActor), driver, error);
}

}  // namespace mantle::master
