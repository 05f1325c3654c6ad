// mantle-master, mantle-agent and mantle-executor as real processes
// (LocalCluster), driven by a minimal v1 HTTP scheduler written here: a task
// runs to TASK_FINISHED, a task survives kill -9 of its agent, keeps its pid,
// and its TASK_FINISHED reaches the scheduler exactly once, and an agent
// restarted with --recover=cleanup kills its task, which the scheduler then
// sees TASK_LOST once.
#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <json/reader.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "../../core/agent/agent_fixture.hpp"
#include "cluster.hpp"
#include "http/client.hpp"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "wire/recordio.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;
namespace sched = mesos::v1::scheduler;

// A v1 HTTP scheduler (protobuf): subscribes, launches a task on the first
// offer, acknowledges every update.
class Scheduler {
 public:
  explicit Scheduler(std::string master) : master_(std::move(master)) {}
  ~Scheduler() {
    *cancel_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void subscribe() {
    sched::Call call;
    call.set_type(sched::Call::SUBSCRIBE);
    auto* info = call.mutable_subscribe()->mutable_framework_info();
    info->set_user("root");
    info->set_name("agent e2e");
    info->set_checkpoint(true);
    thread_ = std::thread([this, body = call.SerializeAsString()] {
      wire::RecordDecoder decoder;
      http::StreamCallbacks callbacks;
      callbacks.onHead = [this](const http::ClientResponse& head) {
        std::lock_guard<std::mutex> lock(mutex_);
        streamId_ = head.header("Mesos-Stream-Id");
        return head.status == 200;
      };
      callbacks.onData = [&](std::string_view data) {
        std::vector<std::string> records;
        (void)decoder.feed(data, &records);
        for (const auto& record : records) {
          sched::Event event;
          if (!event.ParseFromString(record)) continue;
          if (event.type() == sched::Event::UPDATE && event.update().status().has_uuid())
            acknowledge(event.update().status());
          std::lock_guard<std::mutex> lock(mutex_);
          if (event.type() == sched::Event::SUBSCRIBED) frameworkId_ = event.subscribed().framework_id().value();
          events_.push_back(event);
          changed_.notify_all();
        }
        return true;
      };
      (void)http::stream("POST", master_ + "/api/v1/scheduler",
                         {{"Content-Type", "application/x-protobuf"}, {"Accept", "application/x-protobuf"}}, body,
                         callbacks, cancel_);
    });
  }

  // Waits for an offer and launches `command` as task `taskId` on it
  // (`adjust` may change the TaskInfo first).
  bool launch(const std::string& taskId, const std::string& command,
              const std::function<void(mesos::v1::TaskInfo&)>& adjust = {}) {
    mesos::v1::Offer offer;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!changed_.wait_for(lock, 30s, [&] {
            for (const auto& event : events_) {
              if (event.type() == sched::Event::OFFERS && event.offers().offers_size() > 0) {
                offer = event.offers().offers(0);
                return true;
              }
            }
            return false;
          })) {
        return false;
      }
    }
    sched::Call call = base(sched::Call::ACCEPT);
    *call.mutable_accept()->add_offer_ids() = offer.id();
    auto* operation = call.mutable_accept()->add_operations();
    operation->set_type(mesos::v1::Offer::Operation::LAUNCH);
    mesos::v1::TaskInfo task = commandTask(taskId, command, offer.agent_id().value());
    if (adjust) adjust(task);
    *operation->mutable_launch()->add_task_infos() = std::move(task);
    return post(call);
  }

  // The distinct updates of `taskId` received so far.
  std::vector<mesos::v1::TaskStatus> updates(const std::string& taskId) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<mesos::v1::TaskStatus> out;
    for (const auto& event : events_) {
      if (event.type() == sched::Event::UPDATE && event.update().status().task_id().value() == taskId) {
        out.push_back(event.update().status());
      }
    }
    return out;
  }

  bool waitFor(const std::string& taskId, mesos::v1::TaskState state, std::chrono::milliseconds timeout) {
    return waitUntil(
        [&] {
          for (const auto& status : updates(taskId)) {
            if (status.state() == state) return true;
          }
          return false;
        },
        timeout);
  }

 private:
  sched::Call base(sched::Call::Type type) {
    sched::Call call;
    call.set_type(type);
    std::lock_guard<std::mutex> lock(mutex_);
    call.mutable_framework_id()->set_value(frameworkId_);
    return call;
  }

  bool post(const sched::Call& call) {
    std::string streamId;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      streamId = streamId_;
    }
    auto response = http::request("POST", master_ + "/api/v1/scheduler",
                                  {{"Content-Type", "application/x-protobuf"}, {"Mesos-Stream-Id", streamId}},
                                  call.SerializeAsString());
    return response.ok() && response->status == 202;
  }

  void acknowledge(const mesos::v1::TaskStatus& status) {
    sched::Call call = base(sched::Call::ACKNOWLEDGE);
    *call.mutable_acknowledge()->mutable_agent_id() = status.agent_id();
    *call.mutable_acknowledge()->mutable_task_id() = status.task_id();
    call.mutable_acknowledge()->set_uuid(status.uuid());
    std::thread([this, call] { post(call); }).detach();
  }

  std::string master_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string streamId_;
  std::string frameworkId_;
  std::vector<sched::Event> events_;
};

