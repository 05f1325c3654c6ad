// core/cron/job: Chronos' job JSON, checked field by field, and the stored state.
#include "cron/job.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mantle/common/strict_json.hpp"

namespace mantle::cron {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Json::Value json(const std::string& text) {
  auto parsed = json::parseStrict(text, "test");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : Json::Value();
}

std::string error(const std::string& text, JobKind kind = JobKind::kScheduled) {
  auto job = parseJob(json(text), kind, 0);
  EXPECT_FALSE(job.ok()) << text;
  return job.ok() ? "" : job.error().message;
}

TEST(JobTest, ReadsChronosFieldsWithChronosDefaults) {
  auto job = parseJob(json(R"({"name": "backup", "command": "tar", "arguments": ["-c", "/data"], "shell": false,
      "schedule": "R/2026-01-01T00:00:00Z/P1D", "scheduleTimeZone": "Europe/Paris", "epsilon": "PT5M",
      "owner": "ops@example.com", "environmentVariables": [{"name": "A", "value": "1"}], "mem": 64})"),
                      JobKind::kScheduled, 0);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->retries, 2);
  EXPECT_EQ(job->cpus, 0.1);
  EXPECT_EQ(job->resources(), "cpus:0.1;mem:64;disk:256");
  EXPECT_FALSE(job->shell);
  EXPECT_EQ(job->arguments.size(), 2u);
  EXPECT_EQ(job->environmentVariables.at(0).second, "1");
}

TEST(JobTest, BadFieldsAreRefusedNamingTheField) {
  EXPECT_THAT(error(R"({"name": "x", "schedule": "R//PT1S"})"), StartsWith("command: "));
  EXPECT_THAT(error(R"({"name": "a b", "command": "true", "schedule": "R//PT1S"})"), StartsWith("name: "));
  EXPECT_THAT(error(R"({"name": "x", "command": "true"})"), StartsWith("schedule: required"));
  EXPECT_THAT(error(R"({"name": "x", "command": "true", "schedule": "every day"})"), StartsWith("schedule: "));
  EXPECT_THAT(error(R"({"name": "x", "command": "true", "schedule": "R//PT1S", "retries": -1})"),
              StartsWith("retries: "));
  EXPECT_THAT(error(R"({"name": "x", "command": "true", "schedule": "R//PT1S", "cpus": "lots"})"),
              StartsWith("cpus: "));
  EXPECT_THAT(error(R"({"name": "x", "command": "true", "schedule": "R//PT1S", "epsilon": "P1M"})"),
              StartsWith("epsilon: "));
  EXPECT_THAT(error(R"({"name": "x", "command": "true", "schedule": "R//PT1S", "container": {}})"),
              StartsWith("container: not a field"));
  EXPECT_THAT(error(R"({"name": "x", "command": "true", "schedule": "R//PT1S", "environmentVariables": [1]})"),
              StartsWith("environmentVariables[0]: "));
  EXPECT_THAT(error(R"({"name": "x", "command": "true"})", JobKind::kDependent), StartsWith("parents: required"));
  EXPECT_THAT(error(R"({"name": "x", "command": "true", "parents": ["x"]})", JobKind::kDependent),
              HasSubstr("cannot depend on itself"));
  EXPECT_THAT(
      error(R"({"name": "x", "command": "true", "parents": ["a"], "schedule": "R//PT1S"})", JobKind::kDependent),
      StartsWith("schedule: a dependent job has none"));
}

TEST(JobTest, AJobReadBackCanBePostedAgain) {
  Job job;
  job.spec = *parseJob(json(R"({"name": "x", "command": "true", "schedule": "R/2026-01-01T00:00:00Z/PT1S"})"),
                       JobKind::kScheduled, 0);
  job.stats.successCount = 3;
  auto again = parseJob(job.toJson(), JobKind::kScheduled, 0);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->schedule, job.spec.schedule);
}

TEST(JobTest, TheStateRoundTripsThroughJson) {
  CronState state;
  state.frameworkId = "fw-1";
  Job parent;
  parent.spec = *parseJob(json(R"({"name": "p", "command": "true", "schedule": "R3//PT1S"})"), JobKind::kScheduled, 7);
  parent.startMillis = 7;
  parent.nextIndex = 2;
  parent.runsLeft = 1;
  parent.stats.errorCount = 4;
  parent.stats.lastError = "2026-01-01T00:00:00.000Z";
  Job child;
  child.spec = *parseJob(json(R"({"name": "c", "command": "true", "parents": ["p"]})"), JobKind::kDependent, 0);
  child.parentsSucceeded = {"p"};
  state.jobs = {{"p", parent}, {"c", child}};
  cron::Run run;
  run.job = "p";
  run.dueMillis = 1007;
  run.attempt = 1;
  run.launched = true;
  run.agentId = "agent-1";
  run.reason = "schedule";
  state.runs.push_back(run);

  auto back = CronState::fromJson(state.toJson());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->frameworkId, "fw-1");
  EXPECT_EQ(back->jobs.at("p").nextIndex, 2);
  EXPECT_EQ(back->jobs.at("p").runsLeft, 1);
  EXPECT_EQ(back->jobs.at("p").startMillis, 7);
  EXPECT_EQ(back->jobs.at("p").stats.errorCount, 4);
  EXPECT_EQ(back->jobs.at("c").parentsSucceeded.count("p"), 1u);
  ASSERT_EQ(back->runs.size(), 1u);
  EXPECT_EQ(back->runs[0].taskId(), "ct:1007:1:p");
  EXPECT_TRUE(back->runs[0].launched);
  EXPECT_EQ(back->runs[0].agentId, "agent-1");
}

}  // namespace
}  // namespace mantle::cron
