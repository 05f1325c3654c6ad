// Volumes end to end, through a real mantle-master and mantle-agent and the
// v1 APIs: persistent volumes created by the operator, written by one task
// and read by the next (also across an agent restart), refused DESTROY while
// a task uses them and then removed; a shared volume in two tasks at once;
// the volume/sandbox_path and volume/host_path isolators (allowlist, read-only
// mode). Every test checks that nothing stays mounted on the host.
#include <pwd.h>
#include <sys/mount.h>
#include <unistd.h>

#include <json/reader.h>
#include <json/value.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster.hpp"
#include "docker_registry.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "module_manifest.hpp"
#include "process.hpp"
#include "scheduler/scheduler.hpp"
#include "task_expectations.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"

namespace mantle::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::mesos::v1;
using namespace std::chrono_literals;

constexpr const char* kRole = "vol";

// The mount points of this process' mount namespace (the host's) below `dir`.
std::vector<std::string> mountsBelow(const fs::path& dir) {
  std::vector<std::string> out;
  std::istringstream in(readText("/proc/self/mountinfo"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    fields >> id >> parent >> device >> root >> point;
    if (point.rfind(dir.string(), 0) == 0) out.push_back(point);
  }
  return out;
}

class VolumesE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "bind mounts in a mount namespace need root";
  }

  void startCluster(std::vector<std::string> agentFlags = {}) {
    ClusterOptions options;
    options.agentFlags = std::move(agentFlags);
    options.agentFlags.push_back("--executor_reregistration_timeout=20secs");
    auto cluster = std::make_unique<LocalCluster>(options);
    Status started = cluster->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    cluster_ = std::move(cluster);
    mountsBefore_ = mountsBelow(cluster_->agentWorkDir(0));
    std::optional<Json::Value> slaves = getJson(cluster_->masterUrl() + "/master/slaves");
    ASSERT_TRUE(slaves && (*slaves)["slaves"].size() == 1u);
    agentId_ = (*slaves)["slaves"][0]["id"].asString();
  }

  // A framework of role "vol" with the SHARED_RESOURCES capability.
  void startFramework(const std::string& user = "root", bool checkpoint = false) {
    framework_ = std::make_unique<TestFramework>(cluster_->masterUrl(), TestFramework::Options{
                                                                            .checkpoint = checkpoint,
                                                                            .sharedResources = true,
                                                                            .name = "volumes-e2e",
                                                                            .role = kRole,
                                                                            .user = user,
                                                                        });
    Status started = framework_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  // An offer holding the persistent volume `persistenceId`, taken out of the
  // pool; its volume resource in `volume`.
  std::optional<v1::Offer> takeOffer(const std::string& persistenceId, v1::Resource* volume) {
    return framework_->takeOffer([&](const v1::Offer& offer) {
      for (const v1::Resource& r : offer.resources()) {
        if (r.disk().persistence().id() != persistenceId) continue;
        *volume = r;
        return true;
      }
      return false;
    });
  }

  // The isolators of libmantle_volume with host paths below `allowed` allowed.
  std::vector<std::string> volumeIsolatorFlags(const fs::path& allowed) const {
    Json::Value hostPath;
    hostPath["allowed_paths"].append(allowed.string());
    return {"--modules=" + moduleManifest({isolatorModule("mantle_volume", "volume/sandbox_path"),
                                           isolatorModule("mantle_volume", "volume/host_path", hostPath)}),
            "--isolation=volume/sandbox_path,volume/host_path"};
  }

  // An operator call (JSON) to the master: its status and body.
  std::pair<int, std::string> operatorCall(const std::string& json) const {
    Result<http::ClientResponse> response =
        http::request("POST", cluster_->masterUrl() + "/api/v1", {{"Content-Type", "application/json"}}, json);
    if (!response.ok()) return {0, response.error().message};
    return {response->status, response->body};
  }

  // A disk resource of `mb` MB reserved for role "vol"; with `persistenceId`
  // a persistent volume at `containerPath`.
  static std::string disk(int mb, const std::string& persistenceId = "", const std::string& containerPath = "",
                          bool shared = false) {
    std::string json = R"({"name": "disk", "type": "SCALAR", "scalar": {"value": )" + std::to_string(mb) +
                       R"(}, "reservations": [{"type": "DYNAMIC", "role": "vol"}])";
    if (!persistenceId.empty()) {
      json += R"(, "disk": {"persistence": {"id": ")" + persistenceId + R"("}, "volume": {"container_path": ")" +
              containerPath + R"(", "mode": "RW"}})";
    }
    if (shared) json += R"(, "shared": {})";
    return json + "}";
  }

  // RESERVE then CREATE_VOLUMES by the operator; the volume's directory.
  fs::path createVolume(const std::string& id, const std::string& containerPath, bool shared = false) {
    auto reserved = operatorCall(R"({"type": "RESERVE_RESOURCES", "reserve_resources": {"agent_id": {"value": ")" +
                                 agentId_ + R"("}, "resources": [)" + disk(16) + "]}}");
    EXPECT_EQ(reserved.first, 202) << reserved.second;
    auto created = operatorCall(R"({"type": "CREATE_VOLUMES", "create_volumes": {"agent_id": {"value": ")" + agentId_ +
                                R"("}, "volumes": [)" + disk(16, id, containerPath, shared) + "]}}");
    EXPECT_EQ(created.first, 202) << created.second;
    return cluster_->agentWorkDir(0) / "volumes" / "roles" / kRole / id;
  }

  std::pair<int, std::string> destroyVolume(const std::string& id, const std::string& containerPath,
                                            bool shared = false) {
    return operatorCall(R"({"type": "DESTROY_VOLUMES", "destroy_volumes": {"agent_id": {"value": ")" + agentId_ +
                        R"("}, "volumes": [)" + disk(16, id, containerPath, shared) + "]}}");
  }

  // A command task on `offer` with the offer's `volume` resource (when given).
  static v1::TaskInfo task(const std::string& id, const v1::Offer& offer, const std::string& command,
                           const std::optional<v1::Resource>& volume = std::nullopt) {
    v1::TaskInfo info = scheduler::commandTask(id, offer, command, "cpus:0.1;mem:32");
    info.mutable_command()->set_shell(true);
    if (volume) *info.add_resources() = *volume;
    return info;
  }

  // Runs one command task with `container` on the next offer; its terminal update.
  std::optional<v1::TaskStatus> runTask(const std::string& id, const std::string& command,
                                        const v1::ContainerInfo& container) {
    std::optional<v1::Offer> offer = framework_->takeOffer();
    if (!offer) return std::nullopt;
    v1::TaskInfo info = task(id, *offer, command);
    *info.mutable_container() = container;
    if (!framework_->launch(*offer, {info}).ok()) return std::nullopt;
    return framework_->waitForState(id);
  }

  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << cluster_->logs(60);
    framework_.reset();
    if (cluster_) {
      const fs::path workDir = cluster_->agentWorkDir(0);
      EXPECT_EQ(mountsBelow(workDir), mountsBefore_) << "a mount below the agent's work dir is left on the host";
      EXPECT_TRUE(mountsBelow(files_.path()).empty()) << "a mount below the test's files is left on the host";
    }
    cluster_.reset();
  }

  TempDir files_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<TestFramework> framework_;
  std::string agentId_;
  std::vector<std::string> mountsBefore_;
};

