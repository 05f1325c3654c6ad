#include "sim/sim_command.hpp"

#include <cerrno>
#include <cmath>
#include <fstream>
#include <iostream>
#include <set>

#include "sim/import.hpp"
#include "sim/report.hpp"
#include "sim/simulator.hpp"
#include "sim/workload.hpp"

namespace mantle::sim {

namespace {

constexpr const char* kUsage =
    "Usage: mantle sim --trace=FILE --cluster=FILE --policy=NAME[:MANIFEST] [--policy=...] --out=DIR\n"
    "                  [--seed=N] [--until=SECONDS] [--allocation-interval=SECONDS] [--refuse-seconds=SECONDS]\n"
    "                  [--timing]\n"
    "       mantle sim import --format=google2019|alibaba2018 [--scale=RESOURCES] IN OUT\n"
    "\n"
    "Replays a workload trace on a simulated cluster through allocator modules, under simulated time,\n"
    "and writes report.json, report.html and SVG plots to DIR (docs/SIM.md).\n"
    "\n"
    "  --trace=FILE          JSON lines, one job each: {\"submit\": S, \"framework\": \"A\", \"role\": \"r\",\n"
    "                        \"tasks\": N, \"resources\": \"cpus:1;mem:4096\", \"duration\": S} (optional:\n"
    "                        \"priority\", \"weight\" of the role, \"constraints\": \"rack:r1\")\n"
    "  --cluster=FILE        {\"agents\": [{\"count\": N, \"resources\": \"cpus:16;mem:65536\",\n"
    "                        \"attributes\": \"rack:r1\"}], \"weights\": {...}, \"quota\": {...}}\n"
    "  --policy=NAME[:MANIFEST]\n"
    "                        an allocator instance: from MANIFEST, or the default manifest (drf, priority);\n"
    "                        repeat to compare policies on the same workload\n"
    "  --out=DIR             where the report goes (created when missing)\n"
    "  --seed=N              orders the agents as they register (default 1)\n"
    "  --until=SECONDS       stop at this simulated time (default: when the work is done)\n"
    "  --allocation-interval=SECONDS  between allocation cycles (default 1)\n"
    "  --refuse-seconds=SECONDS       the filter of a declined offer (default 5)\n"
    "  --timing              measure allocator_cpu_ms_per_cycle (otherwise null, so that\n"
    "                        report.json is byte-identical for the same inputs and seed)\n"
    "\n"
    "import converts a public trace into the trace format: --format=google2019 reads instance_events\n"
    "JSON lines, --format=alibaba2018 reads batch_task.csv; --scale gives what a normalised 1.0\n"
    "(google2019: cpus and mem) or plan_mem 100 (alibaba2018: mem) stands for.\n";

int usageError(const std::string& message) {
  std::cerr << "mantle sim: error: " << message << "\n";
  return 2;
}

// "--name=value" -> value, when `arg` is that flag.
bool flagValue(const std::string& arg, const std::string& name, std::string* value) {
  const std::string prefix = "--" + name + "=";
  if (arg.compare(0, prefix.size(), prefix) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

Result<double> seconds(const std::string& flag, const std::string& text, bool allowZero) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < 0 || (!allowZero && v == 0)) {
    return invalidArgument("--" + flag + "=" + text + ": expected " + (allowZero ? "a non-negative" : "a positive") +
                           " number of seconds");
  }
  return v;
}

int importCommand(const std::vector<std::string>& args) {
  ImportOptions options;
  std::vector<std::string> files;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string value;
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (flagValue(args[i], "format", &value)) {
      options.format = value;
    } else if (flagValue(args[i], "scale", &value)) {
      options.scale = value;
    } else if (args[i].rfind("--", 0) == 0) {
      return usageError("unknown flag '" + args[i] + "' for 'sim import'");
    } else {
      files.push_back(args[i]);
    }
  }
  if (options.format.empty()) return usageError("sim import: --format=google2019|alibaba2018 is required");
  if (files.size() != 2)
    return usageError("sim import: expected IN and OUT, got " + std::to_string(files.size()) + " files");
  Result<std::string> input = readFile(files[0]);
  if (!input.ok()) return usageError(input.error().message);
  ImportStats stats;
  Result<std::string> trace = importTrace(*input, files[0], options, &stats);
  if (!trace.ok()) return usageError(trace.error().message);
  std::ofstream out(files[1], std::ios::binary | std::ios::trunc);
  out << *trace;
  out.close();
  if (!out) return usageError(files[1] + ": cannot write the file");
  std::cout << files[1] << ": " << stats.jobsWritten << " jobs from " << stats.linesRead << " records ("
            << stats.skipped << " skipped: never ran, unfinished or without resources)\n";
  return 0;
}

}  // namespace

