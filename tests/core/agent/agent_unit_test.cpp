// The agent's parts in-process: resources and attributes, the checkpoint
// files, the fetcher (real files, archives made by tar/zip, a real HTTP
// server), the container launcher with real processes, and the containerizer
// running the real posix isolators.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <thread>

#include "agent/agent.hpp"
#include "agent/agent_info.hpp"
#include "agent/checkpoint.hpp"
#include "agent/container_root.hpp"
#include "agent/containerizer.hpp"
#include "agent/fetcher.hpp"
#include "agent/launcher.hpp"
#include "file_server.hpp"
#include "module_host.hpp"
#include "process.hpp"
#include "run_until.hpp"
#include "temp_dir.hpp"

namespace mantle::agent {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// mantle-container-root, built beside this test (as beside mantle-agent).
std::string containerRootProgram() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "mantle-container-root").string();
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(AgentInfoTest, ResourcesFlagReplacesDetectedNames) {
  auto resources = agentResources("cpus:3;mem:100;cpus(ops):1", "/tmp");
  ASSERT_TRUE(resources.ok()) << resources.error().message;
  double cpus = 0, mem = 0, disk = 0;
  bool ports = false;
  for (const auto& resource : *resources) {
    if (resource.name() == "cpus") cpus += resource.scalar().value();
    if (resource.name() == "mem") mem += resource.scalar().value();
    if (resource.name() == "disk") disk += resource.scalar().value();
    if (resource.name() == "ports") ports = resource.ranges().range(0).end() == 32000;
  }
  EXPECT_EQ(cpus, 4);
  EXPECT_EQ(mem, 100);
  EXPECT_GT(disk, 0);  // detected
  EXPECT_TRUE(ports);
}

TEST(AgentInfoTest, ResourcesFlagTakesJson) {
  auto resources = agentResources(R"([{"name":"gpus","type":"SCALAR","scalar":{"value":2}}])", "/tmp");
  ASSERT_TRUE(resources.ok()) << resources.error().message;
  bool gpus = false;
  for (const auto& resource : *resources) gpus = gpus || (resource.name() == "gpus" && resource.scalar().value() == 2);
  EXPECT_TRUE(gpus);
  EXPECT_FALSE(agentResources("cpus:-1", "/tmp").ok());
  EXPECT_FALSE(agentResources("[{\"name\":1}]", "/tmp").ok());
}

TEST(AgentInfoTest, AttributesOfEveryType) {
  auto attributes = parseAttributes("rack:r1;level:3;range:[1-4,8-9];set:{a,b}");
  ASSERT_TRUE(attributes.ok()) << attributes.error().message;
  ASSERT_EQ(attributes->size(), 4u);
  EXPECT_EQ((*attributes)[0].type(), mesos::v1::Value::TEXT);
  EXPECT_EQ((*attributes)[1].scalar().value(), 3);
  EXPECT_EQ((*attributes)[2].ranges().range(1).begin(), 8u);
  EXPECT_EQ((*attributes)[3].set().item(1), "b");
  EXPECT_FALSE(parseAttributes("novalue").ok());
}

TEST(CheckpointTest, RecordsSurviveATornTail) {
  testing::TempDir dir;
  boost::asio::io_context io;
  checkpoint::GroupCommit commits(boost::asio::make_strand(io));
  const std::string path = (dir.path() / "a/b/task.updates").string();
  ASSERT_TRUE(commits.appendRecord(path, "first").ok());
  ASSERT_TRUE(commits.appendRecord(path, "second").ok());
  std::ofstream(path, std::ios::app) << "12\nhalf";  // a crash in mid-write
  auto records = checkpoint::readRecords(path);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(*records, (std::vector<std::string>{"first", "second"}));
  ASSERT_TRUE(checkpoint::writeFile((dir.path() / "x/latest").string(), "id-1").ok());
  EXPECT_EQ(*checkpoint::readFile((dir.path() / "x/latest").string()), "id-1");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x/latest.tmp"));
}

