// examples/frameworks/service: keeps N instances, replaces a killed one,
// scales over HTTP, and takes its tasks back after its own restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <json/reader.h>
#include <json/value.h>

#include "cluster.hpp"
#include "http/client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::examples {
namespace {

using testing::binary;
using testing::ChildProcess;
using testing::TempDir;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.start().ok()) << cluster_.logs(); }

  void startService(int instances, const std::string& command = "echo $$ >> PIDS; exec sleep 600",
                    const std::vector<std::string>& extra = {}) {
    std::string expanded = command;
    expanded.replace(expanded.find("PIDS"), 4, (dir_.path() / "pids").string());
    std::vector<std::string> argv{binary("mantle-example-service"),
                                  "--master=" + cluster_.masterAddress(),
                                  "--name=web",
                                  "--instances=" + std::to_string(instances),
                                  "--command=" + expanded,
                                  "--state_file=" + (dir_.path() / "state.json").string(),
                                  "--http_port=" + std::to_string(port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    service_ = std::make_unique<ChildProcess>(argv, dir_.path() / ("service-" + std::to_string(++starts_) + ".log"));
    ASSERT_TRUE(testing::waitForHealth(api(), std::chrono::seconds(10))) << service_->output();
  }

  std::string api() const { return "http://127.0.0.1:" + std::to_string(port_); }

  Json::Value instances(const std::string& method = "GET", const std::string& path = "/instances") {
    auto response = http::request(method, api() + path, {}, "");
    Json::Value root;
    if (!response.ok() || response->status != 200) return root;
    std::istringstream in(response->body);
    Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr);
    return root;
  }

  // Waits until exactly `n` instances run; returns their ids.
  std::set<std::string> waitForRunning(int n) {
    std::set<std::string> ids;
    const bool reached = testing::waitUntil(
        [&] {
          Json::Value now = instances();
          ids.clear();
          for (const Json::Value& task : now["tasks"]) {
            if (task["state"].asString() == "TASK_RUNNING") ids.insert(task["id"].asString());
          }
          return now["running"].asInt() == n && static_cast<int>(now["tasks"].size()) == n;
        },
        std::chrono::seconds(30));
    EXPECT_TRUE(reached) << "expected " << n << " running instances; service log:\n"
                         << service_->output() << "\n"
                         << instances().toStyledString();
    return ids;
  }

  int activeTasksAtMaster() {
    auto response = http::request("GET", cluster_.masterUrl() + "/master/tasks", {}, "");
    if (!response.ok()) return -1;
    Json::Value root;
    std::istringstream in(response->body);
    Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr);
    int running = 0;
    for (const Json::Value& task : root["tasks"]) running += task["state"].asString() == "TASK_RUNNING" ? 1 : 0;
    return running;
  }

  // Kills the process of the instance that wrote the first line of pids.
  void killOneInstance() {
    std::ifstream in(dir_.path() / "pids");
    pid_t pid = 0;
    in >> pid;
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // Later kills pick the next line.
    std::vector<std::string> rest;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) rest.push_back(line);
    }
    std::ofstream out(dir_.path() / "pids", std::ios::trunc);
    for (const auto& line : rest) out << line << "\n";
  }

  testing::LocalCluster cluster_;
  TempDir dir_;
  int port_ = testing::freePort();
  std::unique_ptr<ChildProcess> service_;
  int starts_ = 0;
};

