#include "services/services.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <utility>

#include <json/reader.h>
#include <json/writer.h>
#include <boost/asio/post.hpp>

#include "mantle/common/strict_json.hpp"
#include "mantle/common/uuid.hpp"
#include "resources/resources.hpp"
#include "services/launch.hpp"
#include "wire/host_port.hpp"
#include "wire/task_state.hpp"

namespace mantle::services {

namespace v1 = ::mesos::v1;

namespace {

constexpr std::int64_t kServicePortMin = 10000;
constexpr std::int64_t kServicePortMax = 20000;
// Explicit reconciliation of tasks the master has not answered for.
constexpr double kReconcileSeconds = 30;
constexpr double kHeartbeatSeconds = 15;

double steadyNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double wallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Marathon's timestamps: "2026-12-06T07:30:00.123Z".
std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", text, static_cast<int>(millis));
  return out;
}

std::string write(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

http::Response jsonResponse(int status, const Json::Value& body) {
  return http::Response::json(status, write(body));
}

http::Response message(int status, const std::string& text) {
  Json::Value body;
  body["message"] = text;
  return jsonResponse(status, body);
}

// "/group/web" -> "group_web", the prefix of its task ids.
std::string taskIdPrefix(const std::string& appId) {
  std::string prefix = appId.substr(1);
  std::replace(prefix.begin(), prefix.end(), '/', '_');
  return prefix;
}

bool forced(const http::Request& request) {
  return request.queryParam("force") == "true";
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Marathon's ipAddresses of a task: [{"ipAddress", "protocol": IPv4|IPv6}].
Json::Value ipAddressesJson(const std::vector<std::string>& addresses) {
  Json::Value out(Json::arrayValue);
  for (const std::string& address : addresses) {
    Json::Value item;
    item["ipAddress"] = address;
    item["protocol"] = address.find(':') != std::string::npos ? "IPv6" : "IPv4";
    out.append(item);
  }
  return out;
}

using TaskRef = std::pair<v1::TaskID, std::optional<v1::AgentID>>;

// A task as kill and reconcile calls name it; the agent when known.
TaskRef taskRef(const std::string& id, const std::string& agent) {
  TaskRef ref;
  ref.first.set_value(id);
  if (!agent.empty()) {
    ref.second.emplace();
    ref.second->set_value(agent);
  }
  return ref;
}

}  // namespace

Outbox::Outbox() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  });
}

Outbox::~Outbox() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Outbox::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

Services::Services(boost::asio::io_context& io, ServicesOptions options,
                   std::unique_ptr<zookeeper::DocumentStore> store)
    : io_(io), options_(std::move(options)), store_(std::move(store)), timer_(io) {}

Services::~Services() {
  stop();
}

Status Services::start() {
  Result<std::optional<std::string>> text = store_->load();
  if (!text.ok()) return text.error().withContext("loading the state from " + store_->describe());
  if (*text && !(*text)->empty()) {
    if (Status s = loadState(**text); !s.ok()) return s;
  }
  scheduler::SchedulerOptions options;
  options.master = options_.master;
  options.frameworkInfo.set_user(options_.user);
  options.frameworkInfo.set_name(options_.name);
  options.frameworkInfo.add_roles(options_.role);
  options.frameworkInfo.set_failover_timeout(options_.failoverTimeoutSeconds);
  options.frameworkInfo.set_checkpoint(true);
  options.frameworkInfo.set_hostname(wire::hostOf(options_.address));
  options.frameworkInfo.set_webui_url("http://" + options_.address);
  options.frameworkInfo.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  options.frameworkInfo.add_capabilities()->set_type(v1::FrameworkInfo::Capability::PARTITION_AWARE);
  if (!options_.principal.empty()) options.frameworkInfo.set_principal(options_.principal);
  options.authorization = options_.authorization;
  if (!frameworkId_.empty()) options.frameworkInfo.mutable_id()->set_value(frameworkId_);
  scheduler::SchedulerCallbacks callbacks;
  callbacks.subscribed = [this](const v1::scheduler::Event::Subscribed& subscribed) {
    boost::asio::post(io_, [this, id = subscribed.framework_id().value()] { onSubscribed(id); });
  };
  callbacks.offers = [this](const std::vector<v1::Offer>& offers) {
    boost::asio::post(io_, [this, offers] { onOffers(offers); });
  };
  callbacks.update = [this](const v1::TaskStatus& status) {
    boost::asio::post(io_, [this, status] { onUpdate(status); });
  };
  callbacks.error = [](const std::string& text) { std::cerr << "mantle-services: the master says: " << text << "\n"; };
  callbacks.disconnected = [this](const std::string& why) {
    boost::asio::post(io_, [this, why] {
      if (!std::exchange(subscribed_, false)) return;
      std::cerr << "mantle-services: disconnected from the master: " << why << "\n";
    });
  };
  client_ = std::make_unique<scheduler::Scheduler>(options, callbacks);
  client_->start();
  started_ = true;
  std::cout << "mantle-services: leading with " << apps_.size() << " apps and " << tasks_.size() << " tasks"
            << std::endl;
  tick();
  return {};
}

void Services::stop() {
  timer_.cancel();
  for (Subscriber& subscriber : subscribers_) subscriber.stream->close();
  subscribers_.clear();
  // The client stays: calls still queued in the outbox fail on the stopped
  // client instead of finding none.
  if (client_) client_->stop();
}

// ---------------------------------------------------------------------------
// Scheduling

void Services::onSubscribed(const std::string& frameworkId) {
  const bool failover = frameworkId == frameworkId_;
  std::cout << "mantle-services: subscribed as framework " << frameworkId << (failover ? " (failed over)" : "")
            << std::endl;
  frameworkId_ = frameworkId;
  subscribed_ = true;
  reviveWanted_ = true;
  // Explicit reconciliation answers every known task (TASK_LOST or
  // TASK_UNKNOWN for those the master does not have); implicit finds tasks
  // launched but not recorded.
  std::vector<TaskRef> known;
  for (auto& [id, task] : tasks_) {
    task.reconciling = true;
    known.push_back(taskRef(id, task.agentId));
  }
  lastReconcile_ = steadyNow();
  persist();
  outbox_.post([this, known] {
    if (!known.empty()) (void)client_->reconcile(known);
    (void)client_->reconcile({});
  });
}

bool Services::healthyTask(const Task& task) const {
  if (task.state != "TASK_RUNNING") return false;
  return !task.healthChecked || task.healthy == true;
}

