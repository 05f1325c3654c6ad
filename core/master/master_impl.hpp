// The master's internals, shared by its .cpp files only (not installed).
//
// Threads: HTTP connections run on `httpIo_` (--http_threads threads). They
// check and decode requests without touching state, then post the work to
// `stateIo_`, which one thread runs: every map below is read and written only
// there, so nothing is locked. Large responses are rendered back on the HTTP
// threads from a snapshot copied on the state thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <glog/logging.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "auth/security.hpp"
#include "hooks/hook_chain.hpp"
#include "http/server.hpp"
#include "libprocess/libprocess.hpp"
#include "logging/verbosity.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/common/convert.hpp"
#include "mantle/common/prometheus.hpp"
#include "mantle/common/uuid.hpp"
#include "mantle/internal/agent_master.pb.h"
#include "mantle/module/v1/allocator.pb.h"
#include "mantle/module/v1/module.pb.h"
#include "mantle/modules/registry.hpp"
#include "master/allocator_client.hpp"
#include "master/event_sink.hpp"
#include "master/flags.hpp"
#include "master/offer_book.hpp"
#include "master/offer_constraints.hpp"
#include "master/registrar.hpp"
#include "master/registry_file.hpp"
#include "master/state_snapshot.hpp"
#include "master/v0_authenticator.hpp"
#include "mesos/v1/maintenance/maintenance.pb.h"
#include "mesos/v1/master/master.pb.h"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "resources/resources.hpp"
#include "wire/content_type.hpp"
#include "zookeeper/contender.hpp"
#include "zookeeper/detector.hpp"
#include "zookeeper/registry_store.hpp"
#include "zookeeper/session.hpp"

