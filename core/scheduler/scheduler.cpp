#include "scheduler/scheduler.hpp"

#include <algorithm>
#include <chrono>

#include <glog/logging.h>

#include "resources/resources.hpp"
#include "wire/event_stream.hpp"

namespace mantle::scheduler {

using v1::scheduler::Call;
using v1::scheduler::Event;

Scheduler::Scheduler(SchedulerOptions options, SchedulerCallbacks callbacks)
    : options_(std::move(options)), callbacks_(std::move(callbacks)) {
  base_ = options_.master;
  if (base_.rfind("http://", 0) != 0 && base_.rfind("https://", 0) != 0) base_ = "http://" + base_;
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  if (options_.frameworkInfo.has_id() && !options_.frameworkInfo.id().value().empty()) {
    frameworkId_ = options_.frameworkInfo.id();
  }
}

Scheduler::~Scheduler() {
  stop();
}

std::string Scheduler::url() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return base_ + options_.path;
}

void Scheduler::start() {
  if (thread_.joinable()) return;
  if (zookeeper::isZooKeeperMaster(options_.master)) {
    base_.clear();
    auto detector = zookeeper::MasterDetector::create(
        options_.master, [this](const std::optional<std::string>& leader) { leaderChanged(leader); });
    if (!detector.ok()) {
      LOG(ERROR) << "Scheduler: master '" << options_.master << "': " << detector.error().message;
      if (callbacks_.disconnected) callbacks_.disconnected(detector.error().message);
      return;
    }
    detector_ = std::move(*detector);
  }
  thread_ = std::thread([this] { run(); });
}

void Scheduler::stop() {
  stopping_ = true;
  cancel_->store(true);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (streamCancel_) streamCancel_->store(true);
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  detector_.reset();
}

void Scheduler::leaderChanged(const std::optional<std::string>& base) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!base || *base == base_) return;
  LOG(INFO) << "Scheduler: the leading master is now " << *base;
  base_ = *base;
  // The stream to the old leader ends now; run() subscribes to the new one
  // with the framework id.
  if (streamCancel_) streamCancel_->store(true);
}

http::Headers Scheduler::requestHeaders(const std::string& type) const {
  http::Headers headers = {{"Content-Type", type}, {"Accept", type}};
  if (!options_.authorization.empty()) headers.emplace_back("Authorization", options_.authorization);
  return headers;
}

bool Scheduler::followRedirect(const http::ClientResponse& response) {
  std::string location = response.header("Location");
  if (location.rfind("//", 0) == 0) {
    location = "http:" + location;
  } else if (location.rfind("http://", 0) != 0 && location.rfind("https://", 0) != 0) {
    return false;
  }
  std::size_t hostEnd = location.find('/', location.find("//") + 2);
  std::string base = hostEnd == std::string::npos ? location : location.substr(0, hostEnd);
  std::lock_guard<std::mutex> lock(mutex_);
  if (base == base_) return false;
  LOG(INFO) << "Scheduler: redirected to the leading master at " << base;
  base_ = base;
  return true;
}

bool Scheduler::connected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connected_;
}

std::optional<v1::FrameworkID> Scheduler::frameworkId() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return frameworkId_;
}

std::string Scheduler::streamId() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return streamId_;
}

void Scheduler::run() {
  // A leader that has just been elected may refuse for a few milliseconds:
  // retry soon, then back off to reconnectDelaySeconds.
  constexpr double kFirstDelaySeconds = 0.05;
  double delay = kFirstDelaySeconds;
  while (!stopping_) {
    if (detector_) {
      // No leader: wait for one (the detector keeps looking).
      std::optional<std::string> leader;
      while (!stopping_ && !(leader = detector_->waitForLeader(std::chrono::milliseconds(100)))) {
      }
      if (stopping_) break;
      // ZooKeeper's word, not a redirect's: a standby that had not yet
      // seen the old leader go may have redirected there.
      std::lock_guard<std::mutex> lock(mutex_);
      base_ = *leader;
    }
    std::string why;
    if (subscribeOnce(&why)) delay = kFirstDelaySeconds;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connected_ = false;
    }
    if (stopping_) break;
    if (callbacks_.disconnected) callbacks_.disconnected(why);
    if (!options_.reconnect || tornDown_) break;
    // The delay ends early when a new leader is known.
    delay = std::min(delay, options_.reconnectDelaySeconds);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(delay * 1000));
    delay *= 2;
    const std::string before = url();
    while (!stopping_ && std::chrono::steady_clock::now() < until && url() == before) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

