// The agent's image garbage collection against a real mantle-agent (a
// MasterPeer plays the master): PRUNE_IMAGES on the v1 operator API and
// --image_gc_config, over an image store holding images pulled from OCI
// layouts the test builds (busybox-static, umoci).
#include <sys/mount.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "agent_fixture.hpp"
#include "docker_registry.hpp"
#include "images/store.hpp"
#include "mantle/module/v1/mesos.pb.h"
#include "mesos/v1/agent/agent.pb.h"
#include "module_manifest.hpp"
#include "run_until.hpp"

namespace mantle::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

class AgentImageGcTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    // Payloads of different sizes: no layer is shared between the three.
    std::size_t payload = 1000;
    for (const char* name : {"run", "keep", "drop"}) {
      buildBusyboxLayout(layouts_.path() / name,
                         BusyboxImage{.tag = "latest", .layers = 1, .payloadBytesPerLayer = payload});
      payload += 1000;
    }
  }

  // Whatever a failed test left mounted under its directory goes too (the
  // agent unmounts a container's rootfs at cleanup; a killed one cannot).
  void TearDown() override {
    AgentTest::TearDown();
    for (const std::string& point : mountsUnder(dir_.path())) ::umount2(point.c_str(), MNT_DETACH);
  }

  static std::vector<std::string> mountsUnder(const fs::path& dir) {
    std::vector<std::string> out;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::string id, parent, device, root, point;
      if (fields >> id >> parent >> device >> root >> point && point.starts_with(dir.string() + "/")) {
        out.push_back(point);
      }
    }
    std::reverse(out.begin(), out.end());  // deepest (latest) first
    return out;
  }

  std::string imageName(const std::string& layout) const { return (layouts_.path() / layout).string() + ":latest"; }
  fs::path storeDir() const { return dir_.path() / "agent/store/docker"; }

  // Pulls the OCI layout `layout` into the agent's store (while no agent
  // runs); returns the image id. `force`: pulled again even if stored (a
  // moved tag: the image it named before loses the name).
  std::string prepull(const std::string& layout, bool force = false) {
    boost::asio::io_context io;
    auto store = images::ImageStore::create(io.get_executor(), images::StoreOptions{.storeDir = storeDir()});
    EXPECT_TRUE(store.ok()) << store.error().message;
    std::optional<Result<images::PulledImage>> pulled;
    (*store)->pull({images::ImageReference::Type::kOci, imageName(layout)}, force,
                   [&](Result<images::PulledImage> r) { pulled = std::move(r); });
    testing::runUntil(io, 60s, [&pulled] { return pulled.has_value(); });
    EXPECT_TRUE(pulled && pulled->ok());
    return pulled && pulled->ok() ? (*pulled)->id : "";
  }

  // The ids of the images in the store, from its records.
  std::set<std::string> storedImages() const {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(storeDir() / "images")) {
      out.insert("sha256:" + entry.path().stem().string());
    }
    return out;
  }

  // An agent that runs image tasks: filesystem/linux and docker/runtime
  // (and volume/image with `volumeImage`).
  static std::vector<std::string> imageFlags(bool volumeImage = false) {
    std::vector<ManifestModule> modules = {isolatorModule("mantle_filesystem", "filesystem/linux"),
                                           isolatorModule("mantle_docker_runtime", "docker/runtime")};
    if (volumeImage) modules.push_back(isolatorModule("mantle_volume", "volume/image"));
    return {"--modules=" + moduleManifest(modules),
            std::string("--isolation=filesystem/linux,docker/runtime") + (volumeImage ? ",volume/image" : ""),
            "--image_providers=docker,oci"};
  }

  void startImageAgent(const std::vector<std::string>& extra = {}) {
    extraFlags_ = imageFlags();
    extraFlags_.insert(extraFlags_.end(), extra.begin(), extra.end());
    startAgent();
  }

  // PRUNE_IMAGES with `excluded` (type, name) as JSON.
  Result<http::ClientResponse> pruneImages(const std::vector<std::pair<std::string, std::string>>& excluded) const {
    std::string images;
    for (const auto& [type, name] : excluded) {
      images +=
          std::string(images.empty() ? "" : ",") + R"({"type":")" + type + R"(","docker":{"name":")" + name + "\"}}";
    }
    return http::request(
        "POST", agentUrl() + "/api/v1", {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
        R"({"type":"PRUNE_IMAGES","prune_images":{"excluded_images":[)" + images + "]}}", http::ClientOptions{30, 2});
  }

  // Runs task "sleeper" of a checkpointing framework in the image of layout
  // "run".
  // A sleeping task in image "run"; with `asVolume`, a host task that gets
  // that image as a read-only image volume at <sandbox>/img instead.
  bool runSleeper(bool asVolume = false) {
    mesos::v1::TaskInfo task =
        commandTask("sleeper", asVolume ? "sleep 1000" : "/bin/busybox sleep 1000", peer_.agentId());
    module::v1::ContainerInfo container;
    container.set_type(2);  // MESOS
    module::v1::Image* image = container.mutable_mesos()->mutable_image();
    if (asVolume) {
      container.clear_mesos();
      module::v1::Volume* volume = container.add_volumes();
      volume->set_container_path("img");
      volume->set_mode(2);  // RO
      image = volume->mutable_image();
    }
    image->set_type(3);  // OCI
    image->mutable_docker()->set_name(imageName("run"));
    if (!task.mutable_container()->ParseFromString(container.SerializeAsString())) return false;
    mesos::v1::FrameworkInfo framework;
    framework.set_user("root");
    framework.set_name("image-gc");
    framework.set_checkpoint(true);
    framework.mutable_id()->set_value("framework-1");
    return peer_.runTask(framework, task);
  }

  TempDir layouts_;
};