v1::Volume sandboxPathVolume(const std::string& containerPath, const std::string& path,
                             v1::Volume::Source::SandboxPath::Type type, v1::Volume::Mode mode = v1::Volume::RW) {
  v1::Volume volume;
  volume.set_container_path(containerPath);
  volume.set_mode(mode);
  volume.mutable_source()->set_type(v1::Volume::Source::SANDBOX_PATH);
  volume.mutable_source()->mutable_sandbox_path()->set_type(type);
  volume.mutable_source()->mutable_sandbox_path()->set_path(path);
  return volume;
}

v1::Volume hostPathVolume(const std::string& containerPath, const std::string& path,
                          v1::Volume::Mode mode = v1::Volume::RW) {
  v1::Volume volume;
  volume.set_container_path(containerPath);
  volume.set_mode(mode);
  volume.mutable_source()->set_type(v1::Volume::Source::HOST_PATH);
  volume.mutable_source()->mutable_host_path()->set_path(path);
  return volume;
}

v1::Volume imageVolume(const std::string& containerPath, const std::string& name, v1::Image::Type type,
                       v1::Volume::Mode mode = v1::Volume::RO) {
  v1::Volume volume;
  volume.set_container_path(containerPath);
  volume.set_mode(mode);
  volume.mutable_image()->set_type(type);
  volume.mutable_image()->mutable_docker()->set_name(name);
  return volume;
}

