// The agent's link to the master, following the leader through a real
// ZooKeeper: "masters" here are HTTP servers that refuse every registration
// with 503 and record when each attempt came, published as leaders by
// Contenders.
#include "agent/master_link.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "process.hpp"
#include "refusing_master.hpp"
#include "zookeeper/contender.hpp"
#include "zookeeper/session.hpp"
#include "zookeeper_server.hpp"

namespace mantle::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using testing::RefusingMaster;

TEST(MasterLink, ANewLeaderIsRetriedWithAFreshBackoffNotTheOneGrownAgainstTheOldLeader) {
  if (!testing::ZooKeeperServer::available()) GTEST_SKIP() << "java or /usr/share/java/zookeeper.jar missing";
  testing::ZooKeeperServer zk;
  std::string error;
  ASSERT_TRUE(zk.start(&error)) << error;
  auto session = zookeeper::Session::create({zk.connectString(), 4000ms, std::nullopt});
  ASSERT_TRUE(session->waitConnected(15s));

  RefusingMaster oldLeader;
  RefusingMaster newLeader;
  auto oldCandidacy = std::make_unique<zookeeper::Contender>(session, "/mantle", oldLeader.info("old"),
                                                             [](zookeeper::LeadershipEvent) {});
  ASSERT_TRUE(testing::waitUntil([&] { return oldCandidacy->leading(); }, 15s));
  zookeeper::Contender newCandidacy(session, "/mantle", newLeader.info("new"), [](zookeeper::LeadershipEvent) {});

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread ioThread([&] { io.run(); });
  MasterLink::Callbacks callbacks;
  callbacks.registration = [] {
    internal::Call call;
    call.set_type(internal::Call::REGISTER);
    return call;
  };
  callbacks.onEvent = [](const internal::Event&) {};
  callbacks.onDisconnected = [](const std::string&) {};
  auto link = std::make_unique<MasterLink>(boost::asio::make_strand(io), "zk://" + zk.connectString() + "/mantle", "",
                                           callbacks);
  link->start();

  // Five refusals by the old leader double the backoff to 16 s (the delays
  // so far are at most 0.5 + 1 + 2 + 4 s).
  EXPECT_TRUE(testing::waitUntil([&] { return oldLeader.attempts().size() >= 5; }, 20s));
  // The old leader goes: ZooKeeper names the new one, which refuses too
  // (still recovering). Its second try must come after a fresh backoff
  // (under 0.5 s), not one drawn from the old 16 s (at least 1.6 s).
  oldCandidacy.reset();
  EXPECT_TRUE(testing::waitUntil([&] { return newLeader.attempts().size() >= 2; }, 40s));
  std::vector<Clock::time_point> attempts = newLeader.attempts();
  link->stop();
  work.reset();
  io.stop();
  ioThread.join();
  ASSERT_GE(attempts.size(), 2u);
  EXPECT_LT(attempts[1] - attempts[0], 1500ms);
}

}  // namespace
}  // namespace mantle::agent
