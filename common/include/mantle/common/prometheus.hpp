// Prometheus text exposition format (version 0.0.4): the one writer behind
// the master's and the agent's /metrics, the module call metrics and the
// webhook hook's text file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mantle::prometheus {

// The Content-Type of the format.
inline constexpr const char* kContentType = "text/plain; version=0.0.4";

// Label name/value pairs of one sample, in the order written.
using Labels = std::vector<std::pair<std::string, std::string>>;

class TextWriter {
 public:
  // Starts a metric family: "# HELP" (unless help is empty) and "# TYPE"
  // lines. type: "counter", "gauge", "histogram", "summary" or "untyped".
  void family(std::string_view name, std::string_view type, std::string_view help = {});
  // One sample line: name{labels} value. Label values are escaped.
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  // A family with one unlabelled sample.
  void single(std::string_view name, std::string_view type, double value, std::string_view help = {});

  const std::string& text() const { return text_; }

 private:
  void labelsAndValue(std::string_view name, const Labels& labels, std::string_view value);
  std::string text_;
};

// `text` as a metric name: every character outside [a-zA-Z0-9_] becomes '_'.
std::string metricName(std::string_view text);

// A label value with '\', '"' and newlines escaped.
std::string escapeLabelValue(std::string_view value);

// The shortest text that reads back as `value`; "+Inf", "-Inf", "NaN".
std::string formatNumber(double value);

}  // namespace mantle::prometheus
