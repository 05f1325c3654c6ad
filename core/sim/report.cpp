#include "sim/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <json/writer.h>

namespace mantle::sim {

namespace {

const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string quoted(const std::string& s) {
  return Json::valueToQuotedString(s.c_str());
}

std::string escapeXml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string optionalNumber(const std::optional<double>& v) {
  return v ? formatNumber(*v) : "null";
}

std::string fileSafe(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_' && c != '.') c = '_';
  }
  return out;
}

// A line chart: x from 0 to xMax, y from 0 to yMax.
struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

std::string chart(const std::string& title, const std::string& xLabel, const std::string& yLabel,
                  const std::vector<Series>& series, bool steps) {
  const double width = 560, height = 300, left = 60, right = 150, top = 30, bottom = 45;
  const double plotW = width - left - right, plotH = height - top - bottom;
  double xMin = std::numeric_limits<double>::infinity(), xMax = -xMin, yMax = 0;
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points) {
      xMin = std::min(xMin, x);
      xMax = std::max(xMax, x);
      yMax = std::max(yMax, y);
    }
  }
  if (!std::isfinite(xMin)) xMin = 0, xMax = 1;
  if (xMax <= xMin) xMax = xMin + 1;
  yMax = yMax <= 0 ? 1 : (yMax <= 1 ? 1 : yMax * 1.05);
  auto px = [&](double x) { return left + (x - xMin) / (xMax - xMin) * plotW; };
  auto py = [&](double y) { return top + plotH - y / yMax * plotH; };
  auto f1 = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return std::string(buf);
  };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << left << "\" y=\"18\" font-size=\"13\" font-weight=\"bold\">" << escapeXml(title) << "</text>\n";
  o << "<g stroke=\"#ccc\" stroke-width=\"1\">\n";
  for (int i = 0; i <= 4; ++i) {
    double y = top + plotH * i / 4;
    o << "<line x1=\"" << left << "\" y1=\"" << f1(y) << "\" x2=\"" << left + plotW << "\" y2=\"" << f1(y) << "\"/>\n";
  }
  o << "</g>\n<g stroke=\"black\"><line x1=\"" << left << "\" y1=\"" << top + plotH << "\" x2=\"" << left + plotW
    << "\" y2=\"" << top + plotH << "\"/><line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\""
    << top + plotH << "\"/></g>\n";
  for (int i = 0; i <= 4; ++i) {
    double xv = xMin + (xMax - xMin) * i / 4, yv = yMax * i / 4;
    // Whole numbers on a wide axis, two decimals on a narrow one.
    const double xShown = xMax - xMin > 20 ? std::round(xv) : std::round(xv * 100) / 100;
    o << "<text x=\"" << f1(px(xv)) << "\" y=\"" << top + plotH + 14 << "\" text-anchor=\"middle\">"
      << formatNumber(xShown) << "</text>\n";
    o << "<text x=\"" << left - 4 << "\" y=\"" << f1(py(yv) + 4) << "\" text-anchor=\"end\">"
      << formatNumber(std::round(yv * 100) / 100) << "</text>\n";
  }
  o << "<text x=\"" << left + plotW / 2 << "\" y=\"" << height - 8 << "\" text-anchor=\"middle\">" << escapeXml(xLabel)
    << "</text>\n";
  o << "<text transform=\"translate(14," << top + plotH / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << escapeXml(yLabel) << "</text>\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const char* color = kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))];
    o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"";
    double lastY = 0;
    bool first = true;
    for (const auto& [x, y] : series[i].points) {
      if (steps && !first) o << f1(px(x)) << "," << f1(py(lastY)) << " ";
      o << f1(px(x)) << "," << f1(py(y)) << " ";
      lastY = y;
      first = false;
    }
    o << "\"/>\n";
    if (i < 12) {
      double ly = top + 12 + 16 * static_cast<double>(i);
      o << "<line x1=\"" << left + plotW + 10 << "\" y1=\"" << ly - 4 << "\" x2=\"" << left + plotW + 28 << "\" y2=\""
        << ly - 4 << "\" stroke=\"" << color << "\" stroke-width=\"2\"/><text x=\"" << left + plotW + 32 << "\" y=\""
        << ly << "\">" << escapeXml(series[i].name) << "</text>\n";
    }
  }
  if (series.size() > 12) {
    o << "<text x=\"" << left + plotW + 10 << "\" y=\"" << top + 12 + 16 * 12 << "\">+" << series.size() - 12
      << " more</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

// At most `points` points of the empirical CDF of sorted `values`.
std::vector<std::pair<double, double>> cdf(const std::vector<double>& values, std::size_t points = 200) {
  std::vector<std::pair<double, double>> out;
  const std::size_t n = values.size();
  if (n == 0) return out;
  const std::size_t step = std::max<std::size_t>(1, n / points);
  for (std::size_t i = 0; i < n; i += step) {
    out.emplace_back(values[i], static_cast<double>(i + 1) / static_cast<double>(n));
  }
  out.emplace_back(values.back(), 1.0);
  return out;
}

// The time series, thinned to at most 1000 points.
template <class Value>
std::vector<Series> timeSeries(const RunReport& run, const std::vector<std::string>& names, Value value) {
  std::vector<Series> out;
  const std::size_t stride = std::max<std::size_t>(1, run.series.size() / 1000);
  for (std::size_t i = 0; i < names.size(); ++i) {
    Series s{names[i], {}};
    for (std::size_t p = 0; p < run.series.size(); p += stride) {
      s.points.emplace_back(run.series[p].time, value(run.series[p], i));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::string formatNumber(double value) {
  if (!std::isfinite(value)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6f", value);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string reportJson(const std::vector<PolicyRun>& runs, const ReportInputs& inputs) {
  std::ostringstream o;
  o << "{\n  \"policies\": {";
  for (std::size_t p = 0; p < runs.size(); ++p) {
    const RunReport& r = runs[p].run;
    o << (p ? "," : "") << "\n    " << quoted(runs[p].name) << ": {\n";
    o << "      \"jain_fairness\": " << formatNumber(r.jainFairness) << ",\n";
    o << "      \"utilisation\": {";
    for (std::size_t k = 0; k < r.resourceNames.size(); ++k) {
      o << (k ? ", " : "") << quoted(r.resourceNames[k]) << ": " << formatNumber(r.utilisation[k]);
    }
    o << "},\n";
    o << "      \"makespan_s\": " << formatNumber(r.makespan) << ",\n";
    o << "      \"jct_s\": {\"p50\": " << optionalNumber(r.jct.p50) << ", \"p95\": " << optionalNumber(r.jct.p95)
      << ", \"p99\": " << optionalNumber(r.jct.p99) << "},\n";
    o << "      \"queueing_s\": {\"p50\": " << optionalNumber(r.queueing.p50)
      << ", \"p95\": " << optionalNumber(r.queueing.p95) << "},\n";
    o << "      \"frameworks\": {";
    for (std::size_t f = 0; f < r.frameworks.size(); ++f) {
      const FrameworkResult& fw = r.frameworks[f];
      o << (f ? "," : "") << "\n        " << quoted(fw.name) << ": {\"peak_running_tasks\": " << fw.peakRunningTasks
        << ", \"mean_dominant_share\": " << formatNumber(fw.meanDominantShare)
        << ", \"tasks_finished\": " << fw.tasksFinished << "}";
    }
    o << (r.frameworks.empty() ? "" : "\n      ") << "},\n";
    o << "      \"allocator_cpu_ms_per_cycle\": "
      << (inputs.timing && r.cycles > 0 ? formatNumber(r.allocatorCpuSeconds * 1000 / static_cast<double>(r.cycles))
                                        : "null")
      << "\n    }";
  }
  o << "\n  }\n}\n";
  return o.str();
}

std::vector<std::pair<std::string, std::string>> plots(const std::vector<PolicyRun>& runs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const PolicyRun& p : runs) {
    std::vector<std::string> names;
    for (const FrameworkResult& fw : p.run.frameworks) names.push_back(fw.name);
    out.emplace_back("share_" + fileSafe(p.name) + ".svg",
                     chart("Dominant share per framework: " + p.name, "simulated time (s)", "dominant share",
                           timeSeries(p.run, names, [](const Sample& s, std::size_t i) { return s.shares[i]; }), true));
    out.emplace_back(
        "utilisation_" + fileSafe(p.name) + ".svg",
        chart("Utilisation per resource: " + p.name, "simulated time (s)", "allocated / total",
              timeSeries(p.run, p.run.resourceNames, [](const Sample& s, std::size_t i) { return s.utilisation[i]; }),
              true));
  }
  std::vector<Series> queueing, jct;
  for (const PolicyRun& p : runs) {
    queueing.push_back({p.name, cdf(p.run.queueingDelays)});
    jct.push_back({p.name, cdf(p.run.completionTimes)});
  }
  out.emplace_back("queueing_cdf.svg", chart("Queueing delay CDF (per task)", "seconds", "fraction", queueing, false));
  out.emplace_back("jct_cdf.svg", chart("Job completion time CDF", "seconds", "fraction", jct, false));
  return out;
}

std::string reportHtml(const std::vector<PolicyRun>& runs, const ReportInputs& inputs,
                       const std::vector<std::pair<std::string, std::string>>& plotFiles) {
  auto plot = [&](const std::string& name) -> std::string {
    for (const auto& [file, svg] : plotFiles) {
      if (file == name) return svg;
    }
    return "";
  };
  auto cell = [](const std::optional<double>& v) { return v ? formatNumber(*v) : std::string("&ndash;"); };
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mantle sim report</title>\n"
       "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
       "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}"
       ".row{display:flex;flex-wrap:wrap;gap:1em}</style></head><body>\n";
  o << "<h1>mantle sim</h1>\n<p>trace <code>" << escapeXml(inputs.trace) << "</code>, cluster <code>"
    << escapeXml(inputs.cluster) << "</code>, seed " << inputs.seed << ". Metrics are defined in docs/SIM.md.</p>\n";
  o << "<h2>Summary</h2>\n<table><tr><th>metric</th>";
  for (const PolicyRun& p : runs) o << "<th>" << escapeXml(p.name) << "</th>";
  o << "</tr>\n";
  auto row = [&](const std::string& label, auto value) {
    o << "<tr><td>" << label << "</td>";
    for (const PolicyRun& p : runs) o << "<td>" << value(p.run) << "</td>";
    o << "</tr>\n";
  };
  row("Jain's fairness index", [](const RunReport& r) { return formatNumber(r.jainFairness); });
  if (!runs.empty()) {
    for (std::size_t k = 0; k < runs.front().run.resourceNames.size(); ++k) {
      row("utilisation " + escapeXml(runs.front().run.resourceNames[k]),
          [k](const RunReport& r) { return formatNumber(r.utilisation[k]); });
    }
  }
  row("makespan (s)", [](const RunReport& r) { return formatNumber(r.makespan); });
  row("job completion p50 (s)", [&](const RunReport& r) { return cell(r.jct.p50); });
  row("job completion p95 (s)", [&](const RunReport& r) { return cell(r.jct.p95); });
  row("job completion p99 (s)", [&](const RunReport& r) { return cell(r.jct.p99); });
  row("queueing p50 (s)", [&](const RunReport& r) { return cell(r.queueing.p50); });
  row("queueing p95 (s)", [&](const RunReport& r) { return cell(r.queueing.p95); });
  row("tasks never finished", [](const RunReport& r) { return std::to_string(r.tasksUnfinished); });
  row("allocation cycles", [](const RunReport& r) { return std::to_string(r.cycles); });
  row("offers made", [](const RunReport& r) { return std::to_string(r.offers); });
  row("offers declined", [](const RunReport& r) { return std::to_string(r.declined); });
  o << "</table>\n<h2>Frameworks</h2>\n<table><tr><th>framework</th>";
  for (const PolicyRun& p : runs) {
    o << "<th>" << escapeXml(p.name) << ": peak running</th><th>mean dominant share</th><th>tasks finished</th>";
  }
  o << "</tr>\n";
  if (!runs.empty()) {
    for (std::size_t f = 0; f < runs.front().run.frameworks.size(); ++f) {
      o << "<tr><td>" << escapeXml(runs.front().run.frameworks[f].name) << "</td>";
      for (const PolicyRun& p : runs) {
        const FrameworkResult& fw = p.run.frameworks[f];
        o << "<td>" << fw.peakRunningTasks << "</td><td>" << formatNumber(fw.meanDominantShare) << "</td><td>"
          << fw.tasksFinished << "</td>";
      }
      o << "</tr>\n";
    }
  }
  o << "</table>\n<h2>Over time</h2>\n";
  for (const char* kind : {"share_", "utilisation_"}) {
    o << "<div class=\"row\">\n";
    for (const PolicyRun& p : runs) o << plot(kind + fileSafe(p.name) + ".svg");
    o << "</div>\n";
  }
  o << "<h2>Distributions</h2>\n<div class=\"row\">\n"
    << plot("queueing_cdf.svg") << plot("jct_cdf.svg") << "</div>\n</body></html>\n";
  return o.str();
}

Status writeReport(const std::string& dir, const std::vector<PolicyRun>& runs, const ReportInputs& inputs) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return invalidArgument("--out=" + dir + ": cannot create the directory: " + ec.message());
  auto write = [&](const std::string& name, const std::string& text) -> Status {
    const std::string path = (std::filesystem::path(dir) / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return internalError(path + ": cannot write the file");
    return {};
  };
  if (Status s = write("report.json", reportJson(runs, inputs)); !s.ok()) return s;
  auto svgs = plots(runs);
  for (const auto& [name, svg] : svgs) {
    if (Status s = write(name, svg); !s.ok()) return s;
  }
  return write("report.html", reportHtml(runs, inputs, svgs));
}

}  // namespace mantle::sim
