#include "agent/containerizer.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glog/logging.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstring>
#include <set>

#include "mantle/common/clock.hpp"
#include "mantle/common/convert.hpp"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/registry.hpp"
#include "wire/json.hpp"

namespace mantle::agent {

namespace asio = boost::asio;
namespace v1 = mantle::module::v1;

std::string Termination::describe() const {
  if (!statusKnown) return "exited (status unknown)";
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    if (code > 128 && code < 128 + NSIG) {
      return "terminated by signal " + std::to_string(code - 128) + " (" + ::strsignal(code - 128) + ")";
    }
    return "exited with status " + std::to_string(code);
  }
  if (WIFSIGNALED(status)) {
    return "terminated by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

struct Containerizer::Container {
  std::string id;
  pid_t pid = -1;  // -1 while its launch is in flight
  bool launching = false;
  bool child = false;  // started by this agent process (we can reap it)
  v1::ContainerConfig config;
  Containerizer::Filesystem filesystem;
  // What the isolators' status said right after its isolate (a container this
  // agent process launched); nullopt: ask them (a recovered container).
  std::optional<mesos::v1::ContainerStatus> status;
  std::unique_ptr<asio::posix::stream_descriptor> exitWatch;
  std::unique_ptr<asio::steady_timer> exitPoll;  // without a pidfd: looks again
  std::unique_ptr<asio::steady_timer> killTimer;
  Termination termination;
  bool exited = false;
  // The root died of SIGKILL nobody here sent: an isolator's limitation (the
  // kernel's OOM killer under cgroups/mem) may still be on its way.
  std::unique_ptr<asio::steady_timer> limitationWait;
};

namespace {

// How long a container killed by someone else waits for the limitation that
// explains it before its termination is reported without one.
constexpr std::chrono::milliseconds kLimitationWait{500};

// Launches that prepare, start their root and isolate at once. Each is
// mostly the start of mantle-container-root and calls into the isolators
// (whose instances serialize them): a few threads keep every core busy and
// let different isolators overlap.
constexpr std::size_t kLaunchThreads = 4;

bool killedBySigkill(const Termination& termination) {
  if (!termination.statusKnown) return true;  // a recovered container: we cannot tell
  const int status = termination.status;
  return (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
         (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL);
}

// Adds an isolator's hostname, rlimits, capabilities, no_new_privs and seccomp
// filter to the plan. Two isolators may not both set the capabilities or a
// seccomp filter, nor the hostname differently; `setBy` remembers who set which.
Status mergeHardening(const v1::ContainerLaunchInfo& info, const std::string& isolator, LaunchPlan& plan,
                      std::map<std::string, std::string>& setBy) {
  for (auto [field, has] :
       {std::pair{"hostname", info.has_hostname()}, std::pair{"capabilities", info.has_capabilities()},
        std::pair{"seccomp_filter", info.has_seccomp_filter()}}) {
    if (!has) continue;
    // network/cni and namespaces/uts both name the container after its ContainerInfo.hostname.
    if (field == std::string("hostname") && setBy.count(field) != 0 && plan.hostname == info.hostname()) continue;
    auto [it, inserted] = setBy.emplace(field, isolator);
    if (!inserted) return invalidArgument(isolator + " and " + it->second + " both set " + field);
  }
  if (info.has_hostname()) plan.hostname = info.hostname();
  for (const auto& limit : info.rlimits()) {
    plan.rlimits.push_back({static_cast<int>(limit.resource()), limit.soft(), limit.hard()});
  }
  if (info.has_capabilities()) {
    plan.capabilities = LaunchPlan::Capabilities{info.capabilities().bounding(), info.capabilities().effective()};
  }
  plan.noNewPrivileges = plan.noNewPrivileges || info.no_new_privileges();
  if (info.has_seccomp_filter()) plan.seccompFilter = info.seccomp_filter();
  return {};
}

// The root filesystem, command and user the isolators asked for.
struct ContainerRuntime {
  std::optional<std::string> rootfs;
  std::optional<v1::CommandInfo> command;
  std::optional<std::string> user;
};

// Applies the isolators' rootfs, command, user and working directory to the
// plan. A command task's executor (the config has its TaskInfo) stays on the
// host's filesystem: it gets them as flags (Mesos' names) and applies them to
// the task only. `workingDirectory`: the isolators' (a path in the rootfs when
// there is one; without one there, the sandbox's mount point MESOS_SANDBOX).
Status applyRuntime(const ContainerRuntime& runtime, const std::string& workingDirectory,
                    const v1::ContainerConfig& config, LaunchPlan& plan) {
  std::string directory = workingDirectory;
  if (runtime.rootfs && directory.empty()) {
    auto sandbox = plan.environment.find("MESOS_SANDBOX");
    directory = sandbox != plan.environment.end() && sandbox->second != config.directory() ? sandbox->second : "/";
  }
  if (config.has_task_info()) {
    std::optional<std::string> user = runtime.user;
    if (runtime.rootfs) {
      // Entering the rootfs takes root: the executor runs as root and
      // switches to the task's user in the task's process.
      if (!user) user = plan.user;
      plan.user.reset();
      plan.argv.push_back("--rootfs=" + *runtime.rootfs);
      plan.argv.push_back("--sandbox_directory=" + config.directory());
      plan.argv.push_back("--working_directory=" + directory);
    } else if (!directory.empty()) {
      plan.workingDirectory = directory;
    }
    if (user) plan.argv.push_back("--user=" + *user);
    if (runtime.command) {
      Result<mesos::v1::CommandInfo> command = convert<mesos::v1::CommandInfo>(*runtime.command);
      if (!command.ok()) return command.error().withContext("the isolators' command");
      plan.argv.push_back("--task_command=" + wire::toJson(*command, wire::JsonPrintOptions{false}));
    }
    return {};
  }
  if (runtime.rootfs) plan.rootfs = *runtime.rootfs;
  if (!directory.empty()) plan.workingDirectory = directory;
  if (runtime.user) plan.user = *runtime.user;
  if (runtime.command) {
    const v1::CommandInfo& command = *runtime.command;
    if (command.value().empty()) return invalidArgument("the isolators' command has no value");
    if (command.shell()) {
      plan.executable = "/bin/sh";
      plan.argv = {"/bin/sh", "-c", command.value()};
    } else {
      plan.executable = command.value();
      plan.argv.assign(command.arguments().begin(), command.arguments().end());
      if (plan.argv.empty()) plan.argv.push_back(command.value());
    }
  }
  return {};
}

}  // namespace

struct Containerizer::Impl : std::enable_shared_from_this<Containerizer::Impl> {
  Strand strand;
  std::vector<std::shared_ptr<modules::Instance>> isolators;
  TerminationCallback onTermination;
  std::map<std::string, std::unique_ptr<Container>> containers;

  Impl(Strand s, std::vector<std::shared_ptr<modules::Instance>> i, TerminationCallback t)
      : strand(std::move(s)), isolators(std::move(i)), onTermination(std::move(t)) {}

  // What a launch thread hands the strand.
  struct LaunchOutcome {
    std::optional<Result<PendingLaunch>> pending;
    Filesystem filesystem;
    mesos::v1::ContainerStatus status;
    LaunchSteps steps;
  };
  // On a launch thread: prepare, fork, isolate (the container's steps, in
  // order; on error its isolators are cleaned up and its root is gone).
  // Touches nothing but the isolators.
  Result<PendingLaunch> startRoot(const std::string& containerId, const v1::ContainerConfig& config, LaunchPlan plan,
                                  LaunchOutcome& out) const;
  // On the strand: records the outcome, calls `done`, releases the root.
  void launched(const std::string& id, LaunchOutcome& outcome, const LaunchCallback& done);

  // The isolators' ContainerStatus, merged.
  mesos::v1::ContainerStatus queryStatus(const std::string& id) const {
    v1::IsolatorStatusRequest request;
    *request.mutable_container_id() = containerId(id);
    mesos::v1::ContainerStatus merged;
    for (const auto& isolator : isolators) {
      auto response = modules::IsolatorClient(*isolator).status(request);
      if (!response.ok() || !response->has_container_status()) continue;
      // Same field numbers on both sides of the module boundary.
      mesos::v1::ContainerStatus status;
      if (status.ParsePartialFromString(response->container_status().SerializeAsString())) merged.MergeFrom(status);
    }
    return merged;
  }

  static v1::ContainerID containerId(const std::string& id) {
    v1::ContainerID out;
    out.set_value(id);
    return out;
  }

  // Cleanup in reverse order over the first `count` isolators.
  void cleanup(const std::string& id, std::size_t count) const {
    v1::IsolatorCleanupRequest request;
    *request.mutable_container_id() = containerId(id);
    for (std::size_t i = count; i-- > 0;) {
      auto result = modules::IsolatorClient(*isolators[i]).cleanup(request);
      if (!result.ok() && result.error().code != StatusCode::kUnimplemented) {
        LOG(WARNING) << "Cleanup of container " << id << ": " << result.error().message;
      }
    }
  }

  void watchExit(Container& container) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, container.pid, 0));
    if (fd < 0) {
      // Already gone (or a kernel without pidfd): decide at once.
      asio::post(strand, [self = shared_from_this(), id = container.id] { self->exited(id); });
      return;
    }
    container.exitWatch = std::make_unique<asio::posix::stream_descriptor>(strand, fd);
    awaitExit(container);
  }

