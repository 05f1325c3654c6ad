// A highly available single-machine Mantle cluster for tests: a real
// ZooKeeper server (zookeeper_server.hpp), several mantle-master processes
// contending through it (--zk) and mantle-agent processes that follow the
// leader (--master=zk://...). Everything (JVM included) is stopped and
// removed when the object goes away; logs are printed when the test failed.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "zookeeper_server.hpp"

namespace mantle::testing {

struct HaClusterOptions {
  int masters = 3;
  int agents = 1;
  // Short sessions so that a killed leader is replaced within seconds.
  std::string zkSessionTimeout = "2secs";
  // No test timings at all: ZooKeeper's default tick (2 s) and the masters'
  // own session timeout and allocation interval (zkSessionTimeout ignored).
  bool productionDefaults = false;
  std::vector<std::string> masterFlags;  // extra flags for every master
  std::string masterBinary;              // empty: this build's mantle-master
  std::vector<std::string> agentFlags;
  // Extra flags for agent i only (e.g. a cgroup root of its own: agents on
  // one machine must not share one, each would destroy the other's
  // containers as orphans when it recovers).
  std::vector<std::vector<std::string>> agentFlagsByIndex;
  std::string agentResources = "cpus:4;mem:4096;disk:4096;ports:[31000-32000]";
  std::chrono::milliseconds startTimeout{30000};
};

class HaCluster {
 public:
  explicit HaCluster(HaClusterOptions options = {});
  ~HaCluster();
  HaCluster(const HaCluster&) = delete;
  HaCluster& operator=(const HaCluster&) = delete;

  // Starts ZooKeeper, the masters, waits for a leader, then the agents, and
  // waits until every agent is registered with the leader.
  Status start();

  ZooKeeperServer& zookeeper() { return zk_; }
  // "zk://127.0.0.1:<port>/mantle" (or through `servers`, e.g. a proxy).
  std::string zkUrl() const;
  int masterCount() const { return static_cast<int>(masters_.size()); }
  std::string masterUrl(int index) const;
  ChildProcess* master(int index) { return masters_.at(index).process.get(); }
  bool masterRunning(int index);
  // Starts master `index` (again), with its ZooKeeper servers overridden by
  // `servers` when given (e.g. a proxy's connect string).
  Status startMaster(int index, const std::string& servers = "");
  void killMaster(int index);  // kill -9

  int agentCount() const { return static_cast<int>(agents_.size()); }
  std::string agentUrl(int index) const;
  bool agentRunning(int index);
  // Starts agent `index` (again) with the same port and work dir, so that a
  // restarted agent recovers its checkpointed executors; waits for /health.
  Status startAgent(int index);
  void killAgent(int index);  // kill -9 of the agent's process group (executors run in sessions of their own)
  // Where every master's and agent's work dir and log lie.
  const std::filesystem::path& workDir() const { return dir_.path(); }

  // The masters whose /metrics/snapshot says master/elected == 1.
  std::vector<int> electedMasters();
  // Waits until exactly one master is elected and serves; its index.
  Result<int> waitForLeader(std::chrono::milliseconds timeout);
  // Waits until the leader lists `count` active agents.
  Status waitForAgents(int count, std::chrono::milliseconds timeout);

  std::string logs(int lines = 40) const;

 private:
  struct Node {
    int port = 0;
    std::unique_ptr<ChildProcess> process;
  };
  HaClusterOptions options_;
  TempDir dir_;
  ZooKeeperServer zk_;
  std::vector<Node> masters_;
  std::vector<Node> agents_;
};

// GET /metrics/snapshot's master/elected of the master at `url` (nullopt: no answer).
std::optional<bool> masterElected(const std::string& url);

}  // namespace mantle::testing
