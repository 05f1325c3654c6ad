// The state document of mantle-cron and mantle-services: in a file, and in
// ZooKeeper with fenced, conditional writes against a real server.
#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include "zk_test_util.hpp"
#include "zookeeper/document_store.hpp"

namespace mantle::zookeeper::test {
namespace {

TEST(FileDocumentStoreTest, NothingIsStoredUntilAWriteWhichTheNextStoreReads) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "state" / "state.json").string();
  FileDocumentStore store(path);
  EXPECT_EQ(store.describe(), "file " + path);
  Result<std::optional<std::string>> nothing = store.load();
  ASSERT_TRUE(nothing.ok()) << nothing.error().message;
  EXPECT_FALSE(nothing->has_value());

  ASSERT_TRUE(store.store("{\"jobs\": []}").ok());
  ASSERT_TRUE(store.store("{\"jobs\": [1]}").ok());
  Result<std::optional<std::string>> read = FileDocumentStore(path).load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->value_or("none"), "{\"jobs\": [1]}");
}

class ZooKeeperDocumentStoreTest : public ZooKeeperTest {};

TEST_F(ZooKeeperDocumentStoreTest, WritesNeedALiveFenceAndTheVersionLastSeen) {
  std::shared_ptr<Session> session = connect();
  std::string fence;
  ZooKeeperDocumentStore leader(session, "/svc/state", [&] { return fence; });
  EXPECT_EQ(leader.describe(), "ZooKeeper /svc/state");
  Result<std::optional<std::string>> nothing = leader.load();
  ASSERT_TRUE(nothing.ok()) << nothing.error().message;
  EXPECT_FALSE(nothing->has_value());

  // Without a candidacy (the fence is "") no write goes out.
  Status unfenced = leader.store("deposed");
  ASSERT_FALSE(unfenced.ok());
  EXPECT_EQ(unfenced.error().code, StatusCode::kFailedPrecondition) << unfenced.error().message;

  (void)session->createSync("/svc", "", CreateMode::kPersistent);  // there already once the store made it
  Result<std::string> candidacy = session->createSync("/svc/json.info_", "{}", CreateMode::kEphemeralSequential);
  ASSERT_TRUE(candidacy.ok()) << candidacy.error().message;
  fence = *candidacy;
  ASSERT_TRUE(leader.store("first").ok());
  ASSERT_TRUE(leader.store("second").ok());

  // A successor reads the last write and writes on; the old leader, whose
  // version is behind, is refused and changes nothing.
  ZooKeeperDocumentStore successor(session, "/svc/state", [&] { return fence; });
  Result<std::optional<std::string>> read = successor.load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->value_or("none"), "second");
  ASSERT_TRUE(successor.store("third").ok());
  EXPECT_FALSE(leader.store("stale").ok());
  read = ZooKeeperDocumentStore(session, "/svc/state", [] { return std::string(); }).load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->value_or("none"), "third");
}

}  // namespace
}  // namespace mantle::zookeeper::test
