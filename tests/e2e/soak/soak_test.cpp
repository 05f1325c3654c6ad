// Soak test: a highly available cluster (a real ZooKeeper server, two
// mantle-masters contending through it, three mantle-agents following the
// leader) runs a scheduler (core/scheduler, following the leader through
// ZooKeeper) that launches short, failing and long command tasks and kills
// some of them, without pause, while a chaos thread SIGKILLs a random process
// every few seconds: the leading master, an agent, an executor (the
// mantle-executor process of a running task, alone; its task is orphaned) or
// ZooKeeper. A killed process is restarted as a supervisor would: masters and
// agents with the same ports and work dirs (agents recover their checkpointed
// executors; the framework checkpoints), ZooKeeper on the same port with the
// same data dir. A master that exits on its own (it steps down when its
// ZooKeeper session expires) is restarted too.
//
// After the chaos (MANTLE_SOAK_SECONDS, default 60) everything is restarted,
// the scheduler waits for a leader and the three agents, kills every task it
// has not seen end, reconciles explicitly until each has ended, and waits a
// quiet period for late updates. Then, as Mesos defines delivery:
//
// - Agent updates carry a uuid and are acknowledged by the scheduler (every
//   update, once per delivery). Delivery is at least once: an update whose
//   acknowledgement was lost (the agent or master died in between, or the
//   retry crossed the acknowledgement) comes again with the same uuid. So
//   a "duplicate" is a uuid delivered again
//     (a) after a later update of the same task (another uuid) was
//         delivered: the agent sends the next update of a task only after it
//         has checkpointed the acknowledgement of the previous one; or
//     (b) more than kAckInFlight after an acknowledgement of it was accepted
//         (202) once the cluster was calm (after the chaos, with a leader and
//         every agent registered), while the scheduler stayed subscribed to
//         the same master. During the chaos an accepted acknowledgement can
//         be lost on its way to the agent (master or agent killed, agent not
//         yet re-registered: an agent's reconnection backs off up to a
//         minute), and the agent then rightly sends the update again.
//   Every other redelivery is counted and printed, not failed.
// - Master updates carry no uuid and are never acknowledged: TASK_LOST or
//   TASK_DROPPED for a launch on an offer the new leader never made
//   (REASON_INVALID_OFFERS), TASK_LOST/GONE for tasks of a removed agent, and
//   answers to reconciliation and to kills of unknown tasks
//   (REASON_RECONCILIATION), which restate the master's view and are not
//   updates of the task.
// - Exactly one terminal state per task: the agent sends at most one terminal
//   update per task (at most one terminal uuid). Master terminal updates may
//   come first (the task was thought lost) and the agent's real one may
//   follow (the agent came back, Mesos' behaviour for frameworks that are not
//   partition aware), but no master terminal update may follow the agent's.
// - No lost update: a task that the scheduler heard of from an agent (any
//   uuid) must end with the agent's terminal update, since the agent has it
//   checkpointed; a task no agent ever reported must end with a master or
//   reconciliation answer in a terminal state.
// - Nothing left behind: no mantle-executor and no task process has its
//   working directory under the cluster's work dirs once every task has
//   ended, the leader lists no task of the framework that is not terminal,
//   and, with cgroup isolation (root with the cpu and memory controllers;
//   posix isolation otherwise), the test's cgroup root holds no container
//   cgroup.
//
// The counts (launched, killed by the scheduler, terminal by state, kills by
// victim, failovers, redeliveries, duplicates, lost) are printed. Everything
// (processes, JVM, cgroups, temp dirs) is removed also when the test fails.
// MANTLE_SOAK_SEED fixes the random choices (printed), MANTLE_SOAK_KILL_MS
// the mean time between kills (default 3000).
#include <signal.h>
#include <unistd.h>

#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "../../isolators/support/isolator_test_support.hpp"
#include "ha_cluster.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "module_manifest.hpp"
#include "process.hpp"
#include "process/sessions.hpp"
#include "scheduler/scheduler.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {
namespace {

namespace v1 = ::mesos::v1;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kAckInFlight = 3s;
constexpr int kMaxActiveTasks = 12;

int envInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::atoi(value);
}

// ---- what the scheduler saw -----------------------------------------------------

struct Delivery {
  v1::TaskState state;
  std::string uuid;  // empty: from the master
  v1::TaskStatus::Reason reason;
  Clock::time_point at;
  int subscription = 0;  // the scheduler's subscriptions so far
};

// An acknowledgement the master accepted.
struct Ack {
  Clock::time_point at;
  int subscription = 0;
};

struct TaskRecord {
  std::string kind;
  std::string agentId;
  bool killRequested = false;
  std::vector<Delivery> deliveries;
  std::map<std::string, std::vector<Ack>> acknowledged;  // by uuid, in order
};

bool isReconciliationAnswer(const Delivery& d) {
  return d.uuid.empty() && d.reason == v1::TaskStatus::REASON_RECONCILIATION;
}

// What the checks make of one task's deliveries.
struct Verdict {
  bool heardFromAgent = false;
  std::optional<Delivery> agentTerminal;  // the first one
  std::optional<Delivery> anyTerminal;    // the last terminal delivery of any kind
  std::set<std::string> agentTerminalUuids;
  int masterTerminals = 0;
  bool masterTerminalAfterAgent = false;
  int redeliveries = 0;
  std::vector<std::string> duplicates;  // descriptions

