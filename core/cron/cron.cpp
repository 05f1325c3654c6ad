#include "cron/cron.hpp"

#include <glog/logging.h>

#include <algorithm>

#include <json/writer.h>
#include <boost/asio/post.hpp>

#include "cron/graph.hpp"
#include "mantle/common/strict_json.hpp"
#include "resources/resources.hpp"
#include "wire/task_state.hpp"

namespace mantle::cron {

namespace {

std::string compact(const Json::Value& value) {
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, value);
}

http::Response noContent() {
  return http::Response{204, {}, ""};
}

std::int64_t epsilonMillis(const Job& job) {
  auto period = parsePeriod(job.spec.epsilon, "epsilon");
  CHECK(period.ok()) << period.error().message;  // checked when posted
  return period->approximateMillis();
}

// The task of `run`, for RECONCILE and KILL.
std::pair<v1::TaskID, std::optional<v1::AgentID>> taskOf(const Run& run) {
  std::pair<v1::TaskID, std::optional<v1::AgentID>> task;
  task.first.set_value(run.taskId());
  if (!run.agentId.empty()) {
    task.second.emplace();
    task.second->set_value(run.agentId);
  }
  return task;
}

// The stored state; none when nothing was stored yet.
Result<std::optional<CronState>> loadState(zookeeper::DocumentStore& store) {
  Result<std::optional<std::string>> document = store.load();
  if (!document.ok()) return document.error();
  if (!*document) return std::optional<CronState>();
  Result<Json::Value> json = json::parseStrict(**document, store.describe());
  if (!json.ok()) return json.error();
  Result<CronState> state = CronState::fromJson(*json);
  if (!state.ok()) return state.error().withContext(store.describe());
  return std::optional<CronState>(std::move(*state));
}

// Whether a run's task has ended: a terminal state, or TASK_UNKNOWN (the
// master does not know it: reconciliation after a stop before its launch).
bool ended(v1::TaskState state) {
  return wire::isTerminal(state) || state == v1::TASK_UNKNOWN;
}

}  // namespace

Cron::Cron(boost::asio::io_context& io, CronOptions options, std::unique_ptr<zookeeper::DocumentStore> store,
           std::function<void(const std::string&)> lost)
    : io_(io), options_(std::move(options)), store_(std::move(store)), lost_(std::move(lost)), timer_(io) {
  for (const std::string& url : options_.webhookUrls) {
    auto log = [](bool warning, const std::string& message) {
      if (warning) {
        LOG(WARNING) << "Webhook " << message;
      } else {
        LOG(INFO) << "Webhook " << message;
      }
    };
    senders_.push_back(std::make_unique<webhook::UrlSender>(url, webhook::SenderOptions{}, log, [] {}));
  }
}

Cron::~Cron() {
  stop();
}

Status Cron::start() {
  auto loaded = loadState(*store_);
  if (!loaded.ok()) return loaded.error().withContext("loading the state from " + store_->describe());
  if (*loaded) state_ = std::move(**loaded);
  LOG(INFO) << "State from " << store_->describe() << ": " << state_.jobs.size() << " job(s), " << state_.runs.size()
            << " run(s) in flight" << (state_.frameworkId.empty() ? "" : ", framework " + state_.frameworkId);

  scheduler::SchedulerOptions options;
  options.master = options_.master;
  options.autoAcknowledge = false;  // only once the outcome is stored
  v1::FrameworkInfo& info = options.frameworkInfo;
  info.set_user(options_.user);
  info.set_name(options_.name);
  info.add_roles(options_.role);
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  info.set_failover_timeout(options_.failoverTimeoutSeconds);
  if (!options_.hostname.empty()) info.set_hostname(options_.hostname);
  if (!options_.webuiUrl.empty()) info.set_webui_url(options_.webuiUrl);
  if (!state_.frameworkId.empty()) info.mutable_id()->set_value(state_.frameworkId);

  std::weak_ptr<bool> alive = alive_;
  auto onIo = [this, alive](std::function<void()> work) {
    boost::asio::post(io_, [alive, work = std::move(work)] {
      auto flag = alive.lock();
      if (flag && *flag) work();
    });
  };
  scheduler::SchedulerCallbacks callbacks;
  callbacks.subscribed = [this, onIo](const v1::scheduler::Event::Subscribed& event) {
    onIo([this, id = event.framework_id().value()] { onSubscribed(id); });
  };
  callbacks.offers = [this, onIo](const std::vector<v1::Offer>& offers) { onIo([this, offers] { onOffers(offers); }); };
  callbacks.update = [this, onIo](const v1::TaskStatus& status) { onIo([this, status] { onUpdate(status); }); };
  callbacks.error = [](const std::string& message) { LOG(ERROR) << "The master says: " << message; };
  client_ = std::make_unique<scheduler::Scheduler>(options, callbacks);
  client_->start();
  armTimer();
  return {};
}

