// disk/du, loaded through the host from libmantle_disk_du.so, measuring real
// sandboxes on disk.
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "../support/isolator_test_support.hpp"
#include "module_host.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::isolators::disk {
namespace {

using namespace ::mantle::testing::isolators;
using modules::Instance;
using modules::Registry;

constexpr std::uint64_t kMiB = 1024 * 1024;

// Writes `bytes` of non-zero data (no holes), synced so blocks are allocated.
void writeFile(const fs::path& path, std::uint64_t bytes) {
  std::ofstream out(path, std::ios::binary);
  std::string chunk(64 * 1024, 'x');
  for (std::uint64_t written = 0; written < bytes; written += chunk.size()) out.write(chunk.data(), chunk.size());
  out.close();
  sync();
}

class DiskDuIsolatorTest : public ::testing::Test {
 protected:
  std::shared_ptr<Instance> create(bool enforce, int intervalMs = 50) {
    Json::Value module;
    module["name"] = "disk/du";
    module["instance"] = "disk#" + std::to_string(instances_++);
    module["config"]["enforce_container_disk_quota"] = enforce;
    module["config"]["container_disk_watch_interval_ms"] = intervalMs;
    Result<std::shared_ptr<Instance>> instance = testing::createModule(registry_, "mantle_disk_du", module, "isolator");
    EXPECT_TRUE(instance.ok()) << instance.error().message;
    return instance.ok() ? *instance : nullptr;
  }

  // Polls usage until the sandbox reads at least `bytes`.
  std::optional<v1::ResourceStatistics> usageAtLeast(Instance& isolator, const std::string& id, std::uint64_t bytes) {
    std::optional<v1::ResourceStatistics> last;
    testing::waitUntil(
        [&] {
          Result<v1::ResourceStatistics> stats = usage(isolator, id);
          if (stats.ok()) last = *stats;
          return stats.ok() && stats->disk_used_bytes() >= bytes;
        },
        std::chrono::seconds(10));
    return last;
  }

  Registry registry_;
  testing::TempDir sandbox_;
  int instances_ = 0;
};

TEST_F(DiskDuIsolatorTest, DiskOverTheLimitIsALimitationWithTheDiskReason) {
  std::shared_ptr<Instance> disk = create(/*enforce=*/true);
  ASSERT_NE(disk, nullptr);
  Limitations limitations(*disk);
  ASSERT_TRUE(prepare(*disk, "c1", {scalarResource("disk", 2)}, sandbox_.path().string()).ok());
  writeFile(sandbox_.path() / "small", kMiB / 2);
  std::optional<v1::ResourceStatistics> stats = usageAtLeast(*disk, "c1", kMiB / 2);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->disk_limit_bytes(), 2 * kMiB);
  EXPECT_TRUE(limitations.all().empty()) << "under the limit";

  fs::create_directories(sandbox_.path() / "deep" / "er");
  writeFile(sandbox_.path() / "deep" / "er" / "big", 4 * kMiB);
  std::optional<v1::ContainerLimitation> limitation = limitations.waitFor("c1", std::chrono::seconds(10));
  ASSERT_TRUE(limitation.has_value()) << "no limitation for a sandbox over its disk";
  EXPECT_EQ(limitation->reason(), v1::TaskStatus::REASON_CONTAINER_LIMITATION_DISK);
  ASSERT_EQ(limitation->resources_size(), 1);
  EXPECT_EQ(limitation->resources(0).name(), "disk");
  EXPECT_NE(limitation->message().find("exceeds quota (2 MB)"), std::string::npos) << limitation->message();
  stats = usageAtLeast(*disk, "c1", 4 * kMiB);
  ASSERT_TRUE(stats.has_value());
  EXPECT_GE(stats->disk_used_bytes(), 4 * kMiB + kMiB / 2);
  EXPECT_LT(stats->disk_used_bytes(), 6 * kMiB);
  ASSERT_TRUE(cleanup(*disk, "c1").ok());
  EXPECT_FALSE(usage(*disk, "c1").ok());
}

TEST_F(DiskDuIsolatorTest, WithoutEnforcementUsageIsOnlyReported) {
  std::shared_ptr<Instance> disk = create(/*enforce=*/false);
  ASSERT_NE(disk, nullptr);
  Limitations limitations(*disk);
  ASSERT_TRUE(prepare(*disk, "c1", {scalarResource("disk", 1)}, sandbox_.path().string()).ok());
  writeFile(sandbox_.path() / "big", 3 * kMiB);
  std::optional<v1::ResourceStatistics> stats = usageAtLeast(*disk, "c1", 3 * kMiB);
  ASSERT_TRUE(stats.has_value());
  EXPECT_GE(stats->disk_used_bytes(), 3 * kMiB);
  EXPECT_EQ(stats->disk_limit_bytes(), kMiB);
  // Several scans later, still nothing was reported.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(limitations.all().empty());
  ASSERT_TRUE(cleanup(*disk, "c1").ok());
}

