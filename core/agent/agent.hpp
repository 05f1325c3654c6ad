// mantle-agent: the state of one agent, kept on one strand. The master link,
// the HTTP handlers and the containerizer's process watchers post to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "agent/container_flags.hpp"
#include "agent/container_images.hpp"
#include "agent/containerizer.hpp"
#include "agent/gc.hpp"
#include "agent/master_link.hpp"
#include "agent/provisioner.hpp"
#include "agent/status_update_manager.hpp"
#include "agent/strand.hpp"
#include "auth/executor_token.hpp"
#include "auth/security.hpp"
#include "hooks/hook_chain.hpp"
#include "http/server.hpp"
#include "images/gc.hpp"
#include "libprocess/libprocess.hpp"
#include "logging/verbosity.hpp"
#include "mantle/internal/agent_master.pb.h"
#include "mantle/modules/registry.hpp"
#include "mantle/result.hpp"
#include "mesos/internal/messages.pb.h"
#include "mesos/v1/agent/agent.pb.h"
#include "mesos/v1/executor/executor.pb.h"
#include "wire/content_type.hpp"

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace mantle::flags {
class FlagSet;
}  // namespace mantle::flags

namespace mantle::agent {

struct AgentFlags {
  std::string master;
  std::string ip = "0.0.0.0";
  std::string advertiseIp;  // empty: ip
  std::int64_t port = 5051;
  std::string workDir = "/var/lib/mantle/agent";
  std::string hostname;
  std::string resources;
  std::string attributes;
  std::string isolation = "posix/cpu,posix/mem";
  std::string modules;
  std::string hooks;
  bool switchUser = false;
  std::string recover = "reconnect";
  std::string launcherDir;
  double executorShutdownGracePeriod = 5;
  double executorRegistrationTimeout = 60;
  double executorReregistrationTimeout = 2;
  double recoveryTimeout = 900;
  double subscriptionBackoffMax = 2;
  double statusUpdateRetryInterval = 10;  // first retry; doubles up to 10 minutes
  // Garbage collection of finished sandboxes (gc.hpp), Mesos' flags and defaults.
  double gcDelay = 7 * 86400;
  double diskWatchInterval = 60;
  double gcDiskHeadroom = 0.1;
  double fetcherStallTimeout = 60;
  std::uint64_t containerLogsMaxSize = 10 * 1024 * 1024;
  std::int64_t containerLogsMaxFiles = 3;
  // Container images (container_images.hpp, docs/CONTAINERS.md), Mesos' names.
  std::string imageProviders;           // "docker,oci"; empty: tasks naming an image are refused
  std::string imageProvisionerBackend;  // overlay or copy; empty: overlay where it mounts, else copy
  std::string dockerRegistry;
  std::string dockerStoreDir;  // empty: <work_dir>/store/docker
  std::string dockerConfig;
  bool allowPrivilegedContainers = false;
  std::string imageGcConfig;  // Mesos' --image_gc_config (images/gc.hpp); empty: no automatic image GC
  // Mesos' security flags as the agent has them (docs/SECURITY.md): executor
  // tokens, the agent's --credential towards the master, authentication,
  // ACLs and TLS of the agent's own endpoints.
  auth::SecurityFlags security;
  // Secrets, capabilities and seccomp (container_flags.hpp).
  ContainerFlags containers;

  void addTo(flags::FlagSet& set);
  void addImageFlags(flags::FlagSet& set);  // agent_images.cpp
};

// The kill policy a task is killed with while its agent drains (DRAIN_AGENT's
// max_grace_period, as Mesos bounds it): the task's own `policy`, its grace
// period at most `maxGraceSeconds`; a policy without a grace period gets
// `maxGraceSeconds` (0: killed at once).
mesos::v1::KillPolicy drainKillPolicy(mesos::v1::KillPolicy policy, double maxGraceSeconds);

class Agent {
 public:
  Agent(boost::asio::io_context& io, AgentFlags flags, std::vector<std::pair<std::string, std::string>> flagValues,
        std::vector<std::shared_ptr<modules::Instance>> isolators,
        std::vector<std::shared_ptr<modules::Instance>> hooks, std::unique_ptr<auth::Security> security,
        const modules::Registry& modules);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Detects resources, recovers checkpointed state, serves HTTP and connects
  // to the master. With --recover=cleanup it kills what it recovered, wipes
  // the checkpoint and reports `exitAfterCleanup`.
  Status start();
  bool exitAfterCleanup() const { return exitAfterCleanup_; }
  // Stops serving; containers of non-checkpointing frameworks are killed,
  // the others keep running for the next agent to recover. Blocks.
  void stop();
  std::uint16_t port() const { return port_; }

