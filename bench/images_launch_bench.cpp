// What running in an image adds to a launch: RUN_TASK sent to a real
// mantle-agent (the master side is the agent tests' protocol peer) until its
// TASK_RUNNING update arrives, for the same command task on the host's
// filesystem and in a busybox OCI image the store already holds (pulled by an
// untimed warm-up), alternately on one agent in one run. The image task's
// time covers the store lookup, the overlay rootfs, filesystem/linux's mounts
// and docker/runtime (the task's pivot_root comes after the fork that STARTING
// follows: off the path). Prints the split of both launches by the steps of
// the agent's launch traces. Needs root and overlayfs.
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent_fixture.hpp"
#include "docker_registry.hpp"
#include "launch_pairs.hpp"
#include "launch_trace.hpp"
#include "mantle/module/v1/mesos.pb.h"

namespace {

using namespace std::chrono_literals;
namespace t = mantle::testing;
namespace fs = std::filesystem;

class AgentWithImages {
 public:
  AgentWithImages() {
    if (::geteuid() != 0) {
      error_ = "needs root (overlayfs, mount namespaces, pivot_root)";
      return;
    }
    try {
      t::buildBusyboxLayout(dir_.path() / "image", t::BusyboxImage{});
    } catch (const std::exception& e) {
      error_ = std::string("cannot build the image: ") + e.what();
      return;
    }
    peer_.start();
    const std::string modules =
        R"({"libraries":[{"name":"mantle_filesystem","modules":[{"name":"filesystem/linux","kind":"isolator"}]},)"
        R"({"name":"mantle_docker_runtime","modules":[{"name":"docker/runtime","kind":"isolator"}]}]})";
    agent_ = std::make_unique<t::ChildProcess>(
        std::vector<std::string>{t::binary("mantle-agent"), "--master=" + peer_.address(), "--ip=127.0.0.1",
                                 "--port=" + std::to_string(t::freePort()),
                                 "--work_dir=" + (dir_.path() / "agent").string(),
                                 "--resources=cpus:64;mem:65536;disk:65536", "--modules=" + modules,
                                 "--isolation=filesystem/linux,docker/runtime", "--image_providers=oci",
                                 "--image_provisioner_backend=overlay"},
        dir_.path() / "agent.log");
    if (!peer_.waitForRegistration(30s)) error_ = "the agent did not register: " + agent_->output();
  }
  ~AgentWithImages() {
    if (agent_) agent_->stop();
    t::killSessionsUnder(dir_.path());
    peer_.stop();
  }
  const std::string& error() const { return error_; }
  std::string log() const { return agent_ ? agent_->output() : ""; }
  t::MasterPeer& peer() { return peer_; }
  std::string image() const { return (dir_.path() / "image").string() + ":latest"; }
  fs::path provisioned() const { return dir_.path() / "agent/provisioner/containers"; }

 private:
  t::TempDir dir_;
  t::MasterPeer peer_;
  std::unique_ptr<t::ChildProcess> agent_;
  std::string error_;
};

bool mountedUnder(const fs::path& dir) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.find(" " + dir.string()) != std::string::npos) return true;
  }
  return false;
}

// Where the time of a launch goes, from the agent's launch traces of the
// timed tasks: for each step the image task takes, the median time since the
// step before it, for the host tasks (0 for steps only image tasks take) and
// the image tasks, and the difference.
void printSplit(const std::string& log, int iterations) {
  const auto traces = mantle::bench::launchTraces(log);
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> host, image;
  for (int i = 0; i < iterations; ++i) {
    for (auto [prefix, out] : {std::pair{std::string("host-"), &host}, std::pair{std::string("image-"), &image}}) {
      auto trace = traces.find(prefix + std::to_string(i));
      if (trace == traces.end()) continue;
      const auto& steps = trace->second;
      for (std::size_t k = 1; k < steps.size(); ++k) {
        (*out)[steps[k].first].push_back((steps[k].second - steps[k - 1].second) / 1e6);
        if (out == &image && std::find(order.begin(), order.end(), steps[k].first) == order.end()) {
          order.push_back(steps[k].first);
        }
      }
    }
  }
  std::printf("%-22s %9s %9s %9s   (median ms since the step before)\n", "step", "host", "image", "added");
  for (const std::string& step : order) {
    const double h = mantle::bench::median(host[step]);
    const double m = mantle::bench::median(image[step]);
    std::printf("%-22s %9.2f %9.2f %+9.2f\n", step.c_str(), h, m, m - h);
  }
}

// Each iteration: the host task, then the image task (its time is the
// iteration's). Counters: medians of both and of their difference, in ms.
void BM_LaunchToRunningInAnImageAndOnTheHost(benchmark::State& state) {
  AgentWithImages agent;
  if (!agent.error().empty()) {
    state.SkipWithError(agent.error().c_str());
    return;
  }
  const auto framework = t::testFramework("bench", false);
  auto hostTask = [&](const std::string& id) {
    return t::commandTask(id, "exec /bin/busybox sleep 600", agent.peer().agentId());
  };
  auto imageTask = [&](const std::string& id) {
    mesos::v1::TaskInfo task = hostTask(id);
    mantle::module::v1::ContainerInfo info;
    info.set_type(2);                                    // MESOS
    info.mutable_mesos()->mutable_image()->set_type(3);  // OCI
    info.mutable_mesos()->mutable_image()->mutable_docker()->set_name(agent.image());
    task.mutable_container()->ParseFromString(info.SerializeAsString());
    return task;
  };
  // Warm-up, untimed: the first image task pulls the image into the store.
  const std::vector<std::string> launched = mantle::bench::runLaunchPairs(
      state, agent.peer(), framework, {"host", "image", hostTask, imageTask}, [&] { return agent.log(); });
  printSplit(agent.log(), static_cast<int>(state.iterations()));
  // The tasks end through the agent; no rootfs may be left.
  for (const std::string& id : launched) agent.peer().killTask(framework.id().value(), id);
  for (const std::string& id : launched) agent.peer().waitForTerminal(id, 30s);
  if (!t::waitUntil([&] { return fs::is_empty(agent.provisioned()) && !mountedUnder(agent.provisioned()); }, 30s)) {
    state.SkipWithError("rootfses were left behind");
  }
}
BENCHMARK(BM_LaunchToRunningInAnImageAndOnTheHost)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(30);

}  // namespace

BENCHMARK_MAIN();
