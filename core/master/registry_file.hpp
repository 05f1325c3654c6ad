// The standalone registry: what a master must remember across restarts
// (admitted agents, frameworks, agents marked gone), kept in one file under
// --work_dir.
//
// The registry is a sequence of JSON documents, one a line. The first is the
// whole registry: {"version":1, "agents":[{"info":AgentInfo}...],
// "gone_agents":["id",...], "frameworks":[FrameworkInfo...],
// "weights":{"role":weight...}, "quotas":[QuotaConfig...],
// "maintenance_schedule":Schedule, "machines":[MachineInfo...]}, messages in
// Mesos' JSON mapping (the last two are absent when empty). Each later line
// is a change in the same schema: its "agents" are added (or replace the
// agent of the same id), its "removed_agents":["id",...] are dropped, and
// every other field replaces the one before (a change carries them all).
// So a write costs what changed: the registrar appends a change and rewrites
// the whole registry (atomically: a temporary file, fsync, rename, fsync of
// the directory) only once the changes outgrow it. A last change without
// its newline is an append that never completed (a crash while writing it);
// it was never acknowledged and is dropped. With --zk the same text is the
// registry kept in ZooKeeper (zookeeper::RegistryStore): one schema for both
// modes.
#pragma once

#include <map>
#include <string>
#include <string_view>
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

// The whole registry as one line (see above).
std::string serializeRegistry(const RegistryState& state);
// A change as one line: `state.agents` are the agents added or changed,
// `removedAgents` those dropped; every other field of `state` is whole.
std::string serializeRegistryChange(const RegistryState& state, const std::vector<std::string>& removedAgents);
// The registry a text of one or more lines gives (see above); `where` names
// its source in errors.
Result<RegistryState> parseRegistry(const std::string& text, const std::string& where);

class RegistryFile {
 public:
  // `path` empty: an in-memory registry (load gives nothing, store does nothing).
  explicit RegistryFile(std::string path) : path_(std::move(path)) {}

  // The stored state; an empty one when the file does not exist. A file that
  // cannot be read or parsed is an error naming it.
  Result<RegistryState> load() const;
  // Replaces the file atomically with `text` (a whole registry).
  Status replace(std::string_view text) const;
  // Appends `text` (a change) and syncs it: the file must hold a registry.
  Status append(std::string_view text) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mantle::master
