// mantle-agent as a real process, against a protocol-level master peer:
// registration, task launch/finish/fail/kill through mantle-executor, task
// groups, --switch_user, the fetcher, the sandbox files endpoints, master
// restarts and executor crashes.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <json/value.h>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>
#include <utility>

#include "agent_fixture.hpp"
#include "file_server.hpp"
#include "http_json.hpp"
#include "mesos/v1/agent/agent.pb.h"
#include "module_manifest.hpp"
#include "wire/content_type.hpp"

namespace mantle::testing {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::vector<mesos::v1::TaskState> states(const std::vector<internal::StatusUpdate>& updates) {
  std::vector<mesos::v1::TaskState> out;
  for (const auto& update : updates) out.push_back(update.status().state());
  return out;
}

// The sandbox directory of the executor running `taskId`, from /state (its
// framework may have completed: the executor stays listed there).
std::string sandboxOf(const Json::Value& state, const std::string& taskId) {
  for (const char* frameworks : {"frameworks", "completed_frameworks"}) {
    for (const auto& framework : state[frameworks]) {
      for (const char* list : {"executors", "completed_executors"}) {
        for (const auto& executor : framework[list]) {
          for (const char* tasks : {"tasks", "queued_tasks", "completed_tasks"}) {
            for (const auto& task : executor[tasks]) {
              if (task["id"].asString() == taskId) return executor["directory"].asString();
            }
          }
        }
      }
    }
  }
  return "";
}

TEST_F(AgentTest, RegistersWithGivenAndDetectedResources) {
  extraFlags_ = {"--attributes=rack:r1;level:3"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  internal::Call registration = peer_.lastRegistration();
  ASSERT_EQ(registration.type(), internal::Call::REGISTER);
  const auto& info = registration.registration().agent_info();
  EXPECT_EQ(info.port(), agentPort_);
  double cpus = 0;
  bool ports = false;
  for (const auto& resource : info.resources()) {
    if (resource.name() == "cpus") cpus += resource.scalar().value();
    if (resource.name() == "ports") ports = resource.ranges().range(0).begin() == 31000;
  }
  EXPECT_EQ(cpus, 4);
  EXPECT_TRUE(ports);
  ASSERT_EQ(info.attributes_size(), 2);
  EXPECT_EQ(info.attributes(0).text().value(), "r1");
  EXPECT_EQ(info.attributes(1).scalar().value(), 3);
  EXPECT_TRUE(waitUntil(
      [this] { return get("/metrics/snapshot")->body.find("\"slave/registered\":1") != std::string::npos; }, 10s));
}

TEST_F(AgentTest, CommandTaskFinishesInOrderAndItsOutputIsReadable) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto framework = testFramework();
  ASSERT_TRUE(peer_.runTask(framework, commandTask("hello", "echo hello-from-task", peer_.agentId())));
  auto finished = peer_.waitForUpdate("hello", mesos::v1::TASK_FINISHED, 30s);
  ASSERT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  EXPECT_EQ(
      states(peer_.distinctUpdates("hello")),
      (std::vector<mesos::v1::TaskState>{mesos::v1::TASK_STARTING, mesos::v1::TASK_RUNNING, mesos::v1::TASK_FINISHED}));
  EXPECT_EQ(finished.status().source(), mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  EXPECT_EQ(finished.agent_id().value(), peer_.agentId());

  auto state = get("/state");
  ASSERT_TRUE(state.ok());
  const std::string sandbox = sandboxOf(parseJson(state->body), "hello");
  ASSERT_FALSE(sandbox.empty()) << state->body;
  EXPECT_THAT(sandbox, HasSubstr("/slaves/" + peer_.agentId() + "/frameworks/framework-1/executors/hello/runs/"));
  bool read = waitUntil(
      [&] {
        auto file = get("/files/read?path=" + sandbox + "/stdout&offset=0");
        return file.ok() && file->status == 200 &&
               parseJson(file->body)["data"].asString().find("hello-from-task") != std::string::npos;
      },
      10s);
  EXPECT_TRUE(read);
  auto browse = get("/slave(1)/files/browse?path=" + sandbox);
  ASSERT_TRUE(browse.ok());
  EXPECT_EQ(browse->status, 200);
  EXPECT_THAT(browse->body, HasSubstr("/stdout\""));
}

// Once its last executor here ends, a framework moves to completed_frameworks
// with its completed executors (as in Mesos), so a finished task's sandbox
// can still be found and read; a framework that comes back keeps them.
TEST_F(AgentTest, AFrameworkWhoseLastExecutorEndedKeepsItsCompletedExecutorsInState) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("first", "echo output-of-first", peer_.agentId())));
  ASSERT_EQ(peer_.waitForTerminal("first", 30s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  auto completed = [this](const std::string& frameworkId, std::size_t executors) {
    Json::Value state = parseJson(get("/state")->body);
    for (const auto& framework : state["frameworks"]) {
      if (framework["id"].asString() == frameworkId) return false;
    }
    for (const auto& framework : state["completed_frameworks"]) {
      if (framework["id"].asString() == frameworkId) return framework["completed_executors"].size() == executors;
    }
    return false;
  };
  ASSERT_TRUE(waitUntil([&] { return completed("framework-1", 1); }, 30s)) << get("/state")->body;
  const std::string sandbox = sandboxOf(parseJson(get("/state")->body), "first");
  ASSERT_FALSE(sandbox.empty());
  EXPECT_TRUE(waitUntil(
      [&] {
        auto file = get("/files/read?path=" + sandbox + "/stdout&offset=0");
        return file.ok() && file->status == 200 &&
               parseJson(file->body)["data"].asString().find("output-of-first") != std::string::npos;
      },
      10s));
  for (const char* call : {R"({"type":"GET_EXECUTORS"})", R"({"type":"GET_TASKS"})"}) {
    auto response = http::request("POST", agentUrl() + "/api/v1",
                                  {{"Content-Type", "application/json"}, {"Accept", "application/json"}}, call);
    ASSERT_TRUE(response.ok());
    ASSERT_EQ(response->status, 200) << response->body;
    EXPECT_THAT(response->body, HasSubstr("\"first\"")) << call;
  }
  // Back with a second task: both executors are listed once it ends too.
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("second", "true", peer_.agentId())));
  ASSERT_EQ(peer_.waitForTerminal("second", 30s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  ASSERT_TRUE(waitUntil([&] { return completed("framework-1", 2); }, 30s)) << get("/state")->body;
  EXPECT_EQ(parseJson(get("/state")->body)["completed_frameworks"].size(), 1u);
}

// The checkpoint of an executor whose tasks all ended and were acknowledged
// leaves what recovery reads at once (moved into the trash, deleted off the
// agent's strand), its framework's with it; what an earlier agent left in
// the trash is deleted when the next one starts.
TEST_F(AgentTest, AFinishedExecutorsCheckpointIsDeletedAndTheTrashOfAnEarlierAgentIsEmptiedAtStartUp) {
  const std::filesystem::path trash = dir_.path() / "agent/meta/trash";
  std::filesystem::create_directories(trash / "left-over/tasks");
  std::ofstream(trash / "left-over/tasks/task.info") << "x";
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const std::filesystem::path framework =
      dir_.path() / "agent/meta/slaves" / peer_.agentId() / "frameworks/framework-1";
  const std::filesystem::path go = dir_.path() / "go";
  ASSERT_TRUE(
      peer_.runTask(testFramework(),
                    commandTask("done", "while [ ! -e '" + go.string() + "' ]; do sleep 0.05; done", peer_.agentId())));
  ASSERT_EQ(peer_.waitForUpdate("done", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING)
      << agent_->output();
  EXPECT_TRUE(std::filesystem::exists(framework / "executors/done/executor.info"));
  std::ofstream(go) << "go";
  EXPECT_EQ(peer_.waitForTerminal("done", 30s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  EXPECT_TRUE(waitUntil([&] { return !std::filesystem::exists(framework); }, 30s)) << agent_->output();
  EXPECT_TRUE(waitUntil([&] { return std::filesystem::is_empty(trash); }, 30s));
}

TEST_F(AgentTest, FailedTaskCarriesExitStatusAndStderrTail) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(
      peer_.runTask(testFramework(), commandTask("broken", "echo something-went-wrong >&2; exit 3", peer_.agentId())));
  auto failed = peer_.waitForTerminal("broken", 30s);
  ASSERT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_THAT(failed.status().message(), HasSubstr("status 3"));
  EXPECT_THAT(failed.status().message(), HasSubstr("something-went-wrong"));
}

// Containers start from mantle-container-root in --launcher_dir: a directory
// without it fails the task naming the path, and the agent goes on.
TEST_F(AgentTest, ALauncherDirWithoutTheContainerRootProgramFailsTheTaskNamingThePath) {
  const std::filesystem::path launcherDir = dir_.path() / "launchers";
  std::filesystem::create_directories(launcherDir);
  extraFlags_ = {"--launcher_dir=" + launcherDir.string()};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("rootless", "true", peer_.agentId())));
  auto failed = peer_.waitForTerminal("rootless", 30s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED);
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_THAT(failed.status().message(), HasSubstr((launcherDir / "mantle-container-root").string()));
  EXPECT_TRUE(healthy());
}

TEST_F(AgentTest, KillTaskEndsItKilled) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("sleeper", "sleep 100", peer_.agentId())));
  ASSERT_EQ(peer_.waitForUpdate("sleeper", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);
  ASSERT_TRUE(peer_.killTask("framework-1", "sleeper"));
  auto killed = peer_.waitForTerminal("sleeper", 20s);
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED) << agent_->output();
  // TASK_KILLING came first: the framework has TASK_KILLING_STATE.
  auto all = states(peer_.distinctUpdates("sleeper"));
  EXPECT_NE(std::find(all.begin(), all.end(), mesos::v1::TASK_KILLING), all.end());
}

