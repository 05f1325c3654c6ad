// mantle-cron against a real master, agent and executor: a job scheduled
// every two seconds runs repeatedly, a dependent job runs after its parent
// (started through "run now"), a failing job is retried exactly `retries`
// times and its failure posted to a webhook, runs missed while mantle-cron
// was down beyond epsilon are skipped and counted (its state file read back
// after a restart), a killed run is not retried, bad input is a 400 naming
// the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "cluster.hpp"
#include "cron_support.hpp"
#include "temp_dir.hpp"
#include "webhook_receiver.hpp"

namespace mantle::testing::cron {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class CronTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.start().ok()) << cluster_.logs(); }

  void startCron(std::vector<std::string> flags = {}) {
    cron_ = std::make_unique<CronProcess>(cluster_.masterAddress(), dir_.path(), "cron", std::move(flags));
    ASSERT_TRUE(cron_->waitServing(20s)) << cron_->process().output();
  }

  void post(const std::string& endpoint, const std::string& job) {
    auto r = cron_->call("POST", endpoint, job);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->status, 204) << r->body;
  }

  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }

  void TearDown() override {
    if (HasFailure() && cron_) std::cerr << "mantle-cron's log:\n" << cron_->process().output() << "\n";
  }

  LocalCluster cluster_;
  TempDir dir_;
  std::unique_ptr<CronProcess> cron_;
};

TEST_F(CronTest, AJobScheduledEveryTwoSecondsRunsRepeatedly) {
  startCron();
  post("/v1/scheduler/iso8601", R"({"name": "tick", "command": "echo $mesos_task_id >> )" + path("ticks") +
                                    R"(", "schedule": ")" + startingIn(1s, "PT2S") + R"(", "cpus": 0.1, "mem": 32})");
  ASSERT_TRUE(waitUntil([&] { return lines(path("ticks")).size() >= 3; }, 30s)) << lines(path("ticks")).size();
  const auto ticks = lines(path("ticks"));
  for (size_t i = 1; i < ticks.size(); ++i) {
    EXPECT_EQ(parseTaskId(ticks[i]).due - parseTaskId(ticks[i - 1]).due, 2000) << ticks[i - 1] << " " << ticks[i];
  }
  ASSERT_TRUE(waitUntil([&] { return cron_->job("tick")["successCount"].asInt() >= 3; }, 10s));
  const Json::Value job = cron_->job("tick");
  EXPECT_EQ(job["errorCount"].asInt(), 0);
  EXPECT_THAT(job["lastSuccess"].asString(), StartsWith("20"));
  EXPECT_EQ(job["lastError"].asString(), "");
  // Search finds it by part of its name; the graph lists it.
  auto found = cron_->call("GET", "/v1/scheduler/jobs/search?name=TIC");
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(found->body, HasSubstr("\"name\":\"tick\""));
  // Deleted, it runs no more.
  auto deleted = cron_->call("DELETE", "/v1/scheduler/job/tick");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 204);
  std::this_thread::sleep_for(500ms);  // a run launched just before may still write
  const size_t after = lines(path("ticks")).size();
  std::this_thread::sleep_for(2500ms);  // more than one period
  EXPECT_EQ(lines(path("ticks")).size(), after);
  EXPECT_TRUE(cron_->job("tick").isNull());
}

TEST_F(CronTest, ADependentJobRunsAfterItsParentSucceeded) {
  startCron();
  const std::string log = path("order");
  // The parent's schedule is far off: it runs when asked to ("run now").
  post("/v1/scheduler/iso8601", R"({"name": "extract", "command": "sleep 1; echo extract >> )" + log +
                                    R"(", "schedule": "R/2099-01-01T00:00:00Z/P1D", "mem": 32})");
  // The child runs a program with arguments, no shell (argv[0] first, as Mesos takes it).
  post("/v1/scheduler/dependency", R"({"name": "load", "command": "/bin/sh", "shell": false,
      "arguments": ["sh", "-c", "echo load >> )" +
                                       log + R"("], "parents": ["extract"], "mem": 32})");
  auto csv = cron_->call("GET", "/v1/scheduler/graph/csv");
  ASSERT_TRUE(csv.ok());
  EXPECT_THAT(csv->body, HasSubstr("link,extract,load\n"));
  EXPECT_THAT(csv->body, HasSubstr("node,load,fresh,idle\n"));
  EXPECT_TRUE(lines(log).empty());

  auto run = cron_->call("PUT", "/v1/scheduler/job/extract");
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->status, 204) << run->body;
  ASSERT_TRUE(waitUntil([&] { return lines(log).size() >= 2; }, 30s)) << lines(log).size();
  EXPECT_EQ(lines(log), (std::vector<std::string>{"extract", "load"}));
  ASSERT_TRUE(waitUntil([&] { return cron_->job("load")["successCount"].asInt() == 1; }, 10s));
  csv = cron_->call("GET", "/v1/scheduler/graph/csv");
  EXPECT_THAT(csv->body, HasSubstr("node,extract,success,idle\n"));
}

