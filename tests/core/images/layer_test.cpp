#include "images/layer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "docker_registry.hpp"
#include "temp_dir.hpp"

namespace mantle::images {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// A tarball of `tree` made by GNU tar (-P keeps "../" names as written).
fs::path tarOf(const TempDir& dir, const fs::path& tree, const std::vector<std::string>& names) {
  const fs::path tarball = dir.path() / "layer.tar";
  std::vector<std::string> argv{"tar", "-P", "-C", tree.string(), "-cf", tarball.string()};
  argv.insert(argv.end(), names.begin(), names.end());
  testing::runTool(argv);
  return tarball;
}

TEST(ImageLayerTest, ROOT_WhiteoutsAndOpaqueMarkersBecomeTheirOverlayfsForm) {
  if (::geteuid() != 0) GTEST_SKIP() << "whiteout devices and trusted.* xattrs need root";
  TempDir dir;
  dir.write("tree/etc/.wh.passwd", "");
  dir.write("tree/var/cache/.wh..wh..opq", "");
  dir.write("tree/var/cache/kept", "new");
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  ASSERT_TRUE(
      extractArchive(tarOf(dir, dir.path() / "tree", {"etc", "var"}).string(), out.string(), Whiteouts::kOverlay).ok());
  struct stat info {};
  ASSERT_EQ(::lstat((out / "etc/passwd").c_str(), &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
  EXPECT_EQ(info.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(out / "etc/.wh.passwd"));
  char value[8] = {};
  ASSERT_EQ(::getxattr((out / "var/cache").c_str(), "trusted.overlay.opaque", value, sizeof value), 1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_FALSE(fs::exists(out / "var/cache/.wh..wh..opq"));
  EXPECT_TRUE(fs::exists(out / "var/cache/kept"));
}

TEST(ImageLayerTest, KeepModeExtractsWhiteoutNamesAsPlainFiles) {
  TempDir dir;
  dir.write("tree/etc/.wh.passwd", "");
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  ASSERT_TRUE(extractArchive(tarOf(dir, dir.path() / "tree", {"etc"}).string(), out.string(), Whiteouts::kKeep).ok());
  EXPECT_TRUE(fs::is_regular_file(out / "etc/.wh.passwd"));
}

TEST(ImageLayerTest, AnEntryLeadingOutsideTheLayerFailsTheExtraction) {
  TempDir dir;
  dir.write("tree/inner/x", "");
  dir.write("escape", "outside");
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  auto status =
      extractArchive(tarOf(dir, dir.path() / "tree", {"../escape"}).string(), out.string(), Whiteouts::kOverlay);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("leads outside the layer"), std::string::npos) << status.error().message;
}

TEST(ImageLayerTest, AWhiteoutUnderASymlinkFailsTheExtraction) {
  TempDir dir;
  fs::create_directories(dir.path() / "tree");
  fs::create_directory_symlink("/etc", dir.path() / "tree/link");
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  // The symlink first, then a whiteout through it.
  const fs::path tarball = dir.path() / "layer.tar";
  dir.write("staged/link/.wh.passwd", "");
  testing::runTool({"tar", "-C", (dir.path() / "tree").string(), "-cf", tarball.string(), "link"});
  testing::runTool({"tar", "-C", (dir.path() / "staged").string(), "-rf", tarball.string(), "link/.wh.passwd"});
  auto status = extractArchive(tarball.string(), out.string(), Whiteouts::kOverlay);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("whiteout under the symlink"), std::string::npos) << status.error().message;
  EXPECT_TRUE(fs::exists("/etc/passwd"));
}

TEST(ImageLayerTest, ATruncatedArchiveFailsNamingIt) {
  TempDir dir;
  dir.write("tree/big", std::string(100000, 'x'));
  const fs::path tarball = tarOf(dir, dir.path() / "tree", {"big"});
  fs::resize_file(tarball, 20000);
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  auto status = extractArchive(tarball.string(), out.string(), Whiteouts::kOverlay);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message.rfind(tarball.string(), 0), 0u) << status.error().message;
}

}  // namespace
}  // namespace mantle::images
