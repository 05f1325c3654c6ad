// The master at scale, driven by mantle-agent-sim's library (core/agent_sim):
// every agent a real peer over the master <-> agent protocol, one TCP stream
// each. Three scenarios, each beside a floor measured in the same run:
//
//   register:  N agents REGISTER with a standalone master (file registry),
//              and with --zk with a master keeping its registry in a
//              ZooKeeper this starts: time until all are registered, master
//              CPU seconds, master RSS per agent, registry writes (whole
//              ones apart). Floor: decoding the N REGISTER calls in one loop.
//   failover:  three masters on ZooKeeper (10 s sessions), N agents x T tasks
//              (REREGISTER with their tasks); the leader is killed with
//              kill -9. Measured from the moment a new leader answers
//              GET_STATE as leader to every agent re-registered and every
//              task TASK_RUNNING in its GET_STATE. Floor: decoding all N
//              REREGISTER messages in one loop.
//   state:     N agents x T tasks on a standalone master: /master/state and
//              GET_STATE (JSON) latency, median of 5; an offer cycle (REVIVE
//              to offers for every agent, one framework) quiet and while 4
//              clients fetch /master/state in a loop; master RSS per task.
//
//   mantle_master_scale_bench [--scenario=register|failover|state|all]
//       [--agents=N] [--tasks=T] [--zk] [--setup_timeout=SECONDS]
//       [--master_binary=PATH]
//
// --master_binary: the mantle-master every scenario runs (default: this
// build's), to compare two builds in one session; it must
// lie in a build's bin/ (it finds its modules from there).
//
// Set-up (the agents registering, with their tasks) may take --setup_timeout
// seconds, by default 1,200 s or 30 ms per agent and per 5 tasks of each,
// whichever is longer; its progress is printed every 30 s. The masters and
// ZooKeeper die with this process, also when a timeout kills it.
//
// Each agent holds one descriptor in this process and one in the master:
// N is capped by RLIMIT_NOFILE (its hard limit, which this raises the soft
// limit to). Prints tables; asserts nothing.
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent_sim/agent_simulator.hpp"
#include "cluster.hpp"
#include "ha_cluster.hpp"
#include "http/client.hpp"
#include "mantle/internal/agent_master.pb.h"
#include "process.hpp"
#include "scheduler/scheduler.hpp"
#include "temp_dir.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace v1 = ::mesos::v1;
using mantle::agent_sim::AgentSimulator;
using mantle::agent_sim::Report;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return load;
}

// utime + stime in seconds from a /proc stat file (a process's or a thread's).
double cpuSecondsOf(const std::string& statPath) {
  std::ifstream in(statPath);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// utime + stime of `pid` in seconds.
double cpuSeconds(pid_t pid) {
  return cpuSecondsOf("/proc/" + std::to_string(pid) + "/stat");
}

// utime + stime of each thread of `pid` in seconds, by thread id.
std::map<std::string, double> threadCpuSeconds(pid_t pid) {
  std::map<std::string, double> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string tid = entry.path().filename().string();
    out[tid] = cpuSecondsOf(dir + "/" + tid + "/stat");
  }
  return out;
}

// The most CPU seconds one thread of `pid` spent since `before`: the
// master's serial part (its state thread, when it is the busiest).
double busiestThreadSince(pid_t pid, const std::map<std::string, double>& before) {
  double most = 0;
  for (const auto& [tid, seconds] : threadCpuSeconds(pid)) {
    auto b = before.find(tid);
    most = std::max(most, seconds - (b == before.end() ? 0 : b->second));
  }
  return most;
}

// Resident memory of `pid` in MiB.
double rssMiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// Milliseconds for one request, -1 when it did not answer 200.
double timedRequest(const std::string& method, const std::string& url, const std::string& body) {
  const auto start = Clock::now();
  auto response = mantle::http::request(method, url, {{"Content-Type", "application/json"}}, body,
                                        mantle::http::ClientOptions{120, 5});
  if (!response.ok() || response->status != 200) return -1;
  return msSince(start);
}