TEST(CheckpointTest, WritesAreInPlaceAtOnceAndTheirCallbacksRunInOrderAfterOneSharedCommit) {
  testing::TempDir dir;
  boost::asio::io_context io;
  checkpoint::GroupCommit commits(boost::asio::make_strand(io));
  std::vector<int> order;
  for (int i = 0; i < 20; ++i) {
    const std::string path = (dir.path() / ("e" + std::to_string(i)) / "tasks/t/task.info").string();
    ASSERT_TRUE(commits.writeFile(path, "task " + std::to_string(i)).ok());
    // Readable before the commit: an agent killed now finds it.
    EXPECT_EQ(*checkpoint::readFile(path), "task " + std::to_string(i));
    commits.afterCommit([&order, i](const Status& status) {
      EXPECT_TRUE(status.ok());
      order.push_back(i);
    });
  }
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(commits.commits(), 0u);
  testing::runUntil(io, std::chrono::seconds(10), [&order] { return order.size() >= 20; });
  ASSERT_EQ(order.size(), 20u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(commits.commits(), 1u);
}

TEST(CheckpointTest, AFileRemovedBeforeItsCommitCommitsWithoutError) {
  testing::TempDir dir;
  boost::asio::io_context io;
  checkpoint::GroupCommit commits(boost::asio::make_strand(io));
  const std::filesystem::path executor = dir.path() / "executors/e";
  ASSERT_TRUE(commits.writeFile((executor / "executor.info").string(), "info").ok());
  std::filesystem::remove_all(executor);  // the executor completed at once
  std::optional<Status> result;
  commits.afterCommit([&result](const Status& status) { result = status; });
  ASSERT_TRUE(testing::runUntil(io, std::chrono::seconds(10), [&result] { return result.has_value(); }));
  EXPECT_TRUE(result->ok()) << result->error().message;
}

TEST(ContainerRootPlanTest, APlanSurvivesItsEncodingAndATruncatedOneIsRefused) {
  RootPlan plan;
  plan.executable = "/bin/sh";
  plan.argvStorage = {"sh", "-c", "echo hi"};
  plan.envStorage = {"A=1", std::string(100000, 'b')};
  plan.preExecStorage = {{"sh", "-c", "true"}};
  plan.uid = 65534;
  plan.mounts.push_back({"/src", "/dst", "", "", 4096, true, {"/dst"}, false});
  plan.rlimits = {{7, 10, 20}};
  plan.capabilities = LaunchPlan::Capabilities{3, 1};
  plan.seccompFilter = {{6, 0, 0, 0x7fff0000}};
  const std::string bytes = encodeRootPlan(plan);
  RootPlan decoded;
  ASSERT_TRUE(decodeRootPlan(bytes, decoded));
  EXPECT_EQ(decoded.argvStorage, plan.argvStorage);
  EXPECT_EQ(decoded.envStorage, plan.envStorage);
  ASSERT_EQ(decoded.argv.size(), 4u);  // null-terminated, pointing into the storage
  EXPECT_STREQ(decoded.argv[2], "echo hi");
  EXPECT_EQ(decoded.argv[3], nullptr);
  ASSERT_EQ(decoded.preExec.size(), 1u);
  EXPECT_EQ(decoded.uid, 65534u);
  ASSERT_EQ(decoded.mounts.size(), 1u);
  EXPECT_EQ(decoded.mounts[0].target, "/dst");
  EXPECT_EQ(decoded.mounts[0].flags, 4096u);
  EXPECT_EQ(decoded.mounts[0].mkdirs, std::vector<std::string>{"/dst"});
  ASSERT_EQ(decoded.rlimits.size(), 1u);
  EXPECT_EQ(decoded.rlimits[0].hard, 20u);
  ASSERT_TRUE(decoded.capabilities.has_value());
  EXPECT_EQ(decoded.capabilities->bounding, 3u);
  ASSERT_EQ(decoded.seccompFilter.size(), 1u);
  EXPECT_EQ(decoded.seccompFilter[0].k, 0x7fff0000u);
  RootPlan truncated;
  EXPECT_FALSE(decodeRootPlan(std::string_view(bytes).substr(0, bytes.size() - 1), truncated));
  EXPECT_FALSE(decodeRootPlan(bytes + "x", truncated));
}

class LauncherTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (pid_t pid : roots_) {
      signalSession(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }

  LaunchPlan plan(const std::string& command) {
    LaunchPlan plan;
    plan.rootProgram = containerRootProgram();
    plan.argv = {"/bin/sh", "-c", command};
    plan.environment = {{"PATH", "/usr/bin:/bin"}, {"GREETING", "hi"}};
    plan.sandbox = dir_.path().string();
    return plan;
  }

  int waitRoot(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    roots_.erase(std::remove(roots_.begin(), roots_.end(), pid), roots_.end());
    return status;
  }

  testing::TempDir dir_;
  std::vector<pid_t> roots_;
};

TEST_F(LauncherTest, RunsInItsOwnSessionWithEnvironmentAndLogs) {
  auto launched =
      forkContainer(plan("echo $GREETING; echo oops >&2; pwd; echo sid=$(ps -o sid= -p $$ | tr -d ' '); exit 7"));
  ASSERT_TRUE(launched.ok()) << launched.error().message;
  const pid_t root = launched->pid();
  roots_.push_back(root);
  ASSERT_TRUE(launched->release().ok());
  const int status = waitRoot(root);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  const std::string out = slurp(dir_.path() / "stdout");
  EXPECT_THAT(out, HasSubstr("hi\n"));
  EXPECT_THAT(out, HasSubstr(dir_.path().string()));
  EXPECT_THAT(out, HasSubstr("sid=" + std::to_string(root)));
  EXPECT_EQ(slurp(dir_.path() / "stderr"), "oops\n");
}

TEST_F(LauncherTest, WaitsForReleaseAndExitsWithoutIt) {
  pid_t root = -1;
  {
    auto launched = forkContainer(plan("touch ran"));
    ASSERT_TRUE(launched.ok());
    root = launched->pid();
    roots_.push_back(root);
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "ran"));
  }  // never released
  const int status = waitRoot(root);
  EXPECT_EQ(WEXITSTATUS(status), 127);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "ran"));
}

