// Containers launch off the agent's strand: while one container's launch is
// held in an isolator, or while a new executor's sandbox and checkpoint are
// still being written, the agent serves everything else (another executor
// subscribes and its task runs), and a kill, a framework's shutdown or the
// agent's stop during a launch destroys that container once it exists, with
// the terminal update Mesos sends and nothing left behind. The launch_gate
// fixture isolator holds the launches (fixtures/launch_gate.cpp).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "agent_fixture.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class AgentLaunchTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    fs::create_directories(gates());
    extraFlags_ = launchGateFlags(gates());
  }

  void TearDown() override {
    // Lets every held launch go (a failed test must not leave one waiting).
    for (const auto& entry : fs::directory_iterator(gates())) {
      const std::string name = entry.path().filename().string();
      for (const std::string suffix : {".hold-prepare", ".hold-exec"}) {
        if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
          open(name.substr(0, name.size() - suffix.size()));
        }
      }
    }
    AgentTest::TearDown();
  }

  fs::path gates() const { return dir_.path() / "gates"; }
  void hold(const std::string& task, const std::string& where) { std::ofstream(gates() / (task + ".hold-" + where)); }
  void open(const std::string& task) { std::ofstream(gates() / (task + ".go")); }
  bool reached(const std::string& task, const std::string& what) const {
    return fs::exists(gates() / (task + "." + what));
  }
  // The container id whose prepare is held for `task`.
  std::string heldContainer(const std::string& task) const {
    std::string id;
    std::ifstream(gates() / (task + ".preparing")) >> id;
    return id;
  }
  // The root pid the isolator saw at the container's isolate; 0 before.
  pid_t rootPid(const std::string& containerId) const {
    pid_t pid = 0;
    std::ifstream(gates() / "pids" / containerId) >> pid;
    return pid;
  }
  bool cleanedUp(const std::string& containerId) const { return fs::exists(gates() / "cleaned" / containerId); }

  // Starts the agent with the prepare of task `taskId` held, runs `command`
  // as that task of `framework` and waits until its prepare is held; the id
  // of its container in `container`.
  void launchHeld(const mesos::v1::FrameworkInfo& framework, const std::string& taskId, const std::string& command,
                  std::string* container) {
    hold(taskId, "prepare");
    startAgent();
    ASSERT_TRUE(peer_.waitForRegistration(20s));
    ASSERT_TRUE(peer_.runTask(framework, commandTask(taskId, command, peer_.agentId())));
    ASSERT_TRUE(waitUntil([&] { return !heldContainer(taskId).empty(); }, 60s)) << agent_->output();
    *container = heldContainer(taskId);
  }

  bool executorExited(const std::string& executorId) const {
    for (const internal::Call& call : peer_.calls()) {
      if (call.type() == internal::Call::EXECUTOR_EXITED &&
          call.executor_exited().executor_id().value() == executorId) {
        return true;
      }
    }
    return false;
  }

  int terminalUpdates(const std::string& taskId) const {
    int count = 0;
    for (const auto& update : peer_.distinctUpdates(taskId)) count += wire::isTerminal(update.status().state());
    return count;
  }
};

