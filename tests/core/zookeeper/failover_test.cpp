// Leadership across ZooKeeper outages, against a real server that is killed
// and restarted under the contenders.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tcp_proxy.hpp"
#include "zk_test_util.hpp"
#include "zookeeper/detector.hpp"
#include "zookeeper/registry_store.hpp"

namespace mantle::zookeeper::test {
namespace {

using mantle::testing::waitUntil;

class FailoverTest : public ZooKeeperTest {};

TEST_F(FailoverTest, SessionsSurviveAShortServerRestart) {
  LeadershipLog log;
  std::vector<std::shared_ptr<Session>> sessions;
  std::vector<std::unique_ptr<Contender>> contenders;
  for (int i = 0; i < 3; ++i) {
    sessions.push_back(connect(10000ms));
    contenders.push_back(
        std::make_unique<Contender>(sessions.back(), "/restart", masterInfo("m" + std::to_string(i), 5050 + i),
                                    log.callbackFor(i)));
    ASSERT_TRUE(waitUntil([&] { return !contenders.back()->candidacyPath().empty(); }, 10s));
  }
  ASSERT_TRUE(waitUntil([&] { return contenders[0]->leading(); }, 10s));
  std::vector<std::int64_t> sessionIds;
  std::vector<std::string> znodes;
  for (int i = 0; i < 3; ++i) {
    sessionIds.push_back(sessions[i]->sessionId());
    znodes.push_back(contenders[i]->candidacyPath());
  }
  std::vector<std::string> seen;
  std::mutex seenMutex;
  std::shared_ptr<Session> detectorSession = connect(10000ms);
  Detector detector(detectorSession, "/restart", [&](const std::optional<mesos::v1::MasterInfo>& leader) {
    std::lock_guard<std::mutex> lock(seenMutex);
    seen.push_back(leader ? leader->id() : "");
  });
  ASSERT_TRUE(waitUntil([&] { return detector.leader().has_value(); }, 10s));
  RegistryStore store(sessions[0], "/restart");
  ASSERT_TRUE(store.store("before", -1, contenders[0]->candidacyPath()).ok());

  // The server crashes: the leader stops leading at once.
  server_.stop();
  ASSERT_TRUE(waitUntil([&] { return log.count(0, LeadershipEvent::kSuspended) == 1; }, 10s));
  EXPECT_FALSE(contenders[0]->leading());
  for (const auto& session : sessions) {
    EXPECT_TRUE(waitUntil([&] { return session->state() == SessionState::kConnecting; }, 10s));
  }
  // Writes cannot go through while ZooKeeper is away.
  EXPECT_FALSE(store.store("during", 0, contenders[0]->candidacyPath()).ok());

  // Back within the session timeout: same sessions, same znodes, same leader.
  std::string error;
  ASSERT_TRUE(server_.start(&error)) << error;
  ASSERT_TRUE(waitUntil([&] { return log.count(0, LeadershipEvent::kResumed) == 1; }, 15s));
  EXPECT_TRUE(contenders[0]->leading());
  for (int i = 0; i < 3; ++i) {
    // Each session reconnects on its own schedule (the client backs off after
    // trying every server); the leader resuming says nothing about the others.
    EXPECT_TRUE(waitUntil([&] { return sessions[i]->state() == SessionState::kConnected; }, 15s)) << "session " << i;
    EXPECT_EQ(sessions[i]->sessionId(), sessionIds[i]);
    EXPECT_EQ(contenders[i]->candidacyPath(), znodes[i]);
  }
  EXPECT_EQ(log.events(0), (std::vector<LeadershipEvent>{LeadershipEvent::kElected, LeadershipEvent::kSuspended,
                                                          LeadershipEvent::kResumed}));
  EXPECT_TRUE(log.events(1).empty());
  EXPECT_TRUE(log.events(2).empty());
  {
    // The detector kept the leader through the outage.
    std::lock_guard<std::mutex> lock(seenMutex);
    EXPECT_EQ(seen, std::vector<std::string>{"m0"});
  }
  // Whatever the write during the outage did, the leader can read and write on.
  Result<RegistrySnapshot> snapshot = store.load();
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  Result<std::int32_t> after = store.store("after", snapshot->version, contenders[0]->candidacyPath());
  ASSERT_TRUE(after.ok()) << after.error().message;
}

TEST_F(FailoverTest, NeverTwoLeadersAtOnce) {
  LeadershipLog log;
  constexpr int kContenders = 3;
  // Each contender reaches ZooKeeper through its own proxy, to be cut off alone.
  std::vector<std::unique_ptr<TcpProxy>> proxies(kContenders);
  std::vector<std::shared_ptr<Session>> sessions(kContenders);
  std::vector<std::unique_ptr<Contender>> contenders(kContenders);
  std::vector<int> owner(kContenders);  // the log id of each slot's contender
  int next = 0;
  auto startContender = [&](int slot) {
    proxies[slot] = std::make_unique<TcpProxy>(server_.port());
    SessionOptions options;
    options.servers = proxies[slot]->connectString();
    options.sessionTimeout = 2000ms;
    sessions[slot] = Session::create(options);
    owner[slot] = next;
    contenders[slot] = std::make_unique<Contender>(sessions[slot], "/terms", masterInfo("c" + std::to_string(next), 5050),
                                                   log.callbackFor(next));
    ++next;
  };
  auto leaderSlot = [&]() -> int {
    for (int slot = 0; slot < kContenders; ++slot) {
      if (contenders[slot] && contenders[slot]->leading()) return slot;
    }
    return -1;
  };
  for (int slot = 0; slot < kContenders; ++slot) startContender(slot);

  enum class Fault { kWithdraw, kServerRestart, kPartitionLeader };
  for (Fault fault : {Fault::kWithdraw, Fault::kServerRestart, Fault::kPartitionLeader, Fault::kWithdraw,
                      Fault::kPartitionLeader}) {
    ASSERT_TRUE(waitUntil([&] { return leaderSlot() >= 0; }, 15s));
    int slot = leaderSlot();
    switch (fault) {
      case Fault::kWithdraw:
        // The leader shuts down (withdraws, closes its session); a newcomer joins.
        log.withdrawing(owner[slot]);
        contenders[slot].reset();
        sessions[slot].reset();
        startContender(slot);
        break;
      case Fault::kServerRestart: {
        server_.stop();
        ASSERT_TRUE(waitUntil([&] { return leaderSlot() < 0; }, 10s));
        std::string error;
        ASSERT_TRUE(server_.start(&error)) << error;
        break;
      }
      case Fault::kPartitionLeader:
        // Cut off past its session timeout: someone else is elected; then heal.
        proxies[slot]->setPartitioned(true);
        ASSERT_TRUE(waitUntil([&] { return leaderSlot() >= 0 && leaderSlot() != slot; }, 15s));
        proxies[slot]->setPartitioned(false);
        ASSERT_TRUE(waitUntil([&] { return log.count(owner[slot], LeadershipEvent::kLost) >= 1; }, 15s));
        break;
    }
  }
  ASSERT_TRUE(waitUntil([&] { return leaderSlot() >= 0; }, 15s));

  std::vector<LeadershipLog::Interval> intervals = log.intervals();
  std::set<int> leaders;
  for (const auto& interval : intervals) leaders.insert(interval.contender);
  EXPECT_GE(leaders.size(), 4u);  // two withdrawals and two partitions: a new leader each time
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    for (std::size_t j = i + 1; j < intervals.size(); ++j) {
      const auto& x = intervals[i];
      const auto& y = intervals[j];
      bool overlap = x.begin < y.end && y.begin < x.end;
      EXPECT_FALSE(overlap && x.contender != y.contender)
          << "contenders " << x.contender << " and " << y.contender << " led at the same time";
    }
  }
}

}  // namespace
}  // namespace mantle::zookeeper::test
