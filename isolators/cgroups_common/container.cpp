#include "container.hpp"

#include <filesystem>
#include <map>

#include "text.hpp"

namespace mantle::isolators::cgroups_common {

std::string containerKey(const v1::ContainerID& id) {
  std::string key = id.value();
  for (const v1::ContainerID* p = id.has_parent() ? &id.parent() : nullptr; p != nullptr;
       p = p->has_parent() ? &p->parent() : nullptr) {
    key = p->value() + "." + key;
  }
  return key;
}

v1::ContainerID containerIdFromKey(const std::string& key) {
  std::vector<std::string> parts = split(key, '.');
  v1::ContainerID id;
  if (parts.empty()) return id;
  id.set_value(parts.back());
  v1::ContainerID* cursor = &id;
  for (auto it = parts.rbegin() + 1; it != parts.rend(); ++it) {
    cursor = cursor->mutable_parent();
    cursor->set_value(*it);
  }
  return id;
}

std::optional<double> scalar(const Resources& resources, const std::string& name, bool persistentToo) {
  std::optional<double> sum;
  for (const v1::Resource& r : resources) {
    if (r.name() != name || r.type() != v1::Value::SCALAR || !r.has_scalar()) continue;
    if (!persistentToo && r.has_disk() && r.disk().has_persistence()) continue;
    sum = sum.value_or(0) + r.scalar().value();
  }
  return sum;
}

bool revocable(const Resources& resources, const std::string& name) {
  for (const v1::Resource& r : resources) {
    if (r.name() == name && r.has_revocable()) return true;
  }
  return false;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges(const Resources& resources, const std::string& name) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (const v1::Resource& r : resources) {
    if (r.name() != name || r.type() != v1::Value::RANGES) continue;
    for (const v1::Value::Range& range : r.ranges().range()) out.emplace_back(range.begin(), range.end());
  }
  return out;
}

namespace {

std::optional<ProcessStat> parseStat(const std::filesystem::path& path) {
  Result<std::string> stat = readText(path);
  if (!stat.ok()) return std::nullopt;
  // The command (field 2) may hold spaces and parentheses: count from the last ')'.
  std::size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string> fields = splitWhitespace(stat->substr(close + 1));
  if (fields.size() < 2 || fields[0].empty()) return std::nullopt;
  try {
    return ProcessStat{fields[0][0], static_cast<pid_t>(std::stol(fields[1]))};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<ProcessStat> processStat(pid_t pid) {
  return parseStat(std::filesystem::path("/proc") / std::to_string(pid) / "stat");
}

std::vector<pid_t> processTree(pid_t root) {
  std::multimap<pid_t, pid_t> childrenOf;
  bool rootAlive = false;
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc", error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::optional<ProcessStat> stat = parseStat(it->path() / "stat");
    if (!stat) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    if (stat->state == 'Z' || stat->state == 'X') continue;  // exited, not yet reaped
    if (pid == root) rootAlive = true;
    childrenOf.emplace(stat->parent, pid);
  }
  std::vector<pid_t> tree;
  if (!rootAlive) return tree;
  tree.push_back(root);
  for (std::size_t i = 0; i < tree.size(); ++i) {
    auto [begin, end] = childrenOf.equal_range(tree[i]);
    for (auto it = begin; it != end; ++it) tree.push_back(it->second);
  }
  return tree;
}

}  // namespace mantle::isolators::cgroups_common
