// The v0 executor protocol of mantle-agent (core/agent/v0_executor.*) with
// the real thing: Mesos' own libmesos executors (test-executor,
// balloon-executor from ../shared/mesos-reference) launched as custom
// executors by a real agent against a protocol-level master peer. They
// register, run their tasks, have their updates acknowledged, get kills,
// framework messages and shutdowns, reregister after kill -9 of the agent,
// and fail their task when they die. Skipped where the reference build is absent. The translation of
// events into v0 messages is checked on its own too.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "agent/v0_executor.hpp"
#include "agent_fixture.hpp"
#include "cluster.hpp"
#include "libprocess/libprocess.hpp"
#include "mesos/internal/messages.pb.h"
#include "mesos_peer.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using ExecutorEvent = mesos::v1::executor::Event;

// ---------------------------------------------------------------- translation

agent::v0::ExecutorContext context() {
  agent::v0::ExecutorContext context;
  context.agent.set_hostname("host");
  context.agent.mutable_id()->set_value("agent-1");
  context.framework = testFramework("framework-1");
  context.executor.mutable_executor_id()->set_value("executor-1");
  context.executor.mutable_command()->set_value("/bin/executor");
  return context;
}

TEST(V0ExecutorMessages, SubscribedIsARegistrationOrAReregistration) {
  ExecutorEvent event;
  event.set_type(ExecutorEvent::SUBSCRIBED);
  auto registered = agent::v0::messageFor(event, context());
  ASSERT_NE(registered, nullptr);
  ASSERT_EQ(registered->GetTypeName(), "mesos.internal.ExecutorRegisteredMessage");
  const auto& first = static_cast<const mesos::internal::ExecutorRegisteredMessage&>(*registered);
  EXPECT_EQ(first.executor_info().executor_id().value(), "executor-1");
  EXPECT_EQ(first.framework_id().value(), "framework-1");
  EXPECT_EQ(first.framework_info().name(), "agent test framework");
  EXPECT_EQ(first.slave_id().value(), "agent-1");
  EXPECT_EQ(first.slave_info().hostname(), "host");

  agent::v0::ExecutorContext again = context();
  again.reregistered = true;
  auto reregistered = agent::v0::messageFor(event, again);
  ASSERT_NE(reregistered, nullptr);
  ASSERT_EQ(reregistered->GetTypeName(), "mesos.internal.ExecutorReregisteredMessage");
  EXPECT_EQ(static_cast<const mesos::internal::ExecutorReregisteredMessage&>(*reregistered).slave_id().value(),
            "agent-1");
}

TEST(V0ExecutorMessages, AcknowledgementNamesTheAgentFrameworkTaskAndUuid) {
  ExecutorEvent event;
  event.set_type(ExecutorEvent::ACKNOWLEDGED);
  event.mutable_acknowledged()->mutable_task_id()->set_value("task-1");
  event.mutable_acknowledged()->set_uuid(std::string(16, 'u'));
  auto message = agent::v0::messageFor(event, context());
  ASSERT_NE(message, nullptr);
  ASSERT_EQ(message->GetTypeName(), "mesos.internal.StatusUpdateAcknowledgementMessage");
  const auto& ack = static_cast<const mesos::internal::StatusUpdateAcknowledgementMessage&>(*message);
  EXPECT_EQ(ack.slave_id().value(), "agent-1");
  EXPECT_EQ(ack.framework_id().value(), "framework-1");
  EXPECT_EQ(ack.task_id().value(), "task-1");
  EXPECT_EQ(ack.uuid(), std::string(16, 'u'));
}

