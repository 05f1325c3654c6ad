// cgroups/mem: a hard memory limit from the `mem` resource (v1
// memory.limit_in_bytes, v2 memory.max), optionally a soft one (v1
// memory.soft_limit_in_bytes, v2 memory.low) and a swap limit, OOM kills
// reported as limitations with REASON_CONTAINER_LIMITATION_MEMORY, and the
// container's memory usage.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "cgroups_isolator.hpp"
#include "descriptors.hpp"
#include "oom_watcher.hpp"
#include "text.hpp"

namespace mantle::isolators::cgroups {

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kMinLimitBytes = 32 * kMiB;

class MemIsolator final : public CgroupsIsolator {
 public:
  MemIsolator(sdk::Host host, CommonOptions options, std::vector<Placement> placements,
              std::optional<cc::Hierarchy> freezer, bool limitSwap, std::int64_t softPercent,
              std::chrono::milliseconds fallback)
      : CgroupsIsolator("cgroups/mem", host, std::move(options), std::move(placements), std::move(freezer)),
        limitSwap_(limitSwap),
        softPercent_(softPercent),
        watcher_([this](const std::string& key, std::uint64_t kills) { reportOom(key, kills); }, fallback) {}

  static Result<std::unique_ptr<MemIsolator>> create(const sdk::Context& ctx) {
    Result<CommonOptions> options = CommonOptions::from(ctx.config);
    if (!options.ok()) return options.error();
    std::int64_t soft = ctx.config.getInt("memory_soft_limit_percent");
    if (soft < 0 || soft > 100) return invalidArgument("'memory_soft_limit_percent' must be within [0, 100]");
    std::int64_t fallback = ctx.config.getInt("oom_check_interval_ms");
    if (fallback <= 0) return invalidArgument("'oom_check_interval_ms' must be positive");
    Result<cc::Layout> layout = cc::Layout::detect();
    if (!layout.ok()) return layout.error();
    Result<std::vector<Placement>> placements = place({"cgroups/mem", {"memory"}, {}}, *layout, *options);
    if (!placements.ok()) return placements.error();
    auto isolator = std::make_unique<MemIsolator>(ctx.host, *options, *placements, layout->find("freezer"),
                                                  ctx.config.getBool("cgroups_limit_swap"), soft,
                                                  std::chrono::milliseconds(fallback));
    if (Status started = isolator->watcher_.start(); !started.ok()) return started.error();
    return isolator;
  }

 protected:
  Status apply(const Container& c, const Resources& resources) override {
    std::optional<double> mem = cc::scalar(resources, "mem");
    if (!mem) return {};
    if (*mem <= 0) return invalidArgument("mem must be positive, not " + std::to_string(*mem));
    std::uint64_t limit = std::max(kMinLimitBytes, static_cast<std::uint64_t>(std::llround(*mem * kMiB)));
    const std::filesystem::path d = dir("memory", c.key);
    if (version("memory") == cc::Version::kV1) {
      if (Status s = applyV1(d, limit); !s.ok()) return s;
      if (softPercent_ > 0) {
        if (Status s = cc::writeText(d / "memory.soft_limit_in_bytes", std::to_string(softLimit(limit))); !s.ok()) {
          return s;
        }
      }
    } else {
      if (Status s = cc::writeText(d / "memory.max", std::to_string(limit)); !s.ok()) return s;
      if (softPercent_ > 0) {
        if (Status s = cc::writeText(d / "memory.low", std::to_string(softLimit(limit))); !s.ok()) return s;
      }
      if (limitSwap_) {
        if (Status s = cc::writeText(d / "memory.swap.max", "0"); !s.ok()) return s;
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Limits& l = limits_[c.key];
    l.id = c.id;
    l.limitBytes = limit;
    l.mem.Clear();
    for (const v1::Resource& r : resources) {
      if (r.name() == "mem") *l.mem.Add() = r;
    }
    return {};
  }

  Status adopted(const Container& c) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Limits& l = limits_[c.key];
      l.id = c.id;
      if (l.limitBytes == 0) {
        // Recovered (apply() set nothing): the limit its cgroup has, and the
        // mem resources the agent says it holds, for the OOM report.
        const std::filesystem::path d = dir("memory", c.key);
        Result<std::optional<std::uint64_t>> limit =
            cc::readNumber(d / (version("memory") == cc::Version::kV1 ? "memory.limit_in_bytes" : "memory.max"));
        if (limit.ok() && limit->has_value()) l.limitBytes = **limit;
        for (const v1::Resource& r : c.resources) {
          if (r.name() == "mem") *l.mem.Add() = r;
        }
      }
    }
    return watcher_.watch(c.key, version("memory"), dir("memory", c.key));
  }

  void forgetting(const Container& c) override {
    // The agent may clean up as soon as the killed process's executor exits,
    // possibly before the watcher's thread has seen the kill.
    watcher_.checkNow(c.key);
    watcher_.unwatch(c.key);
    std::lock_guard<std::mutex> lock(mutex_);
    limits_.erase(c.key);
  }

