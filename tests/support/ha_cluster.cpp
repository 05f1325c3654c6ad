#include "ha_cluster.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include <json/reader.h>
#include <json/value.h>

#include "cluster.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "process/sessions.hpp"

namespace mantle::testing {

std::optional<bool> masterElected(const std::string& url) {
  std::optional<Json::Value> metrics = getJson(url + "/metrics/snapshot", std::chrono::seconds(2));
  if (!metrics) return std::nullopt;
  return (*metrics)["master/elected"].asDouble() == 1;
}

HaCluster::HaCluster(HaClusterOptions options)
    : options_(std::move(options)),
      zk_(ZooKeeperServer::Options{options_.productionDefaults ? 2000 : ZooKeeperServer::Options{}.tickTimeMs}) {
  for (int i = 0; i < options_.masters; ++i) masters_.push_back(Node{freePort(), nullptr});
  for (int i = 0; i < options_.agents; ++i) agents_.push_back(Node{freePort(), nullptr});
}

HaCluster::~HaCluster() {
  if (::testing::Test::HasFailure())
    std::cerr << "---- HA cluster logs ----\n" << logs() << "-------------------------\n";
  for (Node& agent : agents_) {
    if (agent.process) agent.process->stop();
  }
  for (Node& master : masters_) {
    if (master.process) master.process->stop();
  }
  process::killSessionsUnder(dir_.path());
  zk_.stop();
}

std::string HaCluster::zkUrl() const {
  return "zk://" + zk_.connectString() + "/mantle";
}

std::string HaCluster::masterUrl(int index) const {
  return "http://127.0.0.1:" + std::to_string(masters_.at(index).port);
}

bool HaCluster::masterRunning(int index) {
  return masters_.at(index).process != nullptr && masters_.at(index).process->running();
}

Status HaCluster::startMaster(int index, const std::string& servers) {
  Node& node = masters_.at(index);
  std::string zk = servers.empty() ? zkUrl() : "zk://" + servers + "/mantle";
  std::vector<std::string> args = {options_.masterBinary.empty() ? binary("mantle-master") : options_.masterBinary,
                                   "--ip=127.0.0.1", "--port=" + std::to_string(node.port), "--zk=" + zk, "--quorum=2"};
  if (!options_.productionDefaults) {
    args.insert(args.end(), {"--zk_session_timeout=" + options_.zkSessionTimeout, "--allocation_interval=100ms"});
  }
  args.insert(args.end(), options_.masterFlags.begin(), options_.masterFlags.end());
  node.process = std::make_unique<ChildProcess>(args, dir_.path() / ("master" + std::to_string(index) + ".log"));
  if (!waitForHealth(masterUrl(index), options_.startTimeout)) {
    return Error(StatusCode::kUnavailable, "mantle-master " + std::to_string(index) + " did not come up:\n" + logs());
  }
  return {};
}

void HaCluster::killMaster(int index) {
  if (masters_.at(index).process) masters_.at(index).process->kill();
}

std::string HaCluster::agentUrl(int index) const {
  return "http://127.0.0.1:" + std::to_string(agents_.at(index).port);
}

bool HaCluster::agentRunning(int index) {
  return agents_.at(index).process != nullptr && agents_.at(index).process->running();
}

void HaCluster::killAgent(int index) {
  if (agents_.at(index).process) agents_.at(index).process->kill();
}

Status HaCluster::startAgent(int index) {
  Node& node = agents_.at(index);
  std::vector<std::string> args = {binary("mantle-agent"),
                                   "--master=" + zkUrl(),
                                   "--ip=127.0.0.1",
                                   "--port=" + std::to_string(node.port),
                                   "--work_dir=" + (dir_.path() / ("agent" + std::to_string(index))).string(),
                                   "--resources=" + options_.agentResources};
  args.insert(args.end(), options_.agentFlags.begin(), options_.agentFlags.end());
  if (index < static_cast<int>(options_.agentFlagsByIndex.size())) {
    const std::vector<std::string>& own = options_.agentFlagsByIndex[index];
    args.insert(args.end(), own.begin(), own.end());
  }
  node.process = std::make_unique<ChildProcess>(args, dir_.path() / ("agent" + std::to_string(index) + ".log"));
  if (!waitForHealth(agentUrl(index), options_.startTimeout)) {
    return Error(StatusCode::kUnavailable, "mantle-agent " + std::to_string(index) + " did not come up:\n" + logs());
  }
  return {};
}

Status HaCluster::start() {
  std::string error;
  if (!zk_.start(&error)) return Error(StatusCode::kUnavailable, "ZooKeeper did not start: " + error);
  for (int i = 0; i < masterCount(); ++i) {
    if (Status s = startMaster(i); !s.ok()) return s;
  }
  if (Result<int> leader = waitForLeader(options_.startTimeout); !leader.ok()) return leader.error();
  for (int i = 0; i < static_cast<int>(agents_.size()); ++i) {
    if (Status s = startAgent(i); !s.ok()) return s;
  }
  return waitForAgents(static_cast<int>(agents_.size()), options_.startTimeout);
}

std::vector<int> HaCluster::electedMasters() {
  std::vector<int> elected;
  for (int i = 0; i < masterCount(); ++i) {
    if (!masterRunning(i)) continue;
    if (masterElected(masterUrl(i)).value_or(false)) elected.push_back(i);
  }
  return elected;
}

Result<int> HaCluster::waitForLeader(std::chrono::milliseconds timeout) {
  int leader = -1;
  bool ok = waitUntil(
      [&] {
        std::vector<int> elected = electedMasters();
        if (elected.size() != 1) return false;
        leader = elected.front();
        return true;
      },
      timeout);
  if (!ok) return Error(StatusCode::kDeadlineExceeded, "no single elected master in time:\n" + logs());
  return leader;
}

Status HaCluster::waitForAgents(int count, std::chrono::milliseconds timeout) {
  int seen = 0;
  bool ok = waitUntil(
      [&] {
        std::vector<int> elected = electedMasters();
        if (elected.size() != 1) return false;
        std::optional<Json::Value> slaves =
            getJson(masterUrl(elected.front()) + "/master/slaves", std::chrono::seconds(2));
        if (!slaves) return false;
        seen = 0;
        for (const Json::Value& agent : (*slaves)["slaves"]) {
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

std::string HaCluster::logs(int lines) const {
  std::string out;
  for (std::size_t i = 0; i < masters_.size(); ++i) {
    if (masters_[i].process) {
      out += "== master " + std::to_string(i) + " (" + masterUrl(static_cast<int>(i)) + ")\n" +
             masters_[i].process->outputTail(lines) + "\n";
    }
  }
  for (std::size_t i = 0; i < agents_.size(); ++i) {
    if (agents_[i].process)
      out += "== agent " + std::to_string(i) + "\n" + agents_[i].process->outputTail(lines) + "\n";
  }
  return out;
}

}  // namespace mantle::testing
