// The master's web UI in a real browser: headless Chromium (browser.hpp)
// against a real mantle-master and mantle-agent, tasks launched and killed
// with the mantle CLI, and a failover of masters elected through ZooKeeper.
// Skipped when Chromium is not installed. Screenshots of the views go to
// MANTLE_UI_ARTIFACTS (default: tests/e2e/ui/artifacts in the build).
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "browser.hpp"
#include "cluster.hpp"
#include "ha_cluster.hpp"
#include "http/client.hpp"
#include "process.hpp"
#include "scheduler/scheduler.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {
namespace {

using namespace std::chrono_literals;

std::filesystem::path artifacts() {
  const char* dir = std::getenv("MANTLE_UI_ARTIFACTS");
  return dir != nullptr && *dir != '\0' ? std::filesystem::path(dir)
                                        : std::filesystem::path(MANTLE_UI_ARTIFACTS_DEFAULT);
}

// The text of every row of the page's table `table` (data-table attribute).
std::string rowsOf(const std::string& table) {
  return "[...document.querySelectorAll('[data-table=" + table + "] tbody tr')].map((tr) => tr.innerText)";
}
// True when a row of `table` contains every one of `words`.
std::string rowWith(const std::string& table, const std::vector<std::string>& words) {
  std::string test;
  for (const std::string& word : words)
    test += (test.empty() ? "" : " && ") + std::string("r.includes('") + word + "')";
  return rowsOf(table) + ".some((r) => " + test + ")";
}

class UiE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Browser::binary().empty()) GTEST_SKIP() << "Chromium is not installed (scripts/install-deps.sh installs it)";
  }

  void openBrowser() {
    Result<std::unique_ptr<Browser>> launched = Browser::launch();
    ASSERT_TRUE(launched.ok()) << launched.error().message;
    browser_ = std::move(*launched);
  }

  // Loads the UI at `url` and waits until its event stream is live.
  void openUi(const std::string& url) {
    ASSERT_NO_FATAL_FAILURE(openBrowser());
    ASSERT_TRUE(browser_->navigate(url).ok());
    ASSERT_TRUE(browser_->waitFor("document.body.dataset.ready === 'true'", 20s)) << browser_->text();
    // Gone if the page reloads: what follows must arrive through the stream.
    ASSERT_TRUE(browser_->evaluate("window.notReloaded = true").ok());
  }

  void go(const std::string& hash) { ASSERT_TRUE(browser_->evaluate("location.hash = '" + hash + "'").ok()); }

  void screenshot(const std::string& name) {
    Status shot = browser_->screenshot(artifacts() / (name + ".png"));
    EXPECT_TRUE(shot.ok()) << shot.error().message;
  }

  // `mantle ARGS...` against `master`, in the background.
  std::unique_ptr<ChildProcess> mantle(std::vector<std::string> args, const std::string& master) {
    args.insert(args.begin(), binary("mantle"));
    return std::make_unique<ChildProcess>(args, dir_.path() / ("mantle-" + std::to_string(++runs_) + ".log"),
                                          std::map<std::string, std::string>{{"MANTLE_MASTER", master}});
  }

  TempDir dir_;
  int runs_ = 0;
  std::unique_ptr<Browser> browser_;
};

TEST_F(UiE2eTest, OverviewShowsTheAgentAndWhatItsTaskUsesAndTheAgentsViewListsIt) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  auto run = mantle({"run", "--name=ui-worker", "--cpus=2", "--mem=1024", "--", "sleep 300"}, cluster.masterAddress());
  ASSERT_NO_FATAL_FAILURE(openUi(cluster.masterUrl() + "/"));
  EXPECT_TRUE(browser_->waitFor("document.body.innerText.includes('1 active')", 10s)) << browser_->text();
  EXPECT_TRUE(browser_->waitFor("document.body.innerText.includes('1 running')", 30s))
      << browser_->text() << run->output();
  EXPECT_TRUE(browser_->waitFor(
      "[...document.querySelectorAll('.legend span')].some((s) => s.textContent.trim() === 'used 2')", 10s))
      << browser_->text();
  // A sample at once and one every 5 s: the charts draw from the second.
  EXPECT_TRUE(browser_->waitFor("document.querySelectorAll('.chart path').length >= 4", 15s)) << browser_->text();
  screenshot("overview");
  go("#/agents");
  EXPECT_TRUE(browser_->waitFor(rowWith("agents", {"active", "2 / 4", "1.0 GiB / 4.0 GiB"}), 10s)) << browser_->text();
  screenshot("agents");
}

