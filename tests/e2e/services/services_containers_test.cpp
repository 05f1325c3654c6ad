// mantle-services apps with a Marathon `container` on a real master and
// agent (root): an app in a Docker image pulled from a registry on loopback
// (Debian's docker-registry, the image built from busybox-static) with a
// host volume, run by filesystem/linux, docker/runtime and volume/host_path;
// an app on the container/bridge network (network/cni with Debian's
// plugins) reached through its mapped host port and at its own address;
// an app whose secrets the agent resolves (secrets/directory) into its
// environment and a file.
// Each test removes its app and checks that nothing is left mounted or
// attached; what a failed test leaves is removed all the same.
#include <sys/mount.h>
#include <unistd.h>

#include "cni_network.hpp"
#include "docker_registry.hpp"
#include "mounts.hpp"
#include "services_fixture.hpp"

namespace mantle::services {
namespace {

using namespace testing_support;
using namespace std::chrono_literals;
using testing::mountsUnder;
using testing::overlayAvailable;
using testing::readText;
using testing::waitUntil;
namespace fs = std::filesystem;

class ServicesContainersTest : public ServicesTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "containers (mount namespaces, overlayfs, CNI) need root";
  }

  // The app's tasks in TASK_RUNNING.
  static std::vector<Json::Value> runningTasks(const ServicesProcess& services, const std::string& id) {
    std::vector<Json::Value> out;
    const Answer answer = services.call("GET", "/v2/apps" + id + "/tasks");
    for (const Json::Value& task : answer.json["tasks"]) {
      if (task["state"].asString() == "TASK_RUNNING") out.push_back(task);
    }
    return out;
  }

  // The id of the app's one running task (not `other`) once it has written
  // dir/<its id>; empty when none has within 90 s.
  static std::string taskThatWrote(const ServicesProcess& services, const std::string& id, const fs::path& dir,
                                   const std::string& other = "") {
    std::string found;
    const bool wrote = waitUntil(
        [&] {
          std::vector<Json::Value> tasks = runningTasks(services, id);
          found = tasks.size() == 1 ? tasks[0]["id"].asString() : "";
          return !found.empty() && found != other && fs::exists(dir / found);
        },
        90s);
    return wrote ? found : "";
  }

  // Removes the apps and waits until their tasks and what the agent
  // mounted for them are gone.
  void removeApps(const ServicesProcess& services, const std::vector<std::string>& ids) {
    for (const std::string& id : ids) ASSERT_EQ(services.call("DELETE", "/v2/apps" + id + "?force=true").status, 200);
    EXPECT_TRUE(waitUntil([&] { return services.call("GET", "/v2/tasks").json["tasks"].empty(); }, 60s)) << logs();
    // The agent destroys the containers after their last update: their
    // mounts (root filesystems, secret tmpfs) go then.
    EXPECT_TRUE(waitUntil([&] { return mountsUnder(cluster_->agentWorkDir(0)).empty(); }, 30s))
        << "left mounted: " << mountsUnder(cluster_->agentWorkDir(0)).front();
  }

