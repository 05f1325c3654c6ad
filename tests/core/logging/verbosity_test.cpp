// glog verbosity raised for a while and reverted (core/logging/verbosity).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <glog/logging.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "logging/verbosity.hpp"
#include "process.hpp"

namespace mantle::logging {
namespace {

using namespace std::chrono_literals;

class VerbosityTest : public ::testing::Test {
 protected:
  VerbosityTest() : work_(io_.get_executor()) {
    FLAGS_v = 0;
    thread_ = std::thread([this] { io_.run(); });
  }
  ~VerbosityTest() override {
    work_.reset();
    io_.stop();
    thread_.join();
    FLAGS_v = 0;
  }

  http::Response toggle(Verbosity& verbosity, const std::string& query) {
    http::Request request;
    request.method = "GET";
    request.path = "/logging/toggle";
    request.query = query;
    return verbosity.toggle(request);
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

TEST_F(VerbosityTest, ARaisedLevelRevertsToTheOriginalAfterItsDuration) {
  Verbosity verbosity(io_.get_executor());
  verbosity.set(3, 200ms);
  EXPECT_EQ(FLAGS_v, 3);
  EXPECT_EQ(verbosity.level(), 3);
  EXPECT_TRUE(testing::waitUntil([&] { return verbosity.level() == 0; }, 10s));
  EXPECT_EQ(FLAGS_v, 0);
}

TEST_F(VerbosityTest, ALaterSetReplacesThePendingRevert) {
  Verbosity verbosity(io_.get_executor());
  verbosity.set(2, 100ms);
  verbosity.set(4, 10s);
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(verbosity.level(), 4);  // the first revert did not run
  verbosity.set(1, 50ms);
  EXPECT_TRUE(testing::waitUntil([&] { return verbosity.level() == 0; }, 10s));
}

TEST_F(VerbosityTest, DestroyingItRestoresTheOriginalLevel) {
  {
    Verbosity verbosity(io_.get_executor());
    verbosity.set(5, 1h);
  }
  EXPECT_EQ(FLAGS_v, 0);
}

TEST_F(VerbosityTest, CallValuesOutOfRangeAreRefused) {
  Verbosity verbosity(io_.get_executor());
  Status big = verbosity.setFromCall(1ull << 40, 1'000'000'000);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, StatusCode::kInvalidArgument);
  EXPECT_NE(big.error().message.find("out of range"), std::string::npos) << big.error().message;
  Status negative = verbosity.setFromCall(1, -5);
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("negative"), std::string::npos) << negative.error().message;
  EXPECT_EQ(verbosity.level(), 0);
  ASSERT_TRUE(verbosity.setFromCall(2, 100'000'000).ok());
  EXPECT_EQ(verbosity.level(), 2);
  EXPECT_TRUE(testing::waitUntil([&] { return verbosity.level() == 0; }, 10s));
}

TEST_F(VerbosityTest, ToggleAnswersAsMesosDoes) {
  Verbosity verbosity(io_.get_executor());
  http::Response current = toggle(verbosity, "");
  EXPECT_EQ(current.status, 200);
  EXPECT_EQ(current.body, "0\n");

  EXPECT_EQ(toggle(verbosity, "level=1").status, 400);
  EXPECT_EQ(toggle(verbosity, "level=1").body, "Expecting 'duration=value' in query.\n");
  EXPECT_EQ(toggle(verbosity, "duration=1secs").body, "Expecting 'level=value' in query.\n");
  EXPECT_EQ(toggle(verbosity, "level=x&duration=1secs").status, 400);
  EXPECT_EQ(toggle(verbosity, "level=-1&duration=1secs").body, "Invalid level '-1'.\n");
  http::Response badDuration = toggle(verbosity, "level=1&duration=soon");
  EXPECT_EQ(badDuration.status, 400);
  EXPECT_NE(badDuration.body.find("Invalid duration 'soon'"), std::string::npos) << badDuration.body;
  EXPECT_EQ(verbosity.level(), 0);

  EXPECT_EQ(toggle(verbosity, "level=2&duration=300ms").status, 200);
  EXPECT_EQ(toggle(verbosity, "").body, "2\n");
  EXPECT_TRUE(testing::waitUntil([&] { return verbosity.level() == 0; }, 10s));
}

TEST_F(VerbosityTest, ToggleRefusesALevelBelowTheOriginal) {
  FLAGS_v = 2;
  Verbosity verbosity(io_.get_executor());
  http::Response response = toggle(verbosity, "level=1&duration=1secs");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("below the original level 2"), std::string::npos) << response.body;
}

}  // namespace
}  // namespace mantle::logging