TEST_F(LauncherTest, SignalSessionReachesEveryProcess) {
  auto launched = forkContainer(plan("sleep 100 & sleep 100 & sleep 100"));
  ASSERT_TRUE(launched.ok());
  const pid_t root = launched->pid();
  roots_.push_back(root);
  ASSERT_TRUE(launched->release().ok());
  ASSERT_TRUE(testing::waitUntil([&] { return sessionProcesses(root).size() >= 4; }, 30s));
  EXPECT_TRUE(processStartTime(root).has_value());
  signalSession(root, SIGKILL);
  waitRoot(root);
  EXPECT_TRUE(testing::waitUntil([&] { return sessionProcesses(root).empty(); }, 30s));
  EXPECT_FALSE(processStartTime(root).has_value());
}

// A plan whose container root program is missing is refused, naming the path
// (the agent's --launcher_dir holds none).
TEST_F(LauncherTest, AMissingContainerRootProgramIsAnErrorNamingItsPath) {
  LaunchPlan p = plan("true");
  p.rootProgram = (dir_.path() / "mantle-container-root").string();
  auto launched = forkContainer(p);
  ASSERT_FALSE(launched.ok());
  EXPECT_THAT(launched.error().message, AllOf(HasSubstr(p.rootProgram), HasSubstr("No such file or directory")));
  p.rootProgram.clear();
  auto unnamed = forkContainer(p);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_THAT(unnamed.error().message, HasSubstr("names no container root program"));
}