namespace mantle::master {

namespace v1 = ::mesos::v1;
namespace internal = ::mantle::internal;
namespace asio = ::boost::asio;
using resources::Resources;

// The IP of an "ip:port" / "[ip]:port" address.
std::string ipOf(const std::string& address);

// Mantle's version, as GET_VERSION reports it.
extern const char* const kVersion;

// Header of the master <-> agent stream id.
inline constexpr const char* kAgentStreamIdHeader = "Mantle-Stream-Id";

// Seconds an allocation outside a framework's offer constraints stays
// filtered for it (per framework and agent, as the allocator ABI filters).
inline constexpr double kOfferConstraintRefuseSeconds = 5;

using TimerPtr = std::shared_ptr<asio::steady_timer>;

struct Framework {
  std::string id;
  v1::FrameworkInfo info;
  bool connected = false;
  bool active = false;
  bool recovered = false;           // known from the registry or an agent, not subscribed since
  std::shared_ptr<EventSink> sink;  // while subscribed: the HTTP stream or the v0 driver
  std::string streamId;             // this subscription's (frameworkDisconnected)
  std::set<std::string> suppressedRoles;
  // Agents a role takes offers from (SUBSCRIBE / UPDATE_FRAMEWORK), as given
  // and compiled; the master hands back what the allocator allocates outside
  // them (docs/MASTER.md, "Offer constraints").
  v1::scheduler::OfferConstraints offerConstraintsInfo;
  OfferConstraintsFilter offerConstraints;
  TaskMap tasks;             // by task id; not yet removed
  TaskMap unreachableTasks;  // by task id
  CompletedTasks completedTasks;
  // agent id -> executor id -> ExecutorInfo.
  std::map<std::string, std::map<std::string, v1::ExecutorInfo>> executors;
  double registeredTime = 0;
  double reregisteredTime = 0;
  double unregisteredTime = 0;
  TimerPtr failoverTimer;
  std::uint64_t declinedOffers = 0;
};

struct Agent {
  std::string id;
  v1::AgentInfo info;
  std::string version;
  std::vector<v1::AgentInfo::Capability> capabilities;
  Resources total;
  bool connected = false;
  bool deactivated = false;  // by the operator
  bool inAllocator = false;
  std::optional<v1::DrainInfo> drain;
  std::shared_ptr<http::Stream> stream;
  std::string streamId;
  std::string address;                                  // "ip:port" it connected from
  std::set<std::pair<std::string, std::string>> tasks;  // (framework id, task id)
  double registeredTime = 0;
  double reregisteredTime = 0;
  TimerPtr reregisterTimer;
};

// An inverse offer made and not answered yet (inverse_offers.cpp).
struct InverseOfferEntry {
  std::string frameworkId;
  std::string agentId;
  v1::InverseOffer offer;
};

// Why an operation's feedback cannot be given (an `id` on an operation type
// other than RESERVE, UNRESERVE, CREATE, DESTROY), else none.
std::optional<std::string> operationFeedbackError(const v1::Offer::Operation& operation);

// What an agent call needs that no state does, done on the HTTP thread that
// read it (off the state thread): a REREGISTER's reported tasks get their
// secrets redacted and their framework and agent ids set.
void prepareAgentCall(internal::Call& call);

// UPDATE_WEIGHTS / PUT /weights: valid roles, positive finite weights.
Status validateWeights(const google::protobuf::RepeatedPtrField<v1::WeightInfo>& infos);

// A RegistryOperation's `fail` for an operator call: 503 with the reason.
std::function<void(const Error&)> registryFailure(const http::Responder& responder);

// How a SUBSCRIBE is answered: on the v1 HTTP stream or to a v0 driver.
struct Subscriber {
  // Refuses the subscription with `message`.
  std::function<void(const std::string& message)> refuse;
  // The subscribed framework's sink; the subscription is `streamId`.
  std::function<std::shared_ptr<EventSink>(const std::string& frameworkId, const std::string& streamId)> open;
};

struct OperatorSubscriber {
  std::uint64_t id = 0;
  std::shared_ptr<http::Stream> stream;
  wire::MediaType mediaType = wire::MediaType::kJson;
  // With authorization on: the principal's view_* answers, which filter its
  // state and events as GET_STATE is filtered. None: it sees everything.
  std::shared_ptr<auth::RequestAuthorizer> viewer;
};

// Legacy JSON renderings (legacy.cpp); pure functions of a snapshot.
// Those that hold tasks or agents borrow their pieces' renderings.
http::Body renderState(const Snapshot& snapshot);
std::string renderStateSummary(const Snapshot& snapshot);
http::Body renderFrameworks(const Snapshot& snapshot);
http::Body renderSlaves(const Snapshot& snapshot);
http::Body renderTasks(const Snapshot& snapshot, std::size_t limit, std::size_t offset, bool ascending);
std::string renderRoles(const Snapshot& snapshot);
std::string renderVersion();
std::string renderFlags(const std::vector<std::pair<std::string, std::string>>& flags);
std::string renderMetricsJson(const std::map<std::string, double>& metrics);
std::string renderPrometheus(const std::map<std::string, double>& metrics,
                             const std::vector<modules::InstanceMetrics>& instances);

class MasterImpl : public std::enable_shared_from_this<MasterImpl> {
 public:
  explicit MasterImpl(MasterFlags flags);
  ~MasterImpl();

  Status start();
  void stop();
  void wait();
  std::uint16_t port() const { return port_; }

 private:
  // ---- HTTP threads: no state access ------------------------------------
  using Principal = std::optional<auth::Principal>;
  void handle(const http::Request& request, const http::Responder& responder);
  void handleScheduler(const http::Request& request, const http::Responder& responder, const Principal& principal);
  void handleOperator(const http::Request& request, const http::Responder& responder, const Principal& principal);
  void handleAgent(const http::Request& request, const http::Responder& responder, const Principal& principal);
  void handleLegacy(const std::string& path, const http::Request& request, const http::Responder& responder,
                    const Principal& principal);
  // /agents/<id>/...: the web UI's agent proxy (ui_server.cpp).
  void agentProxy(const std::string& path, const http::Request& request, const http::Responder& responder);

