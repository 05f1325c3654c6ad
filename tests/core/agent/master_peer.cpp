#include "master_peer.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <set>
#include <stdexcept>

#include "http/server.hpp"
#include "wire/recordio.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {

struct MasterPeer::State {
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::shared_ptr<http::Stream> stream;
  std::string streamId;
  std::string agentId;
  int nextAgent = 1;
  int nextStream = 1;
  int registrations = 0;
  int reregistrations = 0;
  bool autoAck = true;
  internal::Call lastRegistration;
  std::vector<internal::StatusUpdate> updates;
  std::vector<internal::Call> calls;
  std::function<void(const internal::StatusUpdate&)> onUpdate;

  bool write(const internal::Event& event) {
    std::shared_ptr<http::Stream> current;
    {
      std::lock_guard<std::mutex> lock(mutex);
      current = stream;
    }
    return current && current->write(wire::encodeRecord(event.SerializeAsString()));
  }
};

MasterPeer::MasterPeer() : state_(std::make_shared<State>()) {}

MasterPeer::~MasterPeer() {
  stop();
}

void MasterPeer::start(int port) {
  io_ = std::make_unique<boost::asio::io_context>();
  std::shared_ptr<State> state = state_;
  http::Handler handler = [state](const http::Request& request, const http::Responder& responder) {
    if (request.path != "/internal/v1/agent" || request.method != "POST") {
      responder.respond(http::Response::text(404, "not here"));
      return;
    }
    internal::Call call;
    if (!call.ParseFromString(request.body)) {
      responder.respond(http::Response::text(400, "bad call"));
      return;
    }
    if (call.type() == internal::Call::REGISTER || call.type() == internal::Call::REREGISTER) {
      internal::Event event;
      std::string streamId;
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->calls.push_back(call);
        state->lastRegistration = call;
        if (call.type() == internal::Call::REGISTER) {
          state->agentId = "peer-S" + std::to_string(state->nextAgent++);
          ++state->registrations;
          event.set_type(internal::Event::REGISTERED);
          event.mutable_registered()->mutable_agent_id()->set_value(state->agentId);
          event.mutable_registered()->mutable_master_info()->set_id("peer");
          event.mutable_registered()->mutable_master_info()->set_ip(0x0100007f);
          event.mutable_registered()->mutable_master_info()->set_port(5050);
          event.mutable_registered()->set_heartbeat_interval_seconds(15);
        } else {
          state->agentId = call.agent_id().value();
          ++state->reregistrations;
          event.set_type(internal::Event::REREGISTERED);
          event.mutable_reregistered()->mutable_agent_id()->set_value(state->agentId);
          event.mutable_reregistered()->mutable_master_info()->set_id("peer");
          event.mutable_reregistered()->mutable_master_info()->set_ip(0x0100007f);
          event.mutable_reregistered()->mutable_master_info()->set_port(5050);
          event.mutable_reregistered()->set_heartbeat_interval_seconds(15);
        }
        streamId = "stream-" + std::to_string(state->nextStream++);
      }
      auto stream = responder.stream(200, {{"Content-Type", "application/x-protobuf"}, {"Mantle-Stream-Id", streamId}});
      stream->write(wire::encodeRecord(event.SerializeAsString()));
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        if (state->stream) state->stream->close();
        state->stream = stream;
        state->streamId = streamId;
      }
      state->changed.notify_all();
      return;
    }
    std::function<void(const internal::StatusUpdate&)> callback;
    bool ack = false;
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      if (request.header("Mantle-Stream-Id") != state->streamId) {
        responder.respond(http::Response::text(409, "stale stream id"));
        return;
      }
      state->calls.push_back(call);
      if (call.type() == internal::Call::STATUS_UPDATE) {
        state->updates.push_back(call.status_update().update());
        callback = state->onUpdate;
        ack = state->autoAck;
      }
    }
    responder.respond(http::Response::text(202, ""));
    state->changed.notify_all();
    if (call.type() == internal::Call::STATUS_UPDATE) {
      if (callback) callback(call.status_update().update());
      if (ack) {
        internal::Event event;
        event.set_type(internal::Event::ACKNOWLEDGE);
        *event.mutable_acknowledge()->mutable_framework_id() = call.status_update().update().framework_id();
        *event.mutable_acknowledge()->mutable_task_id() = call.status_update().update().status().task_id();
        event.mutable_acknowledge()->set_uuid(call.status_update().update().uuid());
        state->write(event);
      }
    }
  };
  server_ = std::make_unique<http::Server>(*io_, handler);
  auto bound = server_->listen("127.0.0.1", static_cast<std::uint16_t>(port));
  // A restart on the same port may have to wait for the old sockets to go.
  for (int attempt = 0; !bound.ok() && port != 0 && attempt < 100; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server_ = std::make_unique<http::Server>(*io_, handler);
    bound = server_->listen("127.0.0.1", static_cast<std::uint16_t>(port));
  }
  if (!bound.ok()) throw std::runtime_error("master peer: " + bound.error().message);
  port_ = *bound;
  thread_ = std::thread([io = io_.get()] {
    auto work = boost::asio::make_work_guard(*io);
    io->run();
  });
}