  // Waits until the root's pidfd is readable (it exited). A wake-up while it
  // is not is ignored: epoll may report a stale event to a new descriptor
  // when a descriptor was closed while a launch thread's fork still held
  // it (the forked root closes what it inherited only later), and the strand
  // must never block on a root that still runs.
  void awaitExit(Container& container) {
    container.exitWatch->async_wait(
        asio::posix::stream_descriptor::wait_read,
        [self = shared_from_this(), id = container.id](const boost::system::error_code& ec) {
          if (ec == asio::error::operation_aborted) return;
          auto it = self->containers.find(id);
          if (it == self->containers.end() || !it->second->exitWatch) return;
          struct pollfd ready = {it->second->exitWatch->native_handle(), POLLIN, 0};
          if (!ec && ::poll(&ready, 1, 0) == 0) return self->awaitExit(*it->second);
          self->exited(id);
        });
  }

  void exited(const std::string& id) {
    auto it = containers.find(id);
    if (it == containers.end() || it->second->exited) return;
    Container& container = *it->second;
    if (container.child) {
      int status = 0;
      pid_t reaped;
      do {
        reaped = ::waitpid(container.pid, &status, WNOHANG);
      } while (reaped < 0 && errno == EINTR);
      if (reaped == 0) {
        // Still running (no pidfd to wait on): looked at again shortly.
        container.exitPoll = std::make_unique<asio::steady_timer>(strand, std::chrono::milliseconds(50));
        container.exitPoll->async_wait([self = shared_from_this(), id](const boost::system::error_code& ec) {
          if (!ec) self->exited(id);
        });
        return;
      }
      if (reaped == container.pid) {
        container.termination.statusKnown = true;
        container.termination.status = status;
      }
    }
    container.exited = true;
    // Whatever the executor left behind goes with it.
    for (int round = 0; round < 20 && signalSession(container.pid, SIGKILL) > 0; ++round) {
      ::usleep(5000);
    }
    if (container.killTimer) container.killTimer->cancel();
    container.exitWatch.reset();
    if (!container.termination.reason && !container.termination.destroyed && killedBySigkill(container.termination)) {
      // The isolators are cleaned up only afterwards: their watchers must
      // still be there to report.
      container.limitationWait = std::make_unique<asio::steady_timer>(strand, kLimitationWait);
      container.limitationWait->async_wait(
          [self = shared_from_this(), id](const boost::system::error_code&) { self->finish(id); });
      return;
    }
    finish(id);
  }

