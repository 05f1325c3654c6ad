#include "lb/services_follower.hpp"

#include <chrono>
#include <set>

#include <glog/logging.h>
#include <json/reader.h>

#include "http/client.hpp"
#include "mantle/common/strict_json.hpp"

namespace mantle::lb {

namespace {

std::optional<std::string> stringMember(const Json::Value& object, const char* name) {
  if (!object.isObject() || !object[name].isString()) return std::nullopt;
  return object[name].asString();
}

// "http://host:port" of a 307's absolute Location; empty: none.
std::string locationBase(const std::string& location) {
  const std::size_t scheme = location.find("://");
  if (scheme == std::string::npos) return "";
  return location.substr(0, location.find('/', scheme + 3));
}

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// Running, and alive in every health check result when the app has checks.
bool healthyTask(const Json::Value& task, bool checked) {
  if (stringMember(task, "state") != "TASK_RUNNING") return false;
  if (!checked) return true;
  const Json::Value& results = task["healthCheckResults"];
  if (!results.isArray() || results.empty()) return false;
  for (const Json::Value& result : results) {
    if (!result.isObject() || !result["alive"].isBool() || !result["alive"].asBool()) return false;
  }
  return true;
}

}  // namespace

std::map<std::uint32_t, Service> appServices(const Json::Value& apps, const std::string& group,
                                             const HostResolver& resolve, std::vector<std::string>* problems) {
  std::map<std::uint32_t, Service> result;
  if (!apps.isArray()) return result;
  for (const Json::Value& app : apps) {
    const Json::Value& labels = app["labels"];
    if (stringMember(labels, "HAPROXY_GROUP") != group) continue;
    const std::string id = stringMember(app, "id").value_or("");
    std::optional<std::uint32_t> servicePort;
    if (const std::optional<std::string> portLabel = stringMember(labels, "HAPROXY_0_PORT")) {
      servicePort = portNumber(*portLabel);
      if (!servicePort) {
        problems->push_back("app " + id + ": HAPROXY_0_PORT '" + *portLabel + "' is not a port (1-65535)");
        continue;
      }
    }
    // On container networks the ports are the container's port mappings.
    const Json::Value& definitions = app["portDefinitions"];
    const Json::Value& mappings = app["container"]["portMappings"];
    const Json::Value* mapping =
        (!definitions.isArray() || definitions.empty()) && mappings.isArray() && !mappings.empty() ? &mappings[0]
                                                                                                   : nullptr;
    if (!servicePort) {
      const Json::Value& port = mapping != nullptr ? (*mapping)["servicePort"] : definitions[0]["port"];
      if (port.isIntegral()) servicePort = portNumber(std::to_string(port.asInt64()));
    }
    if (!servicePort) continue;  // no service port: not load balanced
    Service& service = serviceFor(&result, *servicePort, id.rfind('/', 0) == 0 ? id.substr(1) : id,
                                  stringMember(labels, "HAPROXY_0_VHOST"), stringMember(labels, "HAPROXY_0_MODE"));
    const bool checked = app["healthChecks"].isArray() && !app["healthChecks"].empty();
    for (const Json::Value& task : app["tasks"]) {
      if (!healthyTask(task, checked)) continue;
      if (mapping != nullptr && !(*mapping)["hostPort"].isIntegral()) {
        // A container port without a host port: the task's own address.
        const Json::Value& addresses = task["ipAddresses"];
        const Json::Value& containerPort = (*mapping)["containerPort"];
        if (!addresses.isArray() || addresses.empty() || !containerPort.isIntegral()) continue;
        const std::optional<std::string> ip = stringMember(addresses[0], "ipAddress");
        const std::optional<std::uint32_t> port = portNumber(std::to_string(containerPort.asInt64()));
        if (!ip || !port) continue;
        service.servers.push_back({safeName(stringMember(task, "id").value_or("")), *ip, *port});
        continue;
      }
      const Json::Value& ports = task["ports"];
      const std::optional<std::string> host = stringMember(task, "host");
      if (!ports.isArray() || ports.empty() || !ports[0].isIntegral() || !host) continue;
      const std::optional<std::uint32_t> port = portNumber(std::to_string(ports[0].asInt64()));
      const std::optional<std::string> ip = resolve(*host);
      if (!port || !ip) continue;
      service.servers.push_back({safeName(stringMember(task, "id").value_or("")), *ip, *port});
    }
  }
  sortServices(&result);
  return result;
}

bool changesBackends(const std::string& type) {
  static const std::set<std::string> kTypes = {"status_update_event",
                                               "health_status_changed_event",
                                               "api_post_event",
                                               "api_put_event",
                                               "app_terminated_event",
                                               "deployment_info",
                                               "deployment_success",
                                               "deployment_failed",
                                               "deployment_step_success",
                                               "deployment_step_failure",
                                               "unhealthy_instance_kill_event"};
  return kTypes.count(type) != 0;
}

ServicesFollower::ServicesFollower(ServicesFollowerOptions options, Callback changed)
    : options_(std::move(options)), changed_(std::move(changed)) {
  origin_ = options_.services.find("://") == std::string::npos ? "http://" + options_.services : options_.services;
  base_ = origin_;
}

ServicesFollower::~ServicesFollower() {
  stop();
}

void ServicesFollower::start() {
  if (listener_.joinable()) return;
  listener_ = std::thread([this] { listen(); });
  fetcher_ = std::thread([this] { fetchLoop(); });
}

void ServicesFollower::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    cancel_->store(true);
  }
  wake_.notify_all();
  if (listener_.joinable()) listener_.join();
  if (fetcher_.joinable()) fetcher_.join();
}

