#include "mantle/modules/metrics.hpp"

namespace mantle::modules {

void writePrometheus(const std::vector<InstanceMetrics>& instances, prometheus::TextWriter& out) {
  if (instances.empty()) return;
  auto labels = [](const InstanceMetrics& m) {
    return prometheus::Labels{{"instance", m.instance}, {"module", m.module}, {"kind", m.kind}};
  };
  out.family("mantle_module_calls_total", "counter", "Calls into a module instance.");
  for (const auto& m : instances) out.sample("mantle_module_calls_total", labels(m), m.calls);
  out.family("mantle_module_errors_total", "counter", "Calls that failed.");
  for (const auto& m : instances) out.sample("mantle_module_errors_total", labels(m), m.errors);
  out.family("mantle_module_timeouts_total", "counter", "Calls that missed their deadline.");
  for (const auto& m : instances) out.sample("mantle_module_timeouts_total", labels(m), m.timeouts);
  bool anySeparate = false;
  for (const auto& m : instances) anySeparate = anySeparate || m.separate;
  if (anySeparate) {
    out.family("mantle_module_host_restarts_total", "counter",
               "Times the module host of a \"process\": \"separate\" instance died and was restarted.");
    for (const auto& m : instances) {
      if (m.separate) out.sample("mantle_module_host_restarts_total", labels(m), m.hostRestarts);
    }
  }
  out.family("mantle_module_call_duration_seconds", "histogram", "Latency of calls into a module instance.");
  for (const auto& m : instances) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBucketBounds.size(); ++i) {
      cumulative += m.latencyBuckets[i];
      prometheus::Labels bucket = labels(m);
      bucket.emplace_back("le", prometheus::formatNumber(kLatencyBucketBounds[i]));
      out.sample("mantle_module_call_duration_seconds_bucket", bucket, cumulative);
    }
    cumulative += m.latencyBuckets.back();
    prometheus::Labels inf = labels(m);
    inf.emplace_back("le", "+Inf");
    out.sample("mantle_module_call_duration_seconds_bucket", inf, cumulative);
    out.sample("mantle_module_call_duration_seconds_sum", labels(m), m.latencySumSeconds);
    out.sample("mantle_module_call_duration_seconds_count", labels(m), cumulative);
  }
}

}  // namespace mantle::modules
