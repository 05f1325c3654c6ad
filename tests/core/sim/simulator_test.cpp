// The simulator against the real allocator modules of this build (through the
// default manifest and the module ABI): the classic DRF example, weighted
// roles, quota guarantees, and determinism.
#include "sim/simulator.hpp"

#include <gtest/gtest.h>

#include "sim/report.hpp"

namespace mantle::sim {
namespace {

Cluster cluster(const std::string& text) {
  auto parsed = parseCluster(text, "cluster.json");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : Cluster{};
}

Trace trace(const std::string& text) {
  auto parsed = parseTrace(text, "trace.jsonl");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : Trace{};
}

RunReport simulateUnder(const std::string& policyName, const Cluster& c, const Trace& t, Options options = {}) {
  Result<Policy> policy = loadPolicy(policyName);
  EXPECT_TRUE(policy.ok()) << policy.error().message;
  if (!policy.ok()) return {};
  Result<RunReport> run = simulate(c, t, *policy->instance, options);
  EXPECT_TRUE(run.ok()) << run.error().message;
  return run.ok() ? *run : RunReport{};
}

const FrameworkResult& framework(const RunReport& run, const std::string& name) {
  for (const FrameworkResult& f : run.frameworks) {
    if (f.name == name) return f;
  }
  static FrameworkResult none;
  ADD_FAILURE() << "no framework " << name;
  return none;
}

// Dominant shares at the end of the run (the last sample).
double finalShare(const RunReport& run, const std::string& name) {
  for (std::size_t i = 0; i < run.frameworks.size(); ++i) {
    if (run.frameworks[i].name == name && !run.series.empty()) return run.series.back().shares[i];
  }
  ADD_FAILURE() << "no share for " << name;
  return 0;
}

TEST(Simulator, DrfPaperExampleEndsWithThreeTasksOfAAndTwoOfB) {
  Cluster c = cluster(R"({"agents": [{"count": 1, "resources": "cpus:9;mem:18432"}]})");
  Trace t = trace(
      "{\"submit\": 0, \"framework\": \"A\", \"role\": \"r\", \"tasks\": 50, \"resources\": \"cpus:1;mem:4096\", "
      "\"duration\": 100000}\n"
      "{\"submit\": 0, \"framework\": \"B\", \"role\": \"r\", \"tasks\": 50, \"resources\": \"cpus:3;mem:1024\", "
      "\"duration\": 100000}\n");
  Options options;
  options.until = 600;
  RunReport run = simulateUnder("drf", c, t, options);
  EXPECT_EQ(framework(run, "A").peakRunningTasks, 3);
  EXPECT_EQ(framework(run, "B").peakRunningTasks, 2);
  EXPECT_NEAR(finalShare(run, "A"), 12288.0 / 18432, 1e-9);
  EXPECT_NEAR(finalShare(run, "B"), 6.0 / 9, 1e-9);
  EXPECT_GT(run.jainFairness, 0.999);
  // Strict priority (same weights: registration order) gives A more than its
  // fair share: the example tells the policies apart.
  RunReport priority = simulateUnder("priority", c, t, options);
  EXPECT_GT(framework(priority, "A").peakRunningTasks, 3);
  EXPECT_LT(priority.jainFairness, 0.95);
}

TEST(Simulator, WeightedRolesConvergeToWeightProportionalShares) {
  Cluster c = cluster(R"({"agents": [{"count": 3, "resources": "cpus:10;mem:10240"}]})");
  // Short tasks, resubmitted all along: shares settle while work churns.
  std::string text;
  for (int i = 0; i < 40; ++i) {
    for (const char* who : {"heavy", "light"}) {
      text += "{\"submit\": " + std::to_string(i * 30) + ", \"framework\": \"" + who + "\", \"role\": \"" + who +
              "\", \"tasks\": 40, \"resources\": \"cpus:1;mem:1024\", \"duration\": 20" +
              (std::string(who) == "heavy" ? ", \"weight\": 2" : ", \"weight\": 1") + "}\n";
    }
  }
  Trace t = trace(text);
  Options options;
  options.until = 1200;
  RunReport run = simulateUnder("drf", c, t, options);
  const double heavy = framework(run, "heavy").meanDominantShare;
  const double light = framework(run, "light").meanDominantShare;
  ASSERT_GT(light, 0.1);
  EXPECT_NEAR(heavy / light, 2.0, 0.15) << "heavy " << heavy << ", light " << light;
  EXPECT_NEAR(finalShare(run, "heavy"), 20.0 / 30, 0.05);
  EXPECT_NEAR(finalShare(run, "light"), 10.0 / 30, 0.05);
  // Weight-normalised shares are equal: Jain's index is 1.
  EXPECT_GT(run.jainFairness, 0.99);
}

TEST(Simulator, QuotaGuaranteesAreMetFirst) {
  Cluster c = cluster(R"({"agents": [{"count": 10, "resources": "cpus:4;mem:4096"}],
                          "weights": {"greedy": 100},
                          "quota": {"guaranteed": {"guarantees": "cpus:10;mem:10240"}}})");
  Trace t = trace(
      "{\"submit\": 0, \"framework\": \"greedy\", \"role\": \"greedy\", \"tasks\": 100, \"resources\": "
      "\"cpus:1;mem:1024\", \"duration\": 100000}\n"
      "{\"submit\": 0, \"framework\": \"guaranteed\", \"role\": \"guaranteed\", \"tasks\": 100, \"resources\": "
      "\"cpus:1;mem:1024\", \"duration\": 100000}\n");
  Options options;
  options.until = 300;
  RunReport run = simulateUnder("drf", c, t, options);
  EXPECT_EQ(framework(run, "guaranteed").peakRunningTasks, 10);
  EXPECT_EQ(framework(run, "greedy").peakRunningTasks, 30);
  // The guarantee is served from the first cycles on, not after greedy has
  // what its weight earns: by 15 s the guaranteed role holds its 10 CPUs.
  double guaranteedAt15 = -1;
  for (const Sample& s : run.series) {
    if (s.time >= 15) {
      guaranteedAt15 = s.shares[1];  // frameworks sorted: greedy, guaranteed
      break;
    }
  }
  EXPECT_NEAR(guaranteedAt15, 10.0 / 40, 1e-9);
  // Under strict priority the weight-100 role takes everything.
  RunReport priority = simulateUnder("priority", c, t, options);
  EXPECT_EQ(framework(priority, "guaranteed").peakRunningTasks, 0);
}

TEST(Simulator, TheSameInputsAndSeedGiveAByteIdenticalReport) {
  Cluster c = cluster(R"({"agents": [{"count": 12, "resources": "cpus:8;mem:16384", "attributes": "rack:a"},
                                      {"count": 8, "resources": "cpus:16;mem:8192", "attributes": "rack:b"}]})");
  std::string text;
  unsigned x = 7;
  for (int i = 0; i < 300; ++i) {
    x = x * 1103515245u + 12345u;
    const int f = static_cast<int>(x >> 16) % 4;
    text += "{\"submit\": " + std::to_string(i * 3) + ", \"framework\": \"f" + std::to_string(f) + "\", \"role\": \"r" +
            std::to_string(f % 2) + "\", \"tasks\": " + std::to_string(1 + (x >> 8) % 7) +
            ", \"resources\": \"cpus:" + std::to_string(1 + (x >> 4) % 3) +
            ";mem:" + std::to_string(512 * (1 + (x >> 12) % 6)) +
            "\", \"duration\": " + std::to_string(10 + (x >> 20) % 200) +
            (i % 10 == 0 ? ", \"constraints\": \"rack:b\"" : "") + "}\n";
  }
  Trace t = trace(text);
  ReportInputs inputs{"trace.jsonl", "cluster.json", 42, false};
  Options options;
  options.seed = 42;
  std::vector<std::string> reports;
  for (int round = 0; round < 2; ++round) {
    std::vector<PolicyRun> runs;
    for (const char* name : {"drf", "priority"}) runs.push_back({name, simulateUnder(name, c, t, options)});
    EXPECT_EQ(runs[0].run.tasksUnfinished, 0);
    reports.push_back(reportJson(runs, inputs));
  }
  EXPECT_EQ(reports[0], reports[1]);
  // Another seed registers the agents in another order: the placement, and so
  // the report, may differ, but the run is again complete.
  options.seed = 43;
  RunReport other = simulateUnder("drf", c, t, options);
  EXPECT_EQ(other.tasksUnfinished, 0);
}

