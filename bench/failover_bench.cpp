// Master failover with the defaults, step by step: a real ZooKeeper server
// (its default tick, 2 s), three masters contending through it with their
// default 10 s session timeout, one real agent following the leader, and one
// framework (the C++ scheduler client, following the leader through
// ZooKeeper) with one running task. The leader is killed with SIGKILL and
// the bench prints, in ms after the kill, when
//   expired    ZooKeeper expired the old leader's session (an observer's
//              watch on its candidacy znode fired): the fence, nothing can
//              be elected before it;
//   serving    a surviving master answers GET_STATE with 200 (elected and
//              recovered its registry);
//   agent      every agent is registered with it again;
//   framework  the framework got SUBSCRIBED again;
//   task       GET_STATE lists the task TASK_RUNNING again;
// and the two gaps the goals are about: serving - expired (goal <= 0.5 s)
// and the last of agent/framework/task - serving (goal <= 1 s).
//
//   mantle_failover_bench [--runs=3] [--system=mantle|mesos|both]
//                         [--tick_ms=2000] [--logs]
//
// --logs prints the end of every master's and agent's log after each run.
//
// The same scenario runs on Apache Mesos' reference build
// (../shared/mesos-reference, or $MANTLE_MESOS_REFERENCE) with --system=mesos
// or both: three mesos-masters (--quorum=2, replicated log) and a
// mesos-agent, the same framework. Prints a table; asserts nothing (a
// measurement, not a test).
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <json/reader.h>
#include <json/value.h>

#include "ha_cluster.hpp"
#include "http/client.hpp"
#include "mesos_peer.hpp"
#include "process.hpp"
#include "process/sessions.hpp"
#include "scheduler/scheduler.hpp"
#include "temp_dir.hpp"
#include "wire/json.hpp"
#include "zookeeper/contender.hpp"
#include "zookeeper/session.hpp"
#include "zookeeper_server.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace v1 = ::mesos::v1;
using mantle::testing::ChildProcess;
using mantle::testing::ZooKeeperServer;

double msBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// What a master's GET_STATE shows; nullopt unless it answered 200.
struct StateView {
  int agents = 0;
  int runningTasks = 0;
};

std::optional<StateView> getState(const std::string& masterUrl) {
  auto response = mantle::http::request("POST", masterUrl + "/api/v1",
                                        {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
                                        R"({"type":"GET_STATE"})", mantle::http::ClientOptions{2, 1});
  if (!response.ok() || response->status != 200) return std::nullopt;
  Json::Value root;
  std::istringstream in(response->body);
  if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) return std::nullopt;
  StateView view;
  view.agents = static_cast<int>(root["get_state"]["get_agents"]["agents"].size());
  for (const Json::Value& task : root["get_state"]["get_tasks"]["tasks"]) {
    if (task["state"].asString() == "TASK_RUNNING") ++view.runningTasks;
  }
  return view;
}

// Three masters, one agent, all on one ZooKeeper: Mantle's or Mesos'.
class Cluster {
 public:
  virtual ~Cluster() = default;
  virtual mantle::Status start() = 0;
  virtual std::string zkUrl() const = 0;
  virtual std::string zkPath() const = 0;
  virtual int masters() const = 0;
  virtual int masterPort(int index) const = 0;
  virtual void killMaster(int index) = 0;
  virtual std::string logs() const = 0;
  std::string masterUrl(int index) const { return "http://127.0.0.1:" + std::to_string(masterPort(index)); }
};

class MantleCluster : public Cluster {
 public:
  MantleCluster() : cluster_(options()) {}
  mantle::Status start() override { return cluster_.start(); }
  std::string zkUrl() const override { return cluster_.zkUrl(); }
  std::string zkPath() const override { return "/mantle"; }
  int masters() const override { return cluster_.masterCount(); }
  int masterPort(int index) const override {
    return std::stoi(cluster_.masterUrl(index).substr(cluster_.masterUrl(index).rfind(':') + 1));
  }
  void killMaster(int index) override { cluster_.killMaster(index); }
  std::string logs() const override { return cluster_.logs(60); }

 private:
  static mantle::testing::HaClusterOptions options() {
    mantle::testing::HaClusterOptions options;
    options.masters = 3;
    options.agents = 1;
    options.productionDefaults = true;
    return options;
  }
  mantle::testing::HaCluster cluster_;
};