  Status report(const Container& c, v1::ResourceStatistics& stats) override {
    const std::filesystem::path d = dir("memory", c.key);
    Result<std::map<std::string, std::uint64_t>> stat = cc::readFlatKeyed(d / "memory.stat");
    if (!stat.ok()) return stat.error();
    auto value = [&](const char* key) { return stat->count(key) ? stat->at(key) : 0; };
    if (version("memory") == cc::Version::kV1) {
      // The total_ counters include the cgroup's descendants.
      stats.set_mem_rss_bytes(stat->count("total_rss") ? value("total_rss") : value("rss"));
      stats.set_mem_cache_bytes(stat->count("total_cache") ? value("total_cache") : value("cache"));
      Result<std::optional<std::uint64_t>> usage = cc::readNumber(d / "memory.usage_in_bytes");
      if (!usage.ok()) return usage.error();
      stats.set_mem_total_bytes(usage->value_or(0));
      Result<std::optional<std::uint64_t>> limit = cc::readNumber(d / "memory.limit_in_bytes");
      if (limit.ok() && limit->has_value()) stats.set_mem_limit_bytes(**limit);
      Result<std::optional<std::uint64_t>> soft = cc::readNumber(d / "memory.soft_limit_in_bytes");
      if (softPercent_ > 0 && soft.ok() && soft->has_value()) stats.set_mem_soft_limit_bytes(**soft);
    } else {
      stats.set_mem_rss_bytes(value("anon"));
      stats.set_mem_cache_bytes(value("file"));
      Result<std::optional<std::uint64_t>> current = cc::readNumber(d / "memory.current");
      if (!current.ok()) return current.error();
      stats.set_mem_total_bytes(current->value_or(0));
      Result<std::optional<std::uint64_t>> limit = cc::readNumber(d / "memory.max");
      if (limit.ok() && limit->has_value()) stats.set_mem_limit_bytes(**limit);
      Result<std::optional<std::uint64_t>> low = cc::readNumber(d / "memory.low");
      if (softPercent_ > 0 && low.ok() && low->has_value()) stats.set_mem_soft_limit_bytes(**low);
    }
    return {};
  }

 private:
  struct Limits {
    v1::ContainerID id;
    Resources mem;
    std::uint64_t limitBytes = 0;
  };

  std::uint64_t softLimit(std::uint64_t limit) const { return limit * static_cast<std::uint64_t>(softPercent_) / 100; }

  // With a swap limit, memsw must never be below the memory limit: raise the
  // memory limit first when growing, memsw first when shrinking.
  Status applyV1(const std::filesystem::path& d, std::uint64_t limit) {
    const std::string value = std::to_string(limit);
    if (!limitSwap_) return cc::writeText(d / "memory.limit_in_bytes", value);
    Result<std::optional<std::uint64_t>> current = cc::readNumber(d / "memory.limit_in_bytes");
    bool growing = !current.ok() || !current->has_value() || **current <= limit;
    if (growing) {
      if (Status s = cc::writeText(d / "memory.limit_in_bytes", value); !s.ok()) return s;
      return cc::writeText(d / "memory.memsw.limit_in_bytes", value);
    }
    if (Status s = cc::writeText(d / "memory.memsw.limit_in_bytes", value); !s.ok()) return s;
    return cc::writeText(d / "memory.limit_in_bytes", value);
  }

  // On the watcher's thread.
  void reportOom(const std::string& key, std::uint64_t kills) {
    v1::ModuleEvent event;
    v1::ContainerLimitation& limitation = *event.mutable_limitation();
    std::uint64_t limit = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = limits_.find(key);
      if (it == limits_.end()) return;  // cleaned up meanwhile
      *limitation.mutable_container_id() = it->second.id;
      *limitation.mutable_resources() = it->second.mem;
      limit = it->second.limitBytes;
    }
    const std::filesystem::path d = dir("memory", key);
    Result<std::optional<std::uint64_t>> peak =
        cc::readNumber(d / (version("memory") == cc::Version::kV1 ? "memory.max_usage_in_bytes" : "memory.peak"));
    std::string message = "Memory limit exceeded: the kernel killed " + std::to_string(kills) +
                          " process(es) of the container out of memory; limit " + std::to_string(limit / kMiB) + " MB";
    if (peak.ok() && peak->has_value()) message += ", peak usage " + std::to_string(**peak / kMiB) + " MB";
    limitation.set_message(message);
    limitation.set_reason(v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY);
    host().warning("cgroups/mem: container '" + key + "': " + message);
    host().notify(event);
  }

  bool limitSwap_;
  std::int64_t softPercent_;
  std::mutex mutex_;  // limits_ is read on the watcher's thread
  std::map<std::string, Limits> limits_;
  OomWatcher watcher_;  // last: its thread stops before the members it uses go
};

}  // namespace

const mantle_module_descriptor* memDescriptor() {
  return sdk::describe<MemIsolator>(
      "cgroups/mem",
      "A hard memory limit from the mem resource (optionally a soft one and a swap limit); OOM kills become "
      "limitations with REASON_CONTAINER_LIMITATION_MEMORY; memory usage",
      {MANTLE_CGROUPS_COMMON_PARAMS,
       sdk::Param::boolean("cgroups_limit_swap", "Limit memory plus swap to the same value (no swap use)", "false"),
       sdk::Param::integer("memory_soft_limit_percent",
                           "Also set a soft limit (v1 soft_limit_in_bytes, v2 memory.low) at this percentage of "
                           "the mem resource; 0: none",
                           "0"),
       sdk::Param::integer("oom_check_interval_ms",
                           "How often every memory cgroup's OOM counter is re-read, besides kernel events", "1000")});
}

}  // namespace mantle::isolators::cgroups
