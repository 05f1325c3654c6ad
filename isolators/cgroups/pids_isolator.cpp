// cgroups/pids: a limit on the number of processes and threads of a
// container (pids.max), from a `pids` scalar resource when the container has
// one, else from the module's `max_pids`; and the counts.
#include <cmath>

#include "cgroups_isolator.hpp"
#include "descriptors.hpp"
#include "text.hpp"

namespace mantle::isolators::cgroups {

namespace {

class PidsIsolator final : public CgroupsIsolator {
 public:
  PidsIsolator(sdk::Host host, CommonOptions options, std::vector<Placement> placements,
               std::optional<cc::Hierarchy> freezer, std::int64_t maxPids)
      : CgroupsIsolator("cgroups/pids", host, std::move(options), std::move(placements), std::move(freezer)),
        maxPids_(maxPids) {}

  static Result<std::unique_ptr<PidsIsolator>> create(const sdk::Context& ctx) {
    Result<CommonOptions> options = CommonOptions::from(ctx.config);
    if (!options.ok()) return options.error();
    std::int64_t maxPids = ctx.config.getInt("max_pids");
    if (maxPids < 0) return invalidArgument("'max_pids' must not be negative");
    Result<cc::Layout> layout = cc::Layout::detect();
    if (!layout.ok()) return layout.error();
    Result<std::vector<Placement>> placements = place({"cgroups/pids", {"pids"}, {}}, *layout, *options);
    if (!placements.ok()) return placements.error();
    return std::make_unique<PidsIsolator>(ctx.host, *options, *placements, layout->find("freezer"), maxPids);
  }

 protected:
  Status apply(const Container& c, const Resources& resources) override {
    std::int64_t limit = maxPids_;
    if (std::optional<double> asked = cc::scalar(resources, "pids")) {
      if (*asked < 1) return invalidArgument("the pids resource must be at least 1, not " + std::to_string(*asked));
      limit = static_cast<std::int64_t>(std::floor(*asked));
    }
    return cc::writeText(dir("pids", c.key) / "pids.max", limit > 0 ? std::to_string(limit) : "max");
  }

  Status report(const Container& c, v1::ResourceStatistics& stats) override {
    const std::filesystem::path d = dir("pids", c.key);
    Result<std::vector<pid_t>> procs = cc::processes(d);
    if (!procs.ok()) return procs.error();
    // pids.current counts tasks: every thread of every process.
    Result<std::optional<std::uint64_t>> current = cc::readNumber(d / "pids.current");
    if (!current.ok()) return current.error();
    stats.set_processes(static_cast<std::uint32_t>(procs->size()));
    stats.set_threads(static_cast<std::uint32_t>(current->value_or(0)));
    return {};
  }

 private:
  std::int64_t maxPids_;
};

}  // namespace

const mantle_module_descriptor* pidsDescriptor() {
  return sdk::describe<PidsIsolator>(
      "cgroups/pids",
      "Limits the number of tasks (processes and threads) of a container, from its pids resource or max_pids; "
      "reports the counts",
      {MANTLE_CGROUPS_COMMON_PARAMS,
       sdk::Param::integer("max_pids", "The limit for containers without a pids resource; 0: no limit", "0")});
}

}  // namespace mantle::isolators::cgroups
