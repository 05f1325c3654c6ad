#include "agent/gc.hpp"

#include <sys/statvfs.h>

#include <glog/logging.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mantle::agent {

namespace fs = std::filesystem;

double gcAge(double gcDelay, double headroom, double diskUsage) {
  return gcDelay * std::max(0.0, 1.0 - headroom - diskUsage);
}

Result<double> diskUsage(const std::string& path) {
  struct statvfs buffer {};
  if (::statvfs(path.c_str(), &buffer) != 0) {
    return internalError("statvfs " + path + ": " + std::strerror(errno));
  }
  if (buffer.f_blocks == 0) return 0.0;
  return static_cast<double>(buffer.f_blocks - buffer.f_bfree) / static_cast<double>(buffer.f_blocks);
}

GarbageCollector::GarbageCollector(Strand strand, std::string root,
                                   std::function<void(const std::string&, const Status&)> onRemoved)
    : strand_(std::move(strand)),
      root_(std::move(root)),
      onRemoved_(std::move(onRemoved)),
      timer_(strand_),
      pool_(std::make_unique<boost::asio::thread_pool>(1)),
      alive_(std::make_shared<bool>(true)) {}

GarbageCollector::~GarbageCollector() {
  alive_.reset();
  timer_.cancel();
  pool_->join();  // a removal under way finishes; its report is dropped
}

void GarbageCollector::schedule(const std::string& path, Clock::time_point when) {
  unschedule(path);
  queue_.emplace(when, path);
  byPath_[path] = when;
  VLOG(1) << "Scheduled " << path << " for removal in "
          << std::chrono::duration_cast<std::chrono::seconds>(when - Clock::now()).count() << " s";
  arm();
}

bool GarbageCollector::unschedule(const std::string& path) {
  auto it = byPath_.find(path);
  if (it == byPath_.end()) return false;
  auto [first, last] = queue_.equal_range(it->second);
  for (auto entry = first; entry != last; ++entry) {
    if (entry->second == path) {
      queue_.erase(entry);
      break;
    }
  }
  byPath_.erase(it);
  return true;
}

void GarbageCollector::prune(double seconds) {
  const auto horizon =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (auto it = queue_.begin(); it != queue_.end() && it->first <= horizon; ++it) {
    LOG(INFO) << "Pruning " << it->second << " (due in "
              << std::chrono::duration_cast<std::chrono::seconds>(it->first - Clock::now()).count()
              << " s) to free disk space";
  }
  removeUntil(horizon);
}

void GarbageCollector::removeUntil(Clock::time_point horizon) {
  while (!queue_.empty() && queue_.begin()->first <= horizon) {
    const std::string path = queue_.begin()->second;
    unschedule(path);
    remove(path);
  }
  arm();
}

std::map<std::string, GarbageCollector::Clock::time_point> GarbageCollector::scheduled() const {
  return byPath_;
}

void GarbageCollector::arm() {
  timer_.cancel();
  if (queue_.empty()) return;
  const auto wait = std::max(Clock::duration::zero(), queue_.begin()->first - Clock::now());
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    removeUntil(Clock::now());
  });
}

void GarbageCollector::remove(const std::string& path) {
  // remove_all can take long (a big sandbox): off the strand.
  boost::asio::post(*pool_, [this, path, alive = std::weak_ptr<bool>(alive_)] {
    std::error_code ec;
    fs::remove_all(path, ec);
    Status status;
    if (ec) status = internalError("removing " + path + ": " + ec.message());
    boost::asio::post(strand_, [this, path, status, alive] {
      if (!alive.expired()) removed(path, status);
    });
  });
}

void GarbageCollector::removed(const std::string& path, const Status& status) {
  if (status.ok()) {
    LOG(INFO) << "Garbage collected " << path;
    // Directories the removal left empty go too (on the strand, so that no
    // launch creating a sandbox under them races with it).
    std::error_code ec;
    for (fs::path dir = fs::path(path).parent_path(); !dir.empty() && dir.string().size() > root_.size() &&
                                                      dir.string().rfind(root_, 0) == 0 && fs::is_empty(dir, ec);
         dir = dir.parent_path()) {
      if (!fs::remove(dir, ec)) break;
    }
  } else {
    LOG(WARNING) << "Garbage collection: " << status.error().message;
  }
  if (onRemoved_) onRemoved_(path, status);
}

}  // namespace mantle::agent