TEST_F(AgentTest, FilesOutsideSandboxesAreRefused) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("quick", "true", peer_.agentId())));
  ASSERT_EQ(peer_.waitForTerminal("quick", 30s).status().state(), mesos::v1::TASK_FINISHED);
  const std::string sandbox = sandboxOf(parseJson(get("/state")->body), "quick");
  ASSERT_FALSE(sandbox.empty());
  for (const std::string& path : {std::string("/etc/passwd"), sandbox + "/../../../../../../../../meta/slaves/latest",
                                  (dir_.path() / "agent").string()}) {
    auto response = get("/files/read?path=" + path + "&offset=0");
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, 403) << path << ": " << response->body;
  }
  // A symlink in the sandbox that points out of it is refused too.
  std::filesystem::create_symlink("/etc/passwd", sandbox + "/escape");
  auto response = get("/files/read?path=" + sandbox + "/escape&offset=0");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 403);
}

TEST_F(AgentTest, OperatorApiAnswersUnderBothPrefixes) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("listed", "sleep 100", peer_.agentId())));
  ASSERT_EQ(peer_.waitForUpdate("listed", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);
  for (const std::string path : {"/api/v1", "/slave(1)/api/v1"}) {
    auto response =
        http::request("POST", agentUrl() + path, {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
                      R"({"type":"GET_TASKS"})");
    ASSERT_TRUE(response.ok());
    ASSERT_EQ(response->status, 200) << response->body;
    EXPECT_THAT(response->body, HasSubstr("\"launched_tasks\""));
    EXPECT_THAT(response->body, HasSubstr("\"listed\""));
  }
  mesos::v1::agent::Call call;
  call.set_type(mesos::v1::agent::Call::GET_CONTAINERS);
  auto response = http::request("POST", agentUrl() + "/api/v1",
                                {{"Content-Type", "application/x-protobuf"}, {"Accept", "application/x-protobuf"}},
                                call.SerializeAsString());
  ASSERT_TRUE(response.ok());
  mesos::v1::agent::Response containers;
  ASSERT_TRUE(containers.ParseFromString(response->body));
  ASSERT_EQ(containers.get_containers().containers_size(), 1);
  EXPECT_GT(containers.get_containers().containers(0).container_status().executor_pid(), 0u);
  auto statistics = get("/monitor/statistics");
  ASSERT_TRUE(statistics.ok());
  EXPECT_THAT(statistics->body, HasSubstr("\"executor_id\":\"listed\""));
  EXPECT_THAT(statistics->body, HasSubstr("mem_rss_bytes"));
  auto metrics = get("/metrics");
  EXPECT_THAT(metrics->body, HasSubstr("mantle_agent_tasks_running 1"));
}

TEST_F(AgentTest, ExecutorApiAnswersABadRequestAsEveryV1EndpointDoes) {
  startAgent();
  auto get = http::request("GET", agentUrl() + "/api/v1/executor", {}, "");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->body, "Expecting 'POST', received 'GET'");
  EXPECT_EQ(get->header("Allow"), "POST");
  auto xml = http::request("POST", agentUrl() + "/api/v1/executor", {{"Content-Type", "text/xml"}}, "<call/>");
  ASSERT_TRUE(xml.ok());
  EXPECT_EQ(xml->status, 415) << xml->body;
  auto garbage =
      http::request("POST", agentUrl() + "/api/v1/executor", {{"Content-Type", "application/json"}}, "{\"type\":");
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->status, 400);
  EXPECT_THAT(garbage->body, HasSubstr("Failed to parse the body into an executor Call"));
}

