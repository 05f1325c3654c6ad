// The agent's status-update manager in-process: per-task order, resends
// until acknowledged, stale and duplicate acknowledgements, the update log on
// disk and the streams recovered from it. Timers run on a real io_context.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "agent/checkpoint.hpp"
#include "agent/status_update_manager.hpp"
#include "run_until.hpp"
#include "temp_dir.hpp"

namespace mantle::agent {
namespace {

using namespace std::chrono_literals;

internal::StatusUpdate makeUpdate(const std::string& taskId, mesos::v1::TaskState state, const std::string& uuid) {
  internal::StatusUpdate update;
  update.mutable_framework_id()->set_value("framework-1");
  update.mutable_status()->mutable_task_id()->set_value(taskId);
  update.mutable_status()->set_state(state);
  update.mutable_status()->set_uuid(uuid);
  update.set_uuid(uuid);
  update.set_timestamp(1);
  return update;
}

class StatusUpdateManagerTest : public ::testing::Test {
 protected:
  // `retryInterval`: long by default, so that only the sends a test causes happen.
  // A restarted agent gets a new manager and a new group commit.
  void makeManager(double retryInterval = 3600) {
    manager_.reset();
    const auto strand = boost::asio::make_strand(io_);
    commits_ = std::make_unique<checkpoint::GroupCommit>(strand);
    manager_ = std::make_unique<StatusUpdateManager>(
        strand, *commits_, retryInterval,
        [this](internal::StatusUpdate update) { sent_.push_back(std::move(update)); });
  }

  // Runs the io_context until `count` updates went out (commits end on the strand).
  void waitForSent(std::size_t count) {
    testing::runUntil(io_, 10s, [this, count] { return sent_.size() >= count; });
  }

  std::vector<std::string> sentUuids() const {
    std::vector<std::string> out;
    for (const auto& update : sent_) out.push_back(update.uuid());
    return out;
  }

  void runFor(std::chrono::milliseconds duration) {
    io_.restart();
    io_.run_for(duration);
  }

  std::string logPath(const std::string& taskId) const { return (dir_.path() / taskId / "task.updates").string(); }

  boost::asio::io_context io_;
  testing::TempDir dir_;
  std::vector<internal::StatusUpdate> sent_;
  std::unique_ptr<checkpoint::GroupCommit> commits_;
  std::unique_ptr<StatusUpdateManager> manager_;
};

TEST_F(StatusUpdateManagerTest, UpdatesOfATaskGoOutOneAtATimeInTheOrderTheyCame) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_STARTING, "u1"), "").ok());
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u2"), "").ok());
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_FINISHED, "u3"), "").ok());
  // Only the head is with the master.
  ASSERT_EQ(sentUuids(), (std::vector<std::string>{"u1"}));
  EXPECT_EQ(sent_[0].latest_state(), mesos::v1::TASK_STARTING);
  EXPECT_EQ(manager_->pending("framework-1", "t"), 3u);
  // Sent again, it carries the newest state of its stream.
  sent_.clear();
  manager_->flush();
  ASSERT_EQ(sentUuids(), (std::vector<std::string>{"u1"}));
  EXPECT_EQ(sent_[0].latest_state(), mesos::v1::TASK_FINISHED);

  ASSERT_TRUE(manager_->acknowledge("framework-1", "t", "u1").ok());
  ASSERT_TRUE(manager_->acknowledge("framework-1", "t", "u2").ok());
  EXPECT_EQ(sentUuids(), (std::vector<std::string>{"u1", "u2", "u3"}));
  auto last = manager_->acknowledge("framework-1", "t", "u3");
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->terminal);
  EXPECT_FALSE(manager_->has("framework-1", "t"));
}

TEST_F(StatusUpdateManagerTest, StreamsOfDifferentTasksDoNotWaitForEachOther) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("a", mesos::v1::TASK_RUNNING, "a1"), "").ok());
  ASSERT_TRUE(manager_->add(makeUpdate("b", mesos::v1::TASK_RUNNING, "b1"), "").ok());
  EXPECT_EQ(sentUuids(), (std::vector<std::string>{"a1", "b1"}));
}

