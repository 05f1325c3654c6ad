#include "test_agent.hpp"

#include "http/client.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/common/uuid.hpp"
#include "resources/resources.hpp"
#include "wire/recordio.hpp"

namespace mantle::testing {

namespace v1 = ::mesos::v1;
using internal::Call;
using internal::Event;

TestAgent::TestAgent(Options options) : options_(std::move(options)) {
  sender_ = std::thread([this] { senderLoop(); });
}

TestAgent::~TestAgent() {
  disconnect();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (sender_.joinable()) sender_.join();
}

void TestAgent::setMasterUrl(const std::string& url) {
  std::lock_guard<std::mutex> lock(mutex_);
  options_.masterUrl = url;
}

std::string TestAgent::id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return id_;
}

std::string TestAgent::streamId() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return streamId_;
}

std::vector<Event> TestAgent::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

int TestAgent::count(Event::Type type) const {
  std::lock_guard<std::mutex> lock(mutex_);
  int n = 0;
  for (const Event& e : events_) n += e.type() == type ? 1 : 0;
  return n;
}

bool TestAgent::waitFor(Event::Type type, std::chrono::milliseconds timeout,
                        const std::function<bool(const Event&)>& predicate) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] {
    for (const Event& e : events_) {
      if (e.type() == type && (!predicate || predicate(e))) return true;
    }
    return false;
  });
}

Status TestAgent::connect(std::chrono::milliseconds timeout) {
  disconnect();
  Call call;
  v1::AgentInfo info;
  info.set_hostname(options_.hostname);
  info.set_port(options_.port);
  Result<resources::Resources> resources = resources::Resources::parse(options_.resources);
  if (!resources.ok()) return resources.error();
  resources->copyTo(info.mutable_resources());
  int before;
  Event::Type expected;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (id_.empty()) {
      call.set_type(Call::REGISTER);
      *call.mutable_registration()->mutable_agent_info() = info;
      call.mutable_registration()->set_version("test");
      expected = Event::REGISTERED;
    } else {
      call.set_type(Call::REREGISTER);
      call.mutable_agent_id()->set_value(id_);
      info.mutable_id()->set_value(id_);
      auto* rr = call.mutable_reregistration();
      *rr->mutable_agent_info() = info;
      rr->set_version("test");
      std::map<std::string, internal::FrameworkState*> frameworks;
      for (auto& [key, task] : tasks_) {
        internal::FrameworkState*& state = frameworks[key.first];
        if (state == nullptr) {
          state = rr->add_frameworks();
          *state->mutable_framework_info() = task.framework;
        }
        v1::Task* t = state->add_tasks();
        t->set_name(task.info.name());
        *t->mutable_task_id() = task.info.task_id();
        t->mutable_framework_id()->set_value(key.first);
        t->mutable_agent_id()->set_value(id_);
        t->set_state(task.state);
        *t->mutable_resources() = task.info.resources();
      }
      expected = Event::REREGISTERED;
    }
    before = 0;
    for (const Event& e : events_) before += e.type() == expected ? 1 : 0;
    cancel_ = std::make_shared<std::atomic<bool>>(false);
  }
  reader_ = std::thread([this, call] { readLoop(call); });
  std::unique_lock<std::mutex> lock(mutex_);
  bool ok = cv_.wait_for(lock, timeout, [&] {
    int n = 0;
    for (const Event& e : events_) n += e.type() == expected ? 1 : 0;
    return n > before;
  });
  if (!ok) return Error(StatusCode::kDeadlineExceeded, "the master did not answer " + Call::Type_Name(call.type()));
  // Re-send what is still unacknowledged, as the real agent's retry does.
  for (auto& [key, task] : tasks_) {
    if (!task.pending.empty()) sendFront(task);
  }
  return {};
}

void TestAgent::disconnect() {
  std::shared_ptr<std::atomic<bool>> cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancel = cancel_;
  }
  if (cancel) cancel->store(true);
  if (reader_.joinable()) reader_.join();
}

void TestAgent::readLoop(Call call) {
  std::string url;
  std::shared_ptr<std::atomic<bool>> cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    url = options_.masterUrl + "/internal/v1/agent";
    cancel = cancel_;
  }
  wire::RecordDecoder decoder;
  http::StreamCallbacks callbacks;
  callbacks.onHead = [&](const http::ClientResponse& head) {
    if (head.status != 200) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    streamId_ = head.header("Mantle-Stream-Id");
    return true;
  };
  callbacks.onData = [&](std::string_view data) {
    std::vector<std::string> records;
    if (!decoder.feed(data, &records).ok()) return false;
    for (const std::string& record : records) {
      Event event;
      if (!event.ParseFromString(record)) continue;
      handle(event);
    }
    return true;
  };
  (void)http::stream("POST", url, {{"Content-Type", "application/x-protobuf"}}, call.SerializeAsString(), callbacks,
                     cancel);
}

