#include "agent/agent.hpp"

#include <unistd.h>

#include <glog/logging.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <sstream>
#include <thread>
#include <utility>

#include "agent/agent_info.hpp"
#include "agent/checkpoint.hpp"
#include "agent/fetcher.hpp"
#include "agent/v0_executor.hpp"
#include "agent/volumes.hpp"
#include "flags/flags.hpp"
#include "http/api_request.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/common/convert.hpp"
#include "mantle/common/uuid.hpp"
#include "mantle/module/v1/hook.pb.h"
#include "mantle/modules/registry.hpp"
#include "wire/recordio.hpp"
#include "wire/secrets.hpp"
#include "wire/task_state.hpp"

extern char** environ;

namespace mantle::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using mesos::v1::TaskState;
using mesos::v1::TaskStatus;

namespace {

constexpr char kVersion[] = "0.1.0";
constexpr std::size_t kMaxCompleted = 200;

bool partitionAware(const mesos::v1::FrameworkInfo& info) {
  for (const auto& capability : info.capabilities()) {
    if (capability.type() == mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE) return true;
  }
  return false;
}

std::string durationText(double seconds) {
  std::ostringstream out;
  out << seconds << "secs";
  return out.str();
}

std::string selfDirectory() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

// A checkpoint the agent goes on without (the state in memory stays right;
// a restart would recover less): logged, never dropped silently.
void logUnsaved(const Status& saved) {
  if (!saved.ok()) LOG(ERROR) << "Checkpointing: " << saved.error().message;
}

mesos::v1::executor::Event acknowledgedEvent(const TaskStatus& status) {
  mesos::v1::executor::Event ack;
  ack.set_type(mesos::v1::executor::Event::ACKNOWLEDGED);
  *ack.mutable_acknowledged()->mutable_task_id() = status.task_id();
  ack.mutable_acknowledged()->set_uuid(status.uuid());
  return ack;
}

template <typename T>
void trim(std::deque<T>& items) {
  while (items.size() > kMaxCompleted) items.pop_front();
}

// The agent's pool behind `pool` (two threads), made at its first use.
asio::thread_pool& twoThreads(std::unique_ptr<asio::thread_pool>& pool) {
  if (!pool) pool = std::make_unique<asio::thread_pool>(2);
  return *pool;
}

// What a new executor's run puts on disk before its container starts: the
// sandbox (given to its user) and the checkpoint of the executor and of the
// tasks it is launched for, in the order recovery reads them. Written off the
// strand (a launch thread, or the agent's sandbox pool before a commit, a
// fetch or a pull); the batch says what the group commit must make durable
// (nothing for a framework that does not checkpoint).
struct NewRun {
  std::string sandbox;
  std::optional<std::string> user;
  std::string executorMeta;
  std::string runMeta;
  std::string containerId;
  std::string executorInfo;  // serialized
  bool commandExecutor = false;
  std::vector<std::pair<std::string, std::string>> tasks;  // id, serialized TaskInfo
  bool sync = false;

  Result<agent::checkpoint::Batch> write() const {
    std::error_code ec;
    fs::create_directories(sandbox, ec);
    if (ec) return internalError("cannot create the sandbox " + sandbox + ": " + ec.message());
    if (user) {
      // The sandbox belongs to the task's user (an unknown user fails the launch here).
      if (Status given = agent::chownTree(sandbox, *user); !given.ok()) {
        fs::remove_all(sandbox, ec);
        return given.error();
      }
    }
    agent::checkpoint::Batch batch;
    Status saved = batch.writeFile(executorMeta + "/executor.info", executorInfo, sync);
    if (saved.ok()) saved = batch.writeFile(executorMeta + "/runs/latest", containerId, sync);
    if (saved.ok() && commandExecutor) saved = batch.writeFile(executorMeta + "/command", "", sync);
    for (const auto& [id, info] : tasks) {
      if (saved.ok()) saved = batch.writeFile(agent::checkpoint::taskMeta(runMeta, id) + "/task.info", info, sync);
    }
    if (!saved.ok()) return saved.error().withContext("checkpointing the executor");
    return batch;
  }
};

}  // namespace

void AgentFlags::addTo(flags::FlagSet& set) {
  set.addString("master", &master,
                "The master (required): host:port, http(s)://host:port, or zk://hosts/path to follow the leader.");
  set.addString("ip", &ip, "IP address to listen on.");
  set.addString("advertise_ip", &advertiseIp,
                "IP address executors reach this agent at (MESOS_AGENT_ENDPOINT), when not --ip: an address a "
                "container on a CNI network can reach. The agent does not bind to it.");
  set.addInt("port", &port, "Port to listen on.");
  set.addString("work_dir", &workDir, "Where sandboxes and checkpoints live.");
  set.addString("hostname", &hostname, "Hostname to advertise (default: the system's).");
  set.addString("resources", &resources,
                "Total resources, Mesos text syntax (cpus:4;mem:8192;ports:[31000-32000];cpus(role):2) or a JSON "
                "array of Resource objects; unnamed ones are detected.");
  set.addString("attributes", &attributes, "Attributes: name:value;name:value.");
  set.addString("isolation", &isolation, "Isolator module instances, in pipeline order.");
  set.addString("modules", &modules, "Module manifest(s): inline JSON, a file or a directory (default: built-in).");
  set.addString("hooks", &hooks, "Hook module instances, called in this order.");
  set.addBool("switch_user", &switchUser, "Run tasks as the user their CommandInfo or FrameworkInfo names.");
  set.addString("recover", &recover,
                "reconnect: re-attach to executors that survived a restart; cleanup: kill them, wipe the checkpoint "
                "and exit.");
  set.addString("launcher_dir", &launcherDir,
                "Where mantle-executor and mantle-container-root are (default: this binary's directory).");
  set.addDuration("executor_shutdown_grace_period", &executorShutdownGracePeriod,
                  "Default time an executor gets to shut down before it is killed.");
  set.addDuration("executor_registration_timeout", &executorRegistrationTimeout,
                  "Time a new executor gets to subscribe.");
  set.addDuration("executor_reregistration_timeout", &executorReregistrationTimeout,
                  "Time a recovered executor gets to subscribe again after an agent restart.");
  set.addDuration("recovery_timeout", &recoveryTimeout,
                  "How long executors of checkpointing frameworks wait for a restarted agent.");
  set.addDuration("executor_subscription_backoff_max", &subscriptionBackoffMax,
                  "Longest pause between an executor's subscription attempts.");
  set.addDuration("fetcher_stall_timeout", &fetcherStallTimeout,
                  "A download of the fetcher that gets less than 1 byte/s for this long fails the launch.");
  set.addDuration("status_update_retry_interval", &statusUpdateRetryInterval,
                  "First retry of an unacknowledged status update (then doubling, up to 10 minutes).");
  set.addDuration("gc_delay", &gcDelay,
                  "Longest time the sandbox of a finished executor is kept; less the fuller the disk is (see "
                  "--gc_disk_headroom).");
  set.addDuration("disk_watch_interval", &diskWatchInterval,
                  "How often the disk usage of --work_dir is checked to remove finished sandboxes early.");
  set.addDouble("gc_disk_headroom", &gcDiskHeadroom,
                "Fraction of the disk kept free (0 to 1): finished sandboxes older than "
                "gc_delay * max(0, 1 - gc_disk_headroom - disk usage) are removed at each disk check.");
  set.addBytes("container_logs_max_size", &containerLogsMaxSize, "Size at which sandbox stdout/stderr rotate.");
  set.addInt("container_logs_max_files", &containerLogsMaxFiles, "Rotated stdout/stderr files kept per sandbox.");
  addImageFlags(set);
  auth::addSecurityFlags(set, &security, auth::Side::kAgent);
  addContainerFlags(set, &containers);
}

Agent::Agent(asio::io_context& io, AgentFlags flags, std::vector<std::pair<std::string, std::string>> flagValues,
             std::vector<std::shared_ptr<modules::Instance>> isolators,
             std::vector<std::shared_ptr<modules::Instance>> hooks, std::unique_ptr<auth::Security> security,
             const modules::Registry& modules)
    : io_(io),
      strand_(asio::make_strand(io)),
      verbosity_(std::make_unique<logging::Verbosity>(strand_)),
      flags_(std::move(flags)),
      flagValues_(std::move(flagValues)),
      hooks_(std::make_unique<hooks::HookChain>(std::move(hooks))),
      modules_(modules),
      security_(std::move(security)) {
  CHECK(security_ != nullptr);
  containerizer_ = std::make_unique<Containerizer>(
      strand_, std::move(isolators),
      [this](const std::string& id, const Termination& termination) { containerTerminated(id, termination); });
  checkpoints_ = std::make_unique<checkpoint::GroupCommit>(strand_);
  updates_ = std::make_unique<StatusUpdateManager>(
      strand_, *checkpoints_, flags_.statusUpdateRetryInterval,
      [this](internal::StatusUpdate update) { forwardUpdate(std::move(update)); });
  if (flags_.launcherDir.empty()) flags_.launcherDir = selfDirectory();
}

Agent::~Agent() {
  stop();  // cancels the downloads in progress
  if (fetchPool_) fetchPool_->join();
  if (sandboxPool_) sandboxPool_->join();
}

// Runs `fn` on the strand and waits for it.
template <typename Fn>
static auto onStrand(Strand& strand, Fn fn) -> decltype(fn()) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto future = task.get_future();
  asio::post(strand, [&task] { task(); });
  return future.get();
}

Status Agent::start() {
  startTime_ = wallNow();
  std::error_code ec;
  fs::create_directories(flags_.workDir, ec);
  if (ec) return internalError("cannot create --work_dir " + flags_.workDir + ": " + ec.message());
  flags_.workDir = fs::canonical(flags_.workDir).string();
  // What a previous run had no time to delete.
  fs::remove_all(checkpoint::trashDir(flags_.workDir), ec);
  fs::create_directories(checkpoint::trashDir(flags_.workDir), ec);
  if (ec) return internalError("cannot create " + checkpoint::trashDir(flags_.workDir) + ": " + ec.message());
  gc_ = std::make_unique<GarbageCollector>(
      strand_, flags_.workDir + "/slaves",
      [this](const std::string&, const Status& removed) { ++counters_[removed.ok() ? "gc_removals" : "gc_failures"]; });
  if (flags_.security.authenticateHttpExecutors) {
    // The key stays in the work dir, so tokens given out before a restart
    // still validate after it.
    auto tokens = auth::ExecutorTokens::open(flags_.workDir + "/executor_token.key");
    if (!tokens.ok()) return tokens.error().withContext("--authenticate_http_executors");
    executorTokens_ = std::move(*tokens);
  }

  std::string hostname = flags_.hostname;
  if (hostname.empty()) {
    char buffer[256] = {0};
    ::gethostname(buffer, sizeof(buffer) - 1);
    hostname = buffer;
  }
  info_.set_hostname(hostname);
  info_.set_port(static_cast<std::int32_t>(flags_.port));
  auto resources = agentResources(flags_.resources, flags_.workDir);
  if (!resources.ok()) return resources.error();
  for (const auto& resource : *resources) *info_.add_resources() = resource;
  auto advertised = containerizer_->advertisedResources(*resources);
  if (!advertised.ok()) return advertised.error().withContext("isolator resources");
  for (const auto& resource : *advertised) *info_.add_resources() = resource;
  auto attributes = parseAttributes(flags_.attributes);
  if (!attributes.ok()) return attributes.error();
  for (const auto& attribute : *attributes) *info_.add_attributes() = attribute;

  if (Status images = startImages(); !images.ok()) return images.error();
  if (Status imageGc = startImageGc(); !imageGc.ok()) return imageGc.error();
  Status recovered = onStrand(strand_, [this] { return recover(); });
  if (!recovered.ok()) return recovered.error().withContext("recovery");
  if (flags_.recover == "cleanup") {
    cleanupRecovered();
    exitAfterCleanup_ = true;
    return {};
  }
  onStrand(strand_, [this] {
    scheduleFinishedSandboxes();
    watchDisk();
  });

  // The agent's credential towards the master: read once, sent on every call.
  std::string authorization;
  if (flags_.security.credential) {
    Result<auth::Credential> credential = auth::readCredential(*flags_.security.credential);
    if (!credential.ok()) return credential.error().withContext("--credential");
    authorization = auth::basicAuthorization(*credential);
    LOG(INFO) << "Authenticating to the master as principal '" << credential->principal << "'";
  }

  http::ServerOptions serverOptions;
  // v0 executors link to the agent on the connection they send on.
  serverOptions.persistent = libprocess::isMessage;
  if (flags_.security.tls()) {
    serverOptions.tls = http::TlsOptions{*flags_.security.sslCert, *flags_.security.sslKey,
                                         flags_.security.sslCa.value_or(""), flags_.security.sslRequireClientCert};
  }
  server_ = std::make_unique<http::Server>(
      io_,
      [this](const http::Request& request, const http::Responder& responder) {
        if (request.path == "/health" || request.path == "/slave(1)/health") {
          responder.respond(http::Response::text(200, ""));
          return;
        }
        // libprocess messages (v0 executors) carry no HTTP credentials.
        libprocess::Transport* transport = v0Transport_.load();
        if (transport != nullptr && transport->serve(request, responder)) return;
        // Authentication first, on the HTTP thread (docs/SECURITY.md).
        auth::AuthResult authn = security_->authentication.authenticate(realmFor(request.path), request);
        if (!authn.allowed()) return responder.respond(authn.response());
        asio::post(strand_, [this, request, responder, principal = std::move(authn.principal)] {
          serve(request, responder, principal);
        });
      },
      serverOptions);
  auto port = server_->listen(flags_.ip, static_cast<std::uint16_t>(flags_.port));
  if (!port.ok()) return port.error().withContext("listening on " + flags_.ip + ":" + std::to_string(flags_.port));
  port_ = *port;
  info_.set_port(port_);
  onStrand(strand_, [this] { startV0(); });

  MasterLink::Callbacks callbacks;
  callbacks.registration = [this] { return registrationCall(); };
  callbacks.onEvent = [this](const internal::Event& event) { handleEvent(event); };
  callbacks.onDisconnected = [this](const std::string& why) { disconnected(why); };
  link_ = std::make_unique<MasterLink>(strand_, flags_.master, std::move(authorization), std::move(callbacks));
  link_->start();
  LOG(INFO) << "Agent listening on " << flags_.ip << ":" << port_ << ", master " << flags_.master
            << (agentId_.empty() ? "" : ", agent id " + agentId_);
  return {};
}