std::vector<const Services::Task*> Services::tasksOf(const std::string& appId) const {
  std::vector<const Task*> out;
  for (const auto& [id, task] : tasks_) {
    if (task.appId == appId) out.push_back(&task);
  }
  return out;
}

Services::Plan Services::plan(const App& app) const {
  Plan plan;
  std::vector<const Task*> current, old;
  int present = 0;  // every task still holding resources, killed ones included
  int healthy = 0;
  for (const Task* task : tasksOf(app.id)) {
    ++present;
    if (task->killing) continue;
    (task->version == app.lastConfigChangeAt ? current : old).push_back(task);
    if (healthyTask(*task)) ++healthy;
  }
  const int wanted = static_cast<int>(app.instances);
  // Kill order: tasks not running (or unhealthy) first, then by killSelection.
  auto killOrder = [&](std::vector<const Task*> tasks) {
    const bool youngest = app.killSelection != "OLDEST_FIRST";
    std::sort(tasks.begin(), tasks.end(), [&](const Task* a, const Task* b) {
      const bool ha = healthyTask(*a), hb = healthyTask(*b);
      if (ha != hb) return !ha;
      return youngest ? a->stagedSeconds > b->stagedSeconds : a->stagedSeconds < b->stagedSeconds;
    });
    return tasks;
  };
  if (static_cast<int>(current.size()) > wanted) {
    auto ordered = killOrder(current);
    for (int i = 0; i < static_cast<int>(current.size()) - wanted; ++i) {
      plan.kills.push_back(ordered[i]->id);
      if (healthyTask(*ordered[i])) --healthy;
    }
  }
  const int currentKept = std::min(static_cast<int>(current.size()), wanted);
  if (!old.empty()) {
    // A rolling replacement: at least minimumHealthCapacity of the instances
    // stay healthy, at most maximumOverCapacity more run.
    const int minHealthy = static_cast<int>(std::ceil(wanted * app.upgradeStrategy.minimumHealthCapacity - 1e-9));
    for (const Task* task : killOrder(old)) {
      const bool isHealthy = healthyTask(*task);
      if (isHealthy && healthy - 1 < minHealthy) break;
      plan.kills.push_back(task->id);
      if (isHealthy) --healthy;
    }
  }
  int maxPresent = wanted + static_cast<int>(std::floor(wanted * app.upgradeStrategy.maximumOverCapacity + 1e-9));
  if (!old.empty() && maxPresent <= wanted &&
      static_cast<int>(std::ceil(wanted * app.upgradeStrategy.minimumHealthCapacity - 1e-9)) >= wanted) {
    maxPresent = wanted + 1;  // no room either way: one extra instance lets the upgrade progress
  }
  plan.launches = std::max(0, std::min(wanted - currentKept, old.empty() ? wanted : maxPresent - present));
  if (old.empty()) plan.launches = std::max(0, wanted - currentKept);
  return plan;
}

void Services::killTask(Task& task) {
  if (task.killing) return;
  task.killing = true;
  std::cout << "mantle-services: killing " << task.id << std::endl;
  outbox_.post([this, ref = taskRef(task.id, task.agentId)] { (void)client_->kill(ref.first, ref.second); });
}

void Services::converge() {
  int launches = 0;
  for (const auto& [id, app] : apps_) {
    Plan wanted = plan(app);
    for (const std::string& taskId : wanted.kills) killTask(tasks_.at(taskId));
    launches += wanted.launches;
  }
  // Tasks of removed apps.
  for (auto& [id, task] : tasks_) {
    if (apps_.count(task.appId) == 0) killTask(task);
  }
  // Deployments that reached their goal.
  std::vector<std::string> done;
  for (const auto& [id, deployment] : deployments_) {
    auto app = apps_.find(deployment.appId);
    if (app == apps_.end()) {
      if (tasksOf(deployment.appId).empty()) done.push_back(id);
      continue;
    }
    int ready = 0;
    bool others = false;
    for (const Task* task : tasksOf(deployment.appId)) {
      if (task->version == app->second.lastConfigChangeAt && !task->killing && healthyTask(*task)) {
        ++ready;
      } else {
        others = true;
      }
    }
    if (!others && ready == app->second.instances) done.push_back(id);
  }
  for (const std::string& id : done) finishDeployment(id, true);
  if (launches > 0 && reviveWanted_ && subscribed_) {
    reviveWanted_ = false;
    outbox_.post([this] { (void)client_->revive(); });
  }
}

void Services::assignServicePorts(App& app, const App* before) {
  std::set<std::int64_t> used;
  for (const auto& [id, other] : apps_) {
    if (id == app.id) continue;
    for (std::int64_t port : servicePortsOf(other)) used.insert(port);
  }
  const std::vector<std::int64_t*> slots = servicePortSlots(app);
  for (const std::int64_t* port : slots) used.insert(*port);
  const std::vector<std::int64_t> previous = before != nullptr ? servicePortsOf(*before) : std::vector<std::int64_t>();
  std::int64_t next = kServicePortMin;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::int64_t& port = *slots[i];
    if (port != 0) continue;
    if (i < previous.size() && used.count(previous[i]) == 0) {
      port = previous[i];
    } else {
      while (next <= kServicePortMax && used.count(next) != 0) ++next;
      port = next;
    }
    used.insert(port);
  }
}

