// The SDK face of the engine: an sdk::Allocator that forwards every method of
// the allocator kind to an Engine. Each allocator module derives from it and
// only chooses its Policy and reads its configuration.
#pragma once

#include <memory>
#include <string>

#include "engine.hpp"
#include "mantle/module_api/sdk/allocator.hpp"

namespace mantle::allocator_engine {

class EngineAllocator : public sdk::Allocator {
 public:
  EngineAllocator(Policy policy, Options options) : engine_(policy, std::move(options)) {}

  Result<v1::Empty> addFramework(const v1::AllocatorAddFramework& r) override { return done(engine_.addFramework(r)); }
  Result<v1::Empty> updateFramework(const v1::AllocatorUpdateFramework& r) override {
    return done(engine_.updateFramework(r));
  }
  Result<v1::Empty> removeFramework(const v1::AllocatorFrameworkRef& r) override {
    return done(engine_.removeFramework(r));
  }
  Result<v1::Empty> setFrameworkActive(const v1::AllocatorSetFrameworkActive& r) override {
    return done(engine_.setFrameworkActive(r));
  }
  Result<v1::Empty> addAgent(const v1::AllocatorAddAgent& r) override { return done(engine_.addAgent(r)); }
  Result<v1::Empty> updateAgent(const v1::AllocatorUpdateAgent& r) override { return done(engine_.updateAgent(r)); }
  Result<v1::Empty> removeAgent(const v1::AllocatorAgentRef& r) override { return done(engine_.removeAgent(r)); }
  Result<v1::Empty> recoverResources(const v1::AllocatorRecoverResources& r) override {
    return done(engine_.recoverResources(r));
  }
  Result<v1::Empty> suppress(const v1::AllocatorRoles& r) override { return done(engine_.suppress(r)); }
  Result<v1::Empty> revive(const v1::AllocatorRoles& r) override { return done(engine_.revive(r)); }
  Result<v1::Empty> updateWeights(const v1::AllocatorUpdateWeights& r) override {
    return done(engine_.updateWeights(r));
  }
  Result<v1::Empty> updateQuota(const v1::AllocatorUpdateQuota& r) override { return done(engine_.updateQuota(r)); }
  Result<v1::AllocateResponse> allocate(const v1::AllocateRequest& r) override {
    v1::AllocateResponse response;
    engine_.allocate(r.now_seconds(), &response);
    return response;
  }
  Status allocateInto(const v1::AllocateRequest& r, v1::AllocateResponse* response) override {
    engine_.allocate(r.now_seconds(), response);
    return {};
  }
  Status allocateEncoded(const v1::AllocateRequest& r, std::string* out) override {
    engine_.allocateEncoded(r.now_seconds(), out);
    return {};
  }
  Status recoverBatchInto(const v1::AllocatorRecoverResourcesBatch& batch, v1::Empty*) override {
    return engine_.recoverBatch(batch);
  }
  Status recoverBatchEncoded(const std::uint8_t* request, std::size_t size, std::string*) override {
    return engine_.recoverBatchEncoded(std::string_view(reinterpret_cast<const char*>(request), size));
  }
  Result<v1::ExplainResponse> explain(const v1::ExplainRequest& r) override { return engine_.explain(r); }

  Engine& engine() { return engine_; }

  // The configuration parameters every engine-based module declares.
  static mantle_param_descriptor minAllocatableParam() {
    return sdk::Param::string("min_allocatable_resources",
                              "Offers smaller than all of these sets are not made: 'cpus:0.01|mem:32'",
                              "cpus:0.01|mem:32");
  }
  static mantle_param_descriptor filterGpuParam() {
    return sdk::Param::boolean("filter_gpu_resources", "Offer agents with GPUs only to frameworks with GPU_RESOURCES",
                               "true");
  }

 protected:
  // Reads the parameters above.
  static Result<Options> readOptions(const sdk::Config& config) {
    Options options;
    auto min = parseMinAllocatable(config.getString("min_allocatable_resources"));
    if (!min.ok()) return min.error();
    options.minAllocatable = std::move(*min);
    options.filterGpuResources = config.getBool("filter_gpu_resources");
    return options;
  }

 private:
  static Result<v1::Empty> done(const Status& status) {
    if (!status.ok()) return status.error();
    return v1::Empty();
  }
  Engine engine_;
};

}  // namespace mantle::allocator_engine
