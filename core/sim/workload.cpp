#include "sim/workload.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "mantle/common/strict_json.hpp"

namespace mantle::sim {

namespace {

// Line (1-based) of byte `offset` in `text`.
int lineOf(const std::string& text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

// Errors of one JSON document: "<file>:<line>: <field>: <why>", the line
// taken from where the value starts (the file's line `baseLine` for a trace
// line).
class Where {
 public:
  Where(std::string file, const std::string* text, int baseLine)
      : file_(std::move(file)), text_(text), base_(baseLine) {}

  Error error(const Json::Value& at, const std::string& field, const std::string& why) const {
    int line = base_;
    if (text_ != nullptr) line = base_ - 1 + lineOf(*text_, static_cast<std::size_t>(at.getOffsetStart()));
    return invalidArgument(file_ + ":" + std::to_string(line) + ": " + field + ": " + why);
  }

  Result<double> number(const Json::Value& object, const std::string& key, const std::string& field) const {
    const Json::Value& v = object[key];
    if (!v.isNumeric()) return error(v.isNull() ? object : v, field, "expected a number, got " + json::typeName(v));
    double d = v.asDouble();
    if (!std::isfinite(d)) return error(v, field, "not a finite number");
    return d;
  }
  Result<std::string> string(const Json::Value& object, const std::string& key, const std::string& field) const {
    const Json::Value& v = object[key];
    if (!v.isString()) return error(v.isNull() ? object : v, field, "expected a string, got " + json::typeName(v));
    return v.asString();
  }
  Result<long long> integer(const Json::Value& object, const std::string& key, const std::string& field) const {
    const Json::Value& v = object[key];
    if (!v.isIntegral() || !v.isInt64()) {
      return error(v.isNull() ? object : v, field, "expected an integer, got " + json::typeName(v));
    }
    return static_cast<long long>(v.asInt64());
  }
  // Unknown keys are errors (a misspelt optional field would pass silently).
  Status onlyKeys(const Json::Value& object, const std::set<std::string>& known, const std::string& prefix) const {
    for (const std::string& key : object.getMemberNames()) {
      if (known.count(key) == 0) return error(object[key], prefix + key, "unknown field");
    }
    return {};
  }

 private:
  std::string file_;
  const std::string* text_;
  int base_;
};

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.'; });
}

bool validRole(const std::string& role) {
  if (role.empty() || role.front() == '/' || role.back() == '/' || role.find("//") != std::string::npos) return false;
  std::size_t start = 0;
  while (start <= role.size()) {
    std::size_t end = role.find('/', start);
    if (end == std::string::npos) end = role.size();
    std::string part = role.substr(start, end - start);
    if (part == "." || part == ".." || part.front() == '-' || !validName(part) || part == "*") return false;
    start = end + 1;
  }
  return true;
}

Result<resources::Resources> agentResources(const std::string& text) {
  Result<resources::Resources> parsed = resources::Resources::parse(text);
  if (!parsed.ok()) return parsed.error();
  if (parsed->empty()) return invalidArgument("no resources");
  return parsed;
}

Result<resources::Resources> quotaResources(const std::string& text) {
  Result<Quantities> q = parseQuantities(text);
  if (!q.ok()) return q.error();
  return resources::Resources::parse(text);
}

}  // namespace

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound(path + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return internalError(path + ": cannot read the file");
  return text.str();
}

Result<Quantities> parseQuantities(const std::string& text) {
  Result<resources::Resources> parsed = resources::Resources::parse(text);
  if (!parsed.ok()) return parsed.error();
  Quantities out;
  for (const resources::Resource& r : parsed->items()) {
    if (r.type() != mesos::v1::Value::SCALAR) return invalidArgument("'" + r.name() + "' is not a scalar");
    if (r.reservations_size() > 0)
      return invalidArgument("'" + r.name() + "' is reserved; a trace asks for unreserved");
    out[r.name()] += r.scalar().value();
  }
  if (out.empty()) return invalidArgument("no resources in '" + text + "'");
  return out;
}

Result<std::map<std::string, std::string>> parseAttributes(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    std::size_t colon = item.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
      return invalidArgument("'" + item + "' is not name:value");
    }
    std::string name = item.substr(0, colon);
    if (!out.emplace(name, item.substr(colon + 1)).second) return invalidArgument("'" + name + "' given twice");
  }
  return out;
}