  bool ended() const { return heardFromAgent ? agentTerminal.has_value() : anyTerminal.has_value(); }
};

// `calmSince`: when the cluster had recovered from the chaos (max() before).
Verdict judge(const TaskRecord& task, Clock::time_point calmSince) {
  Verdict v;
  std::map<std::string, std::size_t> firstSeen;  // uuid -> index of its first delivery
  for (std::size_t i = 0; i < task.deliveries.size(); ++i) {
    const Delivery& d = task.deliveries[i];
    const bool terminal = wire::isTerminal(d.state);
    if (terminal) v.anyTerminal = d;
    if (d.uuid.empty()) {
      if (terminal && !isReconciliationAnswer(d)) {
        ++v.masterTerminals;
        if (v.agentTerminal) v.masterTerminalAfterAgent = true;
      }
      continue;
    }
    v.heardFromAgent = true;
    if (terminal) {
      v.agentTerminalUuids.insert(d.uuid);
      if (!v.agentTerminal) v.agentTerminal = d;
    }
    auto seen = firstSeen.find(d.uuid);
    if (seen == firstSeen.end()) {
      firstSeen[d.uuid] = i;
      continue;
    }
    ++v.redeliveries;
    const std::string what = v1::TaskState_Name(d.state) + " " + d.uuid.substr(0, 8);
    for (std::size_t j = seen->second + 1; j < i; ++j) {
      const Delivery& between = task.deliveries[j];
      if (!between.uuid.empty() && between.uuid != d.uuid && firstSeen.at(between.uuid) > seen->second) {
        v.duplicates.push_back(what + " delivered again after the later " + v1::TaskState_Name(between.state));
        break;
      }
    }
    auto acks = task.acknowledged.find(d.uuid);
    if (acks == task.acknowledged.end()) continue;
    const Ack* last = nullptr;  // the latest acknowledgement before this delivery
    for (const Ack& ack : acks->second) {
      if (ack.at < d.at) last = &ack;
    }
    if (last != nullptr && last->at >= calmSince && d.at > last->at + kAckInFlight &&
        d.subscription == last->subscription) {
      v.duplicates.push_back(
          what + " delivered again " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d.at - last->at).count()) +
          " ms after an acknowledgement accepted in the calm");
    }
  }
  return v;
}

// ---- the rules on their own: each check fails where it must ------------------------

class SoakRulesTest : public ::testing::Test {
 protected:
  void deliver(v1::TaskState state, const std::string& uuid, Clock::duration at,
               v1::TaskStatus::Reason reason = v1::TaskStatus::REASON_COMMAND_EXECUTOR_FAILED, int subscription = 1) {
    task_.deliveries.push_back(Delivery{state, uuid, reason, t0_ + at, subscription});
  }
  void acknowledge(const std::string& uuid, Clock::duration at, int subscription = 1) {
    task_.acknowledged[uuid].push_back(Ack{t0_ + at, subscription});
  }
  Verdict judge(Clock::time_point calmSince = Clock::time_point::max()) const {
    return ::mantle::testing::judge(task_, calmSince);
  }

  const Clock::time_point t0_ = Clock::now();
  TaskRecord task_;
};

TEST_F(SoakRulesTest, AnUpdateDeliveredAgainBeforeItsAcknowledgementIsNoDuplicate) {
  deliver(v1::TASK_RUNNING, "a", 0s);
  deliver(v1::TASK_RUNNING, "a", 2s);
  acknowledge("a", 2s);
  deliver(v1::TASK_FINISHED, "b", 3s);
  acknowledge("b", 3s);
  Verdict v = judge();
  EXPECT_EQ(v.redeliveries, 1);
  EXPECT_TRUE(v.duplicates.empty());
  EXPECT_TRUE(v.ended());
}

TEST_F(SoakRulesTest, AnUpdateDeliveredAgainAfterTheNextOneOfItsTaskIsADuplicate) {
  deliver(v1::TASK_RUNNING, "a", 0s);
  deliver(v1::TASK_FINISHED, "b", 1s);
  deliver(v1::TASK_RUNNING, "a", 2s);
  EXPECT_EQ(judge().duplicates.size(), 1u);
}

TEST_F(SoakRulesTest, AnUpdateAcknowledgedInTheCalmAndDeliveredAgainLaterIsADuplicate) {
  deliver(v1::TASK_FINISHED, "a", 0s);
  acknowledge("a", 0s);
  deliver(v1::TASK_FINISHED, "a", 10s);
  EXPECT_EQ(judge(t0_ - 1s).duplicates.size(), 1u);
  // Acknowledged during the chaos: the acknowledgement may have been lost.
  EXPECT_TRUE(judge(t0_ + 1s).duplicates.empty());
  EXPECT_TRUE(judge().duplicates.empty());
}

