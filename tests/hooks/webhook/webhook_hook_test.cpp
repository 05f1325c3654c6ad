// The webhook hook, loaded through the host from libmantle_webhook.so,
// posting to HTTP receivers the test runs on loopback (core/http's server).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "http_json.hpp"
#include "mantle/module/v1/hook.pb.h"
#include "module_host.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "webhook_receiver.hpp"

namespace mantle::hooks::webhook {
namespace {

namespace v1 = ::mantle::module::v1;
using namespace std::chrono_literals;
using modules::Instance;
using modules::Registry;

v1::StateEvent taskUpdated(const std::string& taskId, v1::TaskState state) {
  v1::StateEvent event;
  event.set_type(v1::StateEvent::TASK_UPDATED);
  event.set_timestamp(1700000000.5);
  event.mutable_framework_id()->set_value("fw-1");
  v1::TaskStatus* status = event.mutable_task_status();
  status->mutable_task_id()->set_value(taskId);
  status->set_state(state);
  status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  status->mutable_agent_id()->set_value("agent-1");
  return event;
}

class WebhookHookTest : public ::testing::Test {
 protected:
  void TearDown() override { hook_.reset(); }

  // Creates the hook posting to `urls`, with its metrics file in the temp
  // dir; `extra` adds or replaces configuration.
  void create(const std::vector<std::string>& urls, const Json::Value& extra = Json::Value(Json::objectValue)) {
    Result<std::shared_ptr<Instance>> made = tryCreate(urls, extra);
    ASSERT_TRUE(made.ok()) << made.error().message;
    hook_ = *made;
  }

  Result<std::shared_ptr<Instance>> tryCreate(const std::vector<std::string>& urls, const Json::Value& extra) {
    Json::Value config(Json::objectValue);
    for (const std::string& url : urls) config["urls"].append(url);
    config["metrics_file"] = metricsFile().string();
    config["metrics_interval_ms"] = 20;
    config["initial_backoff_ms"] = 20;
    config["max_backoff_ms"] = 100;
    for (const std::string& key : extra.getMemberNames()) config[key] = extra[key];
    Json::Value module;
    module["name"] = "webhook";
    module["instance"] = "webhook-" + std::to_string(++created_);
    module["kind"] = "hook";
    module["config"] = config;
    return testing::createModule(registry_, "mantle_webhook", module, "hook");
  }

  void send(const v1::StateEvent& event) {
    Result<v1::Empty> done = modules::HookClient(*hook_).stateEvent(event);
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

  std::filesystem::path metricsFile() const { return dir_.path() / "webhook.prom"; }

  // The value of `family` for `url` in the metrics file; -1 when absent.
  double metric(const std::string& family, const std::string& url) const {
    std::ifstream in(metricsFile());
    const std::string prefix = family + "{instance=\"webhook-" + std::to_string(created_) + "\",url=\"" + url + "\"} ";
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size()));
    }
    return -1;
  }

  bool waitForMetric(const std::string& family, const std::string& url, double value) const {
    return testing::waitUntil([&] { return metric(family, url) == value; }, 30s);
  }

  static std::vector<std::string> taskIds(const std::vector<std::string>& bodies) {
    std::vector<std::string> out;
    for (const std::string& body : bodies) out.push_back(testing::parseJson(body)["task"]["task_id"].asString());
    return out;
  }

  static std::vector<std::string> expectedIds(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i <= to; ++i) out.push_back("t" + std::to_string(i));
    return out;
  }

  Registry registry_;
  testing::TempDir dir_;
  std::shared_ptr<Instance> hook_;
  int created_ = 0;
};

