// The default allocator: hierarchical weighted DRF with quota, reservations,
// filters and suppression, built on the shared allocation engine.
#include <memory>

#include "engine_allocator.hpp"

namespace mantle::allocators::drf {

namespace engine = ::mantle::allocator_engine;

class DrfAllocator : public engine::EngineAllocator {
 public:
  explicit DrfAllocator(engine::Options options)
      : EngineAllocator(engine::Policy{engine::Policy::Order::kWeightedDrf, true}, std::move(options)) {}

  static Result<std::unique_ptr<DrfAllocator>> create(const sdk::Context& context) {
    Result<engine::Options> options = readOptions(context.config);
    if (!options.ok()) return options.error();
    options->fairnessExcludeNames = context.config.getStringList("fairness_exclude_resource_names");
    return std::make_unique<DrfAllocator>(std::move(*options));
  }
};

}  // namespace mantle::allocators::drf

MANTLE_MODULE_LIBRARY(
    "mantle_allocator_drf", "1.0.0",
    mantle::sdk::describe<mantle::allocators::drf::DrfAllocator>(
        "drf",
        "Hierarchical weighted dominant resource fairness (Mesos' default allocator): role tree with weights, "
        "quota guarantees and limits, reservations, decline filters, suppress/revive",
        {mantle::allocator_engine::EngineAllocator::minAllocatableParam(),
         mantle::sdk::Param::stringList("fairness_exclude_resource_names",
                                        "Resource names left out of dominant shares (e.g. gpus)", ""),
         mantle::allocator_engine::EngineAllocator::filterGpuParam()}))
