#include "cni_network.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json/value.h>
#include <json/writer.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "mounts.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPluginDir = "/usr/lib/cni";

// What a shell command printed (stdout), "" when it could not run.
std::string shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  ::pclose(pipe);
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The rules and chains of the nat and filter tables, without counters.
std::set<std::string> iptablesRules() {
  std::set<std::string> out;
  for (const char* table : {"nat", "filter"}) {
    for (const std::string& line : lines(shell(std::string("iptables-save -t ") + table + " 2>/dev/null"))) {
      if (line.rfind("-A ", 0) == 0) out.insert(std::string(table) + " " + line);
      if (line.rfind(":", 0) == 0) out.insert(std::string(table) + " " + line.substr(0, line.find(' ')));
    }
  }
  return out;
}

std::string compact(const Json::Value& value) {
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, value);
}

}  // namespace

Result<std::unique_ptr<CniTestNetwork>> CniTestNetwork::create(const fs::path& dir) {
  auto skip = [](const std::string& why) { return Error(StatusCode::kFailedPrecondition, why); };
  if (::geteuid() != 0) return skip("network namespaces, bridges and iptables need root");
  for (const char* plugin : {"bridge", "host-local", "portmap", "loopback"}) {
    if (::access((std::string(kPluginDir) + "/" + plugin).c_str(), X_OK) != 0) {
      return skip(std::string("needs the CNI plugins in ") + kPluginDir + " (containernetworking-plugins)");
    }
  }
  if (shell("command -v iptables-save").empty() || shell("command -v ip").empty()) {
    return skip("needs iptables and iproute2");
  }
  // One test network at a time on this host; the snapshot below is taken under the lock.
  const int lock = ::open("/run/lock/mantle-cni-test-network.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    if (lock >= 0) ::close(lock);
    return Error(StatusCode::kFailedPrecondition, "cannot lock /run/lock/mantle-cni-test-network.lock");
  }
  // A bridge name and a /24 of this process: 10.(200..249).(0..249).0/24.
  const pid_t pid = ::getpid();
  const std::string bridge = "mtlcni" + std::to_string(pid % 100000);
  const std::string prefix = "10." + std::to_string(200 + pid % 50) + "." + std::to_string((pid / 50) % 250) + ".";
  const std::string route = shell("ip -4 route show to match " + prefix + "1");
  const bool taken = (!route.empty() && route.find("default") == std::string::npos) ||
                     !shell("ip link show " + bridge + " 2>/dev/null").empty();
  if (taken) {
    ::close(lock);
    return skip(prefix + "0/24 or " + bridge + " is in use on this host already");
  }
  std::unique_ptr<CniTestNetwork> network(new CniTestNetwork(dir, bridge, prefix, lock));
  fs::create_directories(network->configDir());
  fs::create_directories(network->pluginsDir());
  return network;
}

CniTestNetwork::CniTestNetwork(fs::path dir, std::string bridge, std::string prefix, int lock)
    : dir_(std::move(dir)),
      bridge_(std::move(bridge)),
      prefix_(std::move(prefix)),
      rulesBefore_(iptablesRules()),
      ipForward_(readText("/proc/sys/net/ipv4/ip_forward")),
      lock_(lock) {}

CniTestNetwork::~CniTestNetwork() {
  removeEverything();
  ::close(lock_);  // releases the lock
}

void CniTestNetwork::writeNetwork(const std::string& file, const std::string& name, bool portmap) const {
  Json::Value config;
  config["cniVersion"] = "1.0.0";
  config["name"] = name;
  Json::Value bridge;
  bridge["type"] = "bridge";
  bridge["bridge"] = bridge_;
  bridge["isGateway"] = true;
  bridge["ipMasq"] = false;
  bridge["ipam"]["type"] = "host-local";
  bridge["ipam"]["subnet"] = prefix_ + "0/24";
  bridge["ipam"]["dataDir"] = (dir_ / "ipam").string();
  config["plugins"].append(bridge);
  if (portmap) {
    Json::Value mapper;
    mapper["type"] = "portmap";
    mapper["capabilities"]["portMappings"] = true;
    config["plugins"].append(mapper);
  }
  std::ofstream(configDir() / file) << compact(config);
}

