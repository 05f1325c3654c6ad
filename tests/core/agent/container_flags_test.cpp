// The agent's container security flags: start-up checks naming the flag, and
// how --secret_resolver, the capability and the seccomp flags reach the
// modules' declarations (the manifest wins).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/container_flags.hpp"
#include "temp_dir.hpp"

namespace mantle::agent {
namespace {

using ::testing::HasSubstr;

modules::Manifest manifestOf(const std::string& json) {
  modules::Manifest manifest;
  Status loaded = modules::loadManifest(json, manifest);
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  return manifest;
}

const char* const kHardening = R"({"libraries":[{"name":"mantle_hardening","modules":[
  {"name":"linux/capabilities","kind":"isolator","config":{"bounding_capabilities":["CHOWN"]}},
  {"name":"linux/seccomp","kind":"isolator"}]},
  {"name":"mantle_secrets","modules":[{"name":"secrets/directory","kind":"secret_resolver","config":{"dir":"/s"}}]}]})";

TEST(ContainerFlagsTest, BadFlagsStopTheAgentNamingTheFlag) {
  ContainerFlags flags;
  flags.seccompConfigDir = "/no/such/dir";
  Status checked = checkContainerFlags(flags);
  ASSERT_FALSE(checked.ok());
  EXPECT_THAT(checked.error().message, HasSubstr("--seccomp_config_dir: '/no/such/dir' is not a directory"));

  flags = {};
  flags.seccompProfileName = "default.json";
  EXPECT_THAT(checkContainerFlags(flags).error().message,
              HasSubstr("--seccomp_profile_name needs --seccomp_config_dir"));

  flags = {};
  flags.effectiveCapabilities = R"({"capabilities": "NET_RAW"})";
  EXPECT_THAT(checkContainerFlags(flags).error().message, HasSubstr("--effective_capabilities: expected"));
  flags.effectiveCapabilities = R"({"capabilities": [)";
  EXPECT_THAT(checkContainerFlags(flags).error().message, HasSubstr("--effective_capabilities: not valid JSON"));
}

TEST(ContainerFlagsTest, FlagsFillInTheHardeningIsolatorsConfigWhereTheManifestLeavesItOut) {
  testing::TempDir profiles;
  ContainerFlags flags;
  flags.effectiveCapabilities = R"({"capabilities": ["NET_RAW", "CHOWN"]})";
  flags.boundingCapabilities = "NET_RAW, CHOWN,KILL";
  flags.seccompConfigDir = profiles.path().string();
  flags.seccompProfileName = "default.json";
  ASSERT_TRUE(checkContainerFlags(flags).ok());
  const modules::Manifest declared = manifestOf(kHardening);
  modules::Manifest used;
  for (const char* instance : {"linux/capabilities", "linux/seccomp"})
    ASSERT_TRUE(used.add(*declared.find(instance)).ok());
  ASSERT_TRUE(addContainerModules(flags, declared, used).ok());

  const Json::Value& capabilities = used.find("linux/capabilities")->config;
  ASSERT_EQ(capabilities["effective_capabilities"].size(), 2u);
  EXPECT_EQ(capabilities["effective_capabilities"][0].asString(), "NET_RAW");
  EXPECT_EQ(capabilities["bounding_capabilities"].size(), 1u) << "the manifest's value wins";
  const Json::Value& seccomp = used.find("linux/seccomp")->config;
  EXPECT_EQ(seccomp["config_dir"].asString(), profiles.path().string());
  EXPECT_EQ(seccomp["profile_name"].asString(), "default.json");
  EXPECT_EQ(used.find("secrets/directory"), nullptr) << "no --secret_resolver, no resolver loaded";

  // Without the isolators the flags would do nothing: refused.
  modules::Manifest none;
  Status refused = addContainerModules(flags, declared, none);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message,
              HasSubstr("--effective_capabilities needs the linux/capabilities isolator in --isolation"));
  flags.effectiveCapabilities.reset();
  flags.boundingCapabilities.reset();
  EXPECT_THAT(addContainerModules(flags, declared, none).error().message,
              HasSubstr("--seccomp_config_dir needs the linux/seccomp isolator in --isolation"));
}

TEST(ContainerFlagsTest, TheSecretResolverMustBeDeclaredAndIsLoadedWhenNamed) {
  const modules::Manifest declared = manifestOf(kHardening);
  ContainerFlags flags;
  flags.secretResolver = "vault";
  modules::Manifest used;
  Status missing = addContainerModules(flags, declared, used);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message,
              HasSubstr("--secret_resolver: no module instance 'vault' is declared (--modules)"));
  flags.secretResolver = "secrets/directory";
  ASSERT_TRUE(addContainerModules(flags, declared, used).ok());
  ASSERT_NE(used.find("secrets/directory"), nullptr);
  EXPECT_EQ(used.find("secrets/directory")->config["dir"].asString(), "/s");
}

}  // namespace
}  // namespace mantle::agent