TEST_F(SoakRulesTest, AnUpdateDeliveredAgainSoonAfterItsAcknowledgementOrAfterAFailoverIsNoDuplicate) {
  deliver(v1::TASK_FINISHED, "a", 0s);
  acknowledge("a", 0s);
  deliver(v1::TASK_FINISHED, "a", 1s);  // a retry that crossed the acknowledgement
  EXPECT_TRUE(judge(t0_ - 1s).duplicates.empty());
  acknowledge("a", 1s);
  deliver(v1::TASK_FINISHED, "a", 10s, v1::TaskStatus::REASON_COMMAND_EXECUTOR_FAILED, 2);  // a new leader
  EXPECT_TRUE(judge(t0_ - 1s).duplicates.empty());
  acknowledge("a", 10s, 2);
  deliver(v1::TASK_FINISHED, "a", 20s, v1::TaskStatus::REASON_COMMAND_EXECUTOR_FAILED, 2);
  EXPECT_EQ(judge(t0_ - 1s).duplicates.size(), 1u);
}

TEST_F(SoakRulesTest, AMasterTerminalStateMayPrecedeTheAgentsButNotFollowIt) {
  deliver(v1::TASK_LOST, "", 0s, v1::TaskStatus::REASON_AGENT_REMOVED);
  deliver(v1::TASK_KILLED, "a", 1s);
  Verdict first = judge();
  EXPECT_FALSE(first.masterTerminalAfterAgent);
  EXPECT_EQ(first.masterTerminals, 1);
  deliver(v1::TASK_LOST, "", 2s, v1::TaskStatus::REASON_AGENT_REMOVED);
  EXPECT_TRUE(judge().masterTerminalAfterAgent);
}

TEST_F(SoakRulesTest, ReconciliationAnswersAreNotUpdatesOfTheTask) {
  deliver(v1::TASK_RUNNING, "a", 0s);
  deliver(v1::TASK_LOST, "", 1s, v1::TaskStatus::REASON_RECONCILIATION);
  Verdict v = judge();
  EXPECT_EQ(v.masterTerminals, 0);
  EXPECT_FALSE(v.ended());  // heard of from the agent: only the agent's terminal update ends it
  deliver(v1::TASK_KILLED, "b", 2s);
  deliver(v1::TASK_LOST, "", 3s, v1::TaskStatus::REASON_RECONCILIATION);
  EXPECT_FALSE(judge().masterTerminalAfterAgent);
}

TEST_F(SoakRulesTest, ATaskNoAgentReportedEndsWithTheMastersAnswer) {
  EXPECT_FALSE(judge().ended());
  deliver(v1::TASK_LOST, "", 0s, v1::TaskStatus::REASON_INVALID_OFFERS);
  EXPECT_TRUE(judge().ended());
}

TEST_F(SoakRulesTest, TwoTerminalUpdatesOfTheAgentAreBothCounted) {
  deliver(v1::TASK_FINISHED, "a", 0s);
  deliver(v1::TASK_FAILED, "b", 1s);
  EXPECT_EQ(judge().agentTerminalUuids.size(), 2u);
}

// "id: STATE/uuid/reason ..." in the order delivered.
std::string history(const std::string& id, const TaskRecord& task) {
  std::string out = id + " (" + task.kind + (task.killRequested ? ", killed" : "") + "):";
  for (const Delivery& d : task.deliveries) {
    out += " " + v1::TaskState_Name(d.state) + "/" + (d.uuid.empty() ? "master" : d.uuid.substr(0, 8)) + "/" +
           v1::TaskStatus::Reason_Name(d.reason);
  }
  return out;
}

// ---- the scheduler ---------------------------------------------------------------