void Cron::stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  timer_.cancel();
  if (client_) client_->stop();
  for (auto& sender : senders_) sender->stop();
}

void Cron::armTimer() {
  if (stopped_) return;
  timer_.expires_after(options_.tick);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
    auto flag = alive.lock();
    if (error || !flag || !*flag) return;
    tick();
    armTimer();
  });
}

void Cron::tick() {
  const std::int64_t now = nowMillis();
  bool changed = queueDueRuns(now);
  changed = skipLateRuns(now) || changed;
  if (changed && persist()) reviveIfWaiting();
}

bool Cron::queueDueRuns(std::int64_t now) {
  bool changed = false;
  for (auto& [name, job] : state_.jobs) {
    if (job.spec.dependent() || job.spec.disabled || job.runsLeft == 0) continue;
    const Schedule schedule = job.schedule();
    const std::int64_t epsilon = epsilonMillis(job);
    for (std::int64_t due = occurrence(schedule, job.nextIndex); due <= now && job.runsLeft != 0;
         due = occurrence(schedule, job.nextIndex)) {
      changed = true;
      if (now - due <= epsilon) {
        queueRun(name, due, "schedule");
        ++job.nextIndex;
        if (job.runsLeft > 0) --job.runsLeft;
        continue;
      }
      // Missed by more than epsilon (this process was down, or the job was
      // disabled): skipped, all at once, up to the first still in time.
      std::int64_t next = firstIndexAtOrAfter(schedule, now - epsilon);
      std::int64_t skipped = next - job.nextIndex;
      if (job.runsLeft >= 0) {
        skipped = std::min(skipped, job.runsLeft);
        job.runsLeft -= skipped;
      }
      job.nextIndex += skipped;
      job.stats.skippedCount += skipped;
      job.stats.lastSkipped = formatTime(occurrence(schedule, job.nextIndex - 1));
      LOG(WARNING) << "Job " << name << ": skipped " << skipped << " run(s) missed by more than its epsilon "
                   << job.spec.epsilon << ", the last due at " << job.stats.lastSkipped;
      Run missed;
      missed.job = name;
      missed.dueMillis = occurrence(schedule, job.nextIndex - 1);
      notify("JOB_SKIPPED", missed, std::to_string(skipped) + " run(s) missed by more than epsilon");
    }
  }
  return changed;
}

bool Cron::skipLateRuns(std::int64_t now) {
  bool changed = false;
  for (auto it = state_.runs.begin(); it != state_.runs.end();) {
    auto job = state_.jobs.find(it->job);
    if (it->launched || it->attempt > 0 || it->reason != "schedule" || job == state_.jobs.end() ||
        now - it->dueMillis <= epsilonMillis(job->second)) {
      ++it;
      continue;
    }
    // Still waiting (for offers, or for the job's previous run) past epsilon.
    job->second.stats.skippedCount += 1;
    job->second.stats.lastSkipped = formatTime(it->dueMillis);
    LOG(WARNING) << "Job " << it->job << ": the run due at " << formatTime(it->dueMillis)
                 << " could not start within its epsilon " << job->second.spec.epsilon << "; skipped";
    notify("JOB_SKIPPED", *it, "could not start within epsilon");
    it = state_.runs.erase(it);
    changed = true;
  }
  return changed;
}

void Cron::queueRun(const std::string& job, std::int64_t due, const std::string& reason) {
  // One run per job and due time (a manual run in the same millisecond as a
  // scheduled one waits a millisecond).
  while (std::any_of(state_.runs.begin(), state_.runs.end(),
                     [&](const Run& r) { return r.job == job && r.dueMillis == due; })) {
    ++due;
  }
  Run run;
  run.job = job;
  run.dueMillis = due;
  run.reason = reason;
  auto at = std::upper_bound(state_.runs.begin(), state_.runs.end(), due,
                             [](std::int64_t d, const Run& r) { return d < r.dueMillis; });
  state_.runs.insert(at, run);
  LOG(INFO) << "Job " << job << ": queued the run due at " << formatTime(due) << " (" << reason << ")";
}

