// The hardening isolators' parsing: capability names and numbers, rlimits and
// seccomp profiles, and a compiled profile loaded in a real child process.
#include "linux_info.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace mantle::isolators::hardening {
namespace {

TEST(LinuxInfoTest, CapabilityNamesAreReadWithOrWithoutThePrefixInAnyCase) {
  Result<std::uint64_t> mask = capabilityMask({"NET_RAW", "cap_chown", "Sys_Admin"}, "flag");
  ASSERT_TRUE(mask.ok()) << mask.error().message;
  EXPECT_EQ(*mask, (1ULL << 13) | (1ULL << 0) | (1ULL << 21));
  EXPECT_EQ(capabilityNames(*mask), "CHOWN,NET_RAW,SYS_ADMIN");
}

TEST(LinuxInfoTest, AnUnknownCapabilityNameIsAnErrorNamingTheFieldAndTheName) {
  Result<std::uint64_t> mask = capabilityMask({"NET_RAW", "NET_TELEPATHY"}, "effective_capabilities");
  ASSERT_FALSE(mask.ok());
  EXPECT_NE(mask.error().message.find("effective_capabilities"), std::string::npos);
  EXPECT_NE(mask.error().message.find("NET_TELEPATHY"), std::string::npos);
}

TEST(LinuxInfoTest, MesosCapabilityNumbersAreTheCapabilityPlusAThousand) {
  v1::ContainerInfo::LinuxInfo::Capabilities caps;
  caps.add_capabilities(1013);  // NET_RAW
  caps.add_capabilities(1000);  // CHOWN
  Result<std::uint64_t> mask = capabilityMask(caps, "linux_info.bounding_capabilities");
  ASSERT_TRUE(mask.ok());
  EXPECT_EQ(*mask, (1ULL << 13) | 1ULL);
  caps.add_capabilities(1999);
  mask = capabilityMask(caps, "linux_info.bounding_capabilities");
  ASSERT_FALSE(mask.ok());
  EXPECT_NE(mask.error().message.find("linux_info.bounding_capabilities: unknown capability 1999"), std::string::npos);
}

TEST(LinuxInfoTest, RLimitsMapMesosTypesAndUnsetLimitsMeanUnlimited) {
  v1::ContainerInfo::RLimitInfo info;
  auto* files = info.add_rlimits();
  files->set_type(10);  // RLMT_NOFILE
  files->set_soft(100);
  files->set_hard(200);
  info.add_rlimits()->set_type(2);  // RLMT_CORE, unlimited
  auto limits = rlimitsOf(info);
  ASSERT_TRUE(limits.ok()) << limits.error().message;
  ASSERT_EQ(limits->size(), 2u);
  EXPECT_EQ((*limits)[0].resource(), static_cast<std::uint32_t>(RLIMIT_NOFILE));
  EXPECT_EQ((*limits)[0].soft(), 100u);
  EXPECT_EQ((*limits)[0].hard(), 200u);
  EXPECT_EQ((*limits)[1].resource(), static_cast<std::uint32_t>(RLIMIT_CORE));
  EXPECT_EQ((*limits)[1].soft(), RLIM_INFINITY);
  EXPECT_EQ((*limits)[1].hard(), RLIM_INFINITY);
}

TEST(LinuxInfoTest, AnRLimitWithSoftAboveHardOrOnlyOneOfThemOrAnUnknownTypeIsAnErrorNamingIt) {
  v1::ContainerInfo::RLimitInfo info;
  info.add_rlimits()->set_type(3);
  auto* inverted = info.add_rlimits();
  inverted->set_type(10);
  inverted->set_soft(300);
  inverted->set_hard(200);
  auto limits = rlimitsOf(info);
  ASSERT_FALSE(limits.ok());
  EXPECT_NE(limits.error().message.find("rlimit_info.rlimits[1]: soft limit 300 is above hard limit 200"),
            std::string::npos)
      << limits.error().message;
  inverted->clear_hard();
  limits = rlimitsOf(info);
  ASSERT_FALSE(limits.ok());
  EXPECT_NE(limits.error().message.find("rlimit_info.rlimits[1]: soft and hard"), std::string::npos);
  inverted->set_type(17);
  limits = rlimitsOf(info);
  ASSERT_FALSE(limits.ok());
  EXPECT_NE(limits.error().message.find("rlimit_info.rlimits[1].type"), std::string::npos);
}

TEST(LinuxInfoTest, AProfileThatIsNotJsonOrNamesAnUnknownActionIsAnErrorNamingIt) {
  auto broken = compileSeccompProfile("{\"defaultAction\": ", "profile x.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("profile x.json: not JSON"), std::string::npos);
  auto action = compileSeccompProfile(
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_MAYBE"}]})",
      "profile y.json");
  ASSERT_FALSE(action.ok());
  EXPECT_NE(action.error().message.find("profile y.json: syscalls[0].action: unknown action 'SCMP_ACT_MAYBE'"),
            std::string::npos)
      << action.error().message;
  auto noDefault = compileSeccompProfile(R"({"syscalls": []})", "z");
  ASSERT_FALSE(noDefault.ok());
  EXPECT_NE(noDefault.error().message.find("defaultAction"), std::string::npos);
}

TEST(LinuxInfoTest, ACompiledProfileMakesTheDeniedSyscallFailWithItsErrnoInTheProcessThatLoadsIt) {
  // Also rules for other architectures and unknown syscall names, as Docker's
  // default profile has them: skipped, not errors.
  auto program = compileSeccompProfile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["mkdir", "mkdirat", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
      {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["s390x"]}},
      {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]})",
                                       "test");
  ASSERT_TRUE(program.ok()) << program.error().message;
  ASSERT_EQ(program->size() % sizeof(sock_filter), 0u);
  mantle::testing::TempDir dir;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sock_fprog fprog{static_cast<unsigned short>(program->size() / sizeof(sock_filter)),
                     reinterpret_cast<sock_filter*>(program->data())};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
      _exit(2);
    }
    const bool denied = mkdir((dir.path() / "d").c_str(), 0755) != 0 && errno == 28;
    const bool othersAllowed = getpid() > 0 && getppid() > 0 && access(dir.path().c_str(), F_OK) == 0;
    _exit(denied && othersAllowed ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "d"));
}

}  // namespace
}  // namespace mantle::isolators::hardening