  // ---- security (security.cpp), HTTP threads ------------------------------
  // The realm guarding `path` (already stripped of /master); "" for none.
  std::string realmFor(const std::string& path) const;
  // The ACL checks a SUBSCRIBE needs (PermissionDenied with the refusal).
  Status authorizeSubscribe(const v1::scheduler::Call& call, const Principal& principal);
  // run_tasks (state thread): may the framework's principal run `task` as its
  // user? PermissionDenied with the refusal when not. One authorizer per
  // ACCEPT asks each user once.
  auth::RequestAuthorizer runTasksAuthorizer(const Framework& f);
  Status authorizeRunTask(const Framework& f, const v1::TaskInfo& task, const v1::ExecutorInfo* groupExecutor,
                          auth::RequestAuthorizer& authorizer);
  // The ACL checks an operator call needs whose objects are in the call; a
  // 403 message when one fails. TEARDOWN's object (the framework's
  // principal) comes from state: see authorizeTeardown.
  Status authorizeOperatorCall(const v1::master::Call& call, const Principal& principal);
  void authorizeTeardown(v1::master::Call call, wire::ResponseFormat format, http::Responder responder,
                         Principal principal);
  // Answers GET_STATE/GET_FRAMEWORKS/GET_TASKS/GET_EXECUTORS filtered by
  // the principal's view_* permissions.
  void filteredStateCall(v1::master::Call call, wire::ResponseFormat format, http::Responder responder,
                         Principal principal);
  void filterState(v1::master::Response::GetState* state, const Principal& principal);
  void filterState(v1::master::Response::GetState* state, auth::RequestAuthorizer& authorizer);
  // (state thread) May the subscriber whose answers `viewer` holds see `event`?
  bool eventVisible(const v1::master::Event& event, auth::RequestAuthorizer& viewer) const;

  template <typename F>
  void post(F&& f) {
    asio::post(stateIo_, std::forward<F>(f));
  }
  template <typename F>
  void postHttp(F&& f) {
    asio::post(httpIo_, std::forward<F>(f));
  }
  // State renderings (snapshots' answers) run on the render threads: niced,
  // so that under a CPU shortage they yield to the state and HTTP threads.
  template <typename F>
  void postRender(F&& f) {
    asio::post(renderIo_, std::forward<F>(f));
  }

  // ---- state thread -------------------------------------------------------
  Status recover();
  void tick();           // allocation timer
  void heartbeatTick();  // heartbeats to every stream
  void scheduleTimers();

  // Scheduler API (scheduler_api.cpp).
  // `principal`: the authenticated one; a call for another principal's
  // framework is refused.
  void schedulerCall(v1::scheduler::Call call, std::string streamId, wire::ResponseFormat format,
                     http::Responder responder, std::optional<auth::Principal> principal = std::nullopt);
  // `recorded`: the registry holds the framework (see RegistryOperation).
  void subscribe(const v1::scheduler::Call& call, Subscriber subscriber, bool recorded = false);
  Subscriber httpSubscriber(wire::ResponseFormat format, const http::Responder& responder);
  // Every call but SUBSCRIBE, for a subscribed framework, whatever its
  // transport; an Error for a call the master refuses.
  Status frameworkCall(Framework& framework, const v1::scheduler::Call& call);
  void teardown(Framework& framework);
  void accept(Framework& framework, const v1::scheduler::Call::Accept& accept);
  void decline(Framework& framework, const v1::scheduler::Call::Decline& decline);
  void revive(Framework& framework, const v1::scheduler::Call::Revive& revive);
  void suppress(Framework& framework, const v1::scheduler::Call::Suppress& suppress);
  void kill(Framework& framework, const v1::scheduler::Call::Kill& kill);
  void shutdownExecutor(Framework& framework, const v1::scheduler::Call::Shutdown& shutdown);
  void acknowledge(Framework& framework, const v1::scheduler::Call::Acknowledge& ack);
  void reconcile(Framework& framework, const v1::scheduler::Call::Reconcile& reconcile);
  void frameworkMessage(Framework& framework, const v1::scheduler::Call::Message& message);
  Status updateFramework(Framework& framework, const v1::scheduler::Call::UpdateFramework& update);
  void frameworkDisconnected(const std::string& frameworkId, const std::string& streamId);
  void failoverExpired(const std::string& frameworkId, const TimerPtr& timer);
  void removeFramework(const std::string& frameworkId, const std::string& reason);
  void sendEvent(Framework& framework, const v1::scheduler::Event& event);
  // The same, rewriting `*event` into the framework's format in place (an
  // OFFERS event of thousands of offers is not copied for it).
  void sendEvent(Framework& framework, v1::scheduler::Event* event);
  void sendError(Framework& framework, const std::string& message);
  // A status update the master makes itself (no uuid: not acknowledged).
  void sendMasterUpdate(Framework& framework, const v1::TaskID& taskId, const std::string& agentId, v1::TaskState state,
                        v1::TaskStatus::Reason reason, const std::string& message);

