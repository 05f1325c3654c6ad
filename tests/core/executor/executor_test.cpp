// mantle-executor through a real agent: environment, task groups, and the
// health checks (command, TCP, HTTP; IPv4 and IPv6) with Mesos' HealthCheck fields.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <elf.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "agent_fixture.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

mesos::v1::HealthCheck commandCheck(const std::string& command, std::uint32_t failures) {
  mesos::v1::HealthCheck check;
  check.set_type(mesos::v1::HealthCheck::COMMAND);
  check.mutable_command()->set_value(command);
  check.set_delay_seconds(0);
  check.set_interval_seconds(0.2);
  check.set_timeout_seconds(5);
  check.set_grace_period_seconds(0);
  check.set_consecutive_failures(failures);
  return check;
}

std::vector<internal::StatusUpdate> withHealth(const std::vector<internal::StatusUpdate>& updates) {
  std::vector<internal::StatusUpdate> out;
  for (const auto& update : updates) {
    if (update.status().has_healthy()) out.push_back(update);
  }
  return out;
}

using ExecutorTest = AgentTest;

TEST_F(ExecutorTest, TaskSeesTheMesosEnvironment) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto out = dir_.path() / "env";
  auto task = commandTask("env", "env > " + out.string(), peer_.agentId());
  auto* variable = task.mutable_command()->mutable_environment()->add_variables();
  variable->set_name("FROM_TASK");
  variable->set_value("yes");
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  ASSERT_EQ(peer_.waitForTerminal("env", 30s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  std::ifstream in(out);
  std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* name :
       {"MESOS_FRAMEWORK_ID=framework-1", "MESOS_EXECUTOR_ID=env", "MESOS_AGENT_ENDPOINT=127.0.0.1:", "MESOS_SANDBOX=",
        "MESOS_DIRECTORY=", "MESOS_CHECKPOINT=1", "MESOS_RECOVERY_TIMEOUT=", "MESOS_SUBSCRIPTION_BACKOFF_MAX=",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=", "FROM_TASK=yes"}) {
    EXPECT_THAT(env, HasSubstr(name));
  }
}

TEST_F(ExecutorTest, TheTaskInheritsNoDescriptorOfTheExecutorBeyondItsStandardStreams) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto out = dir_.path() / "fds";
  // ls opens the directory it lists as fd 3 when nothing else is open.
  auto task = commandTask("fds", "exec ls /proc/self/fd > " + out.string(), peer_.agentId());
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  ASSERT_EQ(peer_.waitForTerminal("fds", 30s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();
  std::ifstream in(out);
  std::string fds((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(fds, "0\n1\n2\n3\n");
}

TEST_F(ExecutorTest, NonShellCommandRunsValueWithTheWholeArgvAsArguments) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto out = dir_.path() / "argv";
  auto task = commandTask("argv", "", peer_.agentId());
  // As Mesos: `value` is the program (found in PATH), `arguments` the whole
  // argv, argv[0] included; nothing is split or expanded.
  mesos::v1::CommandInfo* command = task.mutable_command();
  command->set_shell(false);
  command->set_value("sh");
  for (const std::string& argument :
       {std::string("named-zero"), std::string("-c"), "tr '\\0' '|' < /proc/$$/cmdline > " + out.string() + "; exit 4",
        std::string("x"), std::string("one two")}) {
    command->add_arguments(argument);
  }
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  const internal::StatusUpdate terminal = peer_.waitForTerminal("argv", 30s);
  EXPECT_EQ(terminal.status().state(), mesos::v1::TASK_FAILED) << agent_->output();
  EXPECT_THAT(terminal.status().message(), HasSubstr("Command exited with status 4"));
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_THAT(line, ::testing::StartsWith("named-zero|-c|tr "));
  EXPECT_THAT(line, ::testing::EndsWith("|x|one two|"));
}

TEST_F(ExecutorTest, PassingHealthCheckReportsHealthy) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto task = commandTask("healthy", "sleep 100", peer_.agentId());
  *task.mutable_health_check() = commandCheck("true", 3);
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  ASSERT_TRUE(waitUntil([&] { return !withHealth(peer_.distinctUpdates("healthy")).empty(); }, 20s))
      << agent_->output();
  auto update = withHealth(peer_.distinctUpdates("healthy")).front();
  EXPECT_EQ(update.status().state(), mesos::v1::TASK_RUNNING);
  EXPECT_TRUE(update.status().healthy());
  EXPECT_EQ(update.status().reason(), mesos::v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
}

TEST_F(ExecutorTest, FailingHealthCheckKillsTheTask) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto task = commandTask("sick", "sleep 100", peer_.agentId());
  *task.mutable_health_check() = commandCheck("exit 1", 2);
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  auto killed = peer_.waitForTerminal("sick", 30s);
  ASSERT_EQ(killed.status().state(), mesos::v1::TASK_KILLED) << agent_->output();
  EXPECT_THAT(killed.status().message(), HasSubstr("health check"));
  auto health = withHealth(peer_.distinctUpdates("sick"));
  ASSERT_FALSE(health.empty());
  EXPECT_FALSE(health.front().status().healthy());
}

TEST_F(ExecutorTest, TcpHealthCheckFailsWithNothingListening) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  auto task = commandTask("deaf", "sleep 100", peer_.agentId());
  mesos::v1::HealthCheck check = commandCheck("", 1);
  check.clear_command();
  check.set_type(mesos::v1::HealthCheck::TCP);
  check.mutable_tcp()->set_port(static_cast<std::uint32_t>(freePort()));
  *task.mutable_health_check() = check;
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  auto killed = peer_.waitForTerminal("deaf", 30s);
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED) << agent_->output();
  EXPECT_THAT(killed.status().message(), HasSubstr("TCP connection"));
}

