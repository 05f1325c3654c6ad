// mantle agents|frameworks|tasks|logs|kill and mantle run's executor, health
// check and --follow options against a live local cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <sstream>
#include <thread>

#include <json/value.h>

#include <boost/asio/io_context.hpp>

#include "cluster.hpp"
#include "http/server.hpp"
#include "http_json.hpp"
#include "process.hpp"
#include "scheduler/scheduler.hpp"
#include "temp_dir.hpp"

namespace mantle::cli {
namespace {

using testing::binary;
using testing::ChildProcess;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::parseJson;
using testing::TempDir;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.start().ok()) << cluster_.logs(); }

  // Runs `mantle ARGS... --master=...` to the end; returns its exit code.
  int mantle(std::vector<std::string> args, std::string* output) {
    args.insert(args.begin(), binary("mantle"));
    ChildProcess cli(args, dir_.path() / ("cli-" + std::to_string(++runs_) + ".log"),
                     {{"MANTLE_MASTER", cluster_.masterAddress()}});
    const int status = cli.wait(std::chrono::seconds(60));
    *output = cli.output();
    return status == -1 ? -1 : WEXITSTATUS(status);
  }

  // `mantle run` in the background.
  std::unique_ptr<ChildProcess> background(std::vector<std::string> args) {
    args.insert(args.begin(), {binary("mantle"), "run"});
    return std::make_unique<ChildProcess>(
        args, dir_.path() / ("bg-" + std::to_string(++runs_) + ".log"),
        std::map<std::string, std::string>{{"MANTLE_MASTER", cluster_.masterAddress()}});
  }

  Json::Value json(std::vector<std::string> args) {
    std::string out;
    EXPECT_EQ(mantle(args, &out), 0) << out;
    return parseJson(out);
  }

  // The state of the one task whose id starts with `prefix`, "" if none.
  std::string taskState(const std::string& prefix) {
    for (const Json::Value& task : json({"tasks", "--all", "--json"})) {
      if (task["id"].asString().rfind(prefix, 0) == 0) return task["state"].asString();
    }
    return "";
  }

  bool waitForState(const std::string& prefix, const std::string& state) {
    return testing::waitUntil([&] { return taskState(prefix) == state; }, std::chrono::seconds(30));
  }

  testing::LocalCluster cluster_;
  TempDir dir_;
  int runs_ = 0;
};

