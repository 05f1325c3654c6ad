// The standalone registry: what a master must remember across restarts
// (admitted agents, frameworks, agents marked gone), kept in one file under
// --work_dir and replaced atomically (write a temporary file, fsync it,
// rename it over the old one, fsync the directory).
//
// The file is JSON: {"version":1, "agents":[{"info":AgentInfo}...],
// "gone_agents":["id",...], "frameworks":[FrameworkInfo...],
// "weights":{"role":weight...}, "quotas":[QuotaConfig...],
// "maintenance_schedule":Schedule, "machines":[MachineInfo...]}, messages in
// Mesos' JSON mapping (the last two are absent when empty). With --zk the same document is the registry kept in
// ZooKeeper (zookeeper::RegistryStore): one schema for both modes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "mesos/v1/maintenance/maintenance.pb.h"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/quota/quota.pb.h"

namespace mantle::master {

struct RegistryState {
  std::vector<mesos::v1::AgentInfo> agents;
  std::vector<std::string> goneAgents;
  std::vector<mesos::v1::FrameworkInfo> frameworks;
  std::map<std::string, double> weights;
  std::vector<mesos::v1::quota::QuotaConfig> quotas;
  // Maintenance: the schedule, and the machines in it that are DRAINING or
  // DOWN (with their unavailability).
  mesos::v1::maintenance::Schedule schedule;
  std::vector<mesos::v1::MachineInfo> machines;
};

// The registry document (see above); `where` names its source in errors.
std::string serializeRegistry(const RegistryState& state);
Result<RegistryState> parseRegistry(const std::string& text, const std::string& where);

class RegistryFile {
 public:
  // `path` empty: an in-memory registry (load gives nothing, store does nothing).
  explicit RegistryFile(std::string path) : path_(std::move(path)) {}

  // The stored state; an empty one when the file does not exist. A file that
  // cannot be read or parsed is an error naming it.
  Result<RegistryState> load() const;
  // Replaces the file atomically.
  Status store(const RegistryState& state) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mantle::master