v1::ContainerInfo mesosContainer(const std::vector<v1::Volume>& volumes) {
  v1::ContainerInfo info;
  info.set_type(v1::ContainerInfo::MESOS);
  for (const v1::Volume& volume : volumes) *info.add_volumes() = volume;
  return info;
}

TEST_F(VolumesE2ETest, ROOT_APersistentVolumeKeepsWhatOneTaskWroteForTheNextAlsoAcrossAnAgentRestart) {
  startCluster();
  startFramework();
  const fs::path dir = createVolume("data", "data");
  ASSERT_TRUE(waitUntil([&] { return fs::is_directory(dir); }, 20s)) << dir << " was not created";

  v1::Resource volume;
  std::optional<v1::Offer> offer = takeOffer("data", &volume);
  ASSERT_TRUE(offer.has_value()) << "no offer holds the volume";
  // The volume is a mount in the task's namespace at <sandbox>/data.
  ASSERT_TRUE(framework_
                  ->launch(*offer, {task("writer", *offer,
                                         "grep -q \" $MESOS_SANDBOX/data \" /proc/self/mountinfo && "
                                         "echo hello > data/greeting",
                                         volume)})
                  .ok());
  EXPECT_FINISHED(framework_->waitForState("writer"));
  EXPECT_EQ(readText(dir / "greeting"), "hello\n");

  // kill -9 of the agent, then the same agent again: the volume stays.
  ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();

  offer = takeOffer("data", &volume);
  ASSERT_TRUE(offer.has_value()) << "no offer holds the volume after the restart";
  ASSERT_TRUE(
      framework_->launch(*offer, {task("reader", *offer, "test \"$(cat data/greeting)\" = hello", volume)}).ok());
  EXPECT_FINISHED(framework_->waitForState("reader"));
}

TEST_F(VolumesE2ETest, ROOT_DestroyIsRefusedWhileATaskUsesTheVolumeAndAfterwardsRemovesItsDirectory) {
  startCluster();
  startFramework();
  const fs::path dir = createVolume("busy", "busy");
  ASSERT_TRUE(waitUntil([&] { return fs::is_directory(dir); }, 20s));
  v1::Resource volume;
  std::optional<v1::Offer> offer = takeOffer("busy", &volume);
  ASSERT_TRUE(offer.has_value());
  ASSERT_TRUE(framework_->launch(*offer, {task("user", *offer, "touch busy/mark && exec sleep 600", volume)}).ok());
  ASSERT_TRUE(framework_->waitForState("user", v1::TASK_RUNNING).has_value());

  auto refused = destroyVolume("busy", "busy");
  EXPECT_EQ(refused.first, 409) << refused.second;
  EXPECT_NE(refused.second.find("Persistent volume 'busy' is in use"), std::string::npos) << refused.second;
  EXPECT_TRUE(waitUntil([&] { return fs::exists(dir / "mark"); }, 10s));

  ASSERT_TRUE(framework_->kill("user").ok());
  std::optional<v1::TaskStatus> killed = framework_->waitForState("user");
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(killed->state(), v1::TASK_KILLED);
  // The master learns of the end through the update; DESTROY then succeeds.
  std::pair<int, std::string> destroyed;
  ASSERT_TRUE(waitUntil(
      [&] {
        destroyed = destroyVolume("busy", "busy");
        return destroyed.first == 202;
      },
      20s))
      << destroyed.first << " " << destroyed.second;
  EXPECT_TRUE(waitUntil([&] { return !fs::exists(dir); }, 20s)) << dir << " is left after DESTROY";
}