TEST_F(WebhookHookTest, DeliversEveryEventInOrderAsJson) {
  testing::WebhookReceiver receiver;
  receiver.start();
  create({receiver.url()});
  for (int i = 1; i <= 30; ++i) send(taskUpdated("t" + std::to_string(i), v1::TASK_RUNNING));
  v1::StateEvent agent;
  agent.set_type(v1::StateEvent::AGENT_ADDED);
  agent.mutable_agent_info()->set_hostname("node-1");
  agent.mutable_agent_info()->mutable_id()->set_value("agent-1");
  send(agent);
  v1::ExecutorRemoved removed;
  removed.mutable_framework_info()->mutable_id()->set_value("fw-1");
  removed.mutable_framework_info()->set_name("batch");
  removed.mutable_executor_info()->mutable_executor_id()->set_value("exec-1");
  ASSERT_TRUE(modules::HookClient(*hook_).executorRemoved(removed).ok());

  ASSERT_TRUE(testing::waitUntil([&] { return receiver.bodies().size() == 32; }, 30s)) << receiver.bodies().size();
  std::vector<std::string> bodies = receiver.bodies();
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    EXPECT_EQ(testing::parseJson(bodies[i])["sequence"].asUInt64(), i + 1);
  }
  Json::Value first = testing::parseJson(bodies[0]);
  EXPECT_EQ(first["type"].asString(), "TASK_UPDATED");
  EXPECT_EQ(first["instance"].asString(), "webhook-1");
  EXPECT_EQ(first["framework_id"].asString(), "fw-1");
  EXPECT_EQ(first["timestamp"].asDouble(), 1700000000.5);
  EXPECT_EQ(first["task"]["task_id"].asString(), "t1");
  EXPECT_EQ(first["task"]["state"].asString(), "TASK_RUNNING");
  EXPECT_EQ(first["task"]["source"].asString(), "SOURCE_EXECUTOR");
  EXPECT_EQ(first["task"]["agent_id"].asString(), "agent-1");
  bodies.resize(30);
  EXPECT_EQ(taskIds(bodies), expectedIds(1, 30));
  Json::Value agentJson = testing::parseJson(receiver.bodies()[30]);
  EXPECT_EQ(agentJson["type"].asString(), "AGENT_ADDED");
  EXPECT_EQ(agentJson["agent"]["hostname"].asString(), "node-1");
  EXPECT_EQ(agentJson["agent"]["id"].asString(), "agent-1");
  Json::Value executor = testing::parseJson(receiver.bodies()[31]);
  EXPECT_EQ(executor["type"].asString(), "EXECUTOR_REMOVED");
  EXPECT_EQ(executor["executor"]["executor_id"].asString(), "exec-1");
  EXPECT_EQ(executor["framework"]["name"].asString(), "batch");
  EXPECT_TRUE(waitForMetric("mantle_webhook_sent_total", receiver.url(), 32));
  EXPECT_EQ(metric("mantle_webhook_dropped_total", receiver.url()), 0);
  EXPECT_EQ(metric("mantle_webhook_failed_total", receiver.url()), 0);
}

TEST_F(WebhookHookTest, RetriesWhileTheReceiverIsDownThenDeliversInOrder) {
  testing::WebhookReceiver receiver;
  const std::uint16_t port = receiver.start();
  receiver.stop();  // nothing listens there now
  Json::Value extra;
  extra["max_attempts"] = 0;  // until delivered
  create({receiver.url()}, extra);
  for (int i = 1; i <= 5; ++i) send(taskUpdated("t" + std::to_string(i), v1::TASK_RUNNING));
  ASSERT_TRUE(testing::waitUntil([&] { return metric("mantle_webhook_retries_total", receiver.url()) >= 3; }, 30s));
  EXPECT_TRUE(receiver.bodies().empty());
  receiver.start(port);
  ASSERT_TRUE(testing::waitUntil([&] { return receiver.bodies().size() == 5; }, 30s)) << receiver.bodies().size();
  EXPECT_EQ(taskIds(receiver.bodies()), expectedIds(1, 5));
  EXPECT_TRUE(waitForMetric("mantle_webhook_sent_total", receiver.url(), 5));
  EXPECT_EQ(metric("mantle_webhook_failed_total", receiver.url()), 0);
}

