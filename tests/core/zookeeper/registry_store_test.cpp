// The registry in ZooKeeper: versions, conditional writes, fencing and
// registries larger than one znode, against a real server.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "zk_test_util.hpp"
#include "zookeeper/registry_store.hpp"

namespace mantle::zookeeper::test {
namespace {

using mantle::testing::waitUntil;

std::string randomBytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random() & 0xff);
  return out;
}

// Whether `store`'s chunks become `count` (old generations are removed
// after a write returns).
bool chunksBecome(Session& session, const RegistryStore& store, std::size_t count) {
  return waitUntil(
      [&] {
        Result<std::vector<std::string>> left = session.childrenSync(store.chunksPath());
        return left.ok() && left->size() == count;
      },
      10s);
}

class RegistryStoreTest : public ZooKeeperTest {};

TEST_F(RegistryStoreTest, RoundTripWithVersions) {
  std::shared_ptr<Session> session = connect();
  RegistryStore store(session, "/mantle/cluster");
  Result<RegistrySnapshot> empty = store.load();
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->version, -1);
  EXPECT_EQ(empty->data, "");

  const std::string first("agents+frameworks\0with a NUL", 28);
  Result<std::int32_t> v0 = store.store(first, -1, "");
  ASSERT_TRUE(v0.ok()) << v0.error().message;
  EXPECT_EQ(*v0, 0);
  Result<RegistrySnapshot> read = store.load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->data, first);
  EXPECT_EQ(read->version, 0);

  Result<std::int32_t> v1 = store.store("second", 0, "");
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_EQ(*v1, 1);
  // An empty registry is a registry too.
  ASSERT_TRUE(store.store("", 1, "").ok());
  read = store.load();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->data, "");
  EXPECT_EQ(read->version, 2);

  // The asynchronous forms, in order, on the store's own thread.
  std::promise<Result<std::int32_t>> stored;
  std::promise<Result<RegistrySnapshot>> loaded;
  store.storeAsync("async", 2, "", [&](Result<std::int32_t> r) { stored.set_value(std::move(r)); });
  store.loadAsync([&](Result<RegistrySnapshot> r) { loaded.set_value(std::move(r)); });
  Result<std::int32_t> asyncVersion = stored.get_future().get();
  ASSERT_TRUE(asyncVersion.ok()) << asyncVersion.error().message;
  EXPECT_EQ(*asyncVersion, 3);
  Result<RegistrySnapshot> asyncRead = loaded.get_future().get();
  ASSERT_TRUE(asyncRead.ok());
  EXPECT_EQ(asyncRead->data, "async");
}

TEST_F(RegistryStoreTest, ConditionalWriteRefusedAfterVersionChange) {
  std::shared_ptr<Session> one = connect();
  std::shared_ptr<Session> two = connect();
  RegistryStore first(one, "/cas");
  RegistryStore second(two, "/cas");
  ASSERT_TRUE(first.store("v0", -1, "").ok());

  // Both read version 0; the second writes first.
  ASSERT_EQ(first.load()->version, 0);
  ASSERT_EQ(second.load()->version, 0);
  ASSERT_TRUE(second.store("second's", 0, "").ok());
  Result<std::int32_t> lost = first.store("first's", 0, "");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, StatusCode::kAborted) << lost.error().message;
  // Creating again is a conflict as well.
  EXPECT_EQ(first.store("again", -1, "").error().code, StatusCode::kAborted);
  // So is a version from the future.
  EXPECT_EQ(first.store("future", 7, "").error().code, StatusCode::kAborted);
  Result<RegistrySnapshot> now = first.load();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->data, "second's");
  EXPECT_EQ(now->version, 1);

  // A fence that does not exist refuses the write and changes nothing.
  Result<std::int32_t> unfenced = first.store("no fence", 1, "/cas/json.info_0000000099");
  ASSERT_FALSE(unfenced.ok());
  EXPECT_EQ(unfenced.error().code, StatusCode::kFailedPrecondition) << unfenced.error().message;
  EXPECT_EQ(first.load()->data, "second's");
  // With a live fence (an ephemeral znode of this session) it goes through.
  Result<std::string> fence = one->createSync("/cas/json.info_", "{}", CreateMode::kEphemeralSequential);
  ASSERT_TRUE(fence.ok());
  Result<std::int32_t> fenced = first.store("fenced", 1, *fence);
  ASSERT_TRUE(fenced.ok()) << fenced.error().message;
  EXPECT_EQ(*fenced, 2);
}

