// A protocol-level peer for mantle-agent tests: a real HTTP server speaking
// the master side of mantle.internal (POST /internal/v1/agent, RecordIO event
// streams, protobuf), driven by the test. Not a master: it records what the
// agent sends and sends what the test asks for. Also used by bench/.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mantle/internal/agent_master.pb.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace mantle::http {
class Server;
class Stream;
}  // namespace mantle::http

namespace mantle::testing {

class MasterPeer {
 public:
  MasterPeer();
  ~MasterPeer();
  MasterPeer(const MasterPeer&) = delete;
  MasterPeer& operator=(const MasterPeer&) = delete;

  // Listens on 127.0.0.1:`port` (0: a free one). Stop and start again on the
  // same port to play a master restart.
  void start(int port = 0);
  void stop();
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Acknowledge every status update at once (the default).
  void setAutoAcknowledge(bool on);
  // Called (on a server thread) for every status update as it arrives.
  void onUpdate(std::function<void(const internal::StatusUpdate&)> callback);

  // Sends an event on the agent's current stream; false when none is open.
  bool send(const internal::Event& event);
  bool runTask(const mesos::v1::FrameworkInfo& framework, const mesos::v1::TaskInfo& task);
  // RUN_TASK_GROUP with a DEFAULT executor `executorId` (mantle-executor).
  bool runTaskGroup(const mesos::v1::FrameworkInfo& framework, const std::string& executorId,
                    const std::vector<mesos::v1::TaskInfo>& tasks);
  bool killTask(const std::string& frameworkId, const std::string& taskId);
  bool acknowledge(const internal::StatusUpdate& update);

  bool waitForRegistration(std::chrono::milliseconds timeout);
  std::string agentId() const;
  int registrations() const;    // REGISTER calls answered
  int reregistrations() const;  // REREGISTER calls answered
  internal::Call lastRegistration() const;

  std::vector<internal::StatusUpdate> updates() const;
  // Updates of `taskId` with distinct uuids, in arrival order.
  std::vector<internal::StatusUpdate> distinctUpdates(const std::string& taskId) const;
  // Waits for an update of `taskId` in `state`; returns it (state TASK_STAGING
  // and no task id when it did not come).
  internal::StatusUpdate waitForUpdate(const std::string& taskId, mesos::v1::TaskState state,
                                       std::chrono::milliseconds timeout) const;
  // Waits for any terminal update of `taskId`.
  internal::StatusUpdate waitForTerminal(const std::string& taskId, std::chrono::milliseconds timeout) const;
  std::vector<internal::Call> calls() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// A framework and a command task as tests need them.
mesos::v1::FrameworkInfo testFramework(const std::string& id = "framework-1", bool checkpoint = true);
mesos::v1::TaskInfo commandTask(const std::string& id, const std::string& command, const std::string& agentId);

}  // namespace mantle::testing
