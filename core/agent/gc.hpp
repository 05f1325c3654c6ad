// Garbage collection of the sandboxes of finished executors, as Mesos'
// agent does it: a finished run's sandbox is scheduled for removal
// --gc_delay after it finished; every --disk_watch_interval the agent
// measures the disk of its work dir and removes at once what is older than
// gcAge() (the fuller the disk, the sooner). Removal runs on a thread of its
// own; the schedule lives on the agent's strand. After a restart the agent
// schedules again what it finds, from each sandbox's mtime.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "agent/strand.hpp"
#include "mantle/result.hpp"

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace mantle::agent {

// How old a finished sandbox may grow before it goes, in seconds:
// gcDelay * max(0, 1 - headroom - diskUsage), as Mesos documents it
// (`diskUsage` and `headroom` are fractions of the disk).
double gcAge(double gcDelay, double headroom, double diskUsage);

// The used fraction of the file system that holds `path` (statvfs).
Result<double> diskUsage(const std::string& path);

class GarbageCollector {
 public:
  using Clock = std::chrono::system_clock;

  // Removes paths under `root`; a directory emptied by a removal goes too,
  // up to (not including) `root`. `onRemoved` is called on the strand after
  // each removal (with the removal's outcome).
  GarbageCollector(Strand strand, std::string root,
                   std::function<void(const std::string& path, const Status& removed)> onRemoved = {});
  ~GarbageCollector();
  GarbageCollector(const GarbageCollector&) = delete;
  GarbageCollector& operator=(const GarbageCollector&) = delete;

  // Removes `path` at `when` (at once when that has passed). Scheduling a
  // path again moves its removal.
  void schedule(const std::string& path, Clock::time_point when);
  // Forgets `path`; false when it was not scheduled.
  bool unschedule(const std::string& path);
  // Removes at once every path due within `seconds` from now.
  void prune(double seconds);

  // The scheduled paths and when they go.
  std::map<std::string, Clock::time_point> scheduled() const;

 private:
  void arm();
  // Removes every path due at or before `horizon`.
  void removeUntil(Clock::time_point horizon);
  void remove(const std::string& path);
  void removed(const std::string& path, const Status& status);

  Strand strand_;
  std::string root_;
  std::function<void(const std::string&, const Status&)> onRemoved_;
  std::multimap<Clock::time_point, std::string> queue_;
  std::map<std::string, Clock::time_point> byPath_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<boost::asio::thread_pool> pool_;  // the removals
  std::shared_ptr<bool> alive_;                     // expires with this collector
};

}  // namespace mantle::agent
