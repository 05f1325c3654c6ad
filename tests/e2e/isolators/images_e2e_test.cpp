// Tasks in container images end to end: a real mantle-master and mantle-agent
// with --image_providers, filesystem/linux and docker/runtime, images built
// by the test as OCI layouts (Debian's busybox-static, packed with umoci)
// and pulled from them or from a real registry (Debian's docker-registry,
// pushed with skopeo), tasks launched by a small v1 framework. What the task
// sees (the image's files, not the host's; its sandbox at MESOS_SANDBOX; a
// fresh /proc and a minimal /dev), the image's runtime config against the
// task's CommandInfo,
// what the agent refuses, a pull that fails (missing tag, bad credentials,
// wrong digest, connection dropped mid-layer), and an agent kill -9 during a
// pull and during a running image task.
// Every test checks that nothing it mounted is left in /proc/self/mountinfo.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json/value.h>
#include <json/writer.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include "../../isolators/support/isolator_test_support.hpp"
#include "cluster.hpp"
#include "cutting_proxy.hpp"
#include "docker_registry.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "mantle/module/v1/mesos.pb.h"
#include "module_manifest.hpp"
#include "mounts.hpp"
#include "process.hpp"
#include "task_expectations.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"

namespace mantle::testing::e2e {
namespace {

using namespace ::mantle::testing::isolators;
namespace mv1 = ::mesos::v1;
namespace mod = ::mantle::module::v1;
using namespace std::chrono_literals;

// Runs `script` with /bin/sh; true when it exits 0.
bool shell(const std::string& script) {
  return std::system(("set -e; " + script).c_str()) == 0;
}

// An OCI image layout at `layout`, tag latest: busybox with sh, cat, ls,
// id, env, pwd, sleep and test; /etc/hello; /etc/passwd with user app
// (1234:4321); no /etc/os-release. Its config: Entrypoint ["/bin/sh", "-c"],
// Cmd ["cat /etc/hello"], Env IMAGE_VAR=from-image and PATH, WorkingDir /etc.
bool buildImage(const fs::path& layout, const std::string& user = "") {
  const std::string bundle = layout.string() + ".bundle";
  const std::string image = layout.string() + ":latest";
  return shell("umoci init --layout " + layout.string() + " >/dev/null && umoci new --image " + image +
               " && umoci unpack --rootless --image " + image + " " + bundle + " >/dev/null && mkdir -p " + bundle +
               "/rootfs/bin " + bundle + "/rootfs/etc && cp /bin/busybox " + bundle +
               "/rootfs/bin/ && for t in sh cat ls id env pwd sleep test grep; do ln -s busybox " + bundle +
               "/rootfs/bin/$t; done && echo hello-from-image > " + bundle +
               "/rootfs/etc/hello && printf 'root:x:0:0::/:/bin/sh\\napp:x:1234:4321::/:/bin/sh\\n' > " + bundle +
               "/rootfs/etc/passwd && umoci repack --image " + image + " " + bundle + " && rm -rf " + bundle +
               " && umoci config --image " + image +
               " --config.entrypoint /bin/sh --config.entrypoint=-c --config.cmd 'cat /etc/hello'"
               " --config.env IMAGE_VAR=from-image --config.env PATH=/bin --config.workingdir /etc" +
               (user.empty() ? "" : " --config.user " + user));
}

// An inline --modules manifest with filesystem/linux and docker/runtime, and
// namespaces/pid with `pidNamespace`.
std::string imageModules(bool pidNamespace) {
  std::vector<ManifestModule> modules = {isolatorModule("mantle_filesystem", "filesystem/linux"),
                                         isolatorModule("mantle_docker_runtime", "docker/runtime")};
  if (pidNamespace) modules.push_back(isolatorModule("mantle_namespaces", "namespaces/pid"));
  return moduleManifest(modules);
}

// A MESOS ContainerInfo naming the OCI image at `layout`.
mv1::ContainerInfo ociContainer(const fs::path& layout) {
  mod::ContainerInfo info;
  info.set_type(2);                                    // MESOS
  info.mutable_mesos()->mutable_image()->set_type(3);  // OCI
  info.mutable_mesos()->mutable_image()->mutable_docker()->set_name(layout.string() + ":latest");
  mv1::ContainerInfo container;
  EXPECT_TRUE(container.ParseFromString(info.SerializeAsString()));
  return container;
}

// A MESOS ContainerInfo naming the docker image `name` (pulled from a
// registry).
mv1::ContainerInfo dockerContainer(const std::string& name) {
  mod::ContainerInfo info;
  info.set_type(2);                                    // MESOS
  info.mutable_mesos()->mutable_image()->set_type(2);  // DOCKER
  info.mutable_mesos()->mutable_image()->mutable_docker()->set_name(name);
  mv1::ContainerInfo container;
  EXPECT_TRUE(container.ParseFromString(info.SerializeAsString()));
  return container;
}

// The layer digests of the first image of the OCI layout at `layout`.
std::vector<std::string> layersOf(const fs::path& layout) {
  const auto blob = [&](const std::string& digest) { return layout / "blobs/sha256" / digest.substr(7); };
  SCOPED_TRACE("the OCI layout " + layout.string());
  const Json::Value index = parseJson(readText(layout / "index.json"));
  const Json::Value manifest = parseJson(readText(blob(index["manifests"][0]["digest"].asString())));
  std::vector<std::string> out;
  for (const Json::Value& layer : manifest["layers"]) out.push_back(layer["digest"].asString());
  return out;
}

// A registry that never answers: a loopback socket that listens and never
// accepts, so a pull from it hangs.
class SilentRegistry {
 public:
  SilentRegistry() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        ::listen(fd_, 16) == 0 && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~SilentRegistry() {
    if (fd_ >= 0) ::close(fd_);
  }
  SilentRegistry(const SilentRegistry&) = delete;
  SilentRegistry& operator=(const SilentRegistry&) = delete;

