#include "cluster.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include <json/reader.h>
#include <json/value.h>

#include "http/client.hpp"
#include "process/sessions.hpp"

namespace mantle::testing {

bool waitForHealth(const std::string& url, std::chrono::milliseconds timeout) {
  return waitUntil(
      [&] {
        auto response = http::request("GET", url + "/health", {}, "", http::ClientOptions{2, 1});
        return response.ok() && response->status == 200;
      },
      timeout);
}

LocalCluster::LocalCluster(ClusterOptions options) : options_(std::move(options)) {
  const bool anyAddress =
      std::find(options_.agentFlags.begin(), options_.agentFlags.end(), "--ip=0.0.0.0") != options_.agentFlags.end();
  for (int i = 0; i < options_.agents; ++i) {
    agents_.push_back(Agent{anyAddress ? freePortOnAllAddresses() : freePort(), nullptr});
  }
  masterPort_ = freePort();
}

LocalCluster::~LocalCluster() {
  if (::testing::Test::HasFailure()) std::cerr << "---- cluster logs ----\n" << logs() << "----------------------\n";
  for (Agent& agent : agents_) {
    if (agent.process) agent.process->stop();
  }
  if (master_) master_->stop();
  // Executors of checkpointing frameworks outlive their agent on purpose.
  process::killSessionsUnder(dir_.path());
}

std::string LocalCluster::masterAddress() const {
  return "127.0.0.1:" + std::to_string(masterPort_);
}
std::string LocalCluster::masterUrl() const {
  return (options_.tls ? "https://" : "http://") + masterAddress();
}
std::string LocalCluster::agentUrl(int index) const {
  return (options_.tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(agents_.at(index).port);
}
std::filesystem::path LocalCluster::agentWorkDir(int index) const {
  return dir_.path() / ("agent" + std::to_string(index));
}

Status LocalCluster::startMaster() {
  std::vector<std::string> args = {binary("mantle-master"), "--ip=127.0.0.1", "--port=" + std::to_string(masterPort_),
                                   "--work_dir=" + masterWorkDir().string()};
  args.insert(args.end(), options_.masterFlags.begin(), options_.masterFlags.end());
  master_ = std::make_unique<ChildProcess>(args, dir_.path() / "master.log");
  if (!waitForHealth(masterUrl(), options_.startTimeout)) {
    return Error(StatusCode::kUnavailable, "mantle-master did not become healthy:\n" + logs());
  }
  return {};
}

std::vector<std::string> LocalCluster::agentArgs(int index) const {
  std::vector<std::string> args = {binary("mantle-agent"), "--master=" + (options_.tls ? masterUrl() : masterAddress()),
                                   "--port=" + std::to_string(agents_.at(index).port),
                                   "--work_dir=" + agentWorkDir(index).string(),
                                   "--resources=" + options_.agentResources};
  // 127.0.0.1 unless the test's flags say where to listen.
  if (std::none_of(options_.agentFlags.begin(), options_.agentFlags.end(),
                   [](const std::string& flag) { return flag.rfind("--ip=", 0) == 0; })) {
    args.push_back("--ip=127.0.0.1");
  }
  args.insert(args.end(), options_.agentFlags.begin(), options_.agentFlags.end());
  return args;
}

Status LocalCluster::startAgent(int index) {
  agents_.at(index).process =
      std::make_unique<ChildProcess>(agentArgs(index), dir_.path() / ("agent" + std::to_string(index) + ".log"));
  if (!waitForHealth(agentUrl(index), options_.startTimeout)) {
    return Error(StatusCode::kUnavailable,
                 "mantle-agent " + std::to_string(index) + " did not become healthy:\n" + logs());
  }
  return {};
}

Status LocalCluster::stopAgent(int index, bool kill9) {
  ChildProcess& process = *agents_.at(index).process;
  if (kill9) {
    // Only the agent itself: its executors live in their own sessions and
    // must survive, as they do when an agent crashes.
    ::kill(process.pid(), SIGKILL);
    process.wait(std::chrono::seconds(10));
  } else {
    process.stop();
  }
  return {};
}

Status LocalCluster::start() {
  if (Status s = startMaster(); !s.ok()) return s;
  for (int i = 0; i < static_cast<int>(agents_.size()); ++i) {
    if (Status s = startAgent(i); !s.ok()) return s;
  }
  return waitForAgents(static_cast<int>(agents_.size()), options_.startTimeout);
}

Status LocalCluster::restartMaster(bool kill9) {
  if (kill9) {
    master_->kill();
  } else {
    master_->stop();
  }
  return startMaster();
}

Status LocalCluster::restartAgent(int index, bool kill9) {
  if (Status s = stopAgent(index, kill9); !s.ok()) return s;
  return startAgent(index);
}

Status LocalCluster::waitForAgents(int count, std::chrono::milliseconds timeout) {
  int seen = 0;
  bool ok = waitUntil(
      [&] {
        auto response =
            http::request("GET", masterUrl() + "/master/slaves", options_.clientHeaders, "", http::ClientOptions{2, 1});
        if (!response.ok() || response->status != 200) return false;
        Json::Value root;
        std::istringstream in(response->body);
        if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) return false;
        seen = 0;
        for (const Json::Value& agent : root["slaves"]) {
          if (agent["active"].asBool()) ++seen;
        }
        return seen >= count;
      },
      timeout);
  if (!ok) {
    return Error(StatusCode::kDeadlineExceeded,
                 std::to_string(seen) + " of " + std::to_string(count) + " agents registered in time:\n" + logs());
  }
  return {};
}

std::string LocalCluster::logs(int lines) const {
  std::string out;
  if (master_) out += "== master (" + masterUrl() + ")\n" + master_->outputTail(lines) + "\n";
  for (std::size_t i = 0; i < agents_.size(); ++i) {
    if (agents_[i].process) {
      out += "== agent " + std::to_string(i) + " (" + agentUrl(static_cast<int>(i)) + ")\n" +
             agents_[i].process->outputTail(lines) + "\n";
    }
  }
  return out;
}

std::string sandboxFile(const std::filesystem::path& agentWorkDir, const std::string& executorId,
                        const std::string& name) {
  const std::filesystem::path root = agentWorkDir / "slaves";
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec); !ec && it != decltype(it)();
       it.increment(ec)) {
    if (it->path().filename() != name) continue;
    if (it->path().string().find("/executors/" + executorId + "/") == std::string::npos) continue;
    return readText(it->path());
  }
  return "";
}

}  // namespace mantle::testing
