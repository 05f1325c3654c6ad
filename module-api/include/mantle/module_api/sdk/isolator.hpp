// SDK base class of the isolator kind (API 1.1). Every method has Mesos'
// default behaviour; override what the isolator enforces.
#pragma once

#include "mantle/module/v1/isolator.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class Isolator {
 public:
  MANTLE_SDK_KIND(Isolator, mantle_isolator_table, ISOLATOR)

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
#ifdef MANTLE_TEST_ISOLATOR_NEXT_MINOR
  // Test builds only: the method of the future minor 1.2 (see kinds.h).
  virtual Result<v1::IsolatorUsageResponse> forecast(const v1::IsolatorUsageRequest&) {
    return v1::IsolatorUsageResponse();
  }
#endif
};

// The ContainerInfo that applies to a container: its task's (a command
// task's), else its executor's; none when neither has one.
inline const v1::ContainerInfo* containerInfoOf(const v1::ContainerConfig& config) {
  if (config.task_info().has_container()) return &config.task_info().container();
  if (config.executor_info().has_container()) return &config.executor_info().container();
  return nullptr;
}

}  // namespace mantle::sdk
