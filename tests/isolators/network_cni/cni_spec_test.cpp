// network/cni's side of the CNI protocol without a network: configuration
// files, the stdin each plugin gets, the results of every result version the
// Debian plugins print, plugin errors, and the plugin runner's environment,
// exit status and deadline on real (shell script) plugins.
#include "cni_spec.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "mantle/common/strict_json.hpp"
#include "plugin_runner.hpp"
#include "temp_dir.hpp"

namespace mantle::isolators::cni {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChain = R"({"cniVersion": "1.0.0", "name": "web",
  "plugins": [{"type": "bridge", "bridge": "br9", "ipam": {"type": "host-local", "subnet": "10.9.0.0/24"}},
              {"type": "portmap", "capabilities": {"portMappings": true}}]})";

Json::Value parsed(const std::string& text) {
  Result<Json::Value> value = json::parseStrict(text, "test");
  EXPECT_TRUE(value.ok()) << text;
  return value.ok() ? *value : Json::Value();
}

TEST(CniSpecTest, AConflistIsAChainOfPluginsUnderOneNameAndVersion) {
  Result<NetworkConfig> config = parseNetworkConfig(kChain, "web.conflist");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->name, "web");
  EXPECT_EQ(config->cniVersion, "1.0.0");
  ASSERT_EQ(config->plugins.size(), 2u);
  EXPECT_FALSE(hasPortMappingsCapability(*config, 0));
  EXPECT_TRUE(hasPortMappingsCapability(*config, 1));
}

TEST(CniSpecTest, AConfIsOnePluginAndItsVersionDefaultsToTheFirst) {
  Result<NetworkConfig> config = parseNetworkConfig(R"({"name": "lo", "type": "loopback"})", "lo.conf");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->plugins.size(), 1u);
  EXPECT_EQ(config->cniVersion, "0.1.0");
  Json::Value input = parsed(pluginInput(*config, 0, {}));
  EXPECT_EQ(input["type"].asString(), "loopback");
  EXPECT_EQ(input["name"].asString(), "lo");
  EXPECT_FALSE(input.isMember("prevResult"));
}

TEST(CniSpecTest, MalformedConfigurationsAreErrorsNamingTheFileAndField) {
  struct Case {
    const char* text;
    const char* field;
  };
  for (const Case& c : {Case{R"({"name": "x", "plugins": [{"ipam": {}}]})", "plugins[0].type"},
                        Case{R"({"name": "x", "plugins": []})", "plugins"}, Case{R"({"type": "bridge"})", "name"},
                        Case{R"({"name": "../etc", "type": "bridge"})", "name '../etc'"},
                        Case{R"({"name": "x", "type": "../../bin/sh"})", "type"},
                        Case{R"({"name": "x", "type": "bridge",})", "not valid JSON"}}) {
    Result<NetworkConfig> config = parseNetworkConfig(c.text, "/etc/cni/bad.conf");
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_NE(config.error().message.find("/etc/cni/bad.conf"), std::string::npos) << config.error().message;
    EXPECT_NE(config.error().message.find(c.field), std::string::npos) << config.error().message;
  }
}

TEST(CniSpecTest, TheConfigDirectoryListsItsNetworksAndTheFilesThatDoNotParse) {
  mantle::testing::TempDir dir;
  dir.write("10-web.conflist", kChain);
  dir.write("20-lo.conf", R"({"name": "lo", "type": "loopback"})");
  dir.write("30-broken.conf", R"({"name": )");
  dir.write("40-again.conf", R"({"name": "lo", "type": "loopback"})");
  dir.write("README", "not a config");
  Result<ConfigDirectory> loaded = loadConfigDirectory(dir.path().string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->networks.size(), 2u);
  EXPECT_EQ(loaded->networks.at("lo").file, (dir.path() / "20-lo.conf").string());
  ASSERT_EQ(loaded->errors.size(), 2u);
  EXPECT_NE(loaded->errors[0].find("30-broken.conf"), std::string::npos);
  EXPECT_NE(loaded->errors[1].find("also defined in"), std::string::npos);
  EXPECT_FALSE(loadConfigDirectory((dir.path() / "missing").string()).ok());
}

TEST(CniSpecTest, OnlyPluginsWithThePortMappingsCapabilityGetTheMappingsAndEachGetsThePreviousResult) {
  Result<NetworkConfig> config = parseNetworkConfig(kChain, "web.conflist");
  ASSERT_TRUE(config.ok());
  Invocation invocation;
  invocation.portMappings = parsed(R"([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}])");
  invocation.args = parsed(R"({"org.apache.mesos": {"network_info": {"name": "web"}}})");
  Json::Value bridge = parsed(pluginInput(*config, 0, invocation));
  EXPECT_FALSE(bridge.isMember("runtimeConfig"));
  EXPECT_EQ(bridge["cniVersion"].asString(), "1.0.0");
  EXPECT_EQ(bridge["args"]["org.apache.mesos"]["network_info"]["name"].asString(), "web");
  invocation.prevResult = parsed(R"({"cniVersion": "1.0.0", "ips": [{"address": "10.9.0.2/24"}]})");
  Json::Value portmap = parsed(pluginInput(*config, 1, invocation));
  EXPECT_EQ(portmap["runtimeConfig"]["portMappings"][0]["hostPort"].asInt(), 8080);
  EXPECT_EQ(portmap["prevResult"]["ips"][0]["address"].asString(), "10.9.0.2/24");
  EXPECT_EQ(portmap["name"].asString(), "web");
}