Result<Cluster> parseCluster(const std::string& text, const std::string& file) {
  Result<Json::Value> root = json::parseStrict(text, file);
  if (!root.ok()) return root.error();
  Where where(file, &text, 1);
  if (!root->isObject()) return where.error(*root, "(top level)", "expected an object, got " + json::typeName(*root));
  if (Status s = where.onlyKeys(*root, {"agents", "weights", "quota"}, ""); !s.ok()) return s.error();
  Cluster cluster;
  const Json::Value& agents = (*root)["agents"];
  if (!agents.isArray() || agents.empty()) {
    return where.error(agents.isNull() ? *root : agents, "agents", "expected a non-empty array of agent groups");
  }
  for (Json::ArrayIndex i = 0; i < agents.size(); ++i) {
    const Json::Value& g = agents[i];
    const std::string at = "agents[" + std::to_string(i) + "]";
    if (!g.isObject()) return where.error(g, at, "expected an object, got " + json::typeName(g));
    if (Status s = where.onlyKeys(g, {"count", "resources", "attributes"}, at + "."); !s.ok()) return s.error();
    AgentGroup group;
    Result<long long> count = where.integer(g, "count", at + ".count");
    if (!count.ok()) return count.error();
    if (*count < 1 || *count > 1000000) return where.error(g["count"], at + ".count", "must be from 1 to 1000000");
    group.count = static_cast<int>(*count);
    Result<std::string> res = where.string(g, "resources", at + ".resources");
    if (!res.ok()) return res.error();
    Result<resources::Resources> parsed = agentResources(*res);
    if (!parsed.ok()) return where.error(g["resources"], at + ".resources", parsed.error().message);
    group.resources = std::move(*parsed);
    if (g.isMember("attributes")) {
      Result<std::string> attrs = where.string(g, "attributes", at + ".attributes");
      if (!attrs.ok()) return attrs.error();
      auto parsedAttrs = parseAttributes(*attrs);
      if (!parsedAttrs.ok()) return where.error(g["attributes"], at + ".attributes", parsedAttrs.error().message);
      group.attributes = std::move(*parsedAttrs);
    }
    cluster.agents.push_back(std::move(group));
  }
  if (root->isMember("weights")) {
    const Json::Value& weights = (*root)["weights"];
    if (!weights.isObject()) return where.error(weights, "weights", "expected an object of role: weight");
    for (const std::string& role : weights.getMemberNames()) {
      const std::string at = "weights." + role;
      if (!validRole(role)) return where.error(weights[role], at, "'" + role + "' is not a valid role");
      Result<double> w = where.number(weights, role, at);
      if (!w.ok()) return w.error();
      if (*w <= 0) return where.error(weights[role], at, "must be positive");
      cluster.weights[role] = *w;
    }
  }
  if (root->isMember("quota")) {
    const Json::Value& quota = (*root)["quota"];
    if (!quota.isObject()) return where.error(quota, "quota", "expected an object of role: {guarantees, limits}");
    for (const std::string& role : quota.getMemberNames()) {
      const std::string at = "quota." + role;
      const Json::Value& q = quota[role];
      if (!validRole(role)) return where.error(q, at, "'" + role + "' is not a valid role");
      if (!q.isObject()) return where.error(q, at, "expected an object, got " + json::typeName(q));
      if (Status s = where.onlyKeys(q, {"guarantees", "limits"}, at + "."); !s.ok()) return s.error();
      Quota entry;
      for (const char* key : {"guarantees", "limits"}) {
        if (!q.isMember(key)) continue;
        Result<std::string> t = where.string(q, key, at + "." + key);
        if (!t.ok()) return t.error();
        Result<resources::Resources> r = quotaResources(*t);
        if (!r.ok()) return where.error(q[key], at + "." + key, r.error().message);
        (std::string(key) == "guarantees" ? entry.guarantees : entry.limits) = std::move(*r);
      }
      cluster.quota[role] = std::move(entry);
    }
  }
  return cluster;
}

Result<Cluster> readCluster(const std::string& path) {
  Result<std::string> text = readFile(path);
  if (!text.ok()) return text.error();
  return parseCluster(*text, path);
}