TEST_F(UiE2eTest, TaskAppearsWithoutReloadItsStdoutIsInTheSandboxAndKillingItCompletesIt) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  ASSERT_NO_FATAL_FAILURE(openUi(cluster.masterUrl() + "/#/tasks"));

  auto run =
      mantle({"run", "--name=ui-sleeper", "--", "echo hello-from-the-sandbox; sleep 300"}, cluster.masterAddress());
  ASSERT_TRUE(browser_->waitFor(rowWith("tasks", {"ui-sleeper", "RUNNING"}), 30s)) << browser_->text() << run->output();
  screenshot("tasks");

  // Task details, then its sandbox, by clicking as an operator would.
  ASSERT_TRUE(
      browser_->evaluate("document.querySelector('[data-table=tasks] tbody tr a[href^=\"#/task/\"]').click()").ok());
  ASSERT_TRUE(browser_->waitFor(rowWith("statuses", {"RUNNING"}), 10s)) << browser_->text();
  screenshot("task");
  ASSERT_TRUE(browser_->evaluate("document.querySelector('a[href^=\"#/sandbox/\"]').click()").ok());
  EXPECT_TRUE(browser_->waitFor(
      "(document.querySelector('pre[data-tail=stdout]') || {}).textContent?.includes('hello-from-the-sandbox')", 20s))
      << browser_->text();
  EXPECT_TRUE(browser_->waitFor(rowWith("files", {"stdout"}), 10s)) << browser_->text();
  screenshot("sandbox");

  // Killed from outside; the page learns it from the event stream.
  go("#/tasks?state=completed");
  Result<Json::Value> id =
      browser_->evaluate("[...S.tasks.values()].find((t) => t.name === 'ui-sleeper').task_id.value");
  ASSERT_TRUE(id.ok());
  auto kill = mantle({"kill", id->asString()}, cluster.masterAddress());
  EXPECT_EQ(kill->wait(30s), 0) << kill->output();
  EXPECT_TRUE(browser_->waitFor(rowWith("tasks", {"ui-sleeper", "KILLED"}), 20s)) << browser_->text();
  EXPECT_TRUE(browser_->evaluate("window.notReloaded === true")->asBool());
}

TEST_F(UiE2eTest, ExplanationSaysAFrameworkWithoutEnoughResourcesGetsNoOffers) {
  // One small agent that the first task fills entirely.
  ClusterOptions options;
  options.agentResources = "cpus:1;mem:64;disk:64;ports:[31000-31000]";
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  auto hog =
      mantle({"run", "--name=ui-hog", "--resources=cpus:1;mem:64;disk:64;ports:[31000-31000]", "--", "sleep 300"},
             cluster.masterAddress());
  ASSERT_NO_FATAL_FAILURE(openUi(cluster.masterUrl() + "/#/tasks"));
  ASSERT_TRUE(browser_->waitFor(rowWith("tasks", {"ui-hog", "RUNNING"}), 30s)) << browser_->text() << hog->output();
  auto starved = mantle({"run", "--name=ui-starved", "--cpus=1", "--", "true"}, cluster.masterAddress());
  ASSERT_TRUE(browser_->waitFor("[...S.frameworks.values()].some((f) => f.info.name === 'ui-starved')", 20s));

  go("#/frameworks");
  ASSERT_TRUE(browser_->waitFor(rowWith("frameworks", {"ui-starved", "why no offers?"}), 10s)) << browser_->text();
  ASSERT_TRUE(
      browser_
          ->evaluate(
              "[...document.querySelectorAll('[data-table=frameworks] tbody tr')].find((tr) => tr.innerText.includes("
              "'ui-starved')).querySelector('a[href^=\"#/explain\"]').click()")
          .ok());
  // The allocator answers for its last cycle: ask until one has run.
  bool explained = false;
  for (int i = 0; i < 20 && !explained; ++i) {
    explained = browser_->waitFor("document.querySelector('li[data-code=NO_RESOURCES]')", 1s);
    if (!explained) {
      ASSERT_TRUE(browser_->evaluate("document.querySelector('[data-refresh-explain]').click()").ok());
    }
  }
  EXPECT_TRUE(explained) << browser_->text();
  EXPECT_TRUE(browser_->waitFor("document.body.innerText.includes('There are not enough free resources')", 10s))
      << browser_->text();
  screenshot("explain");
}