  // The v0 scheduler driver (v0_scheduler.cpp, docs/V0.md): the libprocess
  // `master` actor on the HTTP port, mapped onto the calls above.
  // Once the port is known, before the threads start; an Error for an
  // unusable --credentials (SASL).
  Status startV0();
  // HTTP threads: checks and decodes, then posts to the state thread.
  // `failover`: a SUBSCRIBE's v0 `force` (the driver of a new scheduler
  // process; answered FrameworkRegisteredMessage, not Reregistered).
  void v0Call(const libprocess::Upid& from, v1::scheduler::Call call, bool failover = false);
  // State thread.
  void v0Dispatch(const libprocess::Upid& from, v1::scheduler::Call call, bool failover);
  void v0Subscribe(const libprocess::Upid& from, v1::scheduler::Call call, bool failover);
  void v0Deactivate(const libprocess::Upid& from, const std::string& frameworkId);
  void v0Exited(const libprocess::Upid& driver);
  // The framework `frameworkId` when subscribed by driver `from`, else none
  // (logged as dropped with `what`).
  Framework* v0Framework(const libprocess::Upid& from, const std::string& frameworkId, const std::string& what);
  void v0Refuse(const libprocess::Upid& driver, const std::string& message);
  // Sends the authenticatee the answer of one SASL step (HTTP threads).
  void v0Authenticated(const libprocess::Upid& authenticatee, const V0Authenticator::Step& step);

  // Agent protocol (agent_api.cpp). `call` was prepared by prepareAgentCall.
  void agentCall(internal::Call call, std::string streamId, std::string remote, http::Responder responder);
  void registerAgent(const internal::Call& call, const std::string& remote, const http::Responder& responder);
  // Runs once the registry holds the new agent `id`.
  void admitAgent(const internal::Call& call, const std::string& id, const Resources& total, const std::string& remote,
                  const http::Responder& responder);
  // `recorded`: the registry holds the agent (see RegistryOperation). The
  // reported tasks are moved out of `call`.
  void reregisterAgent(internal::Call call, const std::string& remote, const http::Responder& responder,
                       bool recorded = false);
  void statusUpdate(Agent& agent, const internal::StatusUpdate& update);
  void executorExited(Agent& agent, const internal::Call::ExecutorExited& exited);
  void updateAgentResources(Agent& agent, const internal::Call::UpdateResources& update);
  void executorMessage(Agent& agent, const internal::Call::ExecutorMessage& message);
  void agentDisconnected(const std::string& agentId, const std::string& streamId);
  void agentReregisterTimeout(const std::string& agentId, const TimerPtr& timer);
  void recoveredAgentTimeout();
  // Removes the agent: tasks become `taskState` (with `reason`), frameworks
  // get FAILURE. `unreachable`: keep tasks as unreachable for reconciliation.
  void removeAgent(const std::string& agentId, v1::TaskState taskState, v1::TaskStatus::Reason reason, bool unreachable,
                   const std::string& message);
  void sendAgentEvent(const Agent& agent, const internal::Event& event);
  // Adds the agent with what frameworks use on it, plus `extra` (resources
  // held outside tasks and offers, e.g. an ACCEPT's leftovers).
  void addAgentToAllocator(Agent& agent, const std::map<std::string, Resources>& extra = {});
  void agentsChanged();  // persists the registry

  // Offers and allocation (master.cpp).
  void allocate();
  void requestAllocation();  // an allocation cycle soon (coalesced)
  double steadyNow() const;

  // Tasks (scheduler_api.cpp).
  // The master_launch_task_label_decorator hooks: the labels the task is
  // stored and sent with, or the hook's error (the task is then refused).
  Result<v1::Labels> decorateLaunchLabels(const Framework& f, const Agent& agent, const v1::TaskInfo& task);
  void addTask(Framework& framework, Agent& agent, const v1::TaskInfo& task);
  // Applies a new state; recovers resources on the first terminal state.
  void transitionTask(Framework& framework, v1::Task& task, const v1::TaskStatus& status,
                      std::optional<v1::TaskState> latest);
  void completeTask(Framework& framework, const std::string& taskId);
  Resources taskResources(const v1::Task& task) const;
  // Resources frameworks use on `agent` (tasks, executors, offers).
  std::map<std::string, Resources> usedOnAgent(const Agent& agent, bool includeOffers) const;

