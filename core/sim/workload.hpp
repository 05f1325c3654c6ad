// What `mantle sim` replays: the cluster (agents, role weights, quota) and the
// trace (jobs: when submitted, by which framework in which role, how many
// tasks of which shape, for how long). Both are read from files; every error
// names the file, the line and the field.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "resources/resources.hpp"

namespace mantle::sim {

// Scalar quantities by resource name ("cpus" -> 4). Traces carry scalars only.
using Quantities = std::map<std::string, double>;

struct AgentGroup {
  int count = 0;
  resources::Resources resources;
  // name -> value, from "rack:r1;zone:a".
  std::map<std::string, std::string> attributes;
};

struct Quota {
  resources::Resources guarantees;
  resources::Resources limits;
};

struct Cluster {
  std::vector<AgentGroup> agents;
  std::map<std::string, double> weights;  // role -> weight
  std::map<std::string, Quota> quota;     // role -> quota
};

struct Job {
  int line = 0;  // where it was declared (1-based), also its id
  double submit = 0;
  std::string framework;
  std::string role;
  int tasks = 0;
  Quantities resources;
  double duration = 0;
  int priority = 0;  // higher goes first within the framework
  // Agent attributes a task needs: name -> value, all must match.
  std::map<std::string, std::string> constraints;
};

struct Trace {
  std::vector<Job> jobs;                  // ordered by submit time, then line
  std::map<std::string, double> weights;  // role -> weight from "weight" fields
};

// The cluster file: {"agents": [{"count": N, "resources": "...", "attributes":
// "..."}], "weights": {"role": w}, "quota": {"role": {"guarantees": "...",
// "limits": "..."}}}. Errors read "<file>:<line>: <field>: <why>".
Result<Cluster> parseCluster(const std::string& text, const std::string& file);
Result<Cluster> readCluster(const std::string& path);

// The trace: JSON lines (blank lines skipped), one job each.
Result<Trace> parseTrace(const std::string& text, const std::string& file);
Result<Trace> readTrace(const std::string& path);

// Every resource a job of `trace` (read from `traceFile`) asks for is one
// some agent of `cluster` has: "<traceFile>:<line>: resources: no agent has 'gpus'".
Status checkTrace(const Cluster& cluster, const Trace& trace, const std::string& traceFile);

// "cpus:1;mem:4096" as scalar quantities; an error for ranges, sets,
// reservations, negative or zero-only amounts.
Result<Quantities> parseQuantities(const std::string& text);
// "rack:r1;zone:a".
Result<std::map<std::string, std::string>> parseAttributes(const std::string& text);

// Reads a whole file; the error names it.
Result<std::string> readFile(const std::string& path);

}  // namespace mantle::sim
