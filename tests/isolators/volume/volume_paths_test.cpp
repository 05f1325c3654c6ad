// The volume isolators' path rules: which volumes a container has, how a
// volume is read (legacy host_path forms included) and where its mount lands.
#include "volume_paths.hpp"

#include <gtest/gtest.h>

namespace mantle::isolators::volume {
namespace {

v1::Volume sandboxVolume(const std::string& containerPath, const std::string& path, std::uint32_t type) {
  v1::Volume volume;
  volume.set_container_path(containerPath);
  volume.mutable_source()->set_type(kSourceSandboxPath);
  volume.mutable_source()->mutable_sandbox_path()->set_type(type);
  volume.mutable_source()->mutable_sandbox_path()->set_path(path);
  return volume;
}

ContainerVolume entry(const v1::Volume& volume, bool groupTask = false) {
  return {&volume, "v", groupTask};
}

TEST(VolumePathsTest, ARelativeLegacyHostPathIsASandboxPathSelfVolumeAndAnAbsoluteOneAHostPathVolume) {
  v1::Volume relative;
  relative.set_container_path("/data");
  relative.set_host_path("cache");
  Result<VolumeKind> kind = classify(entry(relative));
  ASSERT_TRUE(kind.ok()) << kind.error().message;
  EXPECT_EQ(kind->type, VolumeKind::kSandboxPath);
  EXPECT_EQ(kind->sandboxType, kSandboxSelf);
  EXPECT_EQ(kind->path, "cache");

  v1::Volume absolute;
  absolute.set_container_path("data");
  absolute.set_host_path("/srv/data");
  kind = classify(entry(absolute));
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(kind->type, VolumeKind::kHostPath);
  EXPECT_EQ(kind->path, "/srv/data");
}

TEST(VolumePathsTest, ImageAndSecretVolumesBelongToOtherIsolators) {
  v1::Volume image;
  image.set_container_path("/image");
  image.mutable_image()->set_type(2);
  ASSERT_TRUE(classify(entry(image)).ok());
  EXPECT_EQ(classify(entry(image))->type, VolumeKind::kOther);
  v1::Volume secret;
  secret.set_container_path("secret");
  secret.mutable_source()->set_type(3);
  EXPECT_EQ(classify(entry(secret))->type, VolumeKind::kOther);
}

TEST(VolumePathsTest, AVolumeWithTwoSourcesOrARelativeHostPathSourceIsRefusedNamingIt) {
  v1::Volume both = sandboxVolume("/d", "x", kSandboxSelf);
  both.set_host_path("/srv");
  Result<VolumeKind> kind = classify({&both, "task 't' volumes[2] (container_path '/d')", false});
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.error().message.find("task 't' volumes[2]"), std::string::npos) << kind.error().message;
  EXPECT_NE(kind.error().message.find("only one of"), std::string::npos);

  v1::Volume relative;
  relative.set_container_path("/d");
  relative.mutable_source()->set_type(kSourceHostPath);
  relative.mutable_source()->mutable_host_path()->set_path("srv");
  kind = classify(entry(relative));
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.error().message.find("'srv' in HOST_PATH volume is not absolute"), std::string::npos);

  v1::Volume unknown = sandboxVolume("/d", "x", 7);
  EXPECT_FALSE(classify(entry(unknown)).ok());
}