  // Operator API (operator_api.cpp): one handler per call type, one row per
  // call in the table of operatorCallSpec(); adding a call is a row and a
  // handler. A query answers 200 with the Response it returns; an action
  // answers through the responder itself (202, streams, after a registry
  // write). An Error either returns is answered with http::statusFor its code.
  using OperatorQuery = Result<v1::master::Response> (MasterImpl::*)(const v1::master::Call& call);
  using OperatorAction = Status (MasterImpl::*)(const v1::master::Call& call, const wire::ResponseFormat& format,
                                                const http::Responder& responder);
  struct OperatorCallSpec {
    v1::master::Call::Type type = v1::master::Call::UNKNOWN;
    // The Call field the call needs (nullptr: none); a call without it is
    // answered 400 before the handler runs.
    const char* field = nullptr;
    // Exactly one of the two; neither: known but not supported (501).
    OperatorQuery query = nullptr;
    OperatorAction action = nullptr;
    // The ACL action the principal needs (nullptr: none), checked on the HTTP
    // threads, and the objects it is asked about (nullptr: the object "").
    // TEARDOWN and the state queries are also checked against state there.
    const char* acl = nullptr;
    std::vector<std::string> (*aclObjects)(const v1::master::Call& call) = nullptr;
  };
  // The row for `type`; nullptr for a call Mantle does not know.
  static const OperatorCallSpec* operatorCallSpec(v1::master::Call::Type type);
  // Runs the call's handler (state thread).
  void operatorCall(v1::master::Call call, wire::ResponseFormat format, http::Responder responder);
  // The handlers.
  Result<v1::master::Response> onGetHealth(const v1::master::Call& call);
  Result<v1::master::Response> onGetFlags(const v1::master::Call& call);
  Result<v1::master::Response> onGetVersion(const v1::master::Call& call);
  Result<v1::master::Response> onGetMetrics(const v1::master::Call& call);
  Result<v1::master::Response> onGetLoggingLevel(const v1::master::Call& call);
  // GET_STATE, GET_TASKS, GET_AGENTS, GET_FRAMEWORKS, GET_EXECUTORS and
  // GET_ROLES: encoded on an HTTP thread from a shared snapshot, once per
  // snapshot, call and media type.
  Status onStateCall(const v1::master::Call& call, const wire::ResponseFormat& format,
                     const http::Responder& responder);
  // Hands `use` (on an HTTP thread) a snapshot of the state: requests that
  // arrive while one is being made share it, so clients fetching the state
  // in a loop cost this thread one copy per round, not one each.
  void shareSnapshot(std::function<void(const std::shared_ptr<const Snapshot>&)> use);
  Result<v1::master::Response> onGetWeights(const v1::master::Call& call);
  Result<v1::master::Response> onGetMaster(const v1::master::Call& call);
  Result<v1::master::Response> onGetQuota(const v1::master::Call& call);
  Result<v1::master::Response> onGetOperations(const v1::master::Call& call);
  Status onSubscribe(const v1::master::Call& call, const wire::ResponseFormat& format,
                     const http::Responder& responder);
  // Opens an operator event stream; `viewer` (authorization on) filters it.
  void subscribeOperator(const wire::ResponseFormat& format, const http::Responder& responder,
                         std::shared_ptr<auth::RequestAuthorizer> viewer);
  // RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES.
  Status onAgentOperation(const v1::master::Call& call, const wire::ResponseFormat& format,
                          const http::Responder& responder);
  Status onMarkAgentGone(const v1::master::Call& call, const wire::ResponseFormat& format,
                         const http::Responder& responder);
  Status onDrainAgent(const v1::master::Call& call, const wire::ResponseFormat& format,
                      const http::Responder& responder);
  // DEACTIVATE_AGENT and REACTIVATE_AGENT.
  Status onAgentActivation(const v1::master::Call& call, const wire::ResponseFormat& format,
                           const http::Responder& responder);
  Status onUpdateWeights(const v1::master::Call& call, const wire::ResponseFormat& format,
                         const http::Responder& responder);
  Status onUpdateQuota(const v1::master::Call& call, const wire::ResponseFormat& format,
                       const http::Responder& responder);
  Status onTeardown(const v1::master::Call& call, const wire::ResponseFormat& format, const http::Responder& responder);
  // The five maintenance calls (maintenanceCall).
  Status onMaintenance(const v1::master::Call& call, const wire::ResponseFormat& format,
                       const http::Responder& responder);
  void emitOperatorEvent(const v1::master::Event& event);
  // Whether an operator event would reach anyone (a subscriber or a hook):
  // hot paths build none otherwise (a failover re-registers every task).
  bool operatorEventsWanted() const { return !subscribers_.empty() || (hooks_ && !hooks_->empty()); }
  // The hook chain's state_event for an operator event (enqueued, never
  // blocks or fails); other event types are not hook events.
  void notifyHooks(const v1::master::Event& event);
  void respondMessage(const http::Responder& responder, const google::protobuf::Message& message, wire::MediaType type,
                      int status = 200);
  // An operator's RESERVE/UNRESERVE/CREATE/DESTROY on `agentId`: applied
  // to its total and sent to it; InvalidArgument for an unknown agent or a
  // bad operation, FailedPrecondition (409) when the agent lacks resources.
  Status applyOperatorReservation(const std::string& agentId, const v1::Offer::Operation& operation);
  // Quota (quota.cpp): SET_QUOTA / REMOVE_QUOTA, and the registry operation
  // they share with UPDATE_QUOTA (answers 200 once recorded).
  Status onSetQuota(const v1::master::Call& call, const wire::ResponseFormat& format, const http::Responder& responder);
  Status onRemoveQuota(const v1::master::Call& call, const wire::ResponseFormat& format,
                       const http::Responder& responder);
  // A SET_QUOTA request as a config (guarantees = limits), or why it is
  // refused (InvalidArgument; FailedPrecondition: overcommit without force).
  Result<v1::quota::QuotaConfig> quotaConfigFromRequest(const v1::quota::QuotaRequest& request) const;
  void recordQuotaConfigs(std::vector<v1::quota::QuotaConfig> configs, const http::Responder& responder);
  v1::quota::QuotaStatus quotaStatus() const;
  // Weights (weights.cpp): recorded, then applied, then answered `status`.
  void recordWeights(std::vector<v1::WeightInfo> infos, const http::Responder& responder, int status);
  // SET_LOGGING_LEVEL (logging_level.cpp).
  Status onSetLoggingLevel(const v1::master::Call& call, const wire::ResponseFormat& format,
                           const http::Responder& responder);
  // Mesos' v0 operator endpoints and /logging/toggle (legacy_calls.cpp; HTTP
  // threads), each as the operator call it stands for.
  static bool isLegacyOperatorPath(const std::string& path);
  void legacyOperatorEndpoint(const std::string& path, const http::Request& request, const http::Responder& responder,
                              const Principal& principal);
  // Operation feedback (operations.cpp). Sends UPDATE_OPERATION_STATUS for
  // an operation with an id; a FINISHED one is kept until acknowledged.
  void operationFeedback(Framework& framework, const std::string& agentId, const v1::Offer::Operation& operation,
                         v1::OperationState state, const std::string& message, const Resources& converted);
  void acknowledgeOperationStatus(Framework& framework, const v1::scheduler::Call::AcknowledgeOperationStatus& ack);
  void reconcileOperations(Framework& framework, const v1::scheduler::Call::ReconcileOperations& reconcile);
  std::vector<v1::Operation> knownOperations() const;
  // The URL offers and inverse offers carry for `agent`.
  v1::URL agentUrl(const Agent& agent) const;
  void markAgentGone(const std::string& agentId);
  void drainAgent(Agent& agent, const v1::master::Call::DrainAgent& drain);
  void checkDrained(Agent& agent);
  void setAgentState(Agent& agent);