TEST_F(RegistryStoreTest, SplitRegistryOverOneMegabyteReadsBackIntact) {
  std::shared_ptr<Session> session = connect();
  RegistryStore store(session, "/big");
  const std::string big = randomBytes(1536 * 1024 + 17, 7);  // 3 full chunks and a bit
  Result<std::int32_t> v0 = store.store(big, -1, "");
  ASSERT_TRUE(v0.ok()) << v0.error().message;
  Result<std::vector<std::string>> chunks = session->childrenSync(store.chunksPath());
  ASSERT_TRUE(chunks.ok());
  EXPECT_EQ(chunks->size(), 4u);
  // No single znode holds more than a chunk.
  for (const std::string& chunk : *chunks) {
    Result<NodeData> piece = session->getSync(store.chunksPath() + "/" + chunk);
    ASSERT_TRUE(piece.ok());
    EXPECT_LE(piece->data.size(), 512u * 1024u);
  }

  // Read back whole through another session.
  std::shared_ptr<Session> reader = connect();
  RegistryStore readerStore(reader, "/big");
  Result<RegistrySnapshot> read = readerStore.load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->version, 0);
  ASSERT_EQ(read->data.size(), big.size());
  EXPECT_TRUE(read->data == big);

  // A bigger one replaces it; then a small (inline) one, and the chunks go away.
  const std::string bigger = randomBytes(2 * 1024 * 1024, 8);
  ASSERT_TRUE(store.store(bigger, 0, "").ok());
  read = readerStore.load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(read->data == bigger);
  ASSERT_TRUE(store.store("small again", 1, "").ok());
  read = readerStore.load();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->data, "small again");
  EXPECT_EQ(read->version, 2);
  EXPECT_TRUE(chunksBecome(*session, store, 0));
}

TEST_F(RegistryStoreTest, ReadersNeverSeeATornRegistry) {
  std::shared_ptr<Session> writerSession = connect();
  std::shared_ptr<Session> readerSession = connect();
  RegistryStore writer(writerSession, "/torn", RegistryStoreOptions{64 * 1024});
  RegistryStore reader(readerSession, "/torn", RegistryStoreOptions{64 * 1024});
  std::vector<std::string> values;
  for (unsigned i = 0; i < 12; ++i) values.push_back(randomBytes(300 * 1024 + i, 100 + i));  // 5 chunks each

  std::atomic<bool> done{false};
  std::atomic<int> wholeReads{0};
  std::atomic<int> tornReads{0};
  std::thread readerThread([&] {
    while (!done.load()) {
      Result<RegistrySnapshot> snapshot = reader.load();
      if (!snapshot.ok()) continue;  // kUnavailable when it kept changing: fine, never torn
      if (snapshot->version < 0) continue;
      if (snapshot->data == values[static_cast<std::size_t>(snapshot->version)]) {
        ++wholeReads;
      } else {
        ++tornReads;
      }
    }
  });
  std::int32_t version = -1;
  std::string failure;
  for (const std::string& value : values) {
    Result<std::int32_t> stored = writer.store(value, version, "");
    if (!stored.ok()) {
      failure = stored.error().message;
      break;
    }
    version = *stored;
  }
  // Let the reader see the last one a few times.
  waitUntil([&] { return wholeReads.load() >= 3; }, 10s);
  done = true;
  readerThread.join();
  ASSERT_EQ(failure, "");
  EXPECT_EQ(tornReads.load(), 0);
  EXPECT_GE(wholeReads.load(), 3);
}