std::optional<v1::TaskInfo> Services::buildTask(const App& app, const v1::Offer& offer,
                                                const resources::Resources& left, const Placement& placement,
                                                resources::Resources* used, Task* record) {
  std::string text = "cpus:" + number(app.cpus) + ";mem:" + number(app.mem);
  if (app.disk > 0) text += ";disk:" + number(app.disk);
  if (app.gpus > 0) text += ";gpus:" + std::to_string(app.gpus);
  // Host ports: the service ports themselves with requirePorts, a mapping's
  // fixed hostPort, else any free ones of the offer.
  const std::optional<TaskPorts> taskPorts = allocatePorts(app, left.ranges("ports"));
  if (!taskPorts) return std::nullopt;
  const std::vector<std::uint64_t> ports = taskPorts->hostPortList();
  if (!ports.empty()) {
    text += ";ports:[";
    for (std::size_t i = 0; i < ports.size(); ++i) {
      text += (i > 0 ? "," : "") + std::to_string(ports[i]) + "-" + std::to_string(ports[i]);
    }
    text += "]";
  }
  Result<resources::Resources> wanted = resources::Resources::parse(text);
  if (!wanted.ok() || !left.contains(*wanted)) return std::nullopt;
  *used = *wanted;

  const std::string taskId = taskIdPrefix(app.id) + "." + uuid::randomText();
  v1::TaskInfo task = scheduler::commandTask(taskId, offer, app.cmd, text);
  task.set_name(app.id.substr(1));
  v1::CommandInfo* command = task.mutable_command();
  const bool image = app.container && !app.container->image.empty();
  if (!app.args.empty()) {
    // As Marathon: argv without a shell; in an image the arguments follow
    // its entrypoint.
    command->set_shell(false);
    if (image) {
      command->clear_value();
    } else {
      command->set_value(app.args[0]);
    }
    for (const std::string& arg : app.args) command->add_arguments(arg);
  } else if (app.cmd.empty()) {
    // The image's own entrypoint and command.
    command->set_shell(false);
    command->clear_value();
  }
  if (app.container) {
    *task.mutable_container() = containerInfoOf(app, options_.mesosBridgeName, *taskPorts);
  }
  if (!app.user.empty()) command->set_user(app.user);
  auto setEnv = [&](const std::string& name, const std::string& value) {
    auto* variable = command->mutable_environment()->add_variables();
    variable->set_name(name);
    variable->set_value(value);
  };
  for (const auto& [name, value] : app.env) setEnv(name, value);
  addSecretEnvironment(app, command->mutable_environment());
  for (const auto& [name, value] : portEnvironment(app, *taskPorts)) setEnv(name, value);
  setEnv("HOST", offer.hostname());
  setEnv("MARATHON_APP_ID", app.id);
  setEnv("MARATHON_APP_VERSION", app.version);
  setEnv("MESOS_TASK_ID", taskId);
  setEnv("MARATHON_APP_RESOURCE_CPUS", number(app.cpus));
  setEnv("MARATHON_APP_RESOURCE_MEM", number(app.mem));
  setEnv("MARATHON_APP_RESOURCE_DISK", number(app.disk));
  setEnv("MARATHON_APP_RESOURCE_GPUS", std::to_string(app.gpus));
  std::string labelNames;
  for (const auto& [name, value] : app.labels) {
    labelNames += (labelNames.empty() ? "" : " ") + envName(name);
    setEnv("MARATHON_APP_LABEL_" + envName(name), value);
    v1::Label* label = task.mutable_labels()->add_labels();
    label->set_key(name);
    label->set_value(value);
  }
  setEnv("MARATHON_APP_LABELS", labelNames);
  // As Marathon does: the host ports with their names, for service discovery
  // (mantle-dns' SRV records, mantle-lb following the master).
  *task.mutable_discovery() = discoveryOf(app, taskIdPrefix(app.id), *taskPorts);
  if (app.taskKillGracePeriodSeconds) {
    task.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(
        static_cast<std::int64_t>(*app.taskKillGracePeriodSeconds * 1e9));
  }
  if (!app.healthChecks.empty()) {
    const HealthCheckDefinition& check = app.healthChecks.front();
    v1::HealthCheck* health = task.mutable_health_check();
    health->set_delay_seconds(check.delaySeconds);
    health->set_interval_seconds(check.intervalSeconds);
    health->set_timeout_seconds(check.timeoutSeconds);
    health->set_grace_period_seconds(check.gracePeriodSeconds);
    health->set_consecutive_failures(
        check.maxConsecutiveFailures == 0 ? UINT32_MAX : static_cast<std::uint32_t>(check.maxConsecutiveFailures));
    // The executor checks from inside the task's network namespace: the
    // port the task listens on.
    const std::uint32_t port = check.port ? static_cast<std::uint32_t>(*check.port)
                                          : static_cast<std::uint32_t>(taskPorts->listen.at(check.portIndex));
    if (check.protocol == "COMMAND") {
      health->set_type(v1::HealthCheck::COMMAND);
      health->mutable_command()->set_value(check.command);
      // The task's environment but its secrets.
      for (const v1::Environment::Variable& variable : command->environment().variables()) {
        if (variable.type() != v1::Environment::Variable::SECRET) {
          *health->mutable_command()->mutable_environment()->add_variables() = variable;
        }
      }
    } else if (check.protocol.find("HTTP") != std::string::npos) {
      health->set_type(v1::HealthCheck::HTTP);
      health->mutable_http()->set_port(port);
      health->mutable_http()->set_path(check.path);
      if (check.protocol.find("HTTPS") != std::string::npos) health->mutable_http()->set_scheme("https");
    } else {
      health->set_type(v1::HealthCheck::TCP);
      health->mutable_tcp()->set_port(port);
    }
  }
  record->id = taskId;
  record->appId = app.id;
  record->version = app.lastConfigChangeAt;
  record->agentId = offer.agent_id().value();
  record->host = offer.hostname();
  record->placement = placement;
  record->ports = ports;
  record->healthChecked = !app.healthChecks.empty();
  record->stagedAt = timestamp();
  record->stagedSeconds = wallNow();
  return task;
}

void Services::onOffers(const std::vector<v1::Offer>& offers) {
  const double now = steadyNow();
  bool anyWanted = false;
  for (const v1::Offer& offer : offers) {
    auto offered = resources::Resources::from(offer.resources());
    resources::Resources left = offered.ok() ? offered->withoutAllocation().unreserved() : resources::Resources();
    const Placement placement = placementOf(offer);
    std::vector<v1::TaskInfo> launches;
    for (const auto& [id, app] : apps_) {
      int wanted = plan(app).launches;
      if (wanted == 0) continue;
      anyWanted = true;
      if (now < backoffs_[id].launchAllowedAt) continue;
      for (; wanted > 0; --wanted) {
        std::vector<Placement> placed;
        for (const Task* task : tasksOf(id)) {
          if (!task->killing) placed.push_back(task->placement);
        }
        std::string why;
        if (!meetsConstraints(app.constraints, placement, placed, &why)) break;
        resources::Resources used;
        Task record;
        std::optional<v1::TaskInfo> task = buildTask(app, offer, left, placement, &used, &record);
        if (!task) break;
        auto rest = left.minus(used);
        if (!rest.ok()) break;
        left = *rest;
        std::cout << "mantle-services: launching " << record.id << " of " << id << " on " << offer.hostname()
                  << std::endl;
        tasks_[record.id] = record;
        launches.push_back(*task);
      }
    }
    if (launches.empty()) {
      outbox_.post([this, id = offer.id(), anyWanted] { (void)client_->decline({id}, anyWanted ? 2 : 10); });
      continue;
    }
    persist();
    outbox_.post([this, offer, launches] {
      if (Status s = client_->launch(offer, launches, 2); !s.ok()) {
        std::cerr << "mantle-services: launch failed: " << s.error().message << "\n";
        // The tasks come back as TASK_LOST/UNKNOWN through reconciliation.
      }
    });
  }
  if (anyWanted) reviveWanted_ = true;
}