bool Scheduler::subscribeOnce(std::string* why) {
  Call call;
  call.set_type(Call::SUBSCRIBE);
  v1::FrameworkInfo* info = call.mutable_subscribe()->mutable_framework_info();
  *info = options_.frameworkInfo;
  if (auto id = frameworkId()) {
    *info->mutable_id() = *id;
    *call.mutable_framework_id() = *id;
  }
  for (const std::string& role : options_.suppressedRoles) call.mutable_subscribe()->add_suppressed_roles(role);
  std::string type(wire::mediaTypeName(options_.contentType));
  http::Headers headers = requestHeaders(type);
  wire::RecordDecoder decoder;
  int status = 0;
  std::string errorBody;
  bool redirected = false;
  http::StreamCallbacks stream;
  stream.onHead = [&](const http::ClientResponse& head) {
    status = head.status;
    if (status == 307) redirected = followRedirect(head);
    if (status != 200) return true;  // read the body for the message
    std::lock_guard<std::mutex> lock(mutex_);
    streamId_ = head.header(std::string(wire::kMesosStreamIdHeader));
    return true;
  };
  stream.onData = [&](std::string_view data) {
    if (status != 200) {
      errorBody.append(data);
      return true;
    }
    Status fed = wire::feedEvents<Event>(decoder, data, options_.contentType, "scheduler",
                                         [&](Event&& event) { dispatch(event); });
    if (!fed.ok()) {
      *why = fed.error().message;
      return false;
    }
    return !stopping_;
  };
  // One flag per subscription: a leader change cancels it, stop() cancels
  // both.
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streamCancel_ = cancel;
    if (stopping_) cancel->store(true);
  }
  Status result = http::stream("POST", url(), headers, wire::encode(call, options_.contentType), stream, cancel);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streamCancel_.reset();
  }
  if (redirected && !stopping_) {
    // A non-leading master named the leader: subscribe there at once.
    return subscribeOnce(why);
  }
  if (!result.ok()) {
    *why = result.error().message;
  } else if (status != 200) {
    *why = "SUBSCRIBE answered " + std::to_string(status) + ": " + errorBody;
  } else if (why->empty()) {
    *why = "the master closed the event stream";
  }
  return status == 200;
}

void Scheduler::dispatch(const Event& event) {
  if (callbacks_.event) callbacks_.event(event);
  switch (event.type()) {
    case Event::SUBSCRIBED: {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        frameworkId_ = event.subscribed().framework_id();
        connected_ = true;
      }
      if (callbacks_.subscribed) callbacks_.subscribed(event.subscribed());
      break;
    }
    case Event::OFFERS:
      if (callbacks_.offers) {
        callbacks_.offers({event.offers().offers().begin(), event.offers().offers().end()});
      }
      break;
    case Event::RESCIND:
      if (callbacks_.rescind) callbacks_.rescind(event.rescind().offer_id());
      break;
    case Event::UPDATE: {
      if (callbacks_.update) callbacks_.update(event.update().status());
      if (options_.autoAcknowledge && !event.update().status().uuid().empty()) {
        Status acked = acknowledge(event.update().status());
        if (!acked.ok()) LOG(WARNING) << "Acknowledgement failed: " << acked.error().message;
      }
      break;
    }
    case Event::MESSAGE:
      if (callbacks_.message) callbacks_.message(event.message());
      break;
    case Event::FAILURE:
      if (callbacks_.failure) callbacks_.failure(event.failure());
      break;
    case Event::ERROR:
      if (callbacks_.error) callbacks_.error(event.error().message());
      break;
    case Event::HEARTBEAT:
      if (callbacks_.heartbeat) callbacks_.heartbeat();
      break;
    default: break;
  }
}

Result<http::ClientResponse> Scheduler::send(Call call) {
  std::string streamId;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (frameworkId_ && !call.has_framework_id()) *call.mutable_framework_id() = *frameworkId_;
    streamId = streamId_;
  }
  std::string type(wire::mediaTypeName(options_.contentType));
  http::Headers headers = requestHeaders(type);
  if (!streamId.empty()) headers.emplace_back(std::string(wire::kMesosStreamIdHeader), streamId);
  std::string body = wire::encode(call, options_.contentType);
  Result<http::ClientResponse> response = http::request("POST", url(), headers, body);
  if (response.ok() && response->status == 307 && followRedirect(*response)) {
    response = http::request("POST", url(), headers, body);
  }
  return response;
}

Status Scheduler::call(Call call) {
  std::string name = Call::Type_Name(call.type());
  Result<http::ClientResponse> response = send(std::move(call));
  if (!response.ok()) return response.error().withContext(name);
  if (response->status != 202 && response->status != 200) {
    return Error(StatusCode::kFailedPrecondition,
                 name + " answered " + std::to_string(response->status) + ": " + response->body);
  }
  return {};
}