// A vendor isolator declared "process": "separate" segfaults in prepare for
// tasks labelled crash: that task fails naming the module, the agent (same
// pid) runs the next task through the restarted module host, and /metrics
// counts the restart. (In process the segfault would kill the agent:
// ModuleHostTest.InProcessTheSameSegfaultKillsTheProcessThatLoadedIt.)
TEST_F(AgentTest, AnIsolatorThatSegfaultsOutOfProcessFailsOnlyItsTaskNamingTheModule) {
  extraFlags_ = {
      "--modules=" +
          moduleManifest({{.library = fixtureLibrary("fixture_crashy"), .name = "crashy", .process = "separate"}}),
      "--isolation=crashy"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const pid_t agent = agent_->pid();
  mesos::v1::TaskInfo crashing = commandTask("crashing", "echo never", peer_.agentId());
  auto* label = crashing.mutable_labels()->add_labels();
  label->set_key("crash");
  label->set_value("yes");
  ASSERT_TRUE(peer_.runTask(testFramework(), crashing));
  auto failed = peer_.waitForTerminal("crashing", 30s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED);
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_THAT(failed.status().message(),
              AllOf(HasSubstr("module 'crashy'"), HasSubstr("was killed by signal 11 (SIGSEGV)")));
  EXPECT_EQ(agent_->pid(), agent);
  EXPECT_EQ(::kill(agent, 0), 0);
  EXPECT_TRUE(healthy());

  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("next", "echo ran", peer_.agentId())));
  auto finished = peer_.waitForTerminal("next", 30s);
  EXPECT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << finished.status().message();
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(
      metrics->body,
      HasSubstr("mantle_module_host_restarts_total{instance=\"crashy\",module=\"crashy\",kind=\"isolator\"} 1\n"));
}

TEST_F(AgentTest, MetricsShowTheCallsIntoEachModuleInstance) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("isolated", "sleep 100", peer_.agentId())));
  ASSERT_EQ(peer_.waitForUpdate("isolated", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics.ok());
  ASSERT_EQ(metrics->status, 200);
  // The isolators of --isolation (default posix/cpu,posix/mem) prepared the
  // task's container: their calls are counted, as on the master.
  const std::string labels = "{instance=\"posix/cpu\",module=\"posix/cpu\",kind=\"isolator\"";
  EXPECT_THAT(metrics->body, HasSubstr("# TYPE mantle_module_calls_total counter\n"));
  EXPECT_THAT(metrics->body, ContainsRegex("mantle_module_calls_total\\{instance=\"posix/cpu\",module=\"posix/cpu\","
                                           "kind=\"isolator\"\\} [1-9]"));
  EXPECT_THAT(metrics->body, HasSubstr("mantle_module_errors_total" + labels + "} 0\n"));
  EXPECT_THAT(metrics->body, HasSubstr("mantle_module_timeouts_total" + labels + "} 0\n"));
  EXPECT_THAT(metrics->body, HasSubstr("mantle_module_call_duration_seconds_bucket" + labels + ",le=\"+Inf\"}"));
  EXPECT_THAT(metrics->body, HasSubstr("mantle_module_calls_total{instance=\"posix/mem\""));
}