void Agent::stop() {
  if (stopping_) return;
  stopping_ = true;
  if (link_) link_->stop();
  if (server_) server_->stop();
  // Executors of frameworks that do not checkpoint cannot be recovered.
  auto remaining = [this] {
    return onStrand(strand_, [this] {
      std::size_t count = 0;
      for (auto& [id, framework] : frameworks_) {
        if (framework->info.checkpoint()) continue;
        for (auto& [eid, executor] : framework->executors) {
          if (executor->state == Executor::State::kTerminated) continue;
          ++count;
          shutdownExecutor(*executor, "the agent is stopping");
        }
      }
      return count;
    });
  };
  if (io_.stopped()) return;
  // Downloads in progress stop; their executors end without a container.
  onStrand(strand_, [this] {
    for (auto& [id, framework] : frameworks_) {
      for (auto& [eid, executor] : framework->executors) {
        if (executor->fetching) executor->fetchCancel->store(true);
      }
    }
  });
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<std::int64_t>(flags_.executorShutdownGracePeriod * 1000) + 3000);
  while (remaining() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// ---------------------------------------------------------------- master

internal::Call Agent::registrationCall() {
  internal::Call call;
  auto addCapabilities = [](auto* message) {
    for (auto type : {mesos::v1::AgentInfo::Capability::MULTI_ROLE, mesos::v1::AgentInfo::Capability::HIERARCHICAL_ROLE,
                      mesos::v1::AgentInfo::Capability::RESERVATION_REFINEMENT,
                      mesos::v1::AgentInfo::Capability::TASK_RESOURCE_LIMITS}) {
      message->add_capabilities()->set_type(type);
    }
  };
  if (agentId_.empty()) {
    call.set_type(internal::Call::REGISTER);
    auto* registration = call.mutable_registration();
    *registration->mutable_agent_info() = info_;
    registration->set_version(kVersion);
    addCapabilities(registration);
    for (const auto& resource : checkpointedResources_) *registration->add_checkpointed_resources() = resource;
    return call;
  }
  call.set_type(internal::Call::REREGISTER);
  call.mutable_agent_id()->set_value(agentId_);
  auto* reregistration = call.mutable_reregistration();
  *reregistration->mutable_agent_info() = info_;
  reregistration->set_version(kVersion);
  addCapabilities(reregistration);
  for (const auto& resource : checkpointedResources_) *reregistration->add_checkpointed_resources() = resource;
  for (const auto& [id, framework] : frameworks_) {
    internal::FrameworkState* state = reregistration->add_frameworks();
    *state->mutable_framework_info() = framework->info;
    for (const auto& [eid, executor] : framework->executors) {
      if (executor->state != Executor::State::kTerminated) *state->add_executors() = executor->info;
      for (const std::string& taskId : executor->taskOrder) {
        auto it = executor->tasks.find(taskId);
        if (it != executor->tasks.end()) *state->add_tasks() = it->second.task;
      }
    }
  }
  for (const auto& framework : completedFrameworks_) *reregistration->add_completed_frameworks() = framework->info;
  return call;
}

void Agent::disconnected(const std::string& why) {
  if (connected_) LOG(WARNING) << "Lost the master: " << why;
  connected_ = false;
}

void Agent::registered(const mesos::v1::AgentID& id, const mesos::v1::MasterInfo& master) {
  if (agentId_ != id.value()) {
    agentId_ = id.value();
    info_.mutable_id()->set_value(agentId_);
    Status saved = checkpoint::writeMessage(checkpoint::agentMeta(flags_.workDir, agentId_) + "/agent.info", info_);
    if (saved.ok()) saved = checkpoint::writeFile(checkpoint::metaRoot(flags_.workDir) + "/latest", agentId_);
    logUnsaved(saved);
  }
  connected_ = true;
  everRegistered_ = true;
  LOG(INFO) << "Registered with master " << master.id() << " as agent " << agentId_;
  updates_->flush();
}

void Agent::handleEvent(const internal::Event& event) {
  switch (event.type()) {
    case internal::Event::REGISTERED: {
      double interval = event.registered().heartbeat_interval_seconds();
      if (interval > 0) link_->setHeartbeatTimeout(interval * 5);
      registered(event.registered().agent_id(), event.registered().master_info());
      break;
    }
    case internal::Event::REREGISTERED: {
      double interval = event.reregistered().heartbeat_interval_seconds();
      if (interval > 0) link_->setHeartbeatTimeout(interval * 5);
      for (const auto& info : event.reregistered().frameworks()) {
        auto it = frameworks_.find(info.id().value());
        if (it != frameworks_.end()) it->second->info = info;
      }
      registered(event.reregistered().agent_id(), event.reregistered().master_info());
      break;
    }
    case internal::Event::RUN_TASK:
      runTask(event.run_task().framework_info(), {event.run_task().task()}, std::nullopt);
      break;
    case internal::Event::RUN_TASK_GROUP: {
      const auto& group = event.run_task_group();
      runTask(group.framework_info(), {group.task_group().tasks().begin(), group.task_group().tasks().end()},
              group.executor());
      break;
    }
    case internal::Event::KILL_TASK:
      killTask(event.kill_task().framework_id().value(), event.kill_task().task_id().value(),
               event.kill_task().has_kill_policy() ? &event.kill_task().kill_policy() : nullptr);
      break;
    case internal::Event::ACKNOWLEDGE:
      acknowledge(event.acknowledge().framework_id().value(), event.acknowledge().task_id().value(),
                  event.acknowledge().uuid());
      break;
    case internal::Event::SHUTDOWN_FRAMEWORK:
      shutdownFramework(event.shutdown_framework().framework_id().value());
      break;
    case internal::Event::SHUTDOWN_EXECUTOR: {
      Executor* executor = findExecutor(event.shutdown_executor().framework_id().value(),
                                        event.shutdown_executor().executor_id().value());
      if (executor != nullptr) shutdownExecutor(*executor, "the framework asked for it");
      break;
    }
    case internal::Event::FRAMEWORK_MESSAGE: {
      const auto& message = event.framework_message();
      frameworkMessage(message.framework_id().value(), message.executor_id().value(), message.data());
      break;
    }
    case internal::Event::UPDATE_FRAMEWORK: {
      const auto& info = event.update_framework().framework_info();
      auto it = frameworks_.find(info.id().value());
      if (it != frameworks_.end()) {
        it->second->info = info;
        logUnsaved(checkpoint::writeMessage(
            checkpoint::frameworkMeta(flags_.workDir, agentId_, info.id().value()) + "/framework.info", info));
      }
      break;
    }
    case internal::Event::APPLY_OPERATION: applyOperation(event.apply_operation()); break;
    case internal::Event::RECONCILE_TASKS: reconcile(event.reconcile_tasks()); break;
    case internal::Event::PING: {
      internal::Call pong;
      pong.set_type(internal::Call::PONG);
      pong.mutable_agent_id()->set_value(agentId_);
      pong.mutable_pong()->set_sequence(event.ping().sequence());
      link_->send(std::move(pong));
      break;
    }
    case internal::Event::HEARTBEAT: break;
    case internal::Event::DRAIN: drain(event.drain().config()); break;
    case internal::Event::SHUTDOWN: {
      LOG(WARNING) << "The master shut this agent down: " << event.shutdown().message()
                   << "; killing everything and registering afresh";
      std::vector<std::string> ids;
      for (auto& [id, framework] : frameworks_) ids.push_back(id);
      for (const auto& id : ids) shutdownFramework(id);
      std::error_code ec;
      fs::remove(checkpoint::metaRoot(flags_.workDir) + "/latest", ec);
      agentId_.clear();
      info_.clear_id();
      link_->reconnect("shut down by the master");
      break;
    }
    case internal::Event::ERROR: LOG(ERROR) << "The master refused this agent: " << event.error().message(); break;
    default: LOG(WARNING) << "Ignoring master event " << internal::Event::Type_Name(event.type());
  }
}

void Agent::applyOperation(const internal::Event::ApplyOperation& apply) {
  const auto& operation = apply.operation();
  const std::vector<mesos::v1::Resource> before = checkpointedResources_;
  auto add = [this](const google::protobuf::RepeatedPtrField<mesos::v1::Resource>& list) {
    for (const auto& resource : list) checkpointedResources_.push_back(resource);
  };
  auto remove = [this](const google::protobuf::RepeatedPtrField<mesos::v1::Resource>& list) {
    for (const auto& resource : list) {
      for (auto it = checkpointedResources_.begin(); it != checkpointedResources_.end(); ++it) {
        if (it->SerializeAsString() == resource.SerializeAsString()) {
          checkpointedResources_.erase(it);
          break;
        }
      }
    }
  };
  switch (operation.type()) {
    case mesos::v1::Offer::Operation::RESERVE: add(operation.reserve().resources()); break;
    case mesos::v1::Offer::Operation::UNRESERVE: remove(operation.unreserve().resources()); break;
    case mesos::v1::Offer::Operation::CREATE: add(operation.create().volumes()); break;
    case mesos::v1::Offer::Operation::DESTROY: remove(operation.destroy().volumes()); break;
    default: LOG(WARNING) << "Ignoring operation " << mesos::v1::Offer::Operation::Type_Name(operation.type()); return;
  }
  mesos::v1::AgentInfo holder;
  holder.set_hostname("-");
  for (const auto& resource : checkpointedResources_) *holder.add_resources() = resource;
  logUnsaved(checkpoint::writeMessage(checkpoint::agentMeta(flags_.workDir, agentId_) + "/resources.info", holder));
  // CREATE makes the volume's directory, DESTROY removes it.
  (void)volumes::syncPersistentVolumes(flags_.workDir, before, checkpointedResources_,
                                       [this](const std::string& path) { return persistentVolumeInUse(path); });
}

void Agent::reconcile(const internal::Event::ReconcileTasks& reconcile) {
  for (const auto& task : reconcile.tasks()) {
    if (findTaskExecutor(task.framework_id().value(), task.task_id().value()) != nullptr) continue;
    if (updates_->has(task.framework_id().value(), task.task_id().value())) continue;
    auto fw = frameworks_.find(task.framework_id().value());
    const bool aware = fw != frameworks_.end() && partitionAware(fw->second->info);
    TaskStatus status;
    status.mutable_task_id()->CopyFrom(task.task_id());
    status.set_state(aware ? mesos::v1::TASK_GONE : mesos::v1::TASK_LOST);
    status.set_source(TaskStatus::SOURCE_AGENT);
    status.set_reason(TaskStatus::REASON_RECONCILIATION);
    status.set_message("The agent does not know this task");
    statusUpdate(task.framework_id().value(), "", status, false);
  }
}

// ---------------------------------------------------------------- tasks

Agent::Framework& Agent::addFramework(const mesos::v1::FrameworkInfo& info) {
  const std::string& id = info.id().value();
  auto& slot = frameworks_[id];
  if (!slot) slot = std::make_unique<Framework>();
  slot->info = info;
  // Every RUN_TASK carries the FrameworkInfo: written only when it changed.
  std::string bytes = info.SerializeAsString();
  if (bytes != slot->checkpointedInfo) {
    logUnsaved(checkpoints_->writeFile(checkpoint::frameworkMeta(flags_.workDir, agentId_, id) + "/framework.info",
                                       bytes, info.checkpoint()));
    slot->checkpointedInfo = std::move(bytes);
  }
  // A framework back on this agent keeps the executors it completed here.
  for (auto it = completedFrameworks_.begin(); it != completedFrameworks_.end();) {
    if ((*it)->info.id().value() != id) {
      ++it;
      continue;
    }
    for (auto& executor : (*it)->completedExecutors) slot->completedExecutors.push_back(std::move(executor));
    trim(slot->completedExecutors);
    it = completedFrameworks_.erase(it);
  }
  return *slot;
}

const Agent::Framework* Agent::findFramework(const std::string& id) const {
  if (auto live = frameworks_.find(id); live != frameworks_.end()) return live->second.get();
  for (const auto& framework : completedFrameworks_) {
    if (framework->info.id().value() == id) return framework.get();
  }
  return nullptr;
}

mesos::v1::ExecutorInfo Agent::commandExecutorInfo(const mesos::v1::FrameworkInfo& framework,
                                                   const mesos::v1::TaskInfo& task) const {
  mesos::v1::ExecutorInfo info;
  info.mutable_executor_id()->set_value(task.task_id().value());
  *info.mutable_framework_id() = framework.id();
  info.set_name("Command Executor (Task: " + task.task_id().value() + ") (Command: " +
                (task.command().shell() ? "sh -c '" + task.command().value().substr(0, 64) + "'"
                                        : "[" + task.command().value() + "]") +
                ")");
  info.set_type(mesos::v1::ExecutorInfo::CUSTOM);
  mesos::v1::CommandInfo* command = info.mutable_command();
  command->set_shell(false);
  command->set_value(flags_.launcherDir + "/mantle-executor");
  command->add_arguments("mantle-executor");
  if (task.command().has_user()) command->set_user(task.command().user());
  *command->mutable_uris() = task.command().uris();  // fetched into the executor's sandbox
  if (task.has_container()) *info.mutable_container() = task.container();
  return info;
}

Agent::Executor* Agent::findExecutor(const std::string& frameworkId, const std::string& executorId) {
  auto fw = frameworks_.find(frameworkId);
  if (fw == frameworks_.end()) return nullptr;
  auto it = fw->second->executors.find(executorId);
  return it == fw->second->executors.end() ? nullptr : it->second.get();
}

Agent::Executor* Agent::findTaskExecutor(const std::string& frameworkId, const std::string& taskId) {
  auto fw = frameworks_.find(frameworkId);
  if (fw == frameworks_.end()) return nullptr;
  for (auto& [id, executor] : fw->second->executors) {
    if (executor->tasks.count(taskId)) return executor.get();
  }
  return nullptr;
}

std::vector<mesos::v1::Resource> Agent::executorResources(const Executor& executor) const {
  std::vector<mesos::v1::Resource> out(executor.info.resources().begin(), executor.info.resources().end());
  for (const auto& [id, task] : executor.tasks) {
    if (wire::isTerminal(task.task.state())) continue;
    out.insert(out.end(), task.info.resources().begin(), task.info.resources().end());
  }
  return out;
}

bool Agent::persistentVolumeInUse(const std::string& path) const {
  for (const auto& [id, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework->executors) {
      if (executor->state == Executor::State::kTerminated) continue;
      for (const auto& resource : executorResources(*executor)) {
        if (!volumes::isPersistentVolume(resource)) continue;
        Result<std::string> used = volumes::persistentVolumePath(flags_.workDir, resource);
        if (used.ok() && *used == path) return true;
      }
    }
  }
  return false;
}

Result<std::vector<LaunchPlan::Mount>> Agent::persistentVolumeMounts(const mesos::v1::ExecutorInfo& info,
                                                                     const std::vector<mesos::v1::TaskInfo>& tasks,
                                                                     const std::string& sandbox,
                                                                     const std::optional<std::string>& user) const {
  std::vector<mesos::v1::Resource> resources(info.resources().begin(), info.resources().end());
  for (const auto& task : tasks) resources.insert(resources.end(), task.resources().begin(), task.resources().end());
  Result<std::vector<volumes::PersistentMount>> found =
      volumes::persistentVolumeMounts(flags_.workDir, resources, sandbox);
  if (!found.ok()) return found.error();
  std::vector<LaunchPlan::Mount> mounts;
  for (const volumes::PersistentMount& volume : *found) {
    // As Mesos: a container whose user is not root gets the volume, unless a
    // shared volume is already in another container's hands.
    if (user && !(volume.shared && persistentVolumeInUse(volume.source))) {
      Result<UserIds> ids = lookupUser(*user);
      if (!ids.ok()) return ids.error();
      if (Status given = volumes::giveVolume(volume.source, ids->uid, ids->gid); !given.ok()) return given.error();
    }
    mounts.push_back(volume.mount);
  }
  return mounts;
}

Result<mesos::v1::Environment> Agent::decorateEnvironment(const Framework& framework,
                                                          const mesos::v1::ExecutorInfo& info,
                                                          const mesos::v1::TaskInfo& task) {
  if (hooks_->empty()) return info.command().environment();
  module::v1::TaskContext context;
  *context.mutable_framework_info() = convert<module::v1::FrameworkInfo>(framework.info).value();
  *context.mutable_task_info() = convert<module::v1::TaskInfo>(task).value();
  *context.mutable_executor_info() = convert<module::v1::ExecutorInfo>(info).value();
  *context.mutable_agent_info() = convert<module::v1::AgentInfo>(info_).value();
  Result<module::v1::Environment> decorated = hooks_->executorEnvironment(context);
  if (!decorated.ok()) return decorated.error();
  return convert<mesos::v1::Environment>(*decorated);
}

std::map<std::string, std::string> Agent::executorEnvironment(const Framework& framework, const Executor& executor,
                                                              const mesos::v1::Environment& decorated) const {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text = *entry;
    std::size_t eq = text.find('=');
    if (eq == std::string::npos || text.rfind("MANTLE_", 0) == 0) continue;
    env[text.substr(0, eq)] = text.substr(eq + 1);
  }
  // The executor's own variables, as the hooks decorated them.
  for (const auto& variable : decorated.variables()) {
    if (variable.type() == mesos::v1::Environment::Variable::SECRET) continue;
    env[variable.name()] = variable.value();
  }
  const std::string ip =
      !flags_.advertiseIp.empty() ? flags_.advertiseIp : (flags_.ip == "0.0.0.0" ? "127.0.0.1" : flags_.ip);
  const std::string endpoint = ip + ":" + std::to_string(port_);
  env["MESOS_FRAMEWORK_ID"] = executor.frameworkId;
  env["MESOS_EXECUTOR_ID"] = executor.executorId;
  env["MESOS_AGENT_ENDPOINT"] = endpoint;
  env["MESOS_SLAVE_PID"] = "slave(1)@" + endpoint;
  env["MESOS_SLAVE_ID"] = agentId_;
  env["MESOS_AGENT_ID"] = agentId_;
  env["MESOS_DIRECTORY"] = executor.directory;
  env["MESOS_SANDBOX"] = executor.directory;
  env["MESOS_CHECKPOINT"] = framework.info.checkpoint() ? "1" : "0";
  env["MESOS_RECOVERY_TIMEOUT"] = durationText(flags_.recoveryTimeout);
  env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = durationText(flags_.subscriptionBackoffMax);
  const double grace = executor.info.has_shutdown_grace_period()
                           ? static_cast<double>(executor.info.shutdown_grace_period().nanoseconds()) / 1e9
                           : flags_.executorShutdownGracePeriod;
  env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] = durationText(grace);
  env["MESOS_HTTP_COMMAND_EXECUTOR"] = "1";
  env["MESOS_CONTAINER_ID"] = executor.containerId;
  // A v0 executor's libprocess listens on a port of its own, at the address
  // the agent listens on (as the Mesos agent passes its LIBPROCESS_IP on).
  env["LIBPROCESS_PORT"] = "0";
  if (flags_.ip != "0.0.0.0" && !env.count("LIBPROCESS_IP")) env["LIBPROCESS_IP"] = flags_.ip;
  if (flags_.security.tls()) {
    // The executor calls this agent over HTTPS and verifies it with the
    // agent's CA; an agent that requires client certificates lends its own
    // (as Mesos executors inherit LIBPROCESS_SSL_CERT_FILE/KEY_FILE).
    env["LIBPROCESS_SSL_ENABLED"] = "true";
    if (flags_.security.sslCa) env["MANTLE_SSL_CA"] = *flags_.security.sslCa;
    if (flags_.security.sslRequireClientCert) {
      env["MANTLE_SSL_CERT"] = *flags_.security.sslCert;
      env["MANTLE_SSL_KEY"] = *flags_.security.sslKey;
    }
  }
  env.erase(auth::kExecutorTokenEnv);
  if (executorTokens_) env[auth::kExecutorTokenEnv] = executorTokens_->token(executor.frameworkId, executor.executorId);
  return env;
}