bool Cron::launchable(const Run& run) const {
  if (run.launched) return false;
  auto job = state_.jobs.find(run.job);
  if (job == state_.jobs.end()) return false;
  if (job->second.spec.concurrent) return true;
  // Not concurrent: only the earliest run of the job, and none launched.
  for (const Run& other : state_.runs) {
    if (other.job != run.job) continue;
    return &other == &run;
  }
  return false;
}

void Cron::reviveIfWaiting() {
  if (!client_ || state_.frameworkId.empty()) return;
  if (std::any_of(state_.runs.begin(), state_.runs.end(), [](const Run& r) { return !r.launched; })) {
    (void)client_->revive();
  }
}

bool Cron::persist() {
  if (lostCalled_) return false;
  Status s = store_->store(compact(state_.toJson()));
  if (s.ok()) return true;
  lostCalled_ = true;
  LOG(ERROR) << "Cannot store the state in " << store_->describe() << ": " << s.error().message;
  stop();
  if (lost_) lost_("cannot store the state: " + s.error().message);
  return false;
}

void Cron::onSubscribed(const std::string& frameworkId) {
  LOG(INFO) << "Subscribed as framework " << frameworkId;
  if (state_.frameworkId != frameworkId) {
    state_.frameworkId = frameworkId;
    if (!persist()) return;
  }
  // Where are the tasks launched before (by this process or a predecessor)?
  std::vector<std::pair<v1::TaskID, std::optional<v1::AgentID>>> tasks;
  for (const Run& run : state_.runs) {
    if (run.launched) tasks.push_back(taskOf(run));
  }
  if (!tasks.empty()) {
    LOG(INFO) << "Reconciling " << tasks.size() << " launched run(s)";
    if (Status s = client_->reconcile(tasks); !s.ok()) LOG(WARNING) << "Reconciliation: " << s.error().message;
  }
  reviveIfWaiting();
}

v1::TaskInfo Cron::taskFor(const Run& run, const v1::Offer& offer) const {
  const JobSpec& spec = state_.jobs.at(run.job).spec;
  v1::TaskInfo task = scheduler::commandTask(run.taskId(), offer, spec.command, spec.resources());
  task.set_name("ChronosTask:" + spec.name);
  v1::CommandInfo* command = task.mutable_command();
  command->set_shell(spec.shell);
  if (!spec.shell) {  // as in Chronos, a shell command ignores `arguments`
    for (const std::string& argument : spec.arguments) command->add_arguments(argument);
  }
  auto add = [&](const std::string& name, const std::string& value) {
    v1::Environment::Variable* variable = command->mutable_environment()->add_variables();
    variable->set_name(name);
    variable->set_value(value);
  };
  // What Chronos gives its tasks, then the job's own variables.
  add("mesos_task_id", run.taskId());
  add("CHRONOS_JOB_NAME", spec.name);
  add("CHRONOS_JOB_OWNER", spec.owner);
  add("CHRONOS_RESOURCE_CPU", std::to_string(spec.cpus));
  add("CHRONOS_RESOURCE_MEM", std::to_string(spec.mem));
  add("CHRONOS_RESOURCE_DISK", std::to_string(spec.disk));
  for (const auto& [name, value] : spec.environmentVariables) add(name, value);
  return task;
}

void Cron::onOffers(const std::vector<v1::Offer>& offers) {
  for (const v1::Offer& offer : offers) {
    auto offered = resources::Resources::from(offer.resources());
    resources::Resources left = offered.ok() ? offered->withoutAllocation().unreserved() : resources::Resources();
    std::vector<v1::TaskInfo> tasks;
    std::vector<std::string> launchedIds;
    for (Run& run : state_.runs) {
      if (!launchable(run)) continue;
      const JobSpec& spec = state_.jobs.at(run.job).spec;
      auto wanted = resources::Resources::parse(spec.resources());
      if (!wanted.ok() || !left.contains(*wanted)) continue;
      left = *left.minus(*wanted);
      run.launched = true;
      run.running = false;
      run.agentId = offer.agent_id().value();
      tasks.push_back(taskFor(run, offer));
      launchedIds.push_back(run.taskId());
    }
    if (tasks.empty()) {
      const bool waiting =
          std::any_of(state_.runs.begin(), state_.runs.end(), [](const Run& r) { return !r.launched; });
      (void)client_->decline({offer.id()}, waiting ? 1 : 30);
      continue;
    }
    // Stored before launching: a successor knows these runs were launched.
    if (!persist()) return;
    for (const std::string& id : launchedIds) LOG(INFO) << "Launching " << id << " on " << offer.hostname();
    if (Status s = client_->launch(offer, tasks, 1); !s.ok()) {
      LOG(WARNING) << "Launching on " << offer.hostname() << " failed: " << s.error().message;
      for (Run& run : state_.runs) {
        if (std::find(launchedIds.begin(), launchedIds.end(), run.taskId()) != launchedIds.end()) {
          run.launched = false;
        }
      }
      if (!persist()) return;
    }
  }
}

