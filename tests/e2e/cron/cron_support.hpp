// What the mantle-cron end-to-end tests share: starting mantle-cron against
// a LocalCluster, its REST API, and reading what the jobs' tasks wrote.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <json/value.h>

#include "cron/schedule.hpp"
#include "http/client.hpp"
#include "mantle/common/strict_json.hpp"
#include "process.hpp"

namespace mantle::testing::cron {

// mantle-cron on a free loopback port.
class CronProcess {
 public:
  CronProcess(const std::string& master, const std::filesystem::path& dir, const std::string& name,
              std::vector<std::string> extraFlags = {})
      : port_(freePort()) {
    std::vector<std::string> argv = {binary("mantle-cron"), "--master=" + master,
                                     "--address=127.0.0.1:" + std::to_string(port_),
                                     "--work_dir=" + (dir / name).string(), "--hostname=127.0.0.1"};
    argv.insert(argv.end(), extraFlags.begin(), extraFlags.end());
    process_ = std::make_unique<ChildProcess>(argv, dir / (name + ".log"));
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  ChildProcess& process() { return *process_; }

  Result<http::ClientResponse> call(const std::string& method, const std::string& path,
                                    const std::string& body = "") const {
    return http::request(method, url() + path, {{"Content-Type", "application/json"}}, body);
  }
  // Waits until the REST API answers (the leader's, not a standby's 503).
  bool waitServing(std::chrono::milliseconds timeout) const {
    return waitUntil(
        [&] {
          auto r = call("GET", "/v1/scheduler/jobs");
          return r.ok() && r->status == 200;
        },
        timeout);
  }
  // The job named `name` as GET /v1/scheduler/jobs shows it (null if absent).
  Json::Value job(const std::string& name) const {
    auto r = call("GET", "/v1/scheduler/jobs");
    if (!r.ok() || r->status != 200) return Json::Value();
    auto list = json::parseStrict(r->body, "jobs");
    if (!list.ok()) return Json::Value();
    for (const Json::Value& j : *list) {
      if (j["name"].asString() == name) return j;
    }
    return Json::Value();
  }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

inline std::vector<std::string> lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// "R<repetitions>/<now + delay>/<period>": a schedule starting shortly.
inline std::string startingIn(std::chrono::milliseconds delay, const std::string& period,
                              const std::string& repetitions = "") {
  return "R" + repetitions + "/" + mantle::cron::formatTime(mantle::cron::nowMillis() + delay.count()) + "/" + period;
}

// The due time (milliseconds) and attempt of a task id "ct:<due>:<attempt>:<job>".
struct TaskIdParts {
  long long due = 0;
  int attempt = 0;
  std::string job;
};
inline TaskIdParts parseTaskId(const std::string& id) {
  TaskIdParts parts;
  std::stringstream in(id);
  std::string prefix, due, attempt;
  std::getline(in, prefix, ':');
  std::getline(in, due, ':');
  std::getline(in, attempt, ':');
  std::getline(in, parts.job);
  parts.due = std::stoll(due);
  parts.attempt = std::stoi(attempt);
  return parts;
}

}  // namespace mantle::testing::cron