class AgentEndToEnd : public ::testing::Test {
 protected:
  void TearDown() override {
    scheduler_.reset();
    cluster_.reset();
    killSessionsUnder(dir_.path());
  }

  // A cluster whose master has `reregisterTimeout`, with `taskId` running
  // `command`.
  void startWithRunningTask(const std::string& reregisterTimeout, const std::string& taskId,
                            const std::string& command) {
    ClusterOptions options;
    options.masterFlags = {"--agent_reregister_timeout=" + reregisterTimeout};
    options.agentFlags = {"--executor_shutdown_grace_period=1secs"};
    cluster_ = std::make_unique<LocalCluster>(options);
    ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
    scheduler_ = std::make_unique<Scheduler>(cluster_->masterUrl());
    scheduler_->subscribe();
    ASSERT_TRUE(scheduler_->launch(taskId, command));
    ASSERT_TRUE(scheduler_->waitFor(taskId, mesos::v1::TASK_RUNNING, 60s)) << cluster_->logs();
  }

  // kill -9 of the agent, then the same agent once with --recover=cleanup,
  // which must exit 0.
  void killAgentAndCleanUp() {
    ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
    std::vector<std::string> args = cluster_->agentArgs(0);
    args.push_back("--recover=cleanup");
    ChildProcess cleanup(args, dir_.path() / "cleanup.log");
    const int status = cleanup.wait(30s);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << cleanup.output();
  }

  // The terminal updates `taskId` got.
  std::vector<mesos::v1::TaskStatus> terminalUpdates(const std::string& taskId) {
    std::vector<mesos::v1::TaskStatus> terminal;
    for (const auto& update : scheduler_->updates(taskId)) {
      if (wire::isTerminal(update.state())) terminal.push_back(update);
    }
    return terminal;
  }