Result<Agent::Executor*> Agent::launchExecutor(Framework& framework, const mesos::v1::ExecutorInfo& info,
                                               bool launchGroup, const std::vector<mesos::v1::TaskInfo>& tasks,
                                               std::vector<mesos::v1::CommandInfo::URI> uris) {
  const mesos::v1::TaskInfo& task = tasks.front();
  Result<std::optional<ImageRequest>> image = imageFor(info);
  if (!image.ok()) return image.error();
  // The hooks decide first: a failing environment decorator fails the launch
  // before anything is written.
  Result<mesos::v1::Environment> environment = decorateEnvironment(framework, info, task);
  if (!environment.ok()) return environment.error();
  auto executor = std::make_unique<Executor>();
  executor->info = info;
  executor->frameworkId = framework.info.id().value();
  executor->executorId = info.executor_id().value();
  executor->containerId = uuid::randomText();
  executor->launchGroup = launchGroup;
  executor->commandExecutor = info.command().value() == flags_.launcherDir + "/mantle-executor";
  executor->directory = checkpoint::sandboxDir(flags_.workDir, agentId_, executor->frameworkId, executor->executorId,
                                               executor->containerId);
  executor->runMeta =
      checkpoint::runMeta(flags_.workDir, agentId_, executor->frameworkId, executor->executorId, executor->containerId);

  std::optional<std::string> user;
  if (flags_.switchUser) {
    if (info.command().has_user()) {
      user = info.command().user();
    } else if (!framework.info.user().empty()) {
      user = framework.info.user();
    }
    if (user && *user == "root") user.reset();
  }
  Result<std::vector<LaunchPlan::Mount>> volumeMounts = persistentVolumeMounts(info, tasks, executor->directory, user);
  if (!volumeMounts.ok()) return volumeMounts.error();
  const bool sync = framework.info.checkpoint();
  // The sandbox and the checkpoint are made off the strand, before anything
  // else of the launch (mkdir and file creation are most of a RUN_TASK's
  // cost on a busy disk).
  auto run = std::make_shared<NewRun>();
  run->sandbox = executor->directory;
  run->user = user;
  run->executorMeta = checkpoint::executorMeta(flags_.workDir, agentId_, executor->frameworkId, executor->executorId);
  run->runMeta = executor->runMeta;
  run->containerId = executor->containerId;
  run->executorInfo = info.SerializeAsString();
  run->commandExecutor = executor->commandExecutor;
  for (const auto& queued : tasks) run->tasks.emplace_back(queued.task_id().value(), queued.SerializeAsString());
  run->sync = sync;

  module::v1::ContainerConfig config;
  *config.mutable_executor_info() = convert<module::v1::ExecutorInfo>(info).value();
  config.set_directory(executor->directory);
  if (user) config.set_user(*user);

  LaunchPlan plan;
  const mesos::v1::CommandInfo& command = info.command();
  if (command.shell()) {
    plan.argv = {"/bin/sh", "-c", command.value()};
  } else {
    std::string path = command.value();
    if (path.find('/') == std::string::npos) {
      const char* searchPath = std::getenv("PATH");
      std::istringstream dirs(searchPath ? searchPath : "/usr/bin:/bin");
      std::string dir;
      while (std::getline(dirs, dir, ':')) {
        if (::access((dir + "/" + path).c_str(), X_OK) == 0) {
          path = dir + "/" + path;
          break;
        }
      }
    }
    // As in Mesos: `value` is the program, `arguments` its whole argv
    // (argv[0] included); without arguments argv[0] is the value.
    plan.executable = path;
    plan.argv.assign(command.arguments().begin(), command.arguments().end());
    if (plan.argv.empty()) plan.argv.push_back(command.value());
  }
  plan.rootProgram = flags_.launcherDir + "/mantle-container-root";
  plan.sandbox = executor->directory;
  plan.user = user;
  plan.mounts = std::move(*volumeMounts);
  plan.logMaxBytes = flags_.containerLogsMaxSize;
  plan.logMaxFiles = static_cast<int>(flags_.containerLogsMaxFiles);
  plan.environment = executorEnvironment(framework, *executor, *environment);

  Executor& ref = *executor;
  framework.executors[executor->executorId] = std::move(executor);
  containers_[ref.containerId] = {ref.frameworkId, ref.executorId};
  // The tasks are in the checkpoint before the container starts (as Mesos
  // does): an agent killed after the launch recovers the executor with them.
  for (const auto& queued : tasks) addTask(ref, queued);
  // The container's config sees the executor's resources and, for a command
  // task, the task's (and its TaskInfo, as Mesos' ContainerConfig.task_info),
  // so that isolators prepare for them (gpu/nvidia: the GPUs' devices and
  // environment); update() adds the other tasks' once they are queued.
  for (const auto& resource : info.resources())
    *config.add_resources() = convert<module::v1::Resource>(resource).value();
  if (ref.commandExecutor && !launchGroup) {
    *config.mutable_task_info() = convert<module::v1::TaskInfo>(task).value();
    for (const auto& resource : task.resources())
      *config.add_resources() = convert<module::v1::Resource>(resource).value();
  }
  if (launchGroup) {
    for (const auto& member : tasks) *config.add_task_group() = convert<module::v1::TaskInfo>(member).value();
  }
  const bool imageVolumes = !imageVolumesOf(config).empty();
  // The container starts off the strand (startContainer), in fetched() once
  // the sandbox and the checkpoint are written and committed (the tasks of a
  // checkpointing framework are durable before their executor runs), the
  // image is provisioned and the fetcher is done.
  ref.fetching = true;
  ref.fetchCancel = std::make_shared<std::atomic<bool>>(false);
  if (!sync && uris.empty() && !*image && !imageVolumes) {
    // Nothing to wait for: the launch thread writes them, then launches.
    startContainer(ref, std::move(config), std::move(plan), [run]() -> Status {
      Result<checkpoint::Batch> written = run->write();
      return written.ok() ? Status{} : Status(written.error());
    });
    return &ref;
  }
  auto commited = [this, uris = std::move(uris), user, config = std::move(config), plan = std::move(plan),
                   image = std::move(*image), imageVolumes, fw = ref.frameworkId, id = ref.executorId,
                   cid = ref.containerId](const Status& durable) mutable {
    Executor* executor = findExecutor(fw, id);
    if (executor == nullptr || executor->containerId != cid) return;
    traceLaunch(*executor, "checkpoint_durable");
    if (durable.ok() && image && executor->state == Executor::State::kRegistering) {
      provisionImage(*executor, *image, std::move(config), std::move(plan), std::move(uris));
      return;
    }
    if (durable.ok() && imageVolumes && executor->state == Executor::State::kRegistering) {
      provisionVolumes(*executor, std::move(config), std::move(plan), std::move(uris));
      return;
    }
    if (!durable.ok() || uris.empty() || executor->state != Executor::State::kRegistering) {
      fetched(fw, id, cid, durable.ok() ? durable : durable.error().withContext("checkpointing the executor"), config,
              std::move(plan));
      return;
    }
    fetch(*executor, std::move(uris), user, std::move(config), std::move(plan));
  };
  asio::post(twoThreads(sandboxPool_), [this, run, commited = std::move(commited), fw = ref.frameworkId,
                                        id = ref.executorId, cid = ref.containerId]() mutable {
    auto written = std::make_shared<Result<checkpoint::Batch>>(run->write());
    asio::post(strand_, [this, written, at = steadyNanos(), sync = run->sync, commited = std::move(commited), fw, id,
                         cid]() mutable {
      Executor* executor = findExecutor(fw, id);
      if (executor == nullptr || executor->containerId != cid) return;
      traceLaunch(*executor, "set_up", at);
      if (!written->ok()) {
        const Error& error = written->error();
        return containerNotStarted(*executor, Error(error.code, "Failed to launch the container: " + error.message));
      }
      checkpoints_->add(std::move(**written));
      if (sync) return checkpoints_->afterCommit(std::move(commited));
      commited(Status{});
    });
  });
  return &ref;
}

