// A module's background thread: runs a round of work, waits, runs the next,
// until stopped. The round returns how long to wait before the next one;
// wake() cuts the current wait short (new work arrived); stop() (also run
// by the destructor) ends the wait, lets the running round finish, and joins.
//
//   class DiskIsolator : public mantle::sdk::Isolator {
//     ...
//     mantle::sdk::BackgroundLoop scanner_;  // last member: stopped first
//   };
//   scanner_.start([this] { scanAll(); return interval_; });
//
// A round that blocks elsewhere (epoll_wait, a read) passes `interrupt`, which
// stop() calls after setting stopping() so the round returns. A long round
// checks stopping() between its steps.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace mantle::sdk {

class BackgroundLoop {
 public:
  using Round = std::function<std::chrono::milliseconds()>;

  BackgroundLoop() = default;
  ~BackgroundLoop() { stop(); }
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Starts the thread; its first round runs at once. Once per loop.
  void start(Round round, std::function<void()> interrupt = {}) {
    interrupt_ = std::move(interrupt);
    thread_ = std::thread([this, round = std::move(round)] { run(round); });
  }

  // Ends the current wait: the next round runs now. Any thread.
  void wake() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      woken_ = true;
    }
    changed_.notify_all();
  }

  // Stops and joins; idempotent. Not from the loop's own thread.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
    }
    changed_.notify_all();
    if (thread_.joinable()) {
      if (interrupt_) interrupt_();
      thread_.join();
    }
  }

  bool stopping() const { return stopping_.load(); }

 private:
  void run(const Round& round) {
    while (!stopping()) {
      std::chrono::milliseconds wait = round();
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, wait, [this] { return stopping_.load() || woken_; });
      woken_ = false;
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<bool> stopping_{false};
  bool woken_ = false;
  std::function<void()> interrupt_;
  std::thread thread_;
};

}  // namespace mantle::sdk