  int port() const { return port_; }  // 0: it could not listen
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

int portOf(const DockerRegistry& registry) {
  return std::stoi(registry.host().substr(registry.host().find(':') + 1));
}

// Whether `text` has `lines` one after the other, as whole lines (the
// executor's own lines may come before, between or after the task's).
bool hasLines(const std::string& text, const std::vector<std::string>& lines) {
  std::istringstream in(text);
  std::vector<std::string> all;
  for (std::string each; std::getline(in, each);) all.push_back(each);
  return std::search(all.begin(), all.end(), lines.begin(), lines.end()) != all.end();
}

class ImagesE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "mount namespaces, overlayfs and pivot_root need root";
    if (!overlayAvailable()) GTEST_SKIP() << "the kernel has no overlayfs";
    if (access("/usr/bin/umoci", X_OK) != 0 || access("/bin/busybox", X_OK) != 0) {
      GTEST_SKIP() << "the test images are built with umoci from busybox-static";
    }
    layout_ = files_.path() / "image";
    ASSERT_TRUE(buildImage(layout_));
  }

  void startCluster(std::vector<std::string> extra = {}, TestFramework::Options options = {}) {
    ClusterOptions clusterOptions;
    clusterOptions.agentFlags = {
        "--modules=" + imageModules(pidNamespace_),
        std::string("--isolation=filesystem/linux,docker/runtime") + (pidNamespace_ ? ",namespaces/pid" : ""),
        "--image_providers=docker,oci"};
    clusterOptions.agentFlags.insert(clusterOptions.agentFlags.end(), extra.begin(), extra.end());
    cluster_ = std::make_unique<LocalCluster>(clusterOptions);
    Status started = cluster_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    framework_ = std::make_unique<TestFramework>(cluster_->masterUrl(), options);
    Status subscribed = framework_->start();
    ASSERT_TRUE(subscribed.ok()) << subscribed.error().message;
  }

