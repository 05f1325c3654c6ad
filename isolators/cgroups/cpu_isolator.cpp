// cgroups/cpu: CPU shares (v1 cpu.shares, v2 cpu.weight) from the `cpus`
// resource, optionally a CFS bandwidth quota (cpu.cfs_quota_us / cpu.max),
// and the container's CPU time, throttling, process and thread counts.
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "cgroups_isolator.hpp"
#include "descriptors.hpp"
#include "text.hpp"

namespace mantle::isolators::cgroups {

namespace {

constexpr double kSharesPerCpu = 1024;
constexpr double kRevocableSharesPerCpu = 10;
constexpr std::uint64_t kMinShares = 2;
constexpr std::uint64_t kMinQuotaMicros = 1000;

class CpuIsolator final : public CgroupsIsolator {
 public:
  CpuIsolator(sdk::Host host, CommonOptions options, std::vector<Placement> placements,
              std::optional<cc::Hierarchy> freezer, bool cfs, std::int64_t periodMicros)
      : CgroupsIsolator("cgroups/cpu", host, std::move(options), std::move(placements), std::move(freezer)),
        cfs_(cfs),
        periodMicros_(periodMicros) {}

  static Result<std::unique_ptr<CpuIsolator>> create(const sdk::Context& ctx) {
    Result<CommonOptions> options = CommonOptions::from(ctx.config);
    if (!options.ok()) return options.error();
    std::int64_t period = ctx.config.getInt("cfs_period_us");
    if (period < 1000 || period > 1000000) return invalidArgument("'cfs_period_us' must be within [1000, 1000000]");
    Result<cc::Layout> layout = cc::Layout::detect();
    if (!layout.ok()) return layout.error();
    // cpuacct is a v1-only controller; on v2, cpu.stat has the times.
    Result<std::vector<Placement>> placements = place({"cgroups/cpu", {"cpu"}, {"cpuacct"}}, *layout, *options);
    if (!placements.ok()) return placements.error();
    return std::make_unique<CpuIsolator>(ctx.host, *options, *placements, layout->find("freezer"),
                                         ctx.config.getBool("cgroups_enable_cfs"), period);
  }

 protected:
  Status apply(const Container& c, const Resources& resources) override {
    std::optional<double> cpus = cc::scalar(resources, "cpus");
    if (!cpus) return {};  // nothing asked: the kernel's defaults
    if (*cpus <= 0) return invalidArgument("cpus must be positive, not " + std::to_string(*cpus));
    double perCpu = cc::revocable(resources, "cpus") ? kRevocableSharesPerCpu : kSharesPerCpu;
    auto shares = std::max<std::uint64_t>(kMinShares, static_cast<std::uint64_t>(std::llround(*cpus * perCpu)));
    const std::filesystem::path d = dir("cpu", c.key);
    if (version("cpu") == cc::Version::kV1) {
      if (Status s = cc::writeText(d / "cpu.shares", std::to_string(shares)); !s.ok()) return s;
    } else {
      // The v2 default weight (100) stands for v1's default shares (1024).
      auto weight =
          std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::llround(shares * 100.0 / 1024)), 1, 10000);
      if (Status s = cc::writeText(d / "cpu.weight", std::to_string(weight)); !s.ok()) return s;
    }
    if (!cfs_) return {};
    auto quota = std::max<std::uint64_t>(
        kMinQuotaMicros, static_cast<std::uint64_t>(std::llround(*cpus * static_cast<double>(periodMicros_))));
    if (version("cpu") == cc::Version::kV1) {
      if (Status s = cc::writeText(d / "cpu.cfs_period_us", std::to_string(periodMicros_)); !s.ok()) return s;
      return cc::writeText(d / "cpu.cfs_quota_us", std::to_string(quota));
    }
    return cc::writeText(d / "cpu.max", std::to_string(quota) + " " + std::to_string(periodMicros_));
  }

  Status report(const Container& c, v1::ResourceStatistics& stats) override {
    if (std::optional<double> cpus = cc::scalar(c.resources, "cpus")) stats.set_cpus_limit(*cpus);
    const std::filesystem::path d = dir("cpu", c.key);
    Result<std::map<std::string, std::uint64_t>> cpuStat = cc::readFlatKeyed(d / "cpu.stat");
    if (!cpuStat.ok()) return cpuStat.error();
    auto value = [&](const char* key) { return cpuStat->count(key) ? cpuStat->at(key) : 0; };
    stats.set_cpus_nr_periods(static_cast<std::uint32_t>(value("nr_periods")));
    stats.set_cpus_nr_throttled(static_cast<std::uint32_t>(value("nr_throttled")));
    if (version("cpu") == cc::Version::kV1) {
      stats.set_cpus_throttled_time_secs(static_cast<double>(value("throttled_time")) / 1e9);
      if (has("cpuacct")) {
        // cpuacct.stat counts USER_HZ ticks.
        Result<std::map<std::string, std::uint64_t>> acct = cc::readFlatKeyed(dir("cpuacct", c.key) / "cpuacct.stat");
        if (!acct.ok()) return acct.error();
        double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
        stats.set_cpus_user_time_secs(static_cast<double>((*acct)["user"]) / hz);
        stats.set_cpus_system_time_secs(static_cast<double>((*acct)["system"]) / hz);
      }
    } else {
      stats.set_cpus_throttled_time_secs(static_cast<double>(value("throttled_usec")) / 1e6);
      stats.set_cpus_user_time_secs(static_cast<double>(value("user_usec")) / 1e6);
      stats.set_cpus_system_time_secs(static_cast<double>(value("system_usec")) / 1e6);
    }
    Result<std::vector<pid_t>> procs = cc::processes(d);
    if (!procs.ok()) return procs.error();
    Result<std::vector<pid_t>> threads = cc::threads(version("cpu"), d);
    if (!threads.ok()) return threads.error();
    stats.set_processes(static_cast<std::uint32_t>(procs->size()));
    stats.set_threads(static_cast<std::uint32_t>(threads->size()));
    return {};
  }

 private:
  bool cfs_;
  std::int64_t periodMicros_;
};

}  // namespace

const mantle_module_descriptor* cpuDescriptor() {
  return sdk::describe<CpuIsolator>(
      "cgroups/cpu",
      "CPU shares (weight on cgroups v2) from the cpus resource, an optional CFS quota, and CPU usage, throttling, "
      "process and thread counts",
      {MANTLE_CGROUPS_COMMON_PARAMS,
       sdk::Param::boolean("cgroups_enable_cfs", "Also cap the container at its cpus with a CFS bandwidth quota",
                           "false"),
       sdk::Param::integer("cfs_period_us", "The CFS period, in microseconds", "100000")});
}

}  // namespace mantle::isolators::cgroups
