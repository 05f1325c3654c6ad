// A CNI bridge network of one test (or benchmark) on this host, for
// network/cni: a bridge name and a private /24 of this process, Debian's
// plugins, the configuration and host-local store in a directory of the
// caller's. It records the host's iptables rules and ip_forward when made,
// tells what the isolator left (veths, rules, addresses, namespace mounts),
// and on destruction removes whatever is left even when the test failed:
// the processes in the containers' namespaces, the namespace mounts, the
// veths and the bridge, every rule and chain added, and ip_forward as it was.
// One exists at a time on a host (an flock held from create to destruction):
// portmap's chains and ip_forward are shared, and tests running at once would
// each restore what they saw.
#pragma once

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "module_manifest.hpp"

namespace mantle::testing {

class CniTestNetwork {
 public:
  // kFailedPrecondition (the reason to skip) without root, the plugins in
  // /usr/lib/cni, iptables and iproute2, or when this process's subnet or
  // bridge is taken. `dir` holds cni/ (configurations), plugins/ (extra
  // plugins), ipam/ (host-local's store) and run/ (the isolator's runtime_dir).
  static Result<std::unique_ptr<CniTestNetwork>> create(const std::filesystem::path& dir);
  ~CniTestNetwork();
  CniTestNetwork(const CniTestNetwork&) = delete;
  CniTestNetwork& operator=(const CniTestNetwork&) = delete;

  const std::string& bridge() const { return bridge_; }
  // "10.A.B." : the subnet is prefix() + "0/24", the bridge's address prefix() + "1".
  const std::string& prefix() const { return prefix_; }
  std::filesystem::path configDir() const { return dir_ / "cni"; }
  std::filesystem::path pluginsDir() const { return dir_ / "plugins"; }
  std::filesystem::path runtimeDir() const { return dir_ / "run"; }
  // The isolator's root directory under runtimeDir().
  std::filesystem::path cniRoot() const { return runtimeDir() / "isolators/network/cni"; }

  // Writes configDir()/file: network `name`, a bridge on bridge() with
  // host-local addresses from the subnet, then portmap when `portmap`.
  void writeNetwork(const std::string& file, const std::string& name, bool portmap) const;

  // The network/cni module of a --modules manifest on this network; with
  // `persist`, network_cni_root_dir_persist.
  ManifestModule module(int pluginTimeoutMs = 20000, bool persist = false) const;
  // A manifest (inline JSON) of that module alone.
  std::string manifest(int pluginTimeoutMs = 20000, bool persist = false) const;

  // What is there now: veths on the bridge (ip -o link lines), addresses
  // host-local holds, rules and chains added since create (but for
  // portmap's shared CNI-HOSTPORT-* set-up), namespace mounts under dir.
  std::string vethsOnBridge() const;
  std::vector<std::string> ipamAllocations() const;
  std::vector<std::string> newRules() const;
  std::vector<std::filesystem::path> namespaceMounts() const;
  // Unmounts what is mounted under `dir` too when this goes away (an agent
  // work dir holding the isolator's root with network_cni_root_dir_persist).
  void alsoUnmountUnder(const std::filesystem::path& dir) { extraDirs_.push_back(dir); }
  // None of the above, and no container directory left in cniRoot().
  bool clean() const;

 private:
  CniTestNetwork(std::filesystem::path dir, std::string bridge, std::string prefix, int lock);
  void removeEverything();

  std::filesystem::path dir_;
  std::string bridge_;
  std::string prefix_;
  std::set<std::string> rulesBefore_;
  std::string ipForward_;
  std::vector<std::filesystem::path> extraDirs_;
  int lock_;  // the host-wide lock's descriptor
};

}  // namespace mantle::testing