// The root is mantle-container-root, exec'ed beside this program, not a
// fork of the agent: it holds none of the agent's memory.
TEST_F(LauncherTest, TheRootIsTheContainerRootProgramInASessionOfItsOwn) {
  auto launched = forkContainer(plan("true"));
  ASSERT_TRUE(launched.ok()) << launched.error().message;
  const pid_t root = launched->pid();
  roots_.push_back(root);
  // The exec has happened by the time forkContainer returns.
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/" + std::to_string(root) + "/exe");
  EXPECT_EQ(exe.filename(), "mantle-container-root");
  EXPECT_EQ(::getsid(root), root);
  ASSERT_TRUE(launched->release().ok());
  const int status = waitRoot(root);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The executor's process shares the root's memory until it execs, with the
// root suspended, unless pre-exec commands run first: their output goes
// through the root's pipes, which a suspended root would not drain.
TEST_F(LauncherTest, APreExecCommandMayWriteMoreThanAPipeHoldsBeforeTheExecutorRuns) {
  LaunchPlan p = plan("echo executor ran");
  p.preExecCommands = {"head -c 300000 /dev/zero | tr '\\0' x"};
  auto launched = forkContainer(p);
  ASSERT_TRUE(launched.ok()) << launched.error().message;
  const pid_t root = launched->pid();
  roots_.push_back(root);
  ASSERT_TRUE(launched->release().ok());
  int status = 0;
  ASSERT_TRUE(testing::waitUntil([&] { return ::waitpid(root, &status, WNOHANG) == root; }, 60s))
      << "the launch stalled behind the pre-exec command's output";
  roots_.clear();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string out = slurp(dir_.path() / "stdout");
  EXPECT_EQ(out, std::string(300000, 'x') + "executor ran\n");
}

TEST_F(LauncherTest, UnknownUserIsAnError) {
  LaunchPlan p = plan("true");
  p.user = "no-such-user-mantle";
  auto launched = forkContainer(p);
  ASSERT_FALSE(launched.ok());
  EXPECT_THAT(launched.error().message, HasSubstr("no-such-user-mantle"));
}

// Whether the host's mount table has a mount at `path`.
bool hostHasMountAt(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mountPoint;
    fields >> id >> parent >> device >> root >> mountPoint;
    if (mountPoint == path) return true;
  }
  return false;
}

TEST_F(LauncherTest, ROOT_MountsAreMadeInTheContainersOwnNamespaceBeforeRelease) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts)";
  const std::string scratch = (dir_.path() / "scratch").string();
  const std::string readOnly = (dir_.path() / "ro" / "etc-hostname").string();
  LaunchPlan p = plan("grep -c ' " + scratch + " ' /proc/self/mountinfo; echo x > " + scratch +
                      "/file && echo wrote; echo y > " + readOnly + " || echo refused");
  p.mounts.push_back({"", scratch, "tmpfs", "size=1m", false, false});
  p.mounts.push_back({"/etc/hostname", readOnly, "", "", true, false});
  auto launched = forkContainer(p);
  ASSERT_TRUE(launched.ok()) << launched.error().message;
  const pid_t root = launched->pid();
  roots_.push_back(root);
  // In place before release (isolate sees them), and only in the container.
  EXPECT_FALSE(hostHasMountAt(scratch));
  ASSERT_TRUE(launched->release().ok());
  waitRoot(root);
  EXPECT_EQ(slurp(dir_.path() / "stdout"), "1\nwrote\nrefused\n");
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "scratch" / "file"));  // it was on the tmpfs
  EXPECT_FALSE(hostHasMountAt(scratch));
}

TEST_F(LauncherTest, ROOT_AMountThatFailsFailsTheLaunchNamingItsTarget) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts)";
  LaunchPlan p = plan("touch ran");
  const std::string target = (dir_.path() / "volume").string();
  p.mounts.push_back({"/no/such/source-mantle", target, "", "", false, false});
  auto launched = forkContainer(p);
  ASSERT_FALSE(launched.ok());
  EXPECT_THAT(launched.error().message, HasSubstr("mount at " + target));
  EXPECT_THAT(launched.error().message, HasSubstr("No such file or directory"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "ran"));
}

