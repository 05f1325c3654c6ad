#include "logging/verbosity.hpp"

#include <charconv>
#include <climits>
#include <cmath>
#include <mutex>
#include <string>

#include <glog/logging.h>
#include <boost/asio/steady_timer.hpp>

#include "flags/flags.hpp"

namespace mantle::logging {

struct Verbosity::State {
  boost::asio::any_io_executor executor;
  int original = 0;
  std::mutex mutex;
  std::uint64_t generation = 0;  // of the latest set; an older revert does nothing
  std::shared_ptr<boost::asio::steady_timer> timer;
};

Verbosity::Verbosity(boost::asio::any_io_executor executor) : state_(std::make_shared<State>()) {
  state_->executor = std::move(executor);
  state_->original = FLAGS_v;
}

Verbosity::~Verbosity() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  ++state_->generation;
  if (state_->timer) state_->timer->cancel();
  FLAGS_v = state_->original;
}

int Verbosity::level() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return FLAGS_v;
}

int Verbosity::original() const {
  return state_->original;
}

void Verbosity::set(int level, std::chrono::nanoseconds duration) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::uint64_t generation = ++state_->generation;
  if (state_->timer) state_->timer->cancel();
  state_->timer.reset();
  FLAGS_v = level;
  LOG(INFO) << "Logging verbosity set to " << level
            << (level == state_->original
                    ? std::string()
                    : " for " + std::to_string(std::chrono::duration<double>(duration).count()) + " s");
  if (level == state_->original) return;
  auto timer = std::make_shared<boost::asio::steady_timer>(state_->executor, duration);
  state_->timer = timer;
  std::weak_ptr<State> weak = state_;
  timer->async_wait([weak, generation, timer](const boost::system::error_code& error) {
    if (error) return;
    std::shared_ptr<State> state = weak.lock();
    if (!state) return;
    std::lock_guard<std::mutex> lock(state->mutex);
    if (state->generation != generation) return;
    FLAGS_v = state->original;
    state->timer.reset();
    LOG(INFO) << "Logging verbosity reverted to " << state->original;
  });
}

Status Verbosity::setFromCall(std::uint64_t level, std::int64_t durationNanoseconds) {
  if (level > static_cast<std::uint64_t>(INT_MAX)) {
    return invalidArgument("Logging level " + std::to_string(level) + " is out of range");
  }
  if (durationNanoseconds < 0) {
    return invalidArgument("Logging level duration must not be negative (got " + std::to_string(durationNanoseconds) +
                           " ns)");
  }
  set(static_cast<int>(level), std::chrono::nanoseconds(durationNanoseconds));
  return Status();
}

http::Response Verbosity::toggle(const http::Request& request) {
  std::optional<std::string> level = request.findQueryParam("level");
  std::optional<std::string> duration = request.findQueryParam("duration");
  if (!level && !duration) return http::Response::text(200, std::to_string(this->level()) + "\n");
  if (!duration) return http::Response::text(400, "Expecting 'duration=value' in query.\n");
  if (!level) return http::Response::text(400, "Expecting 'level=value' in query.\n");
  int value = 0;
  auto [end, error] = std::from_chars(level->data(), level->data() + level->size(), value);
  if (level->empty() || error != std::errc() || end != level->data() + level->size()) {
    return http::Response::text(400, "Invalid level '" + *level + "': expecting an integer.\n");
  }
  if (value < 0) return http::Response::text(400, "Invalid level '" + *level + "'.\n");
  if (value < original()) {
    return http::Response::text(
        400, "Invalid level '" + *level + "': below the original level " + std::to_string(original()) + ".\n");
  }
  Result<double> seconds = flags::parseDuration(*duration);
  if (!seconds.ok()) {
    return http::Response::text(400, "Invalid duration '" + *duration + "': " + seconds.error().message + ".\n");
  }
  if (*seconds < 0 || !std::isfinite(*seconds) || *seconds > 1e9) {
    return http::Response::text(400, "Invalid duration '" + *duration + "': out of range.\n");
  }
  set(value, std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(*seconds)));
  return http::Response{200, {}, ""};
}

}  // namespace mantle::logging