class MesosCluster : public Cluster {
 public:
  explicit MesosCluster(int tickMs) : zk_(ZooKeeperServer::Options{tickMs}) {
    for (int i = 0; i < 3; ++i) ports_.push_back(mantle::testing::freePort());
    agentPort_ = mantle::testing::freePort();
  }
  ~MesosCluster() override {
    if (agent_) agent_->stop();
    for (auto& master : masters_) {
      if (master) master->stop();
    }
    mantle::process::killSessionsUnder(dir_.path());
    zk_.stop();
  }

  mantle::Status start() override {
    const std::filesystem::path home = mantle::testing::MesosPeer::home();
    ChildProcess setup({"/bin/bash", (home / "setup.sh").string()}, dir_.path() / "setup.log");
    const int status = setup.wait(std::chrono::minutes(5));
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return mantle::Error(mantle::StatusCode::kUnavailable, "setup.sh failed:\n" + setup.output());
    }
    std::string error;
    if (!zk_.start(&error)) return mantle::Error(mantle::StatusCode::kUnavailable, "ZooKeeper: " + error);
    for (int i = 0; i < 3; ++i) {
      masters_.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{(home / "bin" / "mesos-master").string(), "--ip=127.0.0.1",
                                   "--port=" + std::to_string(ports_[i]), "--hostname=127.0.0.1", "--zk=" + zkUrl(),
                                   "--quorum=2",
                                   "--work_dir=" + (dir_.path() / ("master" + std::to_string(i))).string()},
          dir_.path() / ("mesos-master" + std::to_string(i) + ".log")));
    }
    agent_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{(home / "bin" / "mesos-agent").string(), "--master=" + zkUrl(), "--ip=127.0.0.1",
                                 "--port=" + std::to_string(agentPort_), "--hostname=127.0.0.1",
                                 "--work_dir=" + (dir_.path() / "agent").string(), "--no-systemd_enable_support",
                                 "--launcher=posix", "--isolation=posix/cpu,posix/mem",
                                 "--launcher_dir=" + (home / "libexec" / "mesos").string(),
                                 "--resources=cpus:4;mem:4096;disk:4096;ports:[31000-32000]"},
        dir_.path() / "mesos-agent.log");
    bool registered = mantle::testing::waitUntil(
        [&] {
          for (int i = 0; i < 3; ++i) {
            std::optional<StateView> state = getState(masterUrl(i));
            if (state && state->agents == 1) return true;
          }
          return false;
        },
        60s);
    if (!registered) return mantle::Error(mantle::StatusCode::kUnavailable, "the Mesos agent did not register");
    return {};
  }
  std::string zkUrl() const override { return "zk://" + zk_.connectString() + "/mesos"; }
  std::string zkPath() const override { return "/mesos"; }
  int masters() const override { return 3; }
  int masterPort(int index) const override { return ports_.at(index); }
  void killMaster(int index) override { masters_.at(index)->kill(); }
  std::string logs() const override {
    std::string out;
    for (std::size_t i = 0; i < masters_.size(); ++i) {
      out += "[mesos-master " + std::to_string(i) + "]\n" + masters_[i]->output();
    }
    if (agent_) out += "[mesos-agent]\n" + agent_->output();
    return out;
  }

 private:
  mantle::testing::TempDir dir_;
  ZooKeeperServer zk_;
  std::vector<int> ports_;
  int agentPort_ = 0;
  std::vector<std::unique_ptr<ChildProcess>> masters_;
  std::unique_ptr<ChildProcess> agent_;
};

// ms after the kill; -1: not seen within the bench's patience.
struct Row {
  std::string system;
  double expired = -1, serving = -1, agent = -1, framework = -1, task = -1;
  std::string error;
};

// The leading master's candidacy znode (lowest json.info_ child) and port.
struct LeaderZnode {
  std::string path;
  int port = 0;
};

mantle::Result<LeaderZnode> leaderZnode(mantle::zookeeper::Session& session, const std::string& zkPath) {
  mantle::Result<std::vector<std::string>> children = session.childrenSync(zkPath);
  if (!children.ok()) return children.error();
  std::string lowest;
  for (const std::string& child : *children) {
    std::int64_t sequence = mantle::zookeeper::masterInfoSequence(child);
    if (sequence >= 0 && (lowest.empty() || sequence < mantle::zookeeper::masterInfoSequence(lowest))) {
      lowest = child;
    }
  }
  if (lowest.empty()) return mantle::Error(mantle::StatusCode::kNotFound, "no master contends under " + zkPath);
  LeaderZnode leader;
  leader.path = zkPath + "/" + lowest;
  mantle::Result<mantle::zookeeper::NodeData> node = session.getSync(leader.path);
  if (!node.ok()) return node.error();
  mantle::wire::JsonParseOptions options;
  options.ignoreUnknownEnumValues = true;
  mantle::Result<v1::MasterInfo> info = mantle::wire::parseJson<v1::MasterInfo>(node->data, options);
  if (!info.ok()) return info.error();
  leader.port = static_cast<int>(info->port());
  return leader;
}

