#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {
namespace {

TEST(ChildProcessTest, CapturesOutputAndExitStatus) {
  TempDir dir;
  ChildProcess child({"/bin/sh", "-c", "echo hello $GREETING; exit 3"}, dir.path() / "log", {{"GREETING", "you"}});
  int status = child.wait(std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(child.output(), "hello you\n");
}

TEST(ChildProcessTest, OutputTailIsTheLastLinesOrAllOfAShorterOutput) {
  TempDir dir;
  ChildProcess child({"/bin/sh", "-c", "printf 'one\\ntwo\\nthree\\n'"}, dir.path() / "log");
  ASSERT_TRUE(WIFEXITED(child.wait(std::chrono::seconds(10))));
  EXPECT_EQ(child.outputTail(2), "two\nthree\n");
  EXPECT_EQ(child.outputTail(3), "one\ntwo\nthree\n");
  EXPECT_EQ(child.outputTail(10), "one\ntwo\nthree\n");
}

// A process is gone when kill(0) fails or only its zombie is left.
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string ignored, state;
  stat >> ignored >> ignored >> state;
  return state == "Z";
}

TEST(ChildProcessTest, StopKillsTheWholeGroup) {
  TempDir dir;
  auto pidFile = dir.path() / "grandchild";
  ChildProcess child({"/bin/sh", "-c", "sleep 60 & echo $! > " + pidFile.string() + "; wait"}, dir.path() / "log");
  pid_t grandchild = 0;
  ASSERT_TRUE(waitUntil(
      [&] {
        std::ifstream in(pidFile);
        return static_cast<bool>(in >> grandchild);
      },
      std::chrono::seconds(10)));
  child.stop(std::chrono::milliseconds(500));
  EXPECT_FALSE(child.running());
  EXPECT_TRUE(waitUntil([&] { return gone(grandchild); }, std::chrono::seconds(30)));
}

// A benchmark killed by its timeout runs no destructor: children started
// after dieWithThisProcess() die with it.
TEST(ChildProcessTest, ChildrenDieWithTheProcessThatStartedThemWhenItAsks) {
  TempDir dir;
  auto pidFile = dir.path() / "child";
  const pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    ChildProcess::dieWithThisProcess();
    auto* child = new ChildProcess({"/bin/sleep", "600"}, dir.path() / "log");  // never destroyed: killed
    std::ofstream(pidFile.string() + ".tmp") << child->pid();
    std::filesystem::rename(pidFile.string() + ".tmp", pidFile);
    while (true) ::pause();
  }
  pid_t child = 0;
  const bool started = waitUntil(
      [&] {
        std::ifstream in(pidFile);
        return static_cast<bool>(in >> child);
      },
      std::chrono::seconds(30));
  ::kill(starter, SIGKILL);
  ::waitpid(starter, nullptr, 0);
  ASSERT_TRUE(started);
  const bool died = waitUntil([&] { return gone(child); }, std::chrono::seconds(30));
  if (!died) ::kill(child, SIGKILL);
  EXPECT_TRUE(died);
}

TEST(ChildProcessTest, FreePortIsBindable) {
  int port = freePort();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

}  // namespace
}  // namespace mantle::testing