TEST_F(WebhookHookTest, RetriesServerErrorsAndGivesUpOnClientErrors) {
  testing::WebhookReceiver receiver;
  receiver.start();
  create({receiver.url()});
  receiver.failNext(3, 503);
  send(taskUpdated("t1", v1::TASK_RUNNING));
  ASSERT_TRUE(waitForMetric("mantle_webhook_sent_total", receiver.url(), 1));
  EXPECT_EQ(metric("mantle_webhook_retries_total", receiver.url()), 3);
  EXPECT_EQ(receiver.requests(), 4);

  receiver.failNext(1, 400);  // the receiver refuses the event: no retry
  send(taskUpdated("t2", v1::TASK_RUNNING));
  send(taskUpdated("t3", v1::TASK_RUNNING));
  ASSERT_TRUE(waitForMetric("mantle_webhook_sent_total", receiver.url(), 2));
  EXPECT_EQ(metric("mantle_webhook_failed_total", receiver.url()), 1);
  EXPECT_EQ(metric("mantle_webhook_retries_total", receiver.url()), 3);
  EXPECT_EQ(taskIds(receiver.bodies()), (std::vector<std::string>{"t1", "t3"}));
}

TEST_F(WebhookHookTest, GivesUpAfterMaxAttempts) {
  testing::WebhookReceiver receiver;
  receiver.start();
  receiver.stop();
  Json::Value extra;
  extra["max_attempts"] = 2;
  create({receiver.url()}, extra);
  send(taskUpdated("t1", v1::TASK_RUNNING));
  send(taskUpdated("t2", v1::TASK_RUNNING));
  ASSERT_TRUE(waitForMetric("mantle_webhook_failed_total", receiver.url(), 2));
  EXPECT_EQ(metric("mantle_webhook_retries_total", receiver.url()), 2);  // one retry each
  EXPECT_EQ(metric("mantle_webhook_queued", receiver.url()), 0);
}

TEST_F(WebhookHookTest, FullQueueDropsNewEventsAndCountsThem) {
  testing::WebhookReceiver receiver;
  const std::uint16_t port = receiver.start();
  receiver.stop();
  Json::Value extra;
  extra["max_attempts"] = 0;
  extra["queue_capacity"] = 3;  // the event being sent counts
  create({receiver.url()}, extra);
  for (int i = 1; i <= 10; ++i) send(taskUpdated("t" + std::to_string(i), v1::TASK_RUNNING));
  ASSERT_TRUE(waitForMetric("mantle_webhook_dropped_total", receiver.url(), 7));
  EXPECT_EQ(metric("mantle_webhook_queued", receiver.url()), 3);
  receiver.start(port);
  ASSERT_TRUE(waitForMetric("mantle_webhook_sent_total", receiver.url(), 3));
  // The oldest three, in order; the receiver sees the gap in `sequence`.
  EXPECT_EQ(taskIds(receiver.bodies()), expectedIds(1, 3));
  send(taskUpdated("t11", v1::TASK_RUNNING));
  ASSERT_TRUE(waitForMetric("mantle_webhook_sent_total", receiver.url(), 4));
  EXPECT_EQ(testing::parseJson(receiver.bodies().back())["sequence"].asUInt64(), 11u);
  EXPECT_EQ(metric("mantle_webhook_dropped_total", receiver.url()), 7);
}

TEST_F(WebhookHookTest, EachUrlHasItsOwnQueue) {
  testing::WebhookReceiver up;
  up.start();
  testing::WebhookReceiver down;
  down.start();
  down.stop();
  Json::Value extra;
  extra["max_attempts"] = 0;
  extra["queue_capacity"] = 2;
  create({up.url(), down.url()}, extra);
  // One at a time, so that the live URL's small queue never fills.
  for (int i = 1; i <= 6; ++i) {
    send(taskUpdated("t" + std::to_string(i), v1::TASK_RUNNING));
    ASSERT_TRUE(testing::waitUntil([&] { return up.bodies().size() == static_cast<std::size_t>(i); }, 30s));
  }
  EXPECT_EQ(taskIds(up.bodies()), expectedIds(1, 6));
  ASSERT_TRUE(waitForMetric("mantle_webhook_dropped_total", down.url(), 4));
  EXPECT_EQ(metric("mantle_webhook_dropped_total", up.url()), 0);
}