  // Maintenance (maintenance.cpp, docs/MASTER.md "Maintenance").
  // The machine an agent runs on: its hostname and the IP it connected from.
  v1::MachineID agentMachine(const Agent& agent) const;
  // The maintenance entry (DRAINING or DOWN) covering `machine`, if any.
  const v1::MachineInfo* machineInfo(const v1::MachineID& machine) const;
  // The unavailability offers on `agent` carry (DRAINING machines).
  std::optional<v1::Unavailability> agentUnavailability(const Agent& agent) const;
  // Non-empty for an agent whose machine is DOWN: why it may not register.
  std::string machineDownMessage(const v1::AgentInfo& info, const std::string& remote) const;
  // `legacy`: answer as the v0 endpoints do (the bare JSON message, 200).
  void maintenanceCall(const v1::master::Call& call, wire::ResponseFormat format, const http::Responder& responder,
                       bool legacy = false);
  // HTTP threads: /maintenance/schedule, /maintenance/status, /machine/down
  // and /machine/up as operator calls (with the same ACL checks).
  void legacyMaintenance(const std::string& path, const http::Request& request, const http::Responder& responder,
                         const Principal& principal);
  v1::maintenance::ClusterStatus maintenanceStatus() const;
  // Inverse offers (inverse_offers.cpp): made and rescinded each allocation
  // cycle; the frameworks' answers, recorded per machine.
  void updateInverseOffers();
  void answerInverseOffers(Framework& framework, const google::protobuf::RepeatedPtrField<v1::OfferID>& ids,
                           const v1::Filters& filters, bool accept);
  void addInverseOfferStatuses(v1::maintenance::ClusterStatus* status) const;
  // The maintenance entry covering the agent's machine, serialized; "" for
  // none.
  std::string machineKey(const Agent& agent) const;
  // Applies a recorded schedule / START / STOP (after the registry write).
  void applyMaintenanceSchedule(const v1::maintenance::Schedule& schedule);
  void applyStartMaintenance(const std::vector<v1::MachineID>& machines);
  void applyStopMaintenance(const std::vector<v1::MachineID>& machines);

