#include "cron/job.hpp"

#include <glog/logging.h>

#include <sstream>

namespace mantle::cron {

namespace {

const std::set<std::string>& specFields() {
  static const std::set<std::string> kFields = {"name",     "command",     "arguments",
                                                "shell",    "schedule",    "scheduleTimeZone",
                                                "parents",  "epsilon",     "retries",
                                                "cpus",     "mem",         "disk",
                                                "owner",    "description", "environmentVariables",
                                                "disabled", "concurrent"};
  return kFields;
}

// Read-only fields GET returns; ignored in a post.
const std::set<std::string>& counterFields() {
  static const std::set<std::string> kFields = {"successCount", "errorCount",  "errorsSinceLastSuccess",
                                                "skippedCount", "lastSuccess", "lastError",
                                                "lastSkipped"};
  return kFields;
}

Status expect(const Json::Value& value, const std::string& field, bool ok, const char* what) {
  if (!value.isMember(field) || ok) return {};
  return invalidArgument(field + ": must be " + what);
}

Result<std::string> stringField(const Json::Value& json, const std::string& field, std::string fallback) {
  if (!json.isMember(field) || json[field].isNull()) return fallback;
  if (!json[field].isString()) return invalidArgument(field + ": must be a string");
  return json[field].asString();
}

Result<std::vector<std::string>> stringList(const Json::Value& json, const std::string& field) {
  std::vector<std::string> out;
  if (!json.isMember(field) || json[field].isNull()) return out;
  if (!json[field].isArray()) return invalidArgument(field + ": must be an array of strings");
  for (Json::ArrayIndex i = 0; i < json[field].size(); ++i) {
    if (!json[field][i].isString()) {
      return invalidArgument(field + "[" + std::to_string(i) + "]: must be a string");
    }
    out.push_back(json[field][i].asString());
  }
  return out;
}

Result<double> resource(const Json::Value& json, const std::string& field, double fallback, bool mayBeZero) {
  if (!json.isMember(field) || json[field].isNull()) return fallback;
  if (!json[field].isNumeric()) return invalidArgument(field + ": must be a number");
  const double value = json[field].asDouble();
  if (!(value > 0 || (mayBeZero && value == 0)) || value > 1e9) {
    return invalidArgument(field + ": " + std::to_string(value) + " is out of range");
  }
  return value;
}

bool validName(const std::string& name) {
  return !name.empty() && name.size() <= 200 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
             std::string::npos;
}

Json::Value stringArray(const std::vector<std::string>& items) {
  Json::Value out(Json::arrayValue);
  for (const std::string& item : items) out.append(item);
  return out;
}

}  // namespace

std::string JobSpec::resources() const {
  std::ostringstream out;
  out << "cpus:" << cpus << ";mem:" << mem;
  if (disk > 0) out << ";disk:" << disk;
  return out.str();
}

Result<JobSpec> parseJob(const Json::Value& json, JobKind kind, std::int64_t nowMillis) {
  if (!json.isObject()) return invalidArgument("the body must be a JSON object (a job)");
  for (const std::string& member : json.getMemberNames()) {
    if (!specFields().count(member) && !counterFields().count(member)) {
      return invalidArgument(member + ": not a field mantle-cron supports (docs/CRON.md lists them)");
    }
  }
  JobSpec job;
  auto name = stringField(json, "name", "");
  if (!name.ok()) return name.error();
  if (!validName(*name)) {
    return invalidArgument("name: '" + *name + "' must be 1 to 200 letters, digits, '-', '_' or '.'");
  }
  job.name = *name;
  auto command = stringField(json, "command", "");
  if (!command.ok()) return command.error();
  if (command->empty()) return invalidArgument("command: required");
  job.command = *command;
  auto arguments = stringList(json, "arguments");
  if (!arguments.ok()) return arguments.error();
  job.arguments = *arguments;
  for (const char* flag : {"shell", "disabled", "concurrent"}) {
    if (Status s = expect(json, flag, json[flag].isBool(), "true or false"); !s.ok()) return s.error();
  }
  job.shell = json.get("shell", true).asBool();
  job.disabled = json.get("disabled", false).asBool();
  job.concurrent = json.get("concurrent", false).asBool();
  const std::pair<const char*, std::string*> texts[] = {{"schedule", &job.schedule},
                                                        {"scheduleTimeZone", &job.scheduleTimeZone},
                                                        {"owner", &job.owner},
                                                        {"description", &job.description}};
  for (const auto& [field, target] : texts) {
    auto text = stringField(json, field, "");
    if (!text.ok()) return text.error();
    *target = *text;
  }
  auto parents = stringList(json, "parents");
  if (!parents.ok()) return parents.error();
  job.parents = *parents;
  if (kind == JobKind::kScheduled) {
    if (job.schedule.empty()) return invalidArgument("schedule: required (R[n]/<start>/<period>)");
    if (!job.parents.empty()) return invalidArgument("parents: a scheduled job has none (post it to /dependency)");
    auto parsed = parseSchedule(job.schedule, job.scheduleTimeZone, nowMillis);
    if (!parsed.ok()) return parsed.error();
  } else {
    if (job.parents.empty()) return invalidArgument("parents: required (the jobs this one runs after)");
    if (!job.schedule.empty()) return invalidArgument("schedule: a dependent job has none (post it to /iso8601)");
    if (!job.scheduleTimeZone.empty()) return invalidArgument("scheduleTimeZone: a dependent job has no schedule");
    std::set<std::string> seen;
    for (const std::string& parent : job.parents) {
      if (!seen.insert(parent).second) return invalidArgument("parents: '" + parent + "' is named twice");
      if (parent == job.name) return invalidArgument("parents: a job cannot depend on itself ('" + parent + "')");
    }
  }
  auto epsilon = stringField(json, "epsilon", job.epsilon);
  if (!epsilon.ok()) return epsilon.error();
  auto period = parsePeriod(*epsilon, "epsilon");
  if (!period.ok()) return period.error();
  if (auto exact = period->exactMillis("epsilon"); !exact.ok()) return exact.error();
  job.epsilon = *epsilon;
  if (json.isMember("retries")) {
    if (!json["retries"].isIntegral() || json["retries"].asInt64() < 0 || json["retries"].asInt64() > 1000) {
      return invalidArgument("retries: must be an integer from 0 to 1000");
    }
    job.retries = json["retries"].asInt64();
  }
  auto cpus = resource(json, "cpus", job.cpus, false);
  if (!cpus.ok()) return cpus.error();
  auto mem = resource(json, "mem", job.mem, false);
  if (!mem.ok()) return mem.error();
  auto disk = resource(json, "disk", job.disk, true);
  if (!disk.ok()) return disk.error();
  job.cpus = *cpus;
  job.mem = *mem;
  job.disk = *disk;
  if (json.isMember("environmentVariables") && !json["environmentVariables"].isNull()) {
    const Json::Value& list = json["environmentVariables"];
    if (!list.isArray()) return invalidArgument("environmentVariables: must be an array of {name, value}");
    for (Json::ArrayIndex i = 0; i < list.size(); ++i) {
      const std::string where = "environmentVariables[" + std::to_string(i) + "]";
      if (!list[i].isObject() || !list[i]["name"].isString() || list[i]["name"].asString().empty() ||
          (list[i].isMember("value") && !list[i]["value"].isString())) {
        return invalidArgument(where + ": must be {\"name\": string, \"value\": string}");
      }
      job.environmentVariables.emplace_back(list[i]["name"].asString(), list[i].get("value", "").asString());
    }
  }
  return job;
}

Schedule Job::schedule() const {
  auto parsed = parseSchedule(spec.schedule, spec.scheduleTimeZone, startMillis);
  CHECK(parsed.ok()) << spec.name << ": " << parsed.error().message;
  parsed->startMillis = startMillis;
  return *parsed;
}

Json::Value Job::toJson() const {
  Json::Value j(Json::objectValue);
  j["name"] = spec.name;
  j["command"] = spec.command;
  j["arguments"] = stringArray(spec.arguments);
  j["shell"] = spec.shell;
  if (spec.dependent()) {
    j["parents"] = stringArray(spec.parents);
  } else {
    j["schedule"] = spec.schedule;
    j["scheduleTimeZone"] = spec.scheduleTimeZone;
  }
  j["epsilon"] = spec.epsilon;
  j["retries"] = static_cast<Json::Int64>(spec.retries);
  j["cpus"] = spec.cpus;
  j["mem"] = spec.mem;
  j["disk"] = spec.disk;
  j["owner"] = spec.owner;
  j["description"] = spec.description;
  Json::Value env(Json::arrayValue);
  for (const auto& [name, value] : spec.environmentVariables) {
    Json::Value e;
    e["name"] = name;
    e["value"] = value;
    env.append(e);
  }
  j["environmentVariables"] = env;
  j["disabled"] = spec.disabled;
  j["concurrent"] = spec.concurrent;
  j["successCount"] = static_cast<Json::Int64>(stats.successCount);
  j["errorCount"] = static_cast<Json::Int64>(stats.errorCount);
  j["errorsSinceLastSuccess"] = static_cast<Json::Int64>(stats.errorsSinceLastSuccess);
  j["skippedCount"] = static_cast<Json::Int64>(stats.skippedCount);
  j["lastSuccess"] = stats.lastSuccess;
  j["lastError"] = stats.lastError;
  j["lastSkipped"] = stats.lastSkipped;
  return j;
}

std::string taskIdFor(const std::string& job, std::int64_t dueMillis, std::int64_t attempt) {
  return "ct:" + std::to_string(dueMillis) + ":" + std::to_string(attempt) + ":" + job;
}

std::string Run::taskId() const {
  return taskIdFor(job, dueMillis, attempt);
}

Json::Value CronState::toJson() const {
  Json::Value root(Json::objectValue);
  root["frameworkId"] = frameworkId;
  Json::Value list(Json::arrayValue);
  for (const auto& [name, job] : jobs) {
    Json::Value j = job.toJson();
    j["startMillis"] = static_cast<Json::Int64>(job.startMillis);
    j["nextIndex"] = static_cast<Json::Int64>(job.nextIndex);
    j["runsLeft"] = static_cast<Json::Int64>(job.runsLeft);
    j["parentsSucceeded"] = stringArray({job.parentsSucceeded.begin(), job.parentsSucceeded.end()});
    j["lastStatus"] = job.lastStatus;
    list.append(j);
  }
  root["jobs"] = list;
  Json::Value runList(Json::arrayValue);
  for (const Run& run : runs) {
    Json::Value r;
    r["job"] = run.job;
    r["dueMillis"] = static_cast<Json::Int64>(run.dueMillis);
    r["attempt"] = static_cast<Json::Int64>(run.attempt);
    r["launched"] = run.launched;
    r["running"] = run.running;
    r["killed"] = run.killed;
    r["agentId"] = run.agentId;
    r["reason"] = run.reason;
    runList.append(r);
  }
  root["runs"] = runList;
  return root;
}

Result<CronState> CronState::fromJson(const Json::Value& json) {
  if (!json.isObject() || !json["jobs"].isArray() || !json["runs"].isArray()) {
    return invalidArgument("the state is not an object with \"jobs\" and \"runs\"");
  }
  CronState state;
  state.frameworkId = json["frameworkId"].asString();
  for (const Json::Value& entry : json["jobs"]) {
    static const char* kInternal[] = {"startMillis", "nextIndex", "runsLeft", "parentsSucceeded", "lastStatus"};
    Json::Value spec = entry;
    for (const char* field : kInternal) spec.removeMember(field);
    const JobKind kind = entry.isMember("parents") ? JobKind::kDependent : JobKind::kScheduled;
    const std::int64_t start = entry["startMillis"].asInt64();
    auto parsed = parseJob(spec, kind, start);
    if (!parsed.ok()) return parsed.error().withContext("job '" + entry["name"].asString() + "'");
    Job job;
    job.spec = *parsed;
    job.startMillis = start;
    job.nextIndex = entry["nextIndex"].asInt64();
    job.runsLeft = entry["runsLeft"].asInt64();
    for (const Json::Value& parent : entry["parentsSucceeded"]) job.parentsSucceeded.insert(parent.asString());
    job.lastStatus = entry["lastStatus"].asString();
    job.stats.successCount = entry["successCount"].asInt64();
    job.stats.errorCount = entry["errorCount"].asInt64();
    job.stats.errorsSinceLastSuccess = entry["errorsSinceLastSuccess"].asInt64();
    job.stats.skippedCount = entry["skippedCount"].asInt64();
    job.stats.lastSuccess = entry["lastSuccess"].asString();
    job.stats.lastError = entry["lastError"].asString();
    job.stats.lastSkipped = entry["lastSkipped"].asString();
    state.jobs[job.spec.name] = job;
  }
  for (const Json::Value& entry : json["runs"]) {
    Run run;
    run.job = entry["job"].asString();
    run.dueMillis = entry["dueMillis"].asInt64();
    run.attempt = entry["attempt"].asInt64();
    run.launched = entry["launched"].asBool();
    run.running = entry["running"].asBool();
    run.killed = entry["killed"].asBool();
    run.agentId = entry["agentId"].asString();
    run.reason = entry["reason"].asString();
    if (!state.jobs.count(run.job)) return invalidArgument("a run of unknown job '" + run.job + "'");
    state.runs.push_back(run);
  }
  return state;
}

}  // namespace mantle::cron
