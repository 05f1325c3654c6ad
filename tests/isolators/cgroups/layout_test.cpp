// cgroups_common's layout detection on the text of fixed /proc files: pure
// v1 (co-mounted controllers), pure v2, the hybrid layout, and cgroup
// namespaces. (The modules' tests run on whatever this machine has; these
// cover the shapes it does not.)
#include <gtest/gtest.h>

#include "devices.hpp"
#include "layout.hpp"

namespace mantle::isolators::cgroups_common {
namespace {

std::function<std::string(const std::filesystem::path&)> files(std::map<std::string, std::string> contents) {
  return [contents](const std::filesystem::path& path) {
    auto it = contents.find(path.string());
    return it == contents.end() ? std::string() : it->second;
  };
}

TEST(CgroupLayoutTest, PureV2UsesTheUnifiedHierarchyForItsControllers) {
  const std::string mountinfo =
      "24 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
      "25 1 0:5 / /proc rw,relatime shared:12 - proc proc rw\n";
  Result<Layout> layout = Layout::parse(mountinfo, "0::/system.slice/mantle-agent.service\n",
                                        files({{"/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n"}}));
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  std::optional<Hierarchy> memory = layout->find("memory");
  ASSERT_TRUE(memory.has_value());
  EXPECT_EQ(memory->version, Version::kV2);
  EXPECT_EQ(memory->ownDir(), "/sys/fs/cgroup/system.slice/mantle-agent.service");
  EXPECT_EQ(memory->rootDir("mantle"), "/sys/fs/cgroup/system.slice/mantle-agent.service/mantle");
  EXPECT_EQ(memory->rootDir("/mantle"), "/sys/fs/cgroup/mantle");
  EXPECT_EQ(memory->baseDir("/mantle"), "/sys/fs/cgroup");
  EXPECT_FALSE(layout->find("cpuacct").has_value());
  EXPECT_FALSE(layout->find("devices").has_value());
  EXPECT_TRUE(layout->v1().empty());
}

TEST(CgroupLayoutTest, HybridPrefersV1AndSeparatesCpuFromCpuacct) {
  const std::string mountinfo =
      "30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "31 25 0:27 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "32 25 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "33 25 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "34 25 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  const std::string self = "5:name=systemd:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";
  Result<Layout> layout =
      Layout::parse(mountinfo, self, files({{"/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb pids\n"}}));
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  EXPECT_EQ(layout->find("cpu")->mountPoint, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(layout->find("cpuacct")->mountPoint, "/sys/fs/cgroup/cpuacct");
  std::optional<Hierarchy> memory = layout->find("memory");
  ASSERT_TRUE(memory.has_value());
  EXPECT_EQ(memory->version, Version::kV1);
  EXPECT_EQ(memory->rootDir("mantle"), "/sys/fs/cgroup/memory/process_api/abc/mantle");
  // pids is not bound to v1 here: the unified hierarchy has it.
  std::optional<Hierarchy> pids = layout->find("pids");
  ASSERT_TRUE(pids.has_value());
  EXPECT_EQ(pids->version, Version::kV2);
  EXPECT_EQ(pids->mountPoint, "/sys/fs/cgroup/unified");
  EXPECT_FALSE(layout->find("freezer").has_value());
  EXPECT_NE(layout->describe().find("unified=v2:/sys/fs/cgroup/unified[hugetlb pids]"), std::string::npos)
      << layout->describe();
}

TEST(CgroupLayoutTest, CoMountedControllersShareAHierarchyAndMountRootsAreStripped) {
  // In a container: the hierarchy is mounted from /docker/abc, and
  // /proc/self/cgroup shows the full path.
  const std::string mountinfo =
      "40 35 0:33 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
      "41 35 0:34 /docker/abc /sys/fs/cgroup/my\\040mount rw - cgroup cgroup rw,pids\n";
  Result<Layout> layout = Layout::parse(mountinfo, "3:cpu,cpuacct:/docker/abc/agent\n2:pids:/docker/abc\n", files({}));
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  EXPECT_EQ(layout->find("cpu")->mountPoint, layout->find("cpuacct")->mountPoint);
  EXPECT_EQ(layout->find("cpu")->ownDir(), "/sys/fs/cgroup/cpu,cpuacct/agent");
  EXPECT_EQ(layout->find("pids")->ownDir(), "/sys/fs/cgroup/my mount");
  EXPECT_FALSE(layout->unified().has_value());
}

TEST(CgroupLayoutTest, NoCgroupsIsAnError) {
  Result<Layout> layout = Layout::parse("25 1 0:5 / /proc rw - proc proc rw\n", "", files({}));
  ASSERT_FALSE(layout.ok());
  EXPECT_EQ(layout.error().code, StatusCode::kFailedPrecondition);
}

TEST(DeviceEntryTest, ParsesFormatsAndCovers) {
  Result<DeviceEntry> any = parseDeviceEntry("c 195:* rwm");
  ASSERT_TRUE(any.ok()) << any.error().message;
  EXPECT_EQ(any->format(), "c 195:* rwm");
  Result<DeviceEntry> one = parseDeviceEntry("c 195:3 r");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(any->covers(*one));
  EXPECT_FALSE(one->covers(*any));
  EXPECT_TRUE(parseDeviceEntry("a")->covers(*one));
  Result<DeviceEntry> null = parseDeviceEntry("/dev/null rw");
  ASSERT_TRUE(null.ok()) << null.error().message;
  EXPECT_EQ(null->format(), "c 1:3 rw");
  for (const char* bad : {"x 1:3 rwm", "c 1 rwm", "c 1:3 rwx", "c a:3 r", "/etc/passwd"}) {
    EXPECT_FALSE(parseDeviceEntry(bad).ok()) << bad;
  }
  EXPECT_EQ(parseDeviceEntry("/no/such/device").error().code, StatusCode::kNotFound);
}

}  // namespace
}  // namespace mantle::isolators::cgroups_common
