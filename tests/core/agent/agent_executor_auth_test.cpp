// Executor tokens (--authenticate_http_executors) with a real mantle-agent and
// real mantle-executor processes: tasks still run, each executor's token is
// accepted for that executor only (another executor's token: 403 naming the
// mismatch; none: 401 with a Bearer challenge), and tokens given out before an
// agent restart still validate after it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "agent_fixture.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// The environment variable `name` of the live process whose MESOS_EXECUTOR_ID
// is `executorId`, whose sandbox lies under `root` and which is (`executor`)
// or is not mantle-executor itself; "<none>" when no such process has it.
std::string executorVariable(const std::filesystem::path& root, const std::string& executorId, const std::string& name,
                             bool executor = true) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    if (!in) continue;
    std::string environ((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::map<std::string, std::string> variables;
    std::size_t start = 0;
    while (start < environ.size()) {
      std::size_t end = environ.find('\0', start);
      if (end == std::string::npos) end = environ.size();
      std::string text = environ.substr(start, end - start);
      std::size_t eq = text.find('=');
      if (eq != std::string::npos) variables[text.substr(0, eq)] = text.substr(eq + 1);
      start = end + 1;
    }
    if (variables["MESOS_EXECUTOR_ID"] != executorId) continue;
    if (variables["MESOS_SANDBOX"].rfind(root.string(), 0) != 0) continue;
    std::ifstream cmdline(entry.path() / "cmdline", std::ios::binary);
    std::string command((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if ((command.find("mantle-executor") != std::string::npos) != executor) continue;
    auto it = variables.find(name);
    if (it != variables.end()) return it->second;
  }
  return "<none>";
}

// A harmless executor call (MESSAGE) for `executorId` of framework-1.
Result<http::ClientResponse> executorMessage(const std::string& agentUrl, const std::string& executorId,
                                             const std::string& token) {
  http::Headers headers = {{"Content-Type", "application/json"}};
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  const std::string body = R"({"type":"MESSAGE","framework_id":{"value":"framework-1"},"executor_id":{"value":")" +
                           executorId + R"("},"message":{"data":"aGk="}})";
  return http::request("POST", agentUrl + "/api/v1/executor", headers, body, http::ClientOptions{10, 2});
}

TEST_F(AgentTest, ExecutorTokensAdmitOnlyTheirOwnExecutorAndSurviveAnAgentRestart) {
  extraFlags_ = {"--authenticate_http_executors"};
  startAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));

  // A normal task still runs to the end with tokens on.
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("quick", "echo fine", peer_.agentId())));
  ASSERT_EQ(peer_.waitForTerminal("quick", 30s).status().state(), mesos::v1::TASK_FINISHED) << agent_->output();

  const std::filesystem::path marker = dir_.path() / "release";
  const std::string wait = "while [ ! -e " + marker.string() + " ]; do sleep 0.1; done";
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("first", wait, peer_.agentId())));
  ASSERT_TRUE(peer_.runTask(testFramework(), commandTask("second", wait, peer_.agentId())));
  ASSERT_EQ(peer_.waitForUpdate("first", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);
  ASSERT_EQ(peer_.waitForUpdate("second", mesos::v1::TASK_RUNNING, 30s).status().state(), mesos::v1::TASK_RUNNING);

  const std::string firstToken = executorVariable(dir_.path(), "first", "MESOS_EXECUTOR_AUTHENTICATION_TOKEN");
  const std::string secondToken = executorVariable(dir_.path(), "second", "MESOS_EXECUTOR_AUTHENTICATION_TOKEN");
  ASSERT_EQ(firstToken.size(), 64u) << firstToken;
  ASSERT_EQ(secondToken.size(), 64u) << secondToken;
  EXPECT_NE(firstToken, secondToken);
  // The token never reaches the task's environment.
  EXPECT_EQ(executorVariable(dir_.path(), "first", "MESOS_SANDBOX", false).rfind(dir_.path().string(), 0), 0u);
  EXPECT_EQ(executorVariable(dir_.path(), "first", "MESOS_EXECUTOR_AUTHENTICATION_TOKEN", false), "<none>");

  // The first executor's token, used for the second executor: 403, naming both.
  auto forbidden = executorMessage(agentUrl(), "second", firstToken);
  ASSERT_TRUE(forbidden.ok()) << forbidden.error().message;
  EXPECT_EQ(forbidden->status, 403) << forbidden->body;
  EXPECT_THAT(forbidden->body, HasSubstr("executor 'first' of framework 'framework-1'"));
  EXPECT_THAT(forbidden->body, HasSubstr("not of executor 'second' of framework 'framework-1'"));

  // No token: 401 with a Bearer challenge.
  auto missing = executorMessage(agentUrl(), "second", "");
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_EQ(missing->status, 401) << missing->body;
  EXPECT_THAT(missing->header("WWW-Authenticate"), HasSubstr("Bearer realm=\"mesos-agent-executor\""));

  // A token of no executor at all: 401 invalid_token, never 500.
  auto forged = executorMessage(agentUrl(), "second", std::string(64, 'a'));
  ASSERT_TRUE(forged.ok()) << forged.error().message;
  EXPECT_EQ(forged->status, 401) << forged->body;
  EXPECT_THAT(forged->header("WWW-Authenticate"), HasSubstr("error=\"invalid_token\""));

  // Its own token: accepted.
  auto own = executorMessage(agentUrl(), "second", secondToken);
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own->status, 202) << own->body;

  // After a restart the key comes from the work dir: the executors subscribe
  // again with the tokens they were given, and their tasks finish.
  agent_->kill();
  startAgent();
  ASSERT_TRUE(waitUntil([this] { return peer_.reregistrations() >= 1; }, 20s)) << agent_->output();
  auto again = executorMessage(agentUrl(), "second", secondToken);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->status, 202) << again->body;
  auto stillForbidden = executorMessage(agentUrl(), "second", firstToken);
  ASSERT_TRUE(stillForbidden.ok()) << stillForbidden.error().message;
  EXPECT_EQ(stillForbidden->status, 403) << stillForbidden->body;
  std::ofstream(marker) << "go";
  EXPECT_EQ(peer_.waitForUpdate("first", mesos::v1::TASK_FINISHED, 30s).status().state(), mesos::v1::TASK_FINISHED)
      << agent_->output();
  EXPECT_EQ(peer_.waitForUpdate("second", mesos::v1::TASK_FINISHED, 30s).status().state(), mesos::v1::TASK_FINISHED)
      << agent_->output();
}

}  // namespace
}  // namespace mantle::testing