  TempDir dir_;  // where the tasks write; their sessions are reaped from here
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(AgentEndToEnd, TaskRunsToFinishedThroughTheMaster) {
  cluster_ = std::make_unique<LocalCluster>();
  ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
  scheduler_ = std::make_unique<Scheduler>(cluster_->masterUrl());
  scheduler_->subscribe();
  ASSERT_TRUE(scheduler_->launch("e2e-hello", "cd " + dir_.path().string() + " && echo hello"));
  EXPECT_TRUE(scheduler_->waitFor("e2e-hello", mesos::v1::TASK_FINISHED, 60s)) << cluster_->logs();
  std::vector<mesos::v1::TaskState> seen;
  for (const auto& status : scheduler_->updates("e2e-hello")) seen.push_back(status.state());
  EXPECT_EQ(seen, (std::vector<mesos::v1::TaskState>{mesos::v1::TASK_STARTING, mesos::v1::TASK_RUNNING,
                                                     mesos::v1::TASK_FINISHED}));
}

TEST_F(AgentEndToEnd, TaskSurvivesAgentKillNineAndFinishesOnce) {
  cluster_ = std::make_unique<LocalCluster>();
  ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
  scheduler_ = std::make_unique<Scheduler>(cluster_->masterUrl());
  scheduler_->subscribe();
  const auto marker = dir_.path() / "release";
  const auto pidFile = dir_.path() / "pid";
  ASSERT_TRUE(scheduler_->launch("e2e-survivor", "cd " + dir_.path().string() + " && echo $$ > " + pidFile.string() +
                                                     " && while [ ! -e " + marker.string() + " ]; do sleep 0.1; done"));
  ASSERT_TRUE(scheduler_->waitFor("e2e-survivor", mesos::v1::TASK_RUNNING, 60s)) << cluster_->logs();
  ASSERT_TRUE(
      waitUntil([&] { return std::filesystem::exists(pidFile) && std::filesystem::file_size(pidFile) > 0; }, 10s));
  pid_t pid = 0;
  std::ifstream(pidFile) >> pid;
  ASSERT_GT(pid, 0);
  // Lines of the agent's log (kept across restarts) saying the executor subscribed.
  auto subscriptions = [&] {
    std::istringstream log(cluster_->agent(0).output());
    int count = 0;
    for (std::string line; std::getline(log, line);) {
      count += line.find("Executor e2e-survivor of framework") != std::string::npos &&
               line.find(" subscribed") != std::string::npos;
    }
    return count;
  };
  const int before = subscriptions();
  ASSERT_TRUE(cluster_->restartAgent(0, /*kill9=*/true).ok()) << cluster_->logs();
  EXPECT_EQ(::kill(pid, 0), 0);
  // The task ends once its executor has subscribed to the new agent.
  ASSERT_TRUE(waitUntil([&] { return subscriptions() > before; }, 60s)) << cluster_->logs();
  std::ofstream(marker) << "go";
  ASSERT_TRUE(scheduler_->waitFor("e2e-survivor", mesos::v1::TASK_FINISHED, 60s)) << cluster_->logs();
  std::this_thread::sleep_for(1s);
  int finished = 0;
  for (const auto& status : scheduler_->updates("e2e-survivor")) finished += status.state() == mesos::v1::TASK_FINISHED;
  EXPECT_EQ(finished, 1);
}

TEST_F(AgentEndToEnd, RecoverCleanupKillsTheTaskAndTheSchedulerSeesItLostOnce) {
  const auto pidFile = dir_.path() / "pid";
  ASSERT_NO_FATAL_FAILURE(startWithRunningTask(
      "2secs", "e2e-old", "cd " + dir_.path().string() + " && echo $$ > " + pidFile.string() + " && exec sleep 100"));
  ASSERT_TRUE(
      waitUntil([&] { return std::filesystem::exists(pidFile) && std::filesystem::file_size(pidFile) > 0; }, 10s));
  pid_t pid = 0;
  std::ifstream(pidFile) >> pid;
  ASSERT_GT(pid, 0);

  ASSERT_NO_FATAL_FAILURE(killAgentAndCleanUp());
  EXPECT_TRUE(waitUntil([&] { return ::kill(pid, 0) != 0; }, 10s)) << "the task outlived --recover=cleanup";

  // The master gives the old agent up and its task ends, once.
  ASSERT_TRUE(scheduler_->waitFor("e2e-old", mesos::v1::TASK_LOST, 30s)) << cluster_->logs();
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(terminalUpdates("e2e-old").size(), 1u);
}

// Mesos' rule: a new agent registering from the address of a disconnected
// one replaced it; the master removes the old agent at once (not after a
// long --agent_reregister_timeout) and its task is lost once, saying why.
TEST_F(AgentEndToEnd, NewAgentAtTheAddressOfADisconnectedOneReplacesIt) {
  ASSERT_NO_FATAL_FAILURE(startWithRunningTask("10mins", "e2e-replaced", "exec sleep 100"));
  ASSERT_NO_FATAL_FAILURE(killAgentAndCleanUp());
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();

  ASSERT_TRUE(scheduler_->waitFor("e2e-replaced", mesos::v1::TASK_LOST, 30s)) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();
  std::this_thread::sleep_for(1s);
  const std::vector<mesos::v1::TaskStatus> terminal = terminalUpdates("e2e-replaced");
  EXPECT_EQ(terminal.size(), 1u);
  for (const mesos::v1::TaskStatus& update : terminal) {
    EXPECT_EQ(update.reason(), mesos::v1::TaskStatus::REASON_AGENT_REMOVED);
    EXPECT_NE(update.message().find("replaced by a new agent registering at the same address"), std::string::npos)
        << update.message();
  }
  auto slaves = http::request("GET", cluster_->masterUrl() + "/master/slaves", {}, "");
  ASSERT_TRUE(slaves.ok());
  Json::Value root;
  std::istringstream in(slaves->body);
  ASSERT_TRUE(Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) << slaves->body;
  EXPECT_EQ(root["slaves"].size(), 1u) << "the replaced agent is still listed: " << slaves->body;
}

// DRAIN_AGENT's max_grace_period travels from the operator API through the
// master to the agent, which kills a task ignoring SIGTERM within it although
// the task's own kill policy allows ten minutes.
TEST_F(AgentEndToEnd, DrainAgentWithAMaxGracePeriodKillsATaskIgnoringSigtermWithinIt) {
  cluster_ = std::make_unique<LocalCluster>();
  ASSERT_TRUE(cluster_->start().ok()) << cluster_->logs();
  scheduler_ = std::make_unique<Scheduler>(cluster_->masterUrl());
  scheduler_->subscribe();
  ASSERT_TRUE(scheduler_->launch("e2e-stubborn", "trap '' TERM; sleep 600", [](mesos::v1::TaskInfo& task) {
    task.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(600LL * 1000000000);
  }));
  ASSERT_TRUE(scheduler_->waitFor("e2e-stubborn", mesos::v1::TASK_RUNNING, 60s)) << cluster_->logs();
  std::this_thread::sleep_for(500ms);  // the shell has set its trap
  const std::string agentId = scheduler_->updates("e2e-stubborn").front().agent_id().value();
  const auto start = std::chrono::steady_clock::now();
  auto drained = http::request("POST", cluster_->masterUrl() + "/api/v1", {{"Content-Type", "application/json"}},
                               R"({"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":")" + agentId +
                                   R"("},"max_grace_period":{"seconds":1}}})");
  ASSERT_TRUE(drained.ok());
  ASSERT_EQ(drained->status, 200) << drained->body;
  ASSERT_TRUE(scheduler_->waitFor("e2e-stubborn", mesos::v1::TASK_KILLED, 30s)) << cluster_->logs();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

}  // namespace
}  // namespace mantle::testing
