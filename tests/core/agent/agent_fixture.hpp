// A real mantle-agent process against a MasterPeer, in a temporary work dir.
// Containers live in sessions of their own and survive the agent on
// purpose; the fixture kills every session that runs in its work dir when
// it goes away, so no executor or task outlives a test, passed or failed.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "http/client.hpp"
#include "master_peer.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {

// Sessions of processes whose working directory is under `root`.
inline std::set<pid_t> sessionsUnder(const std::filesystem::path& root) {
  std::set<pid_t> sessions;
  std::error_code ec;
  const std::string prefix = std::filesystem::weakly_canonical(root, ec).string();
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code cwdError;
    auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", cwdError);
    if (cwdError || cwd.string().rfind(prefix, 0) != 0) continue;
    pid_t sid = ::getsid(static_cast<pid_t>(std::stol(name)));
    if (sid > 1) sessions.insert(sid);
  }
  return sessions;
}

inline void killSessionsUnder(const std::filesystem::path& root) {
  for (int round = 0; round < 50; ++round) {
    std::set<pid_t> sessions = sessionsUnder(root);
    if (sessions.empty()) return;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = static_cast<pid_t>(std::stol(name));
      if (sessions.count(::getsid(pid))) ::kill(pid, SIGKILL);
    }
    ::usleep(20000);
  }
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
                                     "--executor_reregistration_timeout=10secs"};
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

  Result<http::ClientResponse> get(const std::string& path) const {
    return http::request("GET", agentUrl() + path, {}, "", http::ClientOptions{10, 2});
  }

  TempDir dir_;
  MasterPeer peer_;
  int agentPort_ = 0;
  std::vector<std::string> extraFlags_;
  std::unique_ptr<ChildProcess> agent_;
};

}  // namespace mantle::testing
