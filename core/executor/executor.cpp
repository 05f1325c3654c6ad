#include "executor/executor.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "executor/health_check.hpp"
#include "flags/flags.hpp"
#include "http/client.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/common/uuid.hpp"
#include "mesos/v1/executor/executor.pb.h"
#include "process/rootfs.hpp"
#include "process/users.hpp"
#include "wire/json.hpp"
#include "wire/recordio.hpp"
#include "wire/task_state.hpp"

extern char** environ;

namespace mantle::executor {

namespace {

using mesos::v1::TaskState;
using mesos::v1::TaskStatus;
namespace v1e = mesos::v1::executor;

constexpr std::size_t kStderrTail = 2048;
constexpr double kDefaultKillGrace = 3;

void say(const std::string& line) {
  std::cout << "mantle-executor: " << line << std::endl;
}

class Executor {
 public:
  explicit Executor(ExecutorConfig config) : config_(std::move(config)) {
    url_ = (config_.agentTls ? "https://" : "http://") + config_.agentEndpoint + "/api/v1/executor";
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      std::string text = *entry;
      std::size_t eq = text.find('=');
      if (eq != std::string::npos) environment_[text.substr(0, eq)] = text.substr(eq + 1);
    }
    // The token proves this executor: tasks and health checks never see it.
    environment_.erase("MESOS_EXECUTOR_AUTHENTICATION_TOKEN");
    ::unsetenv("MESOS_EXECUTOR_AUTHENTICATION_TOKEN");
  }

  ~Executor() {
    stop_ = true;
    if (cancel_) *cancel_ = true;
    if (subscriber_.joinable()) subscriber_.join();
    if (wake_[0] >= 0) ::close(wake_[0]);
    if (wake_[1] >= 0) ::close(wake_[1]);
  }

  int run() {
    refreshSubscribeBody();
    disconnectedSince_ = steadyNow();
    subscriber_ = std::thread([this] { subscribeLoop(); });
    while (true) {
      std::vector<pollfd> fds;
      fds.push_back({wake_[0], POLLIN, 0});
      std::vector<Task*> readers;
      for (auto& [id, task] : tasks_) {
        if (task.stderrFd >= 0) {
          fds.push_back({task.stderrFd, POLLIN, 0});
          readers.push_back(&task);
        }
      }
      ::poll(fds.data(), fds.size(), 50);
      char drain[64];
      while (::read(wake_[0], drain, sizeof(drain)) > 0) {
      }
      for (std::size_t i = 0; i < readers.size(); ++i) {
        if (fds[i + 1].revents != 0) readStderr(*readers[i]);
      }
      std::deque<Item> items;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        items.swap(queue_);
      }
      for (const Item& item : items) handle(item);
      reap();
      escalateKills();
      checkHealth();
      resendStale();
      if (auto code = finished()) return *code;
    }
  }

 private:
  struct Item {
    enum Kind { kEvent, kConnected, kDisconnected } kind = kEvent;
    v1e::Event event;
  };
  struct Task {
    mesos::v1::TaskInfo info;
    pid_t pid = -1;
    int stderrFd = -1;
    std::string stderrTail;
    TaskState state = mesos::v1::TASK_STAGING;
    bool killed = false;
    std::string killReason;
    double killDeadline = 0;
    bool escalated = false;
    bool group = false;
    std::optional<bool> healthy;
    std::uint32_t healthFailures = 0;
    std::unique_ptr<HealthChecker> health;
  };
  struct Pending {
    v1e::Call::Update update;
    double sentAt = 0;
  };

