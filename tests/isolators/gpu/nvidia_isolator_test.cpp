// gpu/nvidia, loaded through the host from libmantle_gpu_nvidia.so, on a
// fake NVML (libfake_nvml.so, built from fake_nvml.c) with GPUs configured
// by environment, so the real dlopen, discovery, allocation, device cgroup
// and recovery code runs without a GPU. Device access is checked for real:
// the test makes character device nodes 195:N, which a process in the
// container's cgroup may open (ENXIO: no driver behind them) or not (EPERM:
// the devices cgroup). No GPU machine was available to run these against
// real NVIDIA hardware.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "../support/isolator_test_support.hpp"
#include "module_host.hpp"
#include "temp_dir.hpp"

namespace mantle::isolators::gpu {
namespace {

using namespace ::mantle::testing::isolators;
using modules::Instance;
using modules::Registry;
using modules::RegistryOptions;

std::string fakeNvml() {
  return std::string(MANTLE_TEST_FIXTURE_DIR) + "/libfake_nvml.so";
}

std::map<std::string, std::string> environmentOf(const v1::IsolatorPrepareResponse& response) {
  std::map<std::string, std::string> env;
  for (const auto& v : response.launch_info().environment().variables()) env[v.name()] = v.value();
  return env;
}

std::vector<std::string> splitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

class NvidiaGpuIsolatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("FAKE_NVML_GPUS", "4", 1);
    unsetenv("FAKE_NVML_INIT_ERROR");
    unsetenv("FAKE_NVML_MINOR_BASE");
  }
  void TearDown() override {
    unsetenv("FAKE_NVML_GPUS");
    unsetenv("FAKE_NVML_INIT_ERROR");
  }

  bool canIsolate() {
    std::optional<CgroupHierarchy> devices = hierarchyOf("devices");
    return isRoot() && devices && devices->version == 1;
  }

  Result<std::shared_ptr<Instance>> create(Registry& registry, Json::Value config = Json::Value(Json::objectValue)) {
    config["root"] = scope_.name();
    if (!config.isMember("nvml_library")) config["nvml_library"] = fakeNvml();
    if (!config.isMember("control_devices")) config["control_devices"] = Json::Value(Json::arrayValue);
    Json::Value module;
    module["name"] = "gpu/nvidia";
    module["instance"] = "gpus";
    module["config"] = config;
    return testing::createModule(registry, "mantle_gpu_nvidia", module, "isolator");
  }

  // Character device nodes 195:<minor> for minors 0..count-1, and the
  // control device 195:255, in a temporary directory.
  void makeNodes(int count) {
    for (int minor = 0; minor < count; ++minor) {
      fs::path node = nodes_.path() / ("nvidia" + std::to_string(minor));
      ASSERT_EQ(mknod(node.c_str(), S_IFCHR | 0666, makedev(195, minor)), 0) << strerror(errno);
    }
    ASSERT_EQ(mknod((nodes_.path() / "nvidiactl").c_str(), S_IFCHR | 0666, makedev(195, 255)), 0);
  }

  // From a process in container `id`'s cgroup: the errno of opening each of
  // the first `count` GPU nodes (0 when it opened).
  std::vector<long> openErrors(std::vector<Instance*> isolators, const std::string& id, int count) {
    Channel out;
    std::vector<std::string> paths;
    for (int minor = 0; minor < count; ++minor)
      paths.push_back((nodes_.path() / ("nvidia" + std::to_string(minor))).string());
    paths.push_back((nodes_.path() / "nvidiactl").string());
    GatedChild child([&] {
      for (const std::string& p : paths) {
        int fd = open(p.c_str(), O_RDWR);
        out.send(fd >= 0 ? 0 : errno);
        if (fd >= 0) close(fd);
      }
      return 0;
    });
    for (Instance* isolator : isolators) {
      Status isolated = isolate(*isolator, id, child.pid());
      EXPECT_TRUE(isolated.ok()) << isolated.error().message;
    }
    child.release();
    std::vector<long> errors;
    for (std::size_t i = 0; i < paths.size(); ++i) errors.push_back(out.receive(std::chrono::seconds(10)).value_or(-1));
    return errors;
  }

