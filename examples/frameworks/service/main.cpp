// mantle-example-service: keeps N instances of a command running on a
// Mantle (or Mesos) cluster. Failed or lost instances are replaced; an HTTP
// call changes N; the framework id is checkpointed to a file so that a
// restarted service fails over to its old framework and keeps its tasks.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "flags/flags.hpp"
#include "http/server.hpp"
#include "resources/resources.hpp"
#include "scheduler/scheduler.hpp"
#include "wire/task_state.hpp"

namespace {

namespace v1 = ::mesos::v1;
using mantle::Result;
using mantle::Status;

struct ServiceFlags {
  std::string master = "127.0.0.1:5050";
  std::string name = "service";
  std::string command;
  std::int64_t instances = 1;
  std::string resources = "cpus:0.1;mem:32";
  std::int64_t ports = 0;
  std::string role = "*";
  std::string user;
  std::string stateFile = "service-state.json";
  double failoverTimeout = 600;
  std::string httpAddress = "127.0.0.1";
  std::int64_t httpPort = 0;
};

// What survives a restart: the framework id and the ids of launched tasks.
struct Checkpoint {
  std::string frameworkId;
  std::vector<std::string> tasks;
};

Result<Checkpoint> loadCheckpoint(const std::string& path) {
  Checkpoint checkpoint;
  std::ifstream in(path);
  if (!in) return checkpoint;  // a first start
  Json::Value root;
  std::string errors;
  if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, &errors)) {
    return mantle::invalidArgument(path + ": " + errors);
  }
  checkpoint.frameworkId = root["framework_id"].asString();
  for (const Json::Value& task : root["tasks"]) checkpoint.tasks.push_back(task.asString());
  return checkpoint;
}

Status saveCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
  Json::Value root;
  root["framework_id"] = checkpoint.frameworkId;
  root["tasks"] = Json::Value(Json::arrayValue);
  for (const std::string& task : checkpoint.tasks) root["tasks"].append(task);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << Json::writeString(Json::StreamWriterBuilder(), root) << "\n";
    if (!out.flush()) return mantle::internalError("cannot write " + temporary);
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return mantle::internalError("cannot rename " + temporary + ": " + error.message());
  return {};
}

// The `count` lowest ports of `offered`'s "ports" ranges; nothing when it has
// fewer.
std::optional<std::vector<std::uint64_t>> pickPorts(const mantle::resources::Resources& offered, std::int64_t count) {
  std::vector<std::uint64_t> picked;
  for (const auto& [begin, end] : offered.ranges("ports")) {
    for (std::uint64_t port = begin; port <= end && static_cast<std::int64_t>(picked.size()) < count; ++port) {
      picked.push_back(port);
    }
  }
  if (static_cast<std::int64_t>(picked.size()) < count) return std::nullopt;
  return picked;
}

// Mesos' text form of single ports: "ports:[31000-31000,31002-31002]".
std::string portsText(const std::vector<std::uint64_t>& ports) {
  std::string text = "ports:[";
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(ports[i]) + "-" + std::to_string(ports[i]);
  }
  return text + "]";
}

class Service {
 public:
  Service(ServiceFlags flags, Checkpoint checkpoint, mantle::resources::Resources perTask)
      : flags_(std::move(flags)), checkpoint_(std::move(checkpoint)), perTask_(std::move(perTask)) {
    wanted_ = static_cast<int>(flags_.instances);
    // Tasks of an earlier run count as instances until the master says
    // otherwise, so a restart does not launch too many.
    for (const std::string& id : checkpoint_.tasks) tasks_[id] = Instance{"TASK_UNKNOWN (reconciling)", "", false};
  }