TEST(CniSpecTest, ResultsOfEveryVersionYieldTheirAddressesAndDns) {
  // 1.0.0 (no "version"), 0.3.1/0.4.0 ("version"), 0.2.0 (ip4/ip6).
  Result<AddResult> current = parseAddResult(
      R"({"cniVersion": "1.0.0", "ips": [{"interface": 2, "address": "10.9.0.2/24", "gateway": "10.9.0.1"},
          {"address": "fd00::2/64"}], "dns": {"nameservers": ["10.9.0.53"], "search": ["svc"], "domain": "local"}})",
      "bridge");
  ASSERT_TRUE(current.ok()) << current.error().message;
  ASSERT_EQ(current->ips.size(), 2u);
  EXPECT_EQ(current->ips[0].address, "10.9.0.2");
  EXPECT_FALSE(current->ips[0].v6);
  EXPECT_EQ(current->ips[1].address, "fd00::2");
  EXPECT_TRUE(current->ips[1].v6);
  EXPECT_EQ(current->nameservers, std::vector<std::string>{"10.9.0.53"});
  EXPECT_EQ(current->search, std::vector<std::string>{"svc"});
  EXPECT_EQ(current->domain, "local");
  Result<AddResult> v031 =
      parseAddResult(R"({"cniVersion": "0.3.1", "ips": [{"version": "4", "address": "10.9.0.3/24"}]})", "bridge");
  ASSERT_TRUE(v031.ok());
  EXPECT_EQ(v031->ips.at(0).address, "10.9.0.3");
  Result<AddResult> v020 =
      parseAddResult(R"({"cniVersion": "0.2.0", "ip4": {"ip": "10.9.0.4/24"}, "ip6": {"ip": "fd00::4/64"}})", "bridge");
  ASSERT_TRUE(v020.ok());
  ASSERT_EQ(v020->ips.size(), 2u);
  EXPECT_EQ(v020->ips[0].address, "10.9.0.4");
  EXPECT_TRUE(v020->ips[1].v6);
  Result<AddResult> bad = parseAddResult("not json", "network 'web': plugin 'bridge'");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("plugin 'bridge'"), std::string::npos);
  EXPECT_FALSE(parseAddResult(R"({"ips": [{"gateway": "10.9.0.1"}]})", "bridge").ok());
}

TEST(CniSpecTest, APluginFailureIsItsCniErrorElseItsStderr) {
  EXPECT_EQ(pluginFailure(R"({"code": 11, "msg": "no IP addresses available", "details": "range full"})", "", 1),
            "no IP addresses available (range full) [CNI error 11] (exit status 1)");
  EXPECT_EQ(pluginFailure("", "panic: boom\nstack\n", 2), "panic: boom stack (exit status 2)");
  EXPECT_EQ(pluginFailure("", "", 137), "no output (exit status 137)");
}

// An executable script in `dir`.
std::string script(const mantle::testing::TempDir& dir, const std::string& name, const std::string& body) {
  const auto path = dir.write(name, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  return path.string();
}

TEST(CniPluginRunnerTest, APluginGetsExactlyItsEnvironmentAndStdinAndItsOutputAndStatusComeBack) {
  mantle::testing::TempDir dir;
  const std::string plugin = script(dir, "echoer",
                                    "echo \"$CNI_COMMAND $CNI_IFNAME ${HOME:-nohome}\"; cat; "
                                    "echo oops >&2; exit 3\n");
  Result<PluginOutput> output = runPlugin(plugin, {"CNI_COMMAND=ADD", "CNI_IFNAME=eth1"}, "{\"x\": 1}", 5s);
  ASSERT_TRUE(output.ok()) << output.error().message;
  EXPECT_EQ(output->exitStatus, 3);
  EXPECT_EQ(output->out, "ADD eth1 nohome\n{\"x\": 1}");
  EXPECT_EQ(output->err, "oops\n");
  EXPECT_EQ(findPlugin({(dir.path() / "none").string(), dir.path().string()}, "echoer"), plugin);
  EXPECT_EQ(findPlugin({dir.path().string()}, "absent"), "");
}

TEST(CniPluginRunnerTest, APluginPastItsDeadlineIsKilledWithItsChildren) {
  mantle::testing::TempDir dir;
  const std::string pidFile = (dir.path() / "child.pid").string();
  const std::string plugin = script(dir, "hang", "sleep 60 & echo $! > " + pidFile + "; wait\n");
  const auto start = std::chrono::steady_clock::now();
  Result<PluginOutput> output = runPlugin(plugin, {}, "{}", 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().code, StatusCode::kDeadlineExceeded);
  EXPECT_NE(output.error().message.find("300 ms"), std::string::npos);
  // Its child went with it.
  std::string child;
  std::ifstream(pidFile) >> child;
  ASSERT_FALSE(child.empty());
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = ::kill(std::stoi(child), 0) != 0;
    if (!gone) ::usleep(10000);
  }
  EXPECT_TRUE(gone);
}

TEST(CniPluginRunnerTest, APluginThatClosesItsOutputAndHangsStillMeetsTheDeadline) {
  mantle::testing::TempDir dir;
  const std::string plugin = script(dir, "quiet", "exec >/dev/null 2>&1 </dev/null; sleep 60\n");
  Result<PluginOutput> output = runPlugin(plugin, {}, "{}", 300ms);
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().code, StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace mantle::isolators::cni