void TestAgent::handle(const Event& event) {
  std::lock_guard<std::mutex> lock(mutex_);
  events_.push_back(event);
  switch (event.type()) {
    case Event::REGISTERED:
      id_ = event.registered().agent_id().value();
      break;
    case Event::RUN_TASK: {
      if (!options_.autoRun) break;
      const auto& run = event.run_task();
      std::string frameworkId = run.framework_info().id().value();
      Task& task = tasks_[{frameworkId, run.task().task_id().value()}];
      task.framework = run.framework_info();
      task.info = run.task();
      queueUpdate(task, frameworkId, v1::TASK_RUNNING);
      if (run.task().command().value().rfind("sleep", 0) != 0) queueUpdate(task, frameworkId, v1::TASK_FINISHED);
      break;
    }
    case Event::RUN_TASK_GROUP: {
      if (!options_.autoRun) break;
      const auto& run = event.run_task_group();
      std::string frameworkId = run.framework_info().id().value();
      for (const v1::TaskInfo& info : run.task_group().tasks()) {
        Task& task = tasks_[{frameworkId, info.task_id().value()}];
        task.framework = run.framework_info();
        task.info = info;
        queueUpdate(task, frameworkId, v1::TASK_RUNNING);
      }
      break;
    }
    case Event::KILL_TASK: {
      if (!options_.autoRun) break;
      auto it = tasks_.find({event.kill_task().framework_id().value(), event.kill_task().task_id().value()});
      if (it != tasks_.end()) queueUpdate(it->second, it->first.first, v1::TASK_KILLED);
      break;
    }
    case Event::ACKNOWLEDGE: {
      auto it = tasks_.find({event.acknowledge().framework_id().value(), event.acknowledge().task_id().value()});
      if (it != tasks_.end() && !it->second.pending.empty() &&
          it->second.pending.front().uuid() == event.acknowledge().uuid()) {
        it->second.pending.pop_front();
        if (!it->second.pending.empty()) sendFront(it->second);
      }
      break;
    }
    case Event::SHUTDOWN_FRAMEWORK: {
      const std::string& frameworkId = event.shutdown_framework().framework_id().value();
      for (auto it = tasks_.begin(); it != tasks_.end();) {
        it = it->first.first == frameworkId ? tasks_.erase(it) : std::next(it);
      }
      break;
    }
    default:
      break;
  }
  cv_.notify_all();
}

void TestAgent::report(const std::string& frameworkId, const std::string& taskId, v1::TaskState state) {
  std::lock_guard<std::mutex> lock(mutex_);
  Task& task = tasks_[{frameworkId, taskId}];
  if (!task.info.has_task_id()) task.info.mutable_task_id()->set_value(taskId);
  queueUpdate(task, frameworkId, state);
}

// With mutex_ held.
void TestAgent::queueUpdate(Task& task, const std::string& frameworkId, v1::TaskState state) {
  internal::StatusUpdate update;
  update.mutable_framework_id()->set_value(frameworkId);
  update.set_timestamp(wallNow());
  update.set_uuid(uuid::randomBytes());
  v1::TaskStatus* status = update.mutable_status();
  *status->mutable_task_id() = task.info.task_id();
  status->set_state(state);
  status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  status->set_uuid(update.uuid());
  status->set_timestamp(update.timestamp());
  status->mutable_agent_id()->set_value(id_);
  task.state = state;
  task.pending.push_back(update);
  for (auto& u : task.pending) u.set_latest_state(state);
  if (task.pending.size() == 1) sendFront(task);
}

// With mutex_ held: queues the call for the sender thread.
void TestAgent::sendFront(Task& task) {
  Call call;
  call.set_type(Call::STATUS_UPDATE);
  call.mutable_agent_id()->set_value(id_);
  *call.mutable_status_update()->mutable_update() = task.pending.front();
  outbox_.push_back(std::move(call));
  cv_.notify_all();
}

int TestAgent::send(Call call, const std::string& streamId) {
  std::string url;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    url = options_.masterUrl + "/internal/v1/agent";
  }
  http::Headers headers = {{"Content-Type", "application/x-protobuf"}};
  if (!streamId.empty()) headers.emplace_back("Mantle-Stream-Id", streamId);
  Result<http::ClientResponse> response = http::request("POST", url, headers, call.SerializeAsString());
  return response.ok() ? response->status : 0;
}

void TestAgent::senderLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !outbox_.empty(); });
    if (stopping_) return;
    Call call = std::move(outbox_.front());
    outbox_.pop_front();
    std::string streamId = streamId_;
    lock.unlock();
    send(std::move(call), streamId);
    lock.lock();
  }
}

}  // namespace mantle::testing
