// The agent's side of the v0 executor protocol (v0_executor.hpp): the
// libprocess actor `slave(1)` and the translation of the agent's v1 executor
// events into the mesos.internal messages libmesos' executor driver expects.
#include "agent/v0_executor.hpp"

#include <glog/logging.h>
#include <boost/asio/post.hpp>

#include "agent/agent.hpp"
#include "agent/checkpoint.hpp"
#include "mesos/internal/messages.pb.h"

namespace mantle::agent {

namespace asio = boost::asio;
namespace msg = mesos::internal;
using ExecutorEvent = mesos::v1::executor::Event;

namespace v0 {

std::unique_ptr<google::protobuf::Message> messageFor(const ExecutorEvent& event, const ExecutorContext& context) {
  const mesos::v1::AgentID& agentId = context.agent.id();
  const mesos::v1::FrameworkID& frameworkId = context.framework.id();
  switch (event.type()) {
    case ExecutorEvent::SUBSCRIBED: {
      if (context.reregistered) {
        auto out = std::make_unique<msg::ExecutorReregisteredMessage>();
        *out->mutable_slave_id() = agentId;
        *out->mutable_slave_info() = context.agent;
        return out;
      }
      auto out = std::make_unique<msg::ExecutorRegisteredMessage>();
      *out->mutable_executor_info() = context.executor;
      *out->mutable_framework_id() = frameworkId;
      *out->mutable_framework_info() = context.framework;
      *out->mutable_slave_id() = agentId;
      *out->mutable_slave_info() = context.agent;
      return out;
    }
    case ExecutorEvent::LAUNCH: {
      auto out = std::make_unique<msg::RunTaskMessage>();
      *out->mutable_framework_id() = frameworkId;
      *out->mutable_framework() = context.framework;
      *out->mutable_task() = event.launch().task();
      return out;
    }
    case ExecutorEvent::KILL: {
      auto out = std::make_unique<msg::KillTaskMessage>();
      *out->mutable_framework_id() = frameworkId;
      *out->mutable_task_id() = event.kill().task_id();
      if (event.kill().has_kill_policy()) *out->mutable_kill_policy() = event.kill().kill_policy();
      return out;
    }
    case ExecutorEvent::ACKNOWLEDGED: {
      auto out = std::make_unique<msg::StatusUpdateAcknowledgementMessage>();
      *out->mutable_slave_id() = agentId;
      *out->mutable_framework_id() = frameworkId;
      *out->mutable_task_id() = event.acknowledged().task_id();
      out->set_uuid(event.acknowledged().uuid());
      return out;
    }
    case ExecutorEvent::MESSAGE: {
      auto out = std::make_unique<msg::FrameworkToExecutorMessage>();
      *out->mutable_slave_id() = agentId;
      *out->mutable_framework_id() = frameworkId;
      *out->mutable_executor_id() = context.executor.executor_id();
      out->set_data(event.message().data());
      return out;
    }
    case ExecutorEvent::SHUTDOWN: {
      auto out = std::make_unique<msg::ShutdownExecutorMessage>();
      *out->mutable_executor_id() = context.executor.executor_id();
      *out->mutable_framework_id() = frameworkId;
      return out;
    }
    default: return nullptr;
  }
}

}  // namespace v0

void Agent::startV0() {
  const std::string host = flags_.ip == "0.0.0.0" ? "127.0.0.1" : flags_.ip;
  transport_ = std::make_unique<libprocess::Transport>(libprocess::Transport::Address{host, port_});
  // Handlers run on the HTTP server's threads: everything moves to the strand.
  auto onStrand = [this]<typename M>(void (Agent::*handler)(const libprocess::Upid&, const M&)) {
    transport_->install<M>(v0::kAgentActor, [this, handler](const libprocess::Upid& from, M message) {
      asio::post(strand_, [this, handler, from, message = std::move(message)] { (this->*handler)(from, message); });
    });
  };
  onStrand(&Agent::v0Register);
  onStrand(&Agent::v0Reregister);
  onStrand(&Agent::v0StatusUpdate);
  transport_->install<msg::ExecutorToFrameworkMessage>(
      v0::kAgentActor, [this](const libprocess::Upid& from, msg::ExecutorToFrameworkMessage message) {
        asio::post(strand_, [this, from, message = std::move(message)] {
          Executor* executor = findExecutor(message.framework_id().value(), message.executor_id().value());
          if (executor == nullptr || executor->state == Executor::State::kTerminated) {
            LOG(WARNING) << "Dropping a framework message from " << from.str() << " of unknown executor '"
                         << message.executor_id().value() << "' of framework " << message.framework_id().value();
            ++counters_["invalid_framework_messages"];
            return;
          }
          executorMessage(*executor, message.data());
        });
      });
  // A v0 scheduler driver sends its framework messages straight to the
  // agent that runs the executor (the agent's UPID came with the offer).
  transport_->install<msg::FrameworkToExecutorMessage>(
      v0::kAgentActor, [this](const libprocess::Upid&, msg::FrameworkToExecutorMessage message) {
        asio::post(strand_, [this, message = std::move(message)] {
          frameworkMessage(message.framework_id().value(), message.executor_id().value(), message.data());
        });
      });
  transport_->onExited([this](const libprocess::Upid& peer) { asio::post(strand_, [this, peer] { v0Exited(peer); }); });
  v0Transport_.store(transport_.get());

  // After a restart: the v0 executors recovered are asked to reregister; the
  // reregistration timer of recovery destroys those that do not.
  for (auto& [frameworkId, framework] : frameworks_) {
    for (auto& [executorId, executor] : framework->executors) {
      if (!executor->recovered || executor->state != Executor::State::kRegistering || !executor->upid) continue;
      LOG(INFO) << "Asking v0 executor " << executorId << " of framework " << frameworkId << " at "
                << executor->upid->str() << " to reregister";
      msg::ReconnectExecutorMessage reconnect;
      reconnect.mutable_slave_id()->set_value(agentId_);
      transport_->send(transport_->self(v0::kAgentActor), *executor->upid, reconnect);
      transport_->link(*executor->upid);
    }
  }
}

Result<Agent::Executor*> Agent::v0Registering(const libprocess::Upid& from, const std::string& frameworkId,
                                              const std::string& executorId) {
  Executor* executor = findExecutor(frameworkId, executorId);
  std::string refusal;
  if (stopping_) {
    refusal = "the agent is stopping";
  } else if (executor == nullptr) {
    refusal = "it is not known to this agent";
  } else if (executor->state != Executor::State::kRegistering) {
    refusal = executor->state == Executor::State::kRunning ? "it is registered already" : "it is terminating";
  } else if (executor->launchGroup) {
    refusal = "task groups need a v1 executor";
  }
  if (refusal.empty()) return executor;
  LOG(WARNING) << "Shutting down v0 executor '" << executorId << "' of framework " << frameworkId << " at "
               << from.str() << ": " << refusal;
  msg::ShutdownExecutorMessage shutdown;
  shutdown.mutable_executor_id()->set_value(executorId);
  shutdown.mutable_framework_id()->set_value(frameworkId);
  transport_->send(transport_->self(v0::kAgentActor), from, shutdown);
  return failedPrecondition(refusal);
}

void Agent::v0Attach(Executor& executor, const libprocess::Upid& from, bool reregistered) {
  if (executor.stream) executor.stream->close();
  executor.stream.reset();
  executor.upid = from;
  executor.reregistered = reregistered;
  // The UPID survives an agent restart, which asks it to reregister.
  Status saved = checkpoint::writeFile(executor.runMeta + "/" + v0::kPidFile, from.str());
  if (!saved.ok()) LOG(ERROR) << "Checkpointing: " << saved.error().message;
  transport_->link(from);
}

void Agent::v0Register(const libprocess::Upid& from, const msg::RegisterExecutorMessage& message) {
  const std::string& frameworkId = message.framework_id().value();
  const std::string& executorId = message.executor_id().value();
  LOG(INFO) << "Registration of v0 executor '" << executorId << "' of framework " << frameworkId << " from "
            << from.str();
  Result<Executor*> executor = v0Registering(from, frameworkId, executorId);
  if (!executor.ok()) return;
  v0Attach(**executor, from, false);
  executorAttached(**executor, {}, {});
}

void Agent::v0Reregister(const libprocess::Upid& from, const msg::ReregisterExecutorMessage& message) {
  const std::string& frameworkId = message.framework_id().value();
  const std::string& executorId = message.executor_id().value();
  LOG(INFO) << "Reregistration of v0 executor '" << executorId << "' of framework " << frameworkId << " from "
            << from.str() << " with " << message.tasks_size() << " unacknowledged task(s) and "
            << message.updates_size() << " unacknowledged update(s)";
  Result<Executor*> executor = v0Registering(from, frameworkId, executorId);
  if (!executor.ok()) return;
  std::set<std::string> tasks;
  for (const auto& task : message.tasks()) tasks.insert(task.task_id().value());
  std::vector<mesos::v1::TaskStatus> updates;
  for (const auto& update : message.updates()) {
    mesos::v1::TaskStatus status = update.status();
    status.set_uuid(update.uuid());  // the driver's uuid is the update's
    updates.push_back(std::move(status));
  }
  v0Attach(**executor, from, true);
  executorAttached(**executor, tasks, updates);
}

void Agent::v0StatusUpdate(const libprocess::Upid& from, const msg::StatusUpdateMessage& message) {
  const msg::StatusUpdate& update = message.update();
  const std::string& frameworkId = update.framework_id().value();
  const std::string& executorId = update.executor_id().value();
  auto drop = [&](const std::string& why) {
    LOG(WARNING) << "Dropping a status update for task '" << update.status().task_id().value() << "' from "
                 << from.str() << ": " << why;
    ++counters_["invalid_status_updates"];
  };
  if (!update.has_status() || update.status().task_id().value().empty()) return drop("it names no task");
  if (update.uuid().size() != 16) return drop("it has no 16-byte uuid");
  if (update.slave_id().value() != agentId_) {
    return drop("it is for agent '" + update.slave_id().value() + "', not this one");
  }
  if (update.status().state() == mesos::v1::TASK_STAGING) return drop("an executor cannot send TASK_STAGING");
  Executor* executor = findExecutor(frameworkId, executorId);
  if (executor == nullptr || executor->state == Executor::State::kTerminated) {
    return drop("executor '" + executorId + "' of framework " + frameworkId + " is not running here");
  }
  mesos::v1::TaskStatus status = update.status();
  status.set_uuid(update.uuid());
  executorUpdate(*executor, status);
}

void Agent::v0Exited(const libprocess::Upid& peer) {
  for (auto& [frameworkId, framework] : frameworks_) {
    for (auto& [executorId, executor] : framework->executors) {
      if (!executor->upid || *executor->upid != peer) continue;
      LOG(INFO) << "Lost the connection to v0 executor " << executorId << " of framework " << frameworkId << " at "
                << peer.str();
      executor->upid.reset();
    }
  }
}

void Agent::sendToV0Executor(Executor& executor, const ExecutorEvent& event) {
  v0::ExecutorContext context;
  context.agent = info_;
  auto framework = frameworks_.find(executor.frameworkId);
  if (framework != frameworks_.end()) context.framework = framework->second->info;
  context.executor = executor.info;
  context.reregistered = executor.reregistered;
  std::unique_ptr<google::protobuf::Message> message = v0::messageFor(event, context);
  if (message == nullptr) {
    VLOG(1) << "No v0 message for executor event " << ExecutorEvent::Type_Name(event.type()) << "; not sent to "
            << executor.upid->str();
    return;
  }
  transport_->send(transport_->self(v0::kAgentActor), *executor.upid, *message);
}

}  // namespace mantle::agent
