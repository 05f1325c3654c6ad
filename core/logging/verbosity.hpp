// glog's verbosity (FLAGS_v) raised for a while, as Mesos' /logging/toggle
// and the GET_LOGGING_LEVEL / SET_LOGGING_LEVEL operator calls of master and
// agent do: the level set reverts to the level the process started with once
// its duration has passed; a later set replaces the pending revert.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "http/server.hpp"
#include "mantle/result.hpp"

namespace mantle::logging {

class Verbosity {
 public:
  // Reverts run on `executor`. The level at construction is the original.
  explicit Verbosity(boost::asio::any_io_executor executor);
  // Cancels a pending revert and restores the original level.
  ~Verbosity();
  Verbosity(const Verbosity&) = delete;
  Verbosity& operator=(const Verbosity&) = delete;

  // FLAGS_v now, and the level reverts go back to.
  int level() const;
  int original() const;

  // Sets FLAGS_v to `level`; unless that is the original level, it reverts
  // after `duration`. Any thread.
  void set(int level, std::chrono::nanoseconds duration);

  // SET_LOGGING_LEVEL's `level` (uint32) and `duration` (nanoseconds), or
  // the reason they are refused (InvalidArgument: a 400).
  Status setFromCall(std::uint64_t level, std::int64_t durationNanoseconds);

  // GET or POST /logging/toggle?level=<n>&duration=<Mesos duration>: 200
  // with the level and a newline when neither parameter is given, 200 once
  // set, 400 naming the problem otherwise (a missing parameter, a level that
  // is not a number, below the original, a bad duration). Authentication
  // and the `set_log_level` ACL are the caller's.
  http::Response toggle(const http::Request& request);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace mantle::logging
