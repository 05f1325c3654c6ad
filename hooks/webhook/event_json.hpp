// The JSON documents the webhook posts (schema in README.md).
#pragma once

#include <cstdint>
#include <string>

#include "mantle/module/v1/hook.pb.h"

namespace mantle::hooks::webhook {

// "TASK_UPDATED", ..., as the `type` field and the `events` filter spell them.
std::string eventTypeName(module::v1::StateEvent::Type type);
inline constexpr const char* kExecutorRemovedType = "EXECUTOR_REMOVED";

std::string stateEventJson(const module::v1::StateEvent& event, std::uint64_t sequence, const std::string& instance);
std::string executorRemovedJson(const module::v1::ExecutorRemoved& removed, std::uint64_t sequence,
                                const std::string& instance, double timestamp);

}  // namespace mantle::hooks::webhook