 private:
  struct TaskEntry {
    mesos::v1::TaskInfo info;
    mesos::v1::Task task;
    bool queued = true;  // not yet given to the executor
    bool killRequested = false;
  };
  struct Executor {
    mesos::v1::ExecutorInfo info;
    std::string frameworkId;
    std::string executorId;
    std::string containerId;
    std::string directory;
    std::string runMeta;
    bool commandExecutor = false;
    enum class State { kRegistering, kRunning, kTerminating, kTerminated } state = State::kRegistering;
    std::shared_ptr<http::Stream> stream;
    wire::MediaType streamType = wire::MediaType::kProtobuf;
    // A libmesos (v0) executor: its UPID while registered; its events go out
    // as mesos.internal messages (v0_executor.cpp). `reregistered`: it came
    // back after an agent restart (ExecutorReregisteredMessage).
    std::optional<libprocess::Upid> upid;
    bool reregistered = false;
    std::vector<std::string> taskOrder;
    std::map<std::string, TaskEntry> tasks;  // live, or terminal and unacknowledged
    std::deque<mesos::v1::Task> completedTasks;
    pid_t pid = -1;
    bool launchGroup = false;
    std::unique_ptr<boost::asio::steady_timer> registrationTimer;
    std::unique_ptr<boost::asio::steady_timer> shutdownTimer;
    std::optional<Termination> termination;
    bool shutdownRequested = false;
    bool recovered = false;  // from the checkpoint, until it subscribes again
    // No container yet: its checkpoint's commit, the fetcher, its image's
    // provisioning or its container's launch (off the strand) runs;
    // fetched() starts it, containerLaunched() ends this.
    bool fetching = false;
    std::shared_ptr<std::atomic<bool>> fetchCancel;  // stops its downloads (a shutdown while fetching)
    // When each step of its launch happened (CLOCK_MONOTONIC ns), until its
    // first task's TASK_RUNNING is acknowledged; then logged as one line
    // ("Launch trace of task ...", which bench/ reads) and dropped.
    std::vector<std::pair<std::string, std::int64_t>> launchTrace;
    bool launchTraced = false;
    bool pulling = false;                     // its image is being pulled (fetching is set too)
    std::string imageId;                      // the pulled image's id, once known
    std::vector<std::string> volumeImageIds;  // the ids of its image volumes' images, once pulled
  };
  struct Framework {
    mesos::v1::FrameworkInfo info;
    std::string checkpointedInfo;  // the FrameworkInfo bytes in framework.info
    std::map<std::string, std::unique_ptr<Executor>> executors;
    std::deque<std::unique_ptr<Executor>> completedExecutors;
  };
  // Master protocol.
  internal::Call registrationCall();
  void handleEvent(const internal::Event& event);
  void disconnected(const std::string& why);
  void registered(const mesos::v1::AgentID& id, const mesos::v1::MasterInfo& master);
  void runTask(const mesos::v1::FrameworkInfo& framework, std::vector<mesos::v1::TaskInfo> tasks,
               std::optional<mesos::v1::ExecutorInfo> groupExecutor);
  void killTask(const std::string& frameworkId, const std::string& taskId, const mesos::v1::KillPolicy* policy);
  // DRAIN: every live task is killed, within the drain's max_grace_period.
  void drain(const mesos::v1::DrainConfig& config);
  // The kill policy for `task` now: `requested`, or the task's own, bounded
  // while draining with a max_grace_period; none when neither is set.
  std::optional<mesos::v1::KillPolicy> killPolicyFor(const TaskEntry& task,
                                                     const mesos::v1::KillPolicy* requested) const;
  void shutdownExecutor(Executor& executor, const std::string& why);
  void shutdownFramework(const std::string& frameworkId);
  void reconcile(const internal::Event::ReconcileTasks& reconcile);
  void applyOperation(const internal::Event::ApplyOperation& operation);