  std::optional<mv1::TaskStatus> run(const std::string& id, const mv1::CommandInfo& command,
                                     const mv1::ContainerInfo& container) {
    return runToEnd(*framework_, id, command, "cpus:0.1;mem:32", 20s, container);
  }

  std::optional<mv1::TaskStatus> runShell(const std::string& id, const std::string& script,
                                          const mv1::ContainerInfo& container) {
    mv1::CommandInfo command;
    command.set_shell(true);
    command.set_value(script);
    return run(id, command, container);
  }

  // The sandbox of the command task `taskId` (its executor's latest run).
  fs::path sandboxOf(const std::string& taskId) const {
    for (const auto& entry : fs::recursive_directory_iterator(cluster_->agentWorkDir(0) / "slaves")) {
      if (entry.path().filename() == taskId && entry.path().parent_path().filename() == "executors") {
        for (const auto& run : fs::directory_iterator(entry.path() / "runs")) {
          if (run.path().filename() != "latest") return run.path();
        }
      }
    }
    return {};
  }

  // The sandbox's stdout as it is (readFile trims the last newline): the
  // task's output between mantle-executor's lines.
  std::string stdoutOf(const std::string& taskId) const { return readText(sandboxOf(taskId) / "stdout"); }

  // Whether the task's stdout holds `lines` in a row; waits a while, since the
  // container's last output reaches the sandbox file after the terminal update.
  bool stdoutHasLines(const std::string& taskId, const std::vector<std::string>& lines) const {
    return waitUntil([&] { return hasLines(stdoutOf(taskId), lines); }, 5s);
  }

  fs::path provisionerDir() const { return cluster_->agentWorkDir(0) / "provisioner" / "containers"; }

  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << cluster_->logs(60);
    // The cluster's temporary directory (the agent's work dir's parent).
    const fs::path clusterDir = cluster_ ? cluster_->agentWorkDir(0).parent_path() : fs::path();
    framework_.reset();
    cluster_.reset();
    // Nothing the agent, its containers or the test mounted is left; what a
    // failed test left is unmounted all the same.
    for (const fs::path& dir : {clusterDir, files_.path()}) {
      if (dir.empty()) continue;
      std::vector<std::string> left = mountsUnder(dir);
      EXPECT_TRUE(left.empty()) << left.front();
      for (auto it = left.rbegin(); it != left.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    }
  }