// Launches and kills tasks on the offers it gets; records and acknowledges
// every update. Callbacks run on the client's event thread; drive() on the
// test's thread.
class SoakScheduler {
 public:
  SoakScheduler(const std::string& master, unsigned seed) : rng_(seed) {
    scheduler::SchedulerOptions options;
    options.master = master;
    options.frameworkInfo.set_user("root");
    if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') options.frameworkInfo.set_user(user);
    options.frameworkInfo.set_name("soak");
    options.frameworkInfo.set_checkpoint(true);
    options.frameworkInfo.set_failover_timeout(3600);
    options.reconnect = true;
    options.reconnectDelaySeconds = 0.2;
    options.autoAcknowledge = false;  // acknowledged below, recording when
    scheduler::SchedulerCallbacks callbacks;
    callbacks.subscribed = [this](const v1::scheduler::Event::Subscribed&) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++subscriptions_;
      offers_.clear();  // offers of a previous leader are gone
    };
    callbacks.offers = [this](const std::vector<v1::Offer>& offers) {
      std::lock_guard<std::mutex> lock(mutex_);
      offers_.insert(offers_.end(), offers.begin(), offers.end());
    };
    callbacks.rescind = [this](const v1::OfferID& id) {
      std::lock_guard<std::mutex> lock(mutex_);
      std::erase_if(offers_, [&](const v1::Offer& o) { return o.id().value() == id.value(); });
    };
    callbacks.update = [this](const v1::TaskStatus& status) { onUpdate(status); };
    client_ = std::make_unique<scheduler::Scheduler>(options, callbacks);
  }

  void start() { client_->start(); }
  void stop() { client_->stop(); }

  int subscriptions() {
    std::lock_guard<std::mutex> lock(mutex_);
    return subscriptions_;
  }

  // One round: launch on the offers while fewer than kMaxActiveTasks run,
  // decline the rest, now and then kill a running task.
  void drive(bool launching) {
    std::vector<v1::Offer> offers;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      offers.swap(offers_);
    }
    for (const v1::Offer& offer : offers) {
      if (!launching || active() >= kMaxActiveTasks) {
        (void)client_->decline({offer.id()}, 0.5);
        continue;
      }
      launchOn(offer);
    }
    if (launching && std::uniform_int_distribution<int>(0, 14)(rng_) == 0) killOne();  // about one kill in 1.5 s
    // A launch whose call failed, or whose offer died with its master, is
    // settled by asking.
    if (++rounds_ % 50 == 0) {
      std::vector<std::pair<v1::TaskID, std::optional<v1::AgentID>>> open = unendedTasks(false);
      if (!open.empty()) (void)client_->reconcile(open);  // an empty list would ask about every task
    }
  }

  // Kills every task not yet ended and asks the master about each.
  void finish() {
    std::vector<std::pair<v1::TaskID, std::optional<v1::AgentID>>> open = unendedTasks(true);
    for (const auto& [taskId, agentId] : open) (void)client_->kill(taskId, agentId);
    if (!open.empty()) (void)client_->reconcile(open);
  }

  // Tasks that have not ended by the rules in the header.
  std::vector<std::string> unended() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [id, task] : tasks_) {
      if (!judge(task, Clock::time_point::max()).ended()) out.push_back(id);
    }
    return out;
  }

  std::map<std::string, TaskRecord> tasks() {
    std::lock_guard<std::mutex> lock(mutex_);
    return tasks_;
  }
  int launchCallsFailed() const { return launchCallsFailed_; }
  int killsSent() const { return killsSent_; }
  int acknowledgementsFailed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return acknowledgementsFailed_;
  }

 private:
  // The tasks not yet ended, with the agent they were sent to; marked as
  // killed by the scheduler when `kill`.
  std::vector<std::pair<v1::TaskID, std::optional<v1::AgentID>>> unendedTasks(bool kill) {
    std::vector<std::pair<v1::TaskID, std::optional<v1::AgentID>>> open;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, task] : tasks_) {
      if (judge(task, Clock::time_point::max()).ended()) continue;
      v1::TaskID taskId;
      taskId.set_value(id);
      std::optional<v1::AgentID> agentId;
      if (!task.agentId.empty()) {
        agentId.emplace();
        agentId->set_value(task.agentId);
      }
      open.emplace_back(taskId, agentId);
      if (kill) task.killRequested = true;
    }
    return open;
  }

  int active() {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const auto& [id, task] : tasks_) {
      if (!judge(task, Clock::time_point::max()).ended()) ++n;
    }
    return n;
  }

  void launchOn(const v1::Offer& offer) {
    static const std::vector<std::pair<std::string, std::string>> kinds = {
        {"short", "sleep 0.5"}, {"short", "sleep 2"}, {"failing", "sleep 1; exit 3"}, {"long", "sleep 600"}};
    const auto& [kind, command] = kinds[std::uniform_int_distribution<std::size_t>(0, kinds.size() - 1)(rng_)];
    const std::string id = "soak-" + std::to_string(nextTask_++);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_[id].kind = kind;
      tasks_[id].agentId = offer.agent_id().value();
    }
    Status launched = client_->launch(offer, {scheduler::commandTask(id, offer, command, "cpus:0.1;mem:16")}, 0.5);
    // Its fate is then unknown: the end's reconciliation settles it.
    if (!launched.ok()) ++launchCallsFailed_;
  }

  void killOne() {
    std::vector<std::string> running;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [id, task] : tasks_) {
        if (!task.killRequested && !task.deliveries.empty() && task.deliveries.back().state == v1::TASK_RUNNING) {
          running.push_back(id);
        }
      }
    }
    if (running.empty()) return;
    const std::string id = running[std::uniform_int_distribution<std::size_t>(0, running.size() - 1)(rng_)];
    v1::TaskID taskId;
    taskId.set_value(id);
    v1::AgentID agentId;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_[id].killRequested = true;
      agentId.set_value(tasks_[id].agentId);
    }
    ++killsSent_;
    (void)client_->kill(taskId, agentId);
  }

  void onUpdate(const v1::TaskStatus& status) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      TaskRecord& task = tasks_[status.task_id().value()];
      if (status.has_agent_id() && !status.agent_id().value().empty()) task.agentId = status.agent_id().value();
      task.deliveries.push_back(Delivery{status.state(), status.uuid(), status.reason(), Clock::now(), subscriptions_});
    }
    if (status.uuid().empty()) return;
    Status acked = client_->acknowledge(status);
    std::lock_guard<std::mutex> lock(mutex_);
    if (acked.ok()) {
      tasks_[status.task_id().value()].acknowledged[status.uuid()].push_back(Ack{Clock::now(), subscriptions_});
    } else {
      ++acknowledgementsFailed_;  // the update comes again
    }
  }

  std::mutex mutex_;
  std::mt19937 rng_;
  std::unique_ptr<scheduler::Scheduler> client_;
  std::vector<v1::Offer> offers_;
  std::map<std::string, TaskRecord> tasks_;
  int subscriptions_ = 0;
  int acknowledgementsFailed_ = 0;
  int nextTask_ = 0;
  int rounds_ = 0;
  std::atomic<int> launchCallsFailed_{0};
  std::atomic<int> killsSent_{0};
};