  // Executors and containers.
  Framework& addFramework(const mesos::v1::FrameworkInfo& info);
  // The framework `id`, live or completed; null when neither.
  const Framework* findFramework(const std::string& id) const;
  mesos::v1::ExecutorInfo commandExecutorInfo(const mesos::v1::FrameworkInfo& framework,
                                              const mesos::v1::TaskInfo& task) const;
  // `tasks` are the tasks the executor is launched for: they are queued and
  // checkpointed before its container starts, so that an agent killed in
  // between recovers them (the environment decorators see the first). With
  // `uris` the container starts once the fetcher has put them into the
  // sandbox (off the strand).
  Result<Executor*> launchExecutor(Framework& framework, const mesos::v1::ExecutorInfo& info, bool launchGroup,
                                   const std::vector<mesos::v1::TaskInfo>& tasks,
                                   std::vector<mesos::v1::CommandInfo::URI> uris);
  // Starts the executor's container (its launch runs off the strand, the
  // executor stays `fetching` until containerLaunched()); `setUp` runs first
  // on the launch thread (Containerizer::launch), and the root's pid is
  // checkpointed there once it runs isolated, before its executor may start.
  void startContainer(Executor& executor, module::v1::ContainerConfig config, LaunchPlan plan,
                      std::function<Status()> setUp = {});
  // A launch ended (its pid checkpointed): an executor shut down meanwhile
  // has its container destroyed, a failed launch ends the executor.
  void containerLaunched(const std::string& frameworkId, const std::string& executorId, const std::string& containerId,
                         const Result<pid_t>& pid, const Containerizer::LaunchSteps& steps);
  // An executor whose container did not start ends with `failure`.
  void containerNotStarted(Executor& executor, const Error& failure);
  // Runs the fetcher for `uris` off the strand; fetched() follows.
  void fetch(Executor& executor, std::vector<mesos::v1::CommandInfo::URI> uris, const std::optional<std::string>& user,
             module::v1::ContainerConfig config, LaunchPlan plan);
  // Persistent volumes (volumes.hpp): the mounts of a new container's, given
  // to its user; whether a live container has the volume at `path`.
  Result<std::vector<LaunchPlan::Mount>> persistentVolumeMounts(const mesos::v1::ExecutorInfo& info,
                                                                const std::vector<mesos::v1::TaskInfo>& tasks,
                                                                const std::string& sandbox,
                                                                const std::optional<std::string>& user) const;
  bool persistentVolumeInUse(const std::string& path) const;
  // Images (agent_images.cpp): the flags, the store and provisioner, the
  // checks of a launch's ContainerInfos, the image an executor runs in.
  Status startImages();
  Status checkContainers(const mesos::v1::ExecutorInfo& info, const std::vector<mesos::v1::TaskInfo>& tasks,
                         bool group) const;
  Result<std::optional<ImageRequest>> imageFor(const mesos::v1::ExecutorInfo& info) const;
  // Ends an executor whose image is still being pulled (the pull goes on for
  // whoever else waits for it).
  void shutdownWhilePulling(Executor& executor);
  // Unmounts and removes a container's rootfs (none: nothing to do).
  void releaseRootfs(const std::string& containerId);
  // Image garbage collection (agent_image_gc.cpp): PRUNE_IMAGES and
  // --image_gc_config. Prunes what no live container uses and `excluded`
  // does not name; `done` runs on the strand.
  void pruneImages(std::vector<images::ImageReference> excluded, std::function<void(Result<images::PruneReport>)> done);
  Status startImageGc();
  void scheduleImageGc();
  void watchImageDisk();
  // GET_CONTAINERS: the executor's image and its container's mounts.
  void describeFilesystem(const Executor& executor,
                          mesos::v1::agent::Response::GetContainers::Container& container) const;
  // After a restart: the rootfses of containers not in `alive` go.
  void recoverRootfses(const std::set<std::string>& alive);
  // Pulls the executor's image, assembles its rootfs and fetches `uris`, off
  // the strand; fetched() then starts the container.
  void provisionImage(Executor& executor, const ImageRequest& image, module::v1::ContainerConfig config,
                      LaunchPlan plan, std::vector<mesos::v1::CommandInfo::URI> uris);
  // A pull for the executor begins (fetching and pulling set; the pool the
  // rootfs is assembled on made); pulledFor() in its callback: the executor
  // still waiting for it (no longer pulling), null when it ended meanwhile.
  void startPulling(Executor& executor);
  Executor* pulledFor(const std::string& frameworkId, const std::string& executorId, const std::string& containerId);
  // Image volumes (agent_image_volumes.cpp): refuses those this agent cannot
  // provision (TASK_ERROR); provisions the container's image volumes not yet
  // in config.image_volumes one after another, off the strand, then fetches
  // `uris`; fetched() then starts the container.
  Status checkImageVolumes(const mesos::v1::ExecutorInfo& info, const std::vector<mesos::v1::TaskInfo>& tasks,
                           bool group) const;
  void provisionVolumes(Executor& executor, module::v1::ContainerConfig config, LaunchPlan plan,
                        std::vector<mesos::v1::CommandInfo::URI> uris);
  // For image GC: the images of the executor's image volumes, by id once
  // pulled, else (recovered after a restart) by name.
  void keepVolumeImages(const Executor& executor, std::set<std::string>& inUse,
                        std::vector<images::ImageReference>& excluded) const;
  void fetched(const std::string& frameworkId, const std::string& executorId, const std::string& containerId,
               const Status& result, const module::v1::ContainerConfig& config, LaunchPlan plan);
  // Adds the task to the executor's queue and checkpoints it; addTask only
  // adds it (launchExecutor checkpoints the first tasks off the strand).
  void queueTask(Executor& executor, const mesos::v1::TaskInfo& task);
  TaskEntry& addTask(Executor& executor, const mesos::v1::TaskInfo& task);
  void deliverQueuedTasks(Executor& executor);
  void containerTerminated(const std::string& containerId, const Termination& termination);
  // The executor is gone (its container ended, or never started): its live
  // tasks end, the master hears EXECUTOR_EXITED.
  void executorTerminated(Executor& executor, const Termination& termination);
  void executorGone(Executor& executor);
  void maybeCompleteExecutor(const std::string& frameworkId, const std::string& executorId);
  // Moves a checkpoint directory no longer needed out of what recovery reads
  // (one rename on the strand) and deletes it on the sandbox pool.
  void removeCheckpoint(const std::string& dir);
  Executor* findExecutor(const std::string& frameworkId, const std::string& executorId);
  Executor* findTaskExecutor(const std::string& frameworkId, const std::string& taskId);
  // The executor's environment: the agent's own, the executor's variables as
  // the hooks decorated them (`decorated`), then the MESOS_* variables.
  std::map<std::string, std::string> executorEnvironment(const Framework& framework, const Executor& executor,
                                                         const mesos::v1::Environment& decorated) const;
  // The hooks' decorations (docs/HOOKS.md): an Error fails the launch.
  Result<mesos::v1::Environment> decorateEnvironment(const Framework& framework, const mesos::v1::ExecutorInfo& info,
                                                     const mesos::v1::TaskInfo& task);
  Status decorateLabels(const mesos::v1::FrameworkInfo& framework, std::vector<mesos::v1::TaskInfo>& tasks);
  void decorateStatus(const std::string& frameworkId, mesos::v1::TaskStatus& status);
  void notifyTaskUpdated(const std::string& frameworkId, const mesos::v1::TaskStatus& status);
  std::vector<mesos::v1::Resource> executorResources(const Executor& executor) const;