TEST_F(UiE2eTest, ModulesViewListsTheMastersAllocatorAndTheAgentsIsolatorsWithTheirVersionsAndCalls) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  ASSERT_NO_FATAL_FAILURE(openUi(cluster.masterUrl() + "/#/modules"));
  // The library versions come from /modules (mantle_allocator_drf 1.0.0,
  // mantle_posix 0.1.0), not from /metrics.
  EXPECT_TRUE(browser_->waitFor(rowWith("modules", {"master", "drf", "allocator", "1.0.0", "shared"}), 10s))
      << browser_->text();
  // The agent's, read through the master's agent proxy.
  EXPECT_TRUE(browser_->waitFor(rowWith("modules", {"posix/cpu", "isolator", "0.1.0", "shared"}), 10s))
      << browser_->text();
  screenshot("modules");
}

TEST_F(UiE2eTest, AskedForCredentialsItSendsThemWithEveryCall) {
  TempDir secrets;
  std::filesystem::path credentials =
      secrets.write("credentials.json", R"({"credentials":[{"principal":"ops","secret":"s3cret"}]})");
  ClusterOptions options;
  options.masterFlags = {"--authenticate_http_readonly", "--authenticate_http_readwrite",
                         "--credentials=" + credentials.string()};
  options.clientHeaders = {{"Authorization", "Basic b3BzOnMzY3JldA=="}};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  ASSERT_NO_FATAL_FAILURE(openBrowser());
  ASSERT_TRUE(browser_->navigate(cluster.masterUrl() + "/").ok());
  ASSERT_TRUE(browser_->waitFor("document.getElementById('login').open", 10s)) << browser_->text();
  screenshot("login");
  ASSERT_TRUE(browser_
                  ->evaluate("(() => { const f = document.getElementById('login-form');"
                             "f.user.value = 'ops'; f.pass.value = 's3cret'; f.requestSubmit(); })()")
                  .ok());
  EXPECT_TRUE(browser_->waitFor("document.body.dataset.ready === 'true'", 20s)) << browser_->text();
  EXPECT_TRUE(browser_->waitFor("document.body.innerText.includes('1 active')", 10s)) << browser_->text();
}

