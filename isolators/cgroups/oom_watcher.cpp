#include "oom_watcher.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <vector>

#include "text.hpp"

namespace mantle::isolators::cgroups {

namespace fs = std::filesystem;

OomWatcher::OomWatcher(OnOom onOom, std::chrono::milliseconds fallbackInterval)
    : onOom_(std::move(onOom)), fallback_(fallbackInterval) {}

Status OomWatcher::start() {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  inotify_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (epoll_ < 0 || wake_ < 0 || inotify_ < 0) {
    return internalError("cannot set up the OOM watcher: " + cc::errnoText(errno));
  }
  for (int fd : {wake_, inotify_}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
      return internalError("cannot set up the OOM watcher: " + cc::errnoText(errno));
    }
  }
  loop_.start([this] { return round(); },
              [this] {
                std::uint64_t one = 1;
                (void)!::write(wake_, &one, sizeof one);
              });
  return {};
}

OomWatcher::~OomWatcher() {
  loop_.stop();
  for (auto& [key, w] : watches_) release(w);
  for (int fd : {epoll_, wake_, inotify_}) {
    if (fd >= 0) ::close(fd);
  }
}

Result<std::uint64_t> OomWatcher::oomKills(cc::Version version, const fs::path& dir) {
  Result<std::map<std::string, std::uint64_t>> values =
      cc::readFlatKeyed(dir / (version == cc::Version::kV1 ? "memory.oom_control" : "memory.events"));
  if (!values.ok()) return values.error();
  auto it = values->find("oom_kill");
  if (it == values->end()) {
    // Kernels before 4.13 lack the counter on v1: an OOM event is all we get.
    if (version == cc::Version::kV1) return (*values)["under_oom"];
    return internalError(dir.string() + "/memory.events has no oom_kill counter");
  }
  return it->second;
}

Status OomWatcher::watch(const std::string& key, cc::Version version, const fs::path& dir) {
  Watch w;
  w.version = version;
  w.dir = dir;
  Result<std::uint64_t> kills = oomKills(version, dir);
  if (!kills.ok()) return kills.error();
  w.baseline = *kills;
  if (version == cc::Version::kV1) {
    w.controlFd = ::open((dir / "memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC);
    w.eventFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    std::string registration = std::to_string(w.eventFd) + " " + std::to_string(w.controlFd);
    if (w.controlFd < 0 || w.eventFd < 0 || !cc::writeText(dir / "cgroup.event_control", registration).ok()) {
      // Some kernels refuse v1 event registration: the fallback scan still sees the counter.
      release(w);
    } else {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.fd = w.eventFd;
      if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, w.eventFd, &event) != 0) release(w);
    }
  } else {
    w.inotifyWatch = ::inotify_add_watch(inotify_, (dir / "memory.events").c_str(), IN_MODIFY);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto old = watches_.find(key);
  if (old != watches_.end()) {
    release(old->second);
    watches_.erase(old);
  }
  watches_.emplace(key, w);
  return {};
}

void OomWatcher::unwatch(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = watches_.find(key);
  if (it == watches_.end()) return;
  release(it->second);
  watches_.erase(it);
}

void OomWatcher::release(Watch& w) {
  if (w.eventFd >= 0) {
    if (epoll_ >= 0) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, w.eventFd, nullptr);
    ::close(w.eventFd);
  }
  if (w.controlFd >= 0) ::close(w.controlFd);
  if (w.inotifyWatch >= 0 && inotify_ >= 0) ::inotify_rm_watch(inotify_, w.inotifyWatch);
  w.eventFd = w.controlFd = w.inotifyWatch = -1;
}

std::chrono::milliseconds OomWatcher::round() {
  // The v1 event comes when the cgroup runs out of memory, before the OOM
  // killer has picked (and counted) its victim: after an event, re-read the
  // counters often for a while.
  constexpr std::chrono::milliseconds kBurstInterval{10};
  constexpr std::chrono::milliseconds kBurstLength{500};
  std::array<epoll_event, 64> events{};
  bool bursting = Clock::now() < burstUntil_;
  auto timeout = bursting ? kBurstInterval : fallback_;
  // The loop's own wait is nil: the round waits here, for events.
  int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), static_cast<int>(timeout.count()));
  if (n < 0 && errno != EINTR) {
    // Cannot happen with a valid epoll descriptor; fall back to polling.
    check();
    return fallback_;
  }
  for (int i = 0; i < n; ++i) {
    // Drain: eventfds hold a counter, inotify a queue of events.
    char buffer[4096];
    while (::read(events[i].data.fd, buffer, sizeof buffer) > 0) {
    }
    if (events[i].data.fd != wake_) burstUntil_ = Clock::now() + kBurstLength;
  }
  if (!loop_.stopping()) check();
  return std::chrono::milliseconds(0);
}

void OomWatcher::checkNow(const std::string& key) {
  std::optional<std::uint64_t> fired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = watches_.find(key);
    if (it == watches_.end() || it->second.reported) return;
    Result<std::uint64_t> kills = oomKills(it->second.version, it->second.dir);
    if (!kills.ok() || *kills <= it->second.baseline) return;
    it->second.reported = true;
    fired = *kills - it->second.baseline;
  }
  onOom_(key, *fired);
}

void OomWatcher::check() {
  std::vector<std::pair<std::string, std::uint64_t>> fired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [key, w] : watches_) {
      if (w.reported) continue;
      Result<std::uint64_t> kills = oomKills(w.version, w.dir);
      if (!kills.ok() || *kills <= w.baseline) continue;
      w.reported = true;
      fired.emplace_back(key, *kills - w.baseline);
    }
  }
  // Outside the lock: the callback may call unwatch().
  for (const auto& [key, kills] : fired) onOom_(key, kills);
}

}  // namespace mantle::isolators::cgroups