  // Cleans the isolators up and reports the termination. `id` is a copy: a
  // caller's reference may be the container's own id, erased here.
  void finish(std::string id) {
    auto it = containers.find(id);
    if (it == containers.end()) return;
    if (it->second->limitationWait) it->second->limitationWait->cancel();
    cleanup(id, isolators.size());
    Termination termination = it->second->termination;
    containers.erase(it);
    VLOG(1) << "Container " << id << " " << termination.describe();
    if (onTermination) onTermination(id, termination);
  }

  void limitation(const v1::ContainerLimitation& limit) {
    auto it = containers.find(limit.container_id().value());
    if (it == containers.end()) return;
    Container& container = *it->second;
    if (container.exited && !container.limitationWait) return;
    if (container.termination.reason) return;  // the first limitation wins
    container.termination.reason = limit.has_reason() ? static_cast<mesos::v1::TaskStatus::Reason>(limit.reason())
                                                      : mesos::v1::TaskStatus::REASON_CONTAINER_LIMITATION;
    container.termination.message = limit.message().empty() ? "Container limitation" : limit.message();
    for (const auto& resource : limit.resources()) {
      Result<mesos::v1::Resource> converted = convert<mesos::v1::Resource>(resource);
      if (converted.ok()) container.termination.limitedResources.push_back(std::move(*converted));
    }
    LOG(WARNING) << "Container " << container.id << " hit a limitation: " << container.termination.message;
    if (container.exited) return finish(container.id);  // it died of it
    destroy(container.id, 0);
  }