  TempDir files_;
  fs::path layout_;
  // startCluster adds namespaces/pid.
  bool pidNamespace_ = false;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<TestFramework> framework_;
};

TEST_F(ImagesE2ETest, ROOT_AnImageTaskSeesTheImagesFilesystemAndItsOutputLandsInTheSandbox) {
  ASSERT_TRUE(fs::exists("/etc/os-release")) << "the host must have what the image lacks";
  startCluster();
  ASSERT_NE(framework_, nullptr);
  EXPECT_FINISHED(runShell("look",
                           "cat /etc/hello && test ! -e /etc/os-release && echo no-os-release && "
                           "echo sandbox=$MESOS_SANDBOX cwd=$(pwd) && echo written > $MESOS_SANDBOX/file && "
                           "test -c /dev/null && test -d /proc/self && echo var=$IMAGE_VAR && "
                           "grep -q ' / ' /proc/self/mountinfo && echo done",
                           ociContainer(layout_)));
  EXPECT_TRUE(stdoutHasLines("look", {"done"})) << stdoutOf("look");  // the last line reached the sandbox
  // One launch, one run of the executor (its sandbox).
  EXPECT_EQ(std::distance(fs::directory_iterator(sandboxOf("look").parent_path()), fs::directory_iterator()), 1);
  const std::string out = stdoutOf("look");
  EXPECT_NE(out.find("hello-from-image"), std::string::npos) << out;
  EXPECT_NE(out.find("no-os-release"), std::string::npos) << out;
  // The sandbox is at MESOS_SANDBOX; the image's WorkingDir is the cwd.
  EXPECT_NE(out.find("sandbox=/mnt/mesos/sandbox cwd=/etc"), std::string::npos) << out;
  EXPECT_NE(out.find("var=from-image"), std::string::npos) << out;
  EXPECT_NE(out.find("done"), std::string::npos) << out;
  EXPECT_EQ(readFile(sandboxOf("look") / "file"), "written");
  // The container's rootfs went with it.
  EXPECT_TRUE(waitUntil([&] { return fs::is_empty(provisionerDir()); }, 10s));
}

TEST_F(ImagesE2ETest, ROOT_WithoutACommandValueTheImagesEntrypointAndCmdRunAndTheTasksArgumentsReplaceCmd) {
  startCluster();
  ASSERT_NE(framework_, nullptr);
  mv1::CommandInfo none;
  none.set_shell(false);
  EXPECT_FINISHED(run("default", none, ociContainer(layout_)));
  EXPECT_TRUE(stdoutHasLines("default", {"hello-from-image"})) << stdoutOf("default");
  // Arguments after the Entrypoint replace Cmd; the task's environment wins
  // over the image's.
  mv1::CommandInfo arguments;
  arguments.set_shell(false);
  arguments.add_arguments("echo var=$IMAGE_VAR");
  auto* variable = arguments.mutable_environment()->add_variables();
  variable->set_name("IMAGE_VAR");
  variable->set_value("from-task");
  EXPECT_FINISHED(run("arguments", arguments, ociContainer(layout_)));
  EXPECT_TRUE(stdoutHasLines("arguments", {"var=from-task"})) << stdoutOf("arguments");
}

TEST_F(ImagesE2ETest, ROOT_TheImagesUserRunsTheTask) {
  fs::remove_all(layout_);
  ASSERT_TRUE(buildImage(layout_, "app"));
  startCluster();
  ASSERT_NE(framework_, nullptr);
  // The sandbox is the task's: it writes there as the image's user.
  EXPECT_FINISHED(runShell("user", "id -u && id -g && touch $MESOS_SANDBOX/mine", ociContainer(layout_)));
  EXPECT_TRUE(stdoutHasLines("user", {"1234"}) && stdoutHasLines("user", {"4321"})) << stdoutOf("user");
  for (const fs::path& path : {sandboxOf("user"), sandboxOf("user") / "mine"}) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_uid, 1234u) << path;
    EXPECT_EQ(st.st_gid, 4321u) << path;
  }
}

TEST_F(ImagesE2ETest, ROOT_AHealthCheckCommandOfAnImageTaskRunsInTheImageNotOnTheHost) {
  ASSERT_FALSE(fs::exists("/etc/hello")) << "the image must have what the host lacks";
  ASSERT_TRUE(fs::exists("/etc/os-release")) << "the host must have what the image lacks";
  startCluster();
  ASSERT_NE(framework_, nullptr);
  // A check every second from the start, failing without a grace period;
  // failures never kill the task (it is killed at the end).
  const auto healthCheck = [](const std::string& script) {
    mv1::HealthCheck check;
    check.set_type(mv1::HealthCheck::COMMAND);
    check.mutable_command()->set_shell(true);
    check.mutable_command()->set_value(script);
    check.set_delay_seconds(0);
    check.set_interval_seconds(1);
    check.set_grace_period_seconds(0);
    check.set_timeout_seconds(20);
    check.set_consecutive_failures(1000000);
    return check;
  };
  mv1::CommandInfo sleep;
  sleep.set_shell(true);
  sleep.set_value("sleep 1000");
  // In the image's root, at the task's working directory (its WorkingDir)
  // with the task's environment (the image's Env).
  ASSERT_TRUE(framework_
                  ->launch("image-only", sleep, "cpus:0.1;mem:32", 20s, ociContainer(layout_),
                           healthCheck("test -f /etc/hello && test ! -e /etc/os-release && test \"$(pwd)\" = /etc && "
                                       "test \"$IMAGE_VAR\" = from-image"))
                  .ok());
  ASSERT_TRUE(framework_
                  ->launch("host-only", sleep, "cpus:0.1;mem:32", 20s, ociContainer(layout_),
                           healthCheck("test -e /etc/os-release"))
                  .ok());
  EXPECT_TRUE(framework_->waitForHealth("image-only", true, 60s).has_value());
  auto unhealthy = framework_->waitForHealth("host-only", false, 60s);
  ASSERT_TRUE(unhealthy.has_value());
  EXPECT_NE(unhealthy->message().find("exited with status 1"), std::string::npos) << unhealthy->message();
  EXPECT_FALSE(framework_->waitForHealth("host-only", true, 0s).has_value());
  for (const std::string id : {"image-only", "host-only"}) {
    ASSERT_TRUE(framework_->kill(id).ok());
    auto ended = framework_->waitForState(id, std::nullopt, 60s);
    ASSERT_TRUE(ended.has_value()) << id;
    EXPECT_EQ(ended->state(), mv1::TASK_KILLED) << id;
  }
  EXPECT_TRUE(waitUntil([&] { return fs::is_empty(provisionerDir()); }, 10s));
}

