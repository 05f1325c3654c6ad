// A protocol-level agent for master tests: it speaks the real master <->
// agent protocol (core/proto/mantle/internal/agent_master.proto) over HTTP to
// a real mantle-master, without running anything. On RUN_TASK it reports
// TASK_RUNNING and, unless the command starts with "sleep", TASK_FINISHED; on
// KILL_TASK it reports TASK_KILLED. Like the real agent it sends a task's
// next update only after the previous one is acknowledged, and re-sends the
// unacknowledged one after re-registering.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mantle/internal/agent_master.pb.h"
#include "mantle/result.hpp"

namespace mantle::testing {

class TestAgent {
 public:
  struct Options {
    std::string masterUrl;  // http://127.0.0.1:PORT
    std::string resources = "cpus:2;mem:1024";
    std::string hostname = "test-agent";
    int port = 5051;
    bool autoRun = true;  // answer RUN_TASK / KILL_TASK with updates
  };

  explicit TestAgent(Options options);
  ~TestAgent();
  TestAgent(const TestAgent&) = delete;
  TestAgent& operator=(const TestAgent&) = delete;

  // REGISTER (no id yet) or REREGISTER (with the id and the tasks it runs);
  // waits for REGISTERED/REREGISTERED.
  Status connect(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  // Drops the stream, as a crashed or partitioned agent would.
  void disconnect();
  // Points the agent at another master URL (e.g. a restarted master).
  void setMasterUrl(const std::string& url);

  std::string id() const;
  std::vector<internal::Event> events() const;
  int count(internal::Event::Type type) const;
  // Waits until an event of `type` (matching `predicate`) has arrived.
  bool waitFor(internal::Event::Type type, std::chrono::milliseconds timeout,
               const std::function<bool(const internal::Event&)>& predicate = {}) const;

  // Queues an update for a task it runs (sent once earlier ones are acked).
  void report(const std::string& frameworkId, const std::string& taskId, mesos::v1::TaskState state);
  // Sends one call now and returns the HTTP status (0 on connection error).
  int send(internal::Call call, const std::string& streamId);
  std::string streamId() const;

 private:
  struct Task {
    mesos::v1::FrameworkInfo framework;
    mesos::v1::TaskInfo info;
    mesos::v1::TaskState state = mesos::v1::TASK_STAGING;
    std::deque<internal::StatusUpdate> pending;  // front is in flight
  };

  void readLoop(internal::Call call);
  void handle(const internal::Event& event);
  void queueUpdate(Task& task, const std::string& frameworkId, mesos::v1::TaskState state);
  void sendFront(Task& task);
  void senderLoop();

  Options options_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::string id_;
  std::string streamId_;
  std::vector<internal::Event> events_;
  std::map<std::pair<std::string, std::string>, Task> tasks_;
  std::deque<internal::Call> outbox_;
  bool stopping_ = false;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::thread reader_;
  std::thread sender_;
};

}  // namespace mantle::testing
