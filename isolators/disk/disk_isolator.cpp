// disk/du: measures each container's sandbox periodically on a thread of its
// own and reports the usage in statistics; with enforcement on, a container
// over its `disk` resource gets a limitation with
// REASON_CONTAINER_LIMITATION_DISK (the agent kills it). Enforcement is soft:
// a container can go over between two scans.
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>

#include "container.hpp"
#include "disk_usage.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/module_api/sdk/background.hpp"
#include "mantle/module_api/sdk/isolator.hpp"

namespace mantle::isolators::disk {

namespace {

namespace v1 = ::mantle::module::v1;
namespace cc = ::mantle::isolators::cgroups_common;

constexpr double kMiB = 1024 * 1024;

class DiskUsageIsolator final : public sdk::Isolator {
 public:
  DiskUsageIsolator(sdk::Host host, std::chrono::milliseconds interval, bool enforce)
      : host_(host), interval_(interval), enforce_(enforce) {
    scanner_.start([this] {
      scan();
      return interval_;
    });
  }

  static Result<std::unique_ptr<DiskUsageIsolator>> create(const sdk::Context& ctx) {
    std::int64_t interval = ctx.config.getInt("container_disk_watch_interval_ms");
    if (interval <= 0) return invalidArgument("'container_disk_watch_interval_ms' must be positive");
    return std::make_unique<DiskUsageIsolator>(ctx.host, std::chrono::milliseconds(interval),
                                               ctx.config.getBool("enforce_container_disk_quota"));
  }

  Result<v1::Empty> recover(const v1::IsolatorRecoverRequest& request) override {
    for (const v1::ContainerState& state : request.states()) {
      std::string directory = !state.directory().empty() ? state.directory() : state.config().directory();
      if (directory.empty()) continue;  // nothing to measure
      track(state.container_id(), directory, state.config().resources());
    }
    return v1::Empty();
  }

  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    if (request.config().directory().empty()) {
      return invalidArgument("disk/du: container '" + key + "' has no sandbox directory");
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (containers_.count(key) > 0) {
        return Error(StatusCode::kAlreadyExists, "disk/du: container '" + key + "' has already been prepared");
      }
    }
    track(request.container_id(), request.config().directory(), request.config().resources());
    return v1::IsolatorPrepareResponse();
  }

  Result<v1::Empty> update(const v1::IsolatorUpdateRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = containers_.find(cc::containerKey(request.container_id()));
    if (it == containers_.end())
      return notFound("disk/du: unknown container '" + cc::containerKey(request.container_id()) + "'");
    setLimit(it->second, request.resources());
    return v1::Empty();
  }

  Result<v1::IsolatorUsageResponse> usage(const v1::IsolatorUsageRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    std::string directory;
    v1::IsolatorUsageResponse response;
    v1::ResourceStatistics& stats = *response.mutable_statistics();
    stats.set_timestamp(wallNow());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = containers_.find(key);
      if (it == containers_.end()) return notFound("disk/du: unknown container '" + key + "'");
      if (it->second.limitBytes) stats.set_disk_limit_bytes(*it->second.limitBytes);
      if (it->second.usedBytes) {
        stats.set_disk_used_bytes(*it->second.usedBytes);
        return response;
      }
      directory = it->second.directory;
    }
    // Not scanned yet: measure now, once.
    Result<std::uint64_t> used = diskUsage(directory);
    if (used.ok()) stats.set_disk_used_bytes(*used);
    return response;
  }