  void destroy(const std::string& id, double graceSeconds) {
    auto it = containers.find(id);
    if (it == containers.end() || it->second->exited) return;
    Container& container = *it->second;
    container.termination.destroyed = true;
    if (container.launching) return;  // launched() kills it instead of releasing it
    if (graceSeconds <= 0) {
      signalSession(container.pid, SIGKILL);
      return;
    }
    signalSession(container.pid, SIGTERM);
    if (container.killTimer) return;  // a kill is already under way
    container.killTimer = std::make_unique<asio::steady_timer>(strand);
    container.killTimer->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(graceSeconds * 1000)));
    container.killTimer->async_wait([self = shared_from_this(), id](const boost::system::error_code& ec) {
      if (ec) return;
      auto found = self->containers.find(id);
      if (found == self->containers.end() || found->second->exited) return;
      LOG(INFO) << "Container " << id << " outlived its grace period; killing it";
      signalSession(found->second->pid, SIGKILL);
    });
  }
};

Containerizer::Containerizer(Strand strand, std::vector<std::shared_ptr<modules::Instance>> isolators,
                             TerminationCallback onTermination)
    : impl_(std::make_shared<Impl>(std::move(strand), std::move(isolators), std::move(onTermination))),
      launchPool_(std::make_unique<asio::thread_pool>(kLaunchThreads)) {
  std::weak_ptr<Impl> weak = impl_;
  for (const auto& isolator : impl_->isolators) {
    isolator->onEvent([weak](const v1::ModuleEvent& event) {
      if (!event.has_limitation()) return;
      auto impl = weak.lock();
      if (!impl) return;
      asio::post(impl->strand, [weak, limit = event.limitation()] {
        if (auto self = weak.lock()) self->limitation(limit);
      });
    });
  }
}

Containerizer::~Containerizer() {
  // Launches under way end (and post to the strand, where they are dropped).
  launchPool_->join();
  for (const auto& isolator : impl_->isolators) isolator->onEvent(nullptr);
  for (auto& [id, container] : impl_->containers) {
    if (container->exitWatch) container->exitWatch->cancel();
    if (container->exitPoll) container->exitPoll->cancel();
    if (container->killTimer) container->killTimer->cancel();
  }
}