TEST_F(AgentImageGcTest, PruneImagesRemovesTheImagesNoContainerUsesButNotTheExcludedOnes) {
  const std::string keep = prepull("keep");
  const std::string drop = prepull("drop");
  startImageAgent();
  auto response = pruneImages({{"OCI", imageName("keep")}, {"DOCKER", "never/pulled:1"}});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(storedImages(), std::set<std::string>{keep});
  EXPECT_EQ(std::distance(fs::directory_iterator(storeDir() / "layers"), fs::directory_iterator()), 1);
  EXPECT_THAT(get("/metrics/snapshot")->body, HasSubstr("\"slave/images_pruned\":1"));
}

TEST_F(AgentImageGcTest, ROOT_TheImageOfARunningTaskSurvivesPruningAlsoAfterAnAgentRestart) {
  if (::geteuid() != 0) GTEST_SKIP() << "image containers need root";
  prepull("drop");
  startImageAgent();
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(runSleeper());
  auto running = peer_.waitForUpdate("sleeper", mesos::v1::TASK_RUNNING, 60s);
  ASSERT_EQ(running.status().state(), mesos::v1::TASK_RUNNING) << agent_->output();
  ASSERT_EQ(storedImages().size(), 2u);
  auto response = pruneImages({});
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->status, 200) << response->body;
  const std::set<std::string> left = storedImages();
  ASSERT_EQ(left.size(), 1u);  // the task's
  // kill -9 and a restart: the recovered container's image is still its own.
  agent_->kill();
  startAgent();
  ASSERT_TRUE(waitUntil([this] { return peer_.reregistrations() >= 1; }, 20s)) << agent_->output();
  response = pruneImages({});
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(storedImages(), left);
  ASSERT_TRUE(peer_.killTask("framework-1", "sleeper"));
  peer_.waitForTerminal("sleeper", 30s);
  // The agent takes the container's rootfs apart at cleanup.
  EXPECT_TRUE(waitUntil([&] { return mountsUnder(dir_.path()).empty(); }, 20s));
}

// The container's own image (false) or its image volume's (true).
class AgentImageGcRecoveryTest : public AgentImageGcTest, public ::testing::WithParamInterface<bool> {};