// ---- processes -------------------------------------------------------------------

// Processes of `binary` whose working directory lies under `root`.
std::vector<pid_t> processesUnder(const fs::path& root, const std::string& binaryPath = "") {
  std::vector<pid_t> out;
  std::error_code error;
  const std::string prefix = fs::weakly_canonical(root, error).string() + "/";
  const std::string wanted = binaryPath.empty() ? "" : fs::weakly_canonical(binaryPath, error).string();
  for (fs::directory_iterator it("/proc", error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::error_code e;
    const std::string cwd = fs::read_symlink(it->path() / "cwd", e).string() + "/";
    if (e || cwd.rfind(prefix, 0) != 0) continue;
    if (!wanted.empty() && fs::read_symlink(it->path() / "exe", e).string() != wanted) continue;
    out.push_back(std::stoi(name));
  }
  return out;
}

std::string describe(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    out += "  " + std::to_string(pid) + ": " + cmdline + "\n";
  }
  return out;
}

// ---- the chaos -------------------------------------------------------------------

enum class Victim { kLeader, kAgent, kExecutor, kZooKeeper };
const char* victimName(Victim v) {
  switch (v) {
    case Victim::kLeader: return "leading master";
    case Victim::kAgent: return "agent";
    case Victim::kExecutor: return "executor";
    case Victim::kZooKeeper: return "zookeeper";
  }
  return "?";
}

// What was killed and restarted, when; printed when the test failed.
class Timeline {
 public:
  void note(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    text_ += "  " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count()) +
             " ms: " + what + "\n";
  }
  std::string text() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 private:
  const Clock::time_point started_ = Clock::now();
  mutable std::mutex mutex_;
  std::string text_;
};

// Kills a random process every few seconds and restarts what is down, on its
// own thread; the only user of the cluster until stop().
class Chaos {
 public:
  Chaos(HaCluster& cluster, Timeline& timeline, unsigned seed, std::chrono::milliseconds meanInterval)
      : cluster_(cluster), rng_(seed), meanInterval_(meanInterval), timeline_(timeline) {}
  // The thread lives as long as this object: ZooKeeper's JVM, started with a
  // parent-death signal, dies with the thread that started it.
  ~Chaos() {
    stop();
    exiting_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void start() {
    killing_ = true;
    thread_ = std::thread([this] { run(); });
  }
  // Stops killing and waits until the thread is idle.
  void stop() {
    killing_ = false;
    while (thread_.joinable() && !idle_) std::this_thread::sleep_for(10ms);
  }

  // Starts whatever is down (ZooKeeper first); errors are collected.
  void restartAll() {
    if (!cluster_.zookeeper().running()) {
      std::string error;
      if (!cluster_.zookeeper().start(&error)) errors_.push_back("ZooKeeper did not come back: " + error);
      note("zookeeper restarted");
    }
    for (int i = 0; i < cluster_.masterCount(); ++i) {
      if (cluster_.masterRunning(i)) continue;
      if (!killedMasters_.count(i)) {
        ++masterSelfExits_;
        note("master " + std::to_string(i) + " had exited on its own");
      }
      killedMasters_.erase(i);
      if (Status s = cluster_.startMaster(i); !s.ok()) errors_.push_back(s.error().message);
      note("master " + std::to_string(i) + " restarted");
    }
    for (int i = 0; i < cluster_.agentCount(); ++i) {
      if (cluster_.agentRunning(i)) continue;
      if (Status s = cluster_.startAgent(i); !s.ok()) errors_.push_back(s.error().message);
      note("agent " + std::to_string(i) + " restarted");
    }
  }

  const std::map<std::string, int>& kills() const { return kills_; }
  int leaderChanges() const { return leaderChanges_; }
  int masterSelfExits() const { return masterSelfExits_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  void run() {
    std::uniform_int_distribution<int> jitter(static_cast<int>(meanInterval_.count() / 2),
                                              static_cast<int>(meanInterval_.count() * 3 / 2));
    while (!exiting_) {
      if (!killing_) {
        idle_ = true;
        std::this_thread::sleep_for(20ms);
        continue;
      }
      const auto until = Clock::now() + std::chrono::milliseconds(jitter(rng_));
      while (killing_ && Clock::now() < until) {
        noteLeader();
        std::this_thread::sleep_for(100ms);
      }
      if (!killing_) continue;
      killOne();
      // A supervisor notices and restarts after a moment.
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(300, 1500)(rng_)));
      restartAll();
    }
  }

  void noteLeader() {
    std::vector<int> elected = cluster_.electedMasters();
    if (elected.size() != 1) return;
    if (elected.front() != lastLeader_) note("master " + std::to_string(elected.front()) + " leads");
    if (lastLeader_ != -1 && elected.front() != lastLeader_) ++leaderChanges_;
    lastLeader_ = elected.front();
  }

  void killOne() {
    std::vector<Victim> choices = {Victim::kLeader, Victim::kAgent, Victim::kExecutor, Victim::kZooKeeper};
    std::shuffle(choices.begin(), choices.end(), rng_);
    for (Victim victim : choices) {
      if (tryKill(victim)) {
        ++kills_[victimName(victim)];
        return;
      }
    }
  }

