// posix/cpu and posix/mem: Mesos' default isolation. They enforce nothing;
// they remember each container's pid and report the usage of the process tree
// rooted at it.
#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "container.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/module_api/sdk/isolator.hpp"
#include "process_tree.hpp"

namespace mantle::isolators::posix {

namespace v1 = ::mantle::module::v1;

namespace {

using ::mantle::isolators::cgroups_common::containerKey;
using ::mantle::isolators::cgroups_common::scalar;

struct Container {
  std::optional<pid_t> pid;
  std::optional<double> cpus;
  std::optional<double> memMegabytes;
};

// What posix/cpu and posix/mem share: the container table and the tree walk.
// Calls to one instance never overlap, so the table needs no lock.
class PosixIsolator : public sdk::Isolator {
 public:
  explicit PosixIsolator(std::string name) : name_(std::move(name)) {}

  Result<v1::Empty> recover(const v1::IsolatorRecoverRequest& request) override {
    for (const v1::ContainerState& state : request.states()) {
      if (!state.has_container_id()) return invalidArgument("recover: a container state has no container_id");
      Container& c = containers_[containerKey(state.container_id())];
      if (state.pid() > 0) c.pid = static_cast<pid_t>(state.pid());
      remember(c, state.config().resources());
    }
    // Orphans hold no posix state: nothing to clean up.
    return v1::Empty();
  }

  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) override {
    if (!request.has_container_id()) return invalidArgument("prepare: no container_id");
    std::string key = containerKey(request.container_id());
    if (containers_.count(key) > 0) {
      return Error(StatusCode::kAlreadyExists, "container '" + key + "' has already been prepared");
    }
    remember(containers_[key], request.config().resources());
    return v1::IsolatorPrepareResponse();
  }

  Result<v1::Empty> isolate(const v1::IsolatorIsolateRequest& request) override {
    if (!request.has_container_id()) return invalidArgument("isolate: no container_id");
    if (request.pid() <= 0) {
      return invalidArgument("isolate: container '" + containerKey(request.container_id()) + "' has no valid pid (" +
                             std::to_string(request.pid()) + ")");
    }
    // A container the agent did not prepare through this isolator (it was
    // added to --isolation later) is adopted here.
    containers_[containerKey(request.container_id())].pid = static_cast<pid_t>(request.pid());
    return v1::Empty();
  }

  Result<v1::Empty> update(const v1::IsolatorUpdateRequest& request) override {
    Result<Container*> c = find(request.container_id());
    if (!c.ok()) return c.error();
    remember(**c, request.resources());
    return v1::Empty();
  }

  Result<v1::IsolatorUsageResponse> usage(const v1::IsolatorUsageRequest& request) override {
    Result<Container*> found = find(request.container_id());
    if (!found.ok()) return found.error();
    const Container& c = **found;
    v1::IsolatorUsageResponse response;
    v1::ResourceStatistics& stats = *response.mutable_statistics();
    stats.set_timestamp(wallNow());
    fillLimits(c, stats);
    if (!c.pid) return response;  // prepared, not yet isolated: no processes to count
    Result<std::vector<ProcessStat>> tree = processTree(*c.pid);
    if (!tree.ok()) {
      return Error(tree.error().code, name_ + ": usage of container '" + containerKey(request.container_id()) +
                                          "': " + tree.error().message);
    }
    fillUsage(sumTree(*tree), stats);
    return response;
  }

  Result<v1::IsolatorStatusResponse> status(const v1::IsolatorStatusRequest& request) override {
    Result<Container*> c = find(request.container_id());
    if (!c.ok()) return c.error();
    v1::IsolatorStatusResponse response;
    if ((*c)->pid) {
      v1::Label* label = response.mutable_labels()->add_labels();
      label->set_key(name_ + ".pid");
      label->set_value(std::to_string(*(*c)->pid));
    }
    return response;
  }

  Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest& request) override {
    // Unknown containers are fine: the agent cleans up after failed launches.
    containers_.erase(containerKey(request.container_id()));
    return v1::Empty();
  }

 protected:
  virtual void fillLimits(const Container& c, v1::ResourceStatistics& stats) const = 0;
  virtual void fillUsage(const TreeUsage& usage, v1::ResourceStatistics& stats) const = 0;

 private:
  static void remember(Container& c, const google::protobuf::RepeatedPtrField<v1::Resource>& resources) {
    if (auto cpus = scalar(resources, "cpus")) c.cpus = cpus;
    if (auto mem = scalar(resources, "mem")) c.memMegabytes = mem;
  }

  Result<Container*> find(const v1::ContainerID& id) {
    std::string key = containerKey(id);
    auto it = containers_.find(key);
    if (it == containers_.end()) return notFound(name_ + ": unknown container '" + key + "'");
    return &it->second;
  }

  std::string name_;
  std::map<std::string, Container> containers_;
};

class CpuIsolator final : public PosixIsolator {
 public:
  CpuIsolator() : PosixIsolator("posix/cpu") {}
  static Result<std::unique_ptr<CpuIsolator>> create(const sdk::Context&) { return std::make_unique<CpuIsolator>(); }

 protected:
  void fillLimits(const Container& c, v1::ResourceStatistics& stats) const override {
    if (c.cpus) stats.set_cpus_limit(*c.cpus);
  }
  void fillUsage(const TreeUsage& usage, v1::ResourceStatistics& stats) const override {
    stats.set_cpus_user_time_secs(usage.userSeconds);
    stats.set_cpus_system_time_secs(usage.systemSeconds);
    stats.set_processes(usage.processes);
    stats.set_threads(usage.threads);
  }
};

class MemIsolator final : public PosixIsolator {
 public:
  MemIsolator() : PosixIsolator("posix/mem") {}
  static Result<std::unique_ptr<MemIsolator>> create(const sdk::Context&) { return std::make_unique<MemIsolator>(); }

 protected:
  void fillLimits(const Container& c, v1::ResourceStatistics& stats) const override {
    if (c.memMegabytes) stats.set_mem_limit_bytes(static_cast<std::uint64_t>(*c.memMegabytes * 1024 * 1024));
  }
  void fillUsage(const TreeUsage& usage, v1::ResourceStatistics& stats) const override {
    stats.set_mem_rss_bytes(usage.rssBytes);
    stats.set_mem_total_bytes(usage.rssBytes);
  }
};

}  // namespace

}  // namespace mantle::isolators::posix

MANTLE_MODULE_LIBRARY("mantle_posix", "0.1.0",
                      mantle::sdk::describe<mantle::isolators::posix::CpuIsolator>(
                          "posix/cpu",
                          "Reports the CPU time, process and thread counts of a container's process tree "
                          "(no enforcement)"),
                      mantle::sdk::describe<mantle::isolators::posix::MemIsolator>(
                          "posix/mem", "Reports the resident memory of a container's process tree (no enforcement)"))