  Status start() {
    mantle::scheduler::SchedulerOptions options;
    options.master = flags_.master;
    options.frameworkInfo.set_user(flags_.user);
    options.frameworkInfo.set_name(flags_.name);
    options.frameworkInfo.add_roles(flags_.role);
    options.frameworkInfo.set_failover_timeout(flags_.failoverTimeout);
    options.frameworkInfo.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
    if (!checkpoint_.frameworkId.empty()) options.frameworkInfo.mutable_id()->set_value(checkpoint_.frameworkId);
    mantle::scheduler::SchedulerCallbacks callbacks;
    callbacks.subscribed = [this](const v1::scheduler::Event::Subscribed& subscribed) { onSubscribed(subscribed); };
    callbacks.offers = [this](const std::vector<v1::Offer>& offers) { onOffers(offers); };
    callbacks.update = [this](const v1::TaskStatus& status) { onUpdate(status); };
    callbacks.error = [](const std::string& message) { std::cerr << "service: the master says: " << message << "\n"; };
    client_ = std::make_unique<mantle::scheduler::Scheduler>(options, callbacks);
    client_->start();
    return {};
  }

  void stop() {
    if (client_) client_->stop();
  }

  // The HTTP API: GET /instances, POST /scale?instances=N, GET /health.
  void handle(const mantle::http::Request& request, const mantle::http::Responder& responder) {
    if (request.path == "/health") return responder.respond(mantle::http::Response::text(200, ""));
    if (request.path == "/instances" && request.method == "GET") {
      return responder.respond(mantle::http::Response::json(200, describe()));
    }
    if (request.path == "/scale" && (request.method == "POST" || request.method == "PUT")) {
      const std::string value = request.queryParam("instances");
      if (value.empty() || value.size() > 6 || value.find_first_not_of("0123456789") != std::string::npos) {
        return responder.respond(mantle::http::Response::text(400, "expected ?instances=N (0 or more)\n"));
      }
      scale(std::stoi(value));
      return responder.respond(mantle::http::Response::json(200, describe()));
    }
    responder.respond(mantle::http::Response::text(404, "GET /instances, POST /scale?instances=N, GET /health\n"));
  }

 private:
  struct Instance {
    std::string state;
    std::string agentId;
    bool running = false;
  };

  std::string describe() {
    std::lock_guard<std::mutex> lock(mutex_);
    Json::Value out;
    out["framework_id"] = checkpoint_.frameworkId;
    out["instances"] = wanted_;
    int running = 0;
    out["tasks"] = Json::Value(Json::arrayValue);
    for (const auto& [id, instance] : tasks_) {
      Json::Value task;
      task["id"] = id;
      task["state"] = instance.state;
      task["agent_id"] = instance.agentId;
      out["tasks"].append(task);
      running += instance.running ? 1 : 0;
    }
    out["running"] = running;
    return Json::writeString(Json::StreamWriterBuilder(), out);
  }

