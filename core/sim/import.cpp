#include "sim/import.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "mantle/common/strict_json.hpp"
#include "sim/report.hpp"

namespace mantle::sim {

namespace {

struct OutJob {
  double submit = 0;
  std::string framework, role;
  long long tasks = 0;
  Quantities resources;
  double duration = 0;
  std::optional<long long> priority;
  std::string key;  // orders jobs submitted at the same time
};

double round3(double v) {
  return std::round(v * 1000) / 1000;
}

// The largest normalised request (1.0 is the largest machine).
constexpr double kMaxNormalised = 1e6;

// A scalar a trace can carry (resources keep at most 1e15).
bool representable(double v) {
  return std::isfinite(v) && v <= 1e15;
}

std::string render(std::vector<OutJob>& jobs) {
  std::sort(jobs.begin(), jobs.end(), [](const OutJob& a, const OutJob& b) {
    return a.submit != b.submit ? a.submit < b.submit : a.key < b.key;
  });
  std::ostringstream o;
  for (const OutJob& j : jobs) {
    std::string res;
    for (const auto& [name, amount] : j.resources) res += (res.empty() ? "" : ";") + name + ":" + formatNumber(amount);
    o << "{\"submit\": " << formatNumber(j.submit) << ", \"framework\": \"" << j.framework << "\", \"role\": \""
      << j.role << "\", \"tasks\": " << j.tasks << ", \"resources\": \"" << res
      << "\", \"duration\": " << formatNumber(j.duration);
    if (j.priority) o << ", \"priority\": " << *j.priority;
    o << "}\n";
  }
  return o.str();
}

Result<Quantities> scaleOf(const ImportOptions& options, const std::string& fallback) {
  const std::string text = options.scale.empty() ? fallback : options.scale;
  Result<Quantities> q = parseQuantities(text);
  if (!q.ok()) return invalidArgument("--scale=" + text + ": " + q.error().message);
  return q;
}

// Lines of `input`, 1-based, without their '\n' (and '\r').
template <class F>
Status forEachLine(const std::string& input, F&& f) {
  std::size_t start = 0;
  int line = 0;
  while (start < input.size()) {
    std::size_t end = input.find('\n', start);
    if (end == std::string::npos) end = input.size();
    std::string text = input.substr(start, end - start);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    start = end + 1;
    ++line;
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    if (Status s = f(line, text); !s.ok()) return s;
  }
  return {};
}

// BigQuery's JSON export writes INT64 columns as strings; accept both.
Result<double> numeric(const Json::Value& v) {
  if (v.isNumeric()) return v.asDouble();
  if (v.isString()) {
    const std::string s = v.asString();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d)) return d;
  }
  return invalidArgument("expected a number, got " + json::typeName(v));
}

// Borg's priority bands (trace format v3 document).
std::string tierOf(long long priority) {
  if (priority < 100) return "free";
  if (priority < 116) return "batch";
  if (priority < 120) return "mid";
  if (priority < 360) return "prod";
  return "monitoring";
}