  bool tryKill(Victim victim) {
    switch (victim) {
      case Victim::kLeader: {
        std::vector<int> elected = cluster_.electedMasters();
        if (elected.size() != 1) return false;
        killedMasters_.insert(elected.front());
        note("kill -9 of master " + std::to_string(elected.front()) + " (leading)");
        cluster_.killMaster(elected.front());
        return true;
      }
      case Victim::kAgent: {
        std::vector<int> running;
        for (int i = 0; i < cluster_.agentCount(); ++i) {
          if (cluster_.agentRunning(i)) running.push_back(i);
        }
        if (running.empty()) return false;
        const int agent = running[std::uniform_int_distribution<std::size_t>(0, running.size() - 1)(rng_)];
        note("kill -9 of agent " + std::to_string(agent));
        cluster_.killAgent(agent);
        return true;
      }
      case Victim::kExecutor: {
        std::vector<pid_t> executors = processesUnder(cluster_.workDir(), binary("mantle-executor"));
        if (executors.empty()) return false;
        const pid_t executor = executors[std::uniform_int_distribution<std::size_t>(0, executors.size() - 1)(rng_)];
        note("kill -9 of executor " + std::to_string(executor));
        ::kill(executor, SIGKILL);
        return true;
      }
      case Victim::kZooKeeper:
        if (!cluster_.zookeeper().running()) return false;
        note("kill -9 of zookeeper");
        cluster_.zookeeper().stop();
        return true;
    }
    return false;
  }

  HaCluster& cluster_;
  std::mt19937 rng_;
  std::chrono::milliseconds meanInterval_;
  std::atomic<bool> killing_{false};
  std::atomic<bool> idle_{false};
  std::atomic<bool> exiting_{false};
  std::thread thread_;
  std::map<std::string, int> kills_;
  std::set<int> killedMasters_;
  int lastLeader_ = -1;
  int leaderChanges_ = 0;
  int masterSelfExits_ = 0;
  std::vector<std::string> errors_;
  Timeline& timeline_;

  void note(const std::string& what) { timeline_.note(what); }
};

// ---- cgroups ---------------------------------------------------------------------

// Whether the agents isolate with cgroups (root, cpu and memory controllers).
bool cgroupsUsable() {
  return isolators::isRoot() && isolators::hierarchyOf("cpu") && isolators::hierarchyOf("memory");
}

// An agent's --modules/--isolation flags for cgroup isolation under `scope`.
std::vector<std::string> cgroupFlags(const isolators::CgroupRootScope& scope) {
  Json::Value config;
  config["root"] = scope.name();
  return {"--modules=" + moduleManifest({isolatorModule("mantle_cgroups", "cgroups/cpu", config),
                                         isolatorModule("mantle_cgroups", "cgroups/mem", config)}),
          "--isolation=cgroups/cpu,cgroups/mem"};
}

std::vector<fs::path> containerCgroups(const std::vector<std::unique_ptr<isolators::CgroupRootScope>>& scopes) {
  std::vector<fs::path> out;
  for (const auto& scope : scopes) {
    for (const char* controller : {"cpu", "memory"}) {
      std::optional<fs::path> root = scope->dir(controller);
      if (!root) continue;
      std::error_code error;
      for (fs::directory_iterator it(*root, error), end; !error && it != end; it.increment(error)) {
        if (it->is_directory(error)) out.push_back(it->path());
      }
    }
  }
  return out;
}

// The last `lines` lines of every master's and agent's log, without the
// ZooKeeper client's chatter; printed when the test failed.
std::string processLogs(const fs::path& workDir, int lines = 60) {
  std::string out;
  std::vector<fs::path> logs;
  std::error_code error;
  for (fs::directory_iterator it(workDir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().extension() == ".log") logs.push_back(it->path());
  }
  std::sort(logs.begin(), logs.end());
  for (const fs::path& log : logs) {
    std::ifstream in(log);
    std::deque<std::string> tail;
    for (std::string line; std::getline(in, line);) {
      if (line.find("zookeeper client:") != std::string::npos) continue;
      tail.push_back(line);
      if (static_cast<int>(tail.size()) > lines) tail.pop_front();
    }
    out += "== " + log.filename().string() + "\n";
    for (const std::string& line : tail) out += line + "\n";
  }
  return out;
}

// The server's warnings and errors, without stack traces and the noise of
// refused connections.
std::string zooKeeperLog(const std::string& log, int lines = 80) {
  std::istringstream in(log);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("\tat ", 0) == 0 || line.find("Close of session 0x0") != std::string::npos ||
        line.find("ZooKeeperServer not running") != std::string::npos) {
      continue;
    }
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& line : tail) out += line + "\n";
  return out;
}

// ---- the test --------------------------------------------------------------------

