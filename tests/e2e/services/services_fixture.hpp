// What the mantle-services tests share: the mantle-services process, its REST
// API and event stream read as a client would, and a fixture with a real
// cluster.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <json/value.h>
#include <json/writer.h>

#include "cluster.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "zookeeper_server.hpp"

namespace mantle::services::testing_support {

using testing::binary;
using testing::ChildProcess;
using testing::parseJson;
using testing::TempDir;

inline constexpr const char* kPython = "/usr/bin/python3";

struct Answer {
  int status = 0;
  Json::Value json;  // the body when it is JSON (a failure of the test when it says so but is not)
  std::string body;
  http::Headers headers;
  std::string header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
    }
    return "";
  }
};

inline std::string text(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

// One mantle-services process.
class ServicesProcess {
 public:
  ServicesProcess(const std::vector<std::string>& flags, const std::filesystem::path& log)
      : port_(testing::freePort()) {
    std::vector<std::string> argv{binary("mantle-services"), "--address=127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<ChildProcess>(argv, log);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return *process_; }

  Answer call(const std::string& method, const std::string& path, const std::string& body = "") const {
    Answer answer;
    auto response =
        http::request(method, url() + path, {{"Content-Type", "application/json"}}, body, http::ClientOptions{10, 3});
    if (!response.ok()) return answer;
    answer.status = response->status;
    answer.body = response->body;
    answer.headers = response->headers;
    if (!answer.body.empty() && answer.header("Content-Type").rfind("application/json", 0) == 0) {
      answer.json = parseJson(answer.body);
    }
    return answer;
  }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

// Reads /v2/events into a list of (event type, data) until destroyed.
class EventReader {
 public:
  explicit EventReader(const std::string& url) {
    thread_ = std::thread([this, url] {
      http::StreamCallbacks callbacks;
      callbacks.onHead = [](const http::ClientResponse& head) { return head.status == 200; };
      callbacks.onData = [this](std::string_view data) {
        std::lock_guard<std::mutex> lock(mutex_);
        buffer_ += data;
        for (std::size_t end; (end = buffer_.find("\n\n")) != std::string::npos;) {
          const std::string block = buffer_.substr(0, end);
          buffer_.erase(0, end + 2);
          std::string type, data;
          std::istringstream lines(block);
          for (std::string line; std::getline(lines, line);) {
            if (line.rfind("event: ", 0) == 0) type = line.substr(7);
            if (line.rfind("data: ", 0) == 0) data = line.substr(6);
          }
          if (!type.empty()) events_.emplace_back(type, parseJson(data));
        }
        return true;
      };
      (void)http::stream("GET", url + "/v2/events", {{"Accept", "text/event-stream"}}, "", callbacks, cancel_);
    });
    // Events sent before the stream is attached are not delivered to it.
    (void)testing::waitUntil([this] { return !of("event_stream_attached").empty(); }, std::chrono::seconds(5));
  }
  ~EventReader() {
    *cancel_ = true;
    thread_.join();
  }
  std::vector<Json::Value> of(const std::string& type) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Json::Value> out;
    for (const auto& [t, data] : events_) {
      if (t == type) out.push_back(data);
    }
    return out;
  }

 private:
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::mutex mutex_;
  std::string buffer_;
  std::vector<std::pair<std::string, Json::Value>> events_;
  std::thread thread_;
};

class ServicesTest : public ::testing::Test {
 protected:
  void startCluster(testing::ClusterOptions options = {}) {
    // Host ports of their own (below the 31000-32000 other tests use): tests
    // running at the same time on this machine must not hand out the same.
    const int base = 20000 + static_cast<int>(::getpid() % 270) * 40;
    options.agentResources =
        "cpus:4;mem:4096;disk:4096;ports:[" + std::to_string(base) + "-" + std::to_string(base + 39) + "]";
    cluster_ = std::make_unique<testing::LocalCluster>(options);
    ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
  }

  ServicesProcess& startServices(const std::string& master, std::vector<std::string> flags = {}) {
    if (flags.empty()) flags.push_back("--work_dir=" + (dir_.path() / "services").string());
    flags.push_back("--master=" + master);
    services_.push_back(std::make_unique<ServicesProcess>(
        flags, dir_.path() / ("services-" + std::to_string(services_.size()) + ".log")));
    EXPECT_TRUE(testing::waitUntil([&] { return services_.back()->call("GET", "/ping").status == 200; },
                                   std::chrono::seconds(10)))
        << services_.back()->process().output();
    return *services_.back();
  }

  std::string logs() {
    std::string out = cluster_ ? cluster_->logs() : "";
    for (auto& services : services_) out += "\n--- mantle-services:\n" + services->process().output();
    return out;
  }

  // An app serving HTTP on PORT0 (python's http.server), health-checked there.
  Json::Value webApp(const std::string& id, int instances, const std::string& marker = "v1") {
    Json::Value app;
    app["id"] = id;
    app["cmd"] = "echo $$ >> " + (dir_.path() / "pids").string() + "; : " + marker + "; exec " + kPython +
                 " -m http.server $PORT0 --bind 127.0.0.1";
    app["cpus"] = 0.1;
    app["mem"] = 32;
    app["instances"] = instances;
    Json::Value check;
    check["protocol"] = "MESOS_HTTP";
    check["path"] = "/";
    check["portIndex"] = 0;
    check["gracePeriodSeconds"] = 15;
    // Loose enough that a loaded machine does not fail healthy tasks.
    check["intervalSeconds"] = 1;
    check["timeoutSeconds"] = 5;
    check["delaySeconds"] = 0;
    check["maxConsecutiveFailures"] = 3;
    app["healthChecks"].append(check);
    return app;
  }

  // The app's tasks that run and passed their health check.
  static std::vector<Json::Value> healthyTasks(const ServicesProcess& services, const std::string& id) {
    std::vector<Json::Value> out;
    const Answer answer = services.call("GET", "/v2/apps" + id + "/tasks");
    for (const Json::Value& task : answer.json["tasks"]) {
      if (task["state"].asString() != "TASK_RUNNING") continue;
      bool alive = true;
      for (const Json::Value& result : task["healthCheckResults"]) alive = alive && result["alive"].asBool();
      if (alive && !task["healthCheckResults"].empty()) out.push_back(task);
    }
    return out;
  }

  bool waitForDeployments(const ServicesProcess& services, std::chrono::milliseconds timeout) {
    return testing::waitUntil(
        [&] {
          Answer answer = services.call("GET", "/v2/deployments");
          return answer.status == 200 && answer.json.isArray() && answer.json.empty();
        },
        timeout);
  }

  TempDir dir_;
  std::unique_ptr<testing::LocalCluster> cluster_;
  std::vector<std::unique_ptr<ServicesProcess>> services_;
};

}  // namespace mantle::services::testing_support
