#include "cgroups_isolator.hpp"

#include <set>

#include "mantle/common/clock.hpp"

namespace mantle::isolators::cgroups {

namespace fs = std::filesystem;

Result<CommonOptions> CommonOptions::from(const sdk::Config& config) {
  CommonOptions options;
  options.root = config.getString("root");
  if (options.root.empty() || options.root == "/" || options.root.find("..") != std::string::npos) {
    return invalidArgument("'root' must name a cgroup below the agent's or the hierarchy's root, not '" + options.root +
                           "'");
  }
  std::int64_t timeout = config.getInt("cleanup_timeout_ms");
  if (timeout <= 0) return invalidArgument("'cleanup_timeout_ms' must be positive");
  options.cleanupTimeout = std::chrono::milliseconds(timeout);
  return options;
}

Result<std::vector<Placement>> CgroupsIsolator::place(const Spec& spec, const cc::Layout& layout,
                                                      const CommonOptions& options) {
  std::vector<Placement> placements;
  for (const std::string& controller : spec.required) {
    std::optional<cc::Hierarchy> h = layout.find(controller);
    if (!h) {
      return failedPrecondition(spec.name + ": the '" + controller +
                                "' cgroup controller is not available on this host (hierarchies: " + layout.describe() +
                                ")");
    }
    placements.push_back({controller, *h});
  }
  for (const std::string& controller : spec.optional) {
    if (std::optional<cc::Hierarchy> h = layout.find(controller)) placements.push_back({controller, *h});
  }
  // Roots: on v2 the controllers of one hierarchy are enabled together.
  std::map<fs::path, std::pair<cc::Hierarchy, std::vector<std::string>>> roots;
  for (const Placement& p : placements) {
    auto& entry = roots[p.hierarchy.rootDir(options.root)];
    entry.first = p.hierarchy;
    entry.second.push_back(p.controller);
  }
  for (const auto& [dir, entry] : roots) {
    Status prepared = cc::prepareRoot(entry.first, options.root, entry.second);
    if (!prepared.ok()) return prepared.error().withContext(spec.name + ": cannot prepare cgroup root " + dir.string());
  }
  return placements;
}

CgroupsIsolator::CgroupsIsolator(std::string name, sdk::Host host, CommonOptions options,
                                 std::vector<Placement> placements, std::optional<cc::Hierarchy> v1Freezer)
    : name_(std::move(name)),
      host_(host),
      options_(std::move(options)),
      placements_(std::move(placements)),
      v1Freezer_(std::move(v1Freezer)) {
  if (v1Freezer_ && v1Freezer_->version != cc::Version::kV1) v1Freezer_.reset();
  if (v1Freezer_) (void)cc::makeDirs(v1Freezer_->rootDir(options_.root));
}

fs::path CgroupsIsolator::dir(const std::string& controller, const std::string& key) const {
  for (const Placement& p : placements_) {
    if (p.controller == controller) return p.hierarchy.rootDir(options_.root) / key;
  }
  return {};
}

cc::Version CgroupsIsolator::version(const std::string& controller) const {
  for (const Placement& p : placements_) {
    if (p.controller == controller) return p.hierarchy.version;
  }
  return cc::Version::kV1;
}

bool CgroupsIsolator::has(const std::string& controller) const {
  for (const Placement& p : placements_) {
    if (p.controller == controller) return true;
  }
  return false;
}

std::vector<std::pair<cc::Version, fs::path>> CgroupsIsolator::dirs(const std::string& key) const {
  std::vector<std::pair<cc::Version, fs::path>> out;
  std::set<fs::path> seen;
  for (const Placement& p : placements_) {
    fs::path d = p.hierarchy.rootDir(options_.root) / key;
    if (seen.insert(d).second) out.emplace_back(p.hierarchy.version, d);
  }
  return out;
}

std::optional<fs::path> CgroupsIsolator::freezerDir(const std::string& key) const {
  if (!v1Freezer_) return std::nullopt;
  return v1Freezer_->rootDir(options_.root) / key;
}

Result<Container*> CgroupsIsolator::find(const v1::ContainerID& id) {
  std::string key = cc::containerKey(id);
  auto it = containers_.find(key);
  if (it == containers_.end()) return notFound(name_ + ": unknown container '" + key + "'");
  return &it->second;
}

Result<v1::Empty> CgroupsIsolator::recover(const v1::IsolatorRecoverRequest& request) {
  std::set<std::string> known;
  for (const v1::ContainerState& state : request.states()) {
    if (!state.has_container_id()) return invalidArgument(name_ + ": recover: a container state has no container_id");
    std::string key = cc::containerKey(state.container_id());
    known.insert(key);
    bool present = false;
    std::error_code error;
    for (const auto& [version, d] : dirs(key)) present = present || fs::exists(d, error);
    if (!present) {
      // Launched before this isolator was enabled: not ours to manage.
      host_.warning(name_ + ": container '" + key + "' has no cgroup; it is not isolated by " + name_);
      continue;
    }
    Container c;
    c.key = key;
    c.id = state.container_id();
    c.config = state.config();
    c.resources = state.config().resources();
    if (state.pid() > 0) c.pid = static_cast<pid_t>(state.pid());
    Container& adoptedContainer = containers_[key] = std::move(c);
    if (Status s = adopted(adoptedContainer); !s.ok()) return s.error().withContext(name_ + ": recover '" + key + "'");
  }
  // Orphans: the ones the agent names and any other cgroup below the roots.
  std::set<std::string> orphans;
  for (const v1::ContainerID& id : request.orphans()) orphans.insert(cc::containerKey(id));
  std::set<fs::path> roots;
  for (const Placement& p : placements_) roots.insert(p.hierarchy.rootDir(options_.root));
  if (v1Freezer_) roots.insert(v1Freezer_->rootDir(options_.root));
  for (const fs::path& root : roots) {
    for (const std::string& child : cc::children(root)) {
      if (known.count(child) == 0) orphans.insert(child);
    }
  }
  for (const std::string& key : orphans) {
    if (known.count(key) > 0) continue;
    if (Status s = destroy(key); !s.ok()) return s.error().withContext(name_ + ": removing orphan '" + key + "'");
    host_.info(name_ + ": removed the cgroups of orphan container '" + key + "'");
  }
  return v1::Empty();
}

Result<v1::IsolatorPrepareResponse> CgroupsIsolator::prepare(const v1::IsolatorPrepareRequest& request) {
  if (!request.has_container_id()) return invalidArgument(name_ + ": prepare: no container_id");
  std::string key = cc::containerKey(request.container_id());
  if (key.empty() || key.find('/') != std::string::npos || key.front() == '.') {
    return invalidArgument(name_ + ": container id '" + key + "' cannot name a cgroup");
  }
  if (containers_.count(key) > 0) {
    return Error(StatusCode::kAlreadyExists, name_ + ": container '" + key + "' has already been prepared");
  }
  for (const auto& [version, d] : dirs(key)) {
    if (Status s = cc::makeDirs(d); !s.ok()) return s.error().withContext(name_ + ": prepare '" + key + "'");
  }
  if (std::optional<fs::path> f = freezerDir(key)) (void)cc::makeDirs(*f);
  Container c;
  c.key = key;
  c.id = request.container_id();
  c.config = request.config();
  c.resources = request.config().resources();
  Container& stored = containers_[key] = std::move(c);
  Status done = configure(stored);
  if (done.ok()) done = apply(stored, stored.resources);
  if (done.ok()) done = adopted(stored);
  if (!done.ok()) {
    // Leave nothing behind: the agent may or may not call cleanup.
    forgetting(stored);
    (void)destroy(key);
    containers_.erase(key);
    return done.error().withContext(name_ + ": prepare '" + key + "'");
  }
  return v1::IsolatorPrepareResponse();
}

Result<v1::Empty> CgroupsIsolator::isolate(const v1::IsolatorIsolateRequest& request) {
  Result<Container*> found = find(request.container_id());
  if (!found.ok()) return found.error();
  if (request.pid() <= 0) {
    return invalidArgument(name_ + ": isolate: container '" + (*found)->key + "' has no valid pid (" +
                           std::to_string(request.pid()) + ")");
  }
  pid_t pid = static_cast<pid_t>(request.pid());
  if (std::optional<fs::path> f = freezerDir((*found)->key)) {
    if (Status s = cc::addProcess(*f, pid); !s.ok()) return s.error().withContext(name_);
  }
  for (const auto& [version, d] : dirs((*found)->key)) {
    if (Status s = cc::addProcess(d, pid); !s.ok()) return s.error().withContext(name_);
  }
  (*found)->pid = pid;
  return v1::Empty();
}

Result<v1::Empty> CgroupsIsolator::update(const v1::IsolatorUpdateRequest& request) {
  Result<Container*> found = find(request.container_id());
  if (!found.ok()) return found.error();
  if (Status s = apply(**found, request.resources()); !s.ok()) {
    return s.error().withContext(name_ + ": update '" + (*found)->key + "'");
  }
  (*found)->resources = request.resources();
  return v1::Empty();
}

Result<v1::IsolatorUsageResponse> CgroupsIsolator::usage(const v1::IsolatorUsageRequest& request) {
  Result<Container*> found = find(request.container_id());
  if (!found.ok()) return found.error();
  v1::IsolatorUsageResponse response;
  response.mutable_statistics()->set_timestamp(wallNow());
  if (Status s = report(**found, *response.mutable_statistics()); !s.ok()) {
    return s.error().withContext(name_ + ": usage of '" + (*found)->key + "'");
  }
  return response;
}

Result<v1::IsolatorStatusResponse> CgroupsIsolator::status(const v1::IsolatorStatusRequest& request) {
  Result<Container*> found = find(request.container_id());
  if (!found.ok()) return found.error();
  v1::IsolatorStatusResponse response;
  for (const Placement& p : placements_) {
    v1::Label* label = response.mutable_labels()->add_labels();
    label->set_key(name_ + "." + p.controller);
    label->set_value(dir(p.controller, (*found)->key).string());
  }
  return response;
}

Result<v1::Empty> CgroupsIsolator::cleanup(const v1::IsolatorCleanupRequest& request) {
  std::string key = cc::containerKey(request.container_id());
  auto it = containers_.find(key);
  if (it != containers_.end()) forgetting(it->second);
  // Unknown containers too: a failed launch may have left a cgroup.
  if (Status s = destroy(key); !s.ok()) return s.error().withContext(name_ + ": cleanup '" + key + "'");
  containers_.erase(key);
  return v1::Empty();
}

Status CgroupsIsolator::destroy(const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos || key.front() == '.') return {};
  cc::DestroyOptions options;
  options.timeout = options_.cleanupTimeout;
  options.v1Freezer = freezerDir(key);
  std::error_code error;
  if (options.v1Freezer && !fs::exists(*options.v1Freezer, error)) options.v1Freezer.reset();
  for (const auto& [version, d] : dirs(key)) {
    if (Status s = cc::destroy(version, d, options); !s.ok()) return s;
  }
  if (options.v1Freezer) return cc::destroy(cc::Version::kV1, *options.v1Freezer, options);
  return {};
}

}  // namespace mantle::isolators::cgroups
