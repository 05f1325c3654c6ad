#include "run_command.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include <json/reader.h>
#include <json/value.h>

#include "flags/flags.hpp"
#include "http/client.hpp"
#include "resources/resources.hpp"
#include "scheduler/scheduler.hpp"
#include "zookeeper/detector.hpp"
#include "zookeeper/master_detector.hpp"

namespace mantle::cli {

namespace {

namespace v1 = ::mesos::v1;

struct RunFlags {
  std::string master = "127.0.0.1:5050";
  std::string name;
  std::string resources = "cpus:0.1;mem:32";
  std::string role = "*";
  std::string user;
  std::string env;
  double timeout = 0;
  bool follow = false;
};

std::optional<Json::Value> getJson(const std::string& url) {
  auto response = http::request("GET", url, {}, "", http::ClientOptions{5, 2});
  if (!response.ok() || response->status != 200) return std::nullopt;
  Json::Value root;
  std::istringstream in(response->body);
  if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) return std::nullopt;
  return root;
}

std::string masterUrl(const std::string& master) {
  return master.rfind("http://", 0) == 0 ? master : "http://" + master;
}

// http://host:port of the agent with `agentId`, from the master's /master/slaves.
std::optional<std::string> agentUrl(const std::string& master, const std::string& agentId) {
  auto slaves = getJson(masterUrl(master) + "/master/slaves");
  if (!slaves) return std::nullopt;
  for (const Json::Value& agent : (*slaves)["slaves"]) {
    if (agent["id"].asString() != agentId) continue;
    std::string pid = agent["pid"].asString();  // slave(1)@host:port
    std::size_t at = pid.find('@');
    return "http://" + (at == std::string::npos ? agent["hostname"].asString() + ":" + agent["port"].asString()
                                                 : pid.substr(at + 1));
  }
  return std::nullopt;
}

// The sandbox of the executor that ran `taskId`, from the agent's /state.
std::optional<std::string> sandboxOf(const std::string& agent, const std::string& frameworkId,
                                     const std::string& taskId) {
  auto state = getJson(agent + "/state");
  if (!state) return std::nullopt;
  for (const char* frameworks : {"frameworks", "completed_frameworks"}) {
    for (const Json::Value& framework : (*state)[frameworks]) {
      if (framework["id"].asString() != frameworkId) continue;
      for (const char* executors : {"executors", "completed_executors"}) {
        for (const Json::Value& executor : framework[executors]) {
          for (const char* tasks : {"tasks", "queued_tasks", "completed_tasks"}) {
            for (const Json::Value& task : executor[tasks]) {
              if (task["id"].asString() == taskId) return executor["directory"].asString();
            }
          }
        }
      }
    }
  }
  return std::nullopt;
}

// Reads a sandbox file from `offset` on; advances `offset`.
std::string readFrom(const std::string& agent, const std::string& path, std::int64_t& offset) {
  std::string url = agent + "/files/read?path=" + path + "&offset=" + std::to_string(offset) + "&length=1048576";
  auto chunk = getJson(url);
  if (!chunk) return "";
  std::string data = (*chunk)["data"].asString();
  offset += static_cast<std::int64_t>(data.size());
  return data;
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

bool terminal(v1::TaskState state) {
  switch (state) {
    case v1::TASK_FINISHED:
    case v1::TASK_FAILED:
    case v1::TASK_KILLED:
    case v1::TASK_ERROR:
    case v1::TASK_LOST:
    case v1::TASK_DROPPED:
    case v1::TASK_GONE:
    case v1::TASK_GONE_BY_OPERATOR: return true;
    default: return false;
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
  flags::FlagSet set("mantle run", "Runs COMMAND as a task on the cluster, prints its output and exits with its "
                                   "exit code:\n  mantle run [options] -- COMMAND [ARGS...]");
  set.addString("master", &f.master, "The master, host:port or zk://hosts/path (or MANTLE_MASTER).");
  set.addString("name", &f.name, "The task's and framework's name (default: mantle-run).");
  set.addString("resources", &f.resources, "What the task needs, in Mesos' text syntax.");
  set.addString("role", &f.role, "The role to run in.");
  set.addString("user", &f.user, "The user to run as (default: yours).");
  set.addString("env", &f.env, "Environment variables for the task: NAME=VALUE;NAME=VALUE.");
  set.addDuration("timeout", &f.timeout, "Give up (and kill the task) after this long; 0 waits forever.");
  set.addBool("follow", &f.follow, "Stream the task's stdout and stderr while it runs.");

  auto dashes = std::find(args.begin(), args.end(), "--");
  std::vector<const char*> argv = {"mantle run"};
  for (auto it = args.begin(); it != dashes; ++it) argv.push_back(it->c_str());
  if (Status s = set.parse(static_cast<int>(argv.size()), argv.data()); !s.ok()) {
    std::cerr << "mantle: error: " << s.error().message << "\n";
    return 2;
  }
  if (set.helpRequested()) {
    std::cout << set.usage();
    return 0;
  }
  std::string command;
  if (dashes != args.end()) {
    for (auto it = dashes + 1; it != args.end(); ++it) command += (command.empty() ? "" : " ") + *it;
  }
  if (command.empty()) {
    std::cerr << "mantle: error: no command to run (mantle run [options] -- COMMAND)\n";
    return 2;
  }
  Result<resources::Resources> wanted = resources::Resources::parse(f.resources);
  if (!wanted.ok()) {
    std::cerr << "mantle: error: --resources: " << wanted.error().message << "\n";
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

  if (zookeeper::isZooKeeperMaster(f.master)) {
    // One look at ZooKeeper for the leader, then plain HTTP to it.
    Result<zookeeper::ZkUrl> url = zookeeper::parseZkUrl(f.master);
    if (!url.ok()) {
      std::cerr << "mantle: error: --master: " << url.error().message << "\n";
      return 2;
    }
    auto leader = zookeeper::detectLeader(*url, std::chrono::seconds(10));
    if (!leader.ok() || !*leader) {
      std::cerr << "mantle: error: no leading master in ZooKeeper at " << url->redacted() << ": "
                << (leader.ok() ? "no master is contending" : leader.error().message) << "\n";
      return 1;
    }
    f.master = zookeeper::masterBaseUrl(**leader).substr(std::string("http://").size());
  }
  scheduler::SchedulerOptions options;
  options.master = f.master;
  options.frameworkInfo.set_user(f.user);
  options.frameworkInfo.set_name(f.name);
  options.frameworkInfo.add_roles(f.role);
  options.frameworkInfo.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  options.reconnect = false;
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
      v1::TaskInfo task = scheduler::commandTask(taskId, offer, command, f.resources);
      task.set_name(f.name);
      if (!f.env.empty()) {
        std::stringstream in(f.env);
        for (std::string pair; std::getline(in, pair, ';');) {
          std::size_t eq = pair.find('=');
          auto* var = task.mutable_command()->mutable_environment()->add_variables();
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
    progress(v1::TaskState_Name(status.state()) + (status.message().empty() ? "" : ": " + status.message()));
    if (terminal(status.state())) final = status;
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
      std::string out = readFrom(agent, sandbox + "/stdout", outOffset);
      std::string err = readFrom(agent, sandbox + "/stderr", errOffset);
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
    if (f.follow && last && last->has_agent_id() && client->frameworkId()) {
      lock.unlock();
      if (agent.empty()) agent = agentUrl(f.master, last->agent_id().value()).value_or("");
      if (!agent.empty() && sandbox.empty()) sandbox = sandboxOf(agent, client->frameworkId()->value(), taskId).value_or("");
      follow(false);
      lock.lock();
    }
  }
  std::optional<v1::TaskStatus> result = final;
  std::string why = failure;
  std::optional<v1::FrameworkID> frameworkId = client->frameworkId();
  lock.unlock();
  progress("");
  if (result && frameworkId && result->has_agent_id()) {
    if (agent.empty()) agent = agentUrl(f.master, result->agent_id().value()).value_or("");
    if (!agent.empty() && sandbox.empty()) sandbox = sandboxOf(agent, frameworkId->value(), taskId).value_or("");
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