void Agent::startContainer(Executor& ref, module::v1::ContainerConfig config, LaunchPlan plan,
                           std::function<Status()> setUp) {
  // Before the executor may start: a container that runs is one a restarted
  // agent finds. Its pid is checkpointed on the launch thread; the strand
  // then adds the write to the next commit.
  auto pidWrite = std::make_shared<checkpoint::Batch>();
  Containerizer::LaunchHooks hooks;
  hooks.setUp = std::move(setUp);
  hooks.isolated = [pidWrite, path = ref.runMeta + "/pid", sync = checkpointing(ref.frameworkId)](pid_t pid) {
    std::optional<std::uint64_t> start = processStartTime(pid);
    logUnsaved(pidWrite->writeFile(path, std::to_string(pid) + " " + std::to_string(start.value_or(0)), sync));
  };
  containerizer_->launch(
      ref.containerId, std::move(config), std::move(plan),
      [this, pidWrite, fw = ref.frameworkId, id = ref.executorId, cid = ref.containerId](
          const Result<pid_t>& pid, const Containerizer::LaunchSteps& steps) {
        checkpoints_->add(std::move(*pidWrite));
        containerLaunched(fw, id, cid, pid, steps);
      },
      std::move(hooks));
}

void Agent::containerLaunched(const std::string& frameworkId, const std::string& executorId,
                              const std::string& containerId, const Result<pid_t>& pid,
                              const Containerizer::LaunchSteps& steps) {
  Executor* executor = findExecutor(frameworkId, executorId);
  CHECK(executor != nullptr && executor->containerId == containerId && executor->fetching)
      << "container " << containerId << " launched for no executor waiting for it";
  Executor& ref = *executor;
  for (const auto& [step, at] : steps) traceLaunch(ref, step, at);
  traceLaunch(ref, "released");
  if (!pid.ok()) {
    ++counters_["container_launch_errors"];
    LOG(WARNING) << "Launching executor " << executorId << " failed: " << pid.error().message;
    return containerNotStarted(ref, Error(pid.error().code, "Failed to launch the container: " + pid.error().message));
  }
  ref.fetching = false;
  ref.pid = *pid;  // checkpointed already (startContainer)
  if (ref.state != Executor::State::kRegistering) {
    // Shut down (every task killed, the framework gone) while it launched:
    // the container is killed before its executor runs; its termination ends
    // the executor.
    containerizer_->destroy(containerId, 0);
    return;
  }
  ref.registrationTimer = std::make_unique<asio::steady_timer>(strand_);
  ref.registrationTimer->expires_after(
      std::chrono::milliseconds(static_cast<std::int64_t>(flags_.executorRegistrationTimeout * 1000)));
  ref.registrationTimer->async_wait(
      [this, fw = ref.frameworkId, id = ref.executorId, cid = ref.containerId](const boost::system::error_code& ec) {
        if (ec) return;
        Executor* executor = findExecutor(fw, id);
        if (executor == nullptr || executor->containerId != cid || executor->state != Executor::State::kRegistering) {
          return;
        }
        LOG(WARNING) << "Executor " << id << " did not subscribe in time; destroying its container";
        Termination reason;
        reason.reason = TaskStatus::REASON_EXECUTOR_REGISTRATION_TIMEOUT;
        reason.message = "Executor did not subscribe within " + durationText(flags_.executorRegistrationTimeout);
        executor->termination = reason;
        executor->state = Executor::State::kTerminating;
        containerizer_->destroy(cid, 0);
      });
  LOG(INFO) << "Launched executor " << ref.executorId << " of framework " << ref.frameworkId << " in container "
            << ref.containerId << " (pid " << ref.pid << ")";
  // A command task's container started with its task's resources
  // (launchExecutor): no isolator needs to hear of them again. Other
  // executors' tasks queued meanwhile join the container's resources.
  if (!ref.commandExecutor || ref.launchGroup) {
    Status updated = containerizer_->update(containerId, executorResources(ref));
    if (!updated.ok()) LOG(WARNING) << "Updating container " << containerId << ": " << updated.error().message;
  }
}

void Agent::containerNotStarted(Executor& executor, const Error& failure) {
  executor.fetching = false;
  Termination termination;
  if (executor.state != Executor::State::kRegistering) {
    // Shut down (every task killed, the framework gone) before it started.
    termination.destroyed = true;
    termination.message = "Shut down before its container started";
  } else {
    termination.reason = TaskStatus::REASON_CONTAINER_LAUNCH_FAILED;
    termination.message = failure.message;
  }
  containers_.erase(executor.containerId);
  executorTerminated(executor, termination);
}

void Agent::fetched(const std::string& frameworkId, const std::string& executorId, const std::string& containerId,
                    const Status& result, const module::v1::ContainerConfig& config, LaunchPlan plan) {
  Executor* executor = findExecutor(frameworkId, executorId);
  if (executor == nullptr || executor->containerId != containerId || !executor->fetching) return;
  if (executor->state == Executor::State::kRegistering && result.ok()) {
    startContainer(*executor, config, std::move(plan));
    return;
  }
  if (!result.ok()) {
    LOG(WARNING) << "Executor " << executorId << " of framework " << frameworkId << ": " << result.error().message;
  }
  containerNotStarted(*executor, result.ok() ? Error(StatusCode::kCancelled, "") : result.error());
}

void Agent::fetch(Executor& executor, std::vector<mesos::v1::CommandInfo::URI> uris,
                  const std::optional<std::string>& user, module::v1::ContainerConfig config, LaunchPlan plan) {
  // The fetcher's downloads and extraction run on a pool thread; the
  // container starts in fetched(), back on the strand.
  LOG(INFO) << "Fetching " << uris.size() << " URI(s) into the sandbox of executor " << executor.executorId
            << " of framework " << executor.frameworkId;
  FetchOptions options;
  options.cancel = executor.fetchCancel;
  options.stallTimeoutSeconds = flags_.fetcherStallTimeout;
  options.user = user;
  asio::post(twoThreads(fetchPool_), [this, uris = std::move(uris), user, options, config = std::move(config),
                                      plan = std::move(plan), fw = executor.frameworkId, id = executor.executorId,
                                      cid = executor.containerId, sandbox = executor.directory]() mutable {
    Status done = fetchUris(uris, sandbox, options);
    // What was fetched belongs to the task's user too.
    if (done.ok() && user) done = chownTree(sandbox, *user);
    asio::post(strand_, [this, fw, id, cid, done, config = std::move(config), plan = std::move(plan)]() mutable {
      if (!done.ok()) ++counters_["fetcher_errors"];
      fetched(fw, id, cid, done, config, std::move(plan));
    });
  });
}

void Agent::traceLaunch(Executor& executor, std::string step, std::optional<std::int64_t> at) {
  if (!executor.launchTraced) executor.launchTrace.emplace_back(std::move(step), at.value_or(steadyNanos()));
}

void Agent::traceUpdate(const std::string& frameworkId, const std::string& taskId, mesos::v1::TaskState state,
                        const std::string& what) {
  Executor* executor = findTaskExecutor(frameworkId, taskId);
  if (executor == nullptr || executor->launchTraced || executor->taskOrder.empty() ||
      executor->taskOrder.front() != taskId) {
    return;
  }
  std::string name = mesos::v1::TaskState_Name(state);
  if (name.rfind("TASK_", 0) == 0) name = name.substr(5);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  traceLaunch(*executor, name + "_" + what);
  if (state != mesos::v1::TASK_RUNNING || what != "ack_written") return;
  std::ostringstream line;
  line << "Launch trace of task " << taskId << " (CLOCK_MONOTONIC ns):";
  for (const auto& [step, at] : executor->launchTrace) line << " " << step << "=" << at;
  LOG(INFO) << line.str();
  executor->launchTraced = true;
  executor->launchTrace.clear();
}

bool Agent::checkpointing(const std::string& frameworkId) const {
  auto it = frameworks_.find(frameworkId);
  return it != frameworks_.end() && it->second->info.checkpoint();
}

void Agent::checkpointTask(const Executor& executor, const TaskEntry& task) {
  logUnsaved(
      checkpoints_->writeMessage(checkpoint::taskMeta(executor.runMeta, task.info.task_id().value()) + "/task.info",
                                 task.info, checkpointing(executor.frameworkId)));
}

void Agent::queueTask(Executor& executor, const mesos::v1::TaskInfo& info) {
  checkpointTask(executor, addTask(executor, info));
}