  // Executor API.
  void executorCall(const http::Request& request, const http::Responder& responder);
  // With --authenticate_http_executors: the refusal of an executor call whose
  // bearer token is not the token of (frameworkId, executorId), or none.
  std::optional<http::Response> refuseExecutorToken(const http::Request& request, const std::string& frameworkId,
                                                    const std::string& executorId);
  void executorSubscribe(const mesos::v1::executor::Call& call, wire::MediaType type, const http::Responder& responder);
  // The executor is connected (a v1 SUBSCRIBE, a v0 registration): it hears
  // SUBSCRIBED, then its queued tasks, kills and a pending shutdown. The
  // tasks and updates it holds unacknowledged are not sent again.
  void executorAttached(Executor& executor, const std::set<std::string>& unacknowledgedTasks,
                        const std::vector<mesos::v1::TaskStatus>& unacknowledgedUpdates);
  // Whether events reach the executor (a v1 stream or a v0 UPID).
  static bool attached(const Executor& executor);
  // An update from the executor (a FAILED one is held for the limitation
  // that may have caused it).
  void executorUpdate(Executor& executor, const mesos::v1::TaskStatus& status);
  void executorMessage(const Executor& executor, const std::string& data);
  void frameworkMessage(const std::string& frameworkId, const std::string& executorId, const std::string& data);
  void sendToExecutor(Executor& executor, const mesos::v1::executor::Event& event);

