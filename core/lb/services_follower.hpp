// mantle-lb's other source: follows mantle-services (Marathon's REST API,
// docs/SERVICES.md) instead of the master. It fetches the apps with their
// tasks (GET /v2/apps?embed=apps.tasks), listens to the server-sent events
// of /v2/events and fetches again after the events that change backends
// (task states, health results, deployments, app definitions), a burst of
// them costing one fetch. A lost stream is opened again with a growing
// delay; a standby's 307 is followed to the leader it names.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <json/value.h>

#include "lb/config.hpp"
#include "mantle/result.hpp"

namespace mantle::lb {

// The services of `group` by service port, from /v2/apps' "apps" (with
// their tasks), as `services` computes them from the master's tasks: apps
// labelled HAPROXY_GROUP=<group> with a service port (HAPROXY_0_PORT, else
// the first portDefinitions port); servers are the running tasks that pass
// every health check (apps without health checks: all running tasks) at
// their host and first port. Broken apps are skipped with a line in
// `problems`.
std::map<std::uint32_t, Service> appServices(const Json::Value& apps, const std::string& group,
                                             const HostResolver& resolve, std::vector<std::string>* problems);

// Whether an event of `type` from /v2/events can change the backends.
bool changesBackends(const std::string& type);

struct ServicesFollowerOptions {
  std::string services;                // "host:port" or "http://host:port"
  double coalesceSeconds = 0.1;        // events within this of the first cost one fetch
  double reconnectDelaySeconds = 0.5;  // doubled after each failure, up to 10 s
};

class ServicesFollower {
 public:
  // Called on the follower's fetch thread with each fetched /v2/apps
  // "apps" array, one at a time.
  using Callback = std::function<void(const Json::Value& apps)>;

  ServicesFollower(ServicesFollowerOptions options, Callback changed);
  ~ServicesFollower();
  ServicesFollower(const ServicesFollower&) = delete;
  ServicesFollower& operator=(const ServicesFollower&) = delete;

  void start();
  // Ends the stream and joins the threads. Idempotent.
  void stop();

 private:
  void listen();
  void fetchLoop();
  // Asks the fetch thread for a new fetch.
  void markDirty();
  std::string base();

  ServicesFollowerOptions options_;
  Callback changed_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string origin_;  // --services as "http://host:port"
  std::string base_;    // the leader's "http://host:port", under mutex_
  bool dirty_ = false;
  bool stopping_ = false;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::thread listener_;
  std::thread fetcher_;
};

}  // namespace mantle::lb