  void push(Item item) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(item));
    }
    char byte = 1;
    (void)!::write(wake_[1], &byte, 1);
  }

  void refreshSubscribeBody() {
    v1e::Call call;
    call.mutable_framework_id()->set_value(config_.frameworkId);
    call.mutable_executor_id()->set_value(config_.executorId);
    call.set_type(v1e::Call::SUBSCRIBE);
    auto* subscribe = call.mutable_subscribe();
    for (const auto& [id, task] : tasks_) {
      bool unacked = !wire::isTerminal(task.state);
      for (const Pending& pending : unacked_) unacked = unacked || pending.update.status().task_id().value() == id;
      if (unacked) *subscribe->add_unacknowledged_tasks() = task.info;
    }
    for (const Pending& pending : unacked_) *subscribe->add_unacknowledged_updates() = pending.update;
    std::lock_guard<std::mutex> lock(mutex_);
    subscribeBody_ = call.SerializeAsString();
  }

  void subscribeLoop() {
    std::mt19937 random(std::random_device{}());
    double backoff = 0.1;
    while (!stop_) {
      std::string body;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        body = subscribeBody_;
      }
      auto cancel = std::make_shared<std::atomic<bool>>(false);
      cancel_ = cancel;
      wire::RecordDecoder decoder;
      bool connected = false;
      http::StreamCallbacks callbacks;
      callbacks.onHead = [&](const http::ClientResponse& head) {
        if (head.status != 200) return false;
        connected = true;
        push(Item{Item::kConnected, {}});
        return true;
      };
      callbacks.onData = [&](std::string_view data) {
        std::vector<std::string> records;
        Status status = decoder.feed(data, &records);
        for (const std::string& record : records) {
          Item item;
          item.kind = Item::kEvent;
          if (item.event.ParseFromString(record)) push(std::move(item));
        }
        return status.ok();
      };
      (void)http::stream("POST", url_,
                         headers({{"Content-Type", "application/x-protobuf"}, {"Accept", "application/x-protobuf"}}),
                         body, callbacks, cancel);
      if (connected) {
        push(Item{Item::kDisconnected, {}});
        backoff = 0.1;
      }
      if (stop_) return;
      std::uniform_real_distribution<double> jitter(0, backoff);
      const double delay = std::max(0.05, jitter(random));
      backoff = std::min(backoff * 2, std::max(0.1, config_.subscriptionBackoffMax));
      for (double waited = 0; waited < delay && !stop_; waited += 0.05) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  void handle(const Item& item) {
    if (item.kind == Item::kConnected) {
      subscribed_ = true;
      everSubscribed_ = true;
      return;
    }
    if (item.kind == Item::kDisconnected) {
      if (subscribed_) say("lost the agent");
      subscribed_ = false;
      disconnectedSince_ = steadyNow();
      return;
    }
    const v1e::Event& event = item.event;
    switch (event.type()) {
      case v1e::Event::SUBSCRIBED:
        frameworkInfo_ = event.subscribed().framework_info();
        say("subscribed to agent " + event.subscribed().agent_info().id().value());
        break;
      case v1e::Event::LAUNCH: launch(event.launch().task(), false); break;
      case v1e::Event::LAUNCH_GROUP:
        for (const auto& task : event.launch_group().task_group().tasks()) launch(task, true);
        break;
      case v1e::Event::KILL: {
        auto it = tasks_.find(event.kill().task_id().value());
        if (it == tasks_.end()) break;
        double grace = kDefaultKillGrace;
        const mesos::v1::KillPolicy* policy = event.kill().has_kill_policy()      ? &event.kill().kill_policy()
                                              : it->second.info.has_kill_policy() ? &it->second.info.kill_policy()
                                                                                  : nullptr;
        if (policy != nullptr && policy->has_grace_period()) {
          grace = static_cast<double>(policy->grace_period().nanoseconds()) / 1e9;
        }
        kill(it->second, grace, "");
        break;
      }
      case v1e::Event::ACKNOWLEDGED: {
        const std::string& uuid = event.acknowledged().uuid();
        for (auto it = unacked_.begin(); it != unacked_.end(); ++it) {
          if (it->update.status().uuid() == uuid) {
            unacked_.erase(it);
            refreshSubscribeBody();
            break;
          }
        }
        break;
      }
      case v1e::Event::MESSAGE:
        say("message from the framework (" + std::to_string(event.message().data().size()) + " bytes)");
        break;
      case v1e::Event::SHUTDOWN:
        say("asked to shut down");
        shuttingDown_ = true;
        shutdownAt_ = steadyNow();
        for (auto& [id, task] : tasks_) kill(task, std::max(0.0, config_.shutdownGracePeriod - 1), "");
        break;
      case v1e::Event::ERROR: say("error from the agent: " + event.error().message()); break;
      default: break;
    }
  }

  void launch(const mesos::v1::TaskInfo& info, bool group) {
    const std::string id = info.task_id().value();
    if (tasks_.count(id)) return;
    Task& task = tasks_[id];
    task.info = info;
    task.group = group;
    launchedAny_ = true;
    // The isolators' command for a task in an image (its entrypoint and cmd).
    const mesos::v1::CommandInfo& command = config_.taskCommand ? *config_.taskCommand : info.command();
    if (command.value().empty()) {
      update(task, mesos::v1::TASK_ERROR, "The task has no command", TaskStatus::REASON_TASK_INVALID, std::nullopt);
      return;
    }
    std::optional<process::UserIds> user;
    if (!config_.user.empty()) {
      Result<process::UserIds> resolved = process::resolveUser(config_.rootfs, config_.user);
      if (!resolved.ok()) {
        update(task, mesos::v1::TASK_FAILED, resolved.error().message, TaskStatus::REASON_COMMAND_EXECUTOR_FAILED,
               std::nullopt);
        return;
      }
      user = *resolved;
    }
    std::map<std::string, std::string> env = environment_;
    // A SECRET variable reached the container's environment through the
    // environment_secret isolator; it has no value here to override it with.
    for (const auto& variable : info.command().environment().variables()) {
      if (variable.type() != mesos::v1::Environment::Variable::SECRET) env[variable.name()] = variable.value();
    }
    std::vector<std::string> envStorage;
    for (const auto& [name, value] : env) envStorage.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& entry : envStorage) envp.push_back(entry.data());
    envp.push_back(nullptr);
    // shell: `sh -c value`. Otherwise execvp semantics as in Mesos: `value` is
    // the program (looked up in PATH without a '/'), `arguments` the whole
    // argv, argv[0] included ({value} when there are none).
    std::vector<std::string> argvStorage;
    std::string program = command.value();
    if (command.shell()) {
      program = "/bin/sh";
      argvStorage = {"/bin/sh", "-c", command.value()};
    } else if (command.arguments_size() == 0) {
      argvStorage.push_back(program);
    } else {
      argvStorage.assign(command.arguments().begin(), command.arguments().end());
    }
    std::vector<char*> argv;
    for (auto& arg : argvStorage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int errPipe[2];
    if (::pipe2(errPipe, O_CLOEXEC) != 0) {
      update(task, mesos::v1::TASK_FAILED, "pipe failed", TaskStatus::REASON_COMMAND_EXECUTOR_FAILED, std::nullopt);
      return;
    }
    const bool pathSearch = !command.shell() && command.value().find('/') == std::string::npos;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      struct sigaction dfl;
      std::memset(&dfl, 0, sizeof(dfl));
      dfl.sa_handler = SIG_DFL;
      for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::dup2(errPipe[1], 2);
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      // The executor's own descriptors (its connections to the agent, its
      // pipes) are not the task's.
      ::close_range(3, ~0U, 0);
      if (!config_.rootfs.empty()) {
        if (const char* step = process::enterRootfs(config_.rootfs.c_str())) {
          const char message[] = "mantle-executor: cannot enter the task's root filesystem: ";
          (void)!::write(2, message, sizeof(message) - 1);
          (void)!::write(2, step, std::strlen(step));
          (void)!::write(2, "\n", 1);
          ::_exit(127);
        }
      }
      const std::string& directory = config_.rootfs.empty() ? config_.directory : config_.workingDirectory;
      if (::chdir(directory.c_str()) != 0) {
        const char message[] = "mantle-executor: cannot enter the task's working directory\n";
        (void)!::write(2, message, sizeof(message) - 1);
        ::_exit(127);
      }
      if (user && (::setgroups(1, &user->gid) != 0 || ::setgid(user->gid) != 0 || ::setuid(user->uid) != 0)) {
        const char message[] = "mantle-executor: cannot switch to the task's user\n";
        (void)!::write(2, message, sizeof(message) - 1);
        ::_exit(127);
      }
      if (pathSearch) {
        ::execvpe(program.c_str(), argv.data(), envp.data());
      } else {
        ::execve(program.c_str(), argv.data(), envp.data());
      }
      const char message[] = "mantle-executor: failed to execute the task's command\n";
      (void)!::write(2, message, sizeof(message) - 1);
      ::_exit(127);
    }
    ::close(errPipe[1]);
    if (pid < 0) {
      ::close(errPipe[0]);
      update(task, mesos::v1::TASK_FAILED, std::string("fork failed: ") + std::strerror(errno),
             TaskStatus::REASON_COMMAND_EXECUTOR_FAILED, std::nullopt);
      return;
    }
    ::setpgid(pid, pid);
    // STARTING once the task's process exists, RUNNING right after: the
    // agent forwards the second when the first is acknowledged.
    update(task, mesos::v1::TASK_STARTING, "", std::nullopt, std::nullopt);
    ::fcntl(errPipe[0], F_SETFL, O_NONBLOCK);
    task.pid = pid;
    task.stderrFd = errPipe[0];
    say("started task " + id + " (pid " + std::to_string(pid) + ")");
    if (info.has_health_check()) {
      task.health = std::make_unique<HealthChecker>(info.health_check(), env, config_.directory, pid, steadyNow());
      if (!config_.rootfs.empty()) task.health->runInContainer({config_.workingDirectory, user});
    }
    update(task, mesos::v1::TASK_RUNNING, "", std::nullopt, std::nullopt);
  }

  void kill(Task& task, double grace, const std::string& reason) {
    if (wire::isTerminal(task.state) || task.pid <= 0 || task.killed) return;
    task.killed = true;
    task.killReason = reason;
    for (const auto& capability : frameworkInfo_.capabilities()) {
      if (capability.type() == mesos::v1::FrameworkInfo::Capability::TASK_KILLING_STATE) {
        update(task, mesos::v1::TASK_KILLING, reason, std::nullopt, std::nullopt);
        break;
      }
    }
    say("killing task " + task.info.task_id().value() + " (grace " + std::to_string(grace) + " s)");
    ::kill(-task.pid, SIGTERM);
    task.killDeadline = steadyNow() + grace;
  }

  void escalateKills() {
    const double now = steadyNow();
    for (auto& [id, task] : tasks_) {
      if (task.killed && !task.escalated && task.pid > 0 && now >= task.killDeadline) {
        task.escalated = true;
        ::kill(-task.pid, SIGKILL);
      }
    }
  }

  void readStderr(Task& task) {
    char buffer[8192];
    while (true) {
      ssize_t n = ::read(task.stderrFd, buffer, sizeof(buffer));
      if (n > 0) {
        ssize_t written = 0;
        while (written < n) {
          ssize_t w = ::write(2, buffer + written, static_cast<std::size_t>(n - written));
          if (w <= 0) break;
          written += w;
        }
        task.stderrTail.append(buffer, static_cast<std::size_t>(n));
        if (task.stderrTail.size() > kStderrTail) task.stderrTail.erase(0, task.stderrTail.size() - kStderrTail);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        ::close(task.stderrFd);
        task.stderrFd = -1;
      }
      return;
    }
  }

  void reap() {
    for (auto& [id, task] : tasks_) {
      if (task.pid <= 0 || wire::isTerminal(task.state)) continue;
      int status = 0;
      if (::waitpid(task.pid, &status, WNOHANG) != task.pid) continue;
      // Collect what the task wrote last (its group may still hold the pipe).
      const double until = steadyNow() + 0.2;
      while (task.stderrFd >= 0 && steadyNow() < until) {
        pollfd fd{task.stderrFd, POLLIN, 0};
        if (::poll(&fd, 1, 20) > 0)
          readStderr(task);
        else
          break;
      }
      if (task.stderrFd >= 0) {
        ::close(task.stderrFd);
        task.stderrFd = -1;
      }
      ::kill(-task.pid, SIGKILL);  // nothing of the task outlives it
      task.pid = -1;
      task.health.reset();
      std::string description;
      if (WIFEXITED(status)) {
        description = "Command exited with status " + std::to_string(WEXITSTATUS(status));
      } else if (WIFSIGNALED(status)) {
        description = "Command terminated with signal " + std::string(::strsignal(WTERMSIG(status)));
      } else {
        description = "Command ended with wait status " + std::to_string(status);
      }
      say("task " + id + ": " + description);
      if (task.killed) {
        std::string message = task.killReason.empty() ? description : task.killReason + "; " + description;
        update(
            task, mesos::v1::TASK_KILLED, message,
            task.killReason.empty() ? std::nullopt : std::optional(TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED),
            task.healthy);
      } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        update(task, mesos::v1::TASK_FINISHED, description, std::nullopt, std::nullopt);
      } else {
        std::string tail = task.stderrTail;
        while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
        std::string message = description;
        if (!tail.empty()) message += "; last stderr: " + tail;
        update(task, mesos::v1::TASK_FAILED, message, TaskStatus::REASON_COMMAND_EXECUTOR_FAILED, std::nullopt);
      }
      if (task.group && task.state != mesos::v1::TASK_FINISHED) {
        // A task group lives and dies together.
        for (auto& [otherId, other] : tasks_) kill(other, kDefaultKillGrace, "");
      }
    }
  }

  void checkHealth() {
    const double now = steadyNow();
    for (auto& [id, task] : tasks_) {
      if (!task.health || task.pid <= 0 || task.killed) continue;
      auto result = task.health->poll(now);
      if (!result) continue;
      if (result->healthy) {
        task.healthFailures = 0;
        task.health->markHealthy();
        if (task.healthy != true) {
          task.healthy = true;
          update(task, mesos::v1::TASK_RUNNING, "", TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, true);
        }
        continue;
      }
      if (task.health->inGracePeriod(now)) continue;
      ++task.healthFailures;
      if (task.healthy != false) {
        task.healthy = false;
        update(task, mesos::v1::TASK_RUNNING, result->message, TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED,
               false);
      }
      if (task.healthFailures >= task.health->check().consecutive_failures()) {
        double grace = kDefaultKillGrace;
        if (task.info.has_kill_policy() && task.info.kill_policy().has_grace_period()) {
          grace = static_cast<double>(task.info.kill_policy().grace_period().nanoseconds()) / 1e9;
        }
        kill(task, grace,
             "Task killed after " + std::to_string(task.healthFailures) + " failed health checks: " + result->message);
      }
    }
  }

  void update(Task& task, TaskState state, const std::string& message, std::optional<TaskStatus::Reason> reason,
              std::optional<bool> healthy) {
    if (wire::isTerminal(task.state)) return;
    task.state = state;
    v1e::Call::Update update;
    TaskStatus* status = update.mutable_status();
    *status->mutable_task_id() = task.info.task_id();
    status->set_state(state);
    status->set_source(TaskStatus::SOURCE_EXECUTOR);
    status->set_uuid(uuid::randomBytes());
    status->set_timestamp(wallNow());
    status->mutable_executor_id()->set_value(config_.executorId);
    if (!message.empty()) status->set_message(message);
    if (reason) status->set_reason(*reason);
    if (healthy) status->set_healthy(*healthy);
    status->mutable_container_status()->set_executor_pid(static_cast<std::uint32_t>(::getpid()));
    unacked_.push_back(Pending{update, steadyNow()});
    refreshSubscribeBody();
    if (subscribed_) send(update);
  }

  void send(const v1e::Call::Update& update) {
    v1e::Call call;
    call.mutable_framework_id()->set_value(config_.frameworkId);
    call.mutable_executor_id()->set_value(config_.executorId);
    call.set_type(v1e::Call::UPDATE);
    *call.mutable_update() = update;
    auto response = http::request("POST", url_, headers({{"Content-Type", "application/x-protobuf"}}),
                                  call.SerializeAsString(), http::ClientOptions{5, 2});
    if (!response.ok() || response->status != 202) {
      say("sending an update failed: " +
          (response.ok() ? std::to_string(response->status) + " " + response->body : response.error().message));
    }
  }

  void resendStale() {
    if (!subscribed_) return;
    const double now = steadyNow();
    for (Pending& pending : unacked_) {
      if (now - pending.sentAt > 10) {
        pending.sentAt = now;
        send(pending.update);
      }
    }
  }

  std::optional<int> finished() {
    bool allTerminal = true;
    for (const auto& [id, task] : tasks_) allTerminal = allTerminal && wire::isTerminal(task.state) && task.pid <= 0;
    const double now = steadyNow();
    if (launchedAny_ && allTerminal && unacked_.empty()) return 0;
    if (shuttingDown_ && allTerminal && (unacked_.empty() || now - shutdownAt_ > config_.shutdownGracePeriod)) {
      return 0;
    }
    if (!subscribed_) {
      const bool giveUp = config_.checkpoint ? now - disconnectedSince_ > config_.recoveryTimeout : everSubscribed_;
      if (giveUp && !abandoning_) {
        say(config_.checkpoint ? "the agent did not come back within the recovery timeout"
                               : "lost the agent and the framework does not checkpoint");
        abandoning_ = true;
        for (auto& [id, task] : tasks_) kill(task, std::min(kDefaultKillGrace, config_.shutdownGracePeriod), "");
      }
      if (abandoning_ && allTerminal) return 1;
    }
    if (abandoning_) {
      bool alive = false;
      for (const auto& [id, task] : tasks_) alive = alive || task.pid > 0;
      if (!alive) return 1;
    }
    return std::nullopt;
  }

  // `base` plus the executor's bearer token when the agent gave it one.
  http::Headers headers(http::Headers base) const {
    if (!config_.authenticationToken.empty()) {
      base.emplace_back("Authorization", "Bearer " + config_.authenticationToken);
    }
    return base;
  }

  ExecutorConfig config_;
  std::string url_;
  std::map<std::string, std::string> environment_;
  int wake_[2] = {-1, -1};
  std::mutex mutex_;  // queue_ and subscribeBody_, shared with the subscriber thread
  std::deque<Item> queue_;
  std::string subscribeBody_;
  std::thread subscriber_;
  std::atomic<bool> stop_{false};
  std::shared_ptr<std::atomic<bool>> cancel_;
  mesos::v1::FrameworkInfo frameworkInfo_;
  std::map<std::string, Task> tasks_;
  std::vector<Pending> unacked_;
  bool subscribed_ = false;
  bool everSubscribed_ = false;
  bool launchedAny_ = false;
  bool shuttingDown_ = false;
  bool abandoning_ = false;
  double shutdownAt_ = 0;
  double disconnectedSince_ = 0;
};

}  // namespace

