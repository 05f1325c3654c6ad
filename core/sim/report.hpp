// What `mantle sim --out=DIR` writes: report.json (the metrics, byte-identical
// for the same inputs and seed), SVG plots and report.html, one page that
// holds the plots inline.
#pragma once

#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "sim/simulator.hpp"

namespace mantle::sim {

struct PolicyRun {
  std::string name;
  RunReport run;
};

struct ReportInputs {
  std::string trace;
  std::string cluster;
  std::uint64_t seed = 1;
  bool timing = false;  // allocator_cpu_ms_per_cycle measured (else null)
};

// Numbers as report.json writes them: at most six decimals, no exponent.
std::string formatNumber(double value);

std::string reportJson(const std::vector<PolicyRun>& runs, const ReportInputs& inputs);

// The plots, by file name: share_<policy>.svg, utilisation_<policy>.svg,
// queueing_cdf.svg, jct_cdf.svg.
std::vector<std::pair<std::string, std::string>> plots(const std::vector<PolicyRun>& runs);

std::string reportHtml(const std::vector<PolicyRun>& runs, const ReportInputs& inputs,
                       const std::vector<std::pair<std::string, std::string>>& plots);

// Writes all of the above into `dir` (created when missing).
Status writeReport(const std::string& dir, const std::vector<PolicyRun>& runs, const ReportInputs& inputs);

}  // namespace mantle::sim
