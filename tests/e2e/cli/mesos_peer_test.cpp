// `mantle run` against a real Mesos master and agent (the reference build in
// ../shared/mesos-reference; skipped when absent). Mesos offers a framework
// without RESERVATION_REFINEMENT its resources in the pre-refinement format;
// before core/resources read that format every offer was declined.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include "mesos_peer.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::cli {
namespace {

using testing::binary;
using testing::ChildProcess;
using ::testing::HasSubstr;
using testing::MesosPeer;
using testing::TempDir;

class MesosPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::optional<std::string> why = MesosPeer::skipReason()) GTEST_SKIP() << *why;
    Status started = mesos_.start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  // `mantle run --master=<mesos> ARGS...`; its exit code.
  int run(std::vector<std::string> args, std::string* output) {
    args.insert(args.begin(), {binary("mantle"), "run", "--master=" + mesos_.masterAddress(), "--timeout=60secs"});
    ChildProcess cli(args, dir_.path() / ("run-" + std::to_string(++runs_) + ".log"));
    const int status = cli.wait(std::chrono::seconds(90));
    *output = cli.output();
    return status == -1 ? -1 : WEXITSTATUS(status);
  }

  MesosPeer mesos_;
  TempDir dir_;
  int runs_ = 0;
};

TEST_F(MesosPeerTest, RunLaunchesOnAMesosMasterAndMirrorsTheExitCode) {
  std::string out;
  EXPECT_EQ(run({"--", "true"}, &out), 0) << out;
  EXPECT_EQ(run({"--cpus=0.2", "--mem=40", "--", "sh", "-c", "echo from mesos; exit 7"}, &out), 7) << out;
  EXPECT_THAT(out, HasSubstr("from mesos\n"));
  EXPECT_THAT(out, HasSubstr("Command exited with status 7"));
  EXPECT_EQ(run({"--", "echo shell; exit 3"}, &out), 3) << out;
  EXPECT_THAT(out, HasSubstr("shell\n"));
}

}  // namespace
}  // namespace mantle::cli
