// Leader contention and detection against a real ZooKeeper server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "tcp_proxy.hpp"
#include "wire/json.hpp"
#include "zk_test_util.hpp"
#include "zookeeper/detector.hpp"
#include "zookeeper/registry_store.hpp"

namespace mantle::zookeeper::test {
namespace {

using mantle::testing::waitUntil;

// Detector callbacks, thread-safe.
class LeaderHistory {
 public:
  Detector::Callback callback() {
    return [this](const std::optional<mesos::v1::MasterInfo>& leader) {
      std::lock_guard<std::mutex> lock(mutex_);
      history_.push_back(leader ? leader->id() : "");
    };
  }
  std::vector<std::string> history() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return history_;
  }
  // The last leader's id ("" for none; "?" before the first report).
  std::string last() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return history_.empty() ? "?" : history_.back();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> history_;
};

class ContenderTest : public ZooKeeperTest {};

TEST_F(ContenderTest, ExactlyOneLeaderAndTheLowestSequenceWins) {
  LeadershipLog log;
  std::vector<std::shared_ptr<Session>> sessions;
  std::vector<std::unique_ptr<Contender>> contenders;
  for (int i = 0; i < 3; ++i) {
    sessions.push_back(connect());
    contenders.push_back(std::make_unique<Contender>(sessions.back(), "/mantle/ha", masterInfo("master-" + std::to_string(i), 5050 + i),
                                                     log.callbackFor(i)));
    // One at a time, so the creation order is known.
    ASSERT_TRUE(waitUntil([&] { return !contenders.back()->candidacyPath().empty(); }, 10s));
  }
  ASSERT_TRUE(waitUntil([&] { return contenders[0]->leading(); }, 10s));
  // Give a wrong second leader the time to show itself.
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(contenders[0]->leading());
  EXPECT_FALSE(contenders[1]->leading());
  EXPECT_FALSE(contenders[2]->leading());
  EXPECT_EQ(log.events(0), std::vector<LeadershipEvent>{LeadershipEvent::kElected});
  EXPECT_TRUE(log.events(1).empty());
  EXPECT_TRUE(log.events(2).empty());

  // The znodes are Mesos' json.info_<10 digits>, in creation order.
  Result<std::vector<std::string>> children = sessions[0]->childrenSync("/mantle/ha");
  ASSERT_TRUE(children.ok()) << children.error().message;
  ASSERT_EQ(children->size(), 3u);
  for (const std::string& child : *children) {
    EXPECT_THAT(child, ::testing::MatchesRegex("json\\.info_[0-9]{10}"));
  }
  std::int64_t first = sequenceOf(contenders[0]->candidacyPath());
  EXPECT_LT(first, sequenceOf(contenders[1]->candidacyPath()));
  EXPECT_LT(sequenceOf(contenders[1]->candidacyPath()), sequenceOf(contenders[2]->candidacyPath()));

  // The leader's znode holds its MasterInfo as JSON that parses back whole.
  Result<NodeData> node = sessions[1]->getSync(contenders[0]->candidacyPath());
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(node->stat.ephemeralOwner, sessions[0]->sessionId());
  Result<mesos::v1::MasterInfo> parsed = wire::parseJson<mesos::v1::MasterInfo>(node->data);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << node->data;
  EXPECT_EQ(parsed->SerializeAsString(), masterInfo("master-0", 5050).SerializeAsString());
  EXPECT_NE(node->data.find("\"hostname\":\"localhost\""), std::string::npos) << node->data;

  // Detectors (long-lived and one-shot) agree.
  LeaderHistory history;
  Detector detector(sessions[2], "/mantle/ha", history.callback());
  ASSERT_TRUE(waitUntil([&] { return history.last() == "master-0"; }, 10s));
  ZkUrl url{server_.connectString(), "/mantle/ha", std::nullopt};
  Result<std::optional<mesos::v1::MasterInfo>> oneShot = detectLeader(url, 10s);
  ASSERT_TRUE(oneShot.ok()) << oneShot.error().message;
  ASSERT_TRUE(oneShot->has_value());
  EXPECT_EQ((*oneShot)->id(), "master-0");
  EXPECT_EQ((*oneShot)->port(), 5050u);
}

TEST_F(ContenderTest, LeaderLeavesNextLeadsAndDetectorsFollow) {
  std::shared_ptr<Session> watcherSession = connect();
  LeaderHistory history;
  // Started before any master: the path does not even exist yet.
  Detector detector(watcherSession, "/failover", history.callback());
  ASSERT_TRUE(waitUntil([&] { return history.last() == ""; }, 10s));

  LeadershipLog log;
  std::shared_ptr<Session> sessionA = connect();
  std::shared_ptr<Session> sessionB = connect();
  auto a = std::make_unique<Contender>(sessionA, "/failover", masterInfo("A", 5050), log.callbackFor(0));
  ASSERT_TRUE(waitUntil([&] { return a->leading(); }, 10s));
  auto b = std::make_unique<Contender>(sessionB, "/failover", masterInfo("B", 5051), log.callbackFor(1));
  ASSERT_TRUE(waitUntil([&] { return !b->candidacyPath().empty(); }, 10s));
  ASSERT_TRUE(waitUntil([&] { return history.last() == "A"; }, 10s));
  EXPECT_FALSE(b->leading());

  // A withdraws (a master shutting down): B leads within seconds.
  auto before = std::chrono::steady_clock::now();
  a.reset();
  ASSERT_TRUE(waitUntil([&] { return b->leading(); }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  ASSERT_TRUE(waitUntil([&] { return history.last() == "B"; }, 10s));
  ASSERT_TRUE(detector.leader().has_value());
  EXPECT_EQ(detector.leader()->id(), "B");

  // B goes too, its session with it: the next in line, C, leads.
  std::shared_ptr<Session> sessionC = connect();
  auto c = std::make_unique<Contender>(sessionC, "/failover", masterInfo("C", 5052), log.callbackFor(2));
  ASSERT_TRUE(waitUntil([&] { return !c->candidacyPath().empty(); }, 10s));
  b.reset();
  sessionB.reset();
  ASSERT_TRUE(waitUntil([&] { return c->leading(); }, 10s));
  ASSERT_TRUE(waitUntil([&] { return history.last() == "C"; }, 10s));

  c.reset();
  ASSERT_TRUE(waitUntil([&] { return history.last() == ""; }, 10s));
  EXPECT_FALSE(detector.leader().has_value());
  EXPECT_EQ(history.history(), (std::vector<std::string>{"", "A", "B", "C", ""}));
  EXPECT_EQ(log.events(0), std::vector<LeadershipEvent>{LeadershipEvent::kElected});
  EXPECT_EQ(log.events(1), std::vector<LeadershipEvent>{LeadershipEvent::kElected});
}

TEST_F(ContenderTest, ExpiredSessionStepsDownAndItsRegistryWritesFail) {
  // A reaches ZooKeeper through a proxy that the test can cut; B directly.
  TcpProxy proxy(server_.port());
  LeadershipLog log;
  SessionOptions options;
  options.servers = proxy.connectString();
  options.sessionTimeout = 2000ms;
  std::shared_ptr<Session> sessionA = Session::create(options);
  ASSERT_TRUE(sessionA->waitConnected(15s));
  std::shared_ptr<Session> sessionB = connect(2000ms);
  Contender a(sessionA, "/expiry", masterInfo("A", 5050), log.callbackFor(0));
  ASSERT_TRUE(waitUntil([&] { return a.leading(); }, 10s));
  Contender b(sessionB, "/expiry", masterInfo("B", 5051), log.callbackFor(1));
  ASSERT_TRUE(waitUntil([&] { return !b.candidacyPath().empty(); }, 10s));

  RegistryStore storeA(sessionA, "/expiry");
  const std::string fenceA = a.candidacyPath();
  Result<std::int32_t> written = storeA.store("registry by A", -1, fenceA);
  ASSERT_TRUE(written.ok()) << written.error().message;
  ASSERT_EQ(*written, 0);
  std::int64_t oldSession = sessionA->sessionId();

  // A is cut off: it stops leading at once; ZooKeeper expires its session
  // after the timeout and B is elected.
  proxy.setPartitioned(true);
  ASSERT_TRUE(waitUntil([&] { return log.count(0, LeadershipEvent::kSuspended) == 1; }, 10s));
  EXPECT_FALSE(a.leading());
  ASSERT_TRUE(waitUntil([&] { return b.leading(); }, 15s));
  EXPECT_EQ(log.count(0, LeadershipEvent::kLost), 0);  // A cannot know yet

  // A reconnects, learns that its session expired, and contends anew.
  proxy.setPartitioned(false);
  ASSERT_TRUE(waitUntil([&] { return log.count(0, LeadershipEvent::kLost) == 1; }, 15s));
  ASSERT_TRUE(waitUntil([&] { return !a.candidacyPath().empty() && a.candidacyPath() != fenceA; }, 15s));
  EXPECT_NE(sessionA->sessionId(), oldSession);
  EXPECT_GT(sequenceOf(a.candidacyPath()), sequenceOf(b.candidacyPath()));
  EXPECT_FALSE(a.leading());
  EXPECT_TRUE(b.leading());

  // The deposed leader's writes are refused, even at the current version.
  Result<std::int32_t> stale = storeA.store("stale write by A", 0, fenceA);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, StatusCode::kFailedPrecondition) << stale.error().message;

  RegistryStore storeB(sessionB, "/expiry");
  Result<std::int32_t> byB = storeB.store("registry by B", 0, b.candidacyPath());
  ASSERT_TRUE(byB.ok()) << byB.error().message;
  EXPECT_EQ(*byB, 1);
  // Still refused at B's version; with a live fence but an old version it
  // loses on the version.
  EXPECT_EQ(storeA.store("stale again", 1, fenceA).error().code, StatusCode::kFailedPrecondition);
  EXPECT_EQ(storeA.store("stale again", 0, a.candidacyPath()).error().code, StatusCode::kAborted);

  Result<RegistrySnapshot> now = storeA.load();
  ASSERT_TRUE(now.ok()) << now.error().message;
  EXPECT_EQ(now->data, "registry by B");
  EXPECT_EQ(now->version, 1);
  EXPECT_EQ(log.events(0), (std::vector<LeadershipEvent>{LeadershipEvent::kElected, LeadershipEvent::kSuspended,
                                                          LeadershipEvent::kLost}));
  // A had stopped leading before B started.
  std::vector<LeadershipLog::Interval> intervals = log.intervals();
  ASSERT_EQ(intervals.size(), 2u);
  EXPECT_LE(intervals[0].end, intervals[1].begin);
}

TEST_F(ContenderTest, DetectorReadsMesosZnodesAndReportsMalformedOnes) {
  std::shared_ptr<Session> session = connect();
  ASSERT_TRUE(session->ensurePathSync("/mesos").ok());
  // What a Mesos 1.x master writes (fields of mesos.MasterInfo, stout's JSON).
  const std::string mesosJson =
      R"({"address":{"hostname":"m1.example.com","ip":"10.0.0.1","port":5050},"hostname":"m1.example.com",)"
      R"("id":"2d3e-mesos","ip":16777226,"pid":"master@10.0.0.1:5050","port":5050,"version":"1.11.0",)"
      R"("capabilities":[{"type":"AGENT_UPDATE"},{"type":"SOME_FUTURE_CAPABILITY"}],"domain":null})";
  Result<std::string> mesosNode = session->createSync("/mesos/json.info_", mesosJson, CreateMode::kEphemeralSequential);
  ASSERT_TRUE(mesosNode.ok()) << mesosNode.error().message;
  // Other members of a Mesos group (log replicas, protobuf info nodes) are ignored.
  ASSERT_TRUE(session->createSync("/mesos/log_replicas", "", CreateMode::kPersistent).ok());

  LeaderHistory history;
  Detector detector(session, "/mesos", history.callback());
  ASSERT_TRUE(waitUntil([&] { return history.last() == "2d3e-mesos"; }, 10s));
  ASSERT_TRUE(detector.leader().has_value());
  EXPECT_EQ(detector.leader()->address().ip(), "10.0.0.1");
  ASSERT_GE(detector.leader()->capabilities_size(), 1);
  EXPECT_EQ(detector.leader()->capabilities(0).type(), mesos::v1::MasterInfo::Capability::AGENT_UPDATE);

  // A leader znode that is not MasterInfo: no leader, and an error for the one-shot.
  ASSERT_TRUE(session->createSync("/broken", "", CreateMode::kPersistent).ok());
  ASSERT_TRUE(session->createSync("/broken/json.info_", "not json", CreateMode::kEphemeralSequential).ok());
  Result<std::optional<mesos::v1::MasterInfo>> broken =
      detectLeader(ZkUrl{server_.connectString(), "/broken", std::nullopt}, 10s);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, StatusCode::kInvalidArgument);
  EXPECT_THAT(broken.error().message, ::testing::HasSubstr("json.info_"));

  // Nothing contends under a path that does not exist: ok, no leader.
  Result<std::optional<mesos::v1::MasterInfo>> none =
      detectLeader(ZkUrl{server_.connectString(), "/nobody/here", std::nullopt}, 10s);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());
}