TEST_F(UiE2eTest, APrincipalSeesOnlyTheFrameworksAndTasksItsAclsLetItSee) {
  TempDir secrets;
  ClusterOptions options;
  options.masterFlags = {
      "--authenticate_http_readonly", "--authenticate_http_readwrite",
      "--credentials=" + secrets
                             .write("credentials.json", R"({"credentials":[{"principal":"ops","secret":"s3cret"},
                                                           {"principal":"alice-viewer","secret":"alice"}]})")
                             .string(),
      "--acls=" + secrets
                      .write("acls.json", R"({"view_frameworks":[
                            {"principals":{"values":["ops"]},"users":{"type":"ANY"}},
                            {"principals":{"values":["alice-viewer"]},"users":{"values":["alice"]}},
                            {"principals":{"values":["alice-viewer"]},"users":{"type":"NONE"}}]})")
                      .string()};
  options.clientHeaders = {{"Authorization", "Basic b3BzOnMzY3JldA=="}};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  // A framework of user 'nobody' with a running task.
  scheduler::SchedulerOptions schedulerOptions;
  schedulerOptions.master = cluster.masterAddress();
  schedulerOptions.frameworkInfo.set_user("nobody");
  schedulerOptions.frameworkInfo.set_name("ui-hidden");
  std::unique_ptr<scheduler::Scheduler> framework;
  std::atomic<bool> launched{false};
  scheduler::SchedulerCallbacks callbacks;
  callbacks.offers = [&](const std::vector<mesos::v1::Offer>& offers) {
    for (const auto& offer : offers) {
      if (launched.exchange(true)) {
        (void)framework->decline({offer.id()});
      } else {
        (void)framework->launch(offer,
                                {scheduler::commandTask("ui-hidden-task", offer, "sleep 300", "cpus:0.1;mem:32")});
      }
    }
  };
  framework = std::make_unique<scheduler::Scheduler>(schedulerOptions, callbacks);
  framework->start();

  // alice-viewer sees the agent, not the framework of 'nobody' nor its task.
  ASSERT_NO_FATAL_FAILURE(openBrowser());
  ASSERT_TRUE(browser_->navigate(cluster.masterUrl() + "/#/tasks").ok());
  ASSERT_TRUE(browser_->waitFor("document.getElementById('login').open", 10s)) << browser_->text();
  ASSERT_TRUE(browser_
                  ->evaluate("(() => { const f = document.getElementById('login-form');"
                             "f.user.value = 'alice-viewer'; f.pass.value = 'alice'; f.requestSubmit(); })()")
                  .ok());
  ASSERT_TRUE(browser_->waitFor("document.body.dataset.ready === 'true' && S.agents.size === 1", 20s))
      << browser_->text();
  ASSERT_TRUE(waitUntil(
      [&] {
        Result<http::ClientResponse> tasks = http::request("GET", cluster.masterUrl() + "/master/tasks",
                                                           {{"Authorization", "Basic b3BzOnMzY3JldA=="}}, "");
        return tasks.ok() && tasks->body.find("TASK_RUNNING") != std::string::npos;
      },
      30s));
  std::this_thread::sleep_for(1s);  // the events of the launch have reached every subscriber
  EXPECT_EQ(browser_->evaluate("S.tasks.size + S.frameworks.size")->asInt(), 0) << browser_->text();

  // The same page as ops sees both.
  ASSERT_TRUE(
      browser_->evaluate("sessionStorage.setItem('mantle.auth', 'Basic b3BzOnMzY3JldA=='); location.reload()").ok());
  EXPECT_TRUE(browser_->waitFor("document.body.dataset.ready === 'true'", 20s)) << browser_->text();
  EXPECT_TRUE(browser_->waitFor(rowWith("tasks", {"ui-hidden-task", "RUNNING"}), 10s)) << browser_->text();
  framework->stop();
}

TEST_F(UiE2eTest, AgentProxyReadsASandboxAndRefusesPathsOutsideIt) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  auto run = mantle({"run", "--name=ui-proxied", "--", "echo proxied-output; sleep 300"}, cluster.masterAddress());
  std::string agentId, directory;
  ASSERT_TRUE(waitUntil(
      [&] {
        Result<http::ClientResponse> slaves = http::request("GET", cluster.masterUrl() + "/master/slaves", {}, "");
        if (!slaves.ok()) return false;
        std::size_t at = slaves->body.find("\"id\":\"");
        if (at == std::string::npos) return false;
        agentId = slaves->body.substr(at + 6, slaves->body.find('"', at + 6) - at - 6);
        Result<http::ClientResponse> state =
            http::request("GET", cluster.masterUrl() + "/agents/" + agentId + "/state", {}, "");
        if (!state.ok() || state->status != 200) return false;
        std::size_t dir = state->body.find("\"directory\":\"");
        if (dir == std::string::npos) return false;
        directory = state->body.substr(dir + 13, state->body.find('"', dir + 13) - dir - 13);
        return true;
      },
      30s))
      << run->output();
  ASSERT_TRUE(waitUntil(
      [&] {
        Result<http::ClientResponse> read = http::request(
            "GET", cluster.masterUrl() + "/agents/" + agentId + "/files/read?offset=0&path=" + directory + "/stdout",
            {}, "");
        return read.ok() && read->status == 200 && read->body.find("proxied-output") != std::string::npos;
      },
      20s));
  Result<http::ClientResponse> outside = http::request(
      "GET", cluster.masterUrl() + "/agents/" + agentId + "/files/read?offset=0&path=/etc/passwd", {}, "");
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(outside->status, 403) << outside->body;
  Result<http::ClientResponse> unknown =
      http::request("GET", cluster.masterUrl() + "/agents/no-such-agent/state", {}, "");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 404) << unknown->body;
}