void Services::onUpdate(const v1::TaskStatus& status) {
  const std::string id = status.task_id().value();
  const std::string state = v1::TaskState_Name(status.state());
  const bool terminal =
      wire::isTerminal(status.state()) || status.state() == v1::TASK_UNKNOWN || status.state() == v1::TASK_UNREACHABLE;
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    if (terminal) return;
    // Implicit reconciliation found a task we did not record: ours when its
    // id names an app (it is replaced as a task of an unknown version),
    // else it is killed.
    std::string appId;
    for (const auto& [candidate, app] : apps_) {
      if (id.rfind(taskIdPrefix(candidate) + ".", 0) == 0) appId = candidate;
    }
    Task task;
    task.id = id;
    task.appId = appId.empty() ? "/unknown" : appId;
    task.agentId = status.agent_id().value();
    task.state = state;
    task.stagedAt = timestamp();
    task.stagedSeconds = wallNow();
    it = tasks_.emplace(id, task).first;
  }
  Task& task = it->second;
  task.reconciling = false;
  if (status.has_agent_id()) task.agentId = status.agent_id().value();
  // The task's addresses on its container networks, as the agent reports
  // them (Marathon's ipAddresses).
  std::vector<std::string> addresses;
  for (const v1::NetworkInfo& network : status.container_status().network_infos()) {
    for (const v1::NetworkInfo::IPAddress& address : network.ip_addresses()) {
      if (!address.ip_address().empty()) addresses.push_back(address.ip_address());
    }
  }
  if (!addresses.empty()) task.ipAddresses = addresses;
  const bool wasRunning = task.state == "TASK_RUNNING";
  task.state = state;
  if (status.state() == v1::TASK_RUNNING && !wasRunning && task.startedAt.empty()) task.startedAt = timestamp();
  if (status.has_healthy() && (!task.healthy || *task.healthy != status.healthy())) {
    task.healthy = status.healthy();
    const std::string now = timestamp();
    if (status.healthy()) {
      task.health.consecutiveFailures = 0;
      task.health.lastSuccess = now;
      if (task.health.firstSuccess.empty()) task.health.firstSuccess = now;
    } else {
      ++task.health.consecutiveFailures;
      task.health.lastFailure = now;
      task.health.lastFailureCause = status.message();
    }
    Json::Value event;
    event["appId"] = task.appId;
    event["taskId"] = task.id;
    event["instanceId"] = task.id;
    event["version"] = task.version;
    event["alive"] = status.healthy();
    publish("health_status_changed_event", event);
  }
  Json::Value event;
  event["slaveId"] = task.agentId;
  event["taskId"] = id;
  event["taskStatus"] = state;
  event["message"] = status.message();
  event["appId"] = task.appId;
  event["host"] = task.host;
  event["ports"] = Json::Value(Json::arrayValue);
  for (std::uint64_t port : task.ports) event["ports"].append(static_cast<Json::UInt64>(port));
  event["ipAddresses"] = ipAddressesJson(task.ipAddresses);
  event["version"] = task.version;
  publish("status_update_event", event);
  if (terminal) {
    std::cout << "mantle-services: " << id << " " << state << (status.message().empty() ? "" : ": " + status.message())
              << std::endl;
    const bool failed = !task.killing && (status.state() == v1::TASK_FAILED || status.state() == v1::TASK_ERROR ||
                                          status.state() == v1::TASK_KILLED || status.state() == v1::TASK_FINISHED);
    if (failed && apps_.count(task.appId) != 0) {
      // Launch backoff: each failure delays the app's next launch by
      // backoffSeconds * backoffFactor^n, at most maxLaunchDelaySeconds.
      const App& app = apps_.at(task.appId);
      Backoff& backoff = backoffs_[task.appId];
      backoff.delay = backoff.delay == 0 ? app.backoffSeconds
                                         : std::min(backoff.delay * app.backoffFactor, app.maxLaunchDelaySeconds);
      backoff.launchAllowedAt = steadyNow() + backoff.delay;
      Json::Value failure;
      failure["appId"] = task.appId;
      failure["host"] = task.host;
      failure["message"] = status.message();
      failure["state"] = state;
      failure["taskId"] = id;
      failure["timestamp"] = timestamp();
      failure["version"] = task.version;
      failure["slaveId"] = task.agentId;
      lastFailures_[task.appId] = failure;
      if (task.healthy == false) {
        Json::Value kill;
        kill["appId"] = task.appId;
        kill["taskId"] = id;
        kill["instanceId"] = id;
        kill["version"] = task.version;
        kill["reason"] = status.message();
        kill["host"] = task.host;
        kill["slaveId"] = task.agentId;
        publish("unhealthy_instance_kill_event", kill);
      }
    }
    tasks_.erase(it);
    reviveWanted_ = true;
  }
  persist();
  converge();
}

void Services::tick() {
  const double now = steadyNow();
  if (subscribed_) {
    // Tasks the master has not answered for, and kills that did not end
    // their task: ask again.
    std::vector<TaskRef> pending;
    if (now - lastReconcile_ >= kReconcileSeconds) {
      for (auto& [id, task] : tasks_) {
        if (task.reconciling || task.state == "TASK_STAGING") pending.push_back(taskRef(id, task.agentId));
        // A kill that got lost (the agent was away): ask again.
        if (task.killing) {
          task.killing = false;
          killTask(task);
        }
      }
      lastReconcile_ = now;
      if (!pending.empty()) outbox_.post([this, pending] { (void)client_->reconcile(pending); });
    }
    // A backoff that ended: offers may have been declined meanwhile.
    for (auto& [id, backoff] : backoffs_) {
      if (backoff.launchAllowedAt != 0 && now >= backoff.launchAllowedAt) {
        backoff.launchAllowedAt = 0;
        reviveWanted_ = true;
      }
    }
    converge();
  }
  if (now - lastHeartbeat_ >= kHeartbeatSeconds) {
    lastHeartbeat_ = now;
    std::erase_if(subscribers_, [](const Subscriber& subscriber) { return !subscriber.stream->write("\r\n"); });
  }
  timer_.expires_after(std::chrono::milliseconds(static_cast<int>(options_.tickSeconds * 1000)));
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) tick();
  });
}