  // The v0 executor protocol (v0_executor.cpp), on the strand.
  // Serves `slave(1)` on the agent's port; recovered v0 executors are asked
  // to reregister (ReconnectExecutorMessage).
  void startV0();
  void v0Register(const libprocess::Upid& from, const mesos::internal::RegisterExecutorMessage& message);
  void v0Reregister(const libprocess::Upid& from, const mesos::internal::ReregisterExecutorMessage& message);
  void v0StatusUpdate(const libprocess::Upid& from, const mesos::internal::StatusUpdateMessage& message);
  // The connection to a v0 executor broke: events wait until it registers again.
  void v0Exited(const libprocess::Upid& peer);
  // A v0 executor that may (re)register now, or why not (it is answered
  // ShutdownExecutorMessage, as in Mesos).
  Result<Executor*> v0Registering(const libprocess::Upid& from, const std::string& frameworkId,
                                  const std::string& executorId);
  void v0Attach(Executor& executor, const libprocess::Upid& from, bool reregistered);
  void sendToV0Executor(Executor& executor, const mesos::v1::executor::Event& event);

  // Status updates.
  void statusUpdate(const std::string& frameworkId, const std::string& executorId, mesos::v1::TaskStatus status,
                    bool fromExecutor);
  void agentUpdate(Executor& executor, TaskEntry& task, mesos::v1::TaskState state,
                   mesos::v1::TaskStatus::Reason reason, const std::string& message);
  // The head of a status-update stream on its way to the master.
  void forwardUpdate(internal::StatusUpdate update);
  void acknowledge(const std::string& frameworkId, const std::string& taskId, const std::string& uuid);
  void checkpointTask(const Executor& executor, const TaskEntry& task);
  // Records a step of the executor's launch (see Executor::launchTrace).
  void traceLaunch(Executor& executor, std::string step, std::optional<std::int64_t> at = std::nullopt);
  void traceUpdate(const std::string& frameworkId, const std::string& taskId, mesos::v1::TaskState state,
                   const std::string& what);
  // Whether the framework checkpoints: its executors' and tasks' state is
  // fsynced (in group commits) and recovered after a restart.
  bool checkpointing(const std::string& frameworkId) const;

  // Recovery.
  Status recover();
  void cleanupRecovered();

  // Garbage collection.
  // Schedules the sandbox of a run that ended for removal --gc_delay after
  // `finished`.
  void scheduleSandbox(const std::string& directory, GarbageCollector::Clock::time_point finished);
  // After recovery: every sandbox under the work dir that is not of a known
  // executor is scheduled from its mtime.
  void scheduleFinishedSandboxes();
  // Every --disk_watch_interval: prunes by the disk's usage (gcAge).
  void watchDisk();