  Result<v1::IsolatorStatusResponse> status(const v1::IsolatorStatusRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = containers_.find(cc::containerKey(request.container_id()));
    if (it == containers_.end())
      return notFound("disk/du: unknown container '" + cc::containerKey(request.container_id()) + "'");
    v1::IsolatorStatusResponse response;
    v1::Label* label = response.mutable_labels()->add_labels();
    label->set_key("disk/du.path");
    label->set_value(it->second.directory);
    return response;
  }

  Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    containers_.erase(cc::containerKey(request.container_id()));
    return v1::Empty();
  }

 private:
  struct Tracked {
    v1::ContainerID id;
    std::string directory;
    cc::Resources disk;                       // the non-persistent disk resources
    std::optional<std::uint64_t> limitBytes;  // their sum
    std::optional<std::uint64_t> usedBytes;   // the last scan
    bool reported = false;
  };

  static void setLimit(Tracked& t, const cc::Resources& resources) {
    t.disk.Clear();
    t.limitBytes.reset();
    // Persistent volumes live outside the sandbox and have their own size.
    std::optional<double> mb = cc::scalar(resources, "disk", /*persistentToo=*/false);
    if (!mb) return;
    t.limitBytes = static_cast<std::uint64_t>(std::llround(*mb * kMiB));
    for (const v1::Resource& r : resources) {
      if (r.name() == "disk" && !(r.has_disk() && r.disk().has_persistence())) *t.disk.Add() = r;
    }
    if (t.usedBytes && *t.usedBytes <= *t.limitBytes) t.reported = false;
  }

  void track(const v1::ContainerID& id, const std::string& directory, const cc::Resources& resources) {
    Tracked t;
    t.id = id;
    t.directory = directory;
    setLimit(t, resources);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      containers_[cc::containerKey(id)] = std::move(t);
    }
    scanner_.wake();  // measure the new container now
  }

  // One round of the scanner: one container at a time, the walk outside the
  // lock.
  void scan() {
    std::unique_lock<std::mutex> lock(mutex_);
    std::vector<std::pair<std::string, std::string>> work;
    for (const auto& [key, t] : containers_) work.emplace_back(key, t.directory);
    for (const auto& [key, directory] : work) {
      lock.unlock();
      Result<std::uint64_t> used = diskUsage(directory);
      lock.lock();
      if (scanner_.stopping()) return;
      auto it = containers_.find(key);
      if (it == containers_.end() || !used.ok()) continue;
      Tracked& t = it->second;
      t.usedBytes = *used;
      if (!enforce_ || !t.limitBytes || *used <= *t.limitBytes || t.reported) continue;
      t.reported = true;
      v1::ModuleEvent event;
      v1::ContainerLimitation& limitation = *event.mutable_limitation();
      *limitation.mutable_container_id() = t.id;
      *limitation.mutable_resources() = t.disk;
      limitation.set_reason(v1::TaskStatus::REASON_CONTAINER_LIMITATION_DISK);
      limitation.set_message("Disk usage (" + std::to_string(*used / (1024 * 1024)) + " MB) exceeds quota (" +
                             std::to_string(*t.limitBytes / (1024 * 1024)) + " MB) in " + t.directory);
      lock.unlock();
      host_.warning("disk/du: container '" + key + "': " + limitation.message());
      host_.notify(event);
      lock.lock();
    }
  }

  sdk::Host host_;
  std::chrono::milliseconds interval_;
  bool enforce_;
  std::mutex mutex_;  // containers_; shared with the scanner
  std::map<std::string, Tracked> containers_;
  sdk::BackgroundLoop scanner_;  // last: started after, and stopped before, everything it uses
};

}  // namespace

}  // namespace mantle::isolators::disk

MANTLE_MODULE_LIBRARY("mantle_disk_du", "0.1.0",
                      mantle::sdk::describe<mantle::isolators::disk::DiskUsageIsolator>(
                          "disk/du",
                          "Measures each container's sandbox periodically (like du -s) and reports it; with "
                          "enforcement, a container over its disk resource gets a REASON_CONTAINER_LIMITATION_DISK "
                          "limitation",
                          {mantle::sdk::Param::integer("container_disk_watch_interval_ms",
                                                       "How often every sandbox is measured", "15000"),
                           mantle::sdk::Param::boolean("enforce_container_disk_quota",
                                                       "Report containers over their disk as limitations (the "
                                                       "agent kills them); otherwise usage is only reported",
                                                       "false")}))