  void scale(int instances) {
    std::vector<std::pair<std::string, std::string>> extra;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::cout << "service: scaling from " << wanted_ << " to " << instances << " instances" << std::endl;
      wanted_ = instances;
      // Kill the newest instances beyond N (ids sort by launch order).
      int excess = static_cast<int>(tasks_.size()) - wanted_;
      for (auto it = tasks_.rbegin(); it != tasks_.rend() && excess > 0; ++it, --excess) {
        extra.emplace_back(it->first, it->second.agentId);
      }
    }
    for (const auto& [id, agent] : extra) {
      v1::TaskID taskId;
      taskId.set_value(id);
      std::optional<v1::AgentID> agentId;
      if (!agent.empty()) {
        agentId.emplace();
        agentId->set_value(agent);
      }
      (void)client_->kill(taskId, agentId);
    }
    (void)client_->revive();
  }

  void onSubscribed(const v1::scheduler::Event::Subscribed& subscribed) {
    std::vector<std::pair<v1::TaskID, std::optional<v1::AgentID>>> known;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const bool failover = checkpoint_.frameworkId == subscribed.framework_id().value();
      std::cout << "service: subscribed as " << subscribed.framework_id().value() << (failover ? " (failed over)" : "")
                << std::endl;
      checkpoint_.frameworkId = subscribed.framework_id().value();
      if (Status s = saveCheckpoint(flags_.stateFile, checkpoint_); !s.ok()) {
        std::cerr << "service: " << s.error().message << "\n";
      }
      for (const auto& [id, instance] : tasks_) {
        v1::TaskID taskId;
        taskId.set_value(id);
        known.emplace_back(taskId, std::nullopt);
      }
    }
    // Explicit reconciliation answers every task we launched (TASK_LOST for
    // those the master does not know); implicit finds any we did not record.
    if (!known.empty()) (void)client_->reconcile(known);
    (void)client_->reconcile({});
  }

  void onOffers(const std::vector<v1::Offer>& offers) {
    for (const v1::Offer& offer : offers) {
      std::vector<v1::TaskInfo> launches;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto offered = mantle::resources::Resources::from(offer.resources());
        mantle::resources::Resources left =
            offered.ok() ? offered->withoutAllocation().unreserved() : mantle::resources::Resources();
        const bool reconciling = std::any_of(tasks_.begin(), tasks_.end(), [](const auto& entry) {
          return entry.second.state.rfind("TASK_UNKNOWN", 0) == 0;
        });
        while (!reconciling && static_cast<int>(tasks_.size()) < wanted_ && left.contains(perTask_)) {
          // Each instance gets --ports host ports of its own, named in its
          // environment as PORT0, PORT1, ... (and PORT, the first one).
          std::string resources = flags_.resources;
          std::vector<std::uint64_t> ports;
          if (flags_.ports > 0) {
            auto picked = pickPorts(left, flags_.ports);
            if (!picked) break;
            ports = *picked;
            resources += ";" + portsText(ports);
          }
          auto wanted = mantle::resources::Resources::parse(resources);
          if (!wanted.ok()) break;
          auto rest = left.minus(*wanted);
          if (!rest.ok()) break;
          left = *rest;
          const std::string id = nextTaskId();
          v1::TaskInfo task = mantle::scheduler::commandTask(id, offer, flags_.command, resources);
          task.set_name(flags_.name);
          for (std::size_t i = 0; i < ports.size(); ++i) {
            auto* variable = task.mutable_command()->mutable_environment()->add_variables();
            variable->set_name("PORT" + std::to_string(i));
            variable->set_value(std::to_string(ports[i]));
            if (i == 0) {
              auto* first = task.mutable_command()->mutable_environment()->add_variables();
              first->set_name("PORT");
              first->set_value(std::to_string(ports[i]));
            }
          }
          launches.push_back(task);
          tasks_[id] = Instance{"TASK_STAGING", offer.agent_id().value(), false};
          checkpoint_.tasks.push_back(id);
        }
        if (!launches.empty()) {
          if (Status s = saveCheckpoint(flags_.stateFile, checkpoint_); !s.ok()) {
            std::cerr << "service: " << s.error().message << "\n";
          }
        }
      }
      if (launches.empty()) {
        (void)client_->decline({offer.id()}, 5);
        continue;
      }
      for (const auto& task : launches) {
        std::cout << "service: launching " << task.task_id().value() << " on " << offer.hostname() << std::endl;
      }
      if (Status s = client_->launch(offer, launches, 1); !s.ok()) {
        std::cerr << "service: launch failed: " << s.error().message << "\n";
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& task : launches) forget(task.task_id().value());
      }
    }
  }

  void onUpdate(const v1::TaskStatus& status) {
    bool replace = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const std::string id = status.task_id().value();
      auto it = tasks_.find(id);
      if (mantle::wire::isTerminal(status.state()) || status.state() == v1::TASK_UNKNOWN) {
        if (it == tasks_.end()) return;
        std::cout << "service: " << id << " " << v1::TaskState_Name(status.state())
                  << (status.message().empty() ? "" : ": " + status.message()) << std::endl;
        forget(id);
        replace = static_cast<int>(tasks_.size()) < wanted_;
      } else {
        if (it == tasks_.end()) {
          // A task of ours we had not recorded (implicit reconciliation).
          if (id.rfind(flags_.name + "-", 0) != 0) return;
          it = tasks_.emplace(id, Instance{}).first;
          checkpoint_.tasks.push_back(id);
        }
        it->second.state = v1::TaskState_Name(status.state());
        it->second.agentId = status.agent_id().value();
        it->second.running = status.state() == v1::TASK_RUNNING;
        // Beyond N after a restart or a scale-down that raced a launch.
        replace = false;
      }
    }
    if (replace) {
      std::cout << "service: replacing it" << std::endl;
      (void)client_->revive();
    }
  }

  // Under mutex_.
  void forget(const std::string& id) {
    tasks_.erase(id);
    std::erase(checkpoint_.tasks, id);
    (void)saveCheckpoint(flags_.stateFile, checkpoint_);
  }

  // Ids sort in launch order: <name>-<seconds since epoch, 11 digits>-<counter>.
  std::string nextTaskId() {
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    char stamp[32];
    std::snprintf(stamp, sizeof(stamp), "%011lld-%04d", static_cast<long long>(seconds), ++counter_ % 10000);
    return flags_.name + "-" + stamp;
  }

  ServiceFlags flags_;
  Checkpoint checkpoint_;
  mantle::resources::Resources perTask_;
  std::unique_ptr<mantle::scheduler::Scheduler> client_;
  std::mutex mutex_;
  int wanted_ = 0;
  int counter_ = 0;
  std::map<std::string, Instance> tasks_;
};

}  // namespace