Row measure(const std::string& system, int tickMs, bool printLogs) {
  Row row;
  row.system = system;
  std::unique_ptr<Cluster> cluster;
  if (system == "mantle") {
    cluster = std::make_unique<MantleCluster>();
  } else {
    cluster = std::make_unique<MesosCluster>(tickMs);
  }
  auto fail = [&](const std::string& why) {
    row.error = why;
    std::cerr << system << ": " << why << "\n" << cluster->logs() << "\n";
    return row;
  };
  if (mantle::Status s = cluster->start(); !s.ok()) return fail(s.error().message);

  // One framework with one task.
  std::mutex mutex;
  std::vector<v1::Offer> offers;
  std::atomic<int> subscriptions{0};
  std::atomic<int> running{0};
  std::atomic<std::int64_t> resubscribedAt{0};  // steady clock ticks of the SUBSCRIBED after the kill
  std::atomic<bool> killed{false};
  mantle::scheduler::SchedulerCallbacks callbacks;
  callbacks.subscribed = [&](const v1::scheduler::Event::Subscribed&) {
    ++subscriptions;
    if (killed && resubscribedAt == 0) resubscribedAt = Clock::now().time_since_epoch().count();
  };
  callbacks.offers = [&](const std::vector<v1::Offer>& batch) {
    std::lock_guard<std::mutex> lock(mutex);
    offers.insert(offers.end(), batch.begin(), batch.end());
  };
  callbacks.update = [&](const v1::TaskStatus& status) {
    if (status.state() == v1::TASK_RUNNING) ++running;
  };
  mantle::scheduler::SchedulerOptions schedulerOptions;
  schedulerOptions.master = cluster->zkUrl();
  struct passwd* pw = ::getpwuid(::getuid());
  schedulerOptions.frameworkInfo.set_user(pw != nullptr ? pw->pw_name : "root");
  schedulerOptions.frameworkInfo.set_name("failover bench");
  schedulerOptions.frameworkInfo.set_failover_timeout(600);
  mantle::scheduler::Scheduler scheduler(schedulerOptions, callbacks);
  scheduler.start();
  bool launched = false;
  auto deadline = Clock::now() + 60s;
  while (!launched && Clock::now() < deadline) {
    std::vector<v1::Offer> batch;
    {
      std::lock_guard<std::mutex> lock(mutex);
      batch.swap(offers);
    }
    for (const v1::Offer& offer : batch) {
      if (!launched &&
          scheduler.launch(offer, {mantle::scheduler::commandTask("task", offer, "sleep 600", "cpus:0.1;mem:32")})
              .ok()) {
        launched = true;
      } else {
        (void)scheduler.decline({offer.id()});
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  while (running < 1 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  if (running < 1) return fail("the task did not reach TASK_RUNNING");

  // An observer session watches the leader's candidacy znode: its deletion
  // is the expiry of the leader's session.
  std::string servers = cluster->zkUrl().substr(5, cluster->zkUrl().rfind('/') - 5);
  auto session = mantle::zookeeper::Session::create({servers, 10000ms, std::nullopt});
  if (!session->waitConnected(10s)) return fail("the observer cannot reach ZooKeeper");
  mantle::Result<LeaderZnode> leader = leaderZnode(*session, cluster->zkPath());
  if (!leader.ok()) return fail(leader.error().message);
  int leaderIndex = -1;
  for (int i = 0; i < cluster->masters(); ++i) {
    if (cluster->masterPort(i) == leader->port) leaderIndex = i;
  }
  if (leaderIndex < 0) return fail("the leader's znode names port " + std::to_string(leader->port));
  std::atomic<std::int64_t> expiredAt{0};
  session->addListener([&, path = leader->path](const mantle::zookeeper::SessionEvent& event) {
    if (!event.isState && event.watch == mantle::zookeeper::WatchKind::kDeleted && event.path == path) {
      expiredAt = Clock::now().time_since_epoch().count();
    }
  });
  std::promise<bool> watching;
  session->exists(leader->path, true, [&](mantle::Result<std::optional<mantle::zookeeper::NodeStat>> stat) {
    watching.set_value(stat.ok() && stat->has_value());
  });
  if (!watching.get_future().get()) return fail("cannot watch the leader's znode");

  // Let the old leader's ZooKeeper client and the agent settle into their
  // idle rhythm, as in a cluster that has been running a while.
  std::this_thread::sleep_for(2s);
  const auto kill = Clock::now();
  killed = true;
  cluster->killMaster(leaderIndex);
  auto at = [&](std::int64_t ticks) { return msBetween(kill, Clock::time_point(Clock::duration(ticks))); };
  while (Clock::now() < kill + 90s) {
    for (int i = 0; i < cluster->masters(); ++i) {
      if (i == leaderIndex) continue;
      std::optional<StateView> state = getState(cluster->masterUrl(i));
      if (!state) continue;
      double now = msBetween(kill, Clock::now());
      if (row.serving < 0) row.serving = now;
      if (row.agent < 0 && state->agents == 1) row.agent = now;
      if (row.task < 0 && state->runningTasks == 1) row.task = now;
    }
    if (row.expired < 0 && expiredAt != 0) row.expired = at(expiredAt);
    if (row.framework < 0 && resubscribedAt != 0) row.framework = at(resubscribedAt);
    if (row.expired >= 0 && row.agent >= 0 && row.task >= 0 && row.framework >= 0) break;
    std::this_thread::sleep_for(5ms);
  }
  scheduler.stop();
  if (printLogs) std::cerr << "---- " << system << " logs ----\n" << cluster->logs() << "\n";
  if (row.agent < 0 || row.task < 0 || row.framework < 0) fail("not everything came back within 90 s");
  return row;
}

double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return load;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 3;
  int tickMs = 2000;
  std::string systems = "both";
  bool printLogs = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--runs=", 0) == 0) {
      runs = std::stoi(arg.substr(7));
    } else if (arg.rfind("--system=", 0) == 0) {
      systems = arg.substr(9);
    } else if (arg == "--logs") {
      printLogs = true;
    } else if (arg.rfind("--tick_ms=", 0) == 0) {
      tickMs = std::stoi(arg.substr(10));
    } else {
      std::cerr << "usage: mantle_failover_bench [--runs=3] [--system=mantle|mesos|both] [--tick_ms=2000] [--logs]\n";
      return 2;
    }
  }
  if (!ZooKeeperServer::available()) {
    std::cerr << "ZooKeeper (and a JRE) is not installed\n";
    return 1;
  }
  std::vector<std::string> order;
  if (systems == "mantle" || systems == "both") order.push_back("mantle");
  if (systems == "mesos" || systems == "both") {
    if (auto why = mantle::testing::MesosPeer::skipReason()) {
      std::cerr << "Mesos left out: " << *why << "\n";
    } else {
      order.push_back("mesos");
    }
  }
  std::vector<Row> rows;
  double loadBefore = loadAverage();
  for (int run = 0; run < runs; ++run) {
    for (const std::string& system : order) rows.push_back(measure(system, tickMs, printLogs));
  }
  std::printf(
      "\nFailover with the defaults (3 masters, ZooKeeper tick %d ms, 10 s sessions, 1 agent, 1 task; "
      "SIGKILL of the leader), ms after the kill; load average %.1f -> %.1f\n",
      tickMs, loadBefore, loadAverage());
  std::printf("%-7s %8s %8s %8s %10s %8s | %16s %18s\n", "system", "expired", "serving", "agent", "framework", "task",
              "serving-expired", "all back-serving");
  auto cell = [](double v) { return v < 0 ? std::string("-") : std::to_string(static_cast<long>(v)); };
  auto gap = [](double from, double to) {
    return from < 0 || to < 0 ? std::string("-") : std::to_string(static_cast<long>(to - from));
  };
  for (const Row& row : rows) {
    double last = std::max({row.agent, row.framework, row.task});
    bool complete = row.serving >= 0 && row.agent >= 0 && row.framework >= 0 && row.task >= 0;
    std::printf("%-7s %8s %8s %8s %10s %8s | %16s %18s%s\n", row.system.c_str(), cell(row.expired).c_str(),
                cell(row.serving).c_str(), cell(row.agent).c_str(), cell(row.framework).c_str(), cell(row.task).c_str(),
                gap(row.expired, row.serving).c_str(), complete ? gap(row.serving, last).c_str() : "-",
                row.error.empty() ? "" : "  (incomplete)");
  }
  return 0;
}