TEST_F(ImagesE2ETest, ROOT_AHealthCheckCommandOfAnImageTaskRunsAsTheTasksUser) {
  fs::remove_all(layout_);
  ASSERT_TRUE(buildImage(layout_, "app"));
  startCluster();
  ASSERT_NE(framework_, nullptr);
  mv1::HealthCheck check;
  check.set_type(mv1::HealthCheck::COMMAND);
  check.mutable_command()->set_shell(true);
  check.mutable_command()->set_value("test \"$(id -u):$(id -g)\" = 1234:4321");
  check.set_delay_seconds(0);
  check.set_interval_seconds(1);
  check.set_consecutive_failures(1000000);
  mv1::CommandInfo sleep;
  sleep.set_shell(true);
  sleep.set_value("sleep 1000");
  ASSERT_TRUE(framework_->launch("as-app", sleep, "cpus:0.1;mem:32", 20s, ociContainer(layout_), check).ok());
  EXPECT_TRUE(framework_->waitForHealth("as-app", true, 60s).has_value());
  ASSERT_TRUE(framework_->kill("as-app").ok());
  auto ended = framework_->waitForState("as-app", std::nullopt, 60s);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->state(), mv1::TASK_KILLED);
}

TEST_F(ImagesE2ETest, ROOT_WithAPidNamespaceAnImageTasksProcShowsOnlyTheContainersProcesses) {
  pidNamespace_ = true;
  startCluster();
  ASSERT_NE(framework_, nullptr);
  // Its pid 1 is the container's first process (mantle-executor), and its
  // /proc lists a handful of processes, not the host's.
  EXPECT_FINISHED(runShell("pids",
                           "grep -q mantle-executor /proc/1/cmdline && echo init-is-the-executor; "
                           "echo processes=$(ls /proc | grep -c '^[0-9][0-9]*$'); echo done",
                           ociContainer(layout_)));
  ASSERT_TRUE(stdoutHasLines("pids", {"done"})) << stdoutOf("pids");
  const std::string out = stdoutOf("pids");
  EXPECT_NE(out.find("init-is-the-executor"), std::string::npos) << out;
  const std::size_t at = out.find("processes=");
  ASSERT_NE(at, std::string::npos) << out;
  const int processes = std::stoi(out.substr(at + std::strlen("processes=")));
  EXPECT_GT(processes, 0) << out;
  EXPECT_LT(processes, 10) << out;
}

TEST_F(ImagesE2ETest, ROOT_AMissingImageFailsTheTaskNamingTheImage) {
  startCluster();
  ASSERT_NE(framework_, nullptr);
  std::optional<mv1::TaskStatus> status = runShell("missing", "true", ociContainer(files_.path() / "nowhere"));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state(), mv1::TASK_FAILED);
  EXPECT_EQ(status->reason(), mv1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(status->message().find((files_.path() / "nowhere").string()), std::string::npos) << status->message();
}

