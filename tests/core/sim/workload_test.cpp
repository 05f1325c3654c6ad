// Reading the cluster and trace files: every error names the file, the line
// and the field.
#include "sim/workload.hpp"

#include <gtest/gtest.h>

namespace mantle::sim {
namespace {

std::string traceError(const std::string& text) {
  auto parsed = parseTrace(text, "t.jsonl");
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? "" : parsed.error().message;
}

std::string clusterError(const std::string& text) {
  auto parsed = parseCluster(text, "c.json");
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? "" : parsed.error().message;
}

const std::string kGood =
    R"({"submit": 0, "framework": "A", "role": "r", "tasks": 1, "resources": "cpus:1", "duration": 5})";

TEST(Workload, ATraceIsReadInSubmitOrderWithItsOptionalFields) {
  auto trace = parseTrace(
      R"({"submit": 9, "framework": "B", "role": "eng/web", "tasks": 3, "resources": "cpus:0.5;mem:128", "duration": 2.5, "priority": 7, "weight": 3, "constraints": "rack:r1"})"
      "\n\n" +
          kGood + "\n",
      "t.jsonl");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_EQ(trace->jobs.size(), 2u);
  EXPECT_EQ(trace->jobs[0].framework, "A");
  const Job& b = trace->jobs[1];
  EXPECT_EQ(b.line, 1);
  EXPECT_EQ(b.role, "eng/web");
  EXPECT_EQ(b.tasks, 3);
  EXPECT_EQ(b.resources.at("cpus"), 0.5);
  EXPECT_EQ(b.resources.at("mem"), 128);
  EXPECT_EQ(b.priority, 7);
  EXPECT_EQ(b.constraints.at("rack"), "r1");
  EXPECT_EQ(trace->weights.at("eng/web"), 3);
}

TEST(Workload, AMalformedTraceLineNamesFileAndLine) {
  EXPECT_EQ(traceError(kGood + "\n{\"submit\": 1,\n").rfind("t.jsonl:2: not valid JSON: ", 0), 0u);
  EXPECT_EQ(traceError(kGood + "\n[1]\n").rfind("t.jsonl:2: (line): expected a JSON object", 0), 0u);
}

TEST(Workload, BadTraceFieldsNameTheField) {
  auto line = [](const std::string& replace, const std::string& with) {
    std::string s = kGood;
    s.replace(s.find(replace), replace.size(), with);
    return "\n" + s;
  };
  EXPECT_EQ(traceError(line("\"cpus:1\"", "\"cpus:x\"")).rfind("t.jsonl:2: resources: ", 0), 0u);
  EXPECT_EQ(traceError(line("\"cpus:1\"", "\"ports:[1-2]\"")), "t.jsonl:2: resources: 'ports' is not a scalar");
  EXPECT_EQ(traceError(line("\"cpus:1\"", "\"cpus(eng):1\"")),
            "t.jsonl:2: resources: 'cpus' is reserved; a trace asks for unreserved");
  EXPECT_EQ(traceError(line("\"tasks\": 1", "\"tasks\": 0")), "t.jsonl:2: tasks: must be from 1 to 10000000");
  EXPECT_EQ(traceError(line("\"tasks\": 1", "\"tasks\": 1.5")), "t.jsonl:2: tasks: expected an integer, got a number");
  EXPECT_EQ(traceError(line("\"duration\": 5", "\"duration\": 0")), "t.jsonl:2: duration: must be positive");
  EXPECT_EQ(traceError(line("\"submit\": 0", "\"submit\": \"soon\"")),
            "t.jsonl:2: submit: expected a number, got a string");
  EXPECT_EQ(traceError(line("\"role\": \"r\"", "\"role\": \"a//b\"")), "t.jsonl:2: role: 'a//b' is not a valid role");
  EXPECT_EQ(traceError(line("\"framework\": \"A\"", "\"framework\": \"A B\"")).rfind("t.jsonl:2: framework: ", 0), 0u);
  EXPECT_EQ(traceError(line("\"duration\": 5", "\"duration\": 5, \"colour\": 1")), "t.jsonl:2: colour: unknown field");
  EXPECT_EQ(traceError(line("\"role\": \"r\", ", "")), "t.jsonl:2: role: expected a string, got null");
  EXPECT_EQ(traceError(line("\"duration\": 5", "\"duration\": 5, \"constraints\": \"rack\"")),
            "t.jsonl:2: constraints: 'rack' is not name:value");
}

TEST(Workload, ConflictingWeightsForARoleNameBothLines) {
  std::string a = kGood, b = kGood;
  a.replace(a.find("\"duration\": 5"), 13, "\"duration\": 5, \"weight\": 2");
  b.replace(b.find("\"duration\": 5"), 13, "\"duration\": 5, \"weight\": 3");
  EXPECT_EQ(traceError(a + "\n" + b + "\n"), "t.jsonl:2: weight: role 'r' was given weight 2.000000 on line 1");
}

TEST(Workload, AClusterIsReadWithWeightsAndQuota) {
  auto cluster = parseCluster(R"({"agents": [{"count": 3, "resources": "cpus:16;mem:65536", "attributes": "rack:r1"}],
    "weights": {"eng": 2}, "quota": {"eng": {"guarantees": "cpus:4", "limits": "cpus:8;mem:1024"}}})",
                              "c.json");
  ASSERT_TRUE(cluster.ok()) << cluster.error().message;
  ASSERT_EQ(cluster->agents.size(), 1u);
  EXPECT_EQ(cluster->agents[0].count, 3);
  EXPECT_EQ(cluster->agents[0].resources.scalar("cpus"), 16);
  EXPECT_EQ(cluster->agents[0].attributes.at("rack"), "r1");
  EXPECT_EQ(cluster->weights.at("eng"), 2);
  EXPECT_EQ(cluster->quota.at("eng").limits.scalar("mem"), 1024);
}