Agent::TaskEntry& Agent::addTask(Executor& executor, const mesos::v1::TaskInfo& info) {
  TaskEntry entry;
  entry.info = info;
  mesos::v1::Task& task = entry.task;
  task.set_name(info.name());
  *task.mutable_task_id() = info.task_id();
  task.mutable_framework_id()->set_value(executor.frameworkId);
  task.mutable_executor_id()->set_value(executor.executorId);
  task.mutable_agent_id()->set_value(agentId_);
  task.set_state(mesos::v1::TASK_STAGING);
  *task.mutable_resources() = info.resources();
  if (info.has_labels()) *task.mutable_labels() = info.labels();
  if (info.has_discovery()) *task.mutable_discovery() = info.discovery();
  if (info.has_container()) *task.mutable_container() = info.container();
  if (info.has_health_check()) *task.mutable_health_check() = info.health_check();
  if (info.has_kill_policy()) *task.mutable_kill_policy() = info.kill_policy();
  *task.mutable_limits() = info.limits();
  wire::redactSecrets(task);  // kept to be shown; entry.info keeps the values for the executor
  const std::string id = info.task_id().value();
  executor.taskOrder.push_back(id);
  return executor.tasks[id] = std::move(entry);
}

void Agent::deliverQueuedTasks(Executor& executor) {
  if (executor.state != Executor::State::kRunning || !attached(executor)) return;
  mesos::v1::executor::Event group;
  group.set_type(mesos::v1::executor::Event::LAUNCH_GROUP);
  for (const std::string& id : executor.taskOrder) {
    auto it = executor.tasks.find(id);
    if (it == executor.tasks.end() || !it->second.queued) continue;
    it->second.queued = false;
    if (executor.launchGroup) {
      *group.mutable_launch_group()->mutable_task_group()->add_tasks() = it->second.info;
    } else {
      mesos::v1::executor::Event launch;
      launch.set_type(mesos::v1::executor::Event::LAUNCH);
      *launch.mutable_launch()->mutable_task() = it->second.info;
      traceLaunch(executor, "launch_sent");
      sendToExecutor(executor, launch);
    }
  }
  if (group.launch_group().task_group().tasks_size() > 0) sendToExecutor(executor, group);
}

Status Agent::decorateLabels(const mesos::v1::FrameworkInfo& framework, std::vector<mesos::v1::TaskInfo>& tasks) {
  if (hooks_->empty()) return {};
  std::vector<mesos::v1::Labels> labels;
  for (const auto& task : tasks) {
    module::v1::TaskContext context;
    *context.mutable_framework_info() = convert<module::v1::FrameworkInfo>(framework).value();
    *context.mutable_task_info() = convert<module::v1::TaskInfo>(wire::redactedSecrets(task)).value();
    if (task.has_executor())
      *context.mutable_executor_info() =
          convert<module::v1::ExecutorInfo>(wire::redactedSecrets(task.executor())).value();
    *context.mutable_agent_info() = convert<module::v1::AgentInfo>(info_).value();
    Result<module::v1::Labels> decorated = hooks_->agentRunTaskLabels(context);
    if (!decorated.ok()) return decorated.error();
    Result<mesos::v1::Labels> converted = convert<mesos::v1::Labels>(*decorated);
    if (!converted.ok()) return converted.error();
    labels.push_back(std::move(*converted));
  }
  // All or nothing: a group is launched with every task decorated, or not at all.
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].has_labels() || labels[i].labels_size() > 0) *tasks[i].mutable_labels() = labels[i];
  }
  return {};
}

void Agent::runTask(const mesos::v1::FrameworkInfo& frameworkInfo, std::vector<mesos::v1::TaskInfo> tasks,
                    std::optional<mesos::v1::ExecutorInfo> groupExecutor) {
  if (tasks.empty()) return;
  const std::int64_t received = steadyNanos();
  Framework& framework = addFramework(frameworkInfo);
  const Status decorated = decorateLabels(frameworkInfo, tasks);
  mesos::v1::ExecutorInfo info = groupExecutor                  ? *groupExecutor
                                 : tasks.front().has_executor() ? tasks.front().executor()
                                                                : commandExecutorInfo(frameworkInfo, tasks.front());
  if (!info.has_framework_id()) *info.mutable_framework_id() = frameworkInfo.id();
  if (groupExecutor && !info.has_command()) {
    // The default executor: mantle-executor runs task groups too.
    info.mutable_command()->set_shell(false);
    info.mutable_command()->set_value(flags_.launcherDir + "/mantle-executor");
    info.mutable_command()->add_arguments("mantle-executor");
  }
  const std::string frameworkId = frameworkInfo.id().value();
  Executor* executor = findExecutor(frameworkId, info.executor_id().value());
  auto reject = [&](TaskState state, TaskStatus::Reason reason, const std::string& message) {
    for (const auto& task : tasks) {
      TaskStatus status;
      *status.mutable_task_id() = task.task_id();
      status.set_state(state);
      status.set_source(TaskStatus::SOURCE_AGENT);
      status.set_reason(reason);
      status.set_message(message);
      statusUpdate(frameworkId, info.executor_id().value(), status, false);
    }
  };
  if (!decorated.ok()) {
    // A failing run-task decorator fails the launch (every task of a group).
    LOG(WARNING) << "Not launching task(s) of framework " << frameworkId << ": " << decorated.error().message;
    reject(mesos::v1::TASK_FAILED, TaskStatus::REASON_CONTAINER_LAUNCH_FAILED, decorated.error().message);
    return;
  }
  const std::vector<std::string> isolators = containerizer_->isolatorModules();
  for (const auto& task : tasks) {
    Status supported =
        volumes::checkSupportedVolumes(task.container(), "task '" + task.task_id().value() + "'", isolators);
    if (supported.ok()) {
      supported = volumes::checkSupportedVolumes(info.container(),
                                                 "the executor of task '" + task.task_id().value() + "'", isolators);
    }
    if (supported.ok()) {
      supported = volumes::checkSecretEnvironment(task.command(), "task '" + task.task_id().value() + "'", isolators);
    }
    if (supported.ok()) {
      supported = volumes::checkSecretEnvironment(info.command(),
                                                  "the executor of task '" + task.task_id().value() + "'", isolators);
    }
    if (supported.ok() && executor != nullptr) {
      supported = volumes::checkJoiningTask(executor->info, executor->launchGroup, task);
    }
    if (!supported.ok()) {
      LOG(WARNING) << "Not launching task(s) of framework " << frameworkId << ": " << supported.error().message;
      reject(mesos::v1::TASK_FAILED, TaskStatus::REASON_CONTAINER_LAUNCH_FAILED, supported.error().message);
      return;
    }
  }
  if (Status supported = checkContainers(info, tasks, groupExecutor.has_value()); !supported.ok()) {
    LOG(WARNING) << "Not launching task(s) of framework " << frameworkId << ": " << supported.error().message;
    reject(mesos::v1::TASK_ERROR, TaskStatus::REASON_TASK_INVALID, supported.error().message);
    return;
  }
  if (executor != nullptr && executor->state >= Executor::State::kTerminating) {
    reject(partitionAware(frameworkInfo) ? mesos::v1::TASK_DROPPED : mesos::v1::TASK_LOST,
           TaskStatus::REASON_EXECUTOR_TERMINATED, "The executor is terminating");
    return;
  }
  if (executor == nullptr) {
    if (stopping_) return;
    // The executor's URIs; a task group's tasks share its sandbox, so theirs too.
    std::vector<mesos::v1::CommandInfo::URI> uris(info.command().uris().begin(), info.command().uris().end());
    if (groupExecutor) {
      for (const auto& task : tasks)
        uris.insert(uris.end(), task.command().uris().begin(), task.command().uris().end());
    }
    Result<Executor*> launched = launchExecutor(framework, info, groupExecutor.has_value(), tasks, std::move(uris));
    if (!launched.ok()) {
      LOG(WARNING) << "Launching executor " << info.executor_id().value() << " failed: " << launched.error().message;
      reject(mesos::v1::TASK_FAILED, TaskStatus::REASON_CONTAINER_LAUNCH_FAILED,
             "Failed to launch the container: " + launched.error().message);
      return;
    }
    executor = *launched;
    executor->launchTrace.insert(executor->launchTrace.begin(), {"received", received});
  } else {
    for (const auto& task : tasks) queueTask(*executor, task);
  }
  // A container that has not started yet starts with every queued task's
  // resources (containerLaunched).
  if (executor->fetching) return;
  if (Status updated = containerizer_->update(executor->containerId, executorResources(*executor)); !updated.ok()) {
    LOG(WARNING) << "Updating container " << executor->containerId << ": " << updated.error().message;
  }
  if (!checkpointing(frameworkId)) return deliverQueuedTasks(*executor);
  // The executor gets the tasks once their checkpoint is durable.
  checkpoints_->afterCommit([this, frameworkId, id = executor->executorId, cid = executor->containerId](const Status&) {
    Executor* running = findExecutor(frameworkId, id);
    if (running != nullptr && running->containerId == cid) deliverQueuedTasks(*running);
  });
}

mesos::v1::KillPolicy drainKillPolicy(mesos::v1::KillPolicy policy, double maxGraceSeconds) {
  const auto maxNanoseconds = static_cast<std::int64_t>(std::max(0.0, maxGraceSeconds) * 1e9);
  if (!policy.has_grace_period() || policy.grace_period().nanoseconds() > maxNanoseconds) {
    policy.mutable_grace_period()->set_nanoseconds(maxNanoseconds);
  }
  return policy;
}

void Agent::drain(const mesos::v1::DrainConfig& config) {
  if (config.has_max_grace_period()) {
    drainMaxGrace_ = static_cast<double>(config.max_grace_period().nanoseconds()) / 1e9;
  } else {
    drainMaxGrace_.reset();
  }
  LOG(INFO) << "Draining: killing every task"
            << (drainMaxGrace_ ? " within " + durationText(*drainMaxGrace_)
                               : std::string(" with its own grace period"));
  std::vector<std::pair<std::string, std::string>> live;
  for (auto& [id, framework] : frameworks_) {
    for (auto& [eid, executor] : framework->executors) {
      for (auto& [tid, task] : executor->tasks) {
        if (!wire::isTerminal(task.task.state())) live.emplace_back(id, tid);
      }
    }
  }
  for (const auto& [frameworkId, taskId] : live) killTask(frameworkId, taskId, nullptr);
}

std::optional<mesos::v1::KillPolicy> Agent::killPolicyFor(const TaskEntry& task,
                                                          const mesos::v1::KillPolicy* requested) const {
  std::optional<mesos::v1::KillPolicy> policy;
  if (requested != nullptr) {
    policy = *requested;
  } else if (task.info.has_kill_policy()) {
    policy = task.info.kill_policy();
  }
  if (drainMaxGrace_) return drainKillPolicy(policy.value_or(mesos::v1::KillPolicy()), *drainMaxGrace_);
  return policy;
}

void Agent::killTask(const std::string& frameworkId, const std::string& taskId, const mesos::v1::KillPolicy* policy) {
  Executor* executor = findTaskExecutor(frameworkId, taskId);
  if (executor == nullptr) {
    LOG(WARNING) << "Asked to kill unknown task " << taskId << " of framework " << frameworkId;
    return;
  }
  TaskEntry& task = executor->tasks[taskId];
  if (wire::isTerminal(task.task.state())) return;
  task.killRequested = true;
  if (task.queued) {
    task.queued = false;
    agentUpdate(*executor, task, mesos::v1::TASK_KILLED, TaskStatus::REASON_TASK_KILLED_DURING_LAUNCH,
                "Killed before it reached the executor");
    bool live = false;
    for (const auto& [id, other] : executor->tasks) live = live || !wire::isTerminal(other.task.state());
    if (!live) shutdownExecutor(*executor, "its only task was killed before launch");
    return;
  }
  if (executor->state == Executor::State::kRunning && attached(*executor)) {
    mesos::v1::executor::Event kill;
    kill.set_type(mesos::v1::executor::Event::KILL);
    *kill.mutable_kill()->mutable_task_id() = task.info.task_id();
    if (auto bounded = killPolicyFor(task, policy)) *kill.mutable_kill()->mutable_kill_policy() = *bounded;
    sendToExecutor(*executor, kill);
  } else if (executor->state != Executor::State::kRegistering) {
    containerizer_->destroy(executor->containerId, drainMaxGrace_
                                                       ? std::min(*drainMaxGrace_, flags_.executorShutdownGracePeriod)
                                                       : flags_.executorShutdownGracePeriod);
  }
  // A registering executor gets the KILL once it subscribes.
}