TEST(V0ExecutorMessages, LaunchKillMessageAndShutdownBecomeTheirV0Messages) {
  ExecutorEvent launch;
  launch.set_type(ExecutorEvent::LAUNCH);
  *launch.mutable_launch()->mutable_task() = commandTask("task-1", "true", "agent-1");
  auto run = agent::v0::messageFor(launch, context());
  ASSERT_EQ(run->GetTypeName(), "mesos.internal.RunTaskMessage");
  EXPECT_EQ(static_cast<const mesos::internal::RunTaskMessage&>(*run).task().task_id().value(), "task-1");
  EXPECT_EQ(static_cast<const mesos::internal::RunTaskMessage&>(*run).framework().id().value(), "framework-1");

  ExecutorEvent kill;
  kill.set_type(ExecutorEvent::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("task-1");
  kill.mutable_kill()->mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(3);
  auto killTask = agent::v0::messageFor(kill, context());
  ASSERT_EQ(killTask->GetTypeName(), "mesos.internal.KillTaskMessage");
  EXPECT_EQ(static_cast<const mesos::internal::KillTaskMessage&>(*killTask).kill_policy().grace_period().nanoseconds(),
            3);

  ExecutorEvent data;
  data.set_type(ExecutorEvent::MESSAGE);
  data.mutable_message()->set_data("hello");
  auto toExecutor = agent::v0::messageFor(data, context());
  ASSERT_EQ(toExecutor->GetTypeName(), "mesos.internal.FrameworkToExecutorMessage");
  EXPECT_EQ(static_cast<const mesos::internal::FrameworkToExecutorMessage&>(*toExecutor).data(), "hello");
  EXPECT_EQ(static_cast<const mesos::internal::FrameworkToExecutorMessage&>(*toExecutor).executor_id().value(),
            "executor-1");

  ExecutorEvent shutdown;
  shutdown.set_type(ExecutorEvent::SHUTDOWN);
  EXPECT_EQ(agent::v0::messageFor(shutdown, context())->GetTypeName(), "mesos.internal.ShutdownExecutorMessage");

  ExecutorEvent heartbeat;
  heartbeat.set_type(ExecutorEvent::HEARTBEAT);
  EXPECT_EQ(agent::v0::messageFor(heartbeat, context()), nullptr);
}

// ---------------------------------------------------------------- real executors

fs::path mesosReference() {
  return MesosPeer::home();
}

class V0ExecutorTest : public AgentTest {
 protected:
  void SetUp() override {
    if (!fs::exists(mesosReference() / "bin" / "test-executor")) {
      GTEST_SKIP() << "no Mesos reference build at " << mesosReference();
    }
    AgentTest::SetUp();
  }

  // A task for the libmesos executor `program` (a file of the reference
  // build's bin/) with executor id `executorId`; `data` is its TaskInfo.data.
  mesos::v1::TaskInfo v0Task(const std::string& taskId, const std::string& executorId, const std::string& program,
                             const std::string& data = "") {
    mesos::v1::TaskInfo task = commandTask(taskId, "", peer_.agentId());
    task.clear_command();
    task.set_data(data);
    mesos::v1::ExecutorInfo* executor = task.mutable_executor();
    executor->mutable_executor_id()->set_value(executorId);
    executor->mutable_framework_id()->set_value("framework-1");
    executor->set_name("v0 " + program);
    mesos::v1::CommandInfo* command = executor->mutable_command();
    command->set_shell(false);
    command->set_value((mesosReference() / "bin" / program).string());
    command->add_arguments(program);
    auto* verbose = command->mutable_environment()->add_variables();
    verbose->set_name("GLOG_v");
    verbose->set_value("1");
    return task;
  }

  std::string sandboxFile(const std::string& executorId, const std::string& name) {
    return testing::sandboxFile(dir_.path() / "agent", executorId, name);
  }

  // Whether the executor's sandbox file `name` (stderr unless said) comes to
  // hold `text` (the agent copies the executor's output there as it comes).
  bool sandboxSays(const std::string& executorId, const std::string& text, std::chrono::milliseconds timeout,
                   const std::string& name = "stderr") {
    return waitUntil([&] { return sandboxFile(executorId, name).find(text) != std::string::npos; }, timeout);
  }

  std::string states(const std::string& taskId) {
    std::string out;
    for (const auto& update : peer_.distinctUpdates(taskId)) {
      out += mesos::v1::TaskState_Name(update.status().state()) + " ";
    }
    return out;
  }
};

TEST_F(V0ExecutorTest, TestExecutorRegistersRunsQueuedTasksAndItsUpdatesAreAcknowledged) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  // The second task arrives while the executor is still registering: it is
  // queued and given to it after its registration.
  ASSERT_TRUE(peer_.runTask(testFramework(), v0Task("v0-first", "v0-test", "test-executor")));
  ASSERT_TRUE(peer_.runTask(testFramework(), v0Task("v0-second", "v0-test", "test-executor")));
  for (const std::string task : {"v0-first", "v0-second"}) {
    auto finished = peer_.waitForUpdate(task, mesos::v1::TASK_FINISHED, 30s);
    ASSERT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << states(task) << agent_->output();
    EXPECT_EQ(finished.status().source(), mesos::v1::TaskStatus::SOURCE_EXECUTOR);
    EXPECT_EQ(finished.executor_id().value(), "v0-test");
    EXPECT_EQ(states(task), "TASK_RUNNING TASK_FINISHED ");
  }
  // What the driver saw: its registration, both tasks, and an
  // acknowledgement for each of its four updates.
  for (const std::string said : {"Registered executor on", "Starting task v0-first", "Starting task v0-second"}) {
    EXPECT_TRUE(sandboxSays("v0-test", said, 10s, "stdout")) << said << " in\n" << sandboxFile("v0-test", "stdout");
  }
  ASSERT_TRUE(waitUntil(
      [&] {
        const std::string log = sandboxFile("v0-test", "stderr");
        std::size_t count = 0;
        for (std::size_t at = log.find("received status update acknowledgement"); at != std::string::npos;
             at = log.find("received status update acknowledgement", at + 1)) {
          ++count;
        }
        return count == 4;
      },
      10s))
      << sandboxFile("v0-test", "stderr");
}