void Cron::onUpdate(const v1::TaskStatus& status) {
  const std::string taskId = status.task_id().value();
  auto run = std::find_if(state_.runs.begin(), state_.runs.end(),
                          [&](const Run& r) { return r.launched && r.taskId() == taskId; });
  bool stored = true;
  if (run != state_.runs.end()) {
    if (status.has_agent_id()) run->agentId = status.agent_id().value();
    if (status.state() == v1::TASK_RUNNING) run->running = true;
    if (ended(status.state())) {
      Run done = *run;
      const std::string message = status.message();
      if (status.state() == v1::TASK_FINISHED) {
        state_.runs.erase(run);
        succeeded(done, message);
      } else if (status.reason() == v1::TaskStatus::REASON_RECONCILIATION && !done.running &&
                 status.state() != v1::TASK_FAILED && status.state() != v1::TASK_KILLED) {
        // The master never saw this task (its launch was stored, then the
        // process stopped before the launch reached the master): launch it
        // again under the same id.
        LOG(INFO) << "The master does not know " << taskId << " (" << message << "); launching it again";
        run->launched = false;
        run->agentId.clear();
      } else {
        state_.runs.erase(run);
        failed(done, v1::TaskState_Name(status.state()), message);
      }
      stored = persist();
      reviveIfWaiting();
    }
  }
  // Acknowledged only once the outcome is stored: if this process stops
  // before, the master sends the update again to the successor.
  if (stored && !status.uuid().empty()) (void)client_->acknowledge(status);
}

void Cron::succeeded(Run run, const std::string& message) {
  Job& job = state_.jobs.at(run.job);
  job.stats.successCount += 1;
  job.stats.errorsSinceLastSuccess = 0;
  job.stats.lastSuccess = formatTime(nowMillis());
  job.lastStatus = "success";
  LOG(INFO) << "Job " << run.job << ": the run due at " << formatTime(run.dueMillis) << " succeeded";
  notify("JOB_SUCCEEDED", run, message);
  const ParentMap parents = parentMap();
  for (const std::string& childName : childrenOf(parents, run.job)) {
    Job& child = state_.jobs.at(childName);
    child.parentsSucceeded.insert(run.job);
    const bool all = std::all_of(child.spec.parents.begin(), child.spec.parents.end(),
                                 [&](const std::string& p) { return child.parentsSucceeded.count(p) > 0; });
    if (!all || child.spec.disabled) continue;
    child.parentsSucceeded.clear();
    queueRun(childName, nowMillis(), "dependency");
  }
}

void Cron::failed(Run run, const std::string& state, const std::string& message) {
  Job& job = state_.jobs.at(run.job);
  if (!run.killed && run.attempt < job.spec.retries) {
    LOG(INFO) << "Job " << run.job << ": attempt " << run.attempt + 1 << " " << state << " (" << message
              << "); retrying";
    run.attempt += 1;
    run.launched = false;
    run.running = false;
    run.agentId.clear();
    state_.runs.insert(std::upper_bound(state_.runs.begin(), state_.runs.end(), run.dueMillis,
                                        [](std::int64_t d, const Run& r) { return d < r.dueMillis; }),
                       run);
    return;
  }
  job.stats.errorCount += 1;
  job.stats.errorsSinceLastSuccess += 1;
  job.stats.lastError = formatTime(nowMillis());
  job.lastStatus = "failure";
  LOG(WARNING) << "Job " << run.job << ": the run due at " << formatTime(run.dueMillis) << " failed after "
               << run.attempt + 1 << " attempt(s): " << state << (message.empty() ? "" : " (" + message + ")");
  notify("JOB_FAILED", run, state + (message.empty() ? "" : ": " + message));
}