TEST(Simulator, ConstraintsKeepTasksOnMatchingAgents) {
  Cluster c = cluster(R"({"agents": [{"count": 2, "resources": "cpus:4;mem:4096", "attributes": "rack:a"},
                                      {"count": 1, "resources": "cpus:4;mem:4096", "attributes": "rack:b"}]})");
  Trace t = trace(
      "{\"submit\": 0, \"framework\": \"A\", \"role\": \"r\", \"tasks\": 12, \"resources\": \"cpus:1;mem:512\", "
      "\"duration\": 100000, \"constraints\": \"rack:b\"}\n");
  Options options;
  options.until = 200;
  RunReport run = simulateUnder("drf", c, t, options);
  EXPECT_EQ(framework(run, "A").peakRunningTasks, 4) << "one rack:b agent of 4 cpus";
}

TEST(Simulator, TasksThatFitNowhereEndTheRunAsUnfinished) {
  Cluster c = cluster(R"({"agents": [{"count": 2, "resources": "cpus:4;mem:4096"}]})");
  Trace t = trace(
      "{\"submit\": 0, \"framework\": \"A\", \"role\": \"r\", \"tasks\": 2, \"resources\": \"cpus:1;mem:512\", "
      "\"duration\": 10}\n"
      "{\"submit\": 5, \"framework\": \"A\", \"role\": \"r\", \"tasks\": 1, \"resources\": \"cpus:8;mem:512\", "
      "\"duration\": 10}\n");
  RunReport run = simulateUnder("drf", c, t);
  EXPECT_EQ(framework(run, "A").tasksFinished, 2);
  EXPECT_EQ(run.tasksUnfinished, 1);
  EXPECT_LT(run.endTime, 100);
}