Result<PendingLaunch> Containerizer::Impl::startRoot(const std::string& containerId, const v1::ContainerConfig& config,
                                                     LaunchPlan plan, LaunchOutcome& out) const {
  // prepare, one after another.
  v1::IsolatorPrepareRequest prepare;
  *prepare.mutable_container_id() = Impl::containerId(containerId);
  *prepare.mutable_config() = config;
  std::map<std::string, std::string> environment;
  std::vector<std::string> preExec;
  std::uint32_t namespaces = 0;
  std::string workingDirectory;
  std::string workingDirectorySetBy;
  std::map<std::string, std::string> hardeningSetBy;
  ContainerRuntime runtime;
  std::size_t prepared = 0;
  auto fail = [&](const Error& error) -> Error {
    cleanup(containerId, prepared);
    return error;
  };
  for (const auto& isolator : isolators) {
    auto response = modules::IsolatorClient(*isolator).prepare(prepare);
    ++prepared;
    if (!response.ok()) {
      if (response.error().code == StatusCode::kUnimplemented) continue;
      return fail(response.error().withContext("prepare"));
    }
    const v1::ContainerLaunchInfo& info = response->launch_info();
    // A field this agent does not know (an isolator built for a newer
    // agent) must not be silently ignored.
    if (!info.unknown_fields().empty()) {
      return fail(invalidArgument(isolator->describe() +
                                  " asks for ContainerLaunchInfo fields this agent does not know; upgrade the agent"));
    }
    for (auto [field, has] : {std::pair{"rootfs", info.has_rootfs()}, std::pair{"command", info.has_command()},
                              std::pair{"user", info.has_user()}}) {
      if (!has) continue;
      auto [it, inserted] = hardeningSetBy.emplace(field, isolator->describe());
      if (!inserted) return fail(invalidArgument(isolator->describe() + " and " + it->second + " both set " + field));
    }
    if (info.has_rootfs()) runtime.rootfs = info.rootfs();
    if (info.has_command()) runtime.command = info.command();
    if (info.has_user()) runtime.user = info.user();
    for (const auto& mount : info.mounts()) {
      if (mount.target().empty() || mount.target().front() != '/') {
        return fail(invalidArgument(isolator->describe() + " asks for a mount at '" + mount.target() +
                                    "', not an absolute path"));
      }
      plan.mounts.push_back(
          {mount.source(), mount.target(), mount.type(), mount.options(), mount.read_only(), mount.recursive()});
    }
    for (const auto& variable : info.environment().variables()) {
      auto [it, inserted] = environment.emplace(variable.name(), variable.value());
      if (!inserted && it->second != variable.value()) {
        return fail(invalidArgument(isolator->describe() + " sets environment variable " + variable.name() +
                                    " differently from an earlier isolator"));
      }
    }
    for (const auto& command : info.pre_exec_commands()) {
      if (!command.value().empty()) preExec.push_back(command.value());
    }
    namespaces |= info.clone_namespaces();
    if (Status merged = mergeHardening(info, isolator->describe(), plan, hardeningSetBy); !merged.ok()) {
      return fail(merged.error());
    }
    if (info.has_working_directory()) {
      if (!workingDirectorySetBy.empty()) {
        return fail(invalidArgument(isolator->describe() + " and " + workingDirectorySetBy +
                                    " both set the working directory"));
      }
      workingDirectorySetBy = isolator->describe();
      workingDirectory = info.working_directory();
    }
  }
  out.steps.emplace_back("prepared", steadyNanos());
  for (auto& [name, value] : environment) plan.environment[name] = value;
  plan.preExecCommands.insert(plan.preExecCommands.end(), preExec.begin(), preExec.end());
  plan.cloneNamespaces |= namespaces;
  // In an image, the sandbox belongs to the user the container runs as (the
  // image's User, or the framework's), looked up in the image's /etc/passwd.
  if (const std::optional<std::string>& user = runtime.user ? runtime.user : plan.user; runtime.rootfs && user) {
    if (Status given = chownTree(config.directory(), *user, *runtime.rootfs); !given.ok()) {
      return fail(given.error().withContext("the sandbox"));
    }
  }
  if (Status applied = applyRuntime(runtime, workingDirectory, config, plan); !applied.ok()) {
    return fail(applied.error());
  }

  Result<PendingLaunch> pending = forkContainer(plan);
  if (!pending.ok()) return fail(pending.error());
  const pid_t pid = pending->pid();
  out.steps.emplace_back("forked", steadyNanos());

  // isolate, every isolator, before the executor runs.
  v1::IsolatorIsolateRequest isolate;
  *isolate.mutable_container_id() = Impl::containerId(containerId);
  isolate.set_pid(pid);
  for (const auto& isolator : isolators) {
    auto response = modules::IsolatorClient(*isolator).isolate(isolate);
    if (!response.ok() && response.error().code != StatusCode::kUnimplemented) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return fail(response.error().withContext("isolate"));
    }
  }
  out.steps.emplace_back("isolated", steadyNanos());
  out.filesystem = {runtime.rootfs.value_or(""), plan.mounts};
  out.status = queryStatus(containerId);
  return pending;
}

void Containerizer::Impl::launched(const std::string& id, LaunchOutcome& outcome, const LaunchCallback& done) {
  auto it = containers.find(id);
  CHECK(it != containers.end() && it->second->launching) << "container " << id << " was not launching";
  if (!outcome.pending->ok()) {
    containers.erase(it);
    done(outcome.pending->error(), outcome.steps);
    return;
  }
  PendingLaunch& pending = **outcome.pending;
  Container& container = *it->second;
  container.pid = pending.pid();
  container.child = true;
  container.launching = false;
  container.filesystem = std::move(outcome.filesystem);
  container.status = std::move(outcome.status);
  watchExit(container);
  done(container.pid, outcome.steps);
  if (container.termination.destroyed) {
    // Killed before its executor ran (a kill, a shutdown while it launched):
    // never released, its root exits once `pending` closes the release pipe.
    signalSession(container.pid, SIGKILL);
    return;
  }
  if (Status released = pending.release(); !released.ok()) {
    LOG(WARNING) << "Container " << id << ": " << released.error().message;
  }
}