// ---------------------------------------------------------------------------
// Deployments

std::string Services::deploy(const App& app, std::optional<App> previous, const std::string& action) {
  // A new deployment of the app replaces any under way (force=true).
  for (const std::string& id : deploymentsOf(app.id)) finishDeployment(id, false);
  Deployment deployment;
  deployment.id = uuid::randomText();
  deployment.appId = app.id;
  deployment.version = app.version;
  deployment.action = action;
  deployment.previous = std::move(previous);
  deployments_[deployment.id] = deployment;
  backoffs_.erase(app.id);
  reviveWanted_ = true;
  Json::Value event;
  event["plan"] = deploymentJson(deployment);
  event["currentStep"] = deploymentJson(deployment)["steps"][0];
  publish("deployment_info", event);
  persist();
  converge();
  return deployment.id;
}

std::vector<std::string> Services::deploymentsOf(const std::string& appId) const {
  std::vector<std::string> ids;
  for (const auto& [id, deployment] : deployments_) {
    if (deployment.appId == appId) ids.push_back(id);
  }
  return ids;
}

void Services::finishDeployment(const std::string& id, bool success) {
  auto it = deployments_.find(id);
  if (it == deployments_.end()) return;
  Json::Value event;
  event["id"] = id;
  event["plan"] = deploymentJson(it->second);
  std::cout << "mantle-services: deployment " << id << " of " << it->second.appId
            << (success ? " succeeded" : " stopped") << std::endl;
  if (success && it->second.action == "StopApplication") {
    Json::Value terminated;
    terminated["appId"] = it->second.appId;
    publish("app_terminated_event", terminated);
  }
  deployments_.erase(it);
  publish(success ? "deployment_success" : "deployment_failed", event);
  persist();
}

Json::Value Services::deploymentJson(const Deployment& deployment) const {
  Json::Value out;
  out["id"] = deployment.id;
  out["version"] = deployment.version;
  out["affectedApps"].append(deployment.appId);
  out["affectedPods"] = Json::Value(Json::arrayValue);
  Json::Value action;
  action["action"] = deployment.action;
  action["app"] = deployment.appId;
  Json::Value step;
  step["actions"].append(action);
  out["steps"].append(step);
  action["readinessCheckResults"] = Json::Value(Json::arrayValue);
  out["currentActions"].append(action);
  out["currentStep"] = 1;
  out["totalSteps"] = 1;
  return out;
}

// ---------------------------------------------------------------------------
// Events and state

void Services::publish(const std::string& type, Json::Value event) {
  event["eventType"] = type;
  if (!event.isMember("timestamp")) event["timestamp"] = timestamp();
  const std::string text = "event: " + type + "\ndata: " + write(event) + "\n\n";
  std::erase_if(subscribers_, [&](const Subscriber& subscriber) {
    if (!subscriber.types.empty() && subscriber.types.count(type) == 0) return subscriber.stream->closed();
    return !subscriber.stream->write(text);
  });
}

Json::Value Services::stateJson() const {
  Json::Value root;
  root["frameworkId"] = frameworkId_;
  root["apps"] = Json::Value(Json::arrayValue);
  for (const auto& [id, app] : apps_) root["apps"].append(appJson(app));
  root["tasks"] = Json::Value(Json::arrayValue);
  for (const auto& [id, task] : tasks_) {
    Json::Value item;
    item["id"] = task.id;
    item["appId"] = task.appId;
    item["version"] = task.version;
    item["agentId"] = task.agentId;
    item["host"] = task.host;
    for (const auto& [key, value] : task.placement) item["placement"][key] = value;
    item["ports"] = Json::Value(Json::arrayValue);
    for (std::uint64_t port : task.ports) item["ports"].append(static_cast<Json::UInt64>(port));
    item["ipAddresses"] = Json::Value(Json::arrayValue);
    for (const std::string& address : task.ipAddresses) item["ipAddresses"].append(address);
    item["state"] = task.state;
    item["healthChecked"] = task.healthChecked;
    if (task.healthy) item["healthy"] = *task.healthy;
    item["stagedAt"] = task.stagedAt;
    item["startedAt"] = task.startedAt;
    item["stagedSeconds"] = task.stagedSeconds;
    item["killing"] = task.killing;
    root["tasks"].append(item);
  }
  root["deployments"] = Json::Value(Json::arrayValue);
  for (const auto& [id, deployment] : deployments_) {
    Json::Value item;
    item["id"] = deployment.id;
    item["appId"] = deployment.appId;
    item["version"] = deployment.version;
    item["action"] = deployment.action;
    if (deployment.previous) item["previous"] = appJson(*deployment.previous);
    root["deployments"].append(item);
  }
  return root;
}

Status Services::loadState(const std::string& text) {
  Result<Json::Value> root = json::parseWith(Json::CharReaderBuilder(), text);
  if (!root.ok()) return root.error().withContext("the stored state");
  frameworkId_ = (*root)["frameworkId"].asString();
  for (const Json::Value& item : (*root)["apps"]) {
    std::vector<Violation> violations;
    App app = readStoredApp(item, &violations);
    if (!violations.empty()) {
      return invalidArgument("the stored state: app " + item["id"].asString() + ": " + violations[0].path + ": " +
                             violations[0].message);
    }
    apps_[app.id] = app;
  }
  for (const Json::Value& item : (*root)["tasks"]) {
    Task task;
    task.id = item["id"].asString();
    task.appId = item["appId"].asString();
    task.version = item["version"].asString();
    task.agentId = item["agentId"].asString();
    task.host = item["host"].asString();
    for (const std::string& key : item["placement"].getMemberNames())
      task.placement[key] = item["placement"][key].asString();
    for (const Json::Value& port : item["ports"]) task.ports.push_back(port.asUInt64());
    for (const Json::Value& address : item["ipAddresses"]) task.ipAddresses.push_back(address.asString());
    task.state = item["state"].asString();
    task.healthChecked = item["healthChecked"].asBool();
    if (item.isMember("healthy")) task.healthy = item["healthy"].asBool();
    task.stagedAt = item["stagedAt"].asString();
    task.startedAt = item["startedAt"].asString();
    task.stagedSeconds = item["stagedSeconds"].asDouble();
    task.killing = item["killing"].asBool();
    tasks_[task.id] = task;
  }
  for (const Json::Value& item : (*root)["deployments"]) {
    Deployment deployment;
    deployment.id = item["id"].asString();
    deployment.appId = item["appId"].asString();
    deployment.version = item["version"].asString();
    deployment.action = item["action"].asString();
    if (item.isMember("previous")) {
      std::vector<Violation> violations;
      deployment.previous = readStoredApp(item["previous"], &violations);
    }
    deployments_[deployment.id] = deployment;
  }
  return {};
}

