// What network/cni adds to a launch: RUN_TASK sent to a real mantle-agent
// (the master side is the agent tests' protocol peer) until its TASK_RUNNING
// update arrives, for the same command task without a ContainerInfo and with
// one naming a bridge + host-local network, alternately on one agent in one
// run (so both see the same load). The network is the tests' CniTestNetwork
// (a bridge and /24 of this process, everything removed at the end); needs
// root and Debian's CNI plugins.
//
// The same pairs on Apache Mesos' network/cni (the reference build in
// ../shared/mesos-reference, a real mesos-master and mesos-agent), from the
// scheduler's ACCEPT until it sees TASK_RUNNING: the difference between the
// pair's two launches is what each system's network/cni adds.
#include <sys/stat.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent_fixture.hpp"
#include "cni_network.hpp"
#include "launch_pairs.hpp"
#include "mesos_peer.hpp"
#include "mounts.hpp"
#include "scheduler/scheduler.hpp"

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

// The scheduler's view of a Mesos cluster: offers as they come, and when
// each task was seen TASK_RUNNING or ended.
class MesosFramework {
 public:
  explicit MesosFramework(const std::string& master) {
    mantle::scheduler::SchedulerOptions options;
    options.master = master;
    options.frameworkInfo.set_user("root");
    options.frameworkInfo.set_name("network/cni bench");
    options.reconnect = false;
    mantle::scheduler::SchedulerCallbacks callbacks;
    callbacks.offers = [this](const std::vector<mesos::v1::Offer>& offers) {
      std::lock_guard<std::mutex> lock(mutex_);
      offers_.insert(offers_.end(), offers.begin(), offers.end());
      changed_.notify_all();
    };
    callbacks.update = [this](const mesos::v1::TaskStatus& status) {
      std::lock_guard<std::mutex> lock(mutex_);
      const std::string& id = status.task_id().value();
      if (status.state() == mesos::v1::TASK_RUNNING) running_.emplace(id, std::chrono::steady_clock::now());
      if (status.state() != mesos::v1::TASK_RUNNING && status.state() != mesos::v1::TASK_STARTING &&
          status.state() != mesos::v1::TASK_STAGING) {
        ended_[id] = mesos::v1::TaskState_Name(status.state()) + " " + status.message();
      }
      changed_.notify_all();
    };
    scheduler_ = std::make_unique<mantle::scheduler::Scheduler>(options, callbacks);
    scheduler_->start();
  }

  // Seconds from the ACCEPT until TASK_RUNNING; an error naming why not.
  mantle::Result<double> launchToRunning(const std::function<mesos::v1::TaskInfo(const mesos::v1::Offer&)>& task) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!changed_.wait_for(lock, 30s, [&] { return !offers_.empty(); }))
      return mantle::Error(mantle::StatusCode::kDeadlineExceeded, "no offer came");
    const mesos::v1::Offer offer = offers_.front();
    offers_.pop_front();
    const mesos::v1::TaskInfo info = task(offer);
    const std::string& id = info.task_id().value();
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    if (mantle::Status sent = scheduler_->launch(offer, {info}, 0.0); !sent.ok()) return sent.error();
    lock.lock();
    if (!changed_.wait_for(lock, 60s, [&] { return running_.count(id) > 0 || ended_.count(id) > 0; }) ||
        running_.count(id) == 0) {
      return mantle::Error(mantle::StatusCode::kUnavailable,
                           "task " + id + " did not run: " + (ended_.count(id) > 0 ? ended_[id] : "no update"));
    }
    launched_.push_back(id);
    return std::chrono::duration<double>(running_[id] - start).count();
  }

  // Kills every task launched and waits until each has ended.
  bool killAll() {
    for (const std::string& id : launched_) {
      mesos::v1::TaskID taskId;
      taskId.set_value(id);
      (void)scheduler_->kill(taskId);
    }
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, 60s, [&] {
      return std::all_of(launched_.begin(), launched_.end(), [&](const std::string& id) { return ended_.count(id); });
    });
  }

  ~MesosFramework() {
    (void)scheduler_->teardown();
    scheduler_->stop();
  }

 private:
  std::unique_ptr<mantle::scheduler::Scheduler> scheduler_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<mesos::v1::Offer> offers_;
  std::map<std::string, std::chrono::steady_clock::time_point> running_;
  std::map<std::string, std::string> ended_;
  std::vector<std::string> launched_;
};

// Mesos' cgroups of this run (--cgroups_root), in every hierarchy (its
// linux launcher's freezer among them).
void removeCgroupRoot(const std::string& root) {
  std::error_code error;
  for (std::filesystem::directory_iterator it("/sys/fs/cgroup", error), end; !error && it != end; it.increment(error)) {
    ::rmdir((it->path() / root).c_str());
  }
  ::rmdir(("/sys/fs/cgroup/" + root).c_str());
}