Status Scheduler::accept(const std::vector<v1::OfferID>& offerIds, const std::vector<v1::Offer::Operation>& operations,
                         std::optional<double> refuseSeconds) {
  Call c;
  c.set_type(Call::ACCEPT);
  for (const auto& id : offerIds) *c.mutable_accept()->add_offer_ids() = id;
  for (const auto& op : operations) *c.mutable_accept()->add_operations() = op;
  if (refuseSeconds) c.mutable_accept()->mutable_filters()->set_refuse_seconds(*refuseSeconds);
  return call(std::move(c));
}

Status Scheduler::launch(const v1::Offer& offer, const std::vector<v1::TaskInfo>& tasks,
                         std::optional<double> refuseSeconds) {
  v1::Offer::Operation op;
  op.set_type(v1::Offer::Operation::LAUNCH);
  for (const auto& task : tasks) *op.mutable_launch()->add_task_infos() = task;
  return accept({offer.id()}, {op}, refuseSeconds);
}

Status Scheduler::decline(const std::vector<v1::OfferID>& offerIds, std::optional<double> refuseSeconds) {
  Call c;
  c.set_type(Call::DECLINE);
  for (const auto& id : offerIds) *c.mutable_decline()->add_offer_ids() = id;
  if (refuseSeconds) c.mutable_decline()->mutable_filters()->set_refuse_seconds(*refuseSeconds);
  return call(std::move(c));
}

Status Scheduler::acknowledge(const v1::TaskStatus& status) {
  Call c;
  c.set_type(Call::ACKNOWLEDGE);
  *c.mutable_acknowledge()->mutable_agent_id() = status.agent_id();
  *c.mutable_acknowledge()->mutable_task_id() = status.task_id();
  c.mutable_acknowledge()->set_uuid(status.uuid());
  return call(std::move(c));
}

Status Scheduler::kill(const v1::TaskID& taskId, const std::optional<v1::AgentID>& agentId) {
  Call c;
  c.set_type(Call::KILL);
  *c.mutable_kill()->mutable_task_id() = taskId;
  if (agentId) *c.mutable_kill()->mutable_agent_id() = *agentId;
  return call(std::move(c));
}

Status Scheduler::reconcile(const std::vector<std::pair<v1::TaskID, std::optional<v1::AgentID>>>& tasks) {
  Call c;
  c.set_type(Call::RECONCILE);
  c.mutable_reconcile();
  for (const auto& [taskId, agentId] : tasks) {
    auto* t = c.mutable_reconcile()->add_tasks();
    *t->mutable_task_id() = taskId;
    if (agentId) *t->mutable_agent_id() = *agentId;
  }
  return call(std::move(c));
}

Status Scheduler::revive(const std::vector<std::string>& roles) {
  Call c;
  c.set_type(Call::REVIVE);
  for (const auto& role : roles) c.mutable_revive()->add_roles(role);
  return call(std::move(c));
}

Status Scheduler::suppress(const std::vector<std::string>& roles) {
  Call c;
  c.set_type(Call::SUPPRESS);
  for (const auto& role : roles) c.mutable_suppress()->add_roles(role);
  return call(std::move(c));
}

Status Scheduler::message(const v1::AgentID& agentId, const v1::ExecutorID& executorId, const std::string& data) {
  Call c;
  c.set_type(Call::MESSAGE);
  *c.mutable_message()->mutable_agent_id() = agentId;
  *c.mutable_message()->mutable_executor_id() = executorId;
  c.mutable_message()->set_data(data);
  return call(std::move(c));
}

Status Scheduler::shutdownExecutor(const v1::AgentID& agentId, const v1::ExecutorID& executorId) {
  Call c;
  c.set_type(Call::SHUTDOWN);
  *c.mutable_shutdown()->mutable_agent_id() = agentId;
  *c.mutable_shutdown()->mutable_executor_id() = executorId;
  return call(std::move(c));
}

Status Scheduler::teardown() {
  Call c;
  c.set_type(Call::TEARDOWN);
  tornDown_ = true;
  return call(std::move(c));
}

v1::TaskInfo commandTask(const std::string& taskId, const v1::Offer& offer, const std::string& command,
                         const std::string& resources) {
  v1::TaskInfo task;
  task.set_name(taskId);
  task.mutable_task_id()->set_value(taskId);
  *task.mutable_agent_id() = offer.agent_id();
  task.mutable_command()->set_value(command);
  Result<resources::Resources> parsed = resources::Resources::parse(resources);
  CHECK(parsed.ok()) << "commandTask: " << parsed.error().message;
  std::string role = offer.allocation_info().role();
  resources::Resources allocated = role.empty() ? *parsed : parsed->allocatedTo(role);
  allocated.copyTo(task.mutable_resources());
  return task;
}

}  // namespace mantle::scheduler
