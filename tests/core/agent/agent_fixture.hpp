// A real mantle-agent process against a MasterPeer, in a temporary work dir.
// Containers live in sessions of their own and survive the agent on
// purpose; the fixture kills every session that runs in its work dir when
// it goes away, so no executor or task outlives a test, passed or failed.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <json/value.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "http/client.hpp"
#include "master_peer.hpp"
#include "module_manifest.hpp"
#include "process.hpp"
#include "process/sessions.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {

using process::killSessionsUnder;
using process::sessionsUnder;

// No such process, or a zombie nobody reaped yet (the task's new parent).
inline bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const std::size_t end = line.rfind(')');
  return end == std::string::npos || line.compare(end + 2, 1, "Z") == 0;
}

// The agent flags that make the launch_gate fixture isolator
// (fixtures/launch_gate.cpp) the only one, with its files in `gates`.
inline std::vector<std::string> launchGateFlags(const std::filesystem::path& gates) {
  Json::Value config;
  config["gate_dir"] = gates.string();
  return {"--modules=" + moduleManifest({isolatorModule(fixtureLibrary("fixture_launch_gate"), "launch_gate", config)}),
          "--isolation=launch_gate"};
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_.start();
    agentPort_ = freePort();
  }

  void TearDown() override {
    if (agent_) agent_->kill();
    killSessionsUnder(dir_.path());
    peer_.stop();
    if (::testing::Test::HasFailure() && agent_) std::cerr << "---- agent log ----\n" << agent_->output() << "\n";
  }

  std::vector<std::string> agentArgs() const {
    std::vector<std::string> args = {binary("mantle-agent"),
                                     "--master=" + peer_.address(),
                                     "--ip=127.0.0.1",
                                     "--port=" + std::to_string(agentPort_),
                                     "--work_dir=" + (dir_.path() / "agent").string(),
                                     "--resources=cpus:4;mem:2048;disk:4096;ports:[31000-32000]",
                                     "--executor_reregistration_timeout=" + reregistrationTimeout_};
    args.insert(args.end(), extraFlags_.begin(), extraFlags_.end());
    return args;
  }

  // Starts the agent and waits until it registered.
  void startAgent() {
    agent_ = std::make_unique<ChildProcess>(agentArgs(), dir_.path() / "agent.log");
    ASSERT_TRUE(waitUntil([this] { return healthy(); }, std::chrono::seconds(20))) << agent_->output();
  }

  bool healthy() const {
    auto response = http::request("GET", agentUrl() + "/health", {}, "", http::ClientOptions{2, 1});
    return response.ok() && response->status == 200;
  }

  std::string agentUrl() const { return "http://127.0.0.1:" + std::to_string(agentPort_); }

  // Lines of the agent's log containing `text`. The log is kept across the
  // agent's restarts: wait for this to grow, not for `text` to appear.
  int logLinesWith(const std::string& text) const {
    std::istringstream log(agent_ ? agent_->output() : std::string());
    int count = 0;
    for (std::string line; std::getline(log, line);) count += line.find(text) != std::string::npos;
    return count;
  }

  Result<http::ClientResponse> get(const std::string& path) const {
    return http::request("GET", agentUrl() + path, {}, "", http::ClientOptions{10, 2});
  }

  TempDir dir_;
  MasterPeer peer_;
  int agentPort_ = 0;
  std::vector<std::string> extraFlags_;
  std::string reregistrationTimeout_ = "10secs";
  std::unique_ptr<ChildProcess> agent_;
};

}  // namespace mantle::testing