// The containerizer with the built-in posix isolators, on a real strand.
class ContainerizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"posix/cpu", "posix/mem"}) {
      Json::Value module;
      module["name"] = name;
      auto instance = testing::createModule(registry_, "mantle_posix", module, "isolator");
      ASSERT_TRUE(instance.ok()) << instance.error().message;
      isolators_.push_back(*instance);
    }
    thread_ = std::thread([this] { io_.run(); });
  }
  template <typename Fn>
  auto onStrand(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto future = task.get_future();
    boost::asio::post(strand_, [&task] { task(); });
    return future.get();
  }
  void TearDown() override {
    onStrand([this] { containerizer_.reset(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
  Strand strand_ = boost::asio::make_strand(io_);
  modules::Registry registry_;
  std::vector<std::shared_ptr<modules::Instance>> isolators_;
  std::unique_ptr<Containerizer> containerizer_;
  std::thread thread_;
  testing::TempDir dir_;
  std::promise<Termination> ended_;
};

TEST_F(ContainerizerTest, LaunchReportsUsageAndDestroyKillsTheSession) {
  // The launch runs on a launch thread; its outcome comes back on the strand.
  std::promise<Result<pid_t>> launched;
  onStrand([this, &launched] {
    containerizer_ = std::make_unique<Containerizer>(
        strand_, isolators_, [this](const std::string&, const Termination& t) { ended_.set_value(t); });
    module::v1::ContainerConfig config;
    config.set_directory(dir_.path().string());
    LaunchPlan plan;
    plan.rootProgram = containerRootProgram();
    plan.argv = {"/bin/sh", "-c", "sleep 100 & sleep 100"};
    plan.sandbox = dir_.path().string();
    containerizer_->launch(
        "c1", config, plan,
        [&launched](const Result<pid_t>& pid, const Containerizer::LaunchSteps&) { launched.set_value(pid); });
    return true;
  });
  std::future<Result<pid_t>> outcome = launched.get_future();
  ASSERT_EQ(outcome.wait_for(30s), std::future_status::ready);
  Result<pid_t> pid = outcome.get();
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  ASSERT_TRUE(testing::waitUntil([&] { return sessionProcesses(*pid).size() >= 3; }, 30s));
  auto usage = onStrand([this] { return containerizer_->usage("c1"); });
  ASSERT_TRUE(usage.has_value());
  EXPECT_GE(usage->processes(), 3u);
  EXPECT_GT(usage->mem_rss_bytes(), 0u);
  auto labels = onStrand([this] { return containerizer_->status("c1"); });
  EXPECT_EQ(labels.size(), 2u);
  onStrand([this] { containerizer_->destroy("c1", 1); });
  auto future = ended_.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  Termination termination = future.get();
  EXPECT_TRUE(termination.destroyed);
  EXPECT_TRUE(termination.statusKnown);
  EXPECT_TRUE(sessionProcesses(*pid).empty());
  EXPECT_FALSE(onStrand([this] { return containerizer_->contains("c1"); }));
}

// ---- The fetcher.

class FetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(sandbox_);
    std::filesystem::create_directories(files_ / "tree/inner");
    std::ofstream(files_ / "tree/inner/data.txt") << "archived-content";
    std::ofstream(files_ / "plain.txt") << "plain-content";
    std::ofstream(files_ / "run.sh") << "#!/bin/sh\necho ran\n";
  }

  // Runs a shell command (making archives); true when it succeeded.
  static bool shell(const std::string& command) { return std::system(command.c_str()) == 0; }

  static mesos::v1::CommandInfo::URI uri(const std::string& value) {
    mesos::v1::CommandInfo::URI out;
    out.set_value(value);
    return out;
  }

  Status fetch(const std::vector<mesos::v1::CommandInfo::URI>& uris, FetchOptions options = {}) {
    return fetchUris(uris, sandbox_.string(), options);
  }

  testing::TempDir dir_;
  std::filesystem::path files_ = dir_.path() / "files";
  std::filesystem::path sandbox_ = dir_.path() / "sandbox";
};

TEST_F(FetcherTest, LocalFilesAreCopiedRenamedAndMadeExecutable) {
  auto executable = uri((files_ / "run.sh").string());
  executable.set_executable(true);
  auto renamed = uri("file://" + (files_ / "plain.txt").string());
  renamed.set_output_file("conf/settings.txt");
  ASSERT_TRUE(fetch({executable, renamed}).ok());
  EXPECT_EQ(slurp(sandbox_ / "conf/settings.txt"), "plain-content");
  EXPECT_EQ(::access((sandbox_ / "run.sh").c_str(), X_OK), 0);
  // The source is untouched.
  EXPECT_EQ(slurp(files_ / "plain.txt"), "plain-content");
}

TEST_F(FetcherTest, ArchivesOfEveryKindAreExtractedAndOthersKeptAsTheyAre) {
  const std::string tree = "-C " + files_.string() + " tree";
  ASSERT_TRUE(shell("tar -cf " + (files_ / "a.tar").string() + " " + tree));
  ASSERT_TRUE(shell("tar -czf " + (files_ / "b.tar.gz").string() + " " + tree));
  ASSERT_TRUE(shell("tar -czf " + (files_ / "c.tgz").string() + " " + tree));
  ASSERT_TRUE(shell("tar -cjf " + (files_ / "d.tar.bz2").string() + " " + tree));
  ASSERT_TRUE(shell("tar -cJf " + (files_ / "e.tar.xz").string() + " " + tree));
  if (!shell("command -v zip >/dev/null")) GTEST_SKIP() << "zip is not installed (scripts/install-deps.sh)";
  ASSERT_TRUE(shell("cd " + files_.string() + " && zip -qr f.zip tree"));
  for (const std::string name : {"a.tar", "b.tar.gz", "c.tgz", "d.tar.bz2", "e.tar.xz", "f.zip"}) {
    SCOPED_TRACE(name);
    std::filesystem::remove_all(sandbox_);
    std::filesystem::create_directories(sandbox_);
    ASSERT_TRUE(fetch({uri((files_ / name).string())}).ok());
    EXPECT_EQ(slurp(sandbox_ / "tree/inner/data.txt"), "archived-content");
    EXPECT_TRUE(std::filesystem::exists(sandbox_ / name));  // the archive stays
  }
  // extract=false, and a file that is no archive: both left as they are.
  std::filesystem::remove_all(sandbox_);
  auto kept = uri((files_ / "b.tar.gz").string());
  kept.set_extract(false);
  ASSERT_TRUE(fetch({kept, uri((files_ / "plain.txt").string())}).ok());
  EXPECT_TRUE(std::filesystem::exists(sandbox_ / "b.tar.gz"));
  EXPECT_FALSE(std::filesystem::exists(sandbox_ / "tree"));
  EXPECT_EQ(slurp(sandbox_ / "plain.txt"), "plain-content");
}

TEST_F(FetcherTest, FailuresNameTheUriAndTheCause) {
  struct Case {
    mesos::v1::CommandInfo::URI uri;
    std::string cause;
  };
  std::ofstream(files_ / "broken.tar.gz") << "this is not gzip data";
  auto escaping = uri((files_ / "plain.txt").string());
  escaping.set_output_file("../outside.txt");
  std::vector<Case> cases = {
      {uri((files_ / "missing.txt").string()), "no such file on this agent"},
      {uri("file://relative/path"), "needs an absolute path"},
      {uri("ftp://example.com/x.tar"), "the scheme 'ftp' is not supported"},
      {uri("some/relative/path"), "neither an absolute path"},
      {uri(files_.string()), "not a regular file"},
      {uri((files_ / "broken.tar.gz").string()), "extracting it: tar exited with status"},
      {escaping, "leaves the sandbox"},
  };
  for (const auto& [bad, cause] : cases) {
    Status fetched = fetch({bad});
    ASSERT_FALSE(fetched.ok()) << bad.value();
    EXPECT_THAT(fetched.error().message, HasSubstr("Failed to fetch '" + bad.value() + "'"));
    EXPECT_THAT(fetched.error().message, HasSubstr(cause));
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "outside.txt"));
  // The first failure stops the rest.
  ASSERT_FALSE(fetch({uri((files_ / "missing.txt").string()), uri((files_ / "plain.txt").string())}).ok());
  EXPECT_FALSE(std::filesystem::exists(sandbox_ / "plain.txt"));
}

