// mantle-lb with a real HAProxy on loopback in front of tasks of a real
// master and agent: requests to the service port reach every healthy
// instance (and only those), a killed task leaves the backend, and reloads
// under a steady request loop drop no request.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cluster.hpp"
#include "haproxy_config.hpp"
#include "http/client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"

namespace mantle::lb {
namespace {

using namespace std::chrono_literals;
using testing::binary;
using testing::ChildProcess;

// A port in [low, high] that nothing listens on now (tasks must take their
// ports from the agent's range, and other tests may run beside this one).
int freePortIn(int low, int high) {
  static std::mt19937 random(static_cast<unsigned>(::getpid()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = low + static_cast<int>(random() % static_cast<unsigned>(high - low + 1));
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    ::close(fd);
    if (free) return port;
  }
  return -1;
}

class LbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.start().ok()) << cluster_.logs();
    servicePort_ = testing::freePort();
    httpPort_ = testing::freePort();
    config_ = (dir_.path() / "haproxy.cfg").string();
    lb_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary("mantle-lb"), "--master=" + cluster_.masterAddress(), "--group=external",
                                 "--haproxy_config=" + config_, "--bind_address=127.0.0.1",
                                 "--http_port=" + std::to_string(httpPort_)},
        dir_.path() / "lb.log");
    framework_ = std::make_unique<testing::TestFramework>(
        cluster_.masterUrl(), testing::TestFramework::Options{.name = "web", .user = "root", .hostname = "127.0.0.1"});
    ASSERT_TRUE(framework_->start().ok()) << cluster_.logs();
  }

  void TearDown() override {
    framework_.reset();
    lb_->stop(5000ms);  // stops its HAProxy
    testing_support::killLeftHaproxy(config_);
    if (HasFailure()) std::cerr << "---- mantle-lb ----\n" << lb_->output() << "\n" << readConfig() << "\n";
  }

  // An instance serving its own id at /id on a port of its own.
  mesos::v1::TaskInfo instance(const std::string& id, bool healthCheck, const std::string& group = "external") {
    const int port = freePortIn(31000, 32000);
    mesos::v1::TaskInfo task = testing::shellTask(
        id,
        "echo " + id + " > id && exec /usr/bin/python3 -m http.server " + std::to_string(port) + " --bind 127.0.0.1",
        "cpus:0.1;mem:32;ports:[" + std::to_string(port) + "-" + std::to_string(port) + "]");
    task.set_name("web");
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"HAPROXY_GROUP", group},
                                                          {"HAPROXY_0_PORT", std::to_string(servicePort_)},
                                                          {"HAPROXY_0_VHOST", "web.example"}}) {
      mesos::v1::Label* label = task.mutable_labels()->add_labels();
      label->set_key(key);
      label->set_value(value);
    }
    if (healthCheck) {
      mesos::v1::HealthCheck check;
      check.set_type(mesos::v1::HealthCheck::HTTP);
      check.mutable_http()->set_port(static_cast<std::uint32_t>(port));
      check.mutable_http()->set_path(id.starts_with("sick") ? "/missing" : "/id");
      check.set_delay_seconds(0);
      check.set_interval_seconds(0.5);
      check.set_timeout_seconds(2);
      check.set_grace_period_seconds(0);
      check.set_consecutive_failures(1000);  // the sick one stays, unhealthy
      *task.mutable_health_check() = check;
    }
    return task;
  }

  std::string readConfig() const { return testing::readText(config_); }
  int servers() const { return testing_support::serverCount(config_); }

  // The bodies of `n` requests to the service port (errors as "error: ...").
  std::multiset<std::string> ask(int n, const std::string& host = "") {
    std::multiset<std::string> bodies;
    const int port = host.empty() ? servicePort_ : httpPort_;
    http::Headers headers;
    if (!host.empty()) headers.emplace_back("Host", host);
    for (int i = 0; i < n; ++i) {
      auto response = http::request("GET", "http://127.0.0.1:" + std::to_string(port) + "/id", headers, "", {5, 2});
      if (!response.ok()) {
        bodies.insert("error: " + response.error().message);
      } else {
        std::string body = response->body;
        while (!body.empty() && body.back() == '\n') body.pop_back();
        bodies.insert(response->status == 200 ? body : "status " + std::to_string(response->status));
      }
    }
    return bodies;
  }

  static std::set<std::string> distinct(const std::multiset<std::string>& bodies) {
    return {bodies.begin(), bodies.end()};
  }

  testing::TempDir dir_;
  testing::LocalCluster cluster_;
  int servicePort_ = 0;
  int httpPort_ = 0;
  std::string config_;
  std::unique_ptr<ChildProcess> lb_;
  std::unique_ptr<testing::TestFramework> framework_;
};

