// The per-instance call metrics of the registry (calls, errors, timeouts,
// latency histogram) as Prometheus text, for the master's and the agent's
// /metrics alike.
#pragma once

#include <vector>

#include "mantle/common/prometheus.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::modules {

// Writes the families mantle_module_calls_total, mantle_module_errors_total,
// mantle_module_timeouts_total, mantle_module_call_duration_seconds and, for
// instances running out of process, mantle_module_host_restarts_total, each
// sample labelled with instance, module and kind. Nothing when `instances` is
// empty.
void writePrometheus(const std::vector<InstanceMetrics>& instances, prometheus::TextWriter& out);

}  // namespace mantle::modules
