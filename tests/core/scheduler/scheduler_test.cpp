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

#include "http/server.hpp"
#include "process.hpp"

namespace mantle::scheduler {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class RefusingMaster {
 public:
  RefusingMaster() : work_(boost::asio::make_work_guard(io_)) {
    server_ = std::make_unique<http::Server>(io_, [this](const http::Request&, const http::Responder& responder) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++attempts_;
      }
      responder.respond(http::Response::text(503, "Master has not finished recovery"));
    });
    port_ = server_->listen("127.0.0.1", 0).value();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RefusingMaster() {
    server_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  int attempts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return attempts_;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  int attempts_ = 0;
};

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
  EXPECT_TRUE(testing::waitUntil([&] { return master.attempts() >= 4; }, 3s)) << master.attempts();
  // Then the delay keeps doubling: no storm against a master that stays away.
  std::this_thread::sleep_for(1s);
  const int attempts = master.attempts();
  scheduler.stop();
  EXPECT_LE(attempts, 7);
}

}  // namespace
}  // namespace mantle::scheduler