TEST_F(AgentTest, MasterRestartLeadsToReregistrationAndUpdatesFlowAgain) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const std::filesystem::path marker = dir_.path() / "release";
  ASSERT_TRUE(peer_.runTask(
      testFramework(),
      commandTask("patient", "while [ ! -e " + marker.string() + " ]; do sleep 0.1; done", peer_.agentId())));
  ASSERT_EQ(peer_.waitForUpdate("patient", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);
  const int port = peer_.port();
  peer_.stop();
  std::ofstream(marker) << "go";  // the task ends while the master is away
  std::this_thread::sleep_for(500ms);
  peer_.start(port);
  ASSERT_TRUE(waitUntil([this] { return peer_.reregistrations() >= 1; }, 30s)) << agent_->output();
  auto finished = peer_.waitForUpdate("patient", mesos::v1::TASK_FINISHED, 30s);
  EXPECT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
}

TEST_F(AgentTest, ExecutorCrashFailsItsTask) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("orphaned", "sleep 100", peer_.agentId())));
  auto running = peer_.waitForUpdate("orphaned", mesos::v1::TASK_RUNNING, 30s);
  ASSERT_EQ(running.status().state(), mesos::v1::TASK_RUNNING);
  const pid_t executor = static_cast<pid_t>(running.status().container_status().executor_pid());
  ASSERT_GT(executor, 0);
  ASSERT_EQ(::kill(executor, SIGKILL), 0);
  auto failed = peer_.waitForTerminal("orphaned", 20s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED);
  EXPECT_THAT(failed.status().message(), HasSubstr("signal 9"));
  // The container's other processes went with it.
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
}

// A custom executor's CommandInfo with shell=false runs as in Mesos: `value`
// is the program (found on PATH), `arguments` its whole argv, argv[0]
// included.
TEST_F(AgentTest, CustomExecutorWithoutShellGetsItsArgumentsAsTheWholeArgv) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto seen = dir_.path() / "argv";
  mesos::v1::TaskInfo task = commandTask("argv", "", peer_.agentId());
  task.clear_command();
  mesos::v1::ExecutorInfo* executor = task.mutable_executor();
  executor->mutable_executor_id()->set_value("argv-executor");
  mesos::v1::CommandInfo* command = executor->mutable_command();
  command->set_shell(false);
  command->set_value("sh");
  // The shell's own argv, one word a line, then $0 (the word after the script).
  for (const std::string& argument : {std::string("my-executor"), std::string("-c"),
                                      "{ tr '\\0' '\\n' < /proc/$$/cmdline | head -1; echo \"$0\"; } > " +
                                          seen.string() + ".new && mv " + seen.string() + ".new " + seen.string(),
                                      std::string("zero")}) {
    command->add_arguments(argument);
  }
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(seen); }, 20s)) << agent_->output();
  std::ifstream in(seen);
  std::string argv0;
  std::string dollar0;
  std::getline(in, argv0);
  std::getline(in, dollar0);
  EXPECT_EQ(argv0, "my-executor");
  EXPECT_EQ(dollar0, "zero");
  // It never subscribes: its exit fails the task.
  EXPECT_EQ(peer_.waitForTerminal("argv", 20s).status().state(), mesos::v1::TASK_FAILED);
}

// An executor killed from outside (as the OOM killer does) whose isolator
// reports the limitation only after the executor died: the task's update
// still carries the limitation's reason and message.
TEST_F(AgentTest, ExecutorKilledBeforeItsLimitationArrivedFailsWithTheLimitation) {
  extraFlags_ = {
      "--modules=" + moduleManifest({isolatorModule(fixtureLibrary("fixture_late_limitation"), "late_limitation")}),
      "--isolation=late_limitation"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s)) << agent_->output();
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("oom", "sleep 100", peer_.agentId())));
  auto running = peer_.waitForUpdate("oom", mesos::v1::TASK_RUNNING, 30s);
  ASSERT_EQ(running.status().state(), mesos::v1::TASK_RUNNING) << agent_->output();
  const pid_t executor = static_cast<pid_t>(running.status().container_status().executor_pid());
  ASSERT_GT(executor, 0);
  ASSERT_EQ(::kill(executor, SIGKILL), 0);
  auto failed = peer_.waitForTerminal("oom", 20s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY)
      << failed.status().message();
  EXPECT_THAT(failed.status().message(), HasSubstr("reported late"));
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
}

TEST_F(AgentTest, SandboxLogsRotateAtTheirCap) {
  extraFlags_ = {"--container_logs_max_size=4KB", "--container_logs_max_files=2"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTask(
      testFramework(),
      commandTask("chatty", "i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxx; i=$((i+1)); done",
                  peer_.agentId())));
  ASSERT_EQ(peer_.waitForTerminal("chatty", 30s).status().state(), mesos::v1::TASK_FINISHED);
  const std::string sandbox = sandboxOf(parseJson(get("/state")->body), "chatty");
  ASSERT_FALSE(sandbox.empty());
  EXPECT_TRUE(waitUntil([&] { return std::filesystem::exists(sandbox + "/stdout.2"); }, 30s));
  EXPECT_LE(std::filesystem::file_size(sandbox + "/stdout"), 4096u);
  EXPECT_EQ(std::filesystem::file_size(sandbox + "/stdout.1"), 4096u);
  EXPECT_FALSE(std::filesystem::exists(sandbox + "/stdout.3"));
  std::ifstream last(sandbox + "/stdout");
  std::string content((std::istreambuf_iterator<char>(last)), std::istreambuf_iterator<char>());
  EXPECT_THAT(content, HasSubstr("line-399-"));
}