// Launched one after another on the agent's strand, task "held" would hold
// every other executor's calls with it: "quick" never reached TASK_RUNNING
// until "held"'s prepare returned.
TEST_F(AgentLaunchTest, AnExecutorSubscribesAndItsTaskRunsWhileAnotherContainersLaunchIsHeldInItsIsolator) {
  hold("quick", "exec");
  hold("held", "prepare");
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto framework = testFramework("framework-1", false);
  // quick ends once held's launch went on (its end calls into the isolators,
  // whose one instance is busy with held's prepare until then).
  const std::string heldGo = (gates() / "held.go").string();
  ASSERT_TRUE(peer_.runTask(
      framework, commandTask("quick", "while [ ! -e '" + heldGo + "' ]; do sleep 0.05; done", peer_.agentId())));
  // quick's container is released; its executor waits for the gate.
  ASSERT_TRUE(waitUntil([&] { return reached("quick", "exec-waiting"); }, 60s)) << agent_->output();
  ASSERT_TRUE(peer_.runTask(framework, commandTask("held", "echo held", peer_.agentId())));
  ASSERT_TRUE(waitUntil([&] { return reached("held", "preparing"); }, 60s)) << agent_->output();

  open("quick");  // its executor starts and subscribes while held's prepare waits
  auto running = peer_.waitForUpdate("quick", mesos::v1::TASK_RUNNING, 40s);
  EXPECT_EQ(running.status().state(), mesos::v1::TASK_RUNNING) << agent_->output();
  EXPECT_TRUE(peer_.distinctUpdates("held").empty()) << "held got an update before its prepare returned";

  open("held");
  EXPECT_EQ(peer_.waitForTerminal("held", 60s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  EXPECT_EQ(peer_.waitForTerminal("quick", 60s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
}

// A disk that does not answer: the checkpoint of task "stuck"'s executor
// cannot be written (its file is a FIFO nobody reads yet). Written on the
// agent's strand, it held everything behind it: "quick", launched after it
// (for a checkpointing framework: its checkpoint committed, then its
// container launched), never ran. Once the write goes through, "stuck" runs
// too.
TEST_F(AgentLaunchTest, ATaskRunsWhileTheCheckpointOfAnEarlierTasksExecutorCannotBeWrittenYet) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const fs::path executorMeta =
      dir_.path() / "agent/meta/slaves" / peer_.agentId() / "frameworks/framework-1/executors/stuck";
  const fs::path fifo = executorMeta / "executor.info.tmp";
  fs::create_directories(executorMeta);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  // Whatever happens, the writer blocked on the FIFO is let go (it fails
  // with EPIPE when the test did not read).
  struct Unblock {
    fs::path fifo;
    ~Unblock() {
      if (int fd = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK); fd >= 0) ::close(fd);
    }
  } unblock{fifo};

  ASSERT_TRUE(peer_.runTask(testFramework("framework-1", false), commandTask("stuck", "echo stuck", peer_.agentId())));
  ASSERT_TRUE(peer_.runTask(testFramework("framework-2", true), commandTask("quick", "echo quick", peer_.agentId())));
  EXPECT_EQ(peer_.waitForTerminal("quick", 60s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  EXPECT_FALSE(fs::exists(executorMeta / "executor.info")) << "the write of stuck's checkpoint went through";
  EXPECT_TRUE(peer_.distinctUpdates("stuck").empty());

  // The disk answers: the agent's write completes, stuck's launch goes on.
  int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  std::string written;
  ASSERT_TRUE(waitUntil(
      [&] {
        char buffer[4096];
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) written.append(buffer, static_cast<std::size_t>(n));
        return n == 0 && !written.empty();  // the writer wrote and closed
      },
      30s));
  ::close(fd);
  mesos::v1::ExecutorInfo info;
  EXPECT_TRUE(info.ParseFromString(written));
  EXPECT_EQ(info.executor_id().value(), "stuck");
  EXPECT_EQ(peer_.waitForTerminal("stuck", 60s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
}

// As Mesos: TASK_KILLED (killed during launch) at once; the container, which
// comes into being only after the kill, is destroyed before its executor
// runs, its isolators cleaned up, and no second terminal update follows.
TEST_F(AgentLaunchTest, ATaskKilledWhileItsContainerLaunchesEndsKilledOnceAndItsContainerIsDestroyed) {
  const auto framework = testFramework("framework-1", false);
  std::string container;
  ASSERT_NO_FATAL_FAILURE(launchHeld(framework, "doomed", "echo ran > ran", &container));

  ASSERT_TRUE(peer_.killTask(framework.id().value(), "doomed"));
  auto killed = peer_.waitForTerminal("doomed", 30s);
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED) << agent_->output();
  EXPECT_EQ(killed.status().reason(), mesos::v1::TaskStatus::REASON_TASK_KILLED_DURING_LAUNCH);

  open("doomed");
  ASSERT_TRUE(waitUntil([&] { return executorExited("doomed"); }, 60s)) << agent_->output();
  EXPECT_TRUE(cleanedUp(container));
  const pid_t root = rootPid(container);
  ASSERT_GT(root, 0) << "the container was never forked";
  EXPECT_TRUE(waitUntil([&] { return gone(root); }, 10s)) << "its root " << root << " outlived it";
  EXPECT_EQ(terminalUpdates("doomed"), 1);
  EXPECT_FALSE(fs::exists(dir_.path() / "agent/slaves" / peer_.agentId() /
                          "frameworks/framework-1/executors/doomed/runs" / container / "ran"))
      << "the task ran";
}

// The framework's shutdown (SHUTDOWN_FRAMEWORK, as when the master removes
// it) while its container launches: the container is destroyed once it
// exists, nothing of it is left.
TEST_F(AgentLaunchTest, AFrameworkShutDownWhileItsContainerLaunchesLeavesNoProcessAndNoIsolatorState) {
  const auto framework = testFramework("framework-1", false);
  std::string container;
  ASSERT_NO_FATAL_FAILURE(launchHeld(framework, "orphaned", "sleep 100", &container));

  internal::Event shutdown;
  shutdown.set_type(internal::Event::SHUTDOWN_FRAMEWORK);
  *shutdown.mutable_shutdown_framework()->mutable_framework_id() = framework.id();
  ASSERT_TRUE(peer_.send(shutdown));
  ASSERT_TRUE(waitUntil([&] { return logLinesWith("Shutting down executor orphaned") > 0; }, 30s)) << agent_->output();

  open("orphaned");
  ASSERT_TRUE(waitUntil([&] { return executorExited("orphaned"); }, 60s)) << agent_->output();
  EXPECT_TRUE(cleanedUp(container));
  const pid_t root = rootPid(container);
  ASSERT_GT(root, 0);
  EXPECT_TRUE(waitUntil([&] { return gone(root); }, 10s)) << "its root " << root << " outlived it";
  EXPECT_LE(terminalUpdates("orphaned"), 1);
  EXPECT_TRUE(sessionsUnder(dir_.path()).empty());
}

// The agent stopping (SIGTERM) while a launch is held: once the launch ends
// its container is destroyed, and the agent exits with nothing left.
TEST_F(AgentLaunchTest, AnAgentStoppedWhileAContainerLaunchesDestroysItAndExits) {
  std::string container;
  ASSERT_NO_FATAL_FAILURE(launchHeld(testFramework("framework-1", false), "late", "sleep 100", &container));

  agent_->signal(SIGTERM);
  ASSERT_TRUE(waitUntil([&] { return logLinesWith("Shutting down executor late") > 0; }, 30s)) << agent_->output();
  open("late");
  ASSERT_TRUE(waitUntil([&] { return !agent_->running(); }, 60s)) << agent_->output();
  EXPECT_TRUE(cleanedUp(container));
  const pid_t root = rootPid(container);
  ASSERT_GT(root, 0);
  EXPECT_TRUE(waitUntil([&] { return gone(root); }, 10s)) << "its root " << root << " outlived the agent";
  EXPECT_TRUE(sessionsUnder(dir_.path()).empty());
}

}  // namespace
}  // namespace mantle::testing