void Agent::shutdownExecutor(Executor& executor, const std::string& why) {
  if (executor.state == Executor::State::kTerminated) return;
  if (executor.shutdownRequested) return;
  LOG(INFO) << "Shutting down executor " << executor.executorId << " of framework " << executor.frameworkId << ": "
            << why;
  executor.shutdownRequested = true;
  executor.state = Executor::State::kTerminating;
  if (executor.fetching) {
    // No container yet: stop the fetch; fetched() ends the executor.
    executor.fetchCancel->store(true);
    if (executor.pulling) shutdownWhilePulling(executor);
    return;
  }
  const double grace = executor.info.has_shutdown_grace_period()
                           ? static_cast<double>(executor.info.shutdown_grace_period().nanoseconds()) / 1e9
                           : flags_.executorShutdownGracePeriod;
  if (!attached(executor)) {
    containerizer_->destroy(executor.containerId, grace);
    return;
  }
  mesos::v1::executor::Event shutdown;
  shutdown.set_type(mesos::v1::executor::Event::SHUTDOWN);
  sendToExecutor(executor, shutdown);
  executor.shutdownTimer = std::make_unique<asio::steady_timer>(strand_);
  executor.shutdownTimer->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(grace * 1000) + 500));
  executor.shutdownTimer->async_wait([this, cid = executor.containerId](const boost::system::error_code& ec) {
    if (!ec) containerizer_->destroy(cid, 0);
  });
}

void Agent::shutdownFramework(const std::string& frameworkId) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  for (auto& [id, executor] : it->second->executors) shutdownExecutor(*executor, "the framework is shutting down");
}

void Agent::containerTerminated(const std::string& containerId, const Termination& termination) {
  auto where = containers_.find(containerId);
  if (where == containers_.end()) return;
  auto [frameworkId, executorId] = where->second;
  containers_.erase(where);
  Executor* executor = findExecutor(frameworkId, executorId);
  if (executor == nullptr || executor->containerId != containerId) return;
  Termination final = termination;
  if (executor->termination && executor->termination->reason && !final.reason) {
    final.reason = executor->termination->reason;
    final.message = executor->termination->message;
  }
  executorTerminated(*executor, final);
}

void Agent::executorTerminated(Executor& executor, const Termination& termination) {
  const std::string frameworkId = executor.frameworkId;
  const std::string executorId = executor.executorId;
  executor.termination = termination;
  LOG(INFO) << "Executor " << executorId << " of framework " << frameworkId << " "
            << (executor.pid > 0 ? termination.describe() : "never started: " + termination.message);
  releaseRootfs(executor.containerId);
  executorGone(executor);
  internal::Call exited;
  exited.set_type(internal::Call::EXECUTOR_EXITED);
  exited.mutable_agent_id()->set_value(agentId_);
  exited.mutable_executor_exited()->mutable_framework_id()->set_value(frameworkId);
  exited.mutable_executor_exited()->mutable_executor_id()->set_value(executorId);
  if (termination.statusKnown) exited.mutable_executor_exited()->set_status(termination.status);
  if (connected_) link_->send(std::move(exited));
  maybeCompleteExecutor(frameworkId, executorId);
}

void Agent::executorGone(Executor& executor) {
  executor.state = Executor::State::kTerminated;
  if (executor.stream) executor.stream->close();
  executor.stream.reset();
  executor.upid.reset();
  if (executor.registrationTimer) executor.registrationTimer->cancel();
  if (executor.shutdownTimer) executor.shutdownTimer->cancel();
  logUnsaved(checkpoints_->writeFile(executor.runMeta + "/terminated", "", checkpointing(executor.frameworkId)));
  const Termination termination = executor.termination.value_or(Termination{});
  for (const std::string& id : executor.taskOrder) {
    auto it = executor.tasks.find(id);
    if (it == executor.tasks.end() || wire::isTerminal(it->second.task.state())) continue;
    TaskEntry& task = it->second;
    if (termination.reason) {
      std::string message = termination.message;
      agentUpdate(executor, task, mesos::v1::TASK_FAILED, *termination.reason, message);
    } else if (task.killRequested || executor.shutdownRequested) {
      agentUpdate(executor, task, mesos::v1::TASK_KILLED, TaskStatus::REASON_EXECUTOR_TERMINATED,
                  "Executor terminated after a kill");
    } else {
      agentUpdate(executor, task, mesos::v1::TASK_FAILED, TaskStatus::REASON_EXECUTOR_TERMINATED,
                  "Executor " + termination.describe());
    }
  }
}

void Agent::removeCheckpoint(const std::string& dir) {
  const std::string trash = checkpoint::trashDir(flags_.workDir) + "/" + uuid::randomText();
  std::error_code ec;
  fs::rename(dir, trash, ec);
  if (ec) {
    fs::remove_all(dir, ec);  // not there (nothing to do), or the trash is not
    return;
  }
  asio::post(twoThreads(sandboxPool_), [trash] {
    std::error_code error;
    fs::remove_all(trash, error);
    if (error) LOG(WARNING) << "Removing " << trash << ": " << error.message();
  });
}

void Agent::maybeCompleteExecutor(const std::string& frameworkId, const std::string& executorId) {
  auto fw = frameworks_.find(frameworkId);
  if (fw == frameworks_.end()) return;
  Framework& framework = *fw->second;
  auto it = framework.executors.find(executorId);
  if (it == framework.executors.end()) return;
  Executor& executor = *it->second;
  if (executor.state != Executor::State::kTerminated || !executor.tasks.empty()) return;
  removeCheckpoint(checkpoint::executorMeta(flags_.workDir, agentId_, frameworkId, executorId));
  scheduleSandbox(executor.directory, GarbageCollector::Clock::now());
  if (!hooks_->empty()) {
    module::v1::ExecutorRemoved removed;
    *removed.mutable_framework_info() = convert<module::v1::FrameworkInfo>(framework.info).value();
    *removed.mutable_executor_info() = convert<module::v1::ExecutorInfo>(executor.info).value();
    hooks_->executorRemoved(removed);
  }
  framework.completedExecutors.push_back(std::move(it->second));
  trim(framework.completedExecutors);
  framework.executors.erase(it);
  if (framework.executors.empty()) {
    removeCheckpoint(checkpoint::frameworkMeta(flags_.workDir, agentId_, frameworkId));
    // The framework moves to completed with its completed executors, which
    // stay visible (and their sandboxes readable) until it is trimmed.
    completedFrameworks_.push_back(std::move(fw->second));
    trim(completedFrameworks_);
    frameworks_.erase(fw);
    // As in Mesos, a drain is over once nothing runs here any more.
    if (frameworks_.empty()) drainMaxGrace_.reset();
  }
}

// ---------------------------------------------------------------- status updates

void Agent::agentUpdate(Executor& executor, TaskEntry& task, TaskState state, TaskStatus::Reason reason,
                        const std::string& message) {
  TaskStatus status;
  *status.mutable_task_id() = task.info.task_id();
  status.set_state(state);
  status.set_source(TaskStatus::SOURCE_AGENT);
  status.set_reason(reason);
  status.set_message(message);
  if (executor.termination && !executor.termination->limitedResources.empty()) {
    for (const auto& resource : executor.termination->limitedResources) {
      *status.mutable_limitation()->add_resources() = resource;
    }
  }
  status.mutable_container_status()->mutable_container_id()->set_value(executor.containerId);
  statusUpdate(executor.frameworkId, executor.executorId, status, false);
}

void Agent::statusUpdate(const std::string& frameworkId, const std::string& executorId, TaskStatus status,
                         bool fromExecutor) {
  const std::string taskId = status.task_id().value();
  if (!status.has_uuid()) status.set_uuid(uuid::randomBytes());
  status.mutable_agent_id()->set_value(agentId_);
  if (!executorId.empty()) status.mutable_executor_id()->set_value(executorId);
  if (!status.has_timestamp()) status.set_timestamp(wallNow());
  if (fromExecutor && !status.has_source()) status.set_source(TaskStatus::SOURCE_EXECUTOR);
  Executor* executor = executorId.empty() ? nullptr : findExecutor(frameworkId, executorId);
  TaskEntry* task = nullptr;
  if (executor != nullptr) {
    auto it = executor->tasks.find(taskId);
    if (it != executor->tasks.end()) task = &it->second;
  }
  auto acknowledgeExecutor = [&] {
    if (fromExecutor && executor != nullptr) sendToExecutor(*executor, acknowledgedEvent(status));
  };
  if (updates_->seen(frameworkId, taskId, status.uuid())) {
    acknowledgeExecutor();  // a resent update: already checkpointed
    return;
  }
  if (task != nullptr && wire::isTerminal(task->task.state())) {
    LOG(WARNING) << "Ignoring " << mesos::v1::TaskState_Name(status.state()) << " for task " << taskId
                 << ", which is already " << mesos::v1::TaskState_Name(task->task.state());
    ++counters_["invalid_status_updates"];
    acknowledgeExecutor();
    return;
  }
  if (executor != nullptr && status.container_status().network_infos_size() == 0) {
    // As Mesos: every update carries the container's networks and addresses.
    mesos::v1::ContainerStatus container = containerizer_->containerStatus(executor->containerId);
    if (container.network_infos_size() > 0) {
      *status.mutable_container_status()->mutable_network_infos() = container.network_infos();
    }
  }
  decorateStatus(frameworkId, status);
  internal::StatusUpdate update;
  update.mutable_framework_id()->set_value(frameworkId);
  if (!executorId.empty()) update.mutable_executor_id()->set_value(executorId);
  update.mutable_agent_id()->set_value(agentId_);
  *update.mutable_status() = status;
  update.set_timestamp(status.timestamp());
  update.set_uuid(status.uuid());
  if (task != nullptr) {
    task->task.set_state(status.state());
    *task->task.add_statuses() = status;
    while (task->task.statuses_size() > 10) task->task.mutable_statuses()->DeleteSubrange(0, 1);
    if (fromExecutor) task->queued = false;
  }
  if (task != nullptr && wire::isTerminal(status.state()) && containerizer_->contains(executor->containerId)) {
    // As in Mesos, the task's resources leave its container before the master
    // hears that it ended and offers them again (gpu/nvidia frees its GPUs).
    Status updated = containerizer_->update(executor->containerId, executorResources(*executor));
    if (!updated.ok()) {
      LOG(WARNING) << "Updating container " << executor->containerId << ": " << updated.error().message;
    }
  }
  ++counters_["valid_status_updates"];
  notifyTaskUpdated(frameworkId, status);
  // The update log of a task this agent runs lives in its run's checkpoint.
  const std::string logPath =
      task != nullptr ? checkpoint::taskMeta(executor->runMeta, taskId) + "/task.updates" : std::string();
  const bool sync = task != nullptr && checkpointing(frameworkId);
  if (fromExecutor) traceUpdate(frameworkId, taskId, status.state(), "received");
  Status added = updates_->add(std::move(update), logPath, sync);
  CHECK(added.ok()) << added.error().message;  // seen() above
  if (!sync || !fromExecutor) return acknowledgeExecutor();
  // The executor forgets an acknowledged update: only once its record is durable.
  checkpoints_->afterCommit([this, frameworkId, executorId, ack = acknowledgedEvent(status)](const Status&) {
    if (Executor* sender = findExecutor(frameworkId, executorId)) sendToExecutor(*sender, ack);
  });
}

void Agent::decorateStatus(const std::string& frameworkId, TaskStatus& status) {
  if (hooks_->empty()) return;
  module::v1::TaskStatusContext context;
  context.mutable_framework_id()->set_value(frameworkId);
  *context.mutable_status() = convert<module::v1::TaskStatus>(status).value();
  // Fails open: a failing hook leaves the labels as they were.
  module::v1::Labels labels = hooks_->taskStatusLabels(context);
  if (status.has_labels() || labels.labels_size() > 0) {
    Result<mesos::v1::Labels> converted = convert<mesos::v1::Labels>(labels);
    if (!converted.ok()) {
      LOG(WARNING) << "Task status labels of the hooks ignored: " << converted.error().message;
      return;
    }
    *status.mutable_labels() = std::move(*converted);
  }
}

void Agent::notifyTaskUpdated(const std::string& frameworkId, const TaskStatus& status) {
  if (hooks_->empty()) return;
  module::v1::StateEvent event;
  event.set_type(module::v1::StateEvent::TASK_UPDATED);
  event.set_timestamp(wallNow());
  event.mutable_framework_id()->set_value(frameworkId);
  *event.mutable_task_status() = convert<module::v1::TaskStatus>(status).value();
  *event.mutable_agent_info() = convert<module::v1::AgentInfo>(info_).value();
  auto fw = frameworks_.find(frameworkId);
  if (fw != frameworks_.end())
    *event.mutable_framework_info() = convert<module::v1::FrameworkInfo>(fw->second->info).value();
  hooks_->stateEvent(event);
}