Result<std::string> importGoogle2019(const std::string& input, const std::string& source, const ImportOptions& options,
                                     ImportStats* stats) {
  Result<Quantities> scale = scaleOf(options, "cpus:64;mem:262144");
  if (!scale.ok()) return scale.error();
  struct Instance {
    double submit = -1, schedule = -1, end = -1;
    double cpus = 0, memory = 0;
    long long priority = 0;
  };
  constexpr double kAfterEnd = 9.2e18;  // INT64_MAX: "after the trace ended"
  std::map<std::pair<long long, long long>, Instance> instances;
  double traceEnd = 0;
  Status read = forEachLine(input, [&](int line, const std::string& text) -> Status {
    ++stats->linesRead;
    const std::string here = source + ":" + std::to_string(line);
    Result<Json::Value> parsed = json::parseStrict(text, here);
    if (!parsed.ok()) return parsed.error();
    const Json::Value& o = *parsed;
    if (!o.isObject()) return invalidArgument(here + ": expected a JSON object");
    auto field = [&](const char* name) -> Result<double> {
      if (!o.isMember(name)) return invalidArgument(here + ": " + name + ": missing");
      Result<double> v = numeric(o[name]);
      if (!v.ok()) return invalidArgument(here + ": " + name + ": " + v.error().message);
      return v;
    };
    // A whole number from `low` to `high`.
    auto whole = [&](const char* name, double low, double high) -> Result<double> {
      Result<double> v = field(name);
      if (!v.ok()) return v;
      if (*v != std::floor(*v) || *v < low || *v > high) {
        return invalidArgument(here + ": " + name + ": " + formatNumber(*v) + " is not a whole number from " +
                               formatNumber(low) + " to " + formatNumber(high));
      }
      return v;
    };
    Result<double> time = whole("time", 0, 9.3e18), type = whole("type", 0, 1e9),
                   collection = whole("collection_id", -9e18, 9e18), index = whole("instance_index", -9e18, 9e18);
    for (const Result<double>* r : {&time, &type, &collection, &index}) {
      if (!r->ok()) return r->error();
    }
    if (*time >= kAfterEnd) return {};
    Instance& inst = instances[{static_cast<long long>(*collection), static_cast<long long>(*index)}];
    const double seconds = *time / 1e6;
    traceEnd = std::max(traceEnd, seconds);
    if (o.isMember("priority")) {
      Result<double> p = whole("priority", -1e9, 1e9);
      if (!p.ok()) return p.error();
      inst.priority = static_cast<long long>(*p);
    }
    if (o.isMember("resource_request") && o["resource_request"].isObject()) {
      const Json::Value& r = o["resource_request"];
      for (const char* name : {"cpus", "memory"}) {
        if (!r.isMember(name) || r[name].isNull()) continue;
        Result<double> v = numeric(r[name]);
        if (!v.ok() || *v < 0 || *v > kMaxNormalised) {
          return invalidArgument(here + ": resource_request." + name + ": " +
                                 (v.ok() ? "must be from 0 to " + formatNumber(kMaxNormalised) : v.error().message));
        }
        (std::string(name) == "cpus" ? inst.cpus : inst.memory) = *v;
      }
    }
    switch (static_cast<int>(*type)) {
      case 0:  // SUBMIT
        if (inst.submit < 0) inst.submit = seconds;
        break;
      case 3:  // SCHEDULE
        if (inst.schedule < 0) inst.schedule = seconds;
        break;
      case 4:
      case 5:
      case 6:
      case 7:
      case 8:  // EVICT, FAIL, FINISH, KILL, LOST
        if (inst.schedule >= 0 && inst.end < 0) inst.end = seconds;
        break;
      default: break;
    }
    return {};
  });
  if (!read.ok()) return read.error();

  // One job per collection and request shape: its instances' count, earliest
  // submission and mean running time.
  struct Group {
    double submit = std::numeric_limits<double>::infinity();
    double runningSum = 0;
    long long count = 0;
    long long priority = 0;
  };
  std::map<std::tuple<long long, double, double>, Group> groups;
  for (const auto& [key, inst] : instances) {
    const double cpus = round3(inst.cpus * scale->count("cpus") * (*scale)["cpus"]);
    const double mem = round3(inst.memory * (*scale)["mem"]);
    const double end = inst.end >= 0 ? inst.end : traceEnd;
    if (inst.schedule < 0 || end <= inst.schedule || (cpus <= 0 && mem <= 0) || !representable(cpus) ||
        !representable(mem)) {
      ++stats->skipped;
      continue;
    }
    Group& g = groups[{key.first, cpus, mem}];
    g.submit = std::min(g.submit, inst.submit >= 0 ? inst.submit : inst.schedule);
    g.runningSum += end - inst.schedule;
    ++g.count;
    g.priority = inst.priority;
  }
  double origin = std::numeric_limits<double>::infinity();
  for (const auto& [key, g] : groups) origin = std::min(origin, g.submit);
  std::vector<OutJob> jobs;
  for (const auto& [key, g] : groups) {
    const auto& [collection, cpus, mem] = key;
    OutJob j;
    j.submit = round3(g.submit - origin);
    j.framework = j.role = tierOf(g.priority);
    j.tasks = g.count;
    if (cpus > 0) j.resources["cpus"] = cpus;
    if (mem > 0) j.resources["mem"] = mem;
    j.duration = std::max(0.001, round3(g.runningSum / static_cast<double>(g.count)));
    j.priority = g.priority;
    j.key = std::to_string(collection) + "/" + formatNumber(cpus) + "/" + formatNumber(mem);
    jobs.push_back(std::move(j));
  }
  stats->jobsWritten = jobs.size();
  return render(jobs);
}