TEST_F(VolumesE2ETest, ROOT_ASharedVolumeIsMountedIntoTwoTasksAtOnce) {
  startCluster();
  startFramework();
  const fs::path dir = createVolume("common", "common", /*shared=*/true);
  ASSERT_TRUE(waitUntil([&] { return fs::is_directory(dir); }, 20s));
  v1::Resource volume;
  std::optional<v1::Offer> offer = takeOffer("common", &volume);
  ASSERT_TRUE(offer.has_value());
  EXPECT_TRUE(volume.has_shared());
  // Each task waits for the other's file: both finish only if both run with
  // the volume at the same time.
  auto meet = [](const std::string& mine, const std::string& theirs) {
    return "echo " + mine + " > common/" + mine + " && timeout 30 sh -c 'until [ -e common/" + theirs +
           " ]; do sleep 0.1; done'";
  };
  ASSERT_TRUE(framework_
                  ->launch(*offer, {task("left", *offer, meet("left", "right"), volume),
                                    task("right", *offer, meet("right", "left"), volume)})
                  .ok());
  EXPECT_FINISHED(framework_->waitForState("left"));
  EXPECT_FINISHED(framework_->waitForState("right"));
  EXPECT_TRUE(fs::exists(dir / "left") && fs::exists(dir / "right"));
}

TEST_F(VolumesE2ETest, ROOT_ANonRootTaskOwnsItsPersistentVolume) {
  passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "needs the user nobody";
  startCluster({"--switch_user"});
  // The task's user must reach its sandbox below the cluster's directories.
  for (fs::path dir = cluster_->agentWorkDir(0); dir.has_relative_path(); dir = dir.parent_path()) {
    fs::permissions(dir, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
    if (dir.filename().string().rfind("mantle-test-", 0) == 0) break;  // the cluster's temporary directory
  }
  startFramework("nobody");
  const fs::path dir = createVolume("owned", "owned");
  ASSERT_TRUE(waitUntil([&] { return fs::is_directory(dir); }, 20s));
  v1::Resource volume;
  std::optional<v1::Offer> offer = takeOffer("owned", &volume);
  ASSERT_TRUE(offer.has_value());
  ASSERT_TRUE(
      framework_->launch(*offer, {task("owner", *offer, "test \"$(id -u)\" != 0 && touch owned/mine", volume)}).ok());
  EXPECT_FINISHED(framework_->waitForState("owner"));
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody->pw_uid);
}

TEST_F(VolumesE2ETest, ROOT_SandboxPathSelfMountsASandboxDirectoryAtAnAbsolutePathAndParentIsForTaskGroups) {
  const fs::path where = files_.path() / "scratch";
  fs::create_directories(where);
  startCluster(volumeIsolatorFlags(files_.path() / "allowed"));
  startFramework();
  // SELF: <sandbox>/tmpdir at an absolute path that exists on the host; the
  // write lands in the sandbox, the host's directory stays empty.
  EXPECT_FINISHED(
      runTask("self", "echo x > " + where.string() + "/file && test -f \"$MESOS_SANDBOX/tmpdir/file\"",
              mesosContainer({sandboxPathVolume(where.string(), "tmpdir", v1::Volume::Source::SandboxPath::SELF)})));
  EXPECT_TRUE(fs::is_empty(where)) << "the SELF volume's write reached the host's directory";
  // SELF with a relative container path: refused as Mesos does.
  std::optional<v1::TaskStatus> relative =
      runTask("self-relative", "true",
              mesosContainer({sandboxPathVolume("inside", "tmpdir", v1::Volume::Source::SandboxPath::SELF)}));
  ASSERT_TRUE(relative.has_value());
  EXPECT_EQ(relative->state(), v1::TASK_FAILED);
  EXPECT_NE(relative->message().find("container_path is relative for a SANDBOX_PATH volume of type SELF"),
            std::string::npos)
      << relative->message();
  // PARENT for a command task: refused.
  std::optional<v1::TaskStatus> orphan = runTask(
      "orphan", "true", mesosContainer({sandboxPathVolume("up", "shared", v1::Volume::Source::SandboxPath::PARENT)}));
  ASSERT_TRUE(orphan.has_value());
  EXPECT_EQ(orphan->state(), v1::TASK_FAILED);
  EXPECT_NE(orphan->message().find("PARENT type only works for a task of a task group"), std::string::npos)
      << orphan->message();

  // PARENT for a task of a group: the executor's sandbox directory, here at
  // "up" below the task's working directory.
  std::optional<v1::Offer> offer = framework_->takeOffer();
  ASSERT_TRUE(offer.has_value());
  v1::ExecutorInfo executor;
  executor.set_type(v1::ExecutorInfo::DEFAULT);
  executor.mutable_executor_id()->set_value("group-executor");
  *executor.mutable_framework_id() = offer->framework_id();
  *executor.mutable_resources() = scheduler::commandTask("x", *offer, "", "cpus:0.1;mem:32").resources();
  v1::TaskInfo member = task("member", *offer, "echo hi > up/x && test -f \"$MESOS_SANDBOX/shared/x\"");
  *member.mutable_container() =
      mesosContainer({sandboxPathVolume("up", "shared", v1::Volume::Source::SandboxPath::PARENT)});
  ASSERT_TRUE(framework_->launchGroup(*offer, executor, {member}).ok());
  EXPECT_FINISHED(framework_->waitForState("member"));
}

