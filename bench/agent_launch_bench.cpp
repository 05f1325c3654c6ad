// Container launch latency: RUN_TASK sent to a real mantle-agent until its
// TASK_RUNNING update reaches the master side (the protocol-level peer of the
// agent tests), against a baseline measured in the same run: fork + exec of
// /bin/true until the exec happened, with and without creating a cgroup and
// moving the child into it first. The cgroup variants run only where this
// machine has a writable cgroup hierarchy (v2, v1 "cpu", or the v2 part of a
// hybrid layout), detected from /proc/self/mounts.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "agent_fixture.hpp"
#include "spawn_floor.hpp"

namespace {

using namespace std::chrono_literals;
namespace t = mantle::testing;
namespace bench = mantle::bench;

using bench::cgroupRoot;
using bench::spawnOnce;

void BM_ForkExec(benchmark::State& state) {
  int serial = 0;
  for (auto _ : state) state.SetIterationTime(spawnOnce(std::nullopt, serial++));
}
BENCHMARK(BM_ForkExec)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(200);

void BM_ForkExecCgroup(benchmark::State& state) {
  static const std::optional<std::string> root = cgroupRoot();
  if (!root) {
    state.SkipWithError("no writable cgroup hierarchy on this machine");
    return;
  }
  state.SetLabel(*root);
  int serial = 0;
  for (auto _ : state) state.SetIterationTime(spawnOnce(root, serial++));
}
BENCHMARK(BM_ForkExecCgroup)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(200);

// A real agent (default isolation posix/cpu,posix/mem) and the master peer.
class AgentUnderTest {
 public:
  AgentUnderTest() {
    peer_.start();
    const int port = t::freePort();
    url_ = "http://127.0.0.1:" + std::to_string(port);
    agent_ = std::make_unique<t::ChildProcess>(
        std::vector<std::string>{t::binary("mantle-agent"), "--master=" + peer_.address(), "--ip=127.0.0.1",
                                 "--port=" + std::to_string(port), "--work_dir=" + (dir_.path() / "agent").string(),
                                 "--resources=cpus:64;mem:65536;disk:65536"},
        dir_.path() / "agent.log");
    ready_ = peer_.waitForRegistration(30s);
  }
  ~AgentUnderTest() {
    agent_->stop();
    t::killSessionsUnder(dir_.path());
    peer_.stop();
  }
  bool ready() const { return ready_; }
  t::MasterPeer& peer() { return peer_; }

 private:
  t::TempDir dir_;
  t::MasterPeer peer_;
  std::unique_ptr<t::ChildProcess> agent_;
  std::string url_;
  bool ready_ = false;
};

void BM_AgentLaunchToRunning(benchmark::State& state) {
  AgentUnderTest agent;
  if (!agent.ready()) {
    state.SkipWithError("the agent did not register");
    return;
  }
  const auto framework = t::testFramework("bench", false);
  int serial = 0;
  for (auto _ : state) {
    const std::string id = "bench-" + std::to_string(serial++);
    const auto start = std::chrono::steady_clock::now();
    agent.peer().runTask(framework, t::commandTask(id, "sleep 0.2", agent.peer().agentId()));
    auto running = agent.peer().waitForUpdate(id, mesos::v1::TASK_RUNNING, 30s);
    const auto end = std::chrono::steady_clock::now();
    if (running.status().state() != mesos::v1::TASK_RUNNING) {
      state.SkipWithError("a task never reached TASK_RUNNING");
      return;
    }
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
  }
}
BENCHMARK(BM_AgentLaunchToRunning)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(50);

}  // namespace

BENCHMARK_MAIN();