TEST(VolumePathsTest, ACommandTaskHasItsOwnVolumesAndATaskGroupTheExecutorsAndEveryTasks) {
  v1::ContainerConfig config;
  *config.mutable_executor_info()->mutable_container()->add_volumes() = sandboxVolume("/e", "e", kSandboxSelf);
  config.mutable_task_info()->mutable_task_id()->set_value("cmd");
  *config.mutable_task_info()->mutable_container()->add_volumes() = sandboxVolume("/t", "t", kSandboxSelf);
  std::vector<ContainerVolume> volumes = containerVolumes(config);
  ASSERT_EQ(volumes.size(), 1u);
  EXPECT_EQ(volumes[0].volume->container_path(), "/t");
  EXPECT_EQ(volumes[0].name, "task 'cmd' volumes[0] (container_path '/t')");
  EXPECT_FALSE(volumes[0].groupTask);

  config.clear_task_info();
  config.mutable_executor_info()->mutable_executor_id()->set_value("default");
  v1::TaskInfo* task = config.add_task_group();
  task->mutable_task_id()->set_value("g1");
  *task->mutable_container()->add_volumes() = sandboxVolume("shared", "shared", kSandboxParent);
  volumes = containerVolumes(config);
  ASSERT_EQ(volumes.size(), 2u);
  EXPECT_EQ(volumes[0].name, "executor 'default' volumes[0] (container_path '/e')");
  EXPECT_FALSE(volumes[0].groupTask);
  EXPECT_EQ(volumes[1].name, "task 'g1' volumes[0] (container_path 'shared')");
  EXPECT_TRUE(volumes[1].groupTask);
}

TEST(VolumePathsTest, RelativePathsMayNotBeEmptyAbsoluteOrLeaveTheirDirectory) {
  EXPECT_TRUE(checkRelative("a/b", "p").ok());
  EXPECT_TRUE(checkRelative("a/./b", "p").ok());
  EXPECT_FALSE(checkRelative("", "p").ok());
  EXPECT_FALSE(checkRelative("/a", "p").ok());
  Status up = checkRelative("a/../../etc", "SANDBOX_PATH path");
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().message, "SANDBOX_PATH path 'a/../../etc' leaves its directory ('..')");
}

TEST(VolumePathsTest, APathIsWithinARootOnlyByWholeComponents) {
  EXPECT_TRUE(isWithin("/srv/data", "/srv"));
  EXPECT_TRUE(isWithin("/srv", "/srv"));
  EXPECT_TRUE(isWithin("/srv/", "/srv"));
  EXPECT_TRUE(isWithin("/srv/data/x", "/srv/data/"));
  EXPECT_TRUE(isWithin("/anything", "/"));
  EXPECT_FALSE(isWithin("/srvdata", "/srv"));
  EXPECT_FALSE(isWithin("/sr", "/srv"));
  EXPECT_FALSE(isWithin("/etc", "/srv"));
}

TEST(VolumePathsTest, AnAbsoluteContainerPathIsTheHostPathWithoutARootfsAndBelowTheRootfsWithOne) {
  Result<MountPoint> host = mountPoint("/data/", "/sb", "", kDefaultSandboxDirectory, "v");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->target, "/data");
  EXPECT_TRUE(host->mustExist);
  EXPECT_TRUE(host->sandboxMountPoint.empty());

  Result<MountPoint> image = mountPoint("/data", "/sb", "/rootfs", kDefaultSandboxDirectory, "v");
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->target, "/rootfs/data");
  EXPECT_FALSE(image->mustExist);

  Result<MountPoint> escape = mountPoint("/../etc", "/sb", "/rootfs", kDefaultSandboxDirectory, "v");
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.error().message.find("'..'"), std::string::npos);
}

TEST(VolumePathsTest, ARelativeContainerPathIsInTheSandboxAndWithARootfsWhereTheContainerSeesItsSandbox) {
  Result<MountPoint> plain = mountPoint("cache/x", "/sb", "", kDefaultSandboxDirectory, "v");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->target, "/sb/cache/x");
  EXPECT_EQ(plain->sandboxMountPoint, "/sb/cache/x");
  EXPECT_FALSE(plain->mustExist);

  Result<MountPoint> image = mountPoint("cache", "/sb", "/rootfs", kDefaultSandboxDirectory, "v");
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->target, "/rootfs/mnt/mesos/sandbox/cache");
  EXPECT_EQ(image->sandboxMountPoint, "/sb/cache");

  Result<MountPoint> escape = mountPoint("../other", "/sb", "", kDefaultSandboxDirectory, "task volume");
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.error().message, "task volume: container_path '../other' leaves its directory ('..')");
}

}  // namespace
}  // namespace mantle::isolators::volume
