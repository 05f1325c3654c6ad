// network/ports: a container may listen only on the TCP ports it was given
// (its `ports` resource). A thread of the module looks, every interval, at
// the listening sockets of each container's processes; a port outside the
// allocation is logged and, with enforcement on, reported as a limitation
// with REASON_CONTAINER_LIMITATION (the agent kills the container). Like
// Mesos' isolator it checks, it does not prevent: a task can listen between
// two scans, and nothing is checked while the agent is down.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "container.hpp"
#include "layout.hpp"
#include "listening.hpp"
#include "mantle/module_api/sdk/background.hpp"
#include "mantle/module_api/sdk/isolator.hpp"
#include "text.hpp"

namespace mantle::isolators::network_ports {

namespace {

namespace v1 = ::mantle::module::v1;
namespace cc = ::mantle::isolators::cgroups_common;
namespace fs = std::filesystem;
using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

bool inRanges(const Ranges& ranges, std::uint64_t port) {
  for (const auto& [begin, end] : ranges) {
    if (port >= begin && port <= end) return true;
  }
  return false;
}

std::string portList(const std::set<std::uint16_t>& ports) {
  std::vector<std::string> items;
  for (std::uint16_t p : ports) items.push_back(std::to_string(p));
  return cc::join(items, ",");
}

// "31000-32000", "[31000-32000]" or "[31000-31999,40000-40010]".
Result<Ranges> parseRanges(std::string text) {
  Ranges out;
  text = cc::trim(text);
  if (!text.empty() && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  for (const std::string& item : cc::split(text, ',')) {
    std::string range = cc::trim(item);
    if (range.empty()) continue;
    std::size_t dash = range.find('-');
    try {
      std::uint64_t begin = std::stoull(range.substr(0, dash));
      std::uint64_t end = dash == std::string::npos ? begin : std::stoull(range.substr(dash + 1));
      if (begin > end || end > 65535) return invalidArgument("bad port range '" + range + "'");
      out.emplace_back(begin, end);
    } catch (const std::exception&) {
      return invalidArgument("bad port range '" + range + "'");
    }
  }
  return out;
}

class PortsIsolator final : public sdk::Isolator {
 public:
  PortsIsolator(sdk::Host host, std::chrono::milliseconds interval, bool enforce, Ranges isolated,
                std::vector<fs::path> cgroupRoots)
      : host_(host),
        interval_(interval),
        enforce_(enforce),
        isolated_(std::move(isolated)),
        cgroupRoots_(std::move(cgroupRoots)) {
    scanner_.start([this] {
      scan();
      return interval_;
    });
  }

  static Result<std::unique_ptr<PortsIsolator>> create(const sdk::Context& ctx) {
    std::int64_t interval = ctx.config.getInt("container_ports_watch_interval_ms");
    if (interval <= 0) return invalidArgument("'container_ports_watch_interval_ms' must be positive");
    Result<Ranges> isolated = parseRanges(ctx.config.getString("container_ports_isolated_range"));
    if (!isolated.ok()) return isolated.error().withContext("'container_ports_isolated_range'");
    // Processes that left the container's process tree are still found
    // through its cgroup, when a cgroups isolator made one.
    std::vector<fs::path> roots;
    std::string root = ctx.config.getString("cgroups_root");
    if (Result<cc::Layout> layout = cc::Layout::detect(); layout.ok() && !root.empty()) {
      for (const auto& [controller, h] : layout->v1()) roots.push_back(h.rootDir(root));
      if (layout->unified()) roots.push_back(layout->unified()->rootDir(root));
    }
    return std::make_unique<PortsIsolator>(ctx.host, std::chrono::milliseconds(interval),
                                           ctx.config.getBool("enforce_container_ports"), std::move(*isolated),
                                           std::move(roots));
  }

  Result<v1::Empty> recover(const v1::IsolatorRecoverRequest& request) override {
    for (const v1::ContainerState& state : request.states()) {
      track(state.container_id(), state.config().resources(),
            state.pid() > 0 ? std::optional<pid_t>(state.pid()) : std::nullopt);
    }
    return v1::Empty();
  }

  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (containers_.count(key) > 0) {
        return Error(StatusCode::kAlreadyExists, "network/ports: container '" + key + "' has already been prepared");
      }
    }
    track(request.container_id(), request.config().resources(), std::nullopt);
    return v1::IsolatorPrepareResponse();
  }

  Result<v1::Empty> isolate(const v1::IsolatorIsolateRequest& request) override {
    if (request.pid() <= 0) return invalidArgument("network/ports: isolate without a valid pid");
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = containers_.find(cc::containerKey(request.container_id()));
    if (it == containers_.end())
      return notFound("network/ports: unknown container '" + cc::containerKey(request.container_id()) + "'");
    it->second.pid = static_cast<pid_t>(request.pid());
    return v1::Empty();
  }

  Result<v1::Empty> update(const v1::IsolatorUpdateRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = containers_.find(cc::containerKey(request.container_id()));
    if (it == containers_.end())
      return notFound("network/ports: unknown container '" + cc::containerKey(request.container_id()) + "'");
    it->second.allowed = cc::ranges(request.resources(), "ports");
    it->second.reported.clear();
    return v1::Empty();
  }