TEST_F(StatusUpdateManagerTest, AnUnacknowledgedUpdateIsSentAgainWithAGrowingPauseUntilAcknowledged) {
  makeManager(0.05);
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u1"), "").ok());
  runFor(1000ms);  // resends at ~50, 150, 350, 750 ms
  const std::size_t sends = sent_.size();
  EXPECT_GE(sends, 3u);
  EXPECT_LE(sends, 7u);  // doubling: far fewer than 1000/50
  for (const auto& update : sent_) EXPECT_EQ(update.uuid(), "u1");

  ASSERT_TRUE(manager_->acknowledge("framework-1", "t", "u1").ok());
  runFor(500ms);
  EXPECT_EQ(sent_.size(), sends);  // acknowledged: no more sends
  // A non-terminal stream stays (its uuids keep deduplicating).
  EXPECT_TRUE(manager_->has("framework-1", "t"));
  EXPECT_TRUE(manager_->seen("framework-1", "t", "u1"));
}

TEST_F(StatusUpdateManagerTest, FlushSendsEveryHeadAgainAtOnce) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("a", mesos::v1::TASK_RUNNING, "a1"), "").ok());
  ASSERT_TRUE(manager_->add(makeUpdate("a", mesos::v1::TASK_FINISHED, "a2"), "").ok());
  ASSERT_TRUE(manager_->add(makeUpdate("b", mesos::v1::TASK_RUNNING, "b1"), "").ok());
  sent_.clear();
  manager_->flush();
  EXPECT_EQ(sentUuids(), (std::vector<std::string>{"a1", "b1"}));
}

TEST_F(StatusUpdateManagerTest, DuplicateAndStaleAcknowledgementsChangeNothing) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u1"), "").ok());
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_FINISHED, "u2"), "").ok());
  ASSERT_TRUE(manager_->acknowledge("framework-1", "t", "u1").ok());

  auto duplicate = manager_->acknowledge("framework-1", "t", "u1");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, StatusCode::kFailedPrecondition);
  auto unknown = manager_->acknowledge("framework-1", "other", "u1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, StatusCode::kNotFound);
  EXPECT_EQ(manager_->pending("framework-1", "t"), 1u);
  EXPECT_EQ(sentUuids(), (std::vector<std::string>{"u1", "u2"}));

  ASSERT_TRUE(manager_->acknowledge("framework-1", "t", "u2").ok());
  auto afterTheEnd = manager_->acknowledge("framework-1", "t", "u2");
  ASSERT_FALSE(afterTheEnd.ok());
  EXPECT_EQ(afterTheEnd.error().code, StatusCode::kNotFound);
}

TEST_F(StatusUpdateManagerTest, AnUpdateWithAUuidAlreadySeenIsRefusedAndNotQueuedTwice) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u1"), logPath("t")).ok());
  Status again = manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u1"), logPath("t"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, StatusCode::kAlreadyExists);
  EXPECT_EQ(manager_->pending("framework-1", "t"), 1u);
  waitForSent(1);
  runFor(20ms);
  EXPECT_EQ(sent_.size(), 1u);
  auto records = checkpoint::readRecords(logPath("t"));
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 1u);  // checkpointed once
}