void Containerizer::launch(const std::string& containerId, v1::ContainerConfig config, LaunchPlan plan,
                           LaunchCallback done, LaunchHooks hooks) {
  if (impl_->containers.count(containerId) != 0) {
    asio::post(impl_->strand, [containerId, done = std::move(done)] {
      done(Error(StatusCode::kAlreadyExists, "container " + containerId + " already exists"), {});
    });
    return;
  }
  auto container = std::make_unique<Container>();
  container->id = containerId;
  container->launching = true;
  container->config = config;
  impl_->containers.emplace(containerId, std::move(container));
  asio::post(*launchPool_, [impl = impl_, containerId, config = std::move(config), plan = std::move(plan),
                            done = std::move(done), hooks = std::move(hooks)]() mutable {
    auto outcome = std::make_shared<Impl::LaunchOutcome>();
    Status ready = hooks.setUp ? hooks.setUp() : Status{};
    if (hooks.setUp) outcome->steps.emplace_back("set_up", steadyNanos());
    if (!ready.ok()) {
      outcome->pending.emplace(ready.error());
    } else {
      outcome->pending.emplace(impl->startRoot(containerId, config, std::move(plan), *outcome));
      if (outcome->pending->ok() && hooks.isolated) hooks.isolated((*outcome->pending)->pid());
    }
    // A launch the strand runs after the containerizer went is dropped
    // unreleased (its root exits).
    asio::post(impl->strand, [weak = std::weak_ptr<Impl>(impl), containerId, outcome, done = std::move(done)] {
      if (auto self = weak.lock()) self->launched(containerId, *outcome, done);
    });
  });
}

std::vector<std::string> Containerizer::recover(const std::vector<Recovered>& containers,
                                                const std::vector<std::string>& orphans) {
  std::vector<std::string> alive;
  v1::IsolatorRecoverRequest request;
  for (const Recovered& recovered : containers) {
    std::optional<std::uint64_t> start = processStartTime(recovered.pid);
    if (!start || *start != recovered.startTime) {
      *request.add_orphans() = Impl::containerId(recovered.containerId);
      continue;
    }
    v1::ContainerState* state = request.add_states();
    *state->mutable_container_id() = Impl::containerId(recovered.containerId);
    *state->mutable_config() = recovered.config;
    state->set_pid(recovered.pid);
    state->set_directory(recovered.config.directory());
    alive.push_back(recovered.containerId);
  }
  for (const std::string& orphan : orphans) *request.add_orphans() = Impl::containerId(orphan);
  for (const auto& isolator : impl_->isolators) {
    auto response = modules::IsolatorClient(*isolator).recover(request);
    if (!response.ok() && response.error().code != StatusCode::kUnimplemented) {
      LOG(WARNING) << "Isolator recovery: " << response.error().message;
    }
  }
  for (const Recovered& recovered : containers) {
    if (std::find(alive.begin(), alive.end(), recovered.containerId) == alive.end()) {
      // The root died while the agent was down; what it left in its session
      // goes now. (When its pid runs again with another start time, the pid
      // was free, so the old session is empty: nothing to signal.)
      if (!processStartTime(recovered.pid)) {
        for (int round = 0; round < 20 && signalSession(recovered.pid, SIGKILL) > 0; ++round) ::usleep(5000);
      }
      impl_->cleanup(recovered.containerId, impl_->isolators.size());
      continue;
    }
    auto container = std::make_unique<Container>();
    container->id = recovered.containerId;
    container->pid = recovered.pid;
    container->child = false;
    container->config = recovered.config;
    Container& ref = *container;
    impl_->containers.emplace(recovered.containerId, std::move(container));
    impl_->watchExit(ref);
  }
  for (const std::string& orphan : orphans) impl_->cleanup(orphan, impl_->isolators.size());
  return alive;
}

void Containerizer::destroy(const std::string& containerId, double graceSeconds) {
  impl_->destroy(containerId, graceSeconds);
}

