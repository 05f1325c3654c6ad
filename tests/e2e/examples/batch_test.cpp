// examples/frameworks/batch: a dependency chain runs in order, a failing job
// is retried, a job that keeps failing skips its dependents.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include <json/reader.h>
#include <json/value.h>

#include "cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::examples {
namespace {

using ::testing::HasSubstr;
using testing::binary;
using testing::ChildProcess;
using testing::TempDir;

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.start().ok()) << cluster_.logs(); }

  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }

  // Runs the framework on `jobs` (JSON); returns its exit code.
  int runBatch(const std::string& jobs, std::string* output) {
    {
      std::ofstream out(path("jobs.json"), std::ios::trunc);
      out << jobs;
    }
    ChildProcess batch({binary("mantle-example-batch"), "--master=" + cluster_.masterAddress(),
                        "--jobs=" + path("jobs.json"), "--report=" + path("report.json"), "--timeout=60secs"},
                       dir_.path() / ("batch-" + std::to_string(++runs_) + ".log"));
    const int status = batch.wait(std::chrono::seconds(90));
    *output = batch.output();
    return status == -1 ? -1 : WEXITSTATUS(status);
  }

  Json::Value report() {
    std::ifstream in(path("report.json"));
    Json::Value root;
    EXPECT_TRUE(Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr));
    return root;
  }

  std::string read(const std::string& name) {
    std::ifstream in(path(name));
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  testing::LocalCluster cluster_;
  TempDir dir_;
  int runs_ = 0;
};

TEST_F(BatchTest, RunsADependencyChainInOrderAndRetriesAFailingJob) {
  const std::string log = path("order");
  const std::string marker = path("flaky-failed-once");
  // load waits for transform, which waits for extract and the flaky job;
  // the flaky one fails on its first attempt. Each job sleeps a little so
  // that an early start would show in the order.
  const std::string jobs = R"({"jobs": [
    {"name": "load", "command": "echo load >> )" + log + R"(", "depends_on": ["transform"]},
    {"name": "transform", "command": "sleep 0.5; echo transform >> )" + log + R"(",
     "depends_on": ["extract", "flaky"]},
    {"name": "extract", "command": "sleep 1; echo extract >> )" + log + R"("},
    {"name": "flaky", "retries": 2,
     "command": "if [ -f )" + marker + R"( ]; then echo flaky >> )" + log + R"(; else touch )" + marker +
                           R"(; exit 3; fi"}
  ]})";
  std::string out;
  ASSERT_EQ(runBatch(jobs, &out), 0) << out;
  const std::string order = read("order");
  // extract and flaky run side by side; transform and load after both.
  EXPECT_TRUE(order == "extract\nflaky\ntransform\nload\n" || order == "flaky\nextract\ntransform\nload\n") << order;
  Json::Value r = report();
  EXPECT_EQ(r["flaky"]["attempts"].asInt(), 2);
  EXPECT_EQ(r["flaky"]["state"].asString(), "finished");
  for (const char* job : {"extract", "transform", "load"}) {
    EXPECT_EQ(r[job]["attempts"].asInt(), 1) << job;
    EXPECT_EQ(r[job]["state"].asString(), "finished") << job;
  }
  EXPECT_THAT(out, HasSubstr("batch: flaky attempt 1 TASK_FAILED"));
}

TEST_F(BatchTest, AJobOutOfRetriesSkipsItsDependents) {
  const std::string jobs = R"({"jobs": [
    {"name": "broken", "command": "exit 1", "retries": 1},
    {"name": "after", "command": "touch )" + path("after-ran") + R"(", "depends_on": ["broken"]},
    {"name": "independent", "command": "true"}
  ]})";
  std::string out;
  EXPECT_EQ(runBatch(jobs, &out), 1) << out;
  Json::Value r = report();
  EXPECT_EQ(r["broken"]["state"].asString(), "failed");
  EXPECT_EQ(r["broken"]["attempts"].asInt(), 2);
  EXPECT_EQ(r["after"]["state"].asString(), "skipped");
  EXPECT_EQ(r["independent"]["state"].asString(), "finished");
  EXPECT_FALSE(std::filesystem::exists(path("after-ran")));
}

TEST_F(BatchTest, RefusesACycle) {
  std::string out;
  EXPECT_EQ(runBatch(R"({"jobs": [{"name": "a", "command": "true", "depends_on": ["b"]},
                                  {"name": "b", "command": "true", "depends_on": ["a"]}]})",
                     &out),
            2);
  EXPECT_THAT(out, HasSubstr("depends on itself"));
}

}  // namespace
}  // namespace mantle::examples