  // Snapshots (operator_api.cpp). `withAllocated`: with the resources
  // frameworks use on the agent / the framework uses, and the offers on the
  // agent / the framework's offers (a snapshot adds them on an HTTP thread,
  // Snapshot::complete).
  v1::master::Response::GetAgents::Agent agentProto(const Agent& agent, bool withAllocated = true) const;
  v1::master::Response::GetFrameworks::Framework frameworkProto(const Framework& framework,
                                                                bool withAllocated = true) const;
  v1::master::Response::GetExecutors buildExecutors() const;
  // What state thread copies of a snapshot; completeSnapshot() also sums
  // what it derives (here, on the state thread).
  Snapshot buildSnapshot() const;
  Snapshot completeSnapshot() const;
  v1::master::Response::GetState buildState() const;
  std::map<std::string, double> buildMetrics() const;
  std::string explainJson(const std::string& frameworkId, const std::string& role);

  // Registry (the Registrar writes it).
  // The master's state as the registry records it (its agents only if
  // `withAgents`).
  RegistryState recordedState(bool withAgents) const;
  // Adopts a loaded registry: agents to wait for, frameworks, gone agents,
  // weights, quotas (the allocator learns them too).
  void applyRegistry(const RegistryState& state, const std::string& where);

  // High availability through ZooKeeper (ha.cpp); none of it runs without --zk.
  bool haEnabled() const { return zkSession_ != nullptr; }
  Status startHa();  // before the threads start: session, contender, detector
  void stopHa();     // withdraws first, so that a standby takes over at once
  // HTTP threads: answers for a master that does not lead (307 to the
  // leader, 503 without one); holds what reaches a leader still reading its
  // registry until it has (heldRequests_). True when answered or held.
  bool answeredAsStandby(const std::string& path, const http::Request& request, const http::Responder& responder);
  // (state thread) Handles the held requests again (on the HTTP threads).
  void releaseHeldRequests();
  void leadershipChanged(zookeeper::LeadershipEvent event);
  void registryLoaded(const zookeeper::RegistrySnapshot& snapshot);
  [[noreturn]] void stepDown(const std::string& why);

  // Counters for /metrics.
  void count(const std::string& name, double by = 1) { counters_[name] += by; }

  MasterFlags flags_;
  asio::io_context stateIo_;
  asio::io_context httpIo_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> stateWork_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> httpWork_;
  asio::io_context renderIo_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> renderWork_;
  std::unique_ptr<http::Server> server_;
  std::thread stateThread_;
  std::vector<std::thread> httpThreads_;
  std::vector<std::thread> renderThreads_;  // as many as HTTP threads
  std::uint16_t port_ = 0;
  std::atomic<bool> recovered_{false};
  std::atomic<bool> stopped_{false};

  std::unique_ptr<modules::Registry> modules_;
  std::unique_ptr<auth::Security> security_;
  // The --hooks instances (docs/HOOKS.md §4). Declared after modules_ so that
  // it goes first; stop() also resets it once the threads are joined.
  std::unique_ptr<hooks::HookChain> hooks_;
  // Every allocator call goes through allocator_; outstanding offers live
  // in offerBook_ (offer_book.hpp).
  AllocatorClient allocator_;
  OfferBook offerBook_;
  bool allocationRequested_ = false;
  double lastAllocationMs_ = 0;

