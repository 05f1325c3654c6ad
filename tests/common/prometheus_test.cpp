// Prometheus text (common/prometheus): the exact lines of families and
// samples, label escaping, metric names and numbers as Prometheus reads them.
#include "mantle/common/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mantle::prometheus {
namespace {

TEST(PrometheusText, WritesFamiliesAndLabelledSamples) {
  TextWriter out;
  out.family("mantle_module_calls_total", "counter", "Calls into a module instance.");
  out.sample("mantle_module_calls_total", {{"instance", "drf"}, {"kind", "allocator"}}, std::uint64_t{42});
  out.single("mantle_master_uptime_secs", "gauge", 12.5);
  EXPECT_EQ(out.text(),
            "# HELP mantle_module_calls_total Calls into a module instance.\n"
            "# TYPE mantle_module_calls_total counter\n"
            "mantle_module_calls_total{instance=\"drf\",kind=\"allocator\"} 42\n"
            "# TYPE mantle_master_uptime_secs gauge\n"
            "mantle_master_uptime_secs 12.5\n");
}

TEST(PrometheusText, EscapesLabelValues) {
  TextWriter out;
  out.sample("m", {{"url", "http://x/\"a\"\\b\nc"}}, 1.0);
  EXPECT_EQ(out.text(), "m{url=\"http://x/\\\"a\\\"\\\\b\\nc\"} 1\n");
}

TEST(PrometheusText, MetricNamesKeepOnlyLettersDigitsAndUnderscores) {
  EXPECT_EQ(metricName("master/tasks_running"), "master_tasks_running");
  EXPECT_EQ(metricName("slave/hooks.calls-total"), "slave_hooks_calls_total");
}

TEST(PrometheusText, NumbersAreTheShortestTextThatReadsBack) {
  EXPECT_EQ(formatNumber(1), "1");
  EXPECT_EQ(formatNumber(0.1), "0.1");
  EXPECT_EQ(formatNumber(1e-5), "1e-05");
  EXPECT_EQ(formatNumber(1765000000.25), "1765000000.25");
  EXPECT_EQ(formatNumber(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatNumber(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(formatNumber(std::nan("")), "NaN");
}

}  // namespace
}  // namespace mantle::prometheus
