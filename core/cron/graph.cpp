#include "cron/graph.hpp"

#include <algorithm>

namespace mantle::cron {

namespace {

enum class Mark { kNone, kOnPath, kDone };

// Depth-first from `job`; `path` holds the jobs on the current path.
bool visit(const ParentMap& parents, const std::string& job, std::map<std::string, Mark>& marks,
           std::vector<std::string>& path) {
  Mark& mark = marks[job];
  if (mark == Mark::kDone) return false;
  if (mark == Mark::kOnPath) {
    path.erase(path.begin(), std::find(path.begin(), path.end(), job));
    path.push_back(job);
    return true;
  }
  mark = Mark::kOnPath;
  path.push_back(job);
  auto it = parents.find(job);
  if (it != parents.end()) {
    for (const std::string& parent : it->second) {
      if (visit(parents, parent, marks, path)) return true;
    }
  }
  path.pop_back();
  marks[job] = Mark::kDone;
  return false;
}

}  // namespace

std::optional<std::vector<std::string>> findCycle(const ParentMap& parents) {
  std::map<std::string, Mark> marks;
  for (const auto& [job, ignored] : parents) {
    std::vector<std::string> path;
    if (visit(parents, job, marks, path)) return path;
  }
  return std::nullopt;
}

std::string describeCycle(const std::vector<std::string>& cycle) {
  std::string out;
  for (const std::string& job : cycle) out += (out.empty() ? "" : " -> ") + job;
  return out;
}

std::vector<std::string> childrenOf(const ParentMap& parents, const std::string& job) {
  std::vector<std::string> out;
  for (const auto& [child, list] : parents) {
    if (std::find(list.begin(), list.end(), job) != list.end()) out.push_back(child);
  }
  return out;
}

}  // namespace mantle::cron