TEST_F(FetcherTest, DownloadsOverHttpFollowingRedirects) {
  ASSERT_TRUE(shell("tar -czf " + (files_ / "bundle.tgz").string() + " -C " + files_.string() + " tree"));
  testing::FileServer server(files_);
  auto renamed = uri(server.url() + "/plain.txt?version=2");
  renamed.set_output_file("downloaded.txt");
  ASSERT_TRUE(fetch({uri(server.url() + "/redirect/bundle.tgz"), renamed}).ok());
  EXPECT_EQ(slurp(sandbox_ / "tree/inner/data.txt"), "archived-content");
  EXPECT_TRUE(std::filesystem::exists(sandbox_ / "bundle.tgz"));
  EXPECT_EQ(slurp(sandbox_ / "downloaded.txt"), "plain-content");

  Status missing = fetch({uri(server.url() + "/nothing-here.tar.gz")});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message,
              HasSubstr("Failed to fetch '" + server.url() + "/nothing-here.tar.gz': the server answered HTTP 404"));
  EXPECT_FALSE(std::filesystem::exists(sandbox_ / "nothing-here.tar.gz"));
  EXPECT_FALSE(std::filesystem::exists(sandbox_ / "nothing-here.tar.gz.fetching"));
  // Nothing listens on the port.
  const std::string gone = "http://127.0.0.1:" + std::to_string(testing::freePort()) + "/x.txt";
  Status refused = fetch({uri(gone)});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("Failed to fetch '" + gone + "'"));
}

