// The dependency graph of mantle-cron's jobs: each dependent job names its
// parents; the graph must stay acyclic.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mantle::cron {

// job -> its parents.
using ParentMap = std::map<std::string, std::vector<std::string>>;

// A cycle in `parents`, as the jobs along it with the first repeated at the
// end ({"a", "b", "a"}: a depends on b, b on a); none when acyclic. Parents
// missing from the map are leaves.
std::optional<std::vector<std::string>> findCycle(const ParentMap& parents);

// "a -> b -> a".
std::string describeCycle(const std::vector<std::string>& cycle);

// The jobs that name `job` as a parent.
std::vector<std::string> childrenOf(const ParentMap& parents, const std::string& job);

}  // namespace mantle::cron