TEST_F(ImagesE2ETest, ROOT_WhatTheAgentCannotHonourIsRefusedSayingWhat) {
  startCluster();
  ASSERT_NE(framework_, nullptr);
  auto refused = [&](const std::string& id, const mod::ContainerInfo& info, const std::string& says) {
    mv1::ContainerInfo container;
    ASSERT_TRUE(container.ParseFromString(info.SerializeAsString()));
    std::optional<mv1::TaskStatus> status = runShell(id, "true", container);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->state(), mv1::TASK_ERROR) << id;
    EXPECT_NE(status->message().find(says), std::string::npos) << status->message();
  };
  mod::ContainerInfo appc;
  appc.set_type(2);
  appc.mutable_mesos()->mutable_image()->set_type(1);
  refused("appc", appc, "APPC images are not supported");
  mod::ContainerInfo privileged;
  privileged.set_type(1);
  privileged.mutable_docker()->set_image("busybox");
  privileged.mutable_docker()->set_privileged(true);
  refused("privileged", privileged, "docker.privileged is not allowed");
  mod::ContainerInfo parameter;
  parameter.set_type(1);
  parameter.mutable_docker()->set_image("busybox");
  auto* p = parameter.mutable_docker()->add_parameters();
  p->set_key("cap-add");
  p->set_value("ALL");
  refused("parameter", parameter, "docker.parameters 'cap-add' is not supported");
  mod::ContainerInfo bridge;
  bridge.set_type(1);
  bridge.mutable_docker()->set_image("busybox");
  bridge.mutable_docker()->set_network(2);
  refused("bridge", bridge, "docker.network BRIDGE is not supported");
}

TEST_F(ImagesE2ETest, ROOT_AKillWhileTheImageIsBeingProvisionedKillsTheTask) {
  // The pull hangs until the task is killed.
  SilentRegistry silent;
  ASSERT_NE(silent.port(), 0);
  startCluster({"--docker_registry=" + silent.url()});
  ASSERT_NE(framework_, nullptr);
  mod::ContainerInfo info;
  info.set_type(1);
  info.mutable_docker()->set_image("hangs");
  mv1::ContainerInfo container;
  ASSERT_TRUE(container.ParseFromString(info.SerializeAsString()));
  mv1::CommandInfo command;
  command.set_value("true");
  ASSERT_TRUE(framework_->launch("hanging", command, "cpus:0.1;mem:32", 20s, container).ok());
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(framework_->kill("hanging").ok());
  std::optional<mv1::TaskStatus> status = framework_->waitForState("hanging", std::nullopt, 20s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state(), mv1::TASK_KILLED) << status->message();
}