TEST_F(DiskDuIsolatorTest, HardLinksCountOnceAndPersistentVolumesAreNotTheSandboxQuota) {
  std::shared_ptr<Instance> disk = create(/*enforce=*/true);
  ASSERT_NE(disk, nullptr);
  Limitations limitations(*disk);
  v1::Resource volume = scalarResource("disk", 100);
  volume.mutable_disk()->mutable_persistence()->set_id("vol-1");
  ASSERT_TRUE(prepare(*disk, "c1", {scalarResource("disk", 3), volume}, sandbox_.path().string()).ok());
  writeFile(sandbox_.path() / "data", 2 * kMiB);
  for (int i = 0; i < 4; ++i) {
    fs::create_hard_link(sandbox_.path() / "data", sandbox_.path() / ("link" + std::to_string(i)));
  }
  fs::create_symlink("/usr", sandbox_.path() / "usr-link");  // not followed
  std::optional<v1::ResourceStatistics> stats = usageAtLeast(*disk, "c1", 2 * kMiB);
  ASSERT_TRUE(stats.has_value());
  EXPECT_LT(stats->disk_used_bytes(), 3 * kMiB) << "hard links or a symlink's target were counted";
  EXPECT_EQ(stats->disk_limit_bytes(), 3 * kMiB) << "the persistent volume is not part of the sandbox quota";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(limitations.all().empty());
  ASSERT_TRUE(cleanup(*disk, "c1").ok());
}

TEST_F(DiskDuIsolatorTest, UpdateRaisesTheLimitAndRecoverResumesMeasuring) {
  std::shared_ptr<Instance> disk = create(/*enforce=*/true);
  ASSERT_NE(disk, nullptr);
  ASSERT_TRUE(prepare(*disk, "c1", {scalarResource("disk", 1)}, sandbox_.path().string()).ok());
  ASSERT_TRUE(update(*disk, "c1", {scalarResource("disk", 8)}).ok());
  Limitations limitations(*disk);
  writeFile(sandbox_.path() / "data", 2 * kMiB);
  std::optional<v1::ResourceStatistics> stats = usageAtLeast(*disk, "c1", 2 * kMiB);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->disk_limit_bytes(), 8 * kMiB);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(limitations.all().empty());

  // A restarted agent hands the container back; measuring resumes.
  std::shared_ptr<Instance> after = create(/*enforce=*/true);
  ASSERT_NE(after, nullptr);
  Limitations afterLimitations(*after);
  v1::IsolatorRecoverRequest request;
  v1::ContainerState* state = request.add_states();
  *state->mutable_container_id() = containerId("c1");
  state->set_directory(sandbox_.path().string());
  *state->mutable_config()->add_resources() = scalarResource("disk", 1);
  ASSERT_TRUE(modules::IsolatorClient(*after).recover(request).ok());
  std::optional<v1::ContainerLimitation> limitation = afterLimitations.waitFor("c1", std::chrono::seconds(10));
  ASSERT_TRUE(limitation.has_value());
  EXPECT_EQ(limitation->reason(), v1::TaskStatus::REASON_CONTAINER_LIMITATION_DISK);
}

TEST_F(DiskDuIsolatorTest, BadRequests) {
  std::shared_ptr<Instance> disk = create(/*enforce=*/false);
  ASSERT_NE(disk, nullptr);
  Result<v1::IsolatorPrepareResponse> noSandbox = prepare(*disk, "c1", {scalarResource("disk", 1)});
  ASSERT_FALSE(noSandbox.ok());
  EXPECT_EQ(noSandbox.error().code, StatusCode::kInvalidArgument);
  Result<v1::ResourceStatistics> unknown = usage(*disk, "nobody");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, StatusCode::kNotFound);
  EXPECT_TRUE(cleanup(*disk, "nobody").ok());
  Json::Value module;
  module["name"] = "disk/du";
  module["instance"] = "bad";
  module["config"]["container_disk_watch_interval_ms"] = 0;
  EXPECT_FALSE(testing::createModule(registry_, "mantle_disk_du", module, "isolator").ok());
}

}  // namespace
}  // namespace mantle::isolators::disk
