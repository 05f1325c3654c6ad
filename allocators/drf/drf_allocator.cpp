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
        {mantle::sdk::Param::string("min_allocatable_resources",
                                    "Offers smaller than all of these sets are not made: 'cpus:0.01|mem:32'",
                                    "cpus:0.01|mem:32"),
         mantle::sdk::Param::stringList("fairness_exclude_resource_names",
                                        "Resource names left out of dominant shares (e.g. gpus)", ""),
         mantle::sdk::Param::boolean("filter_gpu_resources",
                                     "Offer agents with GPUs only to frameworks with GPU_RESOURCES", "true")}))
