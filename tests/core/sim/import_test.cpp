// The trace importers on tiny fixtures of the public traces' formats.
#include "sim/import.hpp"

#include <gtest/gtest.h>

namespace mantle::sim {
namespace {

std::string fixture(const std::string& name) {
  auto text = readFile(std::string(MANTLE_SOURCE_DIR) + "/tests/core/sim/fixtures/" + name);
  EXPECT_TRUE(text.ok()) << text.error().message;
  return text.ok() ? *text : "";
}

std::string importError(const std::string& format, const std::string& input) {
  ImportOptions options{format, ""};
  auto out = importTrace(input, "in", options, nullptr);
  EXPECT_FALSE(out.ok());
  return out.ok() ? "" : out.error().message;
}

TEST(Import, Google2019InstanceEventsBecomeOneJobPerCollectionAndShape) {
  ImportStats stats;
  auto out = importTrace(fixture("google2019_instance_events.jsonl"), "events.jsonl", {"google2019", ""}, &stats);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, fixture("google2019_expected.jsonl"));
  EXPECT_EQ(stats.linesRead, 13u);
  EXPECT_EQ(stats.jobsWritten, 3u);
  EXPECT_EQ(stats.skipped, 1u) << "collection 300 never ran within the trace";
  // What it writes is a trace `mantle sim` reads.
  auto trace = parseTrace(*out, "imported");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  EXPECT_EQ(trace->jobs.size(), 3u);
}

TEST(Import, Alibaba2018BatchTasksBecomeJobsOfTheirJob) {
  ImportStats stats;
  auto out = importTrace(fixture("alibaba2018_batch_task.csv"), "batch_task.csv", {"alibaba2018", ""}, &stats);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, fixture("alibaba2018_expected.jsonl"));
  EXPECT_EQ(stats.jobsWritten, 3u);
  EXPECT_EQ(stats.skipped, 2u) << "a failed task and one without instances";
  EXPECT_TRUE(parseTrace(*out, "imported").ok());
}

TEST(Import, TheScaleSetsWhatNormalisedUnitsStandFor) {
  auto out = importTrace(fixture("alibaba2018_batch_task.csv"), "batch_task.csv", {"alibaba2018", "mem:1000"}, nullptr);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_NE(out->find("\"resources\": \"cpus:2;mem:15\""), std::string::npos) << *out;
}

TEST(Import, MalformedRecordsNameTheLineAndColumn) {
  EXPECT_EQ(importError("alibaba2018", "M1,10,j_1,1,Terminated,86500,86560,100,0.39\nM1,1,j_1,1,Terminated,x,2,3,4\n"),
            "in:2: column start_time: 'x' is not a number");
  EXPECT_EQ(importError("alibaba2018", "M1,10,j_1\n"), "in:1: expected 9 columns (task_name,...,plan_mem), got 3");
  EXPECT_EQ(importError("google2019", R"({"time": 1, "type": 0, "collection_id": 1})"),
            "in:1: instance_index: missing");
  EXPECT_EQ(
      importError(
          "google2019",
          R"({"time": 1, "type": 0, "collection_id": 1, "instance_index": 0, "resource_request": {"cpus": "lots"}})"),
      "in:1: resource_request.cpus: expected a number, got a string");
  EXPECT_EQ(importError("google2019", "{\"time\": 1,\n").rfind("in:1: not valid JSON: ", 0), 0u);
  EXPECT_EQ(importError("google2019", R"({"time": -5, "type": 0, "collection_id": 1, "instance_index": 0})"),
            "in:1: time: -5 is not a whole number from 0 to 9300000000000000000");
  EXPECT_EQ(
      importError("google2019", R"({"time": 1, "type": 0, "collection_id": 1, "instance_index": 0, "priority": 1e300})")
          .rfind("in:1: priority: ", 0),
      0u);
  EXPECT_EQ(importError("alibaba2018", "M1,1.5,j_1,1,Terminated,1,2,100,1\n"),
            "in:1: column instance_num: '1.5' is not a whole number");
  EXPECT_EQ(importError("alibaba2018", "M1,1,j_1,1,Terminated,1,2,-100,1\n"),
            "in:1: column plan_cpu: must not be negative");
  EXPECT_EQ(importError("borg", ""), "--format=borg: unknown format (known: google2019, alibaba2018)");
}

}  // namespace
}  // namespace mantle::sim
