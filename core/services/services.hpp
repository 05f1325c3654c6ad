// mantle-services: Marathon's long-running service scheduler as a framework
// on the scheduler library. It keeps each app's instances running where its
// constraints allow, with host ports from the offers, health checks run by
// the executor, rolling deployments, launch backoff, and Marathon's v2 REST
// API and event stream (docs/SERVICES.md).
//
// Threads: all state lives on the io_context's one thread. Scheduler events
// and HTTP requests are posted there; calls to the master and state writes
// run in order on the Outbox's thread, so neither blocks the API.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <json/value.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/server.hpp"
#include "resources/resources.hpp"
#include "scheduler/scheduler.hpp"
#include "services/app.hpp"
#include "services/constraints.hpp"
#include "zookeeper/document_store.hpp"

namespace mantle::services {

struct ServicesOptions {
  std::string master;
  std::string name = "marathon";
  std::string role = "*";
  std::string user;
  std::string address;     // this instance's REST API, host:port
  std::string zkRedacted;  // for /v2/info; "" without --zk
  double failoverTimeoutSeconds = 604800;
  // The CNI network of container/bridge apps (Marathon's --mesos_bridge_name).
  std::string mesosBridgeName = "mesos-bridge";
  std::string principal;
  std::string authorization;
  // How often the deployments, backoffs and reconciliation are looked at.
  double tickSeconds = 1;
};

// Runs jobs one at a time, in order, on its own thread.
class Outbox {
 public:
  Outbox();
  ~Outbox();
  void post(std::function<void()> job);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

class Services {
 public:
  Services(boost::asio::io_context& io, ServicesOptions options, std::unique_ptr<zookeeper::DocumentStore> store);
  ~Services();

  // Loads the state and subscribes (with the stored framework id). Blocking
  // load; on the io thread.
  Status start();
  void stop();
  bool started() const { return started_; }

  // The REST API. On the io thread.
  void handle(const http::Request& request, const http::Responder& responder);

 private:
  struct HealthResult {
    int consecutiveFailures = 0;
    std::string firstSuccess, lastSuccess, lastFailure, lastFailureCause;
  };
  struct Task {
    std::string id, appId, version, agentId, host;
    Placement placement;
    std::vector<std::uint64_t> ports;
    std::vector<std::string> ipAddresses;  // on container networks, from the task's status
    std::string state = "TASK_STAGING";
    std::optional<bool> healthy;
    bool healthChecked = false;  // launched with a health check
    std::string stagedAt, startedAt;
    double stagedSeconds = 0;  // for kill selection
    bool killing = false;
    bool reconciling = false;
    HealthResult health;
  };
  struct Deployment {
    std::string id, appId, version, action;
    std::optional<App> previous;  // for a rollback; none for a new app
  };
  struct Backoff {
    double delay = 0;
    double launchAllowedAt = 0;  // steady seconds
  };
  struct Plan {
    std::vector<std::string> kills;
    int launches = 0;
  };
  struct Subscriber {
    std::shared_ptr<http::Stream> stream;
    std::set<std::string> types;  // empty: all
  };

  // Scheduler events (posted to the io thread).
  void onSubscribed(const std::string& frameworkId);
  void onOffers(const std::vector<mesos::v1::Offer>& offers);
  void onUpdate(const mesos::v1::TaskStatus& status);
  void tick();

  // What `app` needs now: kills and how many launches.
  Plan plan(const App& app) const;
  // Applies every app's kills, finishes deployments, revives when launches wait.
  void converge();
  bool healthyTask(const Task& task) const;
  std::vector<const Task*> tasksOf(const std::string& appId) const;
  void killTask(Task& task);
  std::optional<mesos::v1::TaskInfo> buildTask(const App& app, const mesos::v1::Offer& offer,
                                               const resources::Resources& left, const Placement& placement,
                                               resources::Resources* used, Task* record);
  void assignServicePorts(App& app, const App* before);

  // Deployments.
  std::string deploy(const App& app, std::optional<App> previous, const std::string& action);
  std::vector<std::string> deploymentsOf(const std::string& appId) const;
  void finishDeployment(const std::string& id, bool success);
  Json::Value deploymentJson(const Deployment& deployment) const;

  // The REST API.
  void postApp(const http::Request& request, const http::Responder& responder);
  void putApp(const std::string& id, const http::Request& request, const http::Responder& responder);
  void deleteApp(const std::string& id, const http::Request& request, const http::Responder& responder);
  void restartApp(const std::string& id, const http::Request& request, const http::Responder& responder);
  void killAppTask(const std::string& appId, const std::string& taskId, const http::Request& request,
                   const http::Responder& responder);
  void deleteDeployment(const std::string& id, const http::Request& request, const http::Responder& responder);
  void subscribeEvents(const http::Request& request, const http::Responder& responder);
  // 409 when `appId` is locked by a deployment and the request lacks force=true.
  bool locked(const std::string& appId, const http::Request& request, const http::Responder& responder);
  Json::Value appWithState(const App& app, bool withTasks) const;
  Json::Value taskJson(const Task& task) const;
  Json::Value infoJson() const;

  // Events and state.
  void publish(const std::string& type, Json::Value event);
  void persist();
  Json::Value stateJson() const;
  Status loadState(const std::string& text);

  boost::asio::io_context& io_;
  ServicesOptions options_;
  std::unique_ptr<zookeeper::DocumentStore> store_;
  std::unique_ptr<scheduler::Scheduler> client_;
  Outbox outbox_;
  boost::asio::steady_timer timer_;
  bool started_ = false;

  std::string frameworkId_;
  std::map<std::string, App> apps_;
  std::map<std::string, Task> tasks_;
  std::map<std::string, Deployment> deployments_;
  std::map<std::string, Backoff> backoffs_;
  std::map<std::string, Json::Value> lastFailures_;
  std::vector<Subscriber> subscribers_;
  bool reviveWanted_ = true;
  double lastReconcile_ = 0;
  double lastHeartbeat_ = 0;
  bool subscribed_ = false;
};

}  // namespace mantle::services