TEST_F(CliTest, ListsAgentsFrameworksAndTasksAsTablesAndJson) {
  std::string out;
  ASSERT_EQ(mantle({"agents"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("ID"));
  EXPECT_THAT(out, HasSubstr("CPUS"));
  EXPECT_THAT(out, HasSubstr("0/4"));
  Json::Value agents = json({"agents", "--json"});
  ASSERT_TRUE(agents.isArray());
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_THAT(out, HasSubstr(agents[0]["id"].asString()));

  auto sleeper = background({"--name=sleeper", "--resources=cpus:0.5;mem:64", "--", "sleep 60"});
  ASSERT_TRUE(waitForState("sleeper-", "TASK_RUNNING")) << sleeper->output();

  Json::Value frameworks = json({"frameworks", "--json"});
  ASSERT_TRUE(frameworks.isArray());
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0]["name"].asString(), "sleeper");
  ASSERT_EQ(mantle({"frameworks"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("NAME"));
  EXPECT_THAT(out, HasSubstr("sleeper"));
  EXPECT_THAT(out, HasSubstr("active"));

  Json::Value tasks = json({"tasks", "--json"});
  ASSERT_TRUE(tasks.isArray());
  ASSERT_EQ(tasks.size(), 1u);
  const std::string id = tasks[0]["id"].asString();
  EXPECT_EQ(tasks[0]["framework_id"].asString(), frameworks[0]["id"].asString());
  ASSERT_EQ(mantle({"tasks"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr(id));
  EXPECT_THAT(out, HasSubstr("TASK_RUNNING"));
  EXPECT_THAT(out, HasSubstr("sleeper"));  // the framework's name, not its id
  // Rows line up: the STATE column starts where its header does.
  std::istringstream lines(out);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.find("STATE"), row.find("TASK_RUNNING"));
  EXPECT_EQ(json({"tasks", "--json", "--framework=nonesuch"}).size(), 0u);

  ASSERT_EQ(mantle({"kill", "sleeper-"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("TASK_KILLED"));
  EXPECT_EQ(sleeper->wait(std::chrono::seconds(30)) >> 8, 137) << sleeper->output();
  EXPECT_THAT(sleeper->output(), HasSubstr("TASK_KILLED"));
  EXPECT_EQ(json({"tasks", "--json"}).size(), 0u);
  EXPECT_EQ(taskState(id), "TASK_KILLED");
  EXPECT_EQ(json({"frameworks", "--json", "--all"}).size(), 1u);
}

TEST_F(CliTest, LogsPrintsAndFollowsATasksOutput) {
  auto talker =
      background({"--name=talker", "--", "echo to-stdout; echo to-stderr >&2; sleep 2; echo later; sleep 60"});
  ASSERT_TRUE(waitForState("talker-", "TASK_RUNNING")) << talker->output();
  std::string out;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        return mantle({"logs", "talker-"}, &out) == 0 && out.find("to-stdout") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << out;
  EXPECT_THAT(out, Not(HasSubstr("to-stderr")));
  ASSERT_EQ(mantle({"logs", "--stderr", "talker-"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("to-stderr"));
  EXPECT_THAT(out, Not(HasSubstr("to-stdout")));

  // -f keeps reading until the task ends.
  ChildProcess follower({binary("mantle"), "logs", "-f", "--master", cluster_.masterAddress(), "talker-"},
                        dir_.path() / "follow.log");
  EXPECT_TRUE(testing::waitUntil([&] { return follower.output().find("later") != std::string::npos; },
                                 std::chrono::seconds(20)))
      << follower.output();
  EXPECT_TRUE(follower.running());
  ASSERT_EQ(mantle({"kill", "talker-"}, &out), 0) << out;
  EXPECT_EQ(follower.wait(std::chrono::seconds(20)) >> 8, 0) << follower.output();

  EXPECT_EQ(mantle({"logs", "nonesuch"}, &out), 1);
  EXPECT_EQ(out, "mantle: error: no task 'nonesuch' is known to the master at " + cluster_.masterAddress() + "\n");
  EXPECT_EQ(mantle({"logs"}, &out), 2);
  EXPECT_THAT(out, HasSubstr("mantle: error: name one task"));
}

TEST_F(CliTest, KillRefusesOtherFrameworksTasksUnlessTornDown) {
  // A framework of its own, not started by `mantle run`.
  scheduler::SchedulerOptions options;
  options.master = cluster_.masterAddress();
  options.frameworkInfo.set_user("nobody");
  options.frameworkInfo.set_name("other");
  std::unique_ptr<scheduler::Scheduler> other;
  std::atomic<bool> launched{false};
  scheduler::SchedulerCallbacks callbacks;
  callbacks.offers = [&](const std::vector<mesos::v1::Offer>& offers) {
    for (const auto& offer : offers) {
      if (launched.exchange(true)) {
        (void)other->decline({offer.id()});
      } else {
        (void)other->launch(offer, {scheduler::commandTask("other-task", offer, "sleep 60", "cpus:0.1;mem:32")});
      }
    }
  };
  other = std::make_unique<scheduler::Scheduler>(options, callbacks);
  other->start();
  ASSERT_TRUE(waitForState("other-task", "TASK_RUNNING"));

  std::string out;
  EXPECT_EQ(mantle({"kill", "other-task"}, &out), 1);
  EXPECT_THAT(out, HasSubstr("belongs to framework 'other'"));
  EXPECT_THAT(out, HasSubstr("--teardown"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_EQ(taskState("other-task"), "TASK_RUNNING");
  ASSERT_EQ(mantle({"kill", "--teardown", "other-task"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("TASK_KILLED"));
  EXPECT_EQ(mantle({"kill", "other-task"}, &out), 1);
  EXPECT_THAT(out, HasSubstr("has already ended (TASK_KILLED)"));
  other->stop();
}

TEST_F(CliTest, RunFollowStreamsOutputWhileTheTaskRuns) {
  auto run = background({"--follow", "--", "echo first; sleep 4; echo second"});
  EXPECT_TRUE(
      testing::waitUntil([&] { return run->output().find("first") != std::string::npos; }, std::chrono::seconds(20)))
      << run->output();
  EXPECT_THAT(run->output(), Not(HasSubstr("second")));
  EXPECT_TRUE(run->running());
  EXPECT_EQ(run->wait(std::chrono::seconds(30)) >> 8, 0) << run->output();
  EXPECT_THAT(run->output(), HasSubstr("second"));
  // Each line once.
  const std::string out = run->output();
  EXPECT_EQ(out.find("first"), out.rfind("first"));
}

TEST_F(CliTest, RunWithACustomExecutor) {
  std::string out;
  EXPECT_EQ(
      mantle({"run", "--executor=" + binary("mantle-test-shell-executor"), "--", "echo via executor; exit 3"}, &out),
      3);
  EXPECT_THAT(out, HasSubstr("shell-executor: running 'echo via executor; exit 3'"));
  EXPECT_THAT(out, HasSubstr("via executor\n"));
  EXPECT_EQ(mantle({"run", "--executor=" + binary("mantle-test-shell-executor"), "--", "true"}, &out), 0) << out;
}

TEST_F(CliTest, RunWithHealthChecks) {
  // A passing check shows up in the task's statuses; the task then finishes.
  auto healthy =
      background({"--name=healthy", "--health_check_cmd=true", "--health_check_interval=200ms", "--", "sleep 3"});
  EXPECT_TRUE(testing::waitUntil(
      [&] {
        for (const Json::Value& task : json({"tasks", "--json"})) {
          for (const Json::Value& status : task["statuses"]) {
            if (status.get("healthy", false).asBool()) return true;
          }
        }
        return false;
      },
      std::chrono::seconds(20)));
  std::string out;
  ASSERT_EQ(mantle({"tasks"}, &out), 0);
  EXPECT_THAT(out, HasSubstr("healthy"));
  EXPECT_EQ(healthy->wait(std::chrono::seconds(30)) >> 8, 0) << healthy->output();

  // A failing one kills the task.
  EXPECT_EQ(
      mantle({"run", "--health_check_http=1/nothing", "--health_check_interval=200ms", "--health_check_timeout=1secs",
              "--health_check_grace=0secs", "--health_check_failures=2", "--", "sleep 60"},
             &out),
      137);
  EXPECT_THAT(out, HasSubstr("TASK_KILLED"));

  EXPECT_EQ(mantle({"run", "--health_check_http=http", "--", "true"}, &out), 2);
  EXPECT_EQ(out, "mantle: error: --health_check_http: expected PORT[/PATH], got 'http'\n");
}

TEST_F(CliTest, RunWithSeveralWordsRunsThemAsAnArgvAndMirrorsTheExitCode) {
  std::string out;
  // Joined into one shell string this was `sh -c exit 7`: exit 0.
  EXPECT_EQ(mantle({"run", "--", "sh", "-c", "exit 7"}, &out), 7) << out;
  EXPECT_THAT(out, HasSubstr("TASK_FAILED: Command exited with status 7"));
  // An argument with spaces stays one argument; nothing is expanded.
  EXPECT_EQ(mantle({"run", "--", "printf", "[%s]", "a b", "$HOME"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("[a b][$HOME]"));
  // The program is looked up in PATH; a missing one fails with 127.
  EXPECT_EQ(mantle({"run", "--", "mantle-no-such-program", "x"}, &out), 127) << out;
  // One word stays a shell command.
  EXPECT_EQ(mantle({"run", "--", "echo one two; exit 3"}, &out), 3) << out;
  EXPECT_THAT(out, HasSubstr("one two\n"));
  // A custom executor gets several words quoted for sh as its data.
  EXPECT_EQ(mantle({"run", "--executor=" + binary("mantle-test-shell-executor"), "--", "sh", "-c", "exit 5"}, &out), 5)
      << out;
  EXPECT_THAT(out, HasSubstr("shell-executor: running 'sh -c 'exit 5''"));
}

TEST_F(CliTest, RunResourceShorthandsReachTheTask) {
  std::string out;
  ASSERT_EQ(mantle({"run", "--name=sized", "--cpus=0.25", "--mem=48", "--disk=8", "--", "true"}, &out), 0) << out;
  ASSERT_EQ(mantle({"run", "--name=mixed", "--resources=cpus:0.5;disk:2", "--mem=40", "--", "true"}, &out), 0) << out;
  std::map<std::string, Json::Value> byName;
  for (const Json::Value& task : json({"tasks", "--all", "--json"})) byName[task["name"].asString()] = task;
  ASSERT_EQ(byName.count("sized"), 1u);
  EXPECT_DOUBLE_EQ(byName["sized"]["resources"]["cpus"].asDouble(), 0.25);
  EXPECT_DOUBLE_EQ(byName["sized"]["resources"]["mem"].asDouble(), 48);
  EXPECT_DOUBLE_EQ(byName["sized"]["resources"]["disk"].asDouble(), 8);
  ASSERT_EQ(byName.count("mixed"), 1u);
  EXPECT_DOUBLE_EQ(byName["mixed"]["resources"]["cpus"].asDouble(), 0.5);
  EXPECT_DOUBLE_EQ(byName["mixed"]["resources"]["mem"].asDouble(), 40);
  EXPECT_DOUBLE_EQ(byName["mixed"]["resources"]["disk"].asDouble(), 2);

  EXPECT_EQ(mantle({"run", "--resources=cpus:1;mem:32", "--cpus=2", "--", "true"}, &out), 2);
  EXPECT_EQ(out, "mantle: error: --cpus and --resources both give cpus; give it once\n");
  for (const char* bad : {"--mem=-1", "--mem=lots", "--gpus=nan", "--cpus=1e999"}) {
    EXPECT_EQ(mantle({"run", bad, "--", "true"}, &out), 2) << bad;
    EXPECT_THAT(out, HasSubstr("expected a non-negative number")) << bad;
  }
}

TEST(CliErrorsTest, AnUnreachableMasterIsOneLine) {
  TempDir dir;
  const int port = testing::freePort();
  for (const char* command : {"agents", "frameworks", "tasks"}) {
    ChildProcess cli({binary("mantle"), command, "--master=127.0.0.1:" + std::to_string(port)}, dir.path() / command);
    EXPECT_EQ(cli.wait(std::chrono::seconds(30)) >> 8, 1);
    const std::string out = cli.output();
    EXPECT_THAT(out, HasSubstr("mantle: error: cannot reach http://127.0.0.1:" + std::to_string(port)));
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
}

TEST(CliErrorsTest, AMasterAnsweringHostileJsonIsOneLineNotACrash) {
  // 100,000 nested arrays: jsoncpp alone throws past its stack limit.
  boost::asio::io_context io;
  http::Server server(io, [](const http::Request&, const http::Responder& responder) {
    responder.respond(http::Response{200, {{"Content-Type", "application/json"}}, std::string(100000, '[')});
  });
  auto port = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.error().message;
  std::thread serving([&] { io.run(); });
  TempDir dir;
  for (const char* command : {"agents", "frameworks", "tasks"}) {
    ChildProcess cli({binary("mantle"), command, "--master=127.0.0.1:" + std::to_string(*port)}, dir.path() / command);
    EXPECT_EQ(cli.wait(std::chrono::seconds(30)) >> 8, 1) << cli.output();
    const std::string out = cli.output();
    EXPECT_THAT(out, HasSubstr("did not answer JSON: nesting deeper than 100 levels"));
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
  server.stop();
  io.stop();
  serving.join();
}

}  // namespace
}  // namespace mantle::cli