  std::string masterId_;
  v1::MasterInfo masterInfo_;
  double startTime_ = 0;
  std::chrono::steady_clock::time_point steadyStart_;
  std::uint64_t nextFrameworkId_ = 0;
  std::uint64_t nextAgentId_ = 0;
  std::uint64_t nextSubscriberId_ = 0;

  std::map<std::string, Framework> frameworks_;
  std::deque<Framework> completedFrameworks_;
  std::set<std::string> removedFrameworkIds_;
  std::vector<std::function<void(const std::shared_ptr<const Snapshot>&)>> snapshotWaiters_;
  // The agents' renderings of the last snapshot, for the next (Snapshot::complete).
  std::shared_ptr<AgentPieces> agentPieces_ = std::make_shared<AgentPieces>();
  // Each agent's record for snapshots (agentProto without allocations and
  // offers),
  // remade only for agents changed since the last snapshot.
  RecordedMap<Agent, v1::master::Response::GetAgents::Agent> agents_;
  // Ids of the agents in agents_ that are disconnected and may re-register:
  // a REGISTER looks only at these (a scan of every agent per registration
  // made registering N agents O(N^2)).
  std::set<std::string> disconnectedAgents_;
  std::map<std::string, v1::AgentInfo> recoveredAgents_;  // in the registry, not re-registered yet
  std::map<std::string, v1::AgentInfo> unreachableAgents_;
  std::set<std::string> goneAgents_;
  std::map<std::string, double> weights_;
  std::map<std::string, v1::quota::QuotaConfig> quotas_;
  // Operations with feedback not acknowledged yet: framework id ->
  // operation id -> operation (operations.cpp).
  std::map<std::string, std::map<std::string, v1::Operation>> operations_;
  // Maintenance: the schedule, and the machines in it with their mode
  // (DRAINING or DOWN) and unavailability; machines not listed are UP.
  v1::maintenance::Schedule maintenanceSchedule_;
  std::vector<v1::MachineInfo> machines_;
  // Inverse offers by id; (framework, agent) -> steady time their answer's
  // filter ends; machine key -> framework id -> its answer.
  std::map<std::string, InverseOfferEntry> inverseOffers_;
  std::map<std::pair<std::string, std::string>, double> inverseOfferFilters_;
  std::map<std::string, std::map<std::string, v1::allocator::InverseOfferStatus>> inverseOfferStatuses_;
  std::vector<OperatorSubscriber> subscribers_;
  std::map<std::string, double> counters_;

  double lastFrameworkHeartbeat_ = 0;
  double lastAgentHeartbeat_ = 0;
  std::mutex waitMutex_;
  std::condition_variable waitCv_;
  bool done_ = false;

  TimerPtr allocationTimer_;
  TimerPtr heartbeatTimer_;
  TimerPtr recoveredAgentsTimer_;

  // --zk (ha.cpp). `leading_`: elected and not suspended (read by the HTTP
  // threads); `recovered_` turns true once the registry of this term is in.
  std::shared_ptr<zookeeper::Session> zkSession_;
  std::unique_ptr<zookeeper::Contender> contender_;
  std::unique_ptr<zookeeper::Detector> detector_;
  std::string zkPath_;
  std::atomic<bool> leading_{true};
  bool elected_ = false;
  double electedTime_ = 0;
  // Requests that reached this master elected and recovering: answered once
  // the registry is in (or leadership is suspended), rather than with a 503
  // that would leave agents and frameworks to their retry backoff.
  std::vector<std::pair<http::Request, http::Responder>> heldRequests_;

  // The libprocess transport (v0 drivers) and the drivers whose SUBSCRIBE
  // awaits the registry (duplicates are ignored meanwhile).
  std::unique_ptr<libprocess::Transport> libprocess_;
  std::set<std::string> v0Subscribing_;
  // SASL CRAM-MD5 for v0 drivers, with --credentials (else none).
  std::unique_ptr<V0Authenticator> v0Authenticator_;

  // The registry's one writer (registrar.hpp).
  Registrar registrar_;
  // glog verbosity for GET/SET_LOGGING_LEVEL and /logging/toggle; reverts
  // run on the state thread.
  std::unique_ptr<logging::Verbosity> verbosity_;
};

}  // namespace mantle::master
