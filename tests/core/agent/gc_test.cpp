// The agent's garbage collector in-process: Mesos' age formula, removal when
// due, pruning by the disk's usage, unscheduling, and the directories a
// removal leaves empty. Real directories, timers on a real io_context.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "agent/gc.hpp"
#include "run_until.hpp"
#include "temp_dir.hpp"

namespace mantle::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = GarbageCollector::Clock;
using testing::runUntil;

TEST(GcAgeTest, ShrinksAsTheDiskFillsAndIsNeverNegative) {
  constexpr double kWeek = 7 * 86400;
  EXPECT_DOUBLE_EQ(gcAge(kWeek, 0.1, 0.0), kWeek * 0.9);
  EXPECT_DOUBLE_EQ(gcAge(kWeek, 0.1, 0.5), kWeek * 0.4);
  EXPECT_DOUBLE_EQ(gcAge(100, 0.0, 0.25), 75);
  EXPECT_DOUBLE_EQ(gcAge(100, 0.1, 0.9), 0);
  EXPECT_DOUBLE_EQ(gcAge(100, 0.1, 0.95), 0);  // past the headroom: everything finished goes
  EXPECT_DOUBLE_EQ(gcAge(100, 1.0, 0.0), 0);
}

TEST(DiskUsageTest, IsAFractionOfTheDiskAndFailsForAMissingPath) {
  testing::TempDir dir;
  auto usage = diskUsage(dir.path().string());
  ASSERT_TRUE(usage.ok()) << usage.error().message;
  EXPECT_GE(*usage, 0.0);
  EXPECT_LE(*usage, 1.0);
  auto missing = diskUsage((dir.path() / "missing").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
}

class GarbageCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (dir_.path() / "slaves").string();
    gc_ = std::make_unique<GarbageCollector>(boost::asio::make_strand(io_), root_,
                                             [this](const std::string& path, const Status& status) {
                                               if (status.ok()) removed_.insert(path);
                                             });
  }

  // A sandbox with a file in it.
  std::string sandbox(const std::string& executor, const std::string& run) {
    fs::path path = fs::path(root_) / "agent" / "frameworks" / "fw" / "executors" / executor / "runs" / run;
    fs::create_directories(path);
    std::ofstream(path / "stdout") << "output";
    return path.string();
  }

  boost::asio::io_context io_;
  testing::TempDir dir_;
  std::string root_;
  std::set<std::string> removed_;
  std::unique_ptr<GarbageCollector> gc_;
};

TEST_F(GarbageCollectorTest, APathGoesWhenItsTimeComesAndNotBefore) {
  const std::string soon = sandbox("a", "1");
  const std::string later = sandbox("b", "1");
  gc_->schedule(soon, Clock::now() + 300ms);
  gc_->schedule(later, Clock::now() + 1h);
  runUntil(io_, 100ms, [] { return false; });
  EXPECT_TRUE(fs::exists(soon));
  ASSERT_TRUE(runUntil(io_, 10s, [&] { return removed_.count(soon) > 0; }));
  EXPECT_FALSE(fs::exists(soon));
  EXPECT_TRUE(fs::exists(later));
  EXPECT_EQ(gc_->scheduled().size(), 1u);
  EXPECT_EQ(gc_->scheduled().count(later), 1u);
}

TEST_F(GarbageCollectorTest, APathWhoseTimeHasPassedGoesAtOnce) {
  const std::string old = sandbox("a", "1");
  gc_->schedule(old, Clock::now() - 1h);  // e.g. recovered from an mtime long ago
  ASSERT_TRUE(runUntil(io_, 10s, [&] { return removed_.count(old) > 0; }));
  EXPECT_FALSE(fs::exists(old));
}

TEST_F(GarbageCollectorTest, PruneRemovesWhatIsDueWithinTheGivenTimeOnly) {
  const std::string inAnHour = sandbox("a", "1");
  const std::string inADay = sandbox("b", "1");
  gc_->schedule(inAnHour, Clock::now() + 1h);
  gc_->schedule(inADay, Clock::now() + 24h);
  gc_->prune(2 * 3600);
  ASSERT_TRUE(runUntil(io_, 10s, [&] { return removed_.count(inAnHour) > 0; }));
  EXPECT_FALSE(fs::exists(inAnHour));
  EXPECT_TRUE(fs::exists(inADay));
  EXPECT_EQ(gc_->scheduled().count(inADay), 1u);
}

TEST_F(GarbageCollectorTest, AnUnscheduledPathStays) {
  const std::string kept = sandbox("a", "1");
  gc_->schedule(kept, Clock::now() + 100ms);
  EXPECT_TRUE(gc_->unschedule(kept));
  EXPECT_FALSE(gc_->unschedule(kept));
  runUntil(io_, 500ms, [] { return false; });
  EXPECT_TRUE(fs::exists(kept));
  EXPECT_TRUE(removed_.empty());
}

TEST_F(GarbageCollectorTest, RemovalTakesTheDirectoriesItLeftEmptyUpToTheRoot) {
  const std::string first = sandbox("a", "1");
  const std::string second = sandbox("a", "2");
  const std::string other = sandbox("b", "1");
  gc_->schedule(first, Clock::now());
  ASSERT_TRUE(runUntil(io_, 10s, [&] { return removed_.count(first) > 0; }));
  EXPECT_TRUE(fs::exists(second));  // the executor's other run keeps its parents

  gc_->schedule(second, Clock::now());
  ASSERT_TRUE(runUntil(io_, 10s, [&] { return removed_.count(second) > 0; }));
  const fs::path executors = fs::path(root_) / "agent" / "frameworks" / "fw" / "executors";
  EXPECT_FALSE(fs::exists(executors / "a"));
  EXPECT_TRUE(fs::exists(other));

  gc_->schedule(other, Clock::now());
  ASSERT_TRUE(runUntil(io_, 10s, [&] { return removed_.count(other) > 0; }));
  EXPECT_FALSE(fs::exists(fs::path(root_) / "agent"));
  EXPECT_TRUE(fs::exists(root_));  // the root stays
}

}  // namespace
}  // namespace mantle::agent