  // HTTP.
  // `principal`: who the request authenticated as (none: anonymous); the
  // authorizer filters what it sees (docs/SECURITY.md).
  using Principal = std::optional<auth::Principal>;
  std::string realmFor(const std::string& path) const;
  void serve(const http::Request& request, const http::Responder& responder, const Principal& principal);
  void operatorCall(const http::Request& request, const http::Responder& responder, const Principal& principal);
  http::Response stateJson(const Principal& principal);
  http::Response monitorStatistics(const Principal& principal);
  http::Response filesBrowse(const http::Request& request, const Principal& principal);
  http::Response filesRead(const http::Request& request, const Principal& principal);
  http::Response metricsText();
  http::Response metricsSnapshot();
  // The real path of `path` inside a sandbox; kPermissionDenied outside every
  // sandbox or when `principal` may not 'access_sandboxes' of its user.
  Result<std::string> sandboxPath(const std::string& path, const Principal& principal) const;
  // The user an executor's processes run as (Mesos' object of view_executors,
  // view_containers and access_sandboxes).
  std::string executorUser(const std::string& frameworkId, const std::string& executorId) const;
  mesos::v1::agent::Response::GetTasks getTasks() const;
  mesos::v1::agent::Response::GetExecutors getExecutors() const;
  mesos::v1::agent::Response::GetFrameworks getFrameworks() const;
  mesos::v1::agent::Response::GetContainers getContainers();
  std::map<std::string, double> metrics() const;

  boost::asio::io_context& io_;
  Strand strand_;
  // GET/SET_LOGGING_LEVEL and /logging/toggle (reverts run on the strand).
  std::unique_ptr<logging::Verbosity> verbosity_;
  AgentFlags flags_;
  std::vector<std::pair<std::string, std::string>> flagValues_;
  std::unique_ptr<hooks::HookChain> hooks_;
  std::unique_ptr<Containerizer> containerizer_;
  std::unique_ptr<MasterLink> link_;
  std::unique_ptr<http::Server> server_;
  // libprocess messages on the agent's port (the v0 executor driver's
  // protocol); the HTTP handler serves them once `v0Transport_` is set.
  std::unique_ptr<libprocess::Transport> transport_;
  std::atomic<libprocess::Transport*> v0Transport_{nullptr};
  std::optional<auth::ExecutorTokens> executorTokens_;  // with --authenticate_http_executors
  const modules::Registry& modules_;                    // per-instance call metrics for /metrics
  std::unique_ptr<auth::Security> security_;            // realms and authorizer of the agent's endpoints
  std::uint16_t port_ = 0;
  double startTime_ = 0;

  mesos::v1::AgentInfo info_;
  std::vector<mesos::v1::Resource> checkpointedResources_;
  std::string agentId_;  // empty until the first registration
  bool connected_ = false;
  bool everRegistered_ = false;
  bool exitAfterCleanup_ = false;
  bool stopping_ = false;
  std::optional<double> drainMaxGrace_;  // seconds; while draining with a max_grace_period
  std::map<std::string, std::unique_ptr<Framework>> frameworks_;
  // Frameworks whose last executor here ended, with their completed
  // executors (shown in /state and the operator API, as Mesos shows them).
  std::deque<std::unique_ptr<Framework>> completedFrameworks_;
  // Every checkpoint of frameworks, executors, tasks and updates.
  std::unique_ptr<checkpoint::GroupCommit> checkpoints_;
  std::unique_ptr<StatusUpdateManager> updates_;
  std::unique_ptr<GarbageCollector> gc_;
  std::unique_ptr<boost::asio::steady_timer> diskWatchTimer_;
  std::map<std::string, std::pair<std::string, std::string>> containers_;  // container -> framework, executor
  std::map<std::string, std::uint64_t> counters_;
  // The fetcher's threads (downloads and extraction stay off the strand).
  std::unique_ptr<boost::asio::thread_pool> fetchPool_;
  // Where a new executor's sandbox and checkpoint are written when something
  // (a commit, a fetch, a pull) must follow before its container launches,
  // and where checkpoints no longer needed are deleted.
  std::unique_ptr<boost::asio::thread_pool> sandboxPool_;
  // With --image_providers: the image store and the rootfs provisioner.
  ImageSupport imageSupport_;
  std::unique_ptr<images::ImageStore> imageStore_;
  std::unique_ptr<Provisioner> provisioner_;
  // With --image_gc_config: its settings and the timer of its disk checks.
  std::optional<images::ImageGcConfig> imageGc_;
  std::unique_ptr<boost::asio::steady_timer> imageGcTimer_;
};

}  // namespace mantle::agent
