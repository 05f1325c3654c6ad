// The agent's side of the v0 executor protocol: executors written against
// libmesos' MesosExecutorDriver talk to the agent's libprocess actor
// `slave(1)` with mesos.internal messages, on the agent's own port
// (core/libprocess). The agent keeps one executor model: a v0 executor's
// registration is a v1 SUBSCRIBE, its messages are v1 calls, and the v1
// events the agent sends it go out as the messages below (docs/V0.md).
#pragma once

#include <memory>
#include <string>

#include "mesos/v1/executor/executor.pb.h"
#include "mesos/v1/mesos.pb.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace mantle::agent::v0 {

// The agent's libprocess actor, as Mesos names it.
inline constexpr char kAgentActor[] = "slave(1)";
// The run's checkpoint of a v0 executor's UPID (in its run's meta dir).
inline constexpr char kPidFile[] = "libprocess.pid";

// What a v1 event for one executor needs to become a v0 message.
struct ExecutorContext {
  mesos::v1::AgentInfo agent;  // with its id
  mesos::v1::FrameworkInfo framework;
  mesos::v1::ExecutorInfo executor;
  // SUBSCRIBED answers a ReregisterExecutorMessage (after an agent restart).
  bool reregistered = false;
};

// The mesos.internal message that stands for `event` to a v0 executor:
// SUBSCRIBED -> ExecutorRegisteredMessage (ExecutorReregisteredMessage when
// `reregistered`), LAUNCH -> RunTaskMessage, KILL -> KillTaskMessage,
// ACKNOWLEDGED -> StatusUpdateAcknowledgementMessage, MESSAGE ->
// FrameworkToExecutorMessage, SHUTDOWN -> ShutdownExecutorMessage. None for
// events the v0 protocol does not have (HEARTBEAT, ERROR, LAUNCH_GROUP:
// task groups need a v1 executor).
std::unique_ptr<google::protobuf::Message> messageFor(const mesos::v1::executor::Event& event,
                                                      const ExecutorContext& context);

}  // namespace mantle::agent::v0
