// `mantle cluster up|down` against the real binaries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <sstream>

#include "cluster.hpp"
#include "http/client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::cli {
namespace {

using ::testing::HasSubstr;
using testing::binary;
using testing::ChildProcess;
using testing::freePort;
using testing::TempDir;

int run(const std::vector<std::string>& args, const TempDir& dir, std::string* output) {
  static int n = 0;
  auto log = dir.path() / ("cli-" + std::to_string(++n) + ".log");
  ChildProcess cli(args, log);
  int status = cli.wait(std::chrono::seconds(60));
  *output = cli.output();
  return status == -1 ? -1 : WEXITSTATUS(status);
}

pid_t pidFrom(const std::filesystem::path& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

TEST(ClusterCommandTest, UpStartsMasterAndAgentDownStopsEverything) {
  TempDir dir;
  const std::string work = (dir.path() / "cluster").string();
  const int masterPort = freePort();
  const int agentPort = freePort();
  std::string out;
  int rc = run({binary("mantle"), "cluster", "up", "--work_dir=" + work, "--master_port=" + std::to_string(masterPort),
                "--agent_port=" + std::to_string(agentPort), "--resources=cpus:1;mem:256"},
               dir, &out);
  pid_t master = pidFrom(dir.path() / "cluster/master.pid");
  pid_t agent = pidFrom(dir.path() / "cluster/agent.pid");
  // Whatever happens below, nothing outlives the test.
  struct Reaper {
    pid_t a, b;
    ~Reaper() {
      if (a > 0) ::kill(a, SIGKILL);
      if (b > 0) ::kill(b, SIGKILL);
    }
  } reaper{master, agent};
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("Mantle cluster is up"));
  EXPECT_THAT(out, HasSubstr("http://127.0.0.1:" + std::to_string(masterPort)));
  EXPECT_THAT(out, HasSubstr("cluster down --work_dir=" + work));

  auto slaves = http::request("GET", "http://127.0.0.1:" + std::to_string(masterPort) + "/master/slaves", {}, "");
  ASSERT_TRUE(slaves.ok());
  EXPECT_THAT(slaves->body, HasSubstr("\"active\":true"));

  // A second `up` refuses, naming the running cluster.
  EXPECT_EQ(run({binary("mantle"), "cluster", "up", "--work_dir=" + work}, dir, &out), 1);
  EXPECT_THAT(out, HasSubstr("a cluster is already running in " + work));

  EXPECT_EQ(run({binary("mantle"), "cluster", "down", "--work_dir=" + work}, dir, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("is stopped"));
  EXPECT_TRUE(testing::waitUntil([&] { return ::kill(master, 0) != 0 && ::kill(agent, 0) != 0; },
                                 std::chrono::seconds(10)));
  EXPECT_FALSE(testing::waitForHealth("http://127.0.0.1:" + std::to_string(masterPort), std::chrono::milliseconds(200)));
}

TEST(RunCommandTest, MirrorsExitCodeAndPrintsOutput) {
  testing::LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok());
  TempDir dir;
  std::string out;
  EXPECT_EQ(run({binary("mantle"), "run", "--master=" + cluster.masterAddress(), "--env=WHO=mantle", "--",
                 "echo hello $WHO; exit 7"},
                dir, &out),
            7);
  EXPECT_THAT(out, HasSubstr("hello mantle\n"));
  EXPECT_THAT(out, HasSubstr("TASK_FAILED: Command exited with status 7"));
  EXPECT_EQ(run({binary("mantle"), "run", "--master=" + cluster.masterAddress(), "--", "true"}, dir, &out), 0) << out;
  // Nothing fits: waits, then gives up at the timeout with one clear line.
  EXPECT_EQ(run({binary("mantle"), "run", "--master=" + cluster.masterAddress(), "--resources=cpus:1000",
                 "--timeout=2secs", "--", "true"},
                dir, &out),
            1);
  EXPECT_THAT(out, HasSubstr("mantle: error: timed out after 2s"));
  EXPECT_EQ(run({binary("mantle"), "run", "--master=" + cluster.masterAddress()}, dir, &out), 2);
  EXPECT_THAT(out, HasSubstr("mantle: error: no command to run"));
}

TEST(ClusterCommandTest, BadFlagIsOneClearLine) {
  TempDir dir;
  std::string out;
  EXPECT_EQ(run({binary("mantle"), "cluster", "up", "--master_prot=1"}, dir, &out), 2);
  EXPECT_EQ(out, "mantle: error: unknown flag '--master_prot' (see --help)\n");
}

// Every command reads its flags alike (cli/command_flags.hpp), before it
// needs a master: a bad flag is one line and exit 2, --help the command's
// usage and exit 0.
TEST(ClusterCommandTest, EveryCommandAnswersABadFlagWithOneLineAndHelpWithItsUsage) {
  TempDir dir;
  std::string out;
  for (const std::string command :
       {"cluster up", "cluster down", "run", "agents", "frameworks", "tasks", "logs", "kill"}) {
    std::vector<std::string> args = {binary("mantle")};
    std::istringstream words(command);
    for (std::string word; words >> word;) args.push_back(word);
    args.push_back("--nonesuch=1");
    EXPECT_EQ(run(args, dir, &out), 2) << command << ": " << out;
    EXPECT_EQ(out, "mantle: error: unknown flag '--nonesuch' (see --help)\n") << command;
    args.back() = "--help";
    EXPECT_EQ(run(args, dir, &out), 0) << command << ": " << out;
    EXPECT_THAT(out, ::testing::StartsWith("Usage: mantle " + command + " [options]\n")) << command;
  }
}

}  // namespace
}  // namespace mantle::cli