  CgroupRootScope scope_;
  testing::TempDir nodes_;
};

TEST_F(NvidiaGpuIsolatorTest, MissingNvmlIsAClearLoadError) {
  Registry registry;
  Json::Value config;
  config["nvml_library"] = "/nonexistent/libnvidia-ml.so.1";
  Result<std::shared_ptr<Instance>> instance = create(registry, config);
  ASSERT_FALSE(instance.ok());
  EXPECT_NE(instance.error().message.find("cannot load NVML"), std::string::npos) << instance.error().message;
  EXPECT_NE(instance.error().message.find("gpu/nvidia"), std::string::npos) << instance.error().message;
}

TEST_F(NvidiaGpuIsolatorTest, FailingNvmlInitIsALoadError) {
  setenv("FAKE_NVML_INIT_ERROR", "9", 1);
  Registry registry;
  Result<std::shared_ptr<Instance>> instance = create(registry);
  ASSERT_FALSE(instance.ok());
  EXPECT_NE(instance.error().message.find("Driver Not Loaded"), std::string::npos) << instance.error().message;
}

TEST_F(NvidiaGpuIsolatorTest, DevicesMustNameDiscoveredGpus) {
  Registry registry;
  Json::Value config;
  config["devices"].append("1");
  config["devices"].append("7");
  Result<std::shared_ptr<Instance>> instance = create(registry, config);
  ASSERT_FALSE(instance.ok());
  EXPECT_NE(instance.error().message.find("names GPU 7, but NVML found 4"), std::string::npos)
      << instance.error().message;
}

TEST_F(NvidiaGpuIsolatorTest, ROOT_CGROUPS_AdvertisesTheGpusItHandsOut) {
  if (!canIsolate()) GTEST_SKIP() << "needs root and the cgroups v1 devices controller";
  for (const auto& [devices, expected] :
       std::vector<std::pair<std::vector<std::string>, double>>{{{}, 4}, {{"1", "3"}, 2}}) {
    Registry registry;
    Json::Value config(Json::objectValue);
    for (const std::string& d : devices) config["devices"].append(d);
    Result<std::shared_ptr<Instance>> instance = create(registry, config);
    ASSERT_TRUE(instance.ok()) << instance.error().message;
    auto advertised = modules::IsolatorClient(**instance).resources(v1::IsolatorResourcesRequest());
    ASSERT_TRUE(advertised.ok()) << advertised.error().message;
    ASSERT_EQ(advertised->resources_size(), 1);
    EXPECT_EQ(advertised->resources(0).name(), "gpus");
    EXPECT_EQ(advertised->resources(0).scalar().value(), expected);
  }
}