TEST_F(WebhookHookTest, EventsFilterAndHeaders) {
  testing::WebhookReceiver receiver;
  receiver.start();
  Json::Value extra;
  extra["events"].append("AGENT_REMOVED");
  extra["headers"].append("Authorization: Bearer secret");
  create({receiver.url()}, extra);
  send(taskUpdated("t1", v1::TASK_RUNNING));
  v1::StateEvent removed;
  removed.set_type(v1::StateEvent::AGENT_REMOVED);
  removed.mutable_agent_info()->set_hostname("node-2");
  send(removed);
  ASSERT_TRUE(waitForMetric("mantle_webhook_sent_total", receiver.url(), 1));
  ASSERT_EQ(receiver.bodies().size(), 1u);
  EXPECT_EQ(testing::parseJson(receiver.bodies()[0])["type"].asString(), "AGENT_REMOVED");
  EXPECT_EQ(testing::parseJson(receiver.bodies()[0])["sequence"].asUInt64(), 1u);
}

TEST_F(WebhookHookTest, StopsPromptlyWithEventsStillQueued) {
  testing::WebhookReceiver receiver;
  receiver.start();
  receiver.stop();
  Json::Value extra;
  extra["max_attempts"] = 0;
  extra["initial_backoff_ms"] = 60000;
  extra["max_backoff_ms"] = 60000;
  create({receiver.url()}, extra);
  const std::string url = receiver.url();
  for (int i = 1; i <= 4; ++i) send(taskUpdated("t" + std::to_string(i), v1::TASK_RUNNING));
  ASSERT_TRUE(waitForMetric("mantle_webhook_retries_total", url, 1));
  hook_.reset();  // destroy interrupts the backoff; the final metrics count what was left
  EXPECT_EQ(metric("mantle_webhook_dropped_total", url), 4);
  EXPECT_EQ(metric("mantle_webhook_queued", url), 0);
}

TEST_F(WebhookHookTest, BadConfigurationIsRefused) {
  struct Case {
    std::vector<std::string> urls;
    Json::Value extra;
    std::string expected;
  };
  Json::Value badEvent;
  badEvent["events"].append("TASK_EXPLODED");
  Json::Value zeroCapacity;
  zeroCapacity["queue_capacity"] = 0;
  Json::Value badHeader;
  badHeader["headers"].append("no colon");
  Json::Value backoff;
  backoff["initial_backoff_ms"] = 500;
  backoff["max_backoff_ms"] = 100;
  const std::vector<Case> cases = {
      {{}, Json::Value(Json::objectValue), "missing required parameter 'urls'"},
      {{"ftp://x/"}, Json::Value(Json::objectValue), "'ftp://x/' is not an http:// or https:// URL"},
      {{"http://a/", "http://a/"}, Json::Value(Json::objectValue), "given more than once"},
      {{"http://a/"}, badEvent, "unknown event type 'TASK_EXPLODED'"},
      {{"http://a/"}, zeroCapacity, "'queue_capacity': must be positive"},
      {{"http://a/"}, badHeader, "'no colon' is not 'Name: value'"},
      {{"http://a/"}, backoff, "'max_backoff_ms': must not be less than 'initial_backoff_ms'"},
  };
  for (const Case& c : cases) {
    Result<std::shared_ptr<Instance>> made = tryCreate(c.urls, c.extra);
    ASSERT_FALSE(made.ok()) << c.expected;
    EXPECT_NE(made.error().message.find(c.expected), std::string::npos) << made.error().message;
  }
}

}  // namespace
}  // namespace mantle::hooks::webhook