int simCommand(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "import") return importCommand(args);
  std::string tracePath, clusterPath, out;
  std::vector<std::string> policySpecs;
  Options options;
  bool timing = false;
  for (const std::string& arg : args) {
    std::string value;
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (flagValue(arg, "trace", &value)) {
      tracePath = value;
    } else if (flagValue(arg, "cluster", &value)) {
      clusterPath = value;
    } else if (flagValue(arg, "policy", &value)) {
      policySpecs.push_back(value);
    } else if (flagValue(arg, "out", &value)) {
      out = value;
    } else if (flagValue(arg, "seed", &value)) {
      char* end = nullptr;
      errno = 0;
      unsigned long long seed = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || value[0] == '-' || end != value.c_str() + value.size() || errno != 0) {
        return usageError("--seed=" + value + ": expected a non-negative integer");
      }
      options.seed = seed;
    } else if (flagValue(arg, "until", &value)) {
      Result<double> v = seconds("until", value, true);
      if (!v.ok()) return usageError(v.error().message);
      options.until = *v;
    } else if (flagValue(arg, "allocation-interval", &value)) {
      Result<double> v = seconds("allocation-interval", value, false);
      if (!v.ok()) return usageError(v.error().message);
      options.allocationInterval = *v;
    } else if (flagValue(arg, "refuse-seconds", &value)) {
      Result<double> v = seconds("refuse-seconds", value, true);
      if (!v.ok()) return usageError(v.error().message);
      options.refuseSeconds = *v;
    } else if (arg == "--timing") {
      timing = true;
    } else {
      return usageError("unknown flag '" + arg + "' (see 'mantle sim --help')");
    }
  }
  if (tracePath.empty()) return usageError("--trace=FILE is required");
  if (clusterPath.empty()) return usageError("--cluster=FILE is required");
  if (policySpecs.empty()) return usageError("at least one --policy=NAME[:MANIFEST] is required");
  if (out.empty()) return usageError("--out=DIR is required");

  Result<Trace> trace = readTrace(tracePath);
  if (!trace.ok()) return usageError(trace.error().message);
  Result<Cluster> cluster = readCluster(clusterPath);
  if (!cluster.ok()) return usageError(cluster.error().message);
  if (Status s = checkTrace(*cluster, *trace, tracePath); !s.ok()) return usageError(s.error().message);

  // Every policy is loaded (and its name checked) before any run.
  std::vector<Policy> policies;
  std::set<std::string> names;
  for (const std::string& spec : policySpecs) {
    Result<Policy> policy = loadPolicy(spec);
    if (!policy.ok()) return usageError(policy.error().message);
    if (!names.insert(policy->name).second) {
      return usageError("--policy=" + spec + ": policy '" + policy->name + "' is given twice");
    }
    policies.push_back(std::move(*policy));
  }
  std::vector<PolicyRun> runs;
  for (const Policy& policy : policies) {
    Result<RunReport> run = simulate(*cluster, *trace, *policy.instance, options);
    if (!run.ok()) {
      std::cerr << "mantle sim: error: policy '" << policy.name << "': " << run.error().message << "\n";
      return 1;
    }
    std::cerr << "mantle sim: " << policy.name << ": " << run->cycles << " cycles, " << formatNumber(run->endTime)
              << " simulated seconds in " << formatNumber(run->wallSeconds) << " s\n";
    runs.push_back({policy.name, std::move(*run)});
  }
  ReportInputs inputs{tracePath, clusterPath, options.seed, timing};
  if (Status s = writeReport(out, runs, inputs); !s.ok()) return usageError(s.error().message);
  std::cout << out << "/report.json\n" << out << "/report.html\n";
  return 0;
}

}  // namespace mantle::sim