void Services::persist() {
  if (!started_) return;
  outbox_.post([this, data = write(stateJson())] {
    if (Status s = store_->store(data); !s.ok()) {
      // A deposed leader (its fence is gone) or a broken store: stop rather
      // than act on state nobody keeps.
      std::cerr << "mantle-services: fatal: storing the state in " << store_->describe() << ": " << s.error().message
                << std::endl;
      std::_Exit(3);
    }
  });
}

// ---------------------------------------------------------------------------
// The REST API

Json::Value Services::taskJson(const Task& task) const {
  Json::Value out;
  out["id"] = task.id;
  out["appId"] = task.appId;
  out["host"] = task.host;
  out["slaveId"] = task.agentId;
  out["state"] = task.killing && !wire::isTerminal(task.state) ? "TASK_KILLING" : task.state;
  out["stagedAt"] = task.stagedAt;
  out["startedAt"] = task.startedAt.empty() ? Json::Value() : Json::Value(task.startedAt);
  out["version"] = task.version;
  out["ports"] = Json::Value(Json::arrayValue);
  for (std::uint64_t port : task.ports) out["ports"].append(static_cast<Json::UInt64>(port));
  out["servicePorts"] = Json::Value(Json::arrayValue);
  if (auto app = apps_.find(task.appId); app != apps_.end()) {
    for (std::int64_t port : servicePortsOf(app->second)) out["servicePorts"].append(static_cast<Json::Int64>(port));
  }
  out["ipAddresses"] = ipAddressesJson(task.ipAddresses);
  out["healthCheckResults"] = Json::Value(Json::arrayValue);
  if (task.healthy) {
    Json::Value result;
    result["alive"] = *task.healthy;
    result["consecutiveFailures"] = task.health.consecutiveFailures;
    result["firstSuccess"] = task.health.firstSuccess.empty() ? Json::Value() : Json::Value(task.health.firstSuccess);
    result["lastSuccess"] = task.health.lastSuccess.empty() ? Json::Value() : Json::Value(task.health.lastSuccess);
    result["lastFailure"] = task.health.lastFailure.empty() ? Json::Value() : Json::Value(task.health.lastFailure);
    result["lastFailureCause"] =
        task.health.lastFailureCause.empty() ? Json::Value() : Json::Value(task.health.lastFailureCause);
    result["taskId"] = task.id;
    result["instanceId"] = task.id;
    out["healthCheckResults"].append(result);
  }
  return out;
}

Json::Value Services::appWithState(const App& app, bool withTasks) const {
  Json::Value out = appJson(app);
  int staged = 0, running = 0, healthy = 0, unhealthy = 0;
  out["tasks"] = Json::Value(Json::arrayValue);
  for (const Task* task : tasksOf(app.id)) {
    if (task->state == "TASK_RUNNING") {
      ++running;
    } else {
      ++staged;
    }
    if (task->healthy == true) ++healthy;
    if (task->healthy == false) ++unhealthy;
    if (withTasks) out["tasks"].append(taskJson(*task));
  }
  if (!withTasks) out.removeMember("tasks");
  out["tasksStaged"] = staged;
  out["tasksRunning"] = running;
  out["tasksHealthy"] = healthy;
  out["tasksUnhealthy"] = unhealthy;
  out["deployments"] = Json::Value(Json::arrayValue);
  for (const std::string& id : deploymentsOf(app.id)) {
    Json::Value item;
    item["id"] = id;
    out["deployments"].append(item);
  }
  if (auto failure = lastFailures_.find(app.id); failure != lastFailures_.end()) {
    out["lastTaskFailure"] = failure->second;
  }
  return out;
}

Json::Value Services::infoJson() const {
  Json::Value out;
  out["name"] = "mantle-services";
  out["version"] = "1.0.0";
  out["frameworkId"] = frameworkId_.empty() ? Json::Value() : Json::Value(frameworkId_);
  out["leader"] = options_.address;
  out["elected"] = true;
  out["marathon_config"]["master"] = options_.master;
  out["marathon_config"]["framework_name"] = options_.name;
  out["marathon_config"]["mesos_role"] = options_.role;
  out["marathon_config"]["failover_timeout"] = options_.failoverTimeoutSeconds;
  out["marathon_config"]["local_port_min"] = static_cast<Json::Int64>(kServicePortMin);
  out["marathon_config"]["local_port_max"] = static_cast<Json::Int64>(kServicePortMax);
  out["marathon_config"]["mesos_bridge_name"] = options_.mesosBridgeName;
  out["zookeeper_config"]["zk"] = options_.zkRedacted.empty() ? Json::Value() : Json::Value(options_.zkRedacted);
  const Result<wire::HostPort> address = wire::parseHostPort(options_.address);
  out["http_config"]["http_port"] = address.ok() ? address->port : 0;
  out["event_subscriber"]["type"] = "http_sse";
  return out;
}

bool Services::locked(const std::string& appId, const http::Request& request, const http::Responder& responder) {
  const std::vector<std::string> ids = deploymentsOf(appId);
  if (ids.empty() || forced(request)) return false;
  Json::Value body;
  body["message"] =
      "App is locked by one or more deployments. Override with the option '?force=true'. "
      "View details at '/v2/deployments/" +
      ids.front() + "'.";
  for (const std::string& id : ids) {
    Json::Value item;
    item["id"] = id;
    body["deployments"].append(item);
  }
  responder.respond(jsonResponse(409, body));
  return true;
}