void Agent::forwardUpdate(internal::StatusUpdate update) {
  if (!connected_) return;  // the manager sends it again later
  update.mutable_agent_id()->set_value(agentId_);
  update.mutable_status()->mutable_agent_id()->set_value(agentId_);
  const std::string& frameworkId = update.framework_id().value();
  const std::string& taskId = update.status().task_id().value();
  if (Executor* executor = findTaskExecutor(frameworkId, taskId)) {
    update.set_latest_state(executor->tasks[taskId].task.state());
  }
  traceUpdate(frameworkId, taskId, update.status().state(), "forwarded");
  internal::Call call;
  call.set_type(internal::Call::STATUS_UPDATE);
  call.mutable_agent_id()->set_value(agentId_);
  *call.mutable_status_update()->mutable_update() = std::move(update);
  link_->send(std::move(call));
}

void Agent::acknowledge(const std::string& frameworkId, const std::string& taskId, const std::string& uuid) {
  Result<StatusUpdateManager::Acknowledged> acknowledged = updates_->acknowledge(frameworkId, taskId, uuid);
  if (!acknowledged.ok()) {
    VLOG(1) << "Ignoring an acknowledgement: " << acknowledged.error().message;
    return;
  }
  traceUpdate(frameworkId, taskId, acknowledged->state, "ack_written");
  if (!acknowledged->terminal) return;
  Executor* executor = findTaskExecutor(frameworkId, taskId);
  if (executor == nullptr) return;
  auto task = executor->tasks.find(taskId);
  executor->completedTasks.push_back(task->second.task);
  trim(executor->completedTasks);
  executor->tasks.erase(task);
  executor->taskOrder.erase(std::remove(executor->taskOrder.begin(), executor->taskOrder.end(), taskId),
                            executor->taskOrder.end());
  maybeCompleteExecutor(frameworkId, executor->executorId);
}

// ---------------------------------------------------------------- executor API

void Agent::frameworkMessage(const std::string& frameworkId, const std::string& executorId, const std::string& data) {
  Executor* executor = findExecutor(frameworkId, executorId);
  if (executor == nullptr) {
    LOG(WARNING) << "Dropping a framework message for unknown executor " << executorId;
    return;
  }
  mesos::v1::executor::Event out;
  out.set_type(mesos::v1::executor::Event::MESSAGE);
  out.mutable_message()->set_data(data);
  sendToExecutor(*executor, out);
}

bool Agent::attached(const Executor& executor) {
  return (executor.stream && !executor.stream->closed()) || executor.upid.has_value();
}

void Agent::sendToExecutor(Executor& executor, const mesos::v1::executor::Event& event) {
  if (executor.upid) return sendToV0Executor(executor, event);
  if (!executor.stream || executor.stream->closed()) return;
  executor.stream->write(wire::encodeRecord(wire::encode(event, executor.streamType)));
}

std::optional<http::Response> Agent::refuseExecutorToken(const http::Request& request, const std::string& frameworkId,
                                                         const std::string& executorId) {
  if (!executorTokens_) return std::nullopt;
  auto unauthorized = [&](const std::string& reason, const std::string& challenge) {
    LOG(WARNING) << "Refused an executor call for executor '" << executorId << "' of framework '" << frameworkId
                 << "' from " << request.remoteAddress << ": " << reason;
    ++counters_["executor_authentication_unauthorized"];
    http::Response response = http::Response::text(401, reason);
    response.headers.emplace_back("WWW-Authenticate", challenge);
    return response;
  };
  const std::string authorization = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return unauthorized("An executor call needs 'Authorization: Bearer <token>' with the executor's token",
                        "Bearer realm=\"mesos-agent-executor\"");
  }
  if (authorization.size() <= kBearer.size() || authorization.compare(0, kBearer.size(), kBearer) != 0) {
    return unauthorized("An executor call needs a Bearer token",
                        "Bearer realm=\"mesos-agent-executor\", error=\"invalid_request\"");
  }
  const std::string token = authorization.substr(kBearer.size());
  if (executorTokens_->verify(token, frameworkId, executorId)) {
    ++counters_["executor_authentication_successes"];
    return std::nullopt;
  }
  // A token of another executor on this agent: name the mismatch (the caller
  // holds that token already, so naming its owner tells it nothing new).
  for (const auto& [fid, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework->executors) {
      if (!executorTokens_->verify(token, fid, eid)) continue;
      const std::string reason = "The token is the token of executor '" + eid + "' of framework '" + fid +
                                 "', not of executor '" + executorId + "' of framework '" + frameworkId + "'";
      LOG(WARNING) << "Refused an executor call from " << request.remoteAddress << ": " << reason;
      ++counters_["executor_authentication_forbidden"];
      return http::Response::text(403, reason);
    }
  }
  return unauthorized("The token is not the token of executor '" + executorId + "' of framework '" + frameworkId +
                          "' nor of any other executor on this agent",
                      "Bearer realm=\"mesos-agent-executor\", error=\"invalid_token\"");
}

void Agent::executorCall(const http::Request& request, const http::Responder& responder) {
  using ExecutorCall = mesos::v1::executor::Call;
  auto decoded = http::readApiCall<ExecutorCall>(request, "an executor Call", [](const ExecutorCall& c) {
    return c.type() == ExecutorCall::SUBSCRIBE ? wire::ResponseFraming::kStream : wire::ResponseFraming::kSingle;
  });
  if (!decoded.ok()) {
    responder.respond(http::errorResponse(decoded.error()));
    return;
  }
  const ExecutorCall* call = &decoded->call;
  if (auto refusal = refuseExecutorToken(request, call->framework_id().value(), call->executor_id().value())) {
    responder.respond(std::move(*refusal));
    return;
  }
  switch (call->type()) {
    case mesos::v1::executor::Call::SUBSCRIBE: executorSubscribe(*call, decoded->response.message, responder); return;
    case mesos::v1::executor::Call::UPDATE: {
      Executor* executor = findExecutor(call->framework_id().value(), call->executor_id().value());
      if (executor == nullptr) {
        responder.respond(http::Response::text(400, "Executor not found"));
        return;
      }
      if (!call->has_update()) {
        responder.respond(http::Response::text(400, "Expecting 'update' to be present"));
        return;
      }
      const TaskStatus& status = call->update().status();
      if (!status.has_uuid() || status.uuid().size() != 16) {
        responder.respond(http::Response::text(400, "An executor's status update needs a 16-byte uuid"));
        return;
      }
      if (status.state() == mesos::v1::TASK_STAGING) {
        responder.respond(http::Response::text(400, "An executor cannot send TASK_STAGING"));
        return;
      }
      responder.respond(http::Response::text(202, ""));
      executorUpdate(*executor, status);
      return;
    }
    case mesos::v1::executor::Call::MESSAGE: {
      Executor* executor = findExecutor(call->framework_id().value(), call->executor_id().value());
      if (executor == nullptr) {
        responder.respond(http::Response::text(400, "Executor not found"));
        return;
      }
      executorMessage(*executor, call->message().data());
      responder.respond(http::Response::text(202, ""));
      return;
    }
    case mesos::v1::executor::Call::HEARTBEAT: responder.respond(http::Response::text(202, "")); return;
    default: responder.respond(http::Response::text(501, "Unknown executor call"));
  }
}

void Agent::executorUpdate(Executor& executor, const TaskStatus& status) {
  if (status.state() == mesos::v1::TASK_FAILED) {
    // A task killed by an isolator's limitation (the kernel's OOM killer
    // under cgroups/mem) can be reported by its executor a moment before
    // the limitation reaches us. Hold a failure briefly so the update
    // carries the limitation's reason, as the scheduler needs it; the
    // executor keeps the update until it is acknowledged, so nothing is
    // lost if the agent dies meanwhile.
    auto timer = std::make_shared<boost::asio::steady_timer>(strand_, std::chrono::milliseconds(500));
    timer->async_wait([this, timer, frameworkId = executor.frameworkId, executorId = executor.executorId,
                       update = status](const boost::system::error_code&) mutable {
      if (Executor* e = findExecutor(frameworkId, executorId)) {
        std::optional<Termination> termination = e->termination;
        if (!termination || !termination->reason) termination = containerizer_->pendingTermination(e->containerId);
        if (termination && termination->reason) {
          update.set_reason(*termination->reason);
          update.set_message(termination->message + " (" + update.message() + ")");
        }
      }
      statusUpdate(frameworkId, executorId, update, true);
    });
    return;
  }
  statusUpdate(executor.frameworkId, executor.executorId, status, true);
}

void Agent::executorMessage(const Executor& executor, const std::string& data) {
  internal::Call message;
  message.set_type(internal::Call::EXECUTOR_MESSAGE);
  message.mutable_agent_id()->set_value(agentId_);
  message.mutable_executor_message()->mutable_framework_id()->set_value(executor.frameworkId);
  message.mutable_executor_message()->mutable_executor_id()->set_value(executor.executorId);
  message.mutable_executor_message()->set_data(data);
  if (connected_) link_->send(std::move(message));
}

void Agent::executorSubscribe(const mesos::v1::executor::Call& call, wire::MediaType type,
                              const http::Responder& responder) {
  const std::string frameworkId = call.framework_id().value();
  const std::string executorId = call.executor_id().value();
  Executor* executor = findExecutor(frameworkId, executorId);
  if (executor == nullptr || executor->state == Executor::State::kTerminated) {
    responder.respond(http::Response::text(
        400, "Executor " + executorId + " of framework " + frameworkId + " is not known to this agent"));
    return;
  }
  traceLaunch(*executor, "subscribed");
  auto stream = responder.stream(200, {{"Content-Type", std::string(wire::mediaTypeName(type))}});
  if (executor->stream && executor->stream != stream) executor->stream->close();
  executor->stream = stream;
  executor->streamType = type;
  std::weak_ptr<http::Stream> weak = stream;
  stream->onClose([this, weak, frameworkId, executorId] {
    asio::post(strand_, [this, weak, frameworkId, executorId] {
      Executor* found = findExecutor(frameworkId, executorId);
      auto closed = weak.lock();
      if (found != nullptr && closed && found->stream == closed) {
        VLOG(1) << "Executor " << executorId << " disconnected";
        found->stream.reset();
      }
    });
  });
  executor->upid.reset();
  std::set<std::string> tasks;
  for (const auto& task : call.subscribe().unacknowledged_tasks()) tasks.insert(task.task_id().value());
  std::vector<TaskStatus> updates;
  for (const auto& update : call.subscribe().unacknowledged_updates()) updates.push_back(update.status());
  executorAttached(*executor, tasks, updates);
}

void Agent::executorAttached(Executor& attached, const std::set<std::string>& unacknowledgedTasks,
                             const std::vector<TaskStatus>& unacknowledgedUpdates) {
  const std::string frameworkId = attached.frameworkId;
  const std::string executorId = attached.executorId;
  Executor* executor = &attached;
  if (executor->registrationTimer) executor->registrationTimer->cancel();
  if (executor->state == Executor::State::kRegistering) executor->state = Executor::State::kRunning;

  mesos::v1::executor::Event subscribed;
  subscribed.set_type(mesos::v1::executor::Event::SUBSCRIBED);
  auto* payload = subscribed.mutable_subscribed();
  *payload->mutable_executor_info() = executor->info;
  *payload->mutable_framework_info() = frameworks_[frameworkId]->info;
  *payload->mutable_agent_info() = info_;
  payload->mutable_container_id()->set_value(executor->containerId);
  sendToExecutor(*executor, subscribed);
  LOG(INFO) << "Executor " << executorId << " of framework " << frameworkId << " subscribed"
            << (executor->upid ? " (v0, " + executor->upid->str() + ")" : std::string());

  for (const std::string& id : unacknowledgedTasks) {
    auto it = executor->tasks.find(id);
    if (it != executor->tasks.end()) it->second.queued = false;
  }
  for (const TaskStatus& update : unacknowledgedUpdates) {
    statusUpdate(frameworkId, executorId, update, true);
    executor = findExecutor(frameworkId, executorId);
    if (executor == nullptr) return;
  }
  const bool recovered = std::exchange(executor->recovered, false);
  if (recovered && executor->tasks.empty() && executor->completedTasks.empty() && unacknowledgedTasks.empty() &&
      unacknowledgedUpdates.empty()) {
    // Recovered with no task to run (the agent died between the launch and
    // the checkpoint of its task, as an older agent could): nothing will ever
    // give it one, so it goes with its container, as in Mesos.
    shutdownExecutor(*executor, "it has no tasks to run");
    return;
  }
  if (executor->state == Executor::State::kTerminating) {
    mesos::v1::executor::Event shutdown;
    shutdown.set_type(mesos::v1::executor::Event::SHUTDOWN);
    sendToExecutor(*executor, shutdown);
    return;
  }
  deliverQueuedTasks(*executor);
  for (auto& [id, task] : executor->tasks) {
    if (task.killRequested && !task.queued && !wire::isTerminal(task.task.state())) {
      mesos::v1::executor::Event kill;
      kill.set_type(mesos::v1::executor::Event::KILL);
      *kill.mutable_kill()->mutable_task_id() = task.info.task_id();
      if (auto bounded = killPolicyFor(task, nullptr)) *kill.mutable_kill()->mutable_kill_policy() = *bounded;
      sendToExecutor(*executor, kill);
    }
  }
}

