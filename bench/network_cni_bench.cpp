// What network/cni adds to a launch: RUN_TASK sent to a real mantle-agent
// (the master side is the agent tests' protocol peer) until its TASK_RUNNING
// update arrives, for the same command task without a ContainerInfo and with
// one naming a bridge + host-local network, alternately on one agent in one
// run (so both see the same load). The network is the tests' CniTestNetwork
// (a bridge and /24 of this process, everything removed at the end); needs
// root and Debian's CNI plugins.
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent_fixture.hpp"
#include "cni_network.hpp"
#include "launch_pairs.hpp"

namespace {

using namespace std::chrono_literals;
namespace t = mantle::testing;

// A real agent with network/cni on a test network, and the master peer.
class AgentOnNetwork {
 public:
  AgentOnNetwork() {
    auto network = t::CniTestNetwork::create(dir_.path() / "net");
    if (!network.ok()) {
      error_ = network.error().message;
      return;
    }
    network_ = std::move(*network);
    network_->writeNetwork("bench.conflist", "bench", /*portmap=*/false);
    peer_.start();
    const int port = t::freePortOnAllAddresses();
    agent_ = std::make_unique<t::ChildProcess>(
        std::vector<std::string>{t::binary("mantle-agent"), "--master=" + peer_.address(), "--ip=0.0.0.0",
                                 "--advertise_ip=" + network_->prefix() + "1", "--port=" + std::to_string(port),
                                 "--work_dir=" + (dir_.path() / "agent").string(),
                                 "--resources=cpus:64;mem:65536;disk:65536", "--modules=" + network_->manifest(),
                                 "--isolation=network/cni"},
        dir_.path() / "agent.log");
    if (!peer_.waitForRegistration(30s)) error_ = "the agent did not register: " + agent_->output();
  }
  ~AgentOnNetwork() {
    if (agent_) agent_->stop();
    t::killSessionsUnder(dir_.path());
    network_.reset();  // removes what is left
    peer_.stop();
  }
  const std::string& error() const { return error_; }
  std::string log() const { return agent_ ? agent_->output() : ""; }
  t::MasterPeer& peer() { return peer_; }
  t::CniTestNetwork& network() { return *network_; }

 private:
  t::TempDir dir_;
  std::unique_ptr<t::CniTestNetwork> network_;
  t::MasterPeer peer_;
  std::unique_ptr<t::ChildProcess> agent_;
  std::string error_;
};

// Each iteration: the plain task, then the networked one (its time is the
// iteration's). Counters: medians of both and of their difference, in ms.
void BM_LaunchToRunningWithAndWithoutCni(benchmark::State& state) {
  AgentOnNetwork agent;
  if (!agent.error().empty()) {
    state.SkipWithError(agent.error().c_str());
    return;
  }
  const auto framework = t::testFramework("bench", false);
  auto plainTask = [&](const std::string& id) { return t::commandTask(id, "sleep 600", agent.peer().agentId()); };
  auto cniTask = [&](const std::string& id) {
    mesos::v1::TaskInfo task = plainTask(id);
    task.mutable_container()->set_type(mesos::v1::ContainerInfo::MESOS);
    task.mutable_container()->add_network_infos()->set_name("bench");
    return task;
  };
  // Warm-up, untimed: the first ADD creates the bridge, whose address is the
  // agent's --advertise_ip (every executor, networked or not, reaches the agent there).
  const std::vector<std::string> launched = mantle::bench::runLaunchPairs(
      state, agent.peer(), framework, {"plain", "cni", plainTask, cniTask}, [&] { return agent.log(); });
  // The plugins' share: the isolator logs each ADD's duration.
  std::vector<double> plugins;
  std::istringstream log(agent.log());
  for (std::string line; std::getline(log, line);) {
    const std::size_t at = line.find(") in ");
    if (line.find("joined network 'bench'") != std::string::npos && at != std::string::npos) {
      plugins.push_back(std::stod(line.substr(at + 5)));
    }
  }
  state.counters["add_plugins_ms"] = mantle::bench::median(plugins);
  // The tasks end through the agent (DEL); nothing may be left.
  for (const std::string& id : launched) agent.peer().killTask(framework.id().value(), id);
  for (const std::string& id : launched) agent.peer().waitForTerminal(id, 30s);
  if (!t::waitUntil([&] { return agent.network().clean(); }, 30s)) {
    state.SkipWithError("network/cni left veths, addresses or namespaces behind");
  }
}
BENCHMARK(BM_LaunchToRunningWithAndWithoutCni)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(40);

}  // namespace

BENCHMARK_MAIN();