TEST(Workload, BadClusterFieldsNameTheLineAndField) {
  EXPECT_EQ(clusterError("{\"agents\": [\n  {\"count\": 2,\n   \"resources\": \"cpus:-1\"}]}")
                .rfind("c.json:3: agents[0].resources: ", 0),
            0u);
  EXPECT_EQ(clusterError("{\"agents\": [{\"count\": 0, \"resources\": \"cpus:1\"}]}"),
            "c.json:1: agents[0].count: must be from 1 to 1000000");
  EXPECT_EQ(clusterError("{\"agents\": []}"), "c.json:1: agents: expected a non-empty array of agent groups");
  EXPECT_EQ(clusterError("{\"agents\": [{\"count\": 1, \"resources\": \"cpus:1\", \"racks\": 2}]}"),
            "c.json:1: agents[0].racks: unknown field");
  EXPECT_EQ(clusterError("{\"agents\": [{\"count\": 1, \"resources\": \"cpus:1\"}],\n\"weights\": {\"eng\": -1}}"),
            "c.json:2: weights.eng: must be positive");
  EXPECT_EQ(clusterError("{\"agents\": [{\"count\": 1, \"resources\": \"cpus:1\"}],\n\"quota\": {\"eng\": "
                         "{\"guarantees\": \"ports:[1-2]\"}}}"),
            "c.json:2: quota.eng.guarantees: 'ports' is not a scalar");
}

TEST(Workload, AJobAskingForAResourceNoAgentHasNamesItsLine) {
  auto cluster = parseCluster(R"({"agents": [{"count": 1, "resources": "cpus:4;mem:1024"}]})", "c.json");
  ASSERT_TRUE(cluster.ok());
  auto trace = parseTrace(
      kGood + "\n" +
          R"({"submit": 1, "framework": "A", "role": "r", "tasks": 1, "resources": "gpus:1", "duration": 5})",
      "t.jsonl");
  ASSERT_TRUE(trace.ok());
  Status s = checkTrace(*cluster, *trace, "t.jsonl");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "t.jsonl:2: resources: no agent has 'gpus'");
}

}  // namespace
}  // namespace mantle::sim