std::string readText(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_F(AgentTest, TaskGroupTasksRunSideBySideAndBothFinish) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  // Each task waits for the other's marker: they can only finish if they run at once.
  ASSERT_TRUE(peer_.runTaskGroup(
      testFramework(), "group-executor",
      {commandTask("left", "touch left.up; while [ ! -e right.up ]; do sleep 0.05; done", peer_.agentId()),
       commandTask("right", "touch right.up; while [ ! -e left.up ]; do sleep 0.05; done", peer_.agentId())}));
  for (const std::string task : {"left", "right"}) {
    auto finished = peer_.waitForTerminal(task, 30s);
    ASSERT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << task << "\n" << agent_->output();
    EXPECT_EQ(finished.executor_id().value(), "group-executor");
    EXPECT_EQ(states(peer_.distinctUpdates(task)),
              (std::vector<mesos::v1::TaskState>{mesos::v1::TASK_STARTING, mesos::v1::TASK_RUNNING,
                                                 mesos::v1::TASK_FINISHED}));
  }
  // One executor, one sandbox for both.
  const Json::Value state = parseJson(get("/state")->body);
  EXPECT_EQ(sandboxOf(state, "left"), sandboxOf(state, "right"));
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
}

TEST_F(AgentTest, KillingOneTaskOfAGroupKillsTheGroup) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(peer_.runTaskGroup(
      testFramework(), "group-executor",
      {commandTask("first", "sleep 100", peer_.agentId()), commandTask("second", "sleep 100", peer_.agentId())}));
  for (const std::string task : {"first", "second"}) {
    ASSERT_EQ(peer_.waitForUpdate(task, mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING)
        << task << "\n"
        << agent_->output();
  }
  ASSERT_TRUE(peer_.killTask("framework-1", "first"));
  for (const std::string task : {"first", "second"}) {
    auto killed = peer_.waitForTerminal(task, 20s);
    EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED) << task << "\n" << agent_->output();
  }
  EXPECT_TRUE(waitUntil([this] { return sessionsUnder(dir_.path()).empty(); }, 10s));
}

TEST_F(AgentTest, SwitchUserToAnUnknownUserFailsTheTaskNamingIt) {
  extraFlags_ = {"--switch_user=true"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto task = commandTask("stranger", "true", peer_.agentId());
  task.mutable_command()->set_user("mantle-no-such-user");
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  auto failed = peer_.waitForTerminal("stranger", 20s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_THAT(failed.status().message(), HasSubstr("user 'mantle-no-such-user' does not exist"));
  // Nothing was left running, and the agent still launches tasks.
  EXPECT_TRUE(sessionsUnder(dir_.path()).empty());
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("after", "true", peer_.agentId())));
  EXPECT_EQ(peer_.waitForTerminal("after", 30s).status().state(), mesos::v1::TASK_FINISHED);
}

// --switch_user with a real user other than the agent's: needs root.
class SwitchUserTest : public AgentTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
    struct passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody' on this machine";
    nobodyUid_ = nobody->pw_uid;
    // The task's user must reach its sandbox under the work dir.
    std::filesystem::permissions(dir_.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                                  std::filesystem::perms::group_exec |
                                                  std::filesystem::perms::others_read |
                                                  std::filesystem::perms::others_exec);
    AgentTest::SetUp();
  }

  // Runs a task that records its uid; returns the uid it ran as and the sandbox.
  std::pair<std::string, std::string> runWhoAmI(const std::string& taskId, mesos::v1::FrameworkInfo framework,
                                                std::optional<std::string> commandUser) {
    auto task = commandTask(taskId, "id -u > uid; touch made-by-task", peer_.agentId());
    if (commandUser) task.mutable_command()->set_user(*commandUser);
    task.mutable_command()->add_uris()->set_value(dir_.write("fetched.txt", "fetched").string());
    EXPECT_TRUE(peer_.runTask(framework, task));
    auto finished = peer_.waitForTerminal(taskId, 30s);
    EXPECT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << finished.status().message() << "\n"
                                                                   << agent_->output();
    const std::string sandbox = sandboxOf(parseJson(get("/state")->body), taskId);
    std::string uid = readText(sandbox + "/uid");
    while (!uid.empty() && uid.back() == '\n') uid.pop_back();
    return {uid, sandbox};
  }

  static uid_t ownerOf(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
  }

  uid_t nobodyUid_ = 0;
};

