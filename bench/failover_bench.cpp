// Master failover through ZooKeeper, measured end to end: a real ZooKeeper
// server, two mantle-master processes (--zk, --zk_session_timeout=2secs),
// N agents simulated over the real master <-> agent protocol (TestAgent),
// one framework (the C++ scheduler client, following the leader through
// ZooKeeper) with one running task per agent. The leader is killed with
// kill -9; measured from the kill:
//   elected:  the standby answers GET_STATE (200) as the leader,
//   all tasks: its GET_STATE lists every task TASK_RUNNING (agents
//              re-registered, tasks rebuilt from their reports),
//   framework: the framework has re-subscribed with its id.
// A killed leader's znode goes only when its session expires, so the
// session timeout (2 s here) is most of the figure.
//
//   mantle_failover_bench [AGENT_COUNTS=1,100,1000]
//
// Prints a table; asserts nothing (a measurement, not a test).
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <json/reader.h>
#include <json/value.h>

#include "ha_cluster.hpp"
#include "http/client.hpp"
#include "scheduler/scheduler.hpp"
#include "test_agent.hpp"
#include "zookeeper/master_detector.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace v1 = ::mesos::v1;
using mantle::testing::HaCluster;
using mantle::testing::HaClusterOptions;
using mantle::testing::TestAgent;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Tasks TASK_RUNNING in the master's GET_STATE; -1 when it does not answer 200.
int runningTasks(const std::string& masterUrl) {
  auto response = mantle::http::request("POST", masterUrl + "/api/v1", {{"Content-Type", "application/json"}},
                                        R"({"type":"GET_STATE"})", mantle::http::ClientOptions{10, 1});
  if (!response.ok() || response->status != 200) return -1;
  Json::Value root;
  std::istringstream in(response->body);
  if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) return -1;
  int running = 0;
  for (const Json::Value& task : root["get_state"]["get_tasks"]["tasks"]) {
    if (task["state"].asString() == "TASK_RUNNING") ++running;
  }
  return running;
}

// Runs `f(i)` for i in [0, n) on a few threads.
template <typename F>
void parallel(int n, F f) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++) f(i);
    });
  }
  for (auto& thread : threads) thread.join();
}

struct Row {
  int agents = 0;
  double elected = -1, allTasks = -1, framework = -1;
};