TEST_F(NvidiaGpuIsolatorTest, ROOT_CGROUPS_TwoContainersGetDisjointGpusAndAThirdIsRefused) {
  if (!canIsolate()) GTEST_SKIP() << "needs root and the cgroups v1 devices controller";
  makeNodes(4);
  Registry registry;
  Result<std::shared_ptr<Instance>> created = create(registry);
  ASSERT_TRUE(created.ok()) << created.error().message;
  Instance& gpus = **created;

  Result<v1::IsolatorPrepareResponse> a = prepare(gpus, "a", {scalarResource("gpus", 2)});
  Result<v1::IsolatorPrepareResponse> b = prepare(gpus, "b", {scalarResource("gpus", 2)});
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  std::vector<std::string> aGpus = splitCommas(environmentOf(*a)["NVIDIA_VISIBLE_DEVICES"]);
  std::vector<std::string> bGpus = splitCommas(environmentOf(*b)["NVIDIA_VISIBLE_DEVICES"]);
  ASSERT_EQ(aGpus.size(), 2u);
  ASSERT_EQ(bGpus.size(), 2u);
  EXPECT_EQ(environmentOf(*a)["CUDA_VISIBLE_DEVICES"], environmentOf(*a)["NVIDIA_VISIBLE_DEVICES"]);
  std::set<std::string> all(aGpus.begin(), aGpus.end());
  all.insert(bGpus.begin(), bGpus.end());
  EXPECT_EQ(all.size(), 4u) << "the two containers share a GPU";
  for (const std::string& uuid : all) EXPECT_EQ(uuid.rfind("GPU-fa4e0000-", 0), 0u) << uuid;

  // The third waits for GPUs to be freed: refused now.
  Result<v1::IsolatorPrepareResponse> c = prepare(gpus, "c", {scalarResource("gpus", 1)});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, StatusCode::kResourceExhausted) << c.error().message;
  EXPECT_FALSE(scope_.anyCgroupNamed("c"));
  // A container without GPUs is fine, and sees none.
  Result<v1::IsolatorPrepareResponse> none = prepare(gpus, "none", {scalarResource("cpus", 1)});
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(environmentOf(*none).empty());

  // Each opens only its own GPUs (ENXIO: allowed, no driver) and not the
  // others' (EPERM).
  std::map<std::string, std::string> aStatus = statusLabels(gpus, "a");
  std::vector<std::string> aMinors = splitCommas(aStatus["gpu/nvidia.minors"]);
  ASSERT_EQ(aMinors.size(), 2u);
  std::vector<long> aErrors = openErrors({&gpus}, "a", 4);
  std::vector<long> noneErrors = openErrors({&gpus}, "none", 4);
  ASSERT_EQ(aErrors.size(), 5u);
  for (int minor = 0; minor < 4; ++minor) {
    bool mine = std::find(aMinors.begin(), aMinors.end(), std::to_string(minor)) != aMinors.end();
    EXPECT_EQ(aErrors[minor], mine ? ENXIO : EPERM) << "GPU minor " << minor;
    EXPECT_EQ(noneErrors[minor], EPERM) << "GPU minor " << minor;
  }

  // Cleanup frees them: now the third gets its GPU.
  ASSERT_TRUE(cleanup(gpus, "a").ok());
  EXPECT_FALSE(scope_.anyCgroupNamed("a"));
  c = prepare(gpus, "c", {scalarResource("gpus", 1)});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(splitCommas(environmentOf(*c)["NVIDIA_VISIBLE_DEVICES"]).size(), 1u);
  for (const char* id : {"b", "c", "none"}) ASSERT_TRUE(cleanup(gpus, id).ok());
}

TEST_F(NvidiaGpuIsolatorTest, ROOT_CGROUPS_WithCgroupsDevicesTheAllowListGainsOnlyTheContainersGpus) {
  if (!canIsolate()) GTEST_SKIP() << "needs root and the cgroups v1 devices controller";
  makeNodes(4);
  Registry registry;
  Json::Value devicesConfig;
  devicesConfig["root"] = scope_.name();
  Json::Value devicesModule;
  devicesModule["name"] = "cgroups/devices";
  devicesModule["config"] = devicesConfig;
  Result<std::shared_ptr<Instance>> devices =
      testing::createModule(registry, "mantle_cgroups", devicesModule, "isolator");
  ASSERT_TRUE(devices.ok()) << devices.error().message;
  Json::Value config;
  config["control_devices"].append((nodes_.path() / "nvidiactl").string());
  config["control_devices"].append((nodes_.path() / "nvidia-uvm").string());  // missing: skipped
  Result<std::shared_ptr<Instance>> gpus = create(registry, config);
  ASSERT_TRUE(gpus.ok()) << gpus.error().message;

  // --isolation=cgroups/devices,gpu/nvidia: prepare in order, isolate both.
  ASSERT_TRUE(prepare(**devices, "a", {scalarResource("gpus", 1)}).ok());
  ASSERT_TRUE(prepare(**gpus, "a", {scalarResource("gpus", 1)}).ok());
  std::string list = readFile(*scope_.dir("devices") / "a" / "devices.list");
  EXPECT_NE(list.find("c 195:0 rwm"), std::string::npos) << list;
  EXPECT_NE(list.find("c 195:255 rwm"), std::string::npos) << list;
  EXPECT_EQ(list.find("c 195:1 "), std::string::npos) << list;
  EXPECT_NE(list.find("c 1:3 rwm"), std::string::npos) << list;
  std::vector<long> errors = openErrors({devices->get(), gpus->get()}, "a", 2);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], ENXIO);
  EXPECT_EQ(errors[1], EPERM);
  EXPECT_EQ(errors[2], ENXIO) << "the control device";
  ASSERT_TRUE(cleanup(**gpus, "a").ok());
  ASSERT_TRUE(cleanup(**devices, "a").ok());
  EXPECT_FALSE(scope_.anyCgroupNamed("a"));
}

