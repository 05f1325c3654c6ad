// mantle-cron's leader failover: two instances elect a leader through a real
// ZooKeeper server and keep the state there; the leader is killed (kill -9)
// while a job runs every two seconds, the standby takes over the framework,
// and every due time runs exactly once: none lost, none repeated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "cluster.hpp"
#include "cron_support.hpp"
#include "temp_dir.hpp"
#include "zookeeper_server.hpp"

namespace mantle::testing::cron {
namespace {

using namespace std::chrono_literals;

TEST(CronFailoverTest, ALeaderFailoverLosesAndRepeatsNoRun) {
  if (!ZooKeeperServer::available()) GTEST_SKIP() << "no ZooKeeper server installed";
  ZooKeeperServer zk;
  std::string error;
  ASSERT_TRUE(zk.start(&error)) << error;
  LocalCluster cluster;
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  TempDir dir;
  const std::vector<std::string> flags = {"--zk=zk://" + zk.connectString() + "/cron", "--zk_session_timeout=2secs"};
  std::vector<std::unique_ptr<CronProcess>> instances;
  instances.push_back(std::make_unique<CronProcess>(cluster.masterAddress(), dir.path(), "cron-a", flags));
  instances.push_back(std::make_unique<CronProcess>(cluster.masterAddress(), dir.path(), "cron-b", flags));
  auto leading = [&]() -> CronProcess* {
    for (auto& instance : instances) {
      if (!instance->process().running()) continue;
      auto r = instance->call("GET", "/v1/scheduler/jobs");
      if (r.ok() && r->status == 200) return instance.get();
    }
    return nullptr;
  };
  auto logs = [&] {
    std::string out;
    for (auto& instance : instances) out += instance->process().output() + "\n----\n";
    return out;
  };
  ASSERT_TRUE(waitUntil([&] { return leading() != nullptr; }, 30s)) << logs();
  CronProcess* first = leading();
  CronProcess* second = first == instances[0].get() ? instances[1].get() : instances[0].get();
  // The standby sends clients to the leader (once its detector has seen it).
  Result<http::ClientResponse> redirected = internalError("not asked yet");
  EXPECT_TRUE(waitUntil(
      [&] {
        redirected = second->call("GET", "/v1/scheduler/jobs");
        return redirected.ok() && redirected->status == 307;
      },
      10s));
  ASSERT_TRUE(redirected.ok());
  EXPECT_EQ(redirected->header("Location"), first->url() + "/v1/scheduler/jobs");

  // Each run takes a second, so the kill often finds one in flight.
  const auto beats = dir.path() / "beats";
  auto posted = first->call("POST", "/v1/scheduler/iso8601",
                            R"({"name": "beat", "command": "echo $mesos_task_id >> )" + beats.string() +
                                R"(; sleep 1", "schedule": ")" + startingIn(1s, "PT2S") +
                                R"(", "epsilon": "PT60S", "retries": 0, "mem": 32})");
  ASSERT_TRUE(posted.ok());
  ASSERT_EQ(posted->status, 204) << posted->body;
  ASSERT_TRUE(waitUntil([&] { return lines(beats).size() >= 3; }, 30s)) << logs();
  std::this_thread::sleep_for(300ms);  // into the next run's sleep
  first->process().kill();
  const size_t atKill = lines(beats).size();

  ASSERT_TRUE(waitUntil([&] { return leading() == second; }, 30s)) << logs();
  ASSERT_TRUE(waitUntil([&] { return lines(beats).size() >= atKill + 4; }, 40s)) << logs();
  const auto ids = lines(beats);
  std::set<long long> dues;
  for (size_t i = 0; i < ids.size(); ++i) {
    const TaskIdParts task = parseTaskId(ids[i]);
    EXPECT_EQ(task.attempt, 0) << ids[i];
    EXPECT_TRUE(dues.insert(task.due).second) << "ran twice: " << ids[i];
  }
  // Consecutive due times, two seconds apart: none lost.
  for (auto it = std::next(dues.begin()); it != dues.end(); ++it) {
    EXPECT_EQ(*it - *std::prev(it), 2000) << "a gap before " << *it;
  }
  // The new leader counts the runs of both (the one in flight at the kill too).
  EXPECT_TRUE(waitUntil([&] { return second->job("beat")["successCount"].asUInt64() + 1 >= ids.size(); }, 10s))
      << second->job("beat").toStyledString() << logs();
  EXPECT_EQ(second->job("beat")["skippedCount"].asInt(), 0);
}

}  // namespace
}  // namespace mantle::testing::cron
