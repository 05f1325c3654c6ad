// The rootfs provisioner in-process: the copy backend applies whiteouts and
// opaque directories as overlayfs shows them, keeps owners, modes, links and
// devices; the overlay backend mounts the layers (ROOT_) and destroy and
// recover leave nothing mounted or on disk. Layers are directories the test
// writes in overlayfs form, as the image store extracts them.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/container_images.hpp"
#include "agent/provisioner.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::agent {
namespace {

namespace fs = std::filesystem;
using testing::isRoot;
using testing::readText;

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

// A whiteout (a 0:0 character device) and an opaque directory need root.
void whiteout(const fs::path& path) {
  fs::create_directories(path.parent_path());
  ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0600, makedev(0, 0)), 0) << path;
}

void opaque(const fs::path& dir) {
  fs::create_directories(dir);
  ASSERT_EQ(::setxattr(dir.c_str(), "trusted.overlay.opaque", "y", 1, 0), 0) << dir;
}

class ProvisionerTest : public ::testing::Test {
 protected:
  // Two layers: the lower has /etc/a, /etc/b, /keep/x, /opaque/old and a
  // symlink; the upper deletes /etc/b, makes /opaque opaque with /opaque/new,
  // replaces the file /swap with a directory, and changes /etc/a.
  void buildLayers() {
    const fs::path lower = dir_.path() / "lower", upper = dir_.path() / "upper";
    write(lower / "etc/a", "a1");
    write(lower / "etc/b", "b1");
    write(lower / "keep/x", "x");
    write(lower / "opaque/old", "old");
    write(lower / "swap", "file");
    fs::create_symlink("etc/a", lower / "link");
    ::chmod((lower / "keep/x").c_str(), 0751);
    write(upper / "etc/a", "a2");
    whiteout(upper / "etc/b");
    opaque(upper / "opaque");
    write(upper / "opaque/new", "new");
    write(upper / "swap/inside", "dir");
    layers_ = {lower.string(), upper.string()};
  }

  testing::TempDir dir_;
  std::vector<std::string> layers_;
};

TEST_F(ProvisionerTest, ROOT_TheCopyBackendAppliesWhiteoutsAndOpaqueDirectoriesAsOverlayfsWould) {
  if (!isRoot()) GTEST_SKIP() << "whiteouts and trusted.* xattrs need root";
  buildLayers();
  Provisioner provisioner(dir_.path().string(), ProvisionerBackend::kCopy);
  Result<std::string> rootfs = provisioner.provision("c1", layers_);
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message;
  const fs::path root = *rootfs;
  EXPECT_EQ(readText(root / "etc/a"), "a2");
  EXPECT_FALSE(fs::exists(fs::symlink_status(root / "etc/b")));  // whited out, and no device left in its place
  EXPECT_EQ(readText(root / "keep/x"), "x");
  EXPECT_EQ(fs::status(root / "keep/x").permissions(), static_cast<fs::perms>(0751));
  EXPECT_FALSE(fs::exists(root / "opaque/old"));
  EXPECT_EQ(readText(root / "opaque/new"), "new");
  char value[4];
  EXPECT_LT(::lgetxattr((root / "opaque").c_str(), "trusted.overlay.opaque", value, sizeof(value)), 0)
      << "the marker is not copied";
  EXPECT_TRUE(fs::is_directory(root / "swap"));
  EXPECT_EQ(readText(root / "swap/inside"), "dir");
  EXPECT_TRUE(fs::is_symlink(root / "link"));
  EXPECT_EQ(fs::read_symlink(root / "link"), "etc/a");
  EXPECT_EQ(root, fs::path(provisioner.containerDir("c1")) / "backends/copy/rootfs");

  ASSERT_TRUE(provisioner.destroy("c1").ok());
  EXPECT_FALSE(fs::exists(provisioner.containerDir("c1")));
}