void Services::handle(const http::Request& request, const http::Responder& responder) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  auto methodNotAllowed = [&] { responder.respond(message(405, method + " is not allowed on " + path)); };
  if (path == "/ping") return responder.respond(http::Response::text(200, "pong\n"));
  if (path == "/v2/info") return responder.respond(jsonResponse(200, infoJson()));
  if (path == "/v2/leader") {
    Json::Value body;
    body["leader"] = options_.address;
    return responder.respond(jsonResponse(200, body));
  }
  if (path == "/v2/events") {
    if (method != "GET") return methodNotAllowed();
    return subscribeEvents(request, responder);
  }
  if (path == "/v2/tasks") {
    if (method != "GET") return methodNotAllowed();
    Json::Value body;
    body["tasks"] = Json::Value(Json::arrayValue);
    for (const auto& [id, task] : tasks_) body["tasks"].append(taskJson(task));
    return responder.respond(jsonResponse(200, body));
  }
  if (path == "/v2/deployments" || path == "/v2/deployments/") {
    if (method != "GET") return methodNotAllowed();
    Json::Value body(Json::arrayValue);
    for (const auto& [id, deployment] : deployments_) body.append(deploymentJson(deployment));
    return responder.respond(jsonResponse(200, body));
  }
  if (path.rfind("/v2/deployments/", 0) == 0) {
    if (method != "DELETE") return methodNotAllowed();
    return deleteDeployment(path.substr(std::string("/v2/deployments/").size()), request, responder);
  }
  if (path == "/v2/apps" || path == "/v2/apps/") {
    if (method == "POST") return postApp(request, responder);
    if (method != "GET") return methodNotAllowed();
    const std::string filter = request.queryParam("id");
    const std::string cmd = request.queryParam("cmd");
    const bool withTasks = request.query.find("apps.tasks") != std::string::npos;
    Json::Value body;
    body["apps"] = Json::Value(Json::arrayValue);
    for (const auto& [id, app] : apps_) {
      if (!filter.empty() && id.find(filter) == std::string::npos) continue;
      if (!cmd.empty() && app.cmd.find(cmd) == std::string::npos) continue;
      body["apps"].append(appWithState(app, withTasks));
    }
    return responder.respond(jsonResponse(200, body));
  }
  if (path.rfind("/v2/apps/", 0) != 0) return responder.respond(message(404, "no such endpoint: " + path));
  std::string rest = path.substr(std::string("/v2/apps").size());
  if (const auto at = rest.rfind("/tasks/"); at != std::string::npos) {
    if (method != "DELETE") return methodNotAllowed();
    return killAppTask(normalizeAppId(rest.substr(0, at)), rest.substr(at + 7), request, responder);
  }
  auto endsWith = [&](const std::string& suffix) {
    return rest.size() > suffix.size() && rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (endsWith("/tasks")) {
    const std::string id = normalizeAppId(rest.substr(0, rest.size() - 6));
    if (method != "GET") return methodNotAllowed();
    if (apps_.count(id) == 0) return responder.respond(message(404, "App '" + id + "' does not exist"));
    Json::Value body;
    body["tasks"] = Json::Value(Json::arrayValue);
    for (const Task* task : tasksOf(id)) body["tasks"].append(taskJson(*task));
    return responder.respond(jsonResponse(200, body));
  }
  if (endsWith("/restart")) {
    if (method != "POST") return methodNotAllowed();
    return restartApp(normalizeAppId(rest.substr(0, rest.size() - 8)), request, responder);
  }
  const std::string id = normalizeAppId(rest);
  if (id.empty()) return responder.respond(message(404, "App '" + rest + "' does not exist"));
  if (method == "PUT") return putApp(id, request, responder);
  if (method == "DELETE") return deleteApp(id, request, responder);
  if (method != "GET") return methodNotAllowed();
  auto app = apps_.find(id);
  if (app == apps_.end()) return responder.respond(message(404, "App '" + id + "' does not exist"));
  Json::Value body;
  body["app"] = appWithState(app->second, true);
  responder.respond(jsonResponse(200, body));
}

namespace {

// The request's JSON body; answers 400 and returns none when it is not JSON.
std::optional<Json::Value> jsonBody(const http::Request& request, const http::Responder& responder) {
  Result<Json::Value> body = json::parseWith(Json::CharReaderBuilder(), request.body);
  if (!body.ok()) {
    responder.respond(message(400, "Invalid JSON: " + body.error().message));
    return std::nullopt;
  }
  return *body;
}

Json::Value deploymentResult(const std::string& version, const std::string& deploymentId) {
  Json::Value body;
  body["version"] = version;
  body["deploymentId"] = deploymentId;
  return body;
}

}  // namespace

void Services::postApp(const http::Request& request, const http::Responder& responder) {
  std::optional<Json::Value> body = jsonBody(request, responder);
  if (!body) return;
  std::vector<Violation> violations;
  App app = readApp(*body, &violations);
  if (!violations.empty()) return responder.respond(jsonResponse(422, violationsJson(violations)));
  if (apps_.count(app.id) != 0) {
    return responder.respond(message(409, "An app with id [" + app.id + "] already exists."));
  }
  app.version = app.lastConfigChangeAt = app.lastScalingAt = timestamp();
  assignServicePorts(app, nullptr);
  apps_[app.id] = app;
  Json::Value event;
  event["clientIp"] = wire::hostOf(request.remoteAddress);
  event["uri"] = request.path;
  event["appDefinition"] = appJson(app);
  publish("api_post_event", event);
  const std::string deploymentId = deploy(app, std::nullopt, "StartApplication");
  http::Response response = jsonResponse(201, appWithState(app, true));
  response.headers.emplace_back("Location", "/v2/apps" + app.id);
  response.headers.emplace_back("Marathon-Deployment-Id", deploymentId);
  responder.respond(response);
}