TEST_F(VolumesE2ETest, ROOT_HostPathVolumesInsideTheAllowlistAreMountedAndOthersRefusedNamingThePath) {
  const fs::path allowed = files_.path() / "allowed";
  fs::create_directories(allowed / "data");
  fs::create_symlink("/etc", allowed / "sneaky");
  startCluster(volumeIsolatorFlags(allowed));
  startFramework();
  EXPECT_FINISHED(
      runTask("inside", "echo in > hp/written", mesosContainer({hostPathVolume("hp", (allowed / "data").string())})));
  EXPECT_EQ(readText(allowed / "data" / "written"), "in\n");

  for (const auto& [id, path] :
       {std::pair{"outside", std::string("/etc")}, std::pair{"via-link", (allowed / "sneaky").string()}}) {
    std::optional<v1::TaskStatus> refused = runTask(id, "true", mesosContainer({hostPathVolume("hp", path)}));
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->state(), v1::TASK_FAILED) << id;
    EXPECT_NE(refused->message().find("host path '" + path + "'"), std::string::npos) << refused->message();
    EXPECT_NE(refused->message().find(" is outside the allowed host paths (allowed_paths: " + allowed.string() + ")"),
              std::string::npos)
        << refused->message();
    EXPECT_NE(refused->message().find("container_path 'hp'"), std::string::npos) << refused->message();
  }
  // The legacy form: an absolute Volume.host_path without a source.
  v1::Volume legacy;
  legacy.set_container_path("legacy");
  legacy.set_host_path((allowed / "data").string());
  legacy.set_mode(v1::Volume::RW);
  EXPECT_FINISHED(runTask("legacy", "test \"$(cat legacy/written)\" = in", mesosContainer({legacy})));
}

TEST_F(VolumesE2ETest, ROOT_AReadOnlyVolumeCannotBeWrittenButIsRead) {
  const fs::path allowed = files_.path() / "allowed";
  fs::create_directories(allowed / "ro");
  std::ofstream(allowed / "ro" / "existing") << "kept";
  startCluster(volumeIsolatorFlags(allowed));
  startFramework();
  EXPECT_FINISHED(
      runTask("reader",
              "test \"$(cat ro/existing)\" = kept && ! touch ro/new 2>/dev/null && "
              "! rm ro/existing 2>/dev/null && ! touch " +
                  allowed.string() + "/ro/new 2>/dev/null",
              mesosContainer({hostPathVolume("ro", (allowed / "ro").string(), v1::Volume::RO),
                              hostPathVolume((allowed / "ro").string(), (allowed / "ro").string(), v1::Volume::RO)})));
  EXPECT_FALSE(fs::exists(allowed / "ro" / "new"));
  EXPECT_TRUE(fs::exists(allowed / "ro" / "existing"));
  // A read-only SANDBOX_PATH volume too.
  fs::create_directories(files_.path() / "scratch");
  EXPECT_FINISHED(runTask("sandbox-reader", "! touch " + (files_.path() / "scratch").string() + "/x 2>/dev/null",
                          mesosContainer({sandboxPathVolume((files_.path() / "scratch").string(), "ro",
                                                            v1::Volume::Source::SandboxPath::SELF, v1::Volume::RO)})));
}