std::string ServicesFollower::base() {
  std::lock_guard<std::mutex> lock(mutex_);
  return base_;
}

void ServicesFollower::markDirty() {
  std::lock_guard<std::mutex> lock(mutex_);
  dirty_ = true;
  wake_.notify_all();
}

void ServicesFollower::listen() {
  double delay = options_.reconnectDelaySeconds;
  int redirects = 0;  // in a row: standbys naming each other wait like failures
  while (true) {
    const std::string url = base();
    int status = 0;
    std::string redirect, buffer, errorBody;
    http::StreamCallbacks callbacks;
    callbacks.onHead = [&](const http::ClientResponse& head) {
      status = head.status;
      if (status == 307) redirect = locationBase(head.header("Location"));
      if (status == 200) {
        LOG(INFO) << "Following mantle-services' events at " << url;
        delay = options_.reconnectDelaySeconds;
        redirects = 0;
        markDirty();  // what changed while no stream was open
      }
      return true;
    };
    callbacks.onData = [&](std::string_view data) {
      if (status != 200) {
        errorBody.append(data.substr(0, 4096 - std::min<std::size_t>(errorBody.size(), 4096)));
        return true;
      }
      buffer.append(data);
      for (std::size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
        const std::string block = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        for (std::size_t at = 0; at < block.size();) {
          std::size_t next = block.find('\n', at);
          if (next == std::string::npos) next = block.size();
          if (block.compare(at, 6, "event:") == 0) {
            const std::size_t from = at + (block.compare(at, 7, "event: ") == 0 ? 7 : 6);
            if (changesBackends(block.substr(from, next - from))) markDirty();
          }
          at = next + 1;
        }
      }
      return true;
    };
    Status result = http::stream("GET", url + "/v2/events", {{"Accept", "text/event-stream"}}, "", callbacks, cancel_);
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_) return;
    if (!redirect.empty() && redirect != base_ && ++redirects <= 3) {
      LOG(INFO) << url << " is not the leader; following its redirect to " << redirect;
      base_ = redirect;
      continue;
    }
    LOG(WARNING) << "mantle-services' event stream at " << url << " ended ("
                 << (!result.ok()    ? result.error().message
                     : status != 200 ? "GET /v2/events answered " + std::to_string(status) + ": " + errorBody
                                     : std::string("closed by the server"))
                 << "); reconnecting in " << delay << "s";
    base_ = origin_;  // a lost leader: --services names the next one
    wake_.wait_for(lock, millis(delay), [this] { return stopping_; });
    if (stopping_) return;
    delay = std::min(delay * 2, 10.0);
  }
}

void ServicesFollower::fetchLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || dirty_; });
    // Let a burst of events arrive: they cost this one fetch.
    if (wake_.wait_for(lock, millis(options_.coalesceSeconds), [this] { return stopping_; })) return;
    dirty_ = false;
    const std::string url = base_ + "/v2/apps?embed=apps.tasks";
    lock.unlock();
    bool fetched = false;
    auto response = http::request("GET", url, {{"Accept", "application/json"}}, "", {10, 3});
    if (!response.ok()) {
      LOG(WARNING) << "GET " << url << ": " << response.error().message;
    } else if (response->status != 200) {
      LOG(WARNING) << "GET " << url << " answered " << response->status << ": " << response->body.substr(0, 512);
    } else if (Result<Json::Value> body = json::parseWith(Json::CharReaderBuilder(), response->body);
               !body.ok() || !body->isObject() || !(*body)["apps"].isArray()) {
      LOG(WARNING) << "GET " << url << ": not an object with an \"apps\" array";
    } else {
      changed_((*body)["apps"]);
      fetched = true;
    }
    lock.lock();
    if (!fetched && !stopping_) {
      // Again after a pause (a redirect is the listener's to follow).
      dirty_ = true;
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    }
    if (stopping_) return;
  }
}

}  // namespace mantle::lb