TEST_F(SwitchUserTest, ROOT_TaskRunsAsItsCommandOrFrameworkUserInASandboxItOwns) {
  extraFlags_ = {"--switch_user=true"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  // CommandInfo.user wins over the framework's user (root here).
  auto [uid, sandbox] = runWhoAmI("as-command-user", testFramework(), "nobody");
  EXPECT_EQ(uid, std::to_string(nobodyUid_));
  EXPECT_EQ(ownerOf(sandbox), nobodyUid_);
  EXPECT_EQ(ownerOf(sandbox + "/made-by-task"), nobodyUid_);
  EXPECT_EQ(ownerOf(sandbox + "/fetched.txt"), nobodyUid_);
  // Without one, FrameworkInfo.user.
  auto framework = testFramework("framework-nobody");
  framework.set_user("nobody");
  auto [frameworkUid, frameworkSandbox] = runWhoAmI("as-framework-user", framework, std::nullopt);
  EXPECT_EQ(frameworkUid, std::to_string(nobodyUid_));
  EXPECT_EQ(ownerOf(frameworkSandbox), nobodyUid_);
}

TEST_F(SwitchUserTest, ROOT_WithoutSwitchUserTasksRunAsTheAgentsUser) {
  extraFlags_ = {"--switch_user=false"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto [uid, sandbox] = runWhoAmI("as-agent-user", testFramework(), "nobody");
  EXPECT_EQ(uid, std::to_string(::geteuid()));
  EXPECT_EQ(ownerOf(sandbox), ::geteuid());
  EXPECT_EQ(ownerOf(sandbox + "/fetched.txt"), ::geteuid());
}

TEST_F(AgentTest, FetchedUrisAreInTheSandboxBeforeTheTaskStarts) {
  const std::filesystem::path files = dir_.path() / "files";
  dir_.write("files/tree/data.txt", "archived-content");
  dir_.write("files/run.sh", "#!/bin/sh\necho script-ran\n");
  ASSERT_EQ(std::system(("tar -czf " + (files / "bundle.tar.gz").string() + " -C " + files.string() + " tree").c_str()),
            0);
  FileServer server(files);
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto task = commandTask("fetching", "./run.sh && cat tree/data.txt", peer_.agentId());
  task.mutable_command()->add_uris()->set_value(server.url() + "/bundle.tar.gz");
  auto* script = task.mutable_command()->add_uris();
  script->set_value("file://" + (files / "run.sh").string());
  script->set_executable(true);
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  auto finished = peer_.waitForTerminal("fetching", 30s);
  ASSERT_EQ(finished.status().state(), mesos::v1::TASK_FINISHED) << finished.status().message() << "\n"
                                                                 << agent_->output();
  const std::string sandbox = sandboxOf(parseJson(get("/state")->body), "fetching");
  ASSERT_FALSE(sandbox.empty());
  EXPECT_TRUE(waitUntil(
      [&] {
        const std::string out = readText(sandbox + "/stdout");
        return out.find("script-ran") != std::string::npos && out.find("archived-content") != std::string::npos;
      },
      10s))
      << readText(sandbox + "/stdout");
  EXPECT_GE(server.requests(), 1);
}

TEST_F(AgentTest, AFailedFetchFailsTheTaskNamingTheUri) {
  FileServer server(dir_.path());
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto task = commandTask("unfetchable", "true", peer_.agentId());
  const std::string missing = server.url() + "/missing.tar.gz";
  task.mutable_command()->add_uris()->set_value(missing);
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  auto failed = peer_.waitForTerminal("unfetchable", 30s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_EQ(failed.status().source(), mesos::v1::TaskStatus::SOURCE_AGENT);
  EXPECT_THAT(failed.status().message(), HasSubstr("Failed to fetch '" + missing + "'"));
  EXPECT_THAT(failed.status().message(), HasSubstr("HTTP 404"));
  // No container was started; the master hears that the executor is gone.
  EXPECT_TRUE(sessionsUnder(dir_.path()).empty());
  EXPECT_TRUE(waitUntil(
      [this] {
        for (const auto& call : peer_.calls()) {
          if (call.type() == internal::Call::EXECUTOR_EXITED &&
              call.executor_exited().executor_id().value() == "unfetchable") {
            return true;
          }
        }
        return false;
      },
      10s));
}

TEST_F(AgentTest, AStalledFetchFailsTheTaskAfterTheStallTimeout) {
  SilentListener silent;
  extraFlags_ = {"--fetcher_stall_timeout=1secs"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto task = commandTask("stalled", "true", peer_.agentId());
  const std::string url = silent.url() + "/slow.tar.gz";
  task.mutable_command()->add_uris()->set_value(url);
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  auto failed = peer_.waitForTerminal("stalled", 30s);
  EXPECT_EQ(failed.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_EQ(failed.status().reason(), mesos::v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_THAT(failed.status().message(), HasSubstr("Failed to fetch '" + url + "': the download stalled"));
}

TEST_F(AgentTest, KillingATaskWhileItsUrisAreFetchedStopsTheFetch) {
  SilentListener silent;
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto task = commandTask("impatient", "true", peer_.agentId());
  task.mutable_command()->add_uris()->set_value(silent.url() + "/forever.tar.gz");
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  // The agent keeps serving while it fetches; the task waits in STAGING.
  ASSERT_TRUE(waitUntil(
      [this] {
        auto state = get("/state");
        return state.ok() && state->body.find("\"impatient\"") != std::string::npos;
      },
      10s));
  ASSERT_TRUE(peer_.killTask("framework-1", "impatient"));
  auto killed = peer_.waitForTerminal("impatient", 10s);
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED) << agent_->output();
  EXPECT_EQ(killed.status().reason(), mesos::v1::TaskStatus::REASON_TASK_KILLED_DURING_LAUNCH);
  // The download stops (the stall timeout is a minute away) and the executor is gone.
  EXPECT_TRUE(waitUntil(
      [this] {
        for (const auto& call : peer_.calls()) {
          if (call.type() == internal::Call::EXECUTOR_EXITED &&
              call.executor_exited().executor_id().value() == "impatient") {
            return true;
          }
        }
        return false;
      },
      10s))
      << agent_->output();
  EXPECT_TRUE(sessionsUnder(dir_.path()).empty());
}

// ---- garbage collection of finished sandboxes (--gc_delay, --gc_disk_headroom)

class SandboxGcTest : public AgentTest {
 protected:
  // Starts the agent with `flags`, runs `sleeper` (long) and `quick`
  // (finishes at once); their sandboxes, once `quick` finished and its
  // executor completed.
  std::pair<std::string, std::string> runSleeperAndQuick(std::vector<std::string> flags) {
    extraFlags_ = std::move(flags);
    startAgent();
    EXPECT_TRUE(peer_.waitForRegistration(20s));
    EXPECT_TRUE(peer_.runTask(testFramework(), commandTask("sleeper", "sleep 100", peer_.agentId())));
    EXPECT_EQ(peer_.waitForUpdate("sleeper", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);
    EXPECT_TRUE(peer_.runTask(testFramework(), commandTask("quick", "true", peer_.agentId())));
    EXPECT_EQ(peer_.waitForUpdate("quick", mesos::v1::TASK_FINISHED, 30s).status().state(), mesos::v1::TASK_FINISHED);
    std::string sleeper, quick;
    EXPECT_TRUE(waitUntil(
        [&] {
          auto response = get("/state");
          if (!response.ok()) return false;
          const Json::Value root = parseJson(response->body);
          sleeper = sandboxOf(root, "sleeper");
          quick = sandboxOf(root, "quick");
          for (const auto& framework : root["frameworks"]) {
            if (!framework["completed_executors"].empty()) return true;
          }
          return false;
        },
        20s))
        << agent_->output();
    EXPECT_FALSE(sleeper.empty());
    EXPECT_FALSE(quick.empty());
    return {sleeper, quick};
  }
};

TEST_F(SandboxGcTest, AFinishedTasksSandboxIsRemovedAfterGcDelayAndARunningOneIsNot) {
  auto [sleeper, quick] = runSleeperAndQuick({"--gc_delay=1secs"});
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(waitUntil([&] { return !std::filesystem::exists(quick); }, 20s)) << agent_->output();
  EXPECT_TRUE(waitUntil(
      [this] { return parseJson(get("/metrics/snapshot")->body)["gc/path_removals_succeeded"].asDouble() == 1; }, 10s));
  std::this_thread::sleep_for(2s);  // well past --gc_delay
  EXPECT_TRUE(std::filesystem::exists(sleeper + "/stdout")) << "a running executor's sandbox was touched";
}

TEST_F(SandboxGcTest, ADiskFullerThanTheHeadroomRemovesFinishedSandboxesLongBeforeGcDelay) {
  // Headroom 1: every disk is "full", the allowed age is 0.
  auto [sleeper, quick] =
      runSleeperAndQuick({"--gc_delay=1weeks", "--gc_disk_headroom=1", "--disk_watch_interval=1secs"});
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(waitUntil([&] { return !std::filesystem::exists(quick); }, 20s)) << agent_->output();
  EXPECT_TRUE(std::filesystem::exists(sleeper + "/stdout"));
}

TEST_F(SandboxGcTest, ARestartedAgentSchedulesFinishedSandboxesAgainFromTheirMtime) {
  auto [sleeper, quick] = runSleeperAndQuick({"--gc_delay=1hrs"});
  ASSERT_FALSE(HasFailure());
  const int subscriptions = logLinesWith(" subscribed");
  agent_->kill();  // kill -9: the schedule in memory is gone
  // Both sandboxes look two hours old: past --gc_delay.
  const auto old = std::filesystem::file_time_type::clock::now() - 2h;
  std::filesystem::last_write_time(quick, old);
  std::filesystem::last_write_time(sleeper, old);
  startAgent();
  EXPECT_TRUE(waitUntil([&] { return !std::filesystem::exists(quick); }, 20s)) << agent_->output();
  // The recovered executor still runs (it subscribed to the new agent); its sandbox stays.
  EXPECT_TRUE(waitUntil([&] { return logLinesWith(" subscribed") > subscriptions; }, 30s)) << agent_->output();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(std::filesystem::exists(sleeper + "/stdout"));
}

TEST_F(AgentTest, AGcDiskHeadroomOutsideZeroToOneIsRefusedAtStartup) {
  extraFlags_ = {"--gc_disk_headroom=1.5"};
  ChildProcess agent(agentArgs(), dir_.path() / "refused.log");
  const int status = agent.wait(20s);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_THAT(agent.output(), HasSubstr("--gc_disk_headroom must be between 0 and 1"));
}

// ---- DRAIN: max_grace_period bounds the kill grace period

class DrainTest : public AgentTest {
 protected:
  // Runs a task that ignores SIGTERM with a kill policy of `taskGrace`
  // seconds, drains the agent with `maxGrace`, and returns how long the task
  // took to end TASK_KILLED (nullopt: it did not end so within a minute).
  std::optional<std::chrono::steady_clock::duration> drainStubbornTask(double taskGrace,
                                                                       std::optional<double> maxGrace) {
    startAgent();
    EXPECT_TRUE(peer_.waitForRegistration(20s));
    auto task = commandTask("stubborn", "trap '' TERM; sleep 100", peer_.agentId());
    task.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(static_cast<std::int64_t>(taskGrace * 1e9));
    EXPECT_TRUE(peer_.runTask(testFramework(), task));
    if (peer_.waitForUpdate("stubborn", mesos::v1::TASK_RUNNING, 30s).status().state() != mesos::v1::TASK_RUNNING) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(500ms);  // the shell has set its trap
    internal::Event drain;
    drain.set_type(internal::Event::DRAIN);
    auto* config = drain.mutable_drain()->mutable_config();
    if (maxGrace) config->mutable_max_grace_period()->set_nanoseconds(static_cast<std::int64_t>(*maxGrace * 1e9));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(peer_.send(drain));
    EXPECT_EQ(peer_.waitForUpdate("stubborn", mesos::v1::TASK_KILLING, 10s).status().state(), mesos::v1::TASK_KILLING);
    auto killed = peer_.waitForTerminal("stubborn", 60s);
    if (killed.status().state() != mesos::v1::TASK_KILLED) return std::nullopt;
    return std::chrono::steady_clock::now() - start;
  }
};

TEST_F(DrainTest, AMaxGracePeriodKillsATaskIgnoringSigtermWithinIt) {
  // Its own grace period is ten minutes; the drain allows one second.
  auto took = drainStubbornTask(600, 1.0);
  ASSERT_TRUE(took.has_value()) << agent_->output();
  EXPECT_LT(*took, 20s);
}

TEST_F(DrainTest, AMaxGracePeriodOfZeroKillsAtOnce) {
  auto took = drainStubbornTask(600, 0.0);
  ASSERT_TRUE(took.has_value()) << agent_->output();
  EXPECT_LT(*took, 15s);
}

TEST_F(DrainTest, WithoutAMaxGracePeriodATaskGetsItsOwnGracePeriod) {
  auto took = drainStubbornTask(5, std::nullopt);
  ASSERT_TRUE(took.has_value()) << agent_->output();
  EXPECT_GE(*took, 4s);  // (about) its five seconds
}

}  // namespace
}  // namespace mantle::testing

namespace mantle::testing {
namespace {

class AgentLoggingTest : public AgentTest {
 protected:
  Result<http::ClientResponse> operatorCall(const std::string& body) {
    return http::request("POST", agentUrl() + "/api/v1",
                         {{"Content-Type", "application/json"}, {"Accept", "application/json"}}, body);
  }
  int level() {
    auto r = operatorCall(R"({"type":"GET_LOGGING_LEVEL"})");
    EXPECT_TRUE(r.ok() && r->status == 200);
    return r.ok() ? parseJson(r->body)["get_logging_level"]["level"].asInt() : -1;
  }
};

TEST_F(AgentLoggingTest, LoggingLevelIsRaisedForItsDurationThenReverts) {
  startAgent();
  EXPECT_EQ(level(), 0);
  auto set = operatorCall(
      R"({"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":3,"duration":{"nanoseconds":600000000}}})");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(level(), 3);
  EXPECT_TRUE(waitUntil([&] { return level() == 0; }, 30s));

  auto toggle = get("/logging/toggle?level=2&duration=500ms");
  ASSERT_TRUE(toggle.ok());
  EXPECT_EQ(toggle->status, 200) << toggle->body;
  EXPECT_EQ(get("/logging/toggle")->body, "2\n");
  EXPECT_TRUE(waitUntil([&] { return level() == 0; }, 30s));

  EXPECT_EQ(get("/logging/toggle?duration=1secs")->status, 400);
  auto negative =
      operatorCall(R"({"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":-1}}})");
  EXPECT_EQ(negative->status, 400);
  EXPECT_THAT(negative->body, HasSubstr("must not be negative"));
  auto missing = operatorCall(R"({"type":"SET_LOGGING_LEVEL"})");
  EXPECT_EQ(missing->status, 400);
}

TEST_F(AgentLoggingTest, SettingTheLoggingLevelNeedsTheSetLogLevelAcl) {
  std::string acls = (dir_.path() / "acls.json").string();
  std::ofstream(acls) << R"({"permissive": false})";
  extraFlags_ = {"--acls=" + acls};
  startAgent();
  auto set = operatorCall(
      R"({"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":3,"duration":{"nanoseconds":600000000}}})");
  EXPECT_EQ(set->status, 403) << set->body;
  EXPECT_THAT(set->body, HasSubstr("set_log_level"));
  EXPECT_EQ(get("/logging/toggle?level=1&duration=1secs")->status, 403);
  EXPECT_EQ(level(), 0);
}

TEST_F(AgentTest, ModulesEndpointListsTheLoadedIsolatorsWithTheirVersionAndProcess) {
  startAgent();
  auto response = get("/slave(1)/modules");
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->status, 200) << response->body;
  bool sawCpu = false;
  const Json::Value report = parseJson(response->body);
  for (const Json::Value& module : report["modules"]) {
    if (module["instance"].asString() != "posix/cpu") continue;
    sawCpu = true;
    EXPECT_EQ(module["kind"].asString(), "isolator");
    EXPECT_EQ(module["library_name"].asString(), "mantle_posix");
    EXPECT_EQ(module["version"].asString(), "0.1.0");
    EXPECT_EQ(module["process"].asString(), "shared");
    EXPECT_TRUE(module["created"].asBool());
    EXPECT_TRUE(module["config"].isObject());
  }
  EXPECT_TRUE(sawCpu) << response->body;
}

TEST_F(AgentTest, ModulesEndpointNeedsTheViewFlagsAcl) {
  std::string acls = (dir_.path() / "acls.json").string();
  std::ofstream(acls) << R"({"permissive": false})";
  extraFlags_ = {"--acls=" + acls};
  startAgent();
  auto response = get("/modules");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 403) << response->body;
  EXPECT_THAT(response->body, HasSubstr("view_flags"));
}

}  // namespace
}  // namespace mantle::testing
