// SDK base class of the hook kind (API 1.0). Defaults change nothing; override
// the hook points the module takes part in.
#pragma once

#include "mantle/module/v1/hook.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class Hook {
 public:
  MANTLE_SDK_KIND(Hook, mantle_hook_table, HOOK)

  virtual ~Hook() = default;

  virtual Result<v1::LabelsDecoration> masterLaunchTaskLabelDecorator(const v1::TaskContext&) {
    return v1::LabelsDecoration();
  }
  virtual Result<v1::LabelsDecoration> agentRunTaskLabelDecorator(const v1::TaskContext&) {
    return v1::LabelsDecoration();
  }
  virtual Result<v1::EnvironmentDecoration> executorEnvironmentDecorator(const v1::TaskContext&) {
    return v1::EnvironmentDecoration();
  }
  virtual Result<v1::LabelsDecoration> taskStatusUpdateDecorator(const v1::TaskStatusContext&) {
    return v1::LabelsDecoration();
  }
  virtual Result<v1::Empty> executorRemoved(const v1::ExecutorRemoved&) { return v1::Empty(); }
  virtual Result<v1::Empty> stateEvent(const v1::StateEvent&) { return v1::Empty(); }
};

}  // namespace mantle::sdk