TEST_F(StatusUpdateManagerTest, ARestartedManagerRecoversExactlyTheUnacknowledgedUpdates) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_STARTING, "u1"), logPath("t")).ok());
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u2"), logPath("t")).ok());
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_FINISHED, "u3"), logPath("t")).ok());
  ASSERT_TRUE(manager_->acknowledge("framework-1", "t", "u1").ok());
  // Not checkpointed: gone with the agent.
  ASSERT_TRUE(manager_->add(makeUpdate("volatile", mesos::v1::TASK_RUNNING, "v1"), "").ok());

  makeManager();  // the agent restarted
  sent_.clear();
  auto recovered = manager_->recover("framework-1", "t", logPath("t"));
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  ASSERT_EQ(recovered->updates.size(), 3u);  // the task's whole history
  EXPECT_EQ(recovered->updates.back().status().state(), mesos::v1::TASK_FINISHED);
  EXPECT_EQ(recovered->unacknowledged, 2u);
  EXPECT_FALSE(manager_->has("framework-1", "volatile"));
  EXPECT_TRUE(sent_.empty());  // nothing goes before the agent has a master

  manager_->flush();
  EXPECT_EQ(sentUuids(), (std::vector<std::string>{"u2"}));
  // The uuids seen before the restart still deduplicate.
  EXPECT_FALSE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u2"), logPath("t")).ok());
  ASSERT_TRUE(manager_->acknowledge("framework-1", "t", "u2").ok());
  EXPECT_EQ(sentUuids(), (std::vector<std::string>{"u2", "u3"}));
  auto last = manager_->acknowledge("framework-1", "t", "u3");
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->terminal);

  // After a second restart the acknowledged log yields no stream at all.
  makeManager();
  sent_.clear();
  auto again = manager_->recover("framework-1", "t", logPath("t"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unacknowledged, 0u);
  EXPECT_FALSE(manager_->has("framework-1", "t"));
  manager_->flush();
  EXPECT_TRUE(sent_.empty());
}

TEST_F(StatusUpdateManagerTest, ACheckpointedUpdateIsLoggedAtOnceAndGoesOutOnlyAfterItsCommit) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u1"), logPath("t")).ok());
  // In the log before anything else happens (an agent killed now recovers it) ...
  auto records = checkpoint::readRecords(logPath("t"));
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 1u);
  // ... but not with the master before the commit that makes it durable.
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(commits_->commits(), 0u);
  waitForSent(1);
  EXPECT_EQ(sentUuids(), (std::vector<std::string>{"u1"}));
  EXPECT_EQ(commits_->commits(), 1u);
}

TEST_F(StatusUpdateManagerTest, UpdatesThatArriveTogetherShareOneCommit) {
  makeManager();
  for (int i = 0; i < 50; ++i) {
    const std::string task = "t" + std::to_string(i);
    ASSERT_TRUE(manager_->add(makeUpdate(task, mesos::v1::TASK_RUNNING, "u" + task), logPath(task)).ok());
  }
  waitForSent(50);
  EXPECT_EQ(sent_.size(), 50u);
  EXPECT_EQ(commits_->commits(), 1u);
}

TEST_F(StatusUpdateManagerTest, AnUpdateOfAFrameworkThatDoesNotCheckpointGoesOutWithoutACommit) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u1"), logPath("t"), false).ok());
  EXPECT_EQ(sentUuids(), (std::vector<std::string>{"u1"}));
  runFor(20ms);
  EXPECT_EQ(commits_->commits(), 0u);
}

TEST_F(StatusUpdateManagerTest, ATornLastRecordIsDroppedOnRecovery) {
  makeManager();
  ASSERT_TRUE(manager_->add(makeUpdate("t", mesos::v1::TASK_RUNNING, "u1"), logPath("t")).ok());
  {
    std::ofstream torn(logPath("t"), std::ios::app);
    torn << "999\nU-half";  // a record cut short by a crash
  }
  makeManager();
  auto recovered = manager_->recover("framework-1", "t", logPath("t"));
  ASSERT_TRUE(recovered.ok());
  ASSERT_EQ(recovered->updates.size(), 1u);
  EXPECT_EQ(recovered->updates[0].uuid(), "u1");
}

TEST_F(StatusUpdateManagerTest, ATaskWithoutAnUpdateLogRecoversEmpty) {
  makeManager();
  auto recovered = manager_->recover("framework-1", "t", logPath("never-written"));
  ASSERT_TRUE(recovered.ok());
  EXPECT_TRUE(recovered->updates.empty());
  EXPECT_FALSE(manager_->has("framework-1", "t"));
}

}  // namespace
}  // namespace mantle::agent
