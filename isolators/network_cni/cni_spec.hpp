// The Container Network Interface as network/cni speaks it: network
// configuration files (.conf, one plugin; .conflist, a chain), the JSON a
// plugin reads on stdin, the results it prints (result versions 0.1.0 to
// 1.0.0) and its error output. No I/O beyond reading the config directory.
#pragma once

#include <json/value.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::isolators::cni {

// One network: a .conf file (one plugin) or a .conflist (plugins run in
// order on ADD, each given the previous one's result as prevResult).
struct NetworkConfig {
  std::string name;
  std::string file;  // where it was read, for messages
  std::string cniVersion;
  // Each plugin's configuration ("type", "ipam", ...) as in the file.
  std::vector<Json::Value> plugins;
  // The whole file, as read: kept beside a container so that DEL runs with
  // the configuration ADD ran with, whatever happened to the directory since.
  Json::Value source;
};

// A network configuration text; errors name `file` and the field.
Result<NetworkConfig> parseNetworkConfig(std::string_view text, const std::string& file);

// The networks of a configuration directory (files ending in .conf,
// .conflist or .json, as libcni reads them) by name; files that do not parse
// are listed in `errors` (one line each, naming the file).
struct ConfigDirectory {
  std::map<std::string, NetworkConfig> networks;
  std::vector<std::string> errors;
};
Result<ConfigDirectory> loadConfigDirectory(const std::string& dir);

// What the runtime adds to a plugin's configuration beyond the file.
struct Invocation {
  Json::Value prevResult;    // null: none (the first plugin of an ADD)
  Json::Value portMappings;  // runtimeConfig.portMappings for plugins with that capability; null: none
  Json::Value args;          // "args" (Mesos: {"org.apache.mesos": {"network_info": ...}}); null: none
};

// Whether plugin `index` declares the portMappings capability.
bool hasPortMappingsCapability(const NetworkConfig& config, std::size_t index);

// The stdin of plugin `index` of `config`: its configuration with the
// network's name and cniVersion, and what `invocation` adds.
std::string pluginInput(const NetworkConfig& config, std::size_t index, const Invocation& invocation);

struct IpAddress {
  bool v6 = false;
  std::string address;  // without the prefix length
};

// What network/cni reads of a plugin's ADD result.
struct AddResult {
  std::vector<IpAddress> ips;
  std::vector<std::string> nameservers;
  std::vector<std::string> search;
  std::string domain;
  Json::Value json;  // the result as printed: the next plugin's prevResult
};

// A plugin's ADD result: "ips" (0.3.0 and later) or "ip4"/"ip6" (0.1.0,
// 0.2.0), and "dns". `source` names the plugin in errors.
Result<AddResult> parseAddResult(std::string_view text, const std::string& source);

// One line out of a failed plugin's output: its CNI error ({"code", "msg",
// "details"} on stdout) or else its stderr, and the exit status.
std::string pluginFailure(std::string_view out, std::string_view err, int exitStatus);

}  // namespace mantle::isolators::cni