Result<Trace> parseTrace(const std::string& text, const std::string& file) {
  Trace trace;
  std::map<std::string, int> weightLines;
  int lineNo = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string here = file + ":" + std::to_string(lineNo);
    Result<Json::Value> parsed = json::parseStrict(line, here);
    if (!parsed.ok()) return parsed.error();
    const Json::Value& o = *parsed;
    Where where(file, nullptr, lineNo);
    if (!o.isObject()) return where.error(o, "(line)", "expected a JSON object, got " + json::typeName(o));
    if (Status s = where.onlyKeys(
            o, {"submit", "framework", "role", "tasks", "resources", "duration", "priority", "weight", "constraints"},
            "");
        !s.ok()) {
      return s.error();
    }
    Job job;
    job.line = lineNo;
    Result<double> submit = where.number(o, "submit", "submit");
    if (!submit.ok()) return submit.error();
    if (*submit < 0) return where.error(o, "submit", "must not be negative");
    job.submit = *submit;
    Result<std::string> framework = where.string(o, "framework", "framework");
    if (!framework.ok()) return framework.error();
    if (!validName(*framework)) {
      return where.error(o, "framework", "'" + *framework + "' is not a name of letters, digits, '-', '_', '.'");
    }
    job.framework = *framework;
    Result<std::string> role = where.string(o, "role", "role");
    if (!role.ok()) return role.error();
    if (!validRole(*role)) return where.error(o, "role", "'" + *role + "' is not a valid role");
    job.role = *role;
    Result<long long> tasks = where.integer(o, "tasks", "tasks");
    if (!tasks.ok()) return tasks.error();
    if (*tasks < 1 || *tasks > 10000000) return where.error(o, "tasks", "must be from 1 to 10000000");
    job.tasks = static_cast<int>(*tasks);
    Result<std::string> res = where.string(o, "resources", "resources");
    if (!res.ok()) return res.error();
    Result<Quantities> q = parseQuantities(*res);
    if (!q.ok()) return where.error(o, "resources", q.error().message);
    job.resources = std::move(*q);
    Result<double> duration = where.number(o, "duration", "duration");
    if (!duration.ok()) return duration.error();
    if (*duration <= 0) return where.error(o, "duration", "must be positive");
    job.duration = *duration;
    if (o.isMember("priority")) {
      Result<long long> p = where.integer(o, "priority", "priority");
      if (!p.ok()) return p.error();
      if (*p < -1000000000 || *p > 1000000000) return where.error(o, "priority", "out of range");
      job.priority = static_cast<int>(*p);
    }
    if (o.isMember("weight")) {
      Result<double> w = where.number(o, "weight", "weight");
      if (!w.ok()) return w.error();
      if (*w <= 0) return where.error(o, "weight", "must be positive");
      auto [it, added] = trace.weights.emplace(job.role, *w);
      if (!added && it->second != *w) {
        return where.error(o, "weight",
                           "role '" + job.role + "' was given weight " + std::to_string(it->second) + " on line " +
                               std::to_string(weightLines[job.role]));
      }
      if (added) weightLines[job.role] = lineNo;
    }
    if (o.isMember("constraints")) {
      Result<std::string> c = where.string(o, "constraints", "constraints");
      if (!c.ok()) return c.error();
      auto parsedC = parseAttributes(*c);
      if (!parsedC.ok()) return where.error(o, "constraints", parsedC.error().message);
      job.constraints = std::move(*parsedC);
    }
    trace.jobs.push_back(std::move(job));
  }
  std::stable_sort(trace.jobs.begin(), trace.jobs.end(),
                   [](const Job& a, const Job& b) { return a.submit < b.submit; });
  return trace;
}

Status checkTrace(const Cluster& cluster, const Trace& trace, const std::string& traceFile) {
  std::set<std::string> names;
  for (const AgentGroup& g : cluster.agents) {
    for (const resources::Resource& r : g.resources.items()) {
      if (r.type() == mesos::v1::Value::SCALAR) names.insert(r.name());
    }
  }
  for (const Job& job : trace.jobs) {
    for (const auto& [name, amount] : job.resources) {
      if (names.count(name) == 0) {
        return invalidArgument(traceFile + ":" + std::to_string(job.line) + ": resources: no agent has '" + name + "'");
      }
    }
  }
  return {};
}

Result<Trace> readTrace(const std::string& path) {
  Result<std::string> text = readFile(path);
  if (!text.ok()) return text.error();
  return parseTrace(*text, path);
}

}  // namespace mantle::sim
