// Running a test's own io_context until what the test waits for has happened:
// the one loop of the tests that drive asio on their own thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <functional>

namespace mantle::testing {

// Runs `io`'s handlers until `done` holds or `timeout` passes; returns whether
// `done` holds. `done` is checked after every handler and at least every
// 20 ms, so a state another thread changes is seen too; while `io` has no work
// it waits for some (work another thread posts later still runs). With a
// `done` that never holds, it runs `io` for `timeout`.
inline bool runUntil(boost::asio::io_context& io, std::chrono::milliseconds timeout,
                     const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  io.restart();
  const auto guard = boost::asio::make_work_guard(io);
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    io.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(20)));
  }
  return true;
}

}  // namespace mantle::testing
