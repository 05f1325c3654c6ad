// A C++ client of the Mesos v1 scheduler HTTP API: subscribes (and
// re-subscribes with its framework id after a lost connection, i.e.
// failover), reads the RecordIO event stream on its own thread, hands events
// to callbacks, acknowledges status updates, and sends calls with the
// framework id and Mesos-Stream-Id filled in. JSON or protobuf. With a
// ZooKeeper master ("zk://hosts/path") it follows the leading master and
// re-subscribes with its framework id when the leader changes; it also
// follows 307 redirects from a non-leading master.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/client.hpp"
#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "wire/content_type.hpp"
#include "zookeeper/master_detector.hpp"

namespace mantle::scheduler {

namespace v1 = ::mesos::v1;

struct SchedulerOptions {
  // "host:port" or "http://host:port" of the master, or a ZooKeeper URL
  // (zk://host1:port1,host2:port2/path, file:///f) to follow the leader.
  std::string master;
  // Path of the scheduler endpoint (the /master/ prefix works too).
  std::string path = "/api/v1/scheduler";
  v1::FrameworkInfo frameworkInfo;
  std::vector<std::string> suppressedRoles;
  wire::MediaType contentType = wire::MediaType::kProtobuf;
  // Acknowledge every update that carries a uuid, after the update callback.
  bool autoAcknowledge = true;
  // Subscribe again when the stream ends (with the framework id once known),
  // after 50 ms, doubled after every failed attempt up to
  // reconnectDelaySeconds; a new leader named by ZooKeeper is tried at once.
  bool reconnect = true;
  double reconnectDelaySeconds = 0.5;
  // The Authorization header value sent with SUBSCRIBE and every call (the
  // master's --authenticate_http_frameworks); empty: none.
  // auth::basicAuthorization() makes one from a credential; set
  // frameworkInfo.principal to the same principal.
  std::string authorization;
};

// Every callback runs on the client's event thread, one at a time.
struct SchedulerCallbacks {
  std::function<void(const v1::scheduler::Event::Subscribed&)> subscribed;
  std::function<void(const std::vector<v1::Offer>&)> offers;
  std::function<void(const v1::OfferID&)> rescind;
  std::function<void(const v1::TaskStatus&)> update;
  std::function<void(const v1::scheduler::Event::Message&)> message;
  std::function<void(const v1::scheduler::Event::Failure&)> failure;
  // ERROR events; the master closes the stream after one.
  std::function<void(const std::string&)> error;
  std::function<void()> heartbeat;
  // The stream ended (the client reconnects if so configured).
  std::function<void(const std::string& why)> disconnected;
  // Every event, before the specific callback.
  std::function<void(const v1::scheduler::Event&)> event;
};

class Scheduler {
 public:
  Scheduler(SchedulerOptions options, SchedulerCallbacks callbacks);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the event thread, which subscribes.
  void start();
  // Closes the subscription and joins the thread. Idempotent.
  void stop();

  bool connected() const;
  std::optional<v1::FrameworkID> frameworkId() const;
  std::string streamId() const;
  std::string url() const;

  // Sends `call` with framework_id (when known) and the stream id header.
  // Any HTTP answer is a value; connection failures are Errors.
  Result<http::ClientResponse> send(v1::scheduler::Call call);
  // send() that expects 202 (or 200): other answers become an Error holding
  // the status and body.
  Status call(v1::scheduler::Call call);

  Status accept(const std::vector<v1::OfferID>& offerIds, const std::vector<v1::Offer::Operation>& operations,
                std::optional<double> refuseSeconds = std::nullopt);
  // ACCEPT of one offer with a LAUNCH of `tasks`.
  Status launch(const v1::Offer& offer, const std::vector<v1::TaskInfo>& tasks,
                std::optional<double> refuseSeconds = std::nullopt);
  Status decline(const std::vector<v1::OfferID>& offerIds, std::optional<double> refuseSeconds = std::nullopt);
  Status acknowledge(const v1::TaskStatus& status);
  Status kill(const v1::TaskID& taskId, const std::optional<v1::AgentID>& agentId = std::nullopt);
  // Explicit reconciliation of `tasks`; an empty list is implicit.
  Status reconcile(const std::vector<std::pair<v1::TaskID, std::optional<v1::AgentID>>>& tasks);
  Status revive(const std::vector<std::string>& roles = {});
  Status suppress(const std::vector<std::string>& roles = {});
  Status message(const v1::AgentID& agentId, const v1::ExecutorID& executorId, const std::string& data);
  Status shutdownExecutor(const v1::AgentID& agentId, const v1::ExecutorID& executorId);
  Status teardown();

 private:
  void run();
  bool subscribeOnce(std::string* why);
  void dispatch(const v1::scheduler::Event& event);
  // Points the client at the master named by a 307's Location
  // ("//host:port/path"); false when there is none.
  bool followRedirect(const http::ClientResponse& response);
  // Content type, accept and (when configured) authorization headers.
  http::Headers requestHeaders(const std::string& type) const;
  void leaderChanged(const std::optional<std::string>& base);  // detector thread

  SchedulerOptions options_;
  SchedulerCallbacks callbacks_;
  std::string base_;
  mutable std::mutex mutex_;
  std::optional<v1::FrameworkID> frameworkId_;
  std::string streamId_;
  bool connected_ = false;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  // Ends the current subscription only (a new leader); under mutex_.
  std::shared_ptr<std::atomic<bool>> streamCancel_;
  std::unique_ptr<zookeeper::MasterDetector> detector_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> tornDown_{false};
  std::thread thread_;
};

// A command task using `resources` (Mesos text syntax, e.g. "cpus:0.1;mem:32")
// on the offer's agent, in the offer's allocation role.
v1::TaskInfo commandTask(const std::string& taskId, const v1::Offer& offer, const std::string& command,
                         const std::string& resources);

}  // namespace mantle::scheduler