TEST_F(CronTest, AFailingJobIsRetriedExactlyRetriesTimesAndItsFailurePosted) {
  WebhookReceiver receiver;
  receiver.start();
  startCron({"--webhook_url=" + receiver.url()});
  post("/v1/scheduler/iso8601", R"({"name": "broken", "command": "echo $mesos_task_id >> )" + path("attempts") +
                                    R"(; exit 3", "schedule": "R1//PT1H", "retries": 2, "mem": 32})");
  ASSERT_TRUE(waitUntil([&] { return cron_->job("broken")["errorCount"].asInt() == 1; }, 40s))
      << cron_->job("broken").toStyledString();
  std::this_thread::sleep_for(2s);  // no further attempt comes
  const auto attempts = lines(path("attempts"));
  ASSERT_EQ(attempts.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(parseTaskId(attempts[i]).attempt, i) << attempts[i];
  const Json::Value job = cron_->job("broken");
  EXPECT_EQ(job["errorCount"].asInt(), 1);
  EXPECT_EQ(job["successCount"].asInt(), 0);
  EXPECT_THAT(job["lastError"].asString(), StartsWith("20"));
  ASSERT_TRUE(waitUntil([&] { return !receiver.bodies().empty(); }, 10s));
  const auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  auto event = json::parseStrict(bodies[0], "webhook");
  ASSERT_TRUE(event.ok());
  EXPECT_EQ((*event)["type"].asString(), "JOB_FAILED");
  EXPECT_EQ((*event)["job"].asString(), "broken");
  EXPECT_EQ((*event)["attempts"].asInt(), 3);
  EXPECT_THAT((*event)["message"].asString(), StartsWith("TASK_FAILED"));
}

TEST_F(CronTest, RunsMissedWhileDownBeyondEpsilonAreSkippedAndRecordedAfterARestart) {
  startCron();
  const std::string file = path("pulses");
  post("/v1/scheduler/iso8601", R"({"name": "pulse", "command": "echo $mesos_task_id >> )" + file +
                                    R"(", "schedule": ")" + startingIn(1s, "PT2S") +
                                    R"(", "epsilon": "PT1S", "retries": 0, "mem": 32})");
  ASSERT_TRUE(waitUntil([&] { return !lines(file).empty(); }, 20s));
  cron_.reset();  // kill -9; the state file stays in its work dir
  std::this_thread::sleep_for(5s);
  startCron();
  // Once no run is in flight: every occurrence from the first on either ran
  // (once) or was skipped, and at least two were skipped while it was down.
  Json::Value job;
  std::vector<std::string> ran;
  auto settled = [&] {
    job = cron_->job("pulse");
    ran = lines(file);
    if (ran.size() < 3 || job["successCount"].asUInt64() != ran.size()) return false;
    const long long span = parseTaskId(ran.back()).due - parseTaskId(ran.front()).due;
    return job["skippedCount"].asInt() >= 2 &&
           job["successCount"].asInt() + job["skippedCount"].asInt() == span / 2000 + 1;
  };
  ASSERT_TRUE(waitUntil(settled, 20s)) << job.toStyledString() << ran.size();
  std::set<long long> dues;
  for (const std::string& id : ran) EXPECT_TRUE(dues.insert(parseTaskId(id).due).second) << "ran twice: " << id;
  EXPECT_THAT(job["lastSkipped"].asString(), StartsWith("20"));
}