TEST_F(ServiceTest, KeepsNInstancesScalesAndSurvivesItsRestart) {
  ASSERT_NO_FATAL_FAILURE(startService(2));
  std::set<std::string> first = waitForRunning(2);
  const std::string frameworkId = instances()["framework_id"].asString();
  ASSERT_FALSE(frameworkId.empty());

  // A killed instance is replaced by a new task.
  ASSERT_NO_FATAL_FAILURE(killOneInstance());
  ASSERT_TRUE(testing::waitUntil([&] { return service_->output().find("replacing it") != std::string::npos; },
                                 std::chrono::seconds(20)))
      << service_->output();
  std::set<std::string> second = waitForRunning(2);
  std::vector<std::string> kept;
  std::set_intersection(first.begin(), first.end(), second.begin(), second.end(), std::back_inserter(kept));
  EXPECT_EQ(kept.size(), 1u);

  // Scaling through the HTTP API.
  EXPECT_EQ(instances("POST", "/scale?instances=3")["instances"].asInt(), 3);
  waitForRunning(3);
  EXPECT_EQ(instances("POST", "/scale?instances=2")["instances"].asInt(), 2);
  std::set<std::string> beforeRestart = waitForRunning(2);
  EXPECT_TRUE(testing::waitUntil([&] { return activeTasksAtMaster() == 2; }, std::chrono::seconds(20)));
  auto bad = http::request("POST", api() + "/scale?instances=lots", {}, "");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);

  // kill -9 of the service: its tasks keep running; started again with its
  // state file it fails over to the same framework and takes them back.
  service_->kill();
  EXPECT_EQ(activeTasksAtMaster(), 2);
  ASSERT_NO_FATAL_FAILURE(startService(2));
  EXPECT_EQ(waitForRunning(2), beforeRestart);
  EXPECT_EQ(instances()["framework_id"].asString(), frameworkId);
  EXPECT_THAT(service_->output(), ::testing::HasSubstr("(failed over)"));
  EXPECT_THAT(service_->output(), ::testing::Not(::testing::HasSubstr("launching")));

  // And it still replaces what fails.
  ASSERT_NO_FATAL_FAILURE(killOneInstance());
  ASSERT_TRUE(testing::waitUntil([&] { return service_->output().find("replacing it") != std::string::npos; },
                                 std::chrono::seconds(20)))
      << service_->output();
  waitForRunning(2);
  EXPECT_TRUE(testing::waitUntil([&] { return activeTasksAtMaster() == 2; }, std::chrono::seconds(20)));
}

TEST_F(ServiceTest, EachInstanceGetsPortsOfItsOwnFromItsOfferInPortVariables) {
  ASSERT_NO_FATAL_FAILURE(startService(2, "echo $PORT0 $PORT1 $PORT >> PIDS; exec sleep 600", {"--ports=2"}));
  waitForRunning(2);
  std::vector<std::vector<std::uint64_t>> seen;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        seen.clear();
        std::ifstream in(dir_.path() / "pids");
        for (std::string line; std::getline(in, line);) {
          std::istringstream words(line);
          std::vector<std::uint64_t> ports;
          for (std::uint64_t port = 0; words >> port;) ports.push_back(port);
          seen.push_back(ports);
        }
        return seen.size() == 2;
      },
      std::chrono::seconds(10)));
  std::set<std::uint64_t> distinct;
  for (const auto& ports : seen) {
    ASSERT_EQ(ports.size(), 3u) << "PORT0 PORT1 PORT, all set";
    EXPECT_EQ(ports[2], ports[0]) << "PORT is PORT0";
    distinct.insert(ports[0]);
    distinct.insert(ports[1]);
  }
  EXPECT_EQ(distinct.size(), 4u) << "no two instances share a port";

  // The master holds each task with the ports it was given.
  auto response = http::request("GET", cluster_.masterUrl() + "/master/tasks", {}, "");
  ASSERT_TRUE(response.ok());
  std::set<std::uint64_t> atMaster;
  Json::Value root;
  std::istringstream in(response->body);
  ASSERT_TRUE(Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr));
  for (const Json::Value& task : root["tasks"]) {
    // Mesos' legacy form: "ports": "[31000-31000, 31001-31001]".
    std::string text = task["resources"]["ports"].asString();
    for (char& c : text) c = std::isdigit(static_cast<unsigned char>(c)) ? c : ' ';
    std::istringstream bounds(text);
    for (std::uint64_t begin = 0, end = 0; bounds >> begin >> end;) {
      for (auto port = begin; port <= end; ++port) atMaster.insert(port);
    }
  }
  EXPECT_EQ(atMaster, distinct);
}

}  // namespace
}  // namespace mantle::examples