void Cron::notify(const std::string& type, const Run& run, const std::string& message) {
  if (senders_.empty()) return;
  Json::Value event;
  event["type"] = type;
  event["sequence"] = static_cast<Json::UInt64>(++notificationSequence_);
  event["framework"] = options_.name;
  event["job"] = run.job;
  event["due"] = formatTime(run.dueMillis);
  if (type != "JOB_SKIPPED") {
    event["taskId"] = run.taskId();
    event["attempts"] = static_cast<Json::Int64>(run.attempt + 1);
  }
  event["message"] = message;
  event["timestamp"] = formatTime(nowMillis());
  auto document = std::make_shared<const std::string>(compact(event));
  for (auto& sender : senders_) sender->enqueue(document);
}

ParentMap Cron::parentMap() const {
  ParentMap parents;
  for (const auto& [name, job] : state_.jobs) parents[name] = job.spec.parents;
  return parents;
}

// --- The REST API -----------------------------------------------------------

void Cron::handle(const http::Request& request, const http::Responder& responder) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  auto allow = [&](const char* allowed) {
    http::Response r = http::Response::text(405, "Use " + std::string(allowed) + " on " + path + "\n");
    r.headers.emplace_back("Allow", allowed);
    return r;
  };
  auto suffix = [&](const std::string& prefix) -> std::optional<std::string> {
    if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    return http::urlDecode(path.substr(prefix.size()), false);
  };
  // Chronos' other query parameters (search's command/any/limit/offset, run
  // now's arguments) are refused rather than ignored.
  const bool search = path == "/v1/scheduler/jobs/search" || path == "/scheduler/jobs/search";
  for (size_t start = 0; start < request.query.size();) {
    size_t end = request.query.find('&', start);
    if (end == std::string::npos) end = request.query.size();
    const std::string pair = request.query.substr(start, end - start);
    const std::string key = http::urlDecode(pair.substr(0, pair.find('=')), true);
    if (!key.empty() && !(search && key == "name")) {
      responder.respond(http::Response::text(
          400, key + ": not a query parameter mantle-cron supports on " + path + " (docs/CRON.md)\n"));
      return;
    }
    start = end + 1;
  }
  http::Response response = http::Response::text(404, "No such endpoint: " + path + "\n");
  if (path == "/v1/scheduler/iso8601" || path == "/scheduler/iso8601") {
    response = method == "POST" ? postJob(request, JobKind::kScheduled) : allow("POST");
  } else if (path == "/v1/scheduler/dependency" || path == "/scheduler/dependency") {
    response = method == "POST" || method == "PUT" ? postJob(request, JobKind::kDependent) : allow("POST, PUT");
  } else if (path == "/v1/scheduler/jobs" || path == "/scheduler/jobs") {
    response = method == "GET" ? listJobs("") : allow("GET");
  } else if (search) {
    if (method != "GET") {
      response = allow("GET");
    } else {
      auto name = request.findQueryParam("name");
      response = name ? listJobs(*name) : http::Response::text(400, "name: the query parameter is required\n");
    }
  } else if (auto name = suffix("/v1/scheduler/job/"); name || (name = suffix("/scheduler/job/"))) {
    if (method == "PUT") {
      response = runNow(*name);
    } else if (method == "DELETE") {
      response = deleteJob(*name);
    } else {
      response = allow("PUT, DELETE");
    }
  } else if (auto task = suffix("/v1/scheduler/task/kill/"); task || (task = suffix("/scheduler/task/kill/"))) {
    response = method == "DELETE" ? killTasks(*task) : allow("DELETE");
  } else if (path == "/v1/scheduler/graph/csv" || path == "/scheduler/graph/csv") {
    response = method == "GET" ? graphCsv() : allow("GET");
  }
  responder.respond(std::move(response));
}