TEST_F(VolumesE2ETest, ROOT_VolumesThisAgentCannotGiveFailTheTaskSayingWhy) {
  startCluster();
  startFramework();
  // An image volume on an agent without volume/image: refused rather than left out.
  std::optional<v1::TaskStatus> refused =
      runTask("image", "true", mesosContainer({imageVolume("/image", "busybox", v1::Image::DOCKER)}));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->state(), v1::TASK_FAILED);
  EXPECT_NE(refused->message().find("task 'image': ContainerInfo.volumes[0] (container_path '/image') needs the "
                                    "volume/image isolator"),
            std::string::npos)
      << refused->message();
  // A HOST_PATH volume on an agent without volume/host_path: refused rather than left out.
  refused = runTask("no-isolator", "true", mesosContainer({hostPathVolume("hp", files_.path().string())}));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->state(), v1::TASK_FAILED);
  EXPECT_NE(refused->message().find("task 'no-isolator': ContainerInfo.volumes[0] (container_path 'hp') needs the "
                                    "volume/host_path isolator"),
            std::string::npos)
      << refused->message();
  // A SECRET environment variable on an agent without environment_secret: refused, not dropped.
  std::optional<v1::Offer> offer = framework_->takeOffer();
  ASSERT_TRUE(offer.has_value());
  v1::TaskInfo secret = task("secret-env", *offer, "true");
  v1::Environment::Variable* variable = secret.mutable_command()->mutable_environment()->add_variables();
  variable->set_name("PASSWORD");
  variable->set_type(v1::Environment::Variable::SECRET);
  variable->mutable_secret()->set_type(v1::Secret::REFERENCE);
  variable->mutable_secret()->mutable_reference()->set_name("db");
  ASSERT_TRUE(framework_->launch(*offer, {secret}).ok());
  refused = framework_->waitForState("secret-env");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->state(), v1::TASK_FAILED);
  EXPECT_NE(refused->message().find("task 'secret-env': environment variable PASSWORD is a secret and needs the "
                                    "environment_secret isolator"),
            std::string::npos)
      << refused->message();
}

// Image volumes (volume/image): an agent running OCI images, with
// filesystem/linux and docker/runtime (which --image_providers needs) and
// volume/image; a busybox image (tests/support) as an OCI layout.
class ImageVolumesE2ETest : public VolumesE2ETest {
 protected:
  void SetUp() override {
    VolumesE2ETest::SetUp();
    if (IsSkipped()) return;
    if (!overlayAvailable()) GTEST_SKIP() << "the kernel has no overlayfs";
    if (::access("/usr/bin/umoci", X_OK) != 0 || ::access("/bin/busybox", X_OK) != 0) {
      GTEST_SKIP() << "the test image is built with umoci from busybox-static";
    }
    layout_ = files_.path() / "image";
    buildBusyboxLayout(layout_, BusyboxImage{.layers = 1});
    image_ = layout_.string() + ":latest";
  }

  static bool overlayAvailable() {
    std::istringstream in(readText("/proc/filesystems"));
    for (std::string line; std::getline(in, line);) {
      if (line.find("\toverlay") != std::string::npos) return true;
    }
    return false;
  }

  void startImageCluster(bool checkpoint = false) {
    startCluster({"--modules=" + moduleManifest({isolatorModule("mantle_filesystem", "filesystem/linux"),
                                                 isolatorModule("mantle_docker_runtime", "docker/runtime"),
                                                 isolatorModule("mantle_volume", "volume/image")}),
                  "--isolation=filesystem/linux,docker/runtime,volume/image", "--image_providers=oci"});
    if (cluster_) startFramework("root", checkpoint);
  }