double median(std::vector<double> values) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Tasks TASK_RUNNING in GET_STATE (a count of the state string, enough here:
// every task's state appears once as "state":"TASK_RUNNING").
int runningTasks(const std::string& masterUrl, int* agents) {
  auto response = mantle::http::request("POST", masterUrl + "/api/v1", {{"Content-Type", "application/json"}},
                                        R"({"type":"GET_STATE"})", mantle::http::ClientOptions{120, 2});
  if (!response.ok() || response->status != 200) return -1;
  const std::string& body = response->body;
  int running = 0;
  for (std::size_t at = body.find("\"TASK_RUNNING\""); at != std::string::npos;
       at = body.find("\"TASK_RUNNING\"", at + 1)) {
    ++running;
  }
  if (agents != nullptr) {
    *agents = 0;
    for (std::size_t at = body.find("\"agent_info\""); at != std::string::npos;
         at = body.find("\"agent_info\"", at + 1)) {
      ++*agents;
    }
  }
  return running;
}

mantle::agent_sim::Options simOptions(const std::string& master, int agents, int tasks, const std::string& prefix) {
  mantle::agent_sim::Options options;
  options.master = master;
  options.agents = agents;
  options.resources = "cpus:8;mem:16384;disk:65536";
  // A few hundred streams per loopback source address: with thousands on one,
  // the kernel's search for a free port at each (re)connect dominates the
  // simulator's thread (perf: inet_bhash2_conflict).
  options.agentsPerSourceAddress = 500;
  if (tasks > 0 || !prefix.empty()) {
    options.idPrefix = prefix;
    options.tasksPerAgent = tasks;
  }
  return options;
}

std::unique_ptr<AgentSimulator> startSimulator(const mantle::agent_sim::Options& options) {
  auto simulator = AgentSimulator::create(options);
  if (!simulator.ok()) {
    std::cerr << "agent simulator: " << simulator.error().message << "\n";
    return nullptr;
  }
  if (auto started = (*simulator)->start(); !started.ok()) {
    std::cerr << "agent simulator: " << started.error().message << "\n";
    return nullptr;
  }
  return std::move(*simulator);
}

// --setup_timeout (0: by the number of agents and tasks, see the top).
std::chrono::seconds setupTimeoutFlag{0};

// Waits for set-up (`what`) until `done`, printing progress every 30 s.
template <typename Predicate>
Report waitForSetup(const AgentSimulator& simulator, Predicate done, int agents, int tasks, const char* what) {
  const auto timeout = setupTimeoutFlag.count() > 0 ? setupTimeoutFlag
                                                    : std::max(std::chrono::seconds(1200),
                                                               std::chrono::seconds(agents * (5 + tasks) * 30 / 5000));
  const auto start = Clock::now();
  Report report = simulator.report();
  while (!done(report) && Clock::now() - start < timeout) {
    report = simulator.waitUntil(
        done, std::min<std::chrono::milliseconds>(
                  30s, std::chrono::duration_cast<std::chrono::milliseconds>(timeout - (Clock::now() - start))));
    if (!done(report)) {
      std::fprintf(stderr, "%s: %d of %d agents registered (%d connected), %.0f s of %lld s\n", what,
                   report.everRegistered, agents, report.connected, msSince(start) / 1000,
                   static_cast<long long>(timeout.count()));
    }
  }
  return report;
}

// A master's counter from /metrics/snapshot (-1 when it does not answer).
double masterMetric(const std::string& masterUrl, const std::string& name) {
  auto response =
      mantle::http::request("GET", masterUrl + "/metrics/snapshot", {}, "", mantle::http::ClientOptions{30, 2});
  if (!response.ok() || response->status != 200) return -1;
  const std::string key = "\"" + name + "\":";
  const std::size_t at = response->body.find(key);
  return at == std::string::npos ? 0 : std::atof(response->body.c_str() + at + key.size());
}

// --master_binary; empty: this build's mantle-master.
std::string masterBinary;

// A standalone master on a free port with its own work dir.
struct Master {
  mantle::testing::TempDir dir;
  int port = mantle::testing::freePort();
  std::unique_ptr<mantle::testing::ChildProcess> process;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  bool start() {
    process = std::make_unique<mantle::testing::ChildProcess>(
        std::vector<std::string>{masterBinary.empty() ? mantle::testing::binary("mantle-master") : masterBinary,
                                 "--ip=127.0.0.1", "--port=" + std::to_string(port),
                                 "--work_dir=" + dir.path().string(), "--allocation_interval=1secs"},
        dir.path() / "master.log");
    return mantle::testing::waitForHealth(url(), 30s);
  }
};

// ---- floors -----------------------------------------------------------------

std::vector<std::string> encodedCalls(int agents, int tasks) {
  std::vector<std::string> out;
  out.reserve(agents);
  for (int i = 0; i < agents; ++i) {
    mantle::internal::Call call;
    v1::AgentInfo info;
    info.set_hostname("sim-agent-" + std::to_string(i));
    info.set_port(10000 + i);
    for (const char* name : {"cpus", "mem", "disk"}) {
      v1::Resource* r = info.add_resources();
      r->set_name(name);
      r->set_type(v1::Value::SCALAR);
      r->mutable_scalar()->set_value(8);
    }
    if (tasks == 0) {
      call.set_type(mantle::internal::Call::REGISTER);
      *call.mutable_registration()->mutable_agent_info() = info;
      call.mutable_registration()->set_version("0.1.0");
    } else {
      call.set_type(mantle::internal::Call::REREGISTER);
      info.mutable_id()->set_value("floor-S" + std::to_string(i));
      *call.mutable_reregistration()->mutable_agent_info() = info;
      call.mutable_reregistration()->set_version("0.1.0");
      auto* framework = call.mutable_reregistration()->add_frameworks();
      framework->mutable_framework_info()->set_user("root");
      framework->mutable_framework_info()->set_name("agent-sim");
      framework->mutable_framework_info()->mutable_id()->set_value("floor-framework");
      for (int t = 0; t < tasks; ++t) {
        v1::Task* task = framework->add_tasks();
        task->set_name("t");
        task->mutable_task_id()->set_value(info.id().value() + "-T" + std::to_string(t));
        task->mutable_framework_id()->set_value("floor-framework");
        *task->mutable_agent_id() = info.id();
        task->set_state(v1::TASK_RUNNING);
      }
    }
    out.push_back(call.SerializeAsString());
  }
  return out;
}

// Milliseconds to decode every call in one loop.
double parseFloorMs(const std::vector<std::string>& calls) {
  const auto start = Clock::now();
  std::size_t seen = 0;
  for (const std::string& bytes : calls) {
    mantle::internal::Call call;
    if (call.ParseFromString(bytes)) ++seen;
  }
  if (seen != calls.size()) std::cerr << "floor: undecodable call\n";
  return msSince(start);
}

// ---- scenarios -----------------------------------------------------------------

void registration(int agents, bool zk) {
  // Standalone: a master with its registry in a file; --zk: one master with
  // its registry in a ZooKeeper started here.
  Master master;
  std::unique_ptr<mantle::testing::HaCluster> cluster;
  std::string url = master.url();
  pid_t pid = -1;
  if (zk) {
    mantle::testing::HaClusterOptions options;
    options.masters = 1;
    options.agents = 0;
    options.zkSessionTimeout = "10secs";
    cluster = std::make_unique<mantle::testing::HaCluster>(options);
    mantle::Result<int> leader = cluster->start().ok() ? cluster->waitForLeader(60s) : mantle::Result<int>(-1);
    if (!leader.ok() || *leader < 0) {
      std::cerr << "register: the master on ZooKeeper did not come up\n";
      return;
    }
    url = cluster->masterUrl(*leader);
    pid = cluster->master(*leader)->pid();
  } else {
    if (!master.start()) {
      std::cerr << "register: the master did not come up\n";
      return;
    }
    pid = master.process->pid();
  }
  const double rssBefore = rssMiB(pid);
  const double cpuBefore = cpuSeconds(pid);
  auto simulator = startSimulator(simOptions(zk ? cluster->zkUrl() : url, agents, 0, ""));
  if (!simulator) return;
  Report report = waitForSetup(
      *simulator, [](const Report& r) { return r.allRegisteredSeconds > 0; }, agents, 0, "register");
  const double cpu = cpuSeconds(pid) - cpuBefore;
  std::this_thread::sleep_for(1s);
  const double rssAfter = rssMiB(pid);
  const double floor = parseFloorMs(encodedCalls(agents, 0));
  std::printf(
      "\n| register | agents | all registered s | per s | master CPU s | master RSS MiB (before → after) | "
      "RSS KiB/agent | registry writes (whole) | floor: decode all REGISTER ms | load |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| %s | %d | %.2f | %.0f | %.2f | %.0f → %.0f | %.1f | %.0f (%.0f) | %.1f | %.1f |\n",
              zk ? "ZooKeeper" : "file", agents, report.allRegisteredSeconds,
              report.allRegisteredSeconds > 0 ? agents / report.allRegisteredSeconds : 0, cpu, rssBefore, rssAfter,
              (rssAfter - rssBefore) * 1024 / agents, masterMetric(url, "registrar/state_store"),
              masterMetric(url, "registrar/state_store_whole"), floor, loadAverage());
  if (report.allRegisteredSeconds <= 0) std::printf("(not all registered: %s)\n", report.toText().c_str());
  simulator->stop();
}

void failover(int agents, int tasks) {
  mantle::testing::HaClusterOptions options;
  options.agents = 0;
  // The masters' default session: ZooKeeper's pauses while it takes
  // registries of several MB outlast the tests' 2 s sessions.
  options.zkSessionTimeout = "10secs";
  options.masterBinary = masterBinary;
  mantle::testing::HaCluster cluster(options);
  if (auto s = cluster.start(); !s.ok()) {
    std::cerr << "failover: " << s.error().message << "\n";
    return;
  }
  mantle::Result<int> leader = cluster.waitForLeader(30s);
  if (!leader.ok()) return;
  auto simulator = startSimulator(simOptions(cluster.zkUrl(), agents, tasks, "failover"));
  if (!simulator) return;
  Report first = waitForSetup(
      *simulator, [&](const Report& r) { return r.connected == agents; }, agents, tasks, "failover");
  if (first.connected != agents) {
    std::cerr << "failover: not all agents registered: " << first.toText() << "\n";
    return;
  }
  const auto killed = Clock::now();
  cluster.killMaster(*leader);
  // Elected: a surviving master says it leads.
  int next = -1;
  while (next < 0 && msSince(killed) < 120000) {
    for (int i : cluster.electedMasters()) {
      if (i != *leader) next = i;
    }
    if (next < 0) std::this_thread::sleep_for(10ms);
  }
  if (next < 0) {
    std::cerr << "failover: no new leader\n";
    return;
  }
  const auto elected = Clock::now();
  const double electedMs = msSince(killed);
  const pid_t leaderPid = cluster.master(next)->pid();
  // For profiling the re-registrations (perf record -p).
  std::cerr << "failover: master " << next << " (pid " << leaderPid << ") elected after " << electedMs / 1000
            << " s; simulator pid " << getpid() << std::endl;
  const double leaderCpuBefore = cpuSeconds(leaderPid);
  const std::map<std::string, double> leaderThreadsBefore = threadCpuSeconds(leaderPid);
  const double simCpuBefore = cpuSeconds(getpid());
  Report back = simulator->waitUntil(
      [&](const Report& r) { return r.connected == agents && r.leader == cluster.masterUrl(next); }, 1200s);
  const double agentsMs = msSince(elected);
  // CPU seconds spent on the re-registrations (elected → all back): the
  // new leader's, and this process's (the simulator's agents).
  const double leaderCpu = cpuSeconds(leaderPid) - leaderCpuBefore;
  const double leaderBusiest = busiestThreadSince(leaderPid, leaderThreadsBefore);
  const double simCpu = cpuSeconds(getpid()) - simCpuBefore;
  int seenAgents = 0;
  const double leaderCpuBack = cpuSeconds(leaderPid);
  auto lastRequest = Clock::now();
  int running = runningTasks(cluster.masterUrl(next), &seenAgents);
  double lastStateMs = msSince(lastRequest);
  while (running < agents * tasks && msSince(elected) < 1200000) {
    std::this_thread::sleep_for(50ms);
    lastRequest = Clock::now();
    running = runningTasks(cluster.masterUrl(next), &seenAgents);
    lastStateMs = msSince(lastRequest);
  }
  const double tasksMs = msSince(elected);
  // The new leader's CPU for the GET_STATEs that found every task back.
  const double stateCpu = cpuSeconds(leaderPid) - leaderCpuBack;
  const double floor = parseFloorMs(encodedCalls(agents, tasks));
  std::printf(
      "\n| failover | agents × tasks | kill → elected s | elected → all agents back s | elected → all tasks in "
      "GET_STATE s (last GET_STATE ms) | leader CPU s, elected → all back (µs/agent) | its busiest thread CPU s "
      "(µs/agent) | leader CPU s, all back → all tasks in GET_STATE | simulator CPU s | "
      "floor: decode all REREGISTER ms | (all back) / floor | load |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf(
      "| | %d × %d | %.2f | %.2f | %.2f (%.0f) | %.2f (%.0f) | %.2f (%.0f) | %.2f | %.2f | %.1f | %.0f× | %.1f |\n",
      agents, tasks, electedMs / 1000, agentsMs / 1000, tasksMs / 1000, lastStateMs, leaderCpu,
      leaderCpu * 1e6 / agents, leaderBusiest, leaderBusiest * 1e6 / agents, stateCpu, simCpu, floor, agentsMs / floor,
      loadAverage());
  if (back.connected != agents || running != agents * tasks) {
    std::printf("(incomplete: %s; running %d)\n", back.toText().c_str(), running);
  }
  simulator->stop();
}

// What the offer cycle keeps of an offer (copying whole offers would add to
// the client's CPU on the master's cores).
struct OfferSeen {
  v1::OfferID id;
  std::string agentId;
};

// Milliseconds from REVIVE to offers covering every agent (offers are
// declined at once with no filter).
double offerCycleMs(mantle::scheduler::Scheduler& scheduler, std::mutex& mutex, std::vector<OfferSeen>& offers,
                    int agents) {
  // Offers still outstanding (the first cycle after SUBSCRIBE) are declined
  // with the long filter first: REVIVE then offers every agent again.
  std::vector<v1::OfferID> outstanding;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const OfferSeen& offer : offers) outstanding.push_back(offer.id);
    offers.clear();
  }
  for (std::size_t i = 0; i < outstanding.size(); i += 1000) {
    std::vector<v1::OfferID> chunk(outstanding.begin() + i,
                                   outstanding.begin() + std::min(outstanding.size(), i + 1000));
    (void)scheduler.decline(chunk, 3600);
  }
  const auto start = Clock::now();
  if (!scheduler.revive().ok()) return -1;
  std::vector<v1::OfferID> seen;
  std::set<std::string> agentIds;
  while (static_cast<int>(agentIds.size()) < agents && msSince(start) < 120000) {
    std::vector<OfferSeen> batch;
    {
      std::lock_guard<std::mutex> lock(mutex);
      batch.swap(offers);
    }
    for (const OfferSeen& offer : batch) {
      agentIds.insert(offer.agentId);
      seen.push_back(offer.id);
    }
    std::this_thread::sleep_for(1ms);
  }
  const double ms = msSince(start);
  // Decline with a long filter so that the next cycle comes only from REVIVE.
  for (std::size_t i = 0; i < seen.size(); i += 1000) {
    std::vector<v1::OfferID> chunk(seen.begin() + i, seen.begin() + std::min(seen.size(), i + 1000));
    (void)scheduler.decline(chunk, 3600);
  }
  return static_cast<int>(agentIds.size()) == agents ? ms : -1;
}