TEST_F(CronTest, ARunKilledThroughTheApiIsNotRetried) {
  startCron();
  const std::string file = path("started");
  post("/v1/scheduler/iso8601", R"({"name": "long", "command": "echo started >> )" + file +
                                    R"(; sleep 60", "schedule": "R1//PT1H", "retries": 2, "mem": 32})");
  ASSERT_TRUE(waitUntil([&] { return lines(file).size() == 1; }, 20s));
  ASSERT_TRUE(waitUntil(
      [&] {
        auto csv = cron_->call("GET", "/v1/scheduler/graph/csv");
        return csv.ok() && csv->body == "node,long,fresh,1 running\n";
      },
      10s));
  auto killed = cron_->call("DELETE", "/v1/scheduler/task/kill/long");
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->status, 204);
  ASSERT_TRUE(waitUntil([&] { return cron_->job("long")["errorCount"].asInt() == 1; }, 20s));
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(lines(file).size(), 1u);
  auto csv = cron_->call("GET", "/v1/scheduler/graph/csv");
  EXPECT_EQ(csv->body, "node,long,failure,idle\n");
}

TEST_F(CronTest, BadInputIsRefusedWithA400NamingTheField) {
  startCron();
  auto status = [&](const std::string& method, const std::string& endpoint, const std::string& body,
                    std::string* text) {
    auto r = cron_->call(method, endpoint, body);
    EXPECT_TRUE(r.ok());
    *text = r.ok() ? r->body : "";
    return r.ok() ? r->status : 0;
  };
  std::string text;
  EXPECT_EQ(status("POST", "/v1/scheduler/iso8601", R"({"name": "a", "command": "true", "schedule": "daily"})", &text),
            400);
  EXPECT_THAT(text, StartsWith("schedule: "));
  EXPECT_EQ(
      status("POST", "/v1/scheduler/iso8601",
             R"({"name": "a", "command": "true", "schedule": "R//P1D", "scheduleTimeZone": "Nowhere/City"})", &text),
      400);
  EXPECT_THAT(text, StartsWith("scheduleTimeZone: "));
  EXPECT_EQ(
      status("POST", "/v1/scheduler/dependency", R"({"name": "b", "command": "true", "parents": ["ghost"]})", &text),
      400);
  EXPECT_THAT(text, StartsWith("parents: no job named 'ghost'"));
  EXPECT_EQ(status("POST", "/v1/scheduler/iso8601", "{not json", &text), 400);
  // A cycle: a <- b <- c, then a made to depend on c.
  EXPECT_EQ(status("POST", "/v1/scheduler/iso8601",
                   R"({"name": "a", "command": "true", "schedule": "R/2099-01-01T00:00:00Z/P1D"})", &text),
            204);
  EXPECT_EQ(status("POST", "/v1/scheduler/dependency", R"({"name": "b", "command": "true", "parents": ["a"]})", &text),
            204);
  EXPECT_EQ(status("POST", "/v1/scheduler/dependency", R"({"name": "c", "command": "true", "parents": ["b"]})", &text),
            204);
  EXPECT_EQ(status("POST", "/v1/scheduler/dependency", R"({"name": "a", "command": "true", "parents": ["c"]})", &text),
            400);
  EXPECT_THAT(text, StartsWith("parents: "));
  EXPECT_THAT(text, HasSubstr("cycle: a -> c -> b -> a"));
  // Unknown jobs, a parent still depended on.
  EXPECT_EQ(status("PUT", "/v1/scheduler/job/ghost", "", &text), 404);
  EXPECT_EQ(status("DELETE", "/v1/scheduler/task/kill/ghost", "", &text), 404);
  EXPECT_EQ(status("DELETE", "/v1/scheduler/job/a", "", &text), 409);
  EXPECT_THAT(text, HasSubstr("parent of 'b'"));
  EXPECT_EQ(status("GET", "/v1/scheduler/iso8601", "", &text), 405);
  EXPECT_EQ(status("GET", "/v1/scheduler/jobs/search?name=a&limit=5", "", &text), 400);
  EXPECT_THAT(text, StartsWith("limit: not a query parameter"));
  EXPECT_EQ(status("PUT", "/v1/scheduler/job/a?arguments=-v", "", &text), 400);
  EXPECT_THAT(text, StartsWith("arguments: not a query parameter"));
}

}  // namespace
}  // namespace mantle::testing::cron