TEST_F(ProvisionerTest, TheCopyBackendKeepsOwnersOfTheLayersFiles) {
  if (!isRoot()) GTEST_SKIP() << "giving files away needs root";
  write(dir_.path() / "layer/owned", "x");
  ASSERT_EQ(::chown((dir_.path() / "layer/owned").c_str(), 1234, 4321), 0);
  Provisioner provisioner(dir_.path().string(), ProvisionerBackend::kCopy);
  Result<std::string> rootfs = provisioner.provision("c", {(dir_.path() / "layer").string()});
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message;
  struct stat st;
  ASSERT_EQ(::stat((fs::path(*rootfs) / "owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 4321u);
  ASSERT_TRUE(provisioner.destroy("c").ok());
}

TEST_F(ProvisionerTest, AMissingLayerFailsAndLeavesNothing) {
  Provisioner provisioner(dir_.path().string(), ProvisionerBackend::kCopy);
  Result<std::string> rootfs = provisioner.provision("c", {(dir_.path() / "absent").string()});
  ASSERT_FALSE(rootfs.ok());
  EXPECT_NE(rootfs.error().message.find("absent"), std::string::npos) << rootfs.error().message;
  EXPECT_FALSE(fs::exists(provisioner.containerDir("c")));
}

TEST_F(ProvisionerTest, ROOT_TheOverlayBackendStacksTheLayersAndDestroyUnmountsIt) {
  if (!isRoot()) GTEST_SKIP() << "mounting needs root";
  if (!overlayWorksIn(dir_.path().string())) GTEST_SKIP() << "overlayfs does not mount here";
  buildLayers();
  Provisioner provisioner(dir_.path().string(), ProvisionerBackend::kOverlay);
  Result<std::string> rootfs = provisioner.provision("c2", layers_);
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message;
  const fs::path root = *rootfs;
  EXPECT_EQ(mountsUnder(provisioner.containerDir("c2")), std::vector<std::string>{root.string()});
  EXPECT_EQ(readText(root / "etc/a"), "a2");
  EXPECT_FALSE(fs::exists(root / "etc/b"));
  EXPECT_FALSE(fs::exists(root / "opaque/old"));
  // What the container writes goes to its upper directory, not to a layer.
  write(root / "etc/written", "w");
  EXPECT_FALSE(fs::exists(fs::path(layers_[1]) / "etc/written"));

  // An agent restart keeps the live one and removes the rest.
  ASSERT_TRUE(provisioner.provision("gone", layers_).ok());
  EXPECT_EQ(provisioner.recover({"c2"}), std::vector<std::string>{"gone"});
  EXPECT_TRUE(mountsUnder(provisioner.containerDir("gone")).empty());
  EXPECT_FALSE(fs::exists(provisioner.containerDir("gone")));
  EXPECT_EQ(readText(root / "etc/a"), "a2");

  ASSERT_TRUE(provisioner.destroy("c2").ok());
  EXPECT_TRUE(mountsUnder(dir_.path().string()).empty());
  EXPECT_FALSE(fs::exists(provisioner.containerDir("c2")));
}

TEST_F(ProvisionerTest, ROOT_ImageVolumesGetRootfsesOfTheirOwnAFailedOneTakesOnlyItselfAndDestroyTakesAll) {
  if (!isRoot()) GTEST_SKIP() << "mounting needs root";
  if (!overlayWorksIn(dir_.path().string())) GTEST_SKIP() << "overlayfs does not mount here";
  buildLayers();
  Provisioner provisioner(dir_.path().string(), ProvisionerBackend::kOverlay);
  Result<std::string> rootfs = provisioner.provision("c", layers_);
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message;
  Result<std::string> volume = provisioner.provisionVolume("c", 0, {layers_[0]});
  ASSERT_TRUE(volume.ok()) << volume.error().message;
  EXPECT_EQ(*volume, provisioner.volumeRootfsOf("c", 0));
  EXPECT_EQ(readText(fs::path(*volume) / "etc/b"), "b1");  // the lower layer alone
  // A volume whose layer is missing leaves the container's rootfs and its
  // other volume as they were.
  Result<std::string> failed = provisioner.provisionVolume("c", 1, {(dir_.path() / "absent").string()});
  ASSERT_FALSE(failed.ok());
  EXPECT_FALSE(fs::exists(fs::path(provisioner.containerDir("c")) / "volumes/1"));
  EXPECT_EQ(readText(fs::path(*rootfs) / "etc/a"), "a2");
  EXPECT_EQ(readText(fs::path(*volume) / "etc/b"), "b1");
  EXPECT_EQ(mountsUnder(provisioner.containerDir("c")).size(), 2u);

  ASSERT_TRUE(provisioner.destroy("c").ok());
  EXPECT_TRUE(mountsUnder(dir_.path().string()).empty());
  EXPECT_FALSE(fs::exists(provisioner.containerDir("c")));
}

// ---- What the agent accepts of a ContainerInfo. ----

module::v1::ContainerInfo dockerContainer(const std::string& image) {
  module::v1::ContainerInfo info;
  info.set_type(1);
  info.mutable_docker()->set_image(image);
  return info;
}

TEST(ContainerImagesTest, ADockerContainerRunsItsImageWithTheParametersThatMap) {
  ImageSupport support{true, false, false, false};
  module::v1::ContainerInfo info = dockerContainer("registry.local/app:1");
  for (auto [key, value] : {std::pair{"e", "A=1"}, std::pair{"user", "app"}, std::pair{"workdir", "/srv"},
                            std::pair{"entrypoint", "/bin/app"}}) {
    auto* parameter = info.mutable_docker()->add_parameters();
    parameter->set_key(key);
    parameter->set_value(value);
  }
  info.mutable_docker()->set_force_pull_image(true);
  Result<std::optional<ImageRequest>> request = imageRequestOf(info, support);
  ASSERT_TRUE(request.ok()) << request.error().message;
  ASSERT_TRUE(request->has_value());
  EXPECT_EQ((*request)->reference.name, "registry.local/app:1");
  EXPECT_TRUE((*request)->forcePull);
  module::v1::ImageConfig config;
  config.add_entrypoint("/old");
  config.add_cmd("arg");
  config.add_env("B=2");
  applyDockerParameters(**request, config);
  EXPECT_EQ(config.entrypoint_size(), 1);
  EXPECT_EQ(config.entrypoint(0), "/bin/app");
  EXPECT_EQ(config.cmd_size(), 0);
  EXPECT_EQ(config.env_size(), 2);
  EXPECT_EQ(config.env(1), "A=1");
  EXPECT_EQ(config.user(), "app");
  EXPECT_EQ(config.working_dir(), "/srv");
}

TEST(ContainerImagesTest, WhatTheAgentCannotHonourIsRefusedNamingIt) {
  ImageSupport support{true, false, false, false};
  auto refusal = [&](const module::v1::ContainerInfo& info) {
    Result<std::optional<ImageRequest>> request = imageRequestOf(info, support);
    return request.ok() ? std::string("accepted") : request.error().message;
  };
  module::v1::ContainerInfo privileged = dockerContainer("app");
  privileged.mutable_docker()->set_privileged(true);
  EXPECT_NE(refusal(privileged).find("docker.privileged"), std::string::npos);
  support.allowPrivileged = true;
  EXPECT_EQ(refusal(privileged), "accepted");
  module::v1::ContainerInfo parameter = dockerContainer("app");
  parameter.mutable_docker()->add_parameters()->set_key("volume");
  EXPECT_NE(refusal(parameter).find("'volume' is not supported"), std::string::npos);
  module::v1::ContainerInfo user = dockerContainer("app");
  user.mutable_docker()->set_network(4);
  EXPECT_NE(refusal(user).find("network/cni"), std::string::npos);
  support.cni = true;
  EXPECT_EQ(refusal(user), "accepted");
  EXPECT_NE(refusal(dockerContainer("")).find("needs docker.image"), std::string::npos);
  module::v1::ContainerInfo oci;
  oci.set_type(2);
  oci.mutable_mesos()->mutable_image()->set_type(3);
  oci.mutable_mesos()->mutable_image()->mutable_docker()->set_name("/layouts/app");
  EXPECT_NE(refusal(oci).find("does not run OCI images"), std::string::npos);
  module::v1::ContainerInfo none;
  none.set_type(2);
  Result<std::optional<ImageRequest>> host = imageRequestOf(none, support);
  ASSERT_TRUE(host.ok());
  EXPECT_FALSE(host->has_value());
  EXPECT_FALSE(parseImageProviders("docker,appc").ok());
  Result<ImageSupport> both = parseImageProviders("Docker,oci");
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->docker && both->oci);
}

}  // namespace
}  // namespace mantle::agent