void state(int agents, int tasks) {
  Master master;
  if (!master.start()) {
    std::cerr << "state: the master did not come up\n";
    return;
  }
  const pid_t pid = master.process->pid();
  auto simulator = startSimulator(simOptions(master.url(), agents, 0, "empty"));
  if (!simulator) return;
  Report r0 = waitForSetup(
      *simulator, [&](const Report& r) { return r.connected == agents; }, agents, 0, "state");
  std::this_thread::sleep_for(1s);
  const double rssAgents = rssMiB(pid);
  simulator->stop();
  simulator.reset();
  // The same agents again, now each with `tasks` running tasks.
  simulator = startSimulator(simOptions(master.url(), agents, tasks, "empty"));
  if (!simulator) return;
  Report r1 = waitForSetup(
      *simulator, [&](const Report& r) { return r.connected == agents; }, agents, tasks, "state");
  int seenAgents = 0;
  int running = runningTasks(master.url(), &seenAgents);
  std::this_thread::sleep_for(1s);
  const double rssTasks = rssMiB(pid);
  if (r0.connected != agents || r1.connected != agents || running != agents * tasks) {
    std::cerr << "state: set-up incomplete: " << r1.toText() << "; running " << running << "\n";
  }
  std::vector<double> stateMs, getStateMs;
  for (int i = 0; i < 5; ++i) {
    stateMs.push_back(timedRequest("GET", master.url() + "/master/state", ""));
    getStateMs.push_back(timedRequest("POST", master.url() + "/api/v1", R"({"type":"GET_STATE"})"));
  }
  // Floor: decoding every task's REREGISTER in one loop.
  const double floor = parseFloorMs(encodedCalls(agents, tasks));

  std::mutex mutex;
  std::vector<OfferSeen> offers;
  mantle::scheduler::SchedulerCallbacks callbacks;
  callbacks.offers = [&](const std::vector<v1::Offer>& batch) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const v1::Offer& offer : batch) offers.push_back({offer.id(), offer.agent_id().value()});
  };
  mantle::scheduler::SchedulerOptions schedulerOptions;
  schedulerOptions.master = master.url();
  schedulerOptions.frameworkInfo.set_user("root");
  schedulerOptions.frameworkInfo.set_name("scale bench");
  mantle::scheduler::Scheduler scheduler(schedulerOptions, callbacks);
  scheduler.start();
  std::this_thread::sleep_for(2s);
  (void)offerCycleMs(scheduler, mutex, offers, agents);  // warm-up
  std::vector<double> quiet, loaded;
  for (int i = 0; i < 3; ++i) quiet.push_back(offerCycleMs(scheduler, mutex, offers, agents));
  std::atomic<bool> stop{false};
  std::atomic<int> fetched{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        if (timedRequest("GET", master.url() + "/master/state", "") > 0) ++fetched;
      }
    });
  }
  std::this_thread::sleep_for(1s);
  for (int i = 0; i < 3; ++i) loaded.push_back(offerCycleMs(scheduler, mutex, offers, agents));
  stop = true;
  for (auto& t : clients) t.join();
  scheduler.stop();
  std::printf(
      "\n| state | agents × tasks | /master/state ms | GET_STATE ms | floor: decode all tasks' REREGISTER ms | "
      "offer cycle quiet ms | with 4 /state clients ms | ratio | RSS KiB/agent | RSS KiB/task | load |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| | %d × %d | %.0f | %.0f | %.0f | %.0f | %.0f (%d fetches) | %.2f | %.1f | %.2f | %.1f |\n", agents,
              tasks, median(stateMs), median(getStateMs), floor, median(quiet), median(loaded), fetched.load(),
              median(loaded) / median(quiet), rssAgents * 1024 / agents,
              (rssTasks - rssAgents) * 1024 / (static_cast<double>(agents) * tasks), loadAverage());
  simulator->stop();
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string scenario = "all";
  int agents = 0;
  int tasks = -1;
  bool zk = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--scenario=", 0) == 0) {
      scenario = arg.substr(11);
    } else if (arg.rfind("--agents=", 0) == 0) {
      agents = std::stoi(arg.substr(9));
    } else if (arg.rfind("--tasks=", 0) == 0) {
      tasks = std::stoi(arg.substr(8));
    } else if (arg == "--zk") {
      zk = true;
    } else if (arg.rfind("--setup_timeout=", 0) == 0) {
      setupTimeoutFlag = std::chrono::seconds(std::stoi(arg.substr(16)));
    } else if (arg.rfind("--master_binary=", 0) == 0) {
      masterBinary = arg.substr(16);
    } else {
      std::cerr << "usage: mantle_master_scale_bench [--scenario=register|failover|state|all] [--agents=N] "
                   "[--tasks=T] [--zk] [--setup_timeout=SECONDS] [--master_binary=PATH]\n";
      return arg == "--help" ? 0 : 2;
    }
  }
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  // One descriptor per agent here and in the master, plus slack.
  const int cap = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1000000)) - 500;
  auto capped = [&](int wanted) {
    if (wanted <= cap) return wanted;
    std::printf("(%d agents wanted; RLIMIT_NOFILE %llu allows %d)\n", wanted,
                static_cast<unsigned long long>(limit.rlim_cur), cap);
    return cap;
  };
  std::printf("load average at start %.1f, %u CPUs\n", loadAverage(), std::thread::hardware_concurrency());
  // A timeout that kills this process kills the masters and ZooKeeper too.
  mantle::testing::ChildProcess::dieWithThisProcess();
  if (scenario == "register" || scenario == "all") registration(capped(agents > 0 ? agents : 50000), zk);
  if (scenario == "failover" || scenario == "all")
    failover(capped(agents > 0 ? agents : 40000), tasks >= 0 ? tasks : 10);
  if (scenario == "state" || scenario == "all") state(capped(agents > 0 ? agents : 20000), tasks >= 0 ? tasks : 20);
  return 0;
}