void MasterPeer::stop() {
  if (!server_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->stream) state_->stream->close();
    state_->stream.reset();
    state_->streamId.clear();
  }
  server_->stop();
  // Let the server close its sockets before the loop stops.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  io_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
  io_.reset();
}

void MasterPeer::setAutoAcknowledge(bool on) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->autoAck = on;
}

void MasterPeer::onUpdate(std::function<void(const internal::StatusUpdate&)> callback) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->onUpdate = std::move(callback);
}

bool MasterPeer::send(const internal::Event& event) {
  return state_->write(event);
}

bool MasterPeer::runTask(const mesos::v1::FrameworkInfo& framework, const mesos::v1::TaskInfo& task) {
  internal::Event event;
  event.set_type(internal::Event::RUN_TASK);
  *event.mutable_run_task()->mutable_framework_info() = framework;
  *event.mutable_run_task()->mutable_task() = task;
  return send(event);
}

bool MasterPeer::runTaskGroup(const mesos::v1::FrameworkInfo& framework, const std::string& executorId,
                              const std::vector<mesos::v1::TaskInfo>& tasks) {
  internal::Event event;
  event.set_type(internal::Event::RUN_TASK_GROUP);
  auto* group = event.mutable_run_task_group();
  *group->mutable_framework_info() = framework;
  auto* executor = group->mutable_executor();
  executor->set_type(mesos::v1::ExecutorInfo::DEFAULT);
  executor->mutable_executor_id()->set_value(executorId);
  *executor->mutable_framework_id() = framework.id();
  for (const auto& task : tasks) *group->mutable_task_group()->add_tasks() = task;
  return send(event);
}

bool MasterPeer::killTask(const std::string& frameworkId, const std::string& taskId) {
  internal::Event event;
  event.set_type(internal::Event::KILL_TASK);
  event.mutable_kill_task()->mutable_framework_id()->set_value(frameworkId);
  event.mutable_kill_task()->mutable_task_id()->set_value(taskId);
  return send(event);
}

bool MasterPeer::acknowledge(const internal::StatusUpdate& update) {
  internal::Event event;
  event.set_type(internal::Event::ACKNOWLEDGE);
  *event.mutable_acknowledge()->mutable_framework_id() = update.framework_id();
  *event.mutable_acknowledge()->mutable_task_id() = update.status().task_id();
  event.mutable_acknowledge()->set_uuid(update.uuid());
  return send(event);
}

bool MasterPeer::waitForRegistration(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [this] { return state_->stream != nullptr; });
}

std::string MasterPeer::agentId() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->agentId;
}

int MasterPeer::registrations() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->registrations;
}

int MasterPeer::reregistrations() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->reregistrations;
}

internal::Call MasterPeer::lastRegistration() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->lastRegistration;
}

std::vector<internal::StatusUpdate> MasterPeer::updates() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->updates;
}

std::vector<internal::StatusUpdate> MasterPeer::distinctUpdates(const std::string& taskId) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<internal::StatusUpdate> out;
  std::set<std::string> seen;
  for (const auto& update : state_->updates) {
    if (update.status().task_id().value() == taskId && seen.insert(update.uuid()).second) out.push_back(update);
  }
  return out;
}

internal::StatusUpdate MasterPeer::waitForUpdate(const std::string& taskId, mesos::v1::TaskState state,
                                                 std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(state_->mutex);
  internal::StatusUpdate found;
  state_->changed.wait_for(lock, timeout, [&] {
    for (const auto& update : state_->updates) {
      if (update.status().task_id().value() == taskId && update.status().state() == state) {
        found = update;
        return true;
      }
    }
    return false;
  });
  return found;
}

internal::StatusUpdate MasterPeer::waitForTerminal(const std::string& taskId, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(state_->mutex);
  internal::StatusUpdate found;
  state_->changed.wait_for(lock, timeout, [&] {
    for (const auto& update : state_->updates) {
      if (update.status().task_id().value() == taskId && wire::isTerminal(update.status().state())) {
        found = update;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::vector<internal::Call> MasterPeer::calls() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->calls;
}

mesos::v1::FrameworkInfo testFramework(const std::string& id, bool checkpoint) {
  mesos::v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("agent test framework");
  info.mutable_id()->set_value(id);
  info.set_checkpoint(checkpoint);
  info.add_capabilities()->set_type(mesos::v1::FrameworkInfo::Capability::TASK_KILLING_STATE);
  return info;
}

mesos::v1::TaskInfo commandTask(const std::string& id, const std::string& command, const std::string& agentId) {
  mesos::v1::TaskInfo task;
  task.set_name(id);
  task.mutable_task_id()->set_value(id);
  task.mutable_agent_id()->set_value(agentId);
  for (const auto& [name, value] : {std::pair<const char*, double>{"cpus", 0.1}, {"mem", 32}}) {
    auto* resource = task.add_resources();
    resource->set_name(name);
    resource->set_type(mesos::v1::Value::SCALAR);
    resource->mutable_scalar()->set_value(value);
  }
  task.mutable_command()->set_value(command);
  return task;
}

}  // namespace mantle::testing