TEST_F(ImagesE2ETest, ROOT_AfterAnAgentKill9ARunningImageTaskKeepsItsRootfsWhichGoesWhenItEnds) {
  startCluster({}, TestFramework::Options{/*checkpoint=*/true});
  ASSERT_NE(framework_, nullptr);
  const fs::path stop = files_.path() / "stop";
  mv1::CommandInfo command;
  command.set_shell(true);
  command.set_value("echo up; while ! test -e $MESOS_SANDBOX/stop; do sleep 0.1; done; cat /etc/hello");
  ASSERT_TRUE(framework_->launch("survivor", command, "cpus:0.1;mem:32", 20s, ociContainer(layout_)).ok());
  ASSERT_TRUE(framework_->waitForState("survivor", mv1::TASK_RUNNING, 30s).has_value());
  ASSERT_TRUE(waitUntil([&] { return hasLines(stdoutOf("survivor"), {"up"}); }, 10s))
      << sandboxOf("survivor") << ": " << stdoutOf("survivor");
  ASSERT_EQ(std::distance(fs::directory_iterator(provisionerDir()), fs::directory_iterator()), 1);
  // GET_CONTAINERS shows the image, its rootfs and the mounts made for it.
  Result<http::ClientResponse> containers = http::request(
      "POST", cluster_->agentUrl(0) + "/api/v1", {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
      R"({"type":"GET_CONTAINERS"})", http::ClientOptions{5, 1});
  ASSERT_TRUE(containers.ok() && containers->status == 200);
  const Json::Value answer = parseJson(containers->body);
  const Json::Value& container = answer["get_containers"]["containers"][0];
  EXPECT_EQ(container["image"]["type"].asString(), "OCI") << containers->body;
  EXPECT_EQ(container["image"]["name"].asString(), layout_.string() + ":latest");
  EXPECT_EQ(container["image"]["id"].asString().rfind("sha256:", 0), 0u) << containers->body;
  const std::string rootfs = container["image"]["rootfs"].asString();
  EXPECT_TRUE(fs::is_directory(rootfs + "/etc")) << rootfs;
  std::set<std::string> targets;
  for (const Json::Value& mount : container["mounts"]) targets.insert(mount["target"].asString());
  EXPECT_TRUE(targets.count(rootfs + "/mnt/mesos/sandbox") && targets.count(rootfs + "/proc")) << containers->body;

  ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();
  // Recovery kept the live container's rootfs.
  EXPECT_EQ(std::distance(fs::directory_iterator(provisionerDir()), fs::directory_iterator()), 1);
  std::ofstream(sandboxOf("survivor") / "stop").close();
  std::optional<mv1::TaskStatus> status = framework_->waitForState("survivor", std::nullopt, 30s);
  EXPECT_FINISHED(status);
  EXPECT_TRUE(stdoutHasLines("survivor", {"hello-from-image"})) << stdoutOf("survivor");
  EXPECT_TRUE(waitUntil([&] { return fs::is_empty(provisionerDir()); }, 10s));
}

TEST_F(ImagesE2ETest, ROOT_AnImageTheAgentPullsFromARegistryRunsWithItsFilesAndItsOutputInTheSandbox) {
  DockerRegistry registry;
  skopeoCopy("oci:" + layout_.string() + ":latest", "docker://" + registry.host() + "/library/busybox:latest",
             {"--format", "v2s2"});
  // The agent's default registry, through a proxy that counts what it asks for.
  CuttingProxy proxy(portOf(registry));
  startCluster({"--docker_registry=http://" + proxy.host()});
  ASSERT_NE(framework_, nullptr);
  EXPECT_FINISHED(runShell("pulled",
                           "cat /etc/hello && test ! -e /etc/os-release && echo written > $MESOS_SANDBOX/file && "
                           "echo var=$IMAGE_VAR",
                           dockerContainer("busybox")));
  EXPECT_TRUE(stdoutHasLines("pulled", {"var=from-image"})) << stdoutOf("pulled");
  EXPECT_TRUE(stdoutHasLines("pulled", {"hello-from-image"})) << stdoutOf("pulled");
  EXPECT_EQ(readFile(sandboxOf("pulled") / "file"), "written");
  EXPECT_GE(proxy.manifestGets(), 1);
  for (const std::string& layer : layersOf(layout_)) EXPECT_EQ(proxy.blobGets(layer), 1) << layer;
  EXPECT_TRUE(waitUntil([&] { return fs::is_empty(provisionerDir()); }, 10s));
}

TEST_F(ImagesE2ETest, ROOT_APullThatFailsFailsTheTaskNamingTheImageAndTheCause) {
  DockerRegistry open;
  DockerRegistry locked(RegistryAuth{.kind = RegistryAuth::Kind::kBasic});
  const auto push = [](const fs::path& layout, const DockerRegistry& registry, const std::string& name) {
    std::vector<std::string> extra{"--format", "v2s2"};
    if (!registry.credentials().empty()) extra.insert(extra.begin(), {"--dest-creds", registry.credentials()});
    skopeoCopy("oci:" + layout.string() + ":latest", "docker://" + registry.host() + "/" + name + ":latest", extra);
  };
  push(layout_, open, "good");
  push(layout_, locked, "good");
  // Images of their own (random payloads: no layer shared with another).
  const fs::path tampered = files_.path() / "tampered";
  const fs::path cut = files_.path() / "cut";
  buildBusyboxLayout(tampered, BusyboxImage{.layers = 1, .payloadBytesPerLayer = 4096});
  buildBusyboxLayout(cut, BusyboxImage{.layers = 1, .payloadBytesPerLayer = 1 << 20});
  push(tampered, open, "tampered");
  push(cut, open, "cut");
  // A wrong digest: one byte of the stored layer changed.
  const fs::path blob = open.blobFile(layersOf(tampered).front());
  std::string content = readFile(blob);
  ASSERT_FALSE(content.empty()) << blob;
  content[content.size() / 2] ^= 0x5a;
  std::ofstream(blob, std::ios::binary | std::ios::trunc) << content;
  // The connection dropped mid-layer, on every try.
  CuttingProxy proxy(portOf(open));
  proxy.cut(layersOf(cut).front(), 100 << 10, 1000);
  // Credentials the locked registry refuses.
  const fs::path config = files_.path() / "docker-config.json";
  std::ofstream(config) << R"({"auths": {"http://)" + locked.host() + R"(": {"auth": ")" + base64("mantle:wrong") +
                               R"("}}})";
  startCluster({"--docker_config=" + config.string()});
  ASSERT_NE(framework_, nullptr);
  int n = 0;
  for (const auto& [name, cause] :
       std::vector<std::pair<std::string, std::string>>{{proxy.host() + "/good:missing", "MANIFEST_UNKNOWN"},
                                                        {locked.host() + "/good", "refused the credentials"},
                                                        {proxy.host() + "/tampered", "digest mismatch"},
                                                        {proxy.host() + "/cut", "download failed after"}}) {
    std::optional<mv1::TaskStatus> status = runShell("failing-" + std::to_string(++n), "true", dockerContainer(name));
    ASSERT_TRUE(status.has_value()) << name;
    EXPECT_EQ(status->state(), mv1::TASK_FAILED) << name;
    EXPECT_EQ(status->reason(), mv1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED) << name;
    EXPECT_NE(status->message().find("docker image '" + name), std::string::npos) << status->message();
    EXPECT_NE(status->message().find(cause), std::string::npos) << status->message();
  }
  // No rootfs was made for any of them.
  EXPECT_TRUE(!fs::exists(provisionerDir()) || fs::is_empty(provisionerDir()));
}