// An append writes the bytes appended (new chunks of the generation the
// manifest names, then the manifest), never the registry again.
TEST_F(RegistryStoreTest, AppendsWriteOnlyWhatTheyAddAndReadBackWhole) {
  std::shared_ptr<Session> session = connect();
  RegistryStore store(session, "/append", RegistryStoreOptions{64 * 1024});
  // Small: inline, and appends to it stay inline while they fit.
  Result<std::int32_t> version = store.store("whole\n", -1, "");
  ASSERT_TRUE(version.ok()) << version.error().message;
  version = store.append("small change\n", *version, "");
  ASSERT_TRUE(version.ok()) << version.error().message;
  std::string expected = "whole\nsmall change\n";
  EXPECT_EQ(store.load()->data, expected);
  // Past a chunk: chunks, then appended chunks.
  const std::string big = randomBytes(100 * 1024, 3);
  version = store.append(big, *version, "");
  ASSERT_TRUE(version.ok()) << version.error().message;
  expected += big;
  Result<std::vector<std::string>> before = session->childrenSync(store.chunksPath());
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 2u);
  std::map<std::string, std::int64_t> written;
  for (const std::string& chunk : *before)
    written[chunk] = session->getSync(store.chunksPath() + "/" + chunk)->stat.mzxid;
  for (unsigned i = 0; i < 5; ++i) {
    const std::string change = randomBytes(1000 + i, 20 + i);
    version = store.append(change, *version, "");
    ASSERT_TRUE(version.ok()) << version.error().message;
    expected += change;
  }
  EXPECT_EQ(*version, 7);
  Result<std::vector<std::string>> after = session->childrenSync(store.chunksPath());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 7u);
  // The chunks there before are untouched.
  for (const auto& [chunk, mzxid] : written) {
    EXPECT_EQ(session->getSync(store.chunksPath() + "/" + chunk)->stat.mzxid, mzxid) << chunk;
  }

  std::shared_ptr<Session> readerSession = connect();
  RegistryStore reader(readerSession, "/append", RegistryStoreOptions{64 * 1024});
  Result<RegistrySnapshot> read = reader.load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->version, 7);
  EXPECT_TRUE(read->data == expected);
  // A store that read the registry appends to it too (a new leader does).
  Result<std::int32_t> appended = reader.append("read, then appended\n", 7, "");
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(*appended, 8);
  expected += "read, then appended\n";
  EXPECT_TRUE(store.load()->data == expected);
  // One that neither wrote nor read that version cannot; a whole write
  // can, and its chunks replace the others.
  RegistryStore stranger(readerSession, "/append", RegistryStoreOptions{64 * 1024});
  Result<std::int32_t> refused = stranger.append("x", 8, "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, StatusCode::kInternal);
  ASSERT_TRUE(stranger.store(big, 8, "").ok());
  EXPECT_TRUE(store.load()->data == big);
  EXPECT_TRUE(chunksBecome(*session, store, 2));
}

// An append whose manifest switch is refused (another writer moved the
// version, or the fence is gone) leaves the registry as it was: its chunks
// exist, but no manifest names them.
TEST_F(RegistryStoreTest, ARefusedAppendLeavesTheRegistryAsItWas) {
  std::shared_ptr<Session> one = connect();
  std::shared_ptr<Session> two = connect();
  RegistryStore writer(one, "/refused", RegistryStoreOptions{64 * 1024});
  RegistryStore other(two, "/refused", RegistryStoreOptions{64 * 1024});
  const std::string whole = randomBytes(200 * 1024, 5);
  ASSERT_TRUE(writer.store(whole, -1, "").ok());
  Result<std::int32_t> refused = writer.append(randomBytes(70 * 1024, 6), 0, "/refused/no-such-fence");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, StatusCode::kFailedPrecondition) << refused.error().message;
  Result<RegistrySnapshot> read = other.load();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->version, 0);
  EXPECT_TRUE(read->data == whole);
  // After a refused write the store does not know what it holds: appending
  // again needs a whole write first.
  EXPECT_EQ(writer.append("y", 0, "").error().code, StatusCode::kInternal);

  ASSERT_TRUE(other.store("moved\n", 0, "").ok());
  ASSERT_TRUE(writer.store(whole, -1, "").error().code == StatusCode::kAborted);
  read = writer.load();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->data, "moved\n");
}

}  // namespace
}  // namespace mantle::zookeeper::test