  Result<v1::IsolatorStatusResponse> status(const v1::IsolatorStatusRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = containers_.find(cc::containerKey(request.container_id()));
    if (it == containers_.end())
      return notFound("network/ports: unknown container '" + cc::containerKey(request.container_id()) + "'");
    v1::IsolatorStatusResponse response;
    auto add = [&](const std::string& k, const std::string& v) {
      v1::Label* label = response.mutable_labels()->add_labels();
      label->set_key(k);
      label->set_value(v);
    };
    add("network/ports.listening", portList(it->second.listening));
    add("network/ports.violations", portList(it->second.violations));
    return response;
  }

  Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    containers_.erase(cc::containerKey(request.container_id()));
    return v1::Empty();
  }

 private:
  struct Tracked {
    v1::ContainerID id;
    std::optional<pid_t> pid;
    Ranges allowed;
    std::set<std::uint16_t> listening;   // the last scan
    std::set<std::uint16_t> violations;  // the last scan
    std::set<std::uint16_t> reported;    // logged (and reported) already
  };

  void track(const v1::ContainerID& id, const cc::Resources& resources, std::optional<pid_t> pid) {
    Tracked t;
    t.id = id;
    t.pid = pid;
    t.allowed = cc::ranges(resources, "ports");
    std::lock_guard<std::mutex> lock(mutex_);
    containers_[cc::containerKey(id)] = std::move(t);
  }

  std::vector<pid_t> processesOf(const std::string& key, pid_t pid) const {
    std::set<pid_t> all;
    for (pid_t p : cc::processTree(pid)) all.insert(p);
    for (const fs::path& root : cgroupRoots_) {
      Result<std::vector<int>> procs = cc::readIdList(root / key / "cgroup.procs");
      if (procs.ok()) all.insert(procs->begin(), procs->end());
    }
    return {all.begin(), all.end()};
  }

  // One round of the scanner: the listening sockets of each container, the
  // look outside the lock.
  void scan() {
    std::unique_lock<std::mutex> lock(mutex_);
    std::vector<std::pair<std::string, pid_t>> work;
    for (const auto& [key, t] : containers_) {
      if (t.pid) work.emplace_back(key, *t.pid);
    }
    for (const auto& [key, pid] : work) {
      lock.unlock();
      std::set<std::uint16_t> ports = listeningPorts(processesOf(key, pid));
      lock.lock();
      if (scanner_.stopping()) return;
      auto it = containers_.find(key);
      if (it == containers_.end()) continue;
      check(key, it->second, ports, lock);
    }
  }

  // Under the lock; releases it around the calls into the host.
  void check(const std::string& key, Tracked& t, const std::set<std::uint16_t>& ports,
             std::unique_lock<std::mutex>& lock) {
    t.listening = ports;
    t.violations.clear();
    for (std::uint16_t p : ports) {
      if ((isolated_.empty() || inRanges(isolated_, p)) && !inRanges(t.allowed, p)) t.violations.insert(p);
    }
    std::set<std::uint16_t> fresh;
    for (std::uint16_t p : t.violations) {
      if (t.reported.insert(p).second) fresh.insert(p);
    }
    if (fresh.empty()) return;
    std::string message =
        "Container '" + key + "' is listening on port(s) " + portList(t.violations) + ", outside its allocated ports";
    v1::ModuleEvent event;
    if (enforce_) {
      v1::ContainerLimitation& limitation = *event.mutable_limitation();
      *limitation.mutable_container_id() = t.id;
      v1::Resource* resource = limitation.add_resources();
      resource->set_name("ports");
      resource->set_type(v1::Value::RANGES);
      for (std::uint16_t p : t.violations) {
        v1::Value::Range* range = resource->mutable_ranges()->add_range();
        range->set_begin(p);
        range->set_end(p);
      }
      limitation.set_message(message);
      limitation.set_reason(v1::TaskStatus::REASON_CONTAINER_LIMITATION);
    }
    lock.unlock();
    host_.warning("network/ports: " + message);
    if (enforce_) host_.notify(event);
    lock.lock();
  }

  sdk::Host host_;
  std::chrono::milliseconds interval_;
  bool enforce_;
  Ranges isolated_;
  std::vector<fs::path> cgroupRoots_;
  std::mutex mutex_;  // containers_; shared with the scanner
  std::map<std::string, Tracked> containers_;
  sdk::BackgroundLoop scanner_;  // last: started after, and stopped before, everything it uses
};

}  // namespace

}  // namespace mantle::isolators::network_ports

MANTLE_MODULE_LIBRARY(
    "mantle_network_ports", "0.1.0",
    mantle::sdk::describe<mantle::isolators::network_ports::PortsIsolator>(
        "network/ports",
        "Checks periodically that each container listens only on the TCP ports it was given; violations are logged "
        "and, with enforcement, reported as REASON_CONTAINER_LIMITATION limitations",
        {mantle::sdk::Param::integer("container_ports_watch_interval_ms",
                                     "How often the listening sockets of containers are checked", "30000"),
         mantle::sdk::Param::boolean("enforce_container_ports",
                                     "Report a container listening outside its ports as a limitation (the agent "
                                     "kills it); otherwise only log it",
                                     "false"),
         mantle::sdk::Param::string("container_ports_isolated_range",
                                    "Only ports in these ranges are checked, e.g. '[31000-32000]'; empty: all", ""),
         mantle::sdk::Param::string("cgroups_root",
                                    "Where the cgroups isolators put container cgroups (to find processes that left "
                                    "the container's process tree); empty: process tree only",
                                    "mantle")}))