// ---------------------------------------------------------------- recovery

Status Agent::recover() {
  auto latest = checkpoint::readFile(checkpoint::metaRoot(flags_.workDir) + "/latest");
  if (!latest.ok() || latest->empty()) return {};
  agentId_ = *latest;
  while (!agentId_.empty() && std::isspace(static_cast<unsigned char>(agentId_.back()))) agentId_.pop_back();
  info_.mutable_id()->set_value(agentId_);
  mesos::v1::AgentInfo saved;
  if (checkpoint::readMessage(checkpoint::agentMeta(flags_.workDir, agentId_) + "/resources.info", &saved).ok()) {
    checkpointedResources_.assign(saved.resources().begin(), saved.resources().end());
    (void)volumes::syncPersistentVolumes(flags_.workDir, {}, checkpointedResources_,
                                         [](const std::string&) { return true; });
  }
  std::vector<Containerizer::Recovered> containers;
  std::vector<std::string> orphans;
  const std::string frameworksDir = checkpoint::agentMeta(flags_.workDir, agentId_) + "/frameworks";
  for (const std::string& frameworkId : checkpoint::subdirectories(frameworksDir)) {
    mesos::v1::FrameworkInfo frameworkInfo;
    if (!checkpoint::readMessage(frameworksDir + "/" + frameworkId + "/framework.info", &frameworkInfo).ok()) {
      ++counters_["recovery_errors"];
      continue;
    }
    auto framework = std::make_unique<Framework>();
    framework->info = frameworkInfo;
    framework->checkpointedInfo = frameworkInfo.SerializeAsString();
    const std::string executorsDir = frameworksDir + "/" + frameworkId + "/executors";
    for (const std::string& executorId : checkpoint::subdirectories(executorsDir)) {
      const std::string executorMeta = executorsDir + "/" + executorId;
      auto executor = std::make_unique<Executor>();
      auto containerId = checkpoint::readFile(executorMeta + "/runs/latest");
      if (!checkpoint::readMessage(executorMeta + "/executor.info", &executor->info).ok() || !containerId.ok()) {
        ++counters_["recovery_errors"];
        continue;
      }
      executor->frameworkId = frameworkId;
      executor->executorId = executorId;
      executor->containerId = *containerId;
      executor->commandExecutor = fs::exists(executorMeta + "/command");
      executor->launchGroup = executor->info.type() == mesos::v1::ExecutorInfo::DEFAULT;
      executor->directory =
          checkpoint::sandboxDir(flags_.workDir, agentId_, frameworkId, executorId, executor->containerId);
      executor->runMeta = executorMeta + "/runs/" + executor->containerId;
      for (const std::string& taskId : checkpoint::subdirectories(executor->runMeta + "/tasks")) {
        const std::string taskDir = executor->runMeta + "/tasks/" + taskId;
        TaskEntry entry;
        if (!checkpoint::readMessage(taskDir + "/task.info", &entry.info).ok()) continue;
        mesos::v1::Task& task = entry.task;
        task.set_name(entry.info.name());
        *task.mutable_task_id() = entry.info.task_id();
        task.mutable_framework_id()->set_value(frameworkId);
        task.mutable_executor_id()->set_value(executorId);
        task.mutable_agent_id()->set_value(agentId_);
        task.set_state(mesos::v1::TASK_STAGING);
        *task.mutable_resources() = entry.info.resources();
        if (entry.info.has_labels()) *task.mutable_labels() = entry.info.labels();
        Result<StatusUpdateManager::Recovered> recovered =
            updates_->recover(frameworkId, taskId, taskDir + "/task.updates");
        if (!recovered.ok()) {
          LOG(ERROR) << "Recovering task " << taskId << " of framework " << frameworkId << ": "
                     << recovered.error().message;
          ++counters_["recovery_errors"];
        }
        const std::vector<internal::StatusUpdate> none;
        const auto& updates = recovered.ok() ? recovered->updates : none;
        for (const auto& update : updates) {
          task.set_state(update.status().state());
          *task.add_statuses() = update.status();
        }
        entry.queued = updates.empty();
        if (wire::isTerminal(task.state()) && updates_->pending(frameworkId, taskId) == 0) {
          executor->completedTasks.push_back(task);
          continue;
        }
        executor->taskOrder.push_back(taskId);
        executor->tasks[taskId] = std::move(entry);
      }
      if (auto image = checkpoint::readFile(executor->runMeta + "/" + kImageIdFile); image.ok()) {
        executor->imageId = *image;
      }
      if (auto ids = checkpoint::readFile(executor->runMeta + "/" + kVolumeImageIdsFile); ids.ok()) {
        std::istringstream lines(*ids);
        for (std::string imageId; std::getline(lines, imageId);) {
          if (!imageId.empty()) executor->volumeImageIds.push_back(imageId);
        }
      }
      if (auto upid = checkpoint::readFile(executor->runMeta + "/" + v0::kPidFile); upid.ok()) {
        if (auto parsed = libprocess::Upid::parse(*upid); parsed.ok()) executor->upid = *parsed;
      }
      auto pidText = checkpoint::readFile(executor->runMeta + "/pid");
      const bool terminated = fs::exists(executor->runMeta + "/terminated");
      if (pidText.ok() && !terminated) {
        std::istringstream in(*pidText);
        Containerizer::Recovered recovered;
        in >> recovered.pid >> recovered.startTime;
        recovered.containerId = executor->containerId;
        *recovered.config.mutable_executor_info() = convert<module::v1::ExecutorInfo>(executor->info).value();
        recovered.config.set_directory(executor->directory);
        // What the container has now, as at launch and after updates: the
        // resources of the executor and its live tasks, a command task's TaskInfo.
        for (const auto& resource : executorResources(*executor)) {
          *recovered.config.add_resources() = convert<module::v1::Resource>(resource).value();
        }
        if (executor->commandExecutor && !executor->launchGroup && !executor->taskOrder.empty()) {
          *recovered.config.mutable_task_info() =
              convert<module::v1::TaskInfo>(executor->tasks[executor->taskOrder.front()].info).value();
        }
        executor->pid = recovered.pid;
        containers.push_back(std::move(recovered));
      } else if (!terminated) {
        // Its launch was under way: its root never ran the executor (it exits
        // without its release), but the isolators may hold what they prepared.
        orphans.push_back(executor->containerId);
      }
      containers_[executor->containerId] = {frameworkId, executorId};
      framework->executors[executorId] = std::move(executor);
    }
    frameworks_[frameworkId] = std::move(framework);
  }
  std::vector<std::string> alive = containerizer_->recover(containers, orphans);
  std::set<std::string> aliveSet(alive.begin(), alive.end());
  recoverRootfses(aliveSet);
  std::vector<std::pair<std::string, std::string>> gone;
  for (auto& [frameworkId, framework] : frameworks_) {
    for (auto& [executorId, executor] : framework->executors) {
      if (aliveSet.count(executor->containerId)) {
        executor->state = Executor::State::kRegistering;
        executor->recovered = true;
        executor->registrationTimer = std::make_unique<asio::steady_timer>(strand_);
        executor->registrationTimer->expires_after(
            std::chrono::milliseconds(static_cast<std::int64_t>(flags_.executorReregistrationTimeout * 1000)));
        executor->registrationTimer->async_wait([this, fw = frameworkId, id = executorId,
                                                 cid = executor->containerId](const boost::system::error_code& ec) {
          if (ec) return;
          Executor* found = findExecutor(fw, id);
          if (found == nullptr || found->containerId != cid || found->state != Executor::State::kRegistering) {
            return;
          }
          LOG(WARNING) << "Recovered executor " << id << " did not subscribe again in time; destroying it";
          Termination reason;
          reason.reason = TaskStatus::REASON_EXECUTOR_REREGISTRATION_TIMEOUT;
          reason.message = "Executor did not re-subscribe after the agent restarted";
          found->termination = reason;
          found->state = Executor::State::kTerminating;
          containerizer_->destroy(cid, 0);
        });
        LOG(INFO) << "Recovered executor " << executorId << " of framework " << frameworkId << " (pid " << executor->pid
                  << ")";
      } else {
        containers_.erase(executor->containerId);
        Termination termination;
        termination.message = "Executor terminated while the agent was down";
        executor->termination = termination;
        gone.emplace_back(frameworkId, executorId);
      }
    }
  }
  for (const auto& [frameworkId, executorId] : gone) {
    Executor* executor = findExecutor(frameworkId, executorId);
    executor->state = Executor::State::kTerminated;
    logUnsaved(checkpoints_->writeFile(executor->runMeta + "/terminated", "", checkpointing(frameworkId)));
    for (const std::string& id : executor->taskOrder) {
      auto it = executor->tasks.find(id);
      if (it == executor->tasks.end() || wire::isTerminal(it->second.task.state())) continue;
      agentUpdate(*executor, it->second, mesos::v1::TASK_FAILED, TaskStatus::REASON_EXECUTOR_TERMINATED,
                  "Executor terminated while the agent was down");
    }
    maybeCompleteExecutor(frameworkId, executorId);
  }
  LOG(INFO) << "Recovered agent " << agentId_ << ": " << alive.size() << " live executor(s), " << gone.size()
            << " gone";
  return {};
}

void Agent::cleanupRecovered() {
  onStrand(strand_, [this] {
    for (const std::string& id : containerizer_->containerIds()) {
      containerizer_->destroy(id, flags_.executorShutdownGracePeriod);
    }
  });
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<std::int64_t>(flags_.executorShutdownGracePeriod * 1000) + 5000);
  while (std::chrono::steady_clock::now() < deadline &&
         onStrand(strand_, [this] { return !containerizer_->containerIds().empty(); })) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::error_code ec;
  fs::remove_all(flags_.workDir + "/meta", ec);
  LOG(INFO) << "--recover=cleanup: killed the recovered executors and removed the checkpoint";
}

// ---------------------------------------------------------------- garbage collection

void Agent::scheduleSandbox(const std::string& directory, GarbageCollector::Clock::time_point finished) {
  if (!gc_ || directory.empty()) return;
  gc_->schedule(directory, finished + std::chrono::duration_cast<GarbageCollector::Clock::duration>(
                                          std::chrono::duration<double>(flags_.gcDelay)));
}

void Agent::scheduleFinishedSandboxes() {
  std::set<std::string> live;
  for (const auto& [frameworkId, framework] : frameworks_) {
    for (const auto& [executorId, executor] : framework->executors) live.insert(executor->directory);
  }
  const auto scheduled = gc_->scheduled();
  // <work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>,
  // of this agent id and of earlier ones.
  const std::string root = flags_.workDir + "/slaves";
  std::size_t count = 0;
  for (const std::string& agent : checkpoint::subdirectories(root)) {
    const std::string frameworks = root + "/" + agent + "/frameworks";
    for (const std::string& framework : checkpoint::subdirectories(frameworks)) {
      const std::string executors = frameworks + "/" + framework + "/executors";
      for (const std::string& executor : checkpoint::subdirectories(executors)) {
        const std::string runs = executors + "/" + executor + "/runs";
        for (const std::string& run : checkpoint::subdirectories(runs)) {
          const std::string directory = runs + "/" + run;
          if (live.count(directory) || scheduled.count(directory)) continue;
          std::error_code ec;
          const auto mtime = fs::last_write_time(directory, ec);
          if (ec) continue;
          scheduleSandbox(directory, std::chrono::time_point_cast<GarbageCollector::Clock::duration>(
                                         fs::file_time_type::clock::to_sys(mtime)));
          ++count;
        }
      }
    }
  }
  if (count > 0) LOG(INFO) << "Scheduled " << count << " finished sandbox(es) for garbage collection";
}

void Agent::watchDisk() {
  Result<double> usage = diskUsage(flags_.workDir);
  if (usage.ok()) {
    const double age = gcAge(flags_.gcDelay, flags_.gcDiskHeadroom, *usage);
    VLOG(1) << "Disk usage of " << flags_.workDir << ": " << *usage * 100 << "%; finished sandboxes older than "
            << durationText(age) << " go";
    gc_->prune(flags_.gcDelay - age);
  } else {
    LOG(WARNING) << "Checking the disk usage: " << usage.error().message;
  }
  if (!diskWatchTimer_) diskWatchTimer_ = std::make_unique<asio::steady_timer>(strand_);
  diskWatchTimer_->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(flags_.diskWatchInterval * 1000)));
  diskWatchTimer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) watchDisk();
  });
}

}  // namespace mantle::agent