TEST_F(FetcherTest, AStalledDownloadFailsAndACancelledOneStops) {
  testing::SilentListener silent;
  const std::string url = silent.url() + "/never.tar.gz";
  FetchOptions stalling;
  stalling.stallTimeoutSeconds = 1;
  Status stalled = fetch({uri(url)}, stalling);
  ASSERT_FALSE(stalled.ok());
  EXPECT_THAT(stalled.error().message, HasSubstr("Failed to fetch '" + url + "': the download stalled"));

  FetchOptions cancellable;
  cancellable.stallTimeoutSeconds = 0;
  std::thread canceller([cancel = cancellable.cancel] {
    std::this_thread::sleep_for(200ms);
    cancel->store(true);
  });
  Status cancelled = fetch({uri(url)}, cancellable);
  canceller.join();
  ASSERT_FALSE(cancelled.ok());
  EXPECT_THAT(cancelled.error().message, HasSubstr("the download was cancelled"));
  EXPECT_FALSE(std::filesystem::exists(sandbox_ / "never.tar.gz.fetching"));
}

TEST_F(FetcherTest, ROOT_ArchivesAreExtractedAsTheTaskUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  struct passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody' on this machine";
  const uid_t uid = nobody->pw_uid;
  // The user must reach the sandbox, as under an agent's work dir.
  std::filesystem::permissions(dir_.path(), std::filesystem::perms::owner_all | std::filesystem::perms::others_exec |
                                                std::filesystem::perms::group_exec);
  ASSERT_TRUE(shell("tar -czf " + (files_ / "bundle.tgz").string() + " -C " + files_.string() + " tree"));
  FetchOptions asNobody;
  asNobody.user = "nobody";
  ASSERT_TRUE(fetch({uri((files_ / "bundle.tgz").string())}, asNobody).ok());
  struct stat extracted {};
  ASSERT_EQ(::stat((sandbox_ / "tree/inner/data.txt").c_str(), &extracted), 0);
  EXPECT_EQ(extracted.st_uid, uid);  // tar ran as nobody
  EXPECT_EQ(slurp(sandbox_ / "tree/inner/data.txt"), "archived-content");
}

mesos::v1::KillPolicy graceOf(double seconds) {
  mesos::v1::KillPolicy policy;
  policy.mutable_grace_period()->set_nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
  return policy;
}

TEST(DrainKillPolicyTest, MaxGracePeriodBoundsTheTasksOwnGracePeriod) {
  EXPECT_EQ(drainKillPolicy(graceOf(600), 1).grace_period().nanoseconds(), 1000000000);
  EXPECT_EQ(drainKillPolicy(graceOf(2), 10).grace_period().nanoseconds(), 2000000000);  // shorter: kept
  EXPECT_EQ(drainKillPolicy(graceOf(600), 0).grace_period().nanoseconds(), 0);          // kill at once
}

TEST(DrainKillPolicyTest, APolicyWithoutAGracePeriodGetsTheMaxGracePeriod) {
  mesos::v1::KillPolicy none;
  const mesos::v1::KillPolicy bounded = drainKillPolicy(none, 5);
  ASSERT_TRUE(bounded.has_grace_period());
  EXPECT_EQ(bounded.grace_period().nanoseconds(), 5000000000);
}

}  // namespace
}  // namespace mantle::agent