int main(int argc, char** argv) {
  ServiceFlags f;
  mantle::flags::FlagSet set("mantle-example-service",
                             "Keeps --instances copies of --command running; scale with "
                             "POST /scale?instances=N.");
  set.addString("master", &f.master, "The master, host:port (or MANTLE_MASTER).");
  set.addString("name", &f.name, "The framework's name and its tasks' id prefix.");
  set.addString("command", &f.command, "The shell command each instance runs.");
  set.addInt("instances", &f.instances, "How many instances to keep running (until scaled).");
  set.addString("resources", &f.resources, "What each instance needs, in Mesos' text syntax.");
  set.addInt("ports", &f.ports,
             "Host ports each instance gets from its offer, in its environment as PORT0, PORT1, ... (and PORT).");
  set.addString("role", &f.role, "The role to run in.");
  set.addString("user", &f.user, "The user to run as (default: yours).");
  set.addString("state_file", &f.stateFile, "Where the framework id and task ids are checkpointed.");
  set.addDuration("failover_timeout", &f.failoverTimeout,
                  "How long the master keeps the tasks while the service is away.");
  set.addString("http_address", &f.httpAddress, "The address of the HTTP API.");
  set.addInt("http_port", &f.httpPort, "The port of the HTTP API (0: any free port).");
  if (Status s = set.parse(argc, argv); !s.ok()) {
    std::cerr << "mantle-example-service: error: " << s.error().message << "\n";
    return 2;
  }
  if (set.helpRequested()) {
    std::cout << set.usage();
    return 0;
  }
  if (f.command.empty() || f.instances < 0 || f.ports < 0) {
    std::cerr << "mantle-example-service: error: --command is required; --instances and --ports may not be "
                 "negative\n";
    return 2;
  }
  auto perTask = mantle::resources::Resources::parse(f.resources);
  if (!perTask.ok()) {
    std::cerr << "mantle-example-service: error: --resources: " << perTask.error().message << "\n";
    return 2;
  }
  if (f.user.empty()) {
    const char* user = std::getenv("USER");
    f.user = user != nullptr ? user : "root";
  }
  auto checkpoint = loadCheckpoint(f.stateFile);
  if (!checkpoint.ok()) {
    std::cerr << "mantle-example-service: error: " << checkpoint.error().message << "\n";
    return 1;
  }
  Service service(f, *checkpoint, *perTask);

  boost::asio::io_context io;
  mantle::http::Server server(io, [&](const mantle::http::Request& request, const mantle::http::Responder& responder) {
    service.handle(request, responder);
  });
  auto port = server.listen(f.httpAddress, static_cast<std::uint16_t>(f.httpPort));
  if (!port.ok()) {
    std::cerr << "mantle-example-service: error: HTTP API: " << port.error().message << "\n";
    return 1;
  }
  std::cout << "service: HTTP API on http://" << f.httpAddress << ":" << *port << std::endl;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const auto&, int) {
    server.stop();
    io.stop();
  });
  (void)service.start();
  io.run();
  // A stopped service leaves its tasks to the master for --failover_timeout;
  // start it again with the same --state_file to take them back.
  service.stop();
  return 0;
}