TEST_F(NvidiaGpuIsolatorTest, ROOT_CGROUPS_UpdateGrowsAndShrinksAndRejectsFractions) {
  if (!canIsolate()) GTEST_SKIP() << "needs root and the cgroups v1 devices controller";
  Registry registry;
  Result<std::shared_ptr<Instance>> created = create(registry);
  ASSERT_TRUE(created.ok()) << created.error().message;
  Instance& gpus = **created;
  Result<v1::IsolatorPrepareResponse> half = prepare(gpus, "half", {scalarResource("gpus", 0.5)});
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.error().code, StatusCode::kInvalidArgument);

  ASSERT_TRUE(prepare(gpus, "g", {scalarResource("gpus", 1)}).ok());
  ASSERT_TRUE(update(gpus, "g", {scalarResource("gpus", 3)}).ok());
  EXPECT_EQ(statusLabels(gpus, "g")["gpu/nvidia.gpus"], "0,1,2");
  Status tooMany = update(gpus, "g", {scalarResource("gpus", 5)});
  ASSERT_FALSE(tooMany.ok());
  EXPECT_EQ(tooMany.error().code, StatusCode::kResourceExhausted);
  ASSERT_TRUE(update(gpus, "g", {scalarResource("gpus", 1)}).ok());
  EXPECT_EQ(statusLabels(gpus, "g")["gpu/nvidia.gpus"], "0");
  ASSERT_TRUE(prepare(gpus, "h", {scalarResource("gpus", 3)}).ok());
  EXPECT_EQ(statusLabels(gpus, "h")["gpu/nvidia.gpus"], "1,2,3");
  for (const char* id : {"g", "h"}) ASSERT_TRUE(cleanup(gpus, id).ok());
}

TEST_F(NvidiaGpuIsolatorTest, ROOT_CGROUPS_AssignmentsSurviveRecover) {
  if (!canIsolate()) GTEST_SKIP() << "needs root and the cgroups v1 devices controller";
  testing::TempDir workDir;
  RegistryOptions options;
  options.stateRoot = (workDir.path() / "modules").string();
  std::string aUuids, bUuids;
  {
    Registry registry(options);
    Result<std::shared_ptr<Instance>> before = create(registry);
    ASSERT_TRUE(before.ok()) << before.error().message;
    Result<v1::IsolatorPrepareResponse> a = prepare(**before, "a", {scalarResource("gpus", 2)});
    Result<v1::IsolatorPrepareResponse> b = prepare(**before, "b", {scalarResource("gpus", 1)});
    Result<v1::IsolatorPrepareResponse> gone = prepare(**before, "gone", {scalarResource("gpus", 1)});
    ASSERT_TRUE(a.ok() && b.ok() && gone.ok());
    aUuids = environmentOf(*a)["NVIDIA_VISIBLE_DEVICES"];
    bUuids = environmentOf(*b)["NVIDIA_VISIBLE_DEVICES"];
  }  // the agent stops; the containers' cgroups stay

  Registry registry(options);
  Result<std::shared_ptr<Instance>> after = create(registry);
  ASSERT_TRUE(after.ok()) << after.error().message;
  v1::IsolatorRecoverRequest request;
  for (const char* id : {"a", "b"}) {
    v1::ContainerState* state = request.add_states();
    *state->mutable_container_id() = containerId(id);
  }
  Result<v1::Empty> recovered = modules::IsolatorClient(**after).recover(request);
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(statusLabels(**after, "a")["gpu/nvidia.uuids"], aUuids);
  EXPECT_EQ(statusLabels(**after, "b")["gpu/nvidia.uuids"], bUuids);
  EXPECT_FALSE(scope_.anyCgroupNamed("gone")) << "the container that did not survive keeps nothing";

  // 'gone' gave its GPU back: one free; two are not.
  Result<v1::IsolatorPrepareResponse> two = prepare(**after, "c", {scalarResource("gpus", 2)});
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code, StatusCode::kResourceExhausted);
  Result<v1::IsolatorPrepareResponse> one = prepare(**after, "c", {scalarResource("gpus", 1)});
  ASSERT_TRUE(one.ok()) << one.error().message;
  std::string cUuid = environmentOf(*one)["NVIDIA_VISIBLE_DEVICES"];
  EXPECT_EQ(aUuids.find(cUuid), std::string::npos);
  EXPECT_NE(bUuids, cUuid);
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(cleanup(**after, id).ok());
}

