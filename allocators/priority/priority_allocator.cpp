// Strict priority: roles are served by weight (highest first), frameworks of
// a role in the order they registered; no fair sharing and no quota
// guarantees. Reservations, quota limits, filters, suppression, draining
// agents and the GPU rule behave as in the DRF allocator.
#include <memory>

#include "engine_allocator.hpp"

namespace mantle::allocators::priority {

namespace engine = ::mantle::allocator_engine;

class PriorityAllocator : public engine::EngineAllocator {
 public:
  explicit PriorityAllocator(engine::Options options)
      : EngineAllocator(engine::Policy{engine::Policy::Order::kStrictPriority, false}, std::move(options)) {}

  static Result<std::unique_ptr<PriorityAllocator>> create(const sdk::Context& context) {
    Result<engine::Options> options = readOptions(context.config);
    if (!options.ok()) return options.error();
    return std::make_unique<PriorityAllocator>(std::move(*options));
  }
};

}  // namespace mantle::allocators::priority

MANTLE_MODULE_LIBRARY(
    "mantle_allocator_priority", "1.0.0",
    mantle::sdk::describe<mantle::allocators::priority::PriorityAllocator>(
        "priority",
        "Strict priority: roles by weight (highest first), frameworks in registration order; honours "
        "reservations, quota limits, filters and suppression, but neither fair sharing nor quota guarantees",
        {mantle::allocator_engine::EngineAllocator::minAllocatableParam(),
         mantle::allocator_engine::EngineAllocator::filterGpuParam()}))