Result<std::string> importAlibaba2018(const std::string& input, const std::string& source, const ImportOptions& options,
                                      ImportStats* stats) {
  Result<Quantities> scale = scaleOf(options, "mem:98304");
  if (!scale.ok()) return scale.error();
  if (scale->count("mem") == 0) return invalidArgument("--scale: alibaba2018 needs mem (what plan_mem 100 stands for)");
  static const char* const kColumns[] = {"task_name",  "instance_num", "job_name", "task_type", "status",
                                         "start_time", "end_time",     "plan_cpu", "plan_mem"};
  std::vector<OutJob> jobs;
  double origin = std::numeric_limits<double>::infinity();
  Status read = forEachLine(input, [&](int line, const std::string& text) -> Status {
    ++stats->linesRead;
    std::vector<std::string> cells;
    std::stringstream row(text);
    std::string cell;
    while (std::getline(row, cell, ',')) cells.push_back(cell);
    if (!text.empty() && text.back() == ',') cells.emplace_back();
    const std::string here = source + ":" + std::to_string(line);
    if (cells.size() != 9) {
      return invalidArgument(here + ": expected 9 columns (" + std::string(kColumns[0]) + ",...," + kColumns[8] +
                             "), got " + std::to_string(cells.size()));
    }
    auto number = [&](int column) -> Result<double> {
      const std::string& s = cells[static_cast<std::size_t>(column)];
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(d)) {
        return invalidArgument(here + ": column " + kColumns[column] + ": '" + s + "' is not a number");
      }
      return d;
    };
    if (cells[4] != "Terminated") {
      ++stats->skipped;
      return {};
    }
    Result<double> instances = number(1), start = number(5), end = number(6), cpu = number(7), mem = number(8);
    for (const Result<double>* r : {&instances, &start, &end, &cpu, &mem}) {
      if (!r->ok()) return r->error();
    }
    if (*instances != std::floor(*instances)) {
      return invalidArgument(here + ": column instance_num: '" + cells[1] + "' is not a whole number");
    }
    if (*cpu < 0 || *mem < 0) {
      return invalidArgument(here + ": column " + kColumns[*cpu < 0 ? 7 : 8] + ": must not be negative");
    }
    const double cpus = round3(*cpu / 100), memory = round3(*mem / 100 * (*scale)["mem"]);
    if (*instances < 1 || *instances > 1e7 || *end <= *start || (cpus <= 0 && memory <= 0) || !representable(cpus) ||
        !representable(memory)) {
      ++stats->skipped;
      return {};
    }
    OutJob j;
    j.submit = *start;
    j.framework = cells[2];
    j.role = "batch";
    j.tasks = static_cast<long long>(*instances);
    if (cpus > 0) j.resources["cpus"] = cpus;
    if (memory > 0) j.resources["mem"] = memory;
    j.duration = std::max(0.001, round3(*end - *start));
    j.key = cells[2] + "/" + cells[0];
    bool validName = !j.framework.empty() && j.framework.size() <= 128 &&
                     std::all_of(j.framework.begin(), j.framework.end(), [](unsigned char c) {
                       return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
                     });
    if (!validName) return invalidArgument(here + ": column job_name: '" + cells[2] + "' is not a framework name");
    origin = std::min(origin, j.submit);
    jobs.push_back(std::move(j));
    return {};
  });
  if (!read.ok()) return read.error();
  for (OutJob& j : jobs) j.submit = round3(j.submit - origin);
  stats->jobsWritten = jobs.size();
  return render(jobs);
}

}  // namespace

Result<std::string> importTrace(const std::string& input, const std::string& source, const ImportOptions& options,
                                ImportStats* stats) {
  ImportStats ignored;
  if (stats == nullptr) stats = &ignored;
  if (options.format == "google2019") return importGoogle2019(input, source, options, stats);
  if (options.format == "alibaba2018") return importAlibaba2018(input, source, options, stats);
  return invalidArgument("--format=" + options.format + ": unknown format (known: google2019, alibaba2018)");
}

}  // namespace mantle::sim