TEST_F(ExecutorTest, HealthChecksWithProtocolIpv6ConnectToTheIpv6Loopback) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "the tasks serve HTTP with python3";
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  // Each task serves on ::1 only; the checks of protocol IPv6 reach it, the
  // IPv4 one (127.0.0.1) does not.
  const auto serving = [&](const std::string& id, mesos::v1::HealthCheck check) {
    const std::string port = std::to_string(check.has_http() ? check.http().port() : check.tcp().port());
    auto task = commandTask(id, "exec python3 -m http.server " + port + " --bind ::1 >/dev/null 2>&1", peer_.agentId());
    check.clear_command();
    *task.mutable_health_check() = check;
    return task;
  };
  mesos::v1::HealthCheck http = commandCheck("", 2);
  http.set_grace_period_seconds(30);  // until the server is up
  http.set_type(mesos::v1::HealthCheck::HTTP);
  http.mutable_http()->set_port(static_cast<std::uint32_t>(freePort()));
  http.mutable_http()->set_protocol(mesos::v1::NetworkInfo::IPv6);
  mesos::v1::HealthCheck tcp = commandCheck("", 2);
  tcp.set_grace_period_seconds(30);
  tcp.set_type(mesos::v1::HealthCheck::TCP);
  tcp.mutable_tcp()->set_port(static_cast<std::uint32_t>(freePort()));
  tcp.mutable_tcp()->set_protocol(mesos::v1::NetworkInfo::IPv6);
  mesos::v1::HealthCheck v4 = http;
  v4.mutable_http()->set_port(static_cast<std::uint32_t>(freePort()));
  v4.mutable_http()->clear_protocol();
  v4.set_grace_period_seconds(0);
  for (const auto& task : {serving("v6-http", http), serving("v6-tcp", tcp), serving("v4-http", v4)}) {
    ASSERT_TRUE(peer_.runTask(testFramework(), task));
  }
  for (const std::string id : {"v6-http", "v6-tcp"}) {
    ASSERT_TRUE(waitUntil([&] { return !withHealth(peer_.distinctUpdates(id)).empty(); }, 30s)) << agent_->output();
    EXPECT_TRUE(withHealth(peer_.distinctUpdates(id)).front().status().healthy()) << id;
  }
  auto killed = peer_.waitForTerminal("v4-http", 30s);
  EXPECT_EQ(killed.status().state(), mesos::v1::TASK_KILLED) << agent_->output();
  EXPECT_THAT(killed.status().message(), HasSubstr("http://127.0.0.1:"));
}

TEST_F(ExecutorTest, HealthCheckFailuresInTheGracePeriodAreIgnored) {
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  const auto ready = dir_.path() / "ready";
  auto task = commandTask("slowstart", "sleep 1; touch " + ready.string() + "; sleep 100", peer_.agentId());
  mesos::v1::HealthCheck check = commandCheck("test -e " + ready.string(), 1);
  check.set_grace_period_seconds(20);
  *task.mutable_health_check() = check;
  ASSERT_TRUE(peer_.runTask(testFramework(), task));
  ASSERT_TRUE(waitUntil([&] { return !withHealth(peer_.distinctUpdates("slowstart")).empty(); }, 20s));
  auto first = withHealth(peer_.distinctUpdates("slowstart")).front();
  EXPECT_TRUE(first.status().healthy());
  EXPECT_FALSE(wire::isTerminal(peer_.distinctUpdates("slowstart").back().status().state()));
}

// The libraries an ELF binary names as DT_NEEDED (read from its section
// table: the .dynamic section and the string table it links to).
std::vector<std::string> neededLibraries(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> needed;
  if (bytes.size() < sizeof(Elf64_Ehdr)) return needed;
  Elf64_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  auto section = [&](std::size_t index) {
    Elf64_Shdr out{};
    const std::size_t at = header.e_shoff + index * header.e_shentsize;
    if (at + sizeof(out) <= bytes.size()) std::memcpy(&out, bytes.data() + at, sizeof(out));
    return out;
  };
  for (std::size_t i = 0; i < header.e_shnum; ++i) {
    const Elf64_Shdr dynamic = section(i);
    if (dynamic.sh_type != SHT_DYNAMIC) continue;
    const Elf64_Shdr strings = section(dynamic.sh_link);
    for (std::size_t at = dynamic.sh_offset; at + sizeof(Elf64_Dyn) <= dynamic.sh_offset + dynamic.sh_size;
         at += sizeof(Elf64_Dyn)) {
      Elf64_Dyn entry;
      std::memcpy(&entry, bytes.data() + at, sizeof(entry));
      if (entry.d_tag == DT_NEEDED) needed.emplace_back(bytes.c_str() + strings.sh_offset + entry.d_un.d_val);
    }
  }
  return needed;
}

// mantle-executor starts for every command task; libcurl alone used to bring
// 35 shared libraries into its start-up (bench/README.md, launch speed).
TEST(ExecutorBinaryTest, TheExecutorNeedsNoLibcurl) {
  const std::vector<std::string> needed = neededLibraries(binary("mantle-executor"));
  ASSERT_FALSE(needed.empty());
  std::string names;
  for (const std::string& name : needed) names += name + " ";
  EXPECT_THAT(names, Not(HasSubstr("libcurl")));
}

}  // namespace
}  // namespace mantle::testing