// The same pairs on a real Mesos master and agent (the reference build) with
// Mesos' own network/cni on the same kind of network, through the scheduler
// API. Mesos reads single-plugin .conf files only, and its agent must listen
// where the containers reach it: on the bridge, made before the agent starts.
// Its command executor resolves its host name unless LIBPROCESS_ADVERTISE_IP
// is set (network/cni sets LIBPROCESS_IP=0.0.0.0), so the agent gives it that.
void BM_MesosLaunchToRunningWithAndWithoutCni(benchmark::State& state) {
  if (std::optional<std::string> why = t::MesosPeer::skipReason()) {
    state.SkipWithError(why->c_str());
    return;
  }
  t::TempDir dir;
  auto created = t::CniTestNetwork::create(dir.path() / "net");
  if (!created.ok()) {
    state.SkipWithError(created.error().message.c_str());
    return;
  }
  std::unique_ptr<t::CniTestNetwork> network = std::move(*created);
  const std::string gateway = network->prefix() + "1";
  if (std::system(("ip link add " + network->bridge() + " type bridge && ip addr add " + gateway + "/24 dev " +
                   network->bridge() + " && ip link set " + network->bridge() + " up")
                      .c_str()) != 0) {
    state.SkipWithError("could not make the bridge");
    return;
  }
  std::ofstream(network->configDir() / "bench.conf")
      << R"({"cniVersion":"0.4.0","name":"bench","type":"bridge","bridge":")" << network->bridge()
      << R"(","isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","subnet":")" << network->prefix()
      << R"(0/24","dataDir":")" << (dir.path() / "net" / "ipam").string() << R"("}})";
  const std::string cgroupsRoot = "mantle_bench_mesos_" + std::to_string(::getpid());
  std::vector<double> plain, cni, added;
  std::string failure;
  {
    t::MesosPeer mesos;
    t::MesosPeerOptions options;
    options.agentIp = gateway;
    options.launcher = "linux";
    options.isolation = "filesystem/linux,network/cni,cgroups/cpu,cgroups/mem";
    options.resources = "cpus:64;mem:65536;disk:1024";
    options.masterFlags = {"--allocation_interval=50ms"};
    options.agentFlags = {"--network_cni_config_dir=" + network->configDir().string(),
                          "--network_cni_plugins_dir=/usr/lib/cni",
                          "--runtime_dir=" + network->runtimeDir().string(),
                          "--cgroups_root=" + cgroupsRoot,
                          "--http_command_executor",
                          R"(--executor_environment_variables={"PATH":"/usr/sbin:/usr/bin:/sbin:/bin",)"
                          R"("LIBPROCESS_ADVERTISE_IP":")" +
                              gateway + R"("})"};
    if (mantle::Status started = mesos.start(60s, options); !started.ok()) {
      failure = started.error().message;
    } else {
      MesosFramework framework(mesos.masterAddress());
      int next = 0;
      auto task = [&](bool networked) {
        return [&, networked](const mesos::v1::Offer& offer) {
          mesos::v1::TaskInfo info = mantle::scheduler::commandTask(
              (networked ? "cni-" : "plain-") + std::to_string(next++), offer, "sleep 600", "cpus:0.1;mem:32");
          if (networked) {
            info.mutable_container()->set_type(mesos::v1::ContainerInfo::MESOS);
            info.mutable_container()->add_network_infos()->set_name("bench");
          }
          return info;
        };
      };
      // Warm-up, untimed, as for Mantle.
      for (bool networked : {true, false}) {
        if (auto warm = framework.launchToRunning(task(networked)); !warm.ok()) failure = warm.error().message;
      }
      for (auto _ : state) {
        if (!failure.empty()) break;
        auto base = framework.launchToRunning(task(false));
        auto measured = base.ok() ? framework.launchToRunning(task(true)) : base;
        if (!measured.ok()) {
          failure = measured.error().message;
          break;
        }
        plain.push_back(1000 * *base);
        cni.push_back(1000 * *measured);
        added.push_back(1000 * (*measured - *base));
        state.SetIterationTime(*measured);
      }
      if (!framework.killAll()) failure += failure.empty() ? "the tasks did not end" : "";
      // Mesos DELs a container's networks when it is destroyed. Its
      // isolator's root stays a mount of its own while the agent lives.
      auto left = [&] {
        std::vector<std::string> mounts = t::mountsUnder(network->runtimeDir());
        std::erase(mounts, network->cniRoot().string());
        return network->vethsOnBridge() + std::to_string(network->ipamAllocations().size()) + " addresses, " +
               std::to_string(network->newRules().size()) + " rules, " + std::to_string(mounts.size()) +
               " namespace mounts";
      };
      if (failure.empty() && !t::waitUntil([&] { return left() == "0 addresses, 0 rules, 0 namespace mounts"; }, 60s)) {
        failure = "Mesos' network/cni left behind: " + left();
      }
    }
    if (!failure.empty()) {
      const std::string logs = mesos.logs();
      failure += "\n" + logs.substr(logs.size() > 4000 ? logs.size() - 4000 : 0);
    }
  }
  removeCgroupRoot(cgroupsRoot);
  if (!failure.empty()) {
    state.SkipWithError(failure.c_str());
    return;
  }
  state.counters["plain_ms"] = mantle::bench::median(plain);
  state.counters["cni_ms"] = mantle::bench::median(cni);
  state.counters["added_ms"] = mantle::bench::median(added);
}
BENCHMARK(BM_MesosLaunchToRunningWithAndWithoutCni)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(40);

}  // namespace

BENCHMARK_MAIN();
