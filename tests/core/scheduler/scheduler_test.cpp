// The scheduler client library (core/scheduler) against a stand-in master:
// an HTTP server that refuses every SUBSCRIBE with 503, as a master that has
// just been elected does for a few milliseconds, and records when each came.
#include "scheduler/scheduler.hpp"

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

namespace mantle::scheduler {
namespace {

using namespace std::chrono_literals;

using testing::RefusingMaster;

TEST(SchedulerClient, ARefusedSubscriptionIsRetriedSoonThenWithAGrowingDelay) {
  RefusingMaster master;
  SchedulerOptions options;
  options.master = master.address();
  options.frameworkInfo.set_user("root");
  options.frameworkInfo.set_name("retry test");
  options.reconnectDelaySeconds = 5;
  Scheduler scheduler(options, SchedulerCallbacks{});
  scheduler.start();
  // 50, 100, 200 ms after the first refusal, long before the 5 s ceiling.
  EXPECT_TRUE(testing::waitUntil([&] { return master.attempts().size() >= 4; }, 3s)) << master.attempts().size();
  // Then the delay keeps doubling: no storm against a master that stays away.
  std::this_thread::sleep_for(1s);
  const auto attempts = master.attempts().size();
  scheduler.stop();
  EXPECT_LE(attempts, 7u);
}

}  // namespace
}  // namespace mantle::scheduler