Result<std::vector<mesos::v1::Resource>> Containerizer::advertisedResources(
    const std::vector<mesos::v1::Resource>& configured) {
  v1::IsolatorResourcesRequest request;
  std::set<std::string> names;
  for (const auto& resource : configured) {
    *request.add_configured() = convert<v1::Resource>(resource).value();
    names.insert(resource.name());
  }
  std::vector<mesos::v1::Resource> out;
  for (const auto& isolator : impl_->isolators) {
    auto response = modules::IsolatorClient(*isolator).resources(request);
    if (!response.ok()) {
      if (response.error().code == StatusCode::kUnimplemented) continue;  // a 1.0 isolator: nothing to add
      return response.error();
    }
    for (const auto& resource : response->resources()) {
      if (names.count(resource.name()) > 0) continue;  // the operator's --resources wins
      Result<mesos::v1::Resource> converted = convert<mesos::v1::Resource>(resource);
      if (!converted.ok()) {
        return internalError(isolator->describe() +
                             ": advertised an undecodable resource: " + converted.error().message);
      }
      out.push_back(std::move(*converted));
    }
  }
  return out;
}

Status Containerizer::update(const std::string& containerId, const std::vector<mesos::v1::Resource>& resources) {
  if (!contains(containerId)) return notFound("unknown container " + containerId);
  v1::IsolatorUpdateRequest request;
  *request.mutable_container_id() = Impl::containerId(containerId);
  for (const auto& resource : resources) *request.add_resources() = convert<v1::Resource>(resource).value();
  for (const auto& isolator : impl_->isolators) {
    auto response = modules::IsolatorClient(*isolator).update(request);
    if (!response.ok() && response.error().code != StatusCode::kUnimplemented) {
      return response.error().withContext("update");
    }
  }
  return {};
}

std::optional<mesos::v1::ResourceStatistics> Containerizer::usage(const std::string& containerId) {
  if (!contains(containerId)) return std::nullopt;
  v1::IsolatorUsageRequest request;
  *request.mutable_container_id() = Impl::containerId(containerId);
  mesos::v1::ResourceStatistics merged;
  for (const auto& isolator : impl_->isolators) {
    auto response = modules::IsolatorClient(*isolator).usage(request);
    if (!response.ok()) continue;  // usage failures are ignored, as in Mesos
    mesos::v1::ResourceStatistics statistics;
    if (statistics.ParsePartialFromString(response->statistics().SerializeAsString())) merged.MergeFrom(statistics);
  }
  if (!merged.has_timestamp()) {
    merged.set_timestamp(wallNow());
  }
  return merged;
}

std::vector<std::pair<std::string, std::string>> Containerizer::status(const std::string& containerId) {
  std::vector<std::pair<std::string, std::string>> labels;
  if (!contains(containerId)) return labels;
  v1::IsolatorStatusRequest request;
  *request.mutable_container_id() = Impl::containerId(containerId);
  for (const auto& isolator : impl_->isolators) {
    auto response = modules::IsolatorClient(*isolator).status(request);
    if (!response.ok()) continue;
    for (const auto& label : response->labels().labels()) labels.emplace_back(label.key(), label.value());
  }
  return labels;
}

mesos::v1::ContainerStatus Containerizer::containerStatus(const std::string& containerId) {
  auto it = impl_->containers.find(containerId);
  if (it == impl_->containers.end() || it->second->launching || it->second->exited) return {};
  if (it->second->status) return *it->second->status;
  return impl_->queryStatus(containerId);
}

bool Containerizer::contains(const std::string& containerId) const {
  auto it = impl_->containers.find(containerId);
  return it != impl_->containers.end() && !it->second->launching && !it->second->exited;
}

std::optional<pid_t> Containerizer::pid(const std::string& containerId) const {
  auto it = impl_->containers.find(containerId);
  if (it == impl_->containers.end() || it->second->launching) return std::nullopt;
  return it->second->pid;
}

std::optional<Termination> Containerizer::pendingTermination(const std::string& containerId) const {
  auto it = impl_->containers.find(containerId);
  if (it == impl_->containers.end()) return std::nullopt;
  return it->second->termination;
}

std::vector<std::string> Containerizer::containerIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, container] : impl_->containers) ids.push_back(id);
  return ids;
}

std::optional<Containerizer::Filesystem> Containerizer::filesystem(const std::string& containerId) const {
  auto it = impl_->containers.find(containerId);
  if (it == impl_->containers.end() || it->second->launching) return std::nullopt;
  return it->second->filesystem;
}

std::vector<std::string> Containerizer::isolatorNames() const {
  std::vector<std::string> names;
  for (const auto& isolator : impl_->isolators) names.push_back(isolator->name());
  return names;
}

std::vector<std::string> Containerizer::isolatorModules() const {
  std::vector<std::string> modules;
  for (const auto& isolator : impl_->isolators) modules.push_back(isolator->module());
  return modules;
}

}  // namespace mantle::agent
