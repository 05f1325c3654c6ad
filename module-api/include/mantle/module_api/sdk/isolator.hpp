// SDK base class of the isolator kind (API 1.0). Every method has Mesos'
// default behaviour; override what the isolator enforces.
#pragma once

#include "mantle/module/v1/isolator.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class Isolator {
 public:
  using KindBase = Isolator;
  static constexpr const char* kKind = MANTLE_KIND_ISOLATOR;
  static constexpr std::uint16_t kApiMajor = MANTLE_ISOLATOR_API_MAJOR;
  static constexpr std::uint16_t kApiMinor = MANTLE_ISOLATOR_API_MINOR;

  virtual ~Isolator() = default;

  virtual Result<v1::Empty> recover(const v1::IsolatorRecoverRequest&) { return v1::Empty(); }
  virtual Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest&) {
    return v1::IsolatorPrepareResponse();
  }
  virtual Result<v1::Empty> isolate(const v1::IsolatorIsolateRequest&) { return v1::Empty(); }
  virtual Result<v1::Empty> update(const v1::IsolatorUpdateRequest&) { return v1::Empty(); }
  virtual Result<v1::IsolatorUsageResponse> usage(const v1::IsolatorUsageRequest&) {
    return v1::IsolatorUsageResponse();
  }
  virtual Result<v1::IsolatorStatusResponse> status(const v1::IsolatorStatusRequest&) {
    return v1::IsolatorStatusResponse();
  }
  // Must succeed for containers the isolator does not know.
  virtual Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest&) { return v1::Empty(); }
  // Since 1.1: resources to advertise beyond the agent's configuration.
  virtual Result<v1::IsolatorResourcesResponse> resources(const v1::IsolatorResourcesRequest&) {
    return v1::IsolatorResourcesResponse();
  }

  static const void* table() {
    using B = Isolator;
    static const mantle_isolator_table t = {
        sizeof(mantle_isolator_table),
        &detail::method<B, v1::IsolatorRecoverRequest, v1::Empty, &B::recover>,
        &detail::method<B, v1::IsolatorPrepareRequest, v1::IsolatorPrepareResponse, &B::prepare>,
        &detail::method<B, v1::IsolatorIsolateRequest, v1::Empty, &B::isolate>,
        &detail::method<B, v1::IsolatorUpdateRequest, v1::Empty, &B::update>,
        &detail::method<B, v1::IsolatorUsageRequest, v1::IsolatorUsageResponse, &B::usage>,
        &detail::method<B, v1::IsolatorStatusRequest, v1::IsolatorStatusResponse, &B::status>,
        &detail::method<B, v1::IsolatorCleanupRequest, v1::Empty, &B::cleanup>,
        &detail::method<B, v1::IsolatorResourcesRequest, v1::IsolatorResourcesResponse, &B::resources>,
    };
    return &t;
  }
};

}  // namespace mantle::sdk
