// SDK base class of the hook kind (API 1.0). Defaults change nothing; override
// the hook points the module takes part in.
#pragma once

#include "mantle/module/v1/hook.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class Hook {
 public:
  using KindBase = Hook;
  static constexpr const char* kKind = MANTLE_KIND_HOOK;
  static constexpr std::uint16_t kApiMajor = MANTLE_HOOK_API_MAJOR;
  static constexpr std::uint16_t kApiMinor = MANTLE_HOOK_API_MINOR;

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

  static const void* table() {
    using B = Hook;
    static const mantle_hook_table t = {
        sizeof(mantle_hook_table),
        &detail::method<B, v1::TaskContext, v1::LabelsDecoration, &B::masterLaunchTaskLabelDecorator>,
        &detail::method<B, v1::TaskContext, v1::LabelsDecoration, &B::agentRunTaskLabelDecorator>,
        &detail::method<B, v1::TaskContext, v1::EnvironmentDecoration, &B::executorEnvironmentDecorator>,
        &detail::method<B, v1::TaskStatusContext, v1::LabelsDecoration, &B::taskStatusUpdateDecorator>,
        &detail::method<B, v1::ExecutorRemoved, v1::Empty, &B::executorRemoved>,
        &detail::method<B, v1::StateEvent, v1::Empty, &B::stateEvent>,
    };
    return &t;
  }
};

}  // namespace mantle::sdk
