// `mantle sim` as a user runs it: the built binary, real modules, files out.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "process.hpp"
#include "sim/workload.hpp"
#include "temp_dir.hpp"

namespace mantle::sim {
namespace {

using mantle::testing::ChildProcess;
using mantle::testing::TempDir;

struct Outcome {
  int exitCode;
  std::string output;
};

Outcome runMantle(const TempDir& dir, std::vector<std::string> args) {
  static int runs = 0;
  args.insert(args.begin(), mantle::testing::binary("mantle"));
  ChildProcess child(args, dir.path() / ("mantle-" + std::to_string(++runs) + ".log"));
  int status = child.wait(std::chrono::seconds(120));
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, child.output()};
}

const char* const kCluster = R"({"agents": [{"count": 1, "resources": "cpus:9;mem:18432"}]})";
const char* const kTrace =
    "{\"submit\": 0, \"framework\": \"A\", \"role\": \"r\", \"tasks\": 6, \"resources\": \"cpus:1;mem:4096\", "
    "\"duration\": 60}\n"
    "{\"submit\": 0, \"framework\": \"B\", \"role\": \"r\", \"tasks\": 4, \"resources\": \"cpus:3;mem:1024\", "
    "\"duration\": 60}\n";

TEST(SimCommand, WritesTheReportThePlotsAndThePageForEachPolicy) {
  TempDir dir;
  auto cluster = dir.write("cluster.json", kCluster);
  auto trace = dir.write("trace.jsonl", kTrace);
  auto out = dir.path() / "out";
  std::vector<std::string> args = {"sim",          "--trace=" + trace.string(), "--cluster=" + cluster.string(),
                                   "--policy=drf", "--policy=priority",         "--out=" + out.string(),
                                   "--seed=3"};
  Outcome first = runMantle(dir, args);
  ASSERT_EQ(first.exitCode, 0) << first.output;
  for (const char* file : {"report.json", "report.html", "share_drf.svg", "share_priority.svg", "utilisation_drf.svg",
                           "utilisation_priority.svg", "queueing_cdf.svg", "jct_cdf.svg"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(out / file)) << file;
  }
  auto report = readFile((out / "report.json").string());
  ASSERT_TRUE(report.ok());
  for (const char* key : {"\"drf\": {", "\"priority\": {", "\"jain_fairness\": ", "\"utilisation\": {\"cpus\": ",
                          "\"makespan_s\": ", "\"jct_s\": {\"p50\": ", "\"queueing_s\": {\"p50\": ",
                          "\"A\": {\"peak_running_tasks\": 3, \"mean_dominant_share\": ", "\"tasks_finished\": 6}",
                          "\"allocator_cpu_ms_per_cycle\": null"}) {
    EXPECT_NE(report->find(key), std::string::npos) << key << " in\n" << *report;
  }
  auto html = readFile((out / "report.html").string());
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->find("<svg"), std::string::npos) << "plots inline";
  EXPECT_EQ(html->find("<script"), std::string::npos);
  EXPECT_EQ(html->find("src=\""), std::string::npos) << "self-contained";
  // Again: the same bytes.
  Outcome second = runMantle(dir, args);
  ASSERT_EQ(second.exitCode, 0) << second.output;
  auto again = readFile((out / "report.json").string());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*report, *again);
}

TEST(SimCommand, TimingFillsTheAllocatorCpuTime) {
  TempDir dir;
  auto cluster = dir.write("cluster.json", kCluster);
  auto trace = dir.write("trace.jsonl", kTrace);
  Outcome r = runMantle(dir, {"sim", "--trace=" + trace.string(), "--cluster=" + cluster.string(), "--policy=drf",
                              "--out=" + (dir.path() / "out").string(), "--timing"});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  auto report = readFile((dir.path() / "out" / "report.json").string());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->find("\"allocator_cpu_ms_per_cycle\": null"), std::string::npos) << *report;
}

TEST(SimCommand, BadInputIsAOneLineErrorNamingFileLineAndField) {
  TempDir dir;
  auto cluster = dir.write("cluster.json", kCluster);
  auto good = dir.write("good.jsonl", kTrace);
  auto trace = dir.write("trace.jsonl", std::string(kTrace) +
                                            "{\"submit\": 5, \"framework\": \"C\", \"role\": \"r\", \"tasks\": 1, "
                                            "\"resources\": \"cpus:abc\", \"duration\": 1}\n");
  const std::string out = "--out=" + (dir.path() / "out").string();
  Outcome badLine =
      runMantle(dir, {"sim", "--trace=" + trace.string(), "--cluster=" + cluster.string(), "--policy=drf", out});
  EXPECT_EQ(badLine.exitCode, 2);
  EXPECT_NE(badLine.output.find("mantle sim: error: " + trace.string() + ":3: resources: "), std::string::npos)
      << badLine.output;

  Outcome flag = runMantle(dir, {"sim", "--trace=x", "--clusters=y"});
  EXPECT_EQ(flag.exitCode, 2);
  EXPECT_NE(flag.output.find("mantle sim: error: unknown flag '--clusters=y'"), std::string::npos) << flag.output;

  auto badCluster = dir.write("bad.json", "{\"agents\": [{\"count\": 1,\n \"resources\": \"cpus:1;mem:lots\"}]}");
  Outcome resources =
      runMantle(dir, {"sim", "--trace=" + good.string(), "--cluster=" + badCluster.string(), "--policy=drf", out});
  EXPECT_EQ(resources.exitCode, 2);
  EXPECT_NE(resources.output.find(badCluster.string() + ":2: agents[0].resources: "), std::string::npos)
      << resources.output;

  Outcome policy = runMantle(
      dir, {"sim", "--trace=" + good.string(), "--cluster=" + cluster.string(), "--policy=drf:/nonexistent.json", out});
  EXPECT_EQ(policy.exitCode, 2);
  EXPECT_NE(policy.output.find("--policy=drf:/nonexistent.json: "), std::string::npos) << policy.output;

  Outcome twice = runMantle(
      dir, {"sim", "--trace=" + good.string(), "--cluster=" + cluster.string(), "--policy=drf", "--policy=drf", out});
  EXPECT_EQ(twice.exitCode, 2);
  EXPECT_NE(twice.output.find("--policy=drf: policy 'drf' is given twice"), std::string::npos) << twice.output;
  EXPECT_EQ(twice.output.find("cycles"), std::string::npos) << "nothing ran";

  Outcome missing = runMantle(dir, {"sim", "--cluster=" + cluster.string(), "--policy=drf", out});
  EXPECT_EQ(missing.exitCode, 2);
  EXPECT_NE(missing.output.find("--trace=FILE is required"), std::string::npos) << missing.output;
}

TEST(SimCommand, ImportWritesATraceTheSimulatorReads) {
  TempDir dir;
  const std::string in = std::string(MANTLE_SOURCE_DIR) + "/tests/core/sim/fixtures/alibaba2018_batch_task.csv";
  const std::string out = (dir.path() / "trace.jsonl").string();
  Outcome r = runMantle(dir, {"sim", "import", "--format=alibaba2018", in, out});
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("3 jobs from 5 records (2 skipped"), std::string::npos) << r.output;
  EXPECT_TRUE(readTrace(out).ok());
  Outcome bad = runMantle(dir, {"sim", "import", "--format=alibaba2018", "--sample=3", in, out});
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_NE(bad.output.find("unknown flag '--sample=3'"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace mantle::sim