TEST_F(NvidiaGpuIsolatorTest, ROOT_CGROUPS_OnCgroupsV2AnEbpfProgramKeepsContainersOffOtherGpus) {
  bool unified = false;
  for (const CgroupHierarchy& h : cgroupHierarchies()) unified = unified || h.version == 2;
  if (!isRoot() || !unified) GTEST_SKIP() << "needs root and a cgroup2 mount";
  makeNodes(4);
  testing::TempDir workDir;
  RegistryOptions options;
  options.stateRoot = (workDir.path() / "modules").string();
  Json::Value config;
  config["device_control"] = "v2";  // also on a hybrid host
  auto minorsOf = [](Instance& gpus, const std::string& id) {
    return splitCommas(statusLabels(gpus, id)["gpu/nvidia.minors"]);
  };
  auto expectAccess = [&](Instance& gpus, const std::string& id) {
    std::vector<std::string> mine = minorsOf(gpus, id);
    std::vector<long> errors = openErrors({&gpus}, id, 4);
    ASSERT_EQ(errors.size(), 5u);
    for (int minor = 0; minor < 4; ++minor) {
      bool own = std::find(mine.begin(), mine.end(), std::to_string(minor)) != mine.end();
      EXPECT_EQ(errors[minor], own ? ENXIO : EPERM) << id << ", GPU minor " << minor;
    }
    EXPECT_EQ(errors[4], ENXIO) << "control devices stay open";
  };
  {
    Registry registry(options);
    Result<std::shared_ptr<Instance>> created = create(registry, config);
    ASSERT_TRUE(created.ok()) << created.error().message;
    Instance& gpus = **created;
    Result<v1::IsolatorPrepareResponse> a = prepare(gpus, "a", {scalarResource("gpus", 2)});
    if (!a.ok() && a.error().code == StatusCode::kUnimplemented) GTEST_SKIP() << a.error().message;
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(prepare(gpus, "b", {scalarResource("gpus", 1)}).ok());
    EXPECT_NE(statusLabels(gpus, "a")["gpu/nvidia.cgroup"].find("unified"), std::string::npos)
        << statusLabels(gpus, "a")["gpu/nvidia.cgroup"];
    expectAccess(gpus, "a");
    expectAccess(gpus, "b");
    // Shrinking replaces the program: the GPU given back is closed to it.
    ASSERT_TRUE(update(gpus, "a", {scalarResource("gpus", 1)}).ok());
    ASSERT_EQ(minorsOf(gpus, "a").size(), 1u);
    expectAccess(gpus, "a");
  }  // the agent restarts

  Registry registry(options);
  Result<std::shared_ptr<Instance>> after = create(registry, config);
  ASSERT_TRUE(after.ok()) << after.error().message;
  v1::IsolatorRecoverRequest request;
  for (const char* id : {"a", "b"}) *request.add_states()->mutable_container_id() = containerId(id);
  ASSERT_TRUE(modules::IsolatorClient(**after).recover(request).ok());
  // The program attached before the restart is found by its name and replaced.
  ASSERT_TRUE(update(**after, "b", {scalarResource("gpus", 3)}).ok());
  ASSERT_EQ(minorsOf(**after, "b").size(), 3u);
  expectAccess(**after, "b");
  expectAccess(**after, "a");
  for (const char* id : {"a", "b"}) ASSERT_TRUE(cleanup(**after, id).ok());
  EXPECT_FALSE(scope_.anyCgroupNamed("a"));
}

}  // namespace
}  // namespace mantle::isolators::gpu
