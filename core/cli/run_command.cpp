#include "run_command.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include <json/reader.h>
#include <json/value.h>

#include "command_flags.hpp"
#include "flags/flags.hpp"
#include "http/client.hpp"
#include "master_queries.hpp"
#include "resources/resources.hpp"
#include "scheduler/scheduler.hpp"
#include "task_commands.hpp"
#include "wire/task_state.hpp"

namespace mantle::cli {

namespace {

namespace v1 = ::mesos::v1;

struct RunFlags {
  std::string master = "127.0.0.1:5050";
  std::string name;
  std::string resources;  // default: kDefaultResources
  std::string cpus;
  std::string mem;
  std::string disk;
  std::string gpus;
  std::string role = "*";
  std::string user;
  std::string env;
  double timeout = 0;
  bool follow = false;
  std::string executor;
  std::string healthCheckCmd;
  std::string healthCheckHttp;
  double healthCheckInterval = 10;
  double healthCheckTimeout = 20;
  double healthCheckGrace = 10;
  std::int64_t healthCheckFailures = 3;
};

constexpr const char* kDefaultResources = "cpus:0.1;mem:32";

// What the task asks for: --resources (or the default) with --cpus, --mem,
// --disk and --gpus added (replacing the default's amount). Naming a resource
// both ways is an error, as is a shorthand that is not a non-negative number.
Result<resources::Resources> wantedResources(const RunFlags& f) {
  const bool explicitResources = !f.resources.empty();
  Result<resources::Resources> base = resources::Resources::parse(explicitResources ? f.resources : kDefaultResources);
  if (!base.ok()) return base.error().withContext("--resources");
  const std::pair<std::string, const std::string*> shorthands[] = {
      {"cpus", &f.cpus}, {"mem", &f.mem}, {"disk", &f.disk}, {"gpus", &f.gpus}};
  resources::Resources wanted;
  for (const resources::Resource& r : base->items()) {
    bool replaced = false;
    for (const auto& [name, value] : shorthands) replaced = replaced || (r.name() == name && !value->empty());
    if (replaced && explicitResources) {
      return invalidArgument("--" + r.name() + " and --resources both give " + r.name() + "; give it once");
    }
    if (!replaced) wanted.add(r);
  }
  for (const auto& [name, value] : shorthands) {
    if (value->empty()) continue;
    char* end = nullptr;
    errno = 0;
    const double amount = std::strtod(value->c_str(), &end);
    if (*end != '\0' || errno == ERANGE || !std::isfinite(amount) || amount < 0 || std::isspace(value->front())) {
      return invalidArgument("--" + name + ": expected a non-negative number, got '" + *value + "'");
    }
    resources::Resource r;
    r.set_name(name);
    r.set_type(::mesos::v1::Value::SCALAR);
    r.mutable_scalar()->set_value(amount);
    wanted.add(r);
  }
  return wanted;
}

// `word` quoted for sh when it needs it.
std::string shellQuoted(const std::string& word) {
  if (!word.empty() &&
      word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%") ==
          std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The task's health check from the --health_check_* flags, if any.
Result<std::optional<v1::HealthCheck>> healthCheckFrom(const RunFlags& f) {
  if (f.healthCheckCmd.empty() && f.healthCheckHttp.empty()) return std::optional<v1::HealthCheck>();
  if (!f.healthCheckCmd.empty() && !f.healthCheckHttp.empty()) {
    return invalidArgument("give --health_check_cmd or --health_check_http, not both");
  }
  v1::HealthCheck check;
  if (!f.healthCheckCmd.empty()) {
    check.set_type(v1::HealthCheck::COMMAND);
    check.mutable_command()->set_shell(true);
    check.mutable_command()->set_value(f.healthCheckCmd);
  } else {
    // PORT[/PATH]
    const std::size_t slash = f.healthCheckHttp.find('/');
    const std::string port = f.healthCheckHttp.substr(0, slash);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
        std::stoi(port) == 0 || std::stoi(port) > 65535) {
      return invalidArgument("--health_check_http: expected PORT[/PATH], got '" + f.healthCheckHttp + "'");
    }
    check.set_type(v1::HealthCheck::HTTP);
    check.mutable_http()->set_port(static_cast<std::uint32_t>(std::stoi(port)));
    check.mutable_http()->set_path(slash == std::string::npos ? "/" : f.healthCheckHttp.substr(slash));
  }
  if (f.healthCheckFailures < 1) return invalidArgument("--health_check_failures must be at least 1");
  check.set_interval_seconds(f.healthCheckInterval);
  check.set_timeout_seconds(f.healthCheckTimeout);
  check.set_grace_period_seconds(f.healthCheckGrace);
  check.set_delay_seconds(0);
  check.set_consecutive_failures(static_cast<std::uint32_t>(f.healthCheckFailures));
  return std::optional<v1::HealthCheck>(check);
}

std::string orEmpty(const Result<std::string>& result) {
  return result.ok() ? *result : std::string();
}

// When the subscription ended before the final update (e.g. `mantle kill`
// tore the framework down), the task's end as the master saw it.
std::optional<v1::TaskStatus> finalStateFromMaster(const std::string& master, const std::string& taskId) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto location = locateTask(master, taskId);
    if (!location.ok()) return std::nullopt;
    const std::string state = location->task["state"].asString();
    v1::TaskState parsed;
    if (wire::isTerminal(state) && v1::TaskState_Parse(state, &parsed)) {
      v1::TaskStatus status;
      status.mutable_task_id()->set_value(taskId);
      status.set_state(parsed);
      status.mutable_agent_id()->set_value(location->agentId);
      status.set_message("the framework was torn down");
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return std::nullopt;
}

int exitCodeOf(const v1::TaskStatus& status) {
  switch (status.state()) {
    case v1::TASK_FINISHED: return 0;
    case v1::TASK_FAILED: {
      std::smatch match;
      static const std::regex exited("exited with status ([0-9]+)");
      if (std::regex_search(status.message(), match, exited)) return std::stoi(match[1]);
      return 1;
    }
    case v1::TASK_KILLED: return 137;
    default: return 1;
  }
}

std::string randomSuffix() {
  std::random_device device;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back("0123456789abcdef"[digit(device)]);
  return s;
}

}  // namespace

int runCommand(const std::vector<std::string>& args) {
  RunFlags f;
  flags::FlagSet set("mantle run",
                     "Runs COMMAND as a task on the cluster, prints its output and exits with its "
                     "exit code:\n  mantle run [options] -- COMMAND [ARGS...]\n"
                     "One word after -- is a shell command (sh -c 'echo $HOME; exit 3'); several are\n"
                     "run as they are, without a shell (-- sh -c 'exit 7'), as docker run does.");
  set.addString("master", &f.master, "The master, host:port or zk://hosts/path (or MANTLE_MASTER).");
  set.addString("name", &f.name, "The task's and framework's name (default: mantle-run).");
  set.addString("resources", &f.resources,
                "What the task needs, in Mesos' text syntax (default: " + std::string(kDefaultResources) + ").");
  set.addString("cpus", &f.cpus, "Shorthand for cpus:N in --resources (replaces the default's).");
  set.addString("mem", &f.mem, "Shorthand for mem:MB in --resources (replaces the default's).");
  set.addString("disk", &f.disk, "Shorthand for disk:MB in --resources.");
  set.addString("gpus", &f.gpus, "Shorthand for gpus:N in --resources.");
  set.addString("role", &f.role, "The role to run in.");
  set.addString("user", &f.user, "The user to run as (default: yours).");
  set.addString("env", &f.env, "Environment variables for the task: NAME=VALUE;NAME=VALUE.");
  set.addDuration("timeout", &f.timeout, "Give up (and kill the task) after this long; 0 waits forever.");
  set.addBool("follow", &f.follow, "Stream the task's stdout and stderr while it runs.");
  set.addString("executor", &f.executor,
                "Run this custom executor (a path on the agent) instead of the command executor; COMMAND, if "
                "any, is handed to it as the task's data.");
  set.addString("health_check_cmd", &f.healthCheckCmd, "A shell command whose exit 0 means healthy.");
  set.addString("health_check_http", &f.healthCheckHttp,
                "PORT[/PATH]: healthy while GET http://127.0.0.1:PORT/PATH answers 2xx or 3xx.");
  set.addDuration("health_check_interval", &f.healthCheckInterval, "Time between health checks.");
  set.addDuration("health_check_timeout", &f.healthCheckTimeout, "How long one health check may take.");
  set.addDuration("health_check_grace", &f.healthCheckGrace,
                  "Failures in this long after the start do not count (until the first success).");
  set.addInt("health_check_failures", &f.healthCheckFailures,
             "Kill the task after this many consecutive failed checks.");

  auto dashes = std::find(args.begin(), args.end(), "--");
  if (int rc = parseCommandFlags(set, "mantle run", std::vector<std::string>(args.begin(), dashes)); rc >= 0) return rc;
  // One word: a shell command. Several: an argv, run without a shell.
  std::vector<std::string> words;
  if (dashes != args.end()) words.assign(dashes + 1, args.end());
  if (words.size() == 1 && words[0].empty()) words.clear();
  if (words.empty() && f.executor.empty()) {
    std::cerr << "mantle: error: no command to run (mantle run [options] -- COMMAND)\n";
    return 2;
  }
  std::string command = words.size() == 1 ? words[0] : std::string();
  if (words.size() > 1) {
    for (const std::string& word : words) command += (command.empty() ? "" : " ") + shellQuoted(word);
  }
  Result<resources::Resources> wanted = wantedResources(f);
  if (!wanted.ok()) {
    std::cerr << "mantle: error: " << wanted.error().message << "\n";
    return 2;
  }
  auto healthCheck = healthCheckFrom(f);
  if (!healthCheck.ok()) {
    std::cerr << "mantle: error: " << healthCheck.error().message << "\n";
    return 2;
  }
  if (f.name.empty()) f.name = "mantle-run";
  if (f.user.empty()) {
    const char* user = std::getenv("USER");
    f.user = user != nullptr ? user : "root";
  }
  const bool chatty = ::isatty(STDERR_FILENO) != 0;
  auto progress = [&](const std::string& line) {
    if (chatty) std::cerr << "\r\033[K" << line << std::flush;
  };

  std::mutex mutex;
  std::condition_variable changed;
  std::optional<v1::TaskStatus> last;
  std::optional<v1::TaskStatus> final;
  std::string failure;
  bool launched = false;
  const std::string taskId = f.name + "-" + randomSuffix();

  if (Result<std::string> leader = resolveMaster(f.master); leader.ok()) {
    f.master = *leader;  // one look at ZooKeeper for zk://, then plain HTTP to the leader
  } else {
    std::cerr << "mantle: error: " << leader.error().message << "\n";
    return 1;
  }
  scheduler::SchedulerOptions options;
  options.master = f.master;
  options.frameworkInfo.set_user(f.user);
  options.frameworkInfo.set_name(f.name);
  options.frameworkInfo.add_roles(f.role);
  options.frameworkInfo.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  {
    // `mantle kill` tears down frameworks with this label.
    v1::Label* label = options.frameworkInfo.mutable_labels()->add_labels();
    label->set_key(kRunFrameworkLabel);
    label->set_value(taskId);
  }
  options.reconnect = false;
  // With MANTLE_CREDENTIAL the framework subscribes as that principal (the
  // master's --authenticate_http_frameworks).
  if (Result<std::optional<auth::Credential>> credential = cliCredential(); !credential.ok()) {
    std::cerr << "mantle: error: " << credential.error().message << "\n";
    return 1;
  } else if (*credential) {
    options.frameworkInfo.set_principal((*credential)->principal);
    options.authorization = auth::basicAuthorization(**credential);
  }
  scheduler::SchedulerCallbacks callbacks;
  std::unique_ptr<scheduler::Scheduler> client;
  callbacks.subscribed = [&](const auto&) { progress("waiting for an offer..."); };
  callbacks.offers = [&](const std::vector<v1::Offer>& offers) {
    std::vector<v1::OfferID> unused;
    for (const v1::Offer& offer : offers) {
      bool fits = false;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (!launched) {
          auto offered = resources::Resources::from(offer.resources());
          fits = offered.ok() && offered->withoutAllocation().unreserved().contains(*wanted);
        }
      }
      if (!fits) {
        unused.push_back(offer.id());
        continue;
      }
      v1::TaskInfo task = scheduler::commandTask(taskId, offer, command, wanted->toString());
      task.set_name(f.name);
      if (words.size() > 1) {
        // CommandInfo as Mesos defines it: `value` is the program, `arguments`
        // the whole argv (argv[0] included).
        task.mutable_command()->set_shell(false);
        task.mutable_command()->set_value(words[0]);
        for (const std::string& word : words) task.mutable_command()->add_arguments(word);
      }
      if (!f.executor.empty()) {
        // A custom executor: the task carries no command (exactly one of
        // command and executor); the executor gets COMMAND as data (several
        // words quoted for sh and joined).
        v1::CommandInfo commandInfo = task.command();
        task.clear_command();
        task.set_data(command);
        v1::ExecutorInfo* executor = task.mutable_executor();
        executor->set_type(v1::ExecutorInfo::CUSTOM);
        executor->mutable_executor_id()->set_value(taskId);
        executor->set_name(f.name + " executor (" + f.executor + ")");
        executor->mutable_command()->set_shell(false);
        executor->mutable_command()->set_value(f.executor);
        executor->mutable_command()->add_arguments(f.executor);
        executor->mutable_command()->set_user(commandInfo.user());
      }
      if (*healthCheck) *task.mutable_health_check() = **healthCheck;
      if (!f.env.empty()) {
        v1::CommandInfo* target =
            f.executor.empty() ? task.mutable_command() : task.mutable_executor()->mutable_command();
        std::stringstream in(f.env);
        for (std::string pair; std::getline(in, pair, ';');) {
          std::size_t eq = pair.find('=');
          auto* var = target->mutable_environment()->add_variables();
          var->set_name(pair.substr(0, eq));
          var->set_value(eq == std::string::npos ? "" : pair.substr(eq + 1));
        }
      }
      Status s = client->launch(offer, {task});
      std::lock_guard<std::mutex> lock(mutex);
      if (!s.ok()) {
        failure = "launching the task failed: " + s.error().message;
        changed.notify_all();
        return;
      }
      launched = true;
      progress("launched on " + offer.hostname() + ", staging...");
    }
    if (!unused.empty()) (void)client->decline(unused, 5);
  };
  callbacks.update = [&](const v1::TaskStatus& status) {
    std::lock_guard<std::mutex> lock(mutex);
    last = status;
    std::string health;
    if (status.has_healthy()) health = status.healthy() ? " (healthy)" : " (unhealthy)";
    progress(v1::TaskState_Name(status.state()) + health + (status.message().empty() ? "" : ": " + status.message()));
    if (wire::isTerminal(status.state())) final = status;
    changed.notify_all();
  };
  auto fail = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex);
    if (failure.empty() && !final) failure = why;
    changed.notify_all();
  };
  callbacks.error = [&](const std::string& message) { fail("the master refused the framework: " + message); };
  callbacks.disconnected = [&](const std::string& why) { fail("lost the connection to the master: " + why); };
  client = std::make_unique<scheduler::Scheduler>(options, callbacks);
  progress("subscribing to " + f.master + "...");
  client->start();

  std::string agent;
  std::string sandbox;
  std::int64_t outOffset = 0;
  std::int64_t errOffset = 0;
  auto follow = [&](bool all) {
    if (sandbox.empty()) return;
    do {
      std::string out = orEmpty(readSandboxFile(agent, sandbox + "/stdout", outOffset));
      std::string err = orEmpty(readSandboxFile(agent, sandbox + "/stderr", errOffset));
      if (!out.empty() || !err.empty()) progress("");
      std::cout << out << std::flush;
      std::cerr << err << std::flush;
      if (out.empty() && err.empty()) break;
    } while (all);
  };
  auto started = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex);
  while (!final && failure.empty()) {
    changed.wait_for(lock, std::chrono::milliseconds(500));
    if (f.timeout > 0 && std::chrono::steady_clock::now() - started > std::chrono::duration<double>(f.timeout)) {
      failure = "timed out after " + std::to_string(static_cast<int>(f.timeout)) + "s";
      if (launched) (void)client->kill(last ? last->task_id() : v1::TaskID());
      break;
    }
    // The sandbox is looked up while the task runs (with --follow or not):
    // an executor that has exited may no longer list it.
    if ((f.follow || sandbox.empty()) && last && last->has_agent_id() && client->frameworkId()) {
      lock.unlock();
      if (agent.empty()) agent = orEmpty(agentUrl(f.master, last->agent_id().value()));
      if (!agent.empty() && sandbox.empty())
        sandbox = orEmpty(sandboxOf(agent, client->frameworkId()->value(), taskId));
      if (f.follow) follow(false);
      lock.lock();
    }
  }
  std::optional<v1::TaskStatus> result = final;
  std::string why = failure;
  const bool wasLaunched = launched;
  std::optional<v1::FrameworkID> frameworkId = client->frameworkId();
  lock.unlock();
  progress("");
  if (!result && wasLaunched && why.rfind("timed out", 0) != 0) result = finalStateFromMaster(f.master, taskId);
  if (result && frameworkId && result->has_agent_id()) {
    if (agent.empty()) agent = orEmpty(agentUrl(f.master, result->agent_id().value()));
    if (!agent.empty() && sandbox.empty()) sandbox = orEmpty(sandboxOf(agent, frameworkId->value(), taskId));
    follow(true);
  }
  (void)client->teardown();
  client->stop();
  if (!result) {
    std::cerr << "mantle: error: " << why << "\n";
    return 1;
  }
  if (result->state() != v1::TASK_FINISHED) {
    std::cerr << "mantle: task " << taskId << " " << v1::TaskState_Name(result->state())
              << (result->message().empty() ? "" : ": " + result->message()) << "\n";
  }
  return exitCodeOf(*result);
}

}  // namespace mantle::cli
