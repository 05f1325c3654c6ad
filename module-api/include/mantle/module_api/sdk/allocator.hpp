// SDK base class of the allocator kind (API 1.0). Every method must be
// implemented: an allocator that ignores cluster changes would offer what it
// does not have. Calls to one instance never overlap.
#pragma once

#include "mantle/module/v1/allocator.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class Allocator {
 public:
  using KindBase = Allocator;
  static constexpr const char* kKind = MANTLE_KIND_ALLOCATOR;
  static constexpr std::uint16_t kApiMajor = MANTLE_ALLOCATOR_API_MAJOR;
  static constexpr std::uint16_t kApiMinor = MANTLE_ALLOCATOR_API_MINOR;

  virtual ~Allocator() = default;

  virtual Result<v1::Empty> addFramework(const v1::AllocatorAddFramework&) = 0;
  virtual Result<v1::Empty> updateFramework(const v1::AllocatorUpdateFramework&) = 0;
  virtual Result<v1::Empty> removeFramework(const v1::AllocatorFrameworkRef&) = 0;
  virtual Result<v1::Empty> setFrameworkActive(const v1::AllocatorSetFrameworkActive&) = 0;
  virtual Result<v1::Empty> addAgent(const v1::AllocatorAddAgent&) = 0;
  virtual Result<v1::Empty> updateAgent(const v1::AllocatorUpdateAgent&) = 0;
  virtual Result<v1::Empty> removeAgent(const v1::AllocatorAgentRef&) = 0;
  virtual Result<v1::Empty> recoverResources(const v1::AllocatorRecoverResources&) = 0;
  virtual Result<v1::Empty> suppress(const v1::AllocatorRoles&) = 0;
  virtual Result<v1::Empty> revive(const v1::AllocatorRoles&) = 0;
  virtual Result<v1::Empty> updateWeights(const v1::AllocatorUpdateWeights&) = 0;
  virtual Result<v1::Empty> updateQuota(const v1::AllocatorUpdateQuota&) = 0;
  virtual Result<v1::AllocateResponse> allocate(const v1::AllocateRequest&) = 0;
  virtual Result<v1::ExplainResponse> explain(const v1::ExplainRequest&) { return v1::ExplainResponse(); }
  // Applies each item in order; stops at the first error (the items before it
  // stay applied). Override when a batch can be cheaper than its items.
  virtual Result<v1::Empty> recoverResourcesBatch(const v1::AllocatorRecoverResourcesBatch& batch) {
    for (const v1::AllocatorRecoverResources& item : batch.items()) {
      Result<v1::Empty> done = recoverResources(item);
      if (!done.ok()) return done.error();
    }
    return v1::Empty();
  }

  static const void* table() {
    using B = Allocator;
    static const mantle_allocator_table t = {
        sizeof(mantle_allocator_table),
        &detail::method<B, v1::AllocatorAddFramework, v1::Empty, &B::addFramework>,
        &detail::method<B, v1::AllocatorUpdateFramework, v1::Empty, &B::updateFramework>,
        &detail::method<B, v1::AllocatorFrameworkRef, v1::Empty, &B::removeFramework>,
        &detail::method<B, v1::AllocatorSetFrameworkActive, v1::Empty, &B::setFrameworkActive>,
        &detail::method<B, v1::AllocatorAddAgent, v1::Empty, &B::addAgent>,
        &detail::method<B, v1::AllocatorUpdateAgent, v1::Empty, &B::updateAgent>,
        &detail::method<B, v1::AllocatorAgentRef, v1::Empty, &B::removeAgent>,
        &detail::method<B, v1::AllocatorRecoverResources, v1::Empty, &B::recoverResources>,
        &detail::method<B, v1::AllocatorRoles, v1::Empty, &B::suppress>,
        &detail::method<B, v1::AllocatorRoles, v1::Empty, &B::revive>,
        &detail::method<B, v1::AllocatorUpdateWeights, v1::Empty, &B::updateWeights>,
        &detail::method<B, v1::AllocatorUpdateQuota, v1::Empty, &B::updateQuota>,
        &detail::method<B, v1::AllocateRequest, v1::AllocateResponse, &B::allocate>,
        &detail::method<B, v1::ExplainRequest, v1::ExplainResponse, &B::explain>,
        &detail::method<B, v1::AllocatorRecoverResourcesBatch, v1::Empty, &B::recoverResourcesBatch>,
    };
    return &t;
  }
};

}  // namespace mantle::sdk
