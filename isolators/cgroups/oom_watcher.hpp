// Watches memory cgroups for OOM kills on a thread of its own. v1: an
// eventfd registered for memory.oom_control through cgroup.event_control;
// v2: inotify on memory.events, which the kernel marks modified when its
// counters change. Either way the oom_kill counter decides, and every
// cgroup is also re-read at a fallback interval in case an event was missed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "layout.hpp"
#include "mantle/module_api/sdk/background.hpp"
#include "mantle/result.hpp"

namespace mantle::isolators::cgroups {

namespace cc = ::mantle::isolators::cgroups_common;

class OomWatcher {
 public:
  // Called on the watcher's thread, once per watched cgroup, with the key
  // given to watch() and the number of processes the kernel killed.
  using OnOom = std::function<void(const std::string& key, std::uint64_t kills)>;

  OomWatcher(OnOom onOom, std::chrono::milliseconds fallbackInterval);
  ~OomWatcher();
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

  Status start();
  // Starts watching `dir` (a memory cgroup). Kills counted before this call
  // are not reported.
  Status watch(const std::string& key, cc::Version version, const std::filesystem::path& dir);
  void unwatch(const std::string& key);
  // Checks one cgroup now, on the caller's thread (before it is removed:
  // a kill the watcher has not seen yet is still reported).
  void checkNow(const std::string& key);

  // The kernel's count of OOM kills in the cgroup.
  static Result<std::uint64_t> oomKills(cc::Version version, const std::filesystem::path& dir);

 private:
  struct Watch {
    cc::Version version = cc::Version::kV1;
    std::filesystem::path dir;
    std::uint64_t baseline = 0;
    bool reported = false;
    int eventFd = -1;       // v1
    int controlFd = -1;     // v1: memory.oom_control, kept open while registered
    int inotifyWatch = -1;  // v2
  };
  // One round of the watcher's loop: waits for events (or the fallback
  // interval) and checks the cgroups.
  std::chrono::milliseconds round();
  void check();
  void release(Watch& w);

  OnOom onOom_;
  std::chrono::milliseconds fallback_;
  std::mutex mutex_;
  std::map<std::string, Watch> watches_;
  int epoll_ = -1;
  int wake_ = -1;
  int inotify_ = -1;
  using Clock = std::chrono::steady_clock;
  Clock::time_point burstUntil_ = Clock::now();  // the loop's thread only
  sdk::BackgroundLoop loop_;                     // last: stopped before the descriptors close
};

}  // namespace mantle::isolators::cgroups