  fs::path provisionerDir() const { return cluster_->agentWorkDir(0) / "provisioner" / "containers"; }

  bool provisionerEmpty() const {
    std::error_code error;
    return !fs::exists(provisionerDir(), error) || fs::is_empty(provisionerDir(), error);
  }

  // A MESOS container running in the busybox image, with `volumes`.
  v1::ContainerInfo imageContainer(const std::vector<v1::Volume>& volumes) const {
    v1::ContainerInfo info = mesosContainer(volumes);
    info.mutable_mesos()->mutable_image()->set_type(v1::Image::OCI);
    info.mutable_mesos()->mutable_image()->mutable_docker()->set_name(image_);
    return info;
  }

  fs::path layout_;
  std::string image_;
};

TEST_F(ImageVolumesE2ETest, ROOT_AnImageVolumeIsReadAtItsPathCannotBeWrittenAndGoesWithTheTask) {
  startImageCluster();
  ASSERT_NE(framework_, nullptr);
  // A task on the host's file system: the volume below its sandbox, read-only.
  std::optional<v1::TaskStatus> status =
      runTask("host-reader",
              "grep -qx 'hello from the busybox image' img/etc/hello && test -x img/bin/busybox && "
              "! touch img/etc/new 2>/dev/null && test ! -e img/etc/new && "
              "grep -q \" $MESOS_SANDBOX/img \" /proc/self/mountinfo",
              mesosContainer({imageVolume("img", image_, v1::Image::OCI)}));
  EXPECT_FINISHED(status);
  EXPECT_TRUE(waitUntil([&] { return provisionerEmpty(); }, 20s)) << "the volume's rootfs outlived its task";
  // A task in its own image: one read-only volume at an absolute path of
  // its rootfs, one read-write (its writes go to the container's own copy).
  status = runTask("image-reader",
                   "read line < /data/etc/hello && test \"$line\" = 'hello from the busybox image' && "
                   "! (echo x > /data/etc/new) 2>/dev/null && test ! -e /data/etc/new && "
                   "echo y > /scratch/etc/new && read w < /scratch/etc/new && test \"$w\" = y",
                   imageContainer({imageVolume("/data", image_, v1::Image::OCI),
                                   imageVolume("/scratch", image_, v1::Image::OCI, v1::Volume::RW)}));
  EXPECT_FINISHED(status);
  EXPECT_TRUE(waitUntil([&] { return provisionerEmpty(); }, 20s)) << "the volumes' rootfses outlived their task";
  // The write stayed in the container: the image's layers do not have it.
  for (const auto& entry : fs::recursive_directory_iterator(cluster_->agentWorkDir(0) / "store")) {
    EXPECT_NE(entry.path().filename(), "new") << entry.path();
  }
}

TEST_F(ImageVolumesE2ETest, ROOT_ImageVolumesTheAgentCannotProvisionFailOrAreRefusedNamingTheVolume) {
  startImageCluster();
  ASSERT_NE(framework_, nullptr);
  // An image that is not there: TASK_FAILED naming the volume and the image.
  const std::string missing = (files_.path() / "nowhere").string() + ":latest";
  std::optional<v1::TaskStatus> failed =
      runTask("missing", "true", mesosContainer({imageVolume("img", missing, v1::Image::OCI)}));
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->state(), v1::TASK_FAILED);
  EXPECT_EQ(failed->reason(), v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_NE(failed->message().find("Failed to provision the image volume of task 'missing': ContainerInfo.volumes[0] "
                                   "(container_path 'img'), OCI image '" +
                                   missing + "'"),
            std::string::npos)
      << failed->message();
  // A docker image on an agent that runs OCI images only: TASK_ERROR.
  std::optional<v1::TaskStatus> refused =
      runTask("docker", "true", mesosContainer({imageVolume("img", "busybox", v1::Image::DOCKER)}));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->state(), v1::TASK_ERROR);
  EXPECT_NE(refused->message().find("task 'docker': ContainerInfo.volumes[0] (container_path 'img'): docker image "
                                    "'busybox': this agent does not run docker images (--image_providers)"),
            std::string::npos)
      << refused->message();
  EXPECT_TRUE(waitUntil([&] { return provisionerEmpty(); }, 20s));
}