  // The stdout and stderr of every sandbox of the agent.
  std::string sandboxOutput() const {
    std::string out;
    std::error_code error;
    if (!cluster_) return out;
    for (fs::recursive_directory_iterator it(cluster_->agentWorkDir(0) / "slaves", error), end; !error && it != end;
         it.increment(error)) {
      const std::string name = it->path().filename().string();
      if (name == "stdout" || name == "stderr") out += "--- " + it->path().string() + ":\n" + readText(it->path());
    }
    return out;
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << logs() << sandboxOutput();
    const fs::path clusterDir = cluster_ ? cluster_->agentWorkDir(0).parent_path() : fs::path();
    services_.clear();
    cluster_.reset();
    network_.reset();  // removes whatever the network has left
    for (const fs::path& dir : {clusterDir, dir_.path()}) {
      if (dir.empty()) continue;
      std::vector<std::string> left = mountsUnder(dir);
      EXPECT_TRUE(left.empty()) << "left mounted: " << left.front();
      for (auto it = left.rbegin(); it != left.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    }
  }

  std::unique_ptr<testing::CniTestNetwork> network_;
};

TEST_F(ServicesContainersTest, ROOT_AnAppRunsInADockerImageFromARegistryAndSeesItsHostVolume) {
  if (!overlayAvailable()) GTEST_SKIP() << "the kernel has no overlayfs";
  for (const char* tool : {"/usr/bin/umoci", "/bin/busybox", "/usr/bin/skopeo", "/usr/bin/docker-registry"}) {
    if (::access(tool, X_OK) != 0) GTEST_SKIP() << tool << " is not installed";
  }
  ASSERT_TRUE(fs::exists("/etc/os-release")) << "the host must have what the image lacks";
  testing::DockerRegistry registry;
  const fs::path layout = dir_.path() / "layout";
  testing::buildBusyboxLayout(layout, testing::BusyboxImage{.layers = 1});
  testing::skopeoCopy("oci:" + layout.string() + ":latest", "docker://" + registry.host() + "/busybox:latest",
                      {"--format", "v2s2"});
  const fs::path shared = dir_.path() / "shared";
  fs::create_directories(shared);
  testing::ClusterOptions options;
  options.agentFlags = {
      R"(--modules={"libraries": [{"name": "mantle_filesystem", "modules": [{"name": "filesystem/linux", "kind": "isolator"}]},
          {"name": "mantle_docker_runtime", "modules": [{"name": "docker/runtime", "kind": "isolator"}]},
          {"name": "mantle_volume", "modules": [{"name": "volume/host_path", "kind": "isolator",
            "config": {"allowed_paths": [")" +
          shared.string() + R"("]}}]}]})",
      "--isolation=filesystem/linux,docker/runtime,volume/host_path", "--image_providers=docker"};
  ASSERT_NO_FATAL_FAILURE(startCluster(options));
  ServicesProcess& services = startServices(cluster_->masterAddress());

  // In the image: its /etc/hello and its Env, not the host's /etc/os-release;
  // the host directory at /shared.
  Json::Value app;
  app["id"] = "/img";
  app["cmd"] =
      "read line < /etc/hello && test ! -e /etc/os-release && echo \"$line $IMAGE_VAR\" > /shared/$MESOS_TASK_ID && "
      "exec /bin/busybox sleep 600";
  app["cpus"] = 0.1;
  app["mem"] = 32;
  app["container"]["type"] = "MESOS";
  app["container"]["docker"]["image"] = registry.host() + "/busybox:latest";
  Json::Value volume;
  volume["containerPath"] = "/shared";
  volume["hostPath"] = shared.string();
  volume["mode"] = "RW";
  app["container"]["volumes"].append(volume);
  Answer created = services.call("POST", "/v2/apps", text(app));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string first = taskThatWrote(services, "/img", shared);
  ASSERT_FALSE(first.empty()) << services.call("GET", "/v2/apps/img").body;
  EXPECT_EQ(readText(shared / first), "hello from the busybox image from-image\n");
  EXPECT_EQ(services.call("GET", "/v2/apps/img").json["app"]["container"], created.json["container"]);

  // A restart replaces the task with one in the same image and volume.
  ASSERT_EQ(services.call("POST", "/v2/apps/img/restart?force=true").status, 200);
  const std::string second = taskThatWrote(services, "/img", shared, first);
  ASSERT_FALSE(second.empty()) << logs();
  EXPECT_EQ(readText(shared / second), "hello from the busybox image from-image\n");

  // Marathon's type DOCKER (ContainerInfo.type DOCKER, which the agent runs
  // on the same runtime) with args: the image's entrypoint (/bin/sh -c)
  // runs them.
  Json::Value docker = app;
  docker["id"] = "/docker";
  docker.removeMember("cmd");
  docker["args"].append(
      "read line < /etc/hello && echo \"docker $line\" > /shared/$MESOS_TASK_ID && exec /bin/busybox sleep 600");
  docker["container"]["type"] = "DOCKER";
  ASSERT_EQ(services.call("POST", "/v2/apps", text(docker)).status, 201);
  const std::string third = taskThatWrote(services, "/docker", shared);
  ASSERT_FALSE(third.empty()) << logs();
  EXPECT_EQ(readText(shared / third), "docker hello from the busybox image\n");

  removeApps(services, {"/docker", "/img"});
  const fs::path provisioner = cluster_->agentWorkDir(0) / "provisioner" / "containers";
  EXPECT_TRUE(waitUntil([&] { return !fs::exists(provisioner) || fs::is_empty(provisioner); }, 30s))
      << "the tasks' root filesystems outlived them";
}

