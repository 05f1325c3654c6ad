// The per-instance call metrics as Prometheus text (modules/metrics): the
// families the master's and the agent's /metrics both show.
#include "mantle/modules/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mantle::modules {
namespace {

using ::testing::HasSubstr;

TEST(ModuleMetrics, EachInstanceHasCallsErrorsTimeoutsAndACumulativeLatencyHistogram) {
  InstanceMetrics m;
  m.instance = "posix/cpu";
  m.module = "posix/cpu";
  m.kind = "isolator";
  m.calls = 5;
  m.errors = 2;
  m.timeouts = 1;
  m.latencySumSeconds = 0.5;
  m.latencyBuckets[0] = 1;                            // <= 10 us
  m.latencyBuckets[2] = 3;                            // <= 1 ms
  m.latencyBuckets[kLatencyBucketBounds.size()] = 1;  // > 10 s
  prometheus::TextWriter out;
  writePrometheus({m}, out);
  const std::string labels = "instance=\"posix/cpu\",module=\"posix/cpu\",kind=\"isolator\"";
  EXPECT_THAT(out.text(),
              HasSubstr("# TYPE mantle_module_calls_total counter\nmantle_module_calls_total{" + labels + "} 5\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_errors_total{" + labels + "} 2\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_timeouts_total{" + labels + "} 1\n"));
  EXPECT_THAT(out.text(), HasSubstr("# TYPE mantle_module_call_duration_seconds histogram\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_call_duration_seconds_bucket{" + labels + ",le=\"1e-05\"} 1\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_call_duration_seconds_bucket{" + labels + ",le=\"1e-04\"} 1\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_call_duration_seconds_bucket{" + labels + ",le=\"0.001\"} 4\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_call_duration_seconds_bucket{" + labels + ",le=\"10\"} 4\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_call_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 5\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_call_duration_seconds_sum{" + labels + "} 0.5\n"));
  EXPECT_THAT(out.text(), HasSubstr("mantle_module_call_duration_seconds_count{" + labels + "} 5\n"));
}

TEST(ModuleMetrics, NoInstancesWriteNothing) {
  prometheus::TextWriter out;
  writePrometheus({}, out);
  EXPECT_EQ(out.text(), "");
}

}  // namespace
}  // namespace mantle::modules
