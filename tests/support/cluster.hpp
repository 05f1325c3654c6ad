// A real single-machine Mantle cluster for tests: mantle-master and
// mantle-agent processes on free loopback ports with temporary work dirs.
// Everything is stopped and removed when the cluster goes away; when the
// test failed, the tail of each process's log is printed first.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {

struct ClusterOptions {
  int agents = 1;
  std::vector<std::string> masterFlags;  // extra flags, e.g. "--offer_timeout=2secs"
  std::vector<std::string> agentFlags;   // extra flags for every agent (an --ip= one replaces 127.0.0.1)
  std::string agentResources = "cpus:4;mem:4096;disk:4096;ports:[31000-32000]";
  std::chrono::milliseconds startTimeout{20000};
  // Headers of the cluster's own requests (e.g. credentials when
  // --authenticate_http_readonly is on).
  std::vector<std::pair<std::string, std::string>> clientHeaders;
  // The processes serve HTTPS (give --ssl_cert/--ssl_key in the flags and a
  // CA through MANTLE_SSL_CA or http::setDefaultClientTls).
  bool tls = false;
};

class LocalCluster {
 public:
  explicit LocalCluster(ClusterOptions options = {});
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  // Starts the master, then the agents, and waits until every agent is
  // registered. Errors carry the processes' logs.
  Status start();

  std::string masterAddress() const;  // "127.0.0.1:PORT"
  std::string masterUrl() const;      // "http://127.0.0.1:PORT"
  std::string agentUrl(int index) const;
  int agentCount() const { return static_cast<int>(agents_.size()); }
  ChildProcess& master() { return *master_; }
  ChildProcess& agent(int index) { return *agents_.at(index).process; }
  std::filesystem::path masterWorkDir() const { return dir_.path() / "master"; }
  std::filesystem::path agentWorkDir(int index) const;

  // Stops (SIGTERM, or kill -9 when `kill9`) and starts again with the same
  // flags, work dir and port; waits for /health.
  Status restartMaster(bool kill9);
  Status restartAgent(int index, bool kill9);
  Status stopAgent(int index, bool kill9);
  Status startAgent(int index);

  // The command line agent `index` runs with (e.g. to run it once more with
  // an extra flag).
  std::vector<std::string> agentArgs(int index) const;

  // Polls the master's /master/slaves until `count` agents are active.
  Status waitForAgents(int count, std::chrono::milliseconds timeout);

  // The last `lines` lines of every process's log.
  std::string logs(int lines = 40) const;

 private:
  struct Agent {
    int port = 0;
    std::unique_ptr<ChildProcess> process;
  };
  Status startMaster();

  ClusterOptions options_;
  TempDir dir_;
  int masterPort_ = 0;
  std::unique_ptr<ChildProcess> master_;
  std::vector<Agent> agents_;
};

// The text of file `name` (stdout, stderr, ...) in a sandbox of executor
// `executorId` under the agent work dir `agentWorkDir`; "" when there is none.
std::string sandboxFile(const std::filesystem::path& agentWorkDir, const std::string& executorId,
                        const std::string& name);

// GETs `url` until it answers 200 or `timeout` passes.
bool waitForHealth(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace mantle::testing
