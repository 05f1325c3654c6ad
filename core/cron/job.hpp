// mantle-cron's jobs: what a job is (Chronos' JSON fields), its counters,
// the runs in flight, and the whole state that is persisted (a file or
// ZooKeeper) before anything is launched.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <json/value.h>

#include "cron/schedule.hpp"
#include "mantle/result.hpp"

namespace mantle::cron {

// What a client posts, in Chronos' field names.
struct JobSpec {
  std::string name;
  std::string command;
  std::vector<std::string> arguments;
  bool shell = true;
  std::string schedule;              // scheduled jobs
  std::string scheduleTimeZone;      // scheduled jobs; empty: UTC
  std::vector<std::string> parents;  // dependent jobs
  std::string epsilon = "PT60S";
  std::int64_t retries = 2;
  double cpus = 0.1;
  double mem = 128;
  double disk = 256;
  std::string owner;
  std::string description;
  std::vector<std::pair<std::string, std::string>> environmentVariables;
  bool disabled = false;
  bool concurrent = false;

  bool dependent() const { return !parents.empty(); }
  // "cpus:0.1;mem:128;disk:256" (disk left out when 0).
  std::string resources() const;
};

enum class JobKind { kScheduled, kDependent };

// Parses a posted job. `kind` is what the endpoint expects: a scheduled job
// needs "schedule" and no "parents", a dependent one the reverse. Unknown
// fields are refused (Chronos' counters, which GET returns, are ignored so
// that a job read back can be posted again). Errors name the field.
// `nowMillis` fills an empty schedule start.
Result<JobSpec> parseJob(const Json::Value& json, JobKind kind, std::int64_t nowMillis);

// Outcomes, in Chronos' names where Chronos has them (skippedCount and
// lastSkipped are Mantle's: runs missed by more than epsilon).
struct JobStats {
  std::int64_t successCount = 0;
  std::int64_t errorCount = 0;
  std::int64_t errorsSinceLastSuccess = 0;
  std::int64_t skippedCount = 0;
  std::string lastSuccess;  // ISO 8601, "" when never
  std::string lastError;
  std::string lastSkipped;
};

struct Job {
  JobSpec spec;
  JobStats stats;
  // Scheduled jobs: the start of the schedule as first parsed (an empty
  // start becomes the time of the post), the index of the next occurrence
  // and how many runs are left (-1: forever).
  std::int64_t startMillis = 0;
  std::int64_t nextIndex = 0;
  std::int64_t runsLeft = -1;
  // Dependent jobs: the parents that succeeded since this job last ran.
  std::set<std::string> parentsSucceeded;
  // "success", "failure" or "" (never ran): the graph's lastStatus.
  std::string lastStatus;

  // The schedule with the stored start; CHECKs that it parses (it did when
  // the job was posted).
  Schedule schedule() const;
  // Chronos' job document: the spec and the counters.
  Json::Value toJson() const;
};

// One run of a job for one due time. Its task id is derived from the due
// time and the attempt, so a run launched again after a failover keeps it.
struct Run {
  std::string job;
  std::int64_t dueMillis = 0;
  std::int64_t attempt = 0;  // 0: first try; retries count up
  bool launched = false;     // a task was (about to be) launched
  bool running = false;      // TASK_RUNNING seen
  bool killed = false;       // killed through the API: no retry
  std::string agentId;
  std::string reason;  // why it was queued: "schedule", "manual", "dependency"

  std::string taskId() const;
};

struct CronState {
  std::string frameworkId;
  std::map<std::string, Job> jobs;
  std::vector<Run> runs;  // queued and launched, in due order

  Json::Value toJson() const;
  static Result<CronState> fromJson(const Json::Value& json);
};

// Chronos' task id: "ct:<due millis>:<attempt>:<job>".
std::string taskIdFor(const std::string& job, std::int64_t dueMillis, std::int64_t attempt);

}  // namespace mantle::cron