TEST_F(UiE2eTest, AgentProxyPassesTheCallersCredentialsToTheAgent) {
  TempDir secrets;
  std::filesystem::path credentials =
      secrets.write("credentials.json", R"({"credentials":[{"principal":"ops","secret":"s3cret"}]})");
  ClusterOptions options;
  options.agentFlags = {"--authenticate_http_readonly", "--http_credentials=" + credentials.string()};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  Result<http::ClientResponse> slaves = http::request("GET", cluster.masterUrl() + "/master/slaves", {}, "");
  ASSERT_TRUE(slaves.ok());
  std::size_t at = slaves->body.find("\"id\":\"");
  ASSERT_NE(at, std::string::npos) << slaves->body;
  const std::string agentState = cluster.masterUrl() + "/agents/" +
                                 slaves->body.substr(at + 6, slaves->body.find('"', at + 6) - at - 6) + "/state";

  Result<http::ClientResponse> anonymous = http::request("GET", agentState, {}, "");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->status, 403) << anonymous->body;
  EXPECT_NE(anonymous->body.find("refused the credentials"), std::string::npos) << anonymous->body;
  Result<http::ClientResponse> authenticated =
      http::request("GET", agentState, {{"Authorization", "Basic b3BzOnMzY3JldA=="}}, "");
  ASSERT_TRUE(authenticated.ok());
  EXPECT_EQ(authenticated->status, 200) << authenticated->body;
}

TEST_F(UiE2eTest, PageStaysLiveAcrossAMasterFailoverAndFollowsTheNewLeader) {
  if (!ZooKeeperServer::available()) GTEST_SKIP() << "ZooKeeper (and a JRE) is not installed";
  HaClusterOptions options;
  // Redirects name the leader by this address, which the browser reaches.
  options.masterFlags = {"--hostname=127.0.0.1"};
  HaCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  Result<int> leader = cluster.waitForLeader(20s);
  ASSERT_TRUE(leader.ok());
  ASSERT_NO_FATAL_FAILURE(openUi(cluster.masterUrl(*leader) + "/#/agents"));
  ASSERT_TRUE(browser_->waitFor(rowWith("agents", {"active"}), 10s)) << browser_->text();

  // The leader dies and comes back as a standby (as its supervisor would
  // restart it); the page reconnects to it, is redirected to the new leader
  // and shows the cluster again.
  cluster.killMaster(*leader);
  EXPECT_TRUE(browser_->waitFor("document.getElementById('connection').textContent.includes('reconnect')", 15s));
  Result<int> next = cluster.waitForLeader(30s);
  ASSERT_TRUE(next.ok());
  ASSERT_NE(*next, *leader);
  ASSERT_TRUE(cluster.startMaster(*leader).ok()) << cluster.logs();
  const std::string newPort = cluster.masterUrl(*next).substr(cluster.masterUrl(*next).rfind(':') + 1);
  EXPECT_TRUE(browser_->waitFor("location.port === '" + newPort + "' && document.body.dataset.ready === 'true'", 30s))
      << browser_->text();
  EXPECT_TRUE(browser_->waitFor("location.hash === '#/agents'", 10s));
  EXPECT_TRUE(browser_->waitFor(rowWith("agents", {"active"}), 30s)) << browser_->text();

  // And it is live: a task launched now appears without a reload.
  ASSERT_TRUE(browser_->evaluate("window.notReloaded = true").ok());
  go("#/tasks");
  auto run = mantle({"run", "--name=ui-after-failover", "--", "sleep 300"}, cluster.zkUrl());
  EXPECT_TRUE(browser_->waitFor(rowWith("tasks", {"ui-after-failover", "RUNNING"}), 30s))
      << browser_->text() << run->output();
  EXPECT_TRUE(browser_->evaluate("window.notReloaded === true")->asBool());
}

}  // namespace
}  // namespace mantle::testing
