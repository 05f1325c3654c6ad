// The flags of mantle-master, in Mesos' names and units. Each is also read
// from MANTLE_<NAME> in the environment (the command line wins).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/security.hpp"
#include "mantle/result.hpp"

namespace mantle::master {

struct MasterFlags {
  std::string ip = "0.0.0.0";
  std::int64_t port = 5050;
  std::string hostname;  // empty: the machine's host name
  std::string workDir;   // empty: no registry file (nothing survives a restart)
  std::optional<std::string> modules;
  std::string allocator = "drf";
  std::string hooks;  // hook module instances, comma separated, called in this order (docs/HOOKS.md)
  double allocationInterval = 1.0;
  double offerTimeout = 0;  // 0: offers stay until used, declined or rescinded
  double agentReregisterTimeout = 600;
  double heartbeatInterval = 15;       // scheduler and operator event streams
  double agentHeartbeatInterval = 15;  // master -> agent streams
  std::optional<std::string> zk;
  double zkSessionTimeout = 10;
  std::int64_t quorum = 0;  // accepted for Mesos compatibility; ZooKeeper replicates the registry
  std::string cluster;
  std::int64_t maxCompletedFrameworks = 50;
  std::int64_t maxCompletedTasksPerFramework = 1000;
  std::int64_t maxOperatorEventStreamSubscribers = 1000;
  std::int64_t httpThreads = 2;
  std::string logDir;
  // Authentication, authorization and TLS (docs/SECURITY.md).
  auth::SecurityFlags security;

  // Every flag with its value as text, sorted by name (GET_FLAGS, /flags).
  std::vector<std::pair<std::string, std::string>> values;
};

// Parses argv and the MANTLE_* environment. `usage` receives --help's text
// when --help was given (the result is then ok and should not be used to
// start). Errors name the flag.
Result<MasterFlags> parseFlags(int argc, const char* const* argv, std::string* usage);

// Semantic checks that need no I/O: ranges, the --zk URL. Errors are one line.
Status checkFlags(const MasterFlags& flags);

}  // namespace mantle::master