Row measure(int agentCount) {
  Row row;
  row.agents = agentCount;
  HaClusterOptions options;
  options.masters = 2;
  options.agents = 0;
  options.masterFlags = {"--http_threads=4"};
  HaCluster cluster(options);
  if (mantle::Status s = cluster.start(); !s.ok()) {
    std::cerr << s.error().message << "\n";
    return row;
  }
  mantle::Result<int> leader = cluster.waitForLeader(30s);
  if (!leader.ok()) return row;

  std::vector<std::unique_ptr<TestAgent>> agents;
  for (int i = 0; i < agentCount; ++i) {
    TestAgent::Options agentOptions;
    agentOptions.masterUrl = cluster.masterUrl(*leader);
    agentOptions.hostname = "bench-agent-" + std::to_string(i);
    agentOptions.resources = "cpus:1;mem:256";
    agents.push_back(std::make_unique<TestAgent>(agentOptions));
  }
  // A TestAgent takes a moment to stop: stop them side by side, on every
  // way out.
  struct StopAgents {
    std::vector<std::unique_ptr<TestAgent>>& agents;
    ~StopAgents() {
      parallel(static_cast<int>(agents.size()), [&](int i) { agents[i].reset(); });
    }
  } stopAgents{agents};
  std::atomic<int> failed{0};
  parallel(agentCount, [&](int i) {
    if (!agents[i]->connect(60s).ok()) ++failed;
  });
  if (failed > 0) {
    std::cerr << failed << " agents did not register\n";
    return row;
  }

  // One framework, one task per agent.
  std::mutex mutex;
  std::vector<v1::Offer> offers;
  std::atomic<int> subscriptions{0};
  std::atomic<int> running{0};
  mantle::scheduler::SchedulerCallbacks callbacks;
  callbacks.subscribed = [&](const v1::scheduler::Event::Subscribed&) { ++subscriptions; };
  callbacks.offers = [&](const std::vector<v1::Offer>& batch) {
    std::lock_guard<std::mutex> lock(mutex);
    offers.insert(offers.end(), batch.begin(), batch.end());
  };
  callbacks.update = [&](const v1::TaskStatus& status) {
    if (status.state() == v1::TASK_RUNNING) ++running;
  };
  mantle::scheduler::SchedulerOptions schedulerOptions;
  schedulerOptions.master = cluster.zkUrl();
  struct passwd* pw = ::getpwuid(::getuid());
  schedulerOptions.frameworkInfo.set_user(pw != nullptr ? pw->pw_name : "root");
  schedulerOptions.frameworkInfo.set_name("failover bench");
  schedulerOptions.frameworkInfo.set_failover_timeout(600);
  mantle::scheduler::Scheduler scheduler(schedulerOptions, callbacks);
  scheduler.start();
  int launched = 0;
  auto deadline = Clock::now() + 120s;
  while (launched < agentCount && Clock::now() < deadline) {
    std::vector<v1::Offer> batch;
    {
      std::lock_guard<std::mutex> lock(mutex);
      batch.swap(offers);
    }
    for (const v1::Offer& offer : batch) {
      std::string id = "task-" + std::to_string(launched);
      if (launched < agentCount &&
          scheduler.launch(offer, {mantle::scheduler::commandTask(id, offer, "sleep 600", "cpus:0.1;mem:32")}).ok()) {
        ++launched;
      } else {
        (void)scheduler.decline({offer.id()});
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  while (running < agentCount && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  if (running < agentCount) {
    std::cerr << "only " << running << " of " << agentCount << " tasks running\n";
    return row;
  }
  int standby = 1 - *leader;
  int subscribedBefore = subscriptions;

  // Agents follow the leader as mantle-agent does: re-register with the
  // one ZooKeeper names.
  std::atomic<bool> reregistered{false};
  auto detector = mantle::zookeeper::MasterDetector::create(cluster.zkUrl());
  if (!detector.ok()) return row;

  auto killed = Clock::now();
  cluster.killMaster(*leader);
  std::thread follower([&] {
    while (Clock::now() < killed + 120s) {
      std::optional<std::string> now = (*detector)->leader();
      if (now && *now != cluster.masterUrl(*leader)) {
        parallel(agentCount, [&](int i) {
          agents[i]->setMasterUrl(*now);
          // Until it has recovered, the new leader answers 503: retry soon,
          // as mantle-agent does.
          for (int attempt = 0; attempt < 100 && !agents[i]->connect(2s).ok(); ++attempt) {
            std::this_thread::sleep_for(100ms);
          }
        });
        reregistered = true;
        return;
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  while (msSince(killed) < 120000) {
    int tasks = runningTasks(cluster.masterUrl(standby));
    if (tasks >= 0 && row.elected < 0) row.elected = msSince(killed);
    if (row.framework < 0 && subscriptions > subscribedBefore) row.framework = msSince(killed);
    if (tasks == agentCount && row.allTasks < 0) row.allTasks = msSince(killed);
    if (row.allTasks >= 0 && row.framework >= 0) break;
    std::this_thread::sleep_for(5ms);
  }
  follower.join();
  scheduler.stop();
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> counts = {1, 100, 1000};
  if (argc > 1) {
    counts.clear();
    std::stringstream in(argv[1]);
    std::string item;
    while (std::getline(in, item, ',')) counts.push_back(std::stoi(item));
  }
  if (!mantle::testing::ZooKeeperServer::available()) {
    std::cerr << "ZooKeeper (and a JRE) is not installed\n";
    return 1;
  }
  // One stream per agent on both sides.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  std::vector<Row> rows;
  for (int count : counts) rows.push_back(measure(count));
  std::printf("\nMaster failover (kill -9 of the leader, --zk_session_timeout=2secs), ms after the kill\n");
  std::printf("%8s  %12s  %16s  %22s\n", "agents", "new leader", "every task back", "framework resubscribed");
  for (const Row& row : rows) {
    auto cell = [](double v) { return v < 0 ? std::string("-") : std::to_string(static_cast<long>(v)); };
    std::printf("%8d  %12s  %16s  %22s\n", row.agents, cell(row.elected).c_str(), cell(row.allTasks).c_str(),
                cell(row.framework).c_str());
  }
  return 0;
}