TEST_F(ContenderTest, DigestCredentialsProtectWritesButLeaderInfoStaysReadable) {
  Credentials credentials{"mantle", "s3cret"};
  std::shared_ptr<Session> authed = connect(4000ms, credentials);
  LeadershipLog log;
  Contender contender(authed, "/secure", masterInfo("A", 5050), log.callbackFor(0));
  ASSERT_TRUE(waitUntil([&] { return contender.leading(); }, 10s));
  RegistryStore store(authed, "/secure");
  ASSERT_TRUE(store.store("secret registry", -1, contender.candidacyPath()).ok());

  // A client without credentials finds the leader and may read...
  Result<std::optional<mesos::v1::MasterInfo>> leader =
      detectLeader(ZkUrl{server_.connectString(), "/secure", std::nullopt}, 10s);
  ASSERT_TRUE(leader.ok()) << leader.error().message;
  ASSERT_TRUE(leader->has_value());
  EXPECT_EQ((*leader)->id(), "A");
  std::shared_ptr<Session> anonymous = connect();
  RegistryStore anonymousStore(anonymous, "/secure");
  Result<RegistrySnapshot> read = anonymousStore.load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->data, "secret registry");
  // ...but neither write the registry nor contend.
  Result<std::int32_t> write = anonymousStore.store("vandalism", read->version, "");
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, StatusCode::kPermissionDenied) << write.error().message;
  EXPECT_EQ(anonymous->createSync("/secure/json.info_", "{}", CreateMode::kEphemeralSequential).error().code,
            StatusCode::kPermissionDenied);
  // Wrong credentials are no better.
  std::shared_ptr<Session> wrong = connect(4000ms, Credentials{"mantle", "guess"});
  RegistryStore wrongStore(wrong, "/secure");
  EXPECT_EQ(wrongStore.store("vandalism", read->version, "").error().code, StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace mantle::zookeeper::test
