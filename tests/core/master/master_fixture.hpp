// A real mantle-master process on a free loopback port, a protocol-level
// agent (test_agent.hpp) and a recorder for the scheduler client's events.
#pragma once

#include <gtest/gtest.h>

#include <json/json.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "process.hpp"
#include "scheduler/scheduler.hpp"
#include "temp_dir.hpp"
#include "test_agent.hpp"

namespace mantle::testing {

namespace v1 = ::mesos::v1;
using namespace std::chrono_literals;

// What a Scheduler saw, with waits.
class Recorder {
 public:
  scheduler::SchedulerCallbacks callbacks() {
    scheduler::SchedulerCallbacks c;
    c.subscribed = [this](const v1::scheduler::Event::Subscribed& s) {
      locked([&] {
        ++subscribed;
        frameworkId = s.framework_id().value();
      });
    };
    c.offers = [this](const std::vector<v1::Offer>& list) {
      locked([&] { offers.insert(offers.end(), list.begin(), list.end()); });
    };
    c.rescind = [this](const v1::OfferID& id) { locked([&] { rescinded.push_back(id.value()); }); };
    c.update = [this](const v1::TaskStatus& status) { locked([&] { updates.push_back(status); }); };
    c.error = [this](const std::string& message) { locked([&] { errors.push_back(message); }); };
    c.heartbeat = [this] { locked([&] { ++heartbeats; }); };
    c.failure = [this](const v1::scheduler::Event::Failure&) { locked([&] { ++failures; }); };
    c.disconnected = [this](const std::string&) { locked([&] { ++disconnects; }); };
    return c;
  }

  // waitUntil for `condition`, which reads the fields below: it runs with
  // the recorder's lock held.
  bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
    return waitUntil(
        [&] {
          std::lock_guard<std::mutex> lock(mutex_);
          return condition();
        },
        timeout);
  }

  // Removes and returns the oldest unused offer, waiting for one.
  std::optional<v1::Offer> takeOffer(std::chrono::milliseconds timeout = 10s) {
    std::optional<v1::Offer> offer;
    waitFor(
        [&] {
          if (offers.empty()) return false;
          offer = offers.front();
          offers.erase(offers.begin());
          return true;
        },
        timeout);
    return offer;
  }

  bool waitForUpdate(const std::string& taskId, v1::TaskState state, std::chrono::milliseconds timeout = 10s) {
    return waitFor([&] { return findUpdate(taskId, state).has_value(); }, timeout);
  }

  // With the lock held by waitFor, or after it.
  std::optional<v1::TaskStatus> findUpdate(const std::string& taskId, v1::TaskState state) const {
    for (const auto& u : updates) {
      if (u.task_id().value() == taskId && u.state() == state) return u;
    }
    return std::nullopt;
  }

  template <typename F>
  auto snapshot(F f) {
    std::lock_guard<std::mutex> lock(mutex_);
    return f();
  }

  int subscribed = 0;
  int heartbeats = 0;
  int failures = 0;
  int disconnects = 0;
  std::string frameworkId;
  std::vector<v1::Offer> offers;
  std::vector<std::string> rescinded;
  std::vector<v1::TaskStatus> updates;
  std::vector<std::string> errors;

 private:
  template <typename F>
  void locked(F f) {
    std::lock_guard<std::mutex> lock(mutex_);
    f();
  }
  std::mutex mutex_;
};

// Takes the next offer and launches one command task on it; succeeds once
// the task is TASK_RUNNING.
inline ::testing::AssertionResult launchRunning(scheduler::Scheduler& scheduler, Recorder& recorder,
                                                const std::string& taskId, const std::string& command,
                                                const std::string& resources) {
  std::optional<v1::Offer> offer = recorder.takeOffer();
  if (!offer) return ::testing::AssertionFailure() << "no offer to launch " << taskId << " on";
  Status launched = scheduler.launch(*offer, {scheduler::commandTask(taskId, *offer, command, resources)});
  if (!launched.ok()) return ::testing::AssertionFailure() << "launching " << taskId << ": " << launched.error().message;
  if (!recorder.waitForUpdate(taskId, v1::TASK_RUNNING)) {
    return ::testing::AssertionFailure() << taskId << " never reached TASK_RUNNING";
  }
  return ::testing::AssertionSuccess();
}

class MasterFixture : public ::testing::Test {
 protected:
  void startMaster(std::vector<std::string> extra = {}) {
    if (port_ == 0) port_ = freePort();
    std::vector<std::string> argv = {binary("mantle-master"), "--ip=127.0.0.1", "--port=" + std::to_string(port_),
                                     "--work_dir=" + (dir_.path() / "master").string(),
                                     "--allocation_interval=100ms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    lastFlags_ = extra;
    master_ = std::make_unique<ChildProcess>(argv, dir_.path() / "master.log");
    ASSERT_TRUE(waitForHealth(url(), 20s)) << master_->output();
  }

  void restartMaster() {
    master_->stop();
    master_.reset();
    startMaster(lastFlags_);
  }

  void TearDown() override {
    if (HasFailure() && master_) std::cerr << "---- master log ----\n" << master_->output() << "\n";
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::unique_ptr<TestAgent> startAgent(const std::string& resources = "cpus:2;mem:1024") {
    TestAgent::Options options;
    options.masterUrl = url();
    options.resources = resources;
    auto agent = std::make_unique<TestAgent>(options);
    Status s = agent->connect();
    EXPECT_TRUE(s.ok()) << s.error().message;
    return agent;
  }

  static v1::FrameworkInfo frameworkInfo(const std::string& name = "test-framework") {
    v1::FrameworkInfo info;
    info.set_user("nobody");
    info.set_name(name);
    return info;
  }

  std::unique_ptr<scheduler::Scheduler> startScheduler(Recorder& recorder,
                                                       v1::FrameworkInfo info = frameworkInfo(),
                                                       wire::MediaType type = wire::MediaType::kProtobuf,
                                                       bool reconnect = false) {
    scheduler::SchedulerOptions options;
    options.master = url();
    options.frameworkInfo = std::move(info);
    options.contentType = type;
    options.reconnect = reconnect;
    auto s = std::make_unique<scheduler::Scheduler>(options, recorder.callbacks());
    s->start();
    EXPECT_TRUE(recorder.waitFor([&] { return recorder.subscribed > 0; })) << "no SUBSCRIBED";
    return s;
  }

  Result<http::ClientResponse> post(const std::string& path, const std::string& body,
                                    http::Headers headers = {{"Content-Type", "application/json"}}) {
    return http::request("POST", url() + path, headers, body);
  }
  Result<http::ClientResponse> get(const std::string& path) { return http::request("GET", url() + path, {}, ""); }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> master_;
  std::vector<std::string> lastFlags_;
};

}  // namespace mantle::testing