TEST_F(LbTest, RequestsReachEveryHealthyInstanceOfTheGroupAndAKilledOneLeavesTheBackend) {
  std::vector<mesos::v1::TaskInfo> tasks;
  for (const std::string id : {"web-1", "web-2", "web-3", "sick-1"}) tasks.push_back(instance(id, true));
  tasks.push_back(instance("other-1", false, "internal"));
  ASSERT_TRUE(framework_->launch(tasks).ok()) << cluster_.logs();
  for (const std::string id : {"web-1", "web-2", "web-3", "sick-1", "other-1"}) {
    ASSERT_TRUE(framework_->waitForState(id, mesos::v1::TASK_RUNNING, 30s)) << id << "\n" << cluster_.logs();
  }
  ASSERT_TRUE(testing::waitUntil([&] { return servers() == 3; }, 20s))
      << readConfig() << (framework_->latest("web-1") ? framework_->latest("web-1")->DebugString() : "");
  // HAProxy serves the new configuration once mantle-lb has reloaded it.
  const std::set<std::string> all = {"web-1", "web-2", "web-3"};
  EXPECT_TRUE(testing::waitUntil([&] { return distinct(ask(9)) == all; }, 30s));
  EXPECT_EQ(distinct(ask(30)), all);
  EXPECT_EQ(readConfig().find("sick-1"), std::string::npos) << "an unhealthy task is a server";
  EXPECT_EQ(readConfig().find("other-1"), std::string::npos) << "a task of another group is a server";
  auto sick = framework_->latest("sick-1");
  ASSERT_TRUE(sick);
  EXPECT_TRUE(sick->has_healthy() && !sick->healthy()) << sick->DebugString();
  const std::set<std::string> byHost = distinct(ask(6, "web.example"));
  EXPECT_EQ(byHost, (std::set<std::string>{"web-1", "web-2", "web-3"}));

  ASSERT_TRUE(framework_->kill("web-3").ok());
  ASSERT_TRUE(framework_->waitForState("web-3", mesos::v1::TASK_KILLED, 30s));
  ASSERT_TRUE(testing::waitUntil([&] { return servers() == 2; }, 10s)) << readConfig();
  const std::set<std::string> left = {"web-1", "web-2"};
  EXPECT_TRUE(testing::waitUntil([&] { return distinct(ask(6)) == left; }, 30s));
  EXPECT_EQ(distinct(ask(20)), left);
}

TEST_F(LbTest, ReloadsUnderASteadyRequestLoopDropNoRequest) {
  ASSERT_TRUE(framework_->launch(std::vector{instance("web-1", false), instance("web-2", false)}).ok())
      << cluster_.logs();
  ASSERT_TRUE(framework_->waitForState("web-2", mesos::v1::TASK_RUNNING, 30s)) << cluster_.logs();
  const std::set<std::string> both = {"web-1", "web-2"};
  ASSERT_TRUE(testing::waitUntil([&] { return distinct(ask(4)) == both; }, 20s)) << readConfig();

  std::atomic<bool> done{false};
  std::multiset<std::string> bodies;
  std::thread loop([&] {
    while (!done) bodies.merge(ask(1));
  });
  auto reloads = [&] {
    std::size_t count = 0;
    std::istringstream log(lb_->output());
    for (std::string line; std::getline(log, line);) count += line.find("HAProxy (re)loaded") != std::string::npos;
    return count;
  };
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(100ms);
    const std::size_t before = reloads();
    lb_->signal(SIGHUP);  // a reload with the same configuration
    EXPECT_TRUE(testing::waitUntil([&] { return reloads() > before; }, 30s)) << "no reload after SIGHUP " << i;
  }
  EXPECT_TRUE(framework_->launch(instance("web-3", false)).ok());  // and one with a new server
  EXPECT_TRUE(framework_->waitForState("web-3", mesos::v1::TASK_RUNNING, 30s));
  EXPECT_TRUE(testing::waitUntil([&] { return servers() == 3; }, 10s)) << readConfig();
  std::this_thread::sleep_for(500ms);
  done = true;
  loop.join();

  EXPECT_GE(reloads(), 12u);  // start, 10 SIGHUPs, web-3
  EXPECT_GT(bodies.size(), 50u);
  std::multiset<std::string> failed;
  for (const std::string& body : bodies) {
    if (!body.starts_with("web-")) failed.insert(body);
  }
  EXPECT_TRUE(failed.empty()) << failed.size() << " of " << bodies.size() << " failed, e.g. " << *failed.begin();
}

}  // namespace
}  // namespace mantle::lb

namespace mantle::lb {
namespace {

// Runs mantle-lb with `flags`; its exit code and output.
std::pair<int, std::string> runLb(const std::vector<std::string>& flags) {
  testing::TempDir dir;
  std::vector<std::string> argv = {testing::binary("mantle-lb")};
  argv.insert(argv.end(), flags.begin(), flags.end());
  testing::ChildProcess lb(argv, dir.path() / "lb.log");
  const int status = lb.wait(std::chrono::seconds(10));
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, lb.output()};
}

TEST(LbFlagsTest, BadFlagsAreRefusedWithTheFlagNamed) {
  auto [code, output] = runLb({"--services=127.0.0.1:8080", "--master=127.0.0.1:5050"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("exactly one of --master and --services"), std::string::npos) << output;
  std::tie(code, output) = runLb({"--master=127.0.0.1:5050", "--http_port=70000"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("--http_port"), std::string::npos) << output;
  std::tie(code, output) = runLb({});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("exactly one of --master and --services"), std::string::npos) << output;
}

}  // namespace
}  // namespace mantle::lb