Result<ExecutorConfig> configFromEnvironment(const std::map<std::string, std::string>& environment) {
  ExecutorConfig config;
  auto get = [&](const char* name) -> std::string {
    auto it = environment.find(name);
    return it == environment.end() ? "" : it->second;
  };
  config.frameworkId = get("MESOS_FRAMEWORK_ID");
  config.executorId = get("MESOS_EXECUTOR_ID");
  config.agentEndpoint = get("MESOS_AGENT_ENDPOINT");
  config.directory = get("MESOS_SANDBOX");
  if (config.directory.empty()) config.directory = get("MESOS_DIRECTORY");
  for (const auto& [name, value] : {std::pair<const char*, std::string>{"MESOS_FRAMEWORK_ID", config.frameworkId},
                                    {"MESOS_EXECUTOR_ID", config.executorId},
                                    {"MESOS_AGENT_ENDPOINT", config.agentEndpoint},
                                    {"MESOS_SANDBOX", config.directory}}) {
    if (value.empty())
      return invalidArgument(std::string(name) + " is not set; mantle-executor is started by the agent");
  }
  config.authenticationToken = get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN");
  config.agentTls = get("LIBPROCESS_SSL_ENABLED") == "true" || get("LIBPROCESS_SSL_ENABLED") == "1";
  config.checkpoint = get("MESOS_CHECKPOINT") == "1";
  auto duration = [&](const char* name, double* target) -> Status {
    const std::string text = get(name);
    if (text.empty()) return {};
    auto parsed = flags::parseDuration(text);
    if (!parsed.ok()) return parsed.error().withContext(name);
    *target = *parsed;
    return {};
  };
  for (auto [name, target] : {std::pair<const char*, double*>{"MESOS_RECOVERY_TIMEOUT", &config.recoveryTimeout},
                              {"MESOS_SUBSCRIPTION_BACKOFF_MAX", &config.subscriptionBackoffMax},
                              {"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", &config.shutdownGracePeriod}}) {
    if (Status status = duration(name, target); !status.ok()) return status.error();
  }
  return config;
}

Status applyArguments(const std::vector<std::string>& arguments, ExecutorConfig& config) {
  for (const std::string& argument : arguments) {
    const std::size_t eq = argument.find('=');
    const std::string name = argument.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : argument.substr(eq + 1);
    if (name == "--rootfs") {
      config.rootfs = value;
    } else if (name == "--sandbox_directory") {
      config.directory = value;
    } else if (name == "--working_directory") {
      config.workingDirectory = value;
    } else if (name == "--user") {
      config.user = value;
    } else if (name == "--task_command") {
      Result<mesos::v1::CommandInfo> command = wire::parseJson<mesos::v1::CommandInfo>(value);
      if (!command.ok()) return command.error().withContext("--task_command");
      config.taskCommand = std::move(*command);
    } else {
      return invalidArgument("unknown flag '" + name + "'");
    }
  }
  return {};
}

int runExecutor(const ExecutorConfig& config) {
  Executor executor(config);
  return executor.run();
}

}  // namespace mantle::executor