TEST_P(AgentImageGcRecoveryTest, ROOT_ARecoveredContainerKeepsItsImageByIdAfterItsNameMovedToAnotherImage) {
  if (::geteuid() != 0) GTEST_SKIP() << "image containers need root";
  const bool asVolume = GetParam();
  if (asVolume) {
    extraFlags_ = imageFlags(/*volumeImage=*/true);
    startAgent();
  } else {
    startImageAgent();
  }
  ASSERT_TRUE(peer_.waitForRegistration(20s));
  ASSERT_TRUE(runSleeper(asVolume));
  auto running = peer_.waitForUpdate("sleeper", mesos::v1::TASK_RUNNING, 60s);
  ASSERT_EQ(running.status().state(), mesos::v1::TASK_RUNNING) << agent_->output();
  const std::set<std::string> original = storedImages();
  ASSERT_EQ(original.size(), 1u);
  // kill -9; meanwhile the tag moves: the layout is rebuilt with other
  // content and pulled again, so the name now means another image.
  agent_->kill();
  fs::remove_all(layouts_.path() / "run");
  buildBusyboxLayout(layouts_.path() / "run", BusyboxImage{.tag = "latest", .layers = 1, .payloadBytesPerLayer = 9000});
  const std::string moved = prepull("run", /*force=*/true);
  ASSERT_FALSE(original.count(moved));
  startAgent();
  ASSERT_TRUE(waitUntil([this] { return peer_.reregistrations() >= 1; }, 20s)) << agent_->output();
  // The recovered container keeps the image it runs in, by the checkpointed
  // id; the one its name now means is used by no container.
  auto response = pruneImages({});
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(storedImages(), original);
  EXPECT_EQ(std::distance(fs::directory_iterator(storeDir() / "layers"), fs::directory_iterator()), 1);
  // Once the task ended and its container is gone, the image is prunable.
  ASSERT_TRUE(peer_.killTask("framework-1", "sleeper"));
  peer_.waitForTerminal("sleeper", 30s);
  EXPECT_TRUE(waitUntil([&] { return mountsUnder(dir_.path()).empty(); }, 20s));
  EXPECT_TRUE(waitUntil(
      [&] {
        auto pruned = pruneImages({});
        return pruned.ok() && pruned->status == 200 && storedImages().empty();
      },
      20s))
      << agent_->output();
  EXPECT_TRUE(fs::is_empty(storeDir() / "layers"));
}

INSTANTIATE_TEST_SUITE_P(ImageAndImageVolume, AgentImageGcRecoveryTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ImageVolume" : "ContainerImage";
                         });

TEST_F(AgentImageGcTest, ImageGcConfigPrunesUnusedImagesWhenTheDiskIsFullerThanTheHeadroom) {
  const std::string keep = prepull("keep");
  prepull("drop");
  // Headroom 1: the disk is always too full.
  startImageAgent({R"(--image_gc_config={"image_disk_headroom": 1.0, )"
                   R"("image_disk_watch_interval": {"nanoseconds": 100000000}, )"
                   R"("excluded_images": [{"type": "OCI", "docker": {"name": ")" +
                   imageName("keep") + "\"}}]}"});
  EXPECT_TRUE(waitUntil([&] { return storedImages() == std::set<std::string>{keep}; }, 20s)) << agent_->output();
}

TEST_F(AgentImageGcTest, PruneImagesIsRefusedWhereItCannotWork) {
  startAgent();  // no --image_providers: no store
  auto response = pruneImages({});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 409);
  EXPECT_THAT(response->body, HasSubstr("this agent keeps no images (--image_providers is empty)"));
  agent_->kill();
  startImageAgent();
  response = pruneImages({{"APPC", "x"}});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 400);
  EXPECT_THAT(response->body, HasSubstr("excluded_images"));
}

TEST_F(AgentImageGcTest, ABadImageGcConfigStopsTheAgentNamingTheField) {
  extraFlags_ = imageFlags();
  extraFlags_.push_back(R"(--image_gc_config={"image_disk_headroom": 7})");
  auto agent = std::make_unique<ChildProcess>(agentArgs(), dir_.path() / "bad.log");
  EXPECT_NE(agent->wait(20s), -1);
  EXPECT_THAT(agent->output(), HasSubstr("image_disk_headroom: expected a number in [0, 1]"));
}

}  // namespace
}  // namespace mantle::testing
