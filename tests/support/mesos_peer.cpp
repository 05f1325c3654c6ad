#include "mesos_peer.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <iostream>

#include <json/value.h>

#include "http_json.hpp"
#include "mounts.hpp"
#include "process/sessions.hpp"

namespace mantle::testing {

std::filesystem::path MesosPeer::home() {
  if (const char* home = std::getenv("MANTLE_MESOS_REFERENCE"); home != nullptr && *home != '\0') return home;
  return MANTLE_MESOS_REFERENCE_DEFAULT;
}

MesosPeer::MesosPeer() : home_(home()), masterPort_(freePort()), agentPort_(freePort()) {}

MesosPeer::~MesosPeer() {
  if (::testing::Test::HasFailure() && (master_ || agent_)) {
    std::cerr << "---- Mesos logs ----\n" << logs() << "--------------------\n";
  }
  if (agent_) agent_->stop();
  if (master_) master_->stop();
  // The agent's executors and tasks run in sessions of their own.
  process::killSessionsUnder(dir_.path());
  // With --launcher=linux the agent makes its work dir a mount of its own.
  unmountAllUnder(dir_.path());
}

std::optional<std::string> MesosPeer::skipReason() {
  const std::filesystem::path home = MesosPeer::home();
  if (!std::filesystem::exists(home / "bin" / "mesos-master") || !std::filesystem::exists(home / "setup.sh")) {
    return "no Mesos reference build at " + home.string() + " (set MANTLE_MESOS_REFERENCE)";
  }
  return std::nullopt;
}

std::string MesosPeer::masterAddress() const {
  return "127.0.0.1:" + std::to_string(masterPort_);
}
std::string MesosPeer::masterUrl() const {
  return "http://" + masterAddress();
}

std::string MesosPeer::logs() const {
  std::string out;
  if (master_) out += "[mesos-master]\n" + master_->output();
  if (agent_) out += "[mesos-agent]\n" + agent_->output();
  return out;
}

Status MesosPeer::start(std::chrono::milliseconds timeout, const MesosPeerOptions& options) {
  ChildProcess setup({"/bin/bash", (home_ / "setup.sh").string()}, dir_.path() / "setup.log");
  const int status = setup.wait(std::chrono::minutes(5));
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error(StatusCode::kUnavailable, home_.string() + "/setup.sh failed:\n" + setup.output());
  }
  std::vector<std::string> masterArgv{(home_ / "bin" / "mesos-master").string(), "--ip=127.0.0.1",
                                      "--port=" + std::to_string(masterPort_),
                                      "--work_dir=" + (dir_.path() / "master").string(), "--hostname=127.0.0.1"};
  masterArgv.insert(masterArgv.end(), options.masterFlags.begin(), options.masterFlags.end());
  master_ = std::make_unique<ChildProcess>(masterArgv, dir_.path() / "mesos-master.log");
  std::vector<std::string> agentArgv{(home_ / "bin" / "mesos-agent").string(),
                                     "--master=" + masterAddress(),
                                     "--ip=" + options.agentIp,
                                     "--port=" + std::to_string(agentPort_),
                                     "--hostname=" + options.agentIp,
                                     "--work_dir=" + (dir_.path() / "agent").string(),
                                     "--no-systemd_enable_support",
                                     "--launcher=" + options.launcher,
                                     "--isolation=" + options.isolation,
                                     "--launcher_dir=" + (home_ / "libexec" / "mesos").string(),
                                     "--resources=" + options.resources};
  agentArgv.insert(agentArgv.end(), options.agentFlags.begin(), options.agentFlags.end());
  agent_ = std::make_unique<ChildProcess>(agentArgv, dir_.path() / "mesos-agent.log");
  const bool registered = waitUntil(
      [&] {
        const std::optional<Json::Value> slaves = getJson(masterUrl() + "/master/slaves", std::chrono::seconds(2));
        return slaves && (*slaves)["slaves"].size() == 1 && (*slaves)["slaves"][0].get("active", false).asBool();
      },
      timeout);
  if (!registered) return Error(StatusCode::kUnavailable, "the Mesos agent did not register:\n" + logs());
  return {};
}

}  // namespace mantle::testing