TEST(Simulator, ADayOfWorkRunsToCompletionInSimulatedTime) {
  // 200 jobs of hour-long tasks over a day: the run ends when the last task
  // does, nowhere near a day of waiting (the test would time out).
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "{\"submit\": " + std::to_string(i * 400) + ", \"framework\": \"f" + std::to_string(i % 3) +
            "\", \"role\": \"r\", \"tasks\": 20, \"resources\": \"cpus:2;mem:2048\", \"duration\": 3600}\n";
  }
  RunReport run =
      simulateUnder("drf", cluster(R"({"agents": [{"count": 50, "resources": "cpus:16;mem:65536"}]})"), trace(text));
  EXPECT_EQ(run.tasksUnfinished, 0);
  EXPECT_GE(run.endTime, 199 * 400 + 3600);
  EXPECT_LT(run.endTime, 199 * 400 + 3600 + 60) << "the last job waited for nothing";
  EXPECT_EQ(run.makespan, run.endTime);
}

TEST(Simulator, UnknownPolicyIsAnErrorNamingTheManifest) {
  Result<Policy> policy = loadPolicy("nosuch");
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.error().message.find("declares no module instance 'nosuch'"), std::string::npos)
      << policy.error().message;
  EXPECT_NE(policy.error().message.find("drf"), std::string::npos) << policy.error().message;
  Result<Policy> isolator = loadPolicy("posix/cpu");
  ASSERT_FALSE(isolator.ok());
  EXPECT_NE(isolator.error().message.find("not allocator"), std::string::npos) << isolator.error().message;
}

}  // namespace
}  // namespace mantle::sim