ManifestModule CniTestNetwork::module(int pluginTimeoutMs, bool persist) const {
  Json::Value config;
  config["network_cni_config_dir"] = configDir().string();
  config["network_cni_plugins_dir"] = pluginsDir().string() + ":" + kPluginDir;
  config["runtime_dir"] = runtimeDir().string();
  config["plugin_timeout_ms"] = pluginTimeoutMs;
  config["network_cni_root_dir_persist"] = persist;
  return isolatorModule("mantle_network_cni", "network/cni", config);
}

std::string CniTestNetwork::manifest(int pluginTimeoutMs, bool persist) const {
  return moduleManifest({module(pluginTimeoutMs, persist)});
}

std::string CniTestNetwork::vethsOnBridge() const {
  return shell("ip -o link show master " + bridge_ + " 2>/dev/null");
}

std::vector<std::string> CniTestNetwork::ipamAllocations() const {
  std::vector<std::string> out;
  std::error_code error;
  const std::regex address(R"(\d+\.\d+\.\d+\.\d+)");
  for (fs::recursive_directory_iterator it(dir_ / "ipam", error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (std::regex_match(name, address)) out.push_back(name);
  }
  return out;
}

std::vector<std::string> CniTestNetwork::newRules() const {
  std::vector<std::string> out;
  for (const std::string& rule : iptablesRules()) {
    if (rulesBefore_.count(rule) == 0 && rule.find("CNI-HOSTPORT-") == std::string::npos) out.push_back(rule);
  }
  return out;
}

std::vector<fs::path> CniTestNetwork::namespaceMounts() const {
  const std::vector<std::string> mounts = mountsUnder(dir_);
  return {mounts.begin(), mounts.end()};
}

bool CniTestNetwork::clean() const {
  std::error_code error;
  return vethsOnBridge().empty() && ipamAllocations().empty() && newRules().empty() && namespaceMounts().empty() &&
         (!fs::exists(cniRoot(), error) || fs::is_empty(cniRoot(), error));
}

void CniTestNetwork::removeEverything() {
  std::error_code error;
  // Processes in the namespaces the isolator holds.
  for (fs::directory_iterator it(cniRoot(), error), end; !error && it != end; it.increment(error)) {
    struct stat ns {};
    if (::stat((it->path() / "ns").c_str(), &ns) != 0) continue;
    std::error_code procError;
    for (fs::directory_iterator proc("/proc", procError), stop; !procError && proc != stop; proc.increment(procError)) {
      struct stat other {};
      if (::stat((proc->path() / "ns/net").c_str(), &other) == 0 && other.st_ino == ns.st_ino &&
          other.st_dev == ns.st_dev) {
        ::kill(std::atoi(proc->path().filename().c_str()), SIGKILL);
      }
    }
  }
  unmountAllUnder(dir_);
  for (const fs::path& dir : extraDirs_) unmountAllUnder(dir);
  const std::regex name(R"(^\d+: ([^@:]+))");
  for (const std::string& line : lines(vethsOnBridge())) {
    std::smatch match;
    if (std::regex_search(line, match, name)) shell("ip link del " + match[1].str());
  }
  shell("ip link del " + bridge_ + " 2>/dev/null");
  // Rules first (with -D), then the chains they jumped to.
  std::vector<std::pair<std::string, std::string>> added;  // table, rule or ":chain"
  for (const std::string& rule : iptablesRules()) {
    if (rulesBefore_.count(rule) == 0)
      added.emplace_back(rule.substr(0, rule.find(' ')), rule.substr(rule.find(' ') + 1));
  }
  for (const auto& [table, body] : added) {
    if (body.rfind("-A ", 0) == 0) shell("iptables -t " + table + " -D " + body.substr(3) + " 2>/dev/null");
  }
  for (const auto& [table, body] : added) {
    if (body.rfind(":", 0) != 0) continue;
    const std::string chain = body.substr(1);
    shell("iptables -t " + table + " -F " + chain + " 2>/dev/null; iptables -t " + table + " -X " + chain +
          " 2>/dev/null");
  }
  std::ofstream("/proc/sys/net/ipv4/ip_forward") << ipForward_;
}

}  // namespace mantle::testing