TEST_F(ServicesContainersTest, ROOT_AnAppOnTheBridgeIsReachedThroughItsMappedPortAndAtItsOwnAddress) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "the task serves HTTP with python3";
  Result<std::unique_ptr<testing::CniTestNetwork>> network = testing::CniTestNetwork::create(dir_.path() / "cni");
  if (!network.ok()) GTEST_SKIP() << network.error().message;
  network_ = std::move(*network);
  network_->writeNetwork("10-bridge.conflist", "test-bridge", /*portmap=*/true);
  testing::ClusterOptions options;
  // The executor runs in the task's network namespace: it reaches the agent
  // at the bridge's address.
  options.agentFlags = {"--ip=0.0.0.0", "--advertise_ip=" + network_->prefix() + "1",
                        "--modules=" + network_->manifest(), "--isolation=network/cni"};
  ASSERT_NO_FATAL_FAILURE(startCluster(options));
  ServicesProcess& services =
      startServices(cluster_->masterAddress(),
                    {"--work_dir=" + (dir_.path() / "services").string(), "--mesos_bridge_name=test-bridge"});

  // The task listens on its container port; the health check reaches it
  // there, the host through the mapped host port.
  Json::Value app = webApp("/bridged", 1);
  app["cmd"] = "echo bridged > whoami && exec " + std::string(kPython) + " -m http.server 8080 --bind 0.0.0.0";
  app["networks"][0]["mode"] = "container/bridge";
  app["container"]["type"] = "MESOS";
  Json::Value mapping;
  mapping["containerPort"] = 8080;
  mapping["hostPort"] = 0;
  mapping["name"] = "http";
  app["container"]["portMappings"].append(mapping);
  Answer created = services.call("POST", "/v2/apps", text(app));
  ASSERT_EQ(created.status, 201) << created.body;
  std::vector<Json::Value> tasks;
  ASSERT_TRUE(waitUntil(
      [&] {
        tasks = healthyTasks(services, "/bridged");
        return tasks.size() == 1 && !tasks[0]["ipAddresses"].empty();
      },
      60s))
      << services.call("GET", "/v2/apps/bridged/tasks").body;
  ASSERT_EQ(tasks[0]["ports"].size(), 1u);
  const int hostPort = tasks[0]["ports"][0].asInt();
  const std::string ip = tasks[0]["ipAddresses"][0]["ipAddress"].asString();
  EXPECT_EQ(ip.rfind(network_->prefix(), 0), 0u) << ip;
  EXPECT_EQ(tasks[0]["ipAddresses"][0]["protocol"].asString(), "IPv4");
  auto whoami = [](const std::string& host, int port) {
    auto page = http::request("GET", "http://" + host + ":" + std::to_string(port) + "/whoami", {}, "",
                              http::ClientOptions{2, 1});
    return page.ok() && page->status == 200 ? page->body : std::string();
  };
  EXPECT_TRUE(waitUntil([&] { return whoami("127.0.0.1", hostPort) == "bridged\n"; }, 10s)) << "the mapped port";
  EXPECT_EQ(whoami(ip, 8080), "bridged\n") << "the task's own address";

  removeApps(services, {"/bridged"});
  EXPECT_TRUE(waitUntil([&] { return network_->clean(); }, 30s))
      << network_->vethsOnBridge() << " rules: " << network_->newRules().size();
}

TEST_F(ServicesContainersTest, ROOT_AnAppsSecretsReachItsEnvironmentAndAFileThroughTheAgentsResolver) {
  // The agent's store (secrets/directory): root-owned, closed to others.
  const fs::path store = dir_.path() / "store";
  fs::create_directories(store);
  fs::permissions(store, fs::perms::owner_all);
  dir_.write("store/db-password", "s3cret-value");
  fs::permissions(store / "db-password", fs::perms::owner_read);
  dir_.write("expected", "s3cret-value");
  testing::ClusterOptions options;
  options.agentFlags = {
      R"(--modules={"libraries": [{"name": "mantle_secrets", "modules": [
          {"name": "environment_secret", "kind": "isolator"}, {"name": "volume/secret", "kind": "isolator"},
          {"name": "secrets/directory", "kind": "secret_resolver", "config": {"dir": ")" +
          store.string() + R"("}}]}]})",
      "--isolation=environment_secret,volume/secret", "--secret_resolver=secrets/directory"};
  ASSERT_NO_FATAL_FAILURE(startCluster(options));
  ServicesProcess& services = startServices(cluster_->masterAddress());

  // The command compares with the expected value by path: it shows no secret.
  const std::string expected = (dir_.path() / "expected").string();
  const fs::path ready = dir_.path() / "ready";
  Json::Value app;
  app["id"] = "/secretive";
  app["cmd"] = "test \"$DB_PASSWORD\" = \"$(cat " + expected + ")\" && test \"$(cat creds/password)\" = \"$(cat " +
               expected + ")\" && touch " + ready.string() + " && exec sleep 600";
  app["cpus"] = 0.1;
  app["mem"] = 32;
  app["secrets"]["pw"]["source"] = "db-password";
  app["env"]["DB_PASSWORD"]["secret"] = "pw";
  app["container"]["type"] = "MESOS";
  app["container"]["volumes"][0]["containerPath"] = "creds/password";
  app["container"]["volumes"][0]["secret"] = "pw";
  Answer created = services.call("POST", "/v2/apps", text(app));
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_TRUE(waitUntil([&] { return runningTasks(services, "/secretive").size() == 1 && fs::exists(ready); }, 60s))
      << services.call("GET", "/v2/apps/secretive").body;
  const Answer got = services.call("GET", "/v2/apps/secretive");
  EXPECT_EQ(got.json["app"]["env"]["DB_PASSWORD"]["secret"].asString(), "pw");
  EXPECT_EQ(got.body.find("s3cret-value"), std::string::npos) << "the API shows references, never values";

  removeApps(services, {"/secretive"});
}

}  // namespace
}  // namespace mantle::services