void Services::putApp(const std::string& id, const http::Request& request, const http::Responder& responder) {
  std::optional<Json::Value> body = jsonBody(request, responder);
  if (!body) return;
  if (!body->isObject()) return responder.respond(jsonResponse(422, violationsJson({{"/", "expected an object"}})));
  if (body->isMember("id") && (*body)["id"].isString() && normalizeAppId((*body)["id"].asString()) != id) {
    return responder.respond(
        jsonResponse(422, violationsJson({{"/id", "the id in the body must be the id in the path, " + id}})));
  }
  auto existing = apps_.find(id);
  if (existing != apps_.end() && locked(id, request, responder)) return;
  // An update: the given fields replace the app's (partialUpdate=false: the
  // body is the whole new definition).
  Json::Value merged = existing != apps_.end() && request.queryParam("partialUpdate") != "false"
                           ? appJson(existing->second)
                           : Json::Value(Json::objectValue);
  for (const std::string& key : body->getMemberNames()) merged[key] = (*body)[key];
  merged["id"] = id;
  if (body->isMember("portDefinitions") || body->isMember("ports")) {
    if (!body->isMember("ports")) merged.removeMember("ports");
    if (!body->isMember("portDefinitions")) merged.removeMember("portDefinitions");
  }
  if (body->isMember("networks") && existing != apps_.end()) {
    // The ports belong to the networking mode: new networks without new
    // ports get the new mode's default ones.
    if (!body->isMember("portDefinitions") && !body->isMember("ports")) {
      merged.removeMember("portDefinitions");
      merged.removeMember("ports");
    }
    if (!body->isMember("container") && merged["container"].isObject())
      merged["container"].removeMember("portMappings");
  }
  std::vector<Violation> violations;
  App app = readApp(merged, &violations);
  if (!violations.empty()) return responder.respond(jsonResponse(422, violationsJson(violations)));
  const std::string now = timestamp();
  app.version = now;
  std::optional<App> previous;
  std::string action = "StartApplication";
  if (existing != apps_.end()) {
    previous = existing->second;
    // Service ports given as 0 keep the ones assigned before.
    const std::vector<std::int64_t*> slots = servicePortSlots(app);
    const std::vector<std::int64_t> before = servicePortsOf(*previous);
    for (std::size_t i = 0; i < slots.size() && i < before.size(); ++i) {
      if (*slots[i] == 0) *slots[i] = before[i];
    }
    const bool changed = configChanged(*previous, app);
    app.lastConfigChangeAt = changed ? now : previous->lastConfigChangeAt;
    app.lastScalingAt = app.instances != previous->instances ? now : previous->lastScalingAt;
    action = changed ? "RestartApplication" : "ScaleApplication";
  } else {
    app.lastConfigChangeAt = app.lastScalingAt = now;
  }
  assignServicePorts(app, previous ? &*previous : nullptr);
  apps_[id] = app;
  Json::Value event;
  event["clientIp"] = wire::hostOf(request.remoteAddress);
  event["uri"] = request.path;
  event["appDefinition"] = appJson(app);
  publish("api_put_event", event);
  const std::string deploymentId = deploy(app, previous, action);
  responder.respond(jsonResponse(previous ? 200 : 201, deploymentResult(now, deploymentId)));
}

void Services::deleteApp(const std::string& id, const http::Request& request, const http::Responder& responder) {
  auto app = apps_.find(id);
  if (app == apps_.end()) return responder.respond(message(404, "App '" + id + "' does not exist"));
  if (locked(id, request, responder)) return;
  App previous = app->second;
  apps_.erase(app);
  previous.version = timestamp();
  const std::string deploymentId = deploy(previous, previous, "StopApplication");
  responder.respond(jsonResponse(200, deploymentResult(previous.version, deploymentId)));
}

void Services::restartApp(const std::string& id, const http::Request& request, const http::Responder& responder) {
  auto app = apps_.find(id);
  if (app == apps_.end()) return responder.respond(message(404, "App '" + id + "' does not exist"));
  if (locked(id, request, responder)) return;
  App previous = app->second;
  app->second.version = app->second.lastConfigChangeAt = timestamp();
  const std::string deploymentId = deploy(app->second, previous, "RestartApplication");
  responder.respond(jsonResponse(200, deploymentResult(app->second.version, deploymentId)));
}

void Services::killAppTask(const std::string& appId, const std::string& taskId, const http::Request& request,
                           const http::Responder& responder) {
  auto app = apps_.find(appId);
  if (app == apps_.end()) return responder.respond(message(404, "App '" + appId + "' does not exist"));
  auto task = tasks_.find(taskId);
  if (task == tasks_.end() || task->second.appId != appId) {
    return responder.respond(message(404, "Task '" + taskId + "' does not exist"));
  }
  Json::Value killed = taskJson(task->second);
  if (request.queryParam("scale") == "true") {
    App previous = app->second;
    app->second.instances = std::max<std::int64_t>(0, app->second.instances - 1);
    app->second.version = app->second.lastScalingAt = timestamp();
    killTask(task->second);
    const std::string deploymentId = deploy(app->second, previous, "ScaleApplication");
    return responder.respond(jsonResponse(200, deploymentResult(app->second.version, deploymentId)));
  }
  killTask(task->second);
  persist();
  Json::Value body;
  body["task"] = killed;
  responder.respond(jsonResponse(200, body));
}

void Services::deleteDeployment(const std::string& id, const http::Request& request, const http::Responder& responder) {
  auto it = deployments_.find(id);
  if (it == deployments_.end()) return responder.respond(message(404, "DeploymentPlan " + id + " does not exist"));
  Deployment deployment = it->second;
  if (forced(request)) {
    // Stop the deployment where it is, no rollback.
    finishDeployment(id, false);
    return responder.respond(http::Response::json(202, ""));
  }
  // Roll back: the app as it was before (its old tasks are current again), or
  // gone when the deployment created it.
  std::optional<App> current;
  if (auto app = apps_.find(deployment.appId); app != apps_.end()) current = app->second;
  finishDeployment(id, false);
  const std::string now = timestamp();
  std::string deploymentId;
  if (deployment.previous) {
    App restored = *deployment.previous;
    restored.version = now;
    apps_[restored.id] = restored;
    deploymentId = deploy(restored, current, "RestartApplication");
  } else {
    apps_.erase(deployment.appId);
    App removed = *current;
    removed.version = now;
    deploymentId = deploy(removed, current, "StopApplication");
  }
  responder.respond(jsonResponse(200, deploymentResult(now, deploymentId)));
}

void Services::subscribeEvents(const http::Request& request, const http::Responder& responder) {
  Subscriber subscriber;
  // ?event_type=a&event_type=b
  for (std::size_t at = 0; (at = request.query.find("event_type=", at)) != std::string::npos;) {
    if (at != 0 && request.query[at - 1] != '&') {
      at += 11;
      continue;
    }
    const std::size_t end = request.query.find('&', at);
    subscriber.types.insert(
        http::urlDecode(request.query.substr(at + 11, end == std::string::npos ? end : end - at - 11), true));
    at += 11;
  }
  subscriber.stream = responder.stream(
      200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}, {"Connection", "keep-alive"}});
  Json::Value attached;
  attached["eventType"] = "event_stream_attached";
  attached["timestamp"] = timestamp();
  attached["remoteAddress"] = wire::hostOf(request.remoteAddress);
  if (subscriber.types.empty() || subscriber.types.count("event_stream_attached") != 0) {
    subscriber.stream->write("event: event_stream_attached\ndata: " + write(attached) + "\n\n");
  }
  subscribers_.push_back(subscriber);
}

}  // namespace mantle::services
