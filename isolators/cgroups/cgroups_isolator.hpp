// What cgroups/cpu, cgroups/mem, cgroups/pids and cgroups/devices share: one
// cgroup per container below a configured root in each hierarchy the module
// uses (v1 or v2, whichever holds the controller on this host), the container
// table, and the Mesos isolator life cycle: prepare creates the cgroups and
// sets limits, isolate moves the container's first process in, update
// changes limits, cleanup kills whatever is left and removes the cgroups,
// recover re-adopts the cgroups of live containers and removes the others.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cgroup.hpp"
#include "container.hpp"
#include "layout.hpp"
#include "mantle/module_api/sdk/isolator.hpp"

namespace mantle::isolators::cgroups {

namespace v1 = ::mantle::module::v1;
namespace cc = ::mantle::isolators::cgroups_common;
using cc::Resources;

// The parameters every cgroups module takes.
#define MANTLE_CGROUPS_COMMON_PARAMS                                                                             \
  mantle::sdk::Param::string("root",                                                                             \
                             "Where container cgroups go in each hierarchy: relative ('mantle') to the agent's " \
                             "own cgroup, or absolute ('/mantle') from the hierarchy's root",                    \
                             "mantle"),                                                                          \
      mantle::sdk::Param::integer("cleanup_timeout_ms",                                                          \
                                  "How long cleanup keeps killing a container's processes before it fails", "10000")

struct CommonOptions {
  std::string root = "mantle";
  std::chrono::milliseconds cleanupTimeout{10000};
  static Result<CommonOptions> from(const sdk::Config& config);
};

// A controller a module places containers in, and where it lives here.
struct Placement {
  std::string controller;
  cc::Hierarchy hierarchy;
};

struct Container {
  std::string key;
  v1::ContainerID id;
  v1::ContainerConfig config;
  Resources resources;
  std::optional<pid_t> pid;
};

class CgroupsIsolator : public sdk::Isolator {
 public:
  // `required` controllers must exist on the host; `optional` ones are used
  // when they do (cpuacct, only on v1).
  struct Spec {
    std::string name;  // "cgroups/cpu"
    std::vector<std::string> required;
    std::vector<std::string> optional;
  };
  // Resolves the placements and prepares the roots (enabling v2 controllers).
  static Result<std::vector<Placement>> place(const Spec& spec, const cc::Layout& layout, const CommonOptions& options);

  CgroupsIsolator(std::string name, sdk::Host host, CommonOptions options, std::vector<Placement> placements,
                  std::optional<cc::Hierarchy> v1Freezer);

  Result<v1::Empty> recover(const v1::IsolatorRecoverRequest& request) final;
  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) final;
  Result<v1::Empty> isolate(const v1::IsolatorIsolateRequest& request) final;
  Result<v1::Empty> update(const v1::IsolatorUpdateRequest& request) final;
  Result<v1::IsolatorUsageResponse> usage(const v1::IsolatorUsageRequest& request) final;
  Result<v1::IsolatorStatusResponse> status(const v1::IsolatorStatusRequest& request) final;
  Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest& request) final;

 protected:
  // Once, when the container's cgroups are new (prepare).
  virtual Status configure(const Container&) { return {}; }
  // Sets the limits that follow from `resources` (prepare and update).
  virtual Status apply(const Container& container, const Resources& resources) = 0;
  // Adds the module's counters and limits to `stats`.
  virtual Status report(const Container& container, v1::ResourceStatistics& stats) = 0;
  // The container is managed from now on (after prepare or recover), or not
  // any more (before its cgroups are destroyed).
  virtual Status adopted(const Container&) { return {}; }
  virtual void forgetting(const Container&) {}

  // The container's cgroup in the hierarchy of `controller`.
  std::filesystem::path dir(const std::string& controller, const std::string& key) const;
  cc::Version version(const std::string& controller) const;
  bool has(const std::string& controller) const;
  const sdk::Host& host() const { return host_; }
  const std::string& name() const { return name_; }

 private:
  // The distinct cgroup directories of a container (co-mounted and v2
  // controllers share one), and the v1 freezer's.
  std::vector<std::pair<cc::Version, std::filesystem::path>> dirs(const std::string& key) const;
  std::optional<std::filesystem::path> freezerDir(const std::string& key) const;
  Status destroy(const std::string& key);
  Result<Container*> find(const v1::ContainerID& id);

  std::string name_;
  sdk::Host host_;
  CommonOptions options_;
  std::vector<Placement> placements_;
  std::optional<cc::Hierarchy> v1Freezer_;
  std::map<std::string, Container> containers_;
};

}  // namespace mantle::isolators::cgroups