http::Response Cron::postJob(const http::Request& request, JobKind kind) {
  auto json = json::parseStrict(request.body, "the body");
  if (!json.ok()) return http::Response::text(400, json.error().message + "\n");
  const std::int64_t now = nowMillis();
  auto spec = parseJob(*json, kind, now);
  if (!spec.ok()) return http::Response::text(400, spec.error().message + "\n");
  for (const std::string& parent : spec->parents) {
    if (!state_.jobs.count(parent)) return http::Response::text(400, "parents: no job named '" + parent + "'\n");
  }
  ParentMap parents = parentMap();
  parents[spec->name] = spec->parents;
  if (auto cycle = findCycle(parents)) {
    return http::Response::text(
        400, "parents: '" + spec->name + "' would make a dependency cycle: " + describeCycle(*cycle) + "\n");
  }
  auto existing = state_.jobs.find(spec->name);
  Job job;
  if (existing != state_.jobs.end()) {
    job.stats = existing->second.stats;  // an update keeps the counters
    job.lastStatus = existing->second.lastStatus;
  }
  job.spec = *spec;
  if (kind == JobKind::kScheduled) {
    auto schedule = parseSchedule(spec->schedule, spec->scheduleTimeZone, now);
    CHECK(schedule.ok()) << schedule.error().message;  // parseJob checked it
    job.startMillis = schedule->startMillis;
    // Occurrences before the post and beyond epsilon were never this job's.
    job.nextIndex = firstIndexAtOrAfter(*schedule, now - epsilonMillis(job));
    job.runsLeft = schedule->repetitions < 0 ? -1 : std::max<std::int64_t>(0, schedule->repetitions - job.nextIndex);
  }
  state_.jobs[spec->name] = job;
  LOG(INFO) << (existing == state_.jobs.end() ? "Added" : "Updated") << " job " << spec->name;
  if (!persist()) return http::Response::text(503, "The state could not be stored\n");
  tick();
  return noContent();
}

http::Response Cron::listJobs(const std::string& nameFilter) const {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  const std::string filter = lower(nameFilter);
  Json::Value list(Json::arrayValue);
  for (const auto& [name, job] : state_.jobs) {
    if (lower(name).find(filter) != std::string::npos) list.append(job.toJson());
  }
  return http::Response::json(200, compact(list));
}

http::Response Cron::runNow(const std::string& name) {
  if (!state_.jobs.count(name)) return http::Response::text(404, "No job named '" + name + "'\n");
  queueRun(name, nowMillis(), "manual");
  if (!persist()) return http::Response::text(503, "The state could not be stored\n");
  reviveIfWaiting();
  return noContent();
}

http::Response Cron::killTasks(const std::string& name) {
  if (!state_.jobs.count(name)) return http::Response::text(404, "No job named '" + name + "'\n");
  std::vector<Run> launched;
  for (auto it = state_.runs.begin(); it != state_.runs.end();) {
    if (it->job != name) {
      ++it;
    } else if (it->launched) {
      it->killed = true;
      launched.push_back(*it);
      ++it;
    } else {
      it = state_.runs.erase(it);  // queued: dropped
    }
  }
  if (!persist()) return http::Response::text(503, "The state could not be stored\n");
  for (const Run& run : launched) {
    auto [id, agent] = taskOf(run);
    if (Status s = client_->kill(id, agent); !s.ok()) {
      LOG(WARNING) << "Killing " << id.value() << ": " << s.error().message;
    }
  }
  return noContent();
}

http::Response Cron::deleteJob(const std::string& name) {
  if (!state_.jobs.count(name)) return http::Response::text(404, "No job named '" + name + "'\n");
  const std::vector<std::string> children = childrenOf(parentMap(), name);
  if (!children.empty()) {
    return http::Response::text(
        409, "Job '" + name + "' is a parent of '" + children.front() + "': delete or change that job first\n");
  }
  http::Response killed = killTasks(name);
  if (killed.status != 204) return killed;
  // Launched runs are dropped too: their updates are acknowledged and ignored.
  std::erase_if(state_.runs, [&](const Run& r) { return r.job == name; });
  state_.jobs.erase(name);
  if (!persist()) return http::Response::text(503, "The state could not be stored\n");
  LOG(INFO) << "Deleted job " << name;
  return noContent();
}

http::Response Cron::graphCsv() const {
  // Chronos' lines: "node,<job>,<last status>,<state>" and "link,<parent>,<child>".
  std::string out;
  for (const auto& [name, job] : state_.jobs) {
    // Chronos' states: "<n> running" while tasks run, else queued or idle.
    int running = 0;
    bool queued = false;
    for (const Run& run : state_.runs) {
      if (run.job != name) continue;
      running += run.launched ? 1 : 0;
      queued = queued || !run.launched;
    }
    const std::string current = running > 0 ? std::to_string(running) + " running" : queued ? "queued" : "idle";
    out += "node," + name + "," + (job.lastStatus.empty() ? "fresh" : job.lastStatus) + "," + current + "\n";
  }
  for (const auto& [name, job] : state_.jobs) {
    for (const std::string& parent : job.spec.parents) out += "link," + parent + "," + name + "\n";
  }
  http::Response response = http::Response::text(200, out);
  return response;
}

}  // namespace mantle::cron