TEST_F(V0ExecutorTest, BalloonExecutorGetsKillsAndFrameworkMessagesAndItsMessagesReachTheMaster) {
  extraFlags_ = {"--executor_shutdown_grace_period=1secs"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), v0Task("v0-balloon", "v0-balloon", "balloon-executor", "640MB")));
  ASSERT_EQ(peer_.waitForUpdate("v0-balloon", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING)
      << agent_->output();

  internal::Event message;
  message.set_type(internal::Event::FRAMEWORK_MESSAGE);
  message.mutable_framework_message()->mutable_framework_id()->set_value("framework-1");
  message.mutable_framework_message()->mutable_executor_id()->set_value("v0-balloon");
  message.mutable_framework_message()->set_data("hello executor");
  ASSERT_TRUE(peer_.send(message));
  EXPECT_TRUE(sandboxSays("v0-balloon", "Framework message: hello executor", 10s))
      << sandboxFile("v0-balloon", "stderr");

  ASSERT_TRUE(peer_.killTask("framework-1", "v0-balloon"));
  EXPECT_TRUE(sandboxSays("v0-balloon", "Kill task v0-balloon", 10s)) << sandboxFile("v0-balloon", "stderr");

  // An ExecutorToFrameworkMessage to slave(1) goes to the master as the
  // executor's message (sent here as the driver sends it).
  libprocess::Transport transport({"127.0.0.1", 1});
  mesos::internal::ExecutorToFrameworkMessage toFramework;
  toFramework.mutable_slave_id()->set_value(peer_.agentId());
  toFramework.mutable_framework_id()->set_value("framework-1");
  toFramework.mutable_executor_id()->set_value("v0-balloon");
  toFramework.set_data("hello framework");
  transport.send(transport.self("executor(1)"),
                 {agent::v0::kAgentActor, "127.0.0.1", static_cast<std::uint16_t>(agentPort_)}, toFramework);
  EXPECT_TRUE(waitUntil(
      [&] {
        for (const auto& call : peer_.calls()) {
          if (call.type() == internal::Call::EXECUTOR_MESSAGE && call.executor_message().data() == "hello framework" &&
              call.executor_message().executor_id().value() == "v0-balloon") {
            return true;
          }
        }
        return false;
      },
      10s))
      << agent_->output();

  // SHUTDOWN_EXECUTOR reaches the driver (which ends its process group after
  // its grace period); the task ends killed.
  internal::Event shutdown;
  shutdown.set_type(internal::Event::SHUTDOWN_EXECUTOR);
  shutdown.mutable_shutdown_executor()->mutable_framework_id()->set_value("framework-1");
  shutdown.mutable_shutdown_executor()->mutable_executor_id()->set_value("v0-balloon");
  ASSERT_TRUE(peer_.send(shutdown));
  EXPECT_TRUE(sandboxSays("v0-balloon", "Executor asked to shutdown", 10s)) << sandboxFile("v0-balloon", "stderr");
  auto killed = peer_.waitForTerminal("v0-balloon", 30s);
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED) << states("v0-balloon") << agent_->output();
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
}

TEST_F(V0ExecutorTest, BalloonExecutorReregistersAfterKillNineOfTheAgentAndItsTaskFinishes) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  // 5 steps of 64 MB, one a second, then TASK_FINISHED.
  ASSERT_TRUE(peer_.runTask(testFramework(), v0Task("v0-survivor", "v0-survivor", "balloon-executor", "320MB")));
  ASSERT_EQ(peer_.waitForUpdate("v0-survivor", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING)
      << agent_->output();
  agent_->kill();
  startAgent();
  EXPECT_TRUE(sandboxSays("v0-survivor", "Reregistered", 10s)) << sandboxFile("v0-survivor", "stderr");
  auto finished = peer_.waitForTerminal("v0-survivor", 30s);
  EXPECT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << states("v0-survivor") << agent_->output();
  EXPECT_EQ(states("v0-survivor"), "TASK_RUNNING TASK_FINISHED ");
  // The balloon executor stops its driver after its task: nothing is left.
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 20s));
}

// A v0 executor that dies (its connection to the agent breaks with it) is
// handled as a v1 executor that went away: its task fails.
TEST_F(V0ExecutorTest, AV0ExecutorThatDiesFailsItsTask) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), v0Task("v0-doomed", "v0-doomed", "balloon-executor", "640MB")));
  ASSERT_EQ(peer_.waitForUpdate("v0-doomed", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING)
      << agent_->output();
  killSessionsUnder(dir_.path());
  auto failed = peer_.waitForTerminal("v0-doomed", 20s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << states("v0-doomed") << agent_->output();
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED);
  EXPECT_TRUE(waitUntil(
      [this] { return agent_->output().find("Lost the connection to v0 executor v0-doomed") != std::string::npos; },
      10s))
      << agent_->output();
}

}  // namespace
}  // namespace mantle::testing