TEST(SoakTest, UnderRandomKillsEveryTaskEndsOnceNoUpdateIsLostOrDuplicatedAndNothingIsLeftBehind) {
  if (!ZooKeeperServer::available()) GTEST_SKIP() << "ZooKeeper (and a JRE) is not installed";
  const int seconds = envInt("MANTLE_SOAK_SECONDS", 60);
  const unsigned seed = static_cast<unsigned>(envInt("MANTLE_SOAK_SEED", static_cast<int>(std::random_device{}())));
  const auto killInterval = std::chrono::milliseconds(envInt("MANTLE_SOAK_KILL_MS", 3000));
  std::cout << "soak: " << seconds << " s of chaos, a kill every ~" << killInterval.count() << " ms, seed " << seed
            << " (MANTLE_SOAK_SEED)" << std::endl;

  // Declared first: removed last, after every process is gone. One root per
  // agent: an agent destroys the containers it finds under its root and
  // does not know as orphans when it recovers.
  std::vector<std::unique_ptr<isolators::CgroupRootScope>> cgroupScopes;
  HaClusterOptions options;
  options.masters = 2;
  options.agents = 3;
  options.agentFlags = {"--status_update_retry_interval=2secs", "--executor_reregistration_timeout=10secs",
                        "--recovery_timeout=1mins", "--executor_shutdown_grace_period=1secs"};
  if (cgroupsUsable()) {
    for (int i = 0; i < options.agents; ++i) {
      cgroupScopes.push_back(std::make_unique<isolators::CgroupRootScope>());
      options.agentFlagsByIndex.push_back(cgroupFlags(*cgroupScopes.back()));
    }
  }
  std::cout << "soak: isolation "
            << (cgroupScopes.empty() ? "posix (cgroups not checked)" : "cgroups/cpu,cgroups/mem, a root per agent")
            << std::endl;
  HaCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  Timeline timeline;
  struct DumpOnFailure {
    HaCluster& cluster;
    Timeline& timeline;
    ~DumpOnFailure() {
      if (!::testing::Test::HasFailure()) return;
      // MANTLE_SOAK_LOG_DIR keeps the whole logs of a failed run.
      if (const char* keep = std::getenv("MANTLE_SOAK_LOG_DIR"); keep != nullptr && *keep != '\0') {
        std::error_code error;
        fs::create_directories(keep, error);
        for (fs::directory_iterator it(cluster.workDir(), error), end; !error && it != end; it.increment(error)) {
          if (it->path().extension() == ".log") {
            fs::copy_file(it->path(), fs::path(keep) / it->path().filename(), fs::copy_options::overwrite_existing,
                          error);
          }
        }
        std::cerr << "soak: logs kept in " << keep << "\n";
      }
      std::cerr << "---- soak timeline ----\n"
                << timeline.text() << "---- soak logs ----\n"
                << processLogs(cluster.workDir()) << "---- zookeeper ----\n"
                << zooKeeperLog(cluster.zookeeper().log()) << "\n";
    }
  } dump{cluster, timeline};

  SoakScheduler framework(cluster.zkUrl(), seed);
  framework.start();
  ASSERT_TRUE(waitUntil([&] { return framework.subscriptions() > 0; }, 30s)) << cluster.logs();

  Chaos chaos(cluster, timeline, seed + 1, killInterval);
  chaos.start();
  const auto chaosEnd = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < chaosEnd) {
    framework.drive(true);
    std::this_thread::sleep_for(100ms);
  }
  chaos.stop();

  // Recovery: everything up, one leader, three agents; then every task ends.
  chaos.restartAll();
  EXPECT_TRUE(chaos.errors().empty()) << ::testing::PrintToString(chaos.errors());
  ASSERT_TRUE(cluster.waitForLeader(60s).ok()) << cluster.logs();
  ASSERT_TRUE(cluster.waitForAgents(cluster.agentCount(), 60s).ok()) << cluster.logs();
  const Clock::time_point calmSince = Clock::now();
  const auto settleBy = Clock::now() + 60s;
  while (Clock::now() < settleBy && !framework.unended().empty()) {
    framework.drive(false);
    framework.finish();
    for (int i = 0; i < 30 && !framework.unended().empty(); ++i) {
      framework.drive(false);
      std::this_thread::sleep_for(100ms);
    }
  }
  // Late redeliveries and duplicates have a moment to show.
  std::this_thread::sleep_for(5s);
  const std::vector<std::string> unended = framework.unended();

  // Executors end once their tasks have; containers are then destroyed.
  const std::string executorBinary = binary("mantle-executor");
  waitUntil([&] { return processesUnder(cluster.workDir()).empty() && containerCgroups(cgroupScopes).empty(); }, 30s);
  const std::vector<pid_t> leftoverProcesses = processesUnder(cluster.workDir());
  const std::vector<pid_t> leftoverExecutors = processesUnder(cluster.workDir(), executorBinary);
  const std::vector<fs::path> leftoverCgroups = containerCgroups(cgroupScopes);

  // The leader's view: no task of the framework that has not ended.
  std::vector<std::string> masterOpen;
  Result<int> leader = cluster.waitForLeader(10s);
  std::optional<Json::Value> state = leader.ok() ? getJson(cluster.masterUrl(*leader) + "/master/state") : std::nullopt;
  EXPECT_TRUE(state.has_value()) << "no /master/state from the leader";
  if (state) {
    for (const Json::Value& fw : (*state)["frameworks"]) {
      for (const Json::Value& task : fw["tasks"]) {
        v1::TaskState taskState = v1::TASK_STAGING;
        v1::TaskState_Parse(task["state"].asString(), &taskState);
        if (!wire::isTerminal(taskState)) masterOpen.push_back(task["id"].asString() + " " + task["state"].asString());
      }
    }
  }
  framework.stop();

  // ---- judgement and counts ----
  const std::map<std::string, TaskRecord> tasks = framework.tasks();
  std::map<std::string, int> terminalByState;
  std::map<std::string, int> launchedByKind;
  std::map<std::string, int> otherEnds;   // kind, state, reason: the chaos's doing
  std::vector<std::string> oddHistories;  // of tasks that did not end by their command or an executor's death
  int killRequested = 0, redeliveries = 0, masterFirst = 0, fromAgent = 0;
  std::vector<std::string> duplicates, lost, twoTerminals, masterAfterAgent;
  for (const auto& [id, task] : tasks) {
    Verdict v = judge(task, calmSince);
    ++launchedByKind[task.kind];
    if (task.killRequested) ++killRequested;
    redeliveries += v.redeliveries;
    for (const std::string& d : v.duplicates) duplicates.push_back(id + ": " + d);
    if (v.heardFromAgent) ++fromAgent;
    if (v.agentTerminalUuids.size() > 1) twoTerminals.push_back(id);
    if (v.masterTerminalAfterAgent) masterAfterAgent.push_back(id);
    if (v.agentTerminal && v.masterTerminals > 0) ++masterFirst;
    if (!v.ended()) {
      lost.push_back(id + (v.heardFromAgent ? " (no terminal update from its agent)" : " (never ended)"));
    } else {
      const Delivery& last = v.agentTerminal ? *v.agentTerminal : *v.anyTerminal;
      ++terminalByState[v1::TaskState_Name(last.state) + (last.uuid.empty() ? " (master)" : "")];
      // What the command alone would have ended with, unless killed.
      const v1::TaskState natural = task.kind == "short"     ? v1::TASK_FINISHED
                                    : task.kind == "failing" ? v1::TASK_FAILED
                                                             : v1::TASK_KILLED;
      if (last.state != natural && !(task.killRequested && last.state == v1::TASK_KILLED)) {
        ++otherEnds[task.kind + " " + v1::TaskState_Name(last.state) + " (" + v1::TaskStatus::Reason_Name(last.reason) +
                    ")"];
        if (last.reason != v1::TaskStatus::REASON_EXECUTOR_TERMINATED && oddHistories.size() < 5) {
          oddHistories.push_back(history(id, task));
        }
      }
    }
  }
  std::ostringstream report;
  report << "soak counts (seed " << seed << "):\n";
  report << "  tasks launched: " << tasks.size() << " (";
  for (const auto& [kind, n] : launchedByKind) report << kind << " " << n << ", ";
  report << "launch calls failed " << framework.launchCallsFailed() << "), heard of from an agent: " << fromAgent
         << "\n";
  report << "  killed by the scheduler: " << killRequested << " (" << framework.killsSent()
         << " during the chaos, the rest at the end)\n";
  report << "  terminal by state:";
  for (const auto& [name, n] : terminalByState) report << " " << name << "=" << n;
  report << "\n  ended otherwise than their command would:";
  for (const auto& [what, n] : otherEnds) report << "\n    " << what << ": " << n;
  for (const std::string& h : oddHistories) report << "\n    " << h;
  report << "\n  kills by victim:";
  for (const auto& [name, n] : chaos.kills()) report << " " << name << "=" << n;
  report << "\n  leader changes seen: " << chaos.leaderChanges()
         << ", scheduler subscriptions: " << framework.subscriptions()
         << ", masters that exited on their own: " << chaos.masterSelfExits() << "\n";
  report << "  redeliveries (same uuid, allowed): " << redeliveries
         << ", acknowledgements refused: " << framework.acknowledgementsFailed()
         << ", master terminal before the agent's: " << masterFirst << "\n";
  report << "  duplicates: " << duplicates.size() << ", lost: " << lost.size()
         << ", two agent terminals: " << twoTerminals.size()
         << ", master terminal after the agent's: " << masterAfterAgent.size() << "\n";
  report << "  leftover processes: " << leftoverProcesses.size() << " (executors " << leftoverExecutors.size()
         << "), leftover cgroups: " << leftoverCgroups.size() << ", open at the master: " << masterOpen.size() << "\n";
  std::cout << report.str() << std::flush;

  EXPECT_GT(tasks.size(), 0u);
  EXPECT_GT(fromAgent, 0);
  EXPECT_TRUE(unended.empty()) << ::testing::PrintToString(unended);
  EXPECT_TRUE(lost.empty()) << ::testing::PrintToString(lost);
  EXPECT_TRUE(duplicates.empty()) << ::testing::PrintToString(duplicates);
  EXPECT_TRUE(twoTerminals.empty()) << ::testing::PrintToString(twoTerminals);
  EXPECT_TRUE(masterAfterAgent.empty()) << ::testing::PrintToString(masterAfterAgent);
  EXPECT_TRUE(leftoverProcesses.empty()) << describe(leftoverProcesses);
  EXPECT_TRUE(leftoverCgroups.empty()) << ::testing::PrintToString(leftoverCgroups);
  EXPECT_TRUE(masterOpen.empty()) << ::testing::PrintToString(masterOpen);
}

}  // namespace
}  // namespace mantle::testing