TEST_F(ImageVolumesE2ETest, ROOT_AfterAnAgentKill9ALiveTasksImageVolumeStaysAndWhatIsLeftOfGoneContainersGoes) {
  startImageCluster(/*checkpoint=*/true);
  ASSERT_NE(framework_, nullptr);
  std::optional<v1::Offer> offer = framework_->takeOffer();
  ASSERT_TRUE(offer.has_value());
  const fs::path stop = files_.path() / "stop";
  v1::TaskInfo info = task("survivor", *offer,
                           "while ! test -e " + stop.string() +
                               "; do sleep 0.1; done; grep -qx 'hello from the busybox image' img/etc/hello");
  *info.mutable_container() = mesosContainer({imageVolume("img", image_, v1::Image::OCI)});
  ASSERT_TRUE(framework_->launch(*offer, {info}).ok());
  ASSERT_TRUE(framework_->waitForState("survivor", v1::TASK_RUNNING).has_value());
  ASSERT_FALSE(provisionerEmpty());

  ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
  // What a container gone while the agent was down left: an image volume's
  // rootfs, still mounted.
  const fs::path stale = provisionerDir() / "gone" / "volumes" / "0" / "backends" / "overlay" / "rootfs";
  fs::create_directories(stale);
  ASSERT_EQ(::mount("tmpfs", stale.c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();
  EXPECT_TRUE(waitUntil([&] { return !fs::exists(provisionerDir() / "gone"); }, 20s))
      << "recovery left the rootfs of a container that is gone";
  EXPECT_TRUE(mountsBelow(provisionerDir() / "gone").empty());
  // The live task kept its volume: it reads it once told to stop.
  std::ofstream(stop).close();
  EXPECT_FINISHED(framework_->waitForState("survivor"));
  EXPECT_TRUE(waitUntil([&] { return provisionerEmpty(); }, 20s));
}

TEST_F(ImageVolumesE2ETest, ROOT_ATaskGroupWithAnImageOnATaskOrItsExecutorIsRefusedNamingItAndNothingRuns) {
  startImageCluster();
  ASSERT_NE(framework_, nullptr);
  // One LAUNCH_GROUP of a task that would leave a file on the host if it ran;
  // the image on the task or on the default executor.
  auto launchGroup = [&](const std::string& taskId, bool imageOnExecutor) -> std::optional<v1::TaskStatus> {
    std::optional<v1::Offer> offer = framework_->takeOffer();
    if (!offer) return std::nullopt;
    v1::ExecutorInfo executor;
    executor.set_type(v1::ExecutorInfo::DEFAULT);
    executor.mutable_executor_id()->set_value("executor-of-" + taskId);
    *executor.mutable_framework_id() = offer->framework_id();
    *executor.mutable_resources() = scheduler::commandTask("x", *offer, "", "cpus:0.1;mem:32").resources();
    v1::TaskInfo member = task(taskId, *offer, "touch " + (files_.path() / taskId).string());
    *(imageOnExecutor ? executor.mutable_container() : member.mutable_container()) = imageContainer({});
    if (!framework_->launchGroup(*offer, executor, {member}).ok()) return std::nullopt;
    return framework_->waitForState(taskId);
  };
  std::optional<v1::TaskStatus> refused = launchGroup("task-image", false);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->state(), v1::TASK_ERROR);
  EXPECT_NE(refused->message().find("task 'task-image': OCI image '" + image_ +
                                    "' on a task of a task group is not supported (nested containers"),
            std::string::npos)
      << refused->message();
  refused = launchGroup("executor-image", true);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->state(), v1::TASK_ERROR);
  EXPECT_NE(refused->message().find("an image on a task group's executor is not supported"), std::string::npos)
      << refused->message();
  EXPECT_FALSE(fs::exists(files_.path() / "task-image")) << "a group's task ran without its image";
  EXPECT_FALSE(fs::exists(files_.path() / "executor-image")) << "a group ran without its executor's image";
  EXPECT_TRUE(provisionerEmpty());
}

}  // namespace
}  // namespace mantle::testing