TEST_F(ImagesE2ETest, ROOT_AnAgentKilledWhileItPullsAnImageEndsTheTaskAfterItsRestartLeavingNothing) {
  // The pull hangs until the agent dies.
  SilentRegistry silent;
  ASSERT_NE(silent.port(), 0);
  startCluster({"--docker_registry=" + silent.url()}, TestFramework::Options{/*checkpoint=*/true});
  ASSERT_NE(framework_, nullptr);
  mv1::CommandInfo command;
  command.set_value("true");
  ASSERT_TRUE(framework_->launch("pulling", command, "cpus:0.1;mem:32", 20s, dockerContainer("hangs")).ok());
  ASSERT_TRUE(
      waitUntil([&] { return cluster_->logs(200).find("Provisioning docker image") != std::string::npos; }, 30s));
  ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
  std::optional<mv1::TaskStatus> status = framework_->waitForState("pulling", std::nullopt, 60s);
  ASSERT_TRUE(status.has_value()) << cluster_->logs(200);
  // Its container never started: recovery ends the task, as for any executor
  // gone while the agent was down; no rootfs and no half-pulled blob is left.
  EXPECT_EQ(status->state(), mv1::TASK_FAILED) << status->message();
  EXPECT_EQ(status->reason(), mv1::TaskStatus::REASON_EXECUTOR_TERMINATED) << status->message();
  EXPECT_TRUE(!fs::exists(provisionerDir()) || fs::is_empty(provisionerDir()));
  const fs::path staging = cluster_->agentWorkDir(0) / "store/docker/staging";
  EXPECT_TRUE(!fs::exists(staging) || fs::is_empty(staging));
}

}  // namespace
}  // namespace mantle::testing::e2e
