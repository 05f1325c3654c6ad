#include "cni_spec.hpp"

#include <json/writer.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mantle/common/strict_json.hpp"

namespace mantle::isolators::cni {

namespace fs = std::filesystem;

namespace {

// The CNI spec's network names: ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ (they also
// name directories here).
bool validName(const std::string& name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

Status checkPlugin(const Json::Value& plugin, const std::string& where) {
  if (!plugin.isObject()) return invalidArgument(where + ": expected an object, got " + json::typeName(plugin));
  const Json::Value& type = plugin["type"];
  if (!type.isString() || type.asString().empty()) return invalidArgument(where + ".type: missing or not a string");
  const std::string name = type.asString();
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    return invalidArgument(where + ".type: '" + name + "' is not a plugin name");
  }
  return {};
}

std::string compact(const Json::Value& value) {
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, value);
}

// "10.1.0.2/24" -> "10.1.0.2".
std::string withoutPrefix(const std::string& cidr) {
  return cidr.substr(0, cidr.find('/'));
}

}  // namespace

Result<NetworkConfig> parseNetworkConfig(std::string_view text, const std::string& file) {
  Result<Json::Value> parsed = json::parseStrict(text, file);
  if (!parsed.ok()) return parsed.error();
  const Json::Value& root = *parsed;
  if (!root.isObject()) return invalidArgument(file + ": expected an object, got " + json::typeName(root));
  NetworkConfig config;
  config.file = file;
  config.source = root;
  const Json::Value& name = root["name"];
  if (!name.isString()) return invalidArgument(file + ": name: missing or not a string");
  config.name = name.asString();
  if (!validName(config.name)) {
    return invalidArgument(file + ": name '" + config.name +
                           "' is not a CNI network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
  }
  const Json::Value& version = root["cniVersion"];
  if (!version.isNull() && !version.isString()) return invalidArgument(file + ": cniVersion: not a string");
  config.cniVersion = version.isString() ? version.asString() : "0.1.0";
  if (root.isMember("plugins")) {
    const Json::Value& plugins = root["plugins"];
    if (!plugins.isArray() || plugins.empty()) return invalidArgument(file + ": plugins: expected a non-empty array");
    for (Json::ArrayIndex i = 0; i < plugins.size(); ++i) {
      if (Status ok = checkPlugin(plugins[i], file + ": plugins[" + std::to_string(i) + "]"); !ok.ok()) {
        return ok.error();
      }
      config.plugins.push_back(plugins[i]);
    }
  } else {
    if (Status ok = checkPlugin(root, file); !ok.ok()) return ok.error();
    config.plugins.push_back(root);
  }
  return config;
}

Result<ConfigDirectory> loadConfigDirectory(const std::string& dir) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error) return notFound("cannot list " + dir + ": " + error.message());
  std::vector<fs::path> files;
  for (fs::directory_iterator end; it != end; it.increment(error)) {
    if (error) return internalError("cannot list " + dir + ": " + error.message());
    const std::string ext = it->path().extension().string();
    if ((ext == ".conf" || ext == ".conflist" || ext == ".json") && it->is_regular_file(error)) {
      files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());  // libcni's order: the first file naming a network wins
  ConfigDirectory out;
  for (const fs::path& path : files) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      out.errors.push_back(path.string() + ": cannot read");
      continue;
    }
    Result<NetworkConfig> config = parseNetworkConfig(text.str(), path.string());
    if (!config.ok()) {
      out.errors.push_back(config.error().message);
      continue;
    }
    if (out.networks.count(config->name) != 0) {
      out.errors.push_back(path.string() + ": network '" + config->name + "' is also defined in " +
                           out.networks[config->name].file + " (ignored)");
      continue;
    }
    out.networks.emplace(config->name, std::move(*config));
  }
  return out;
}

bool hasPortMappingsCapability(const NetworkConfig& config, std::size_t index) {
  const Json::Value& capabilities = config.plugins.at(index)["capabilities"];
  return capabilities.isObject() && capabilities["portMappings"].isBool() && capabilities["portMappings"].asBool();
}

std::string pluginInput(const NetworkConfig& config, std::size_t index, const Invocation& invocation) {
  Json::Value input = config.plugins.at(index);
  input["name"] = config.name;
  input["cniVersion"] = config.cniVersion;
  if (!invocation.prevResult.isNull()) input["prevResult"] = invocation.prevResult;
  if (!invocation.portMappings.isNull() && hasPortMappingsCapability(config, index)) {
    input["runtimeConfig"]["portMappings"] = invocation.portMappings;
  }
  if (!invocation.args.isNull()) {
    for (const std::string& key : invocation.args.getMemberNames()) input["args"][key] = invocation.args[key];
  }
  return compact(input);
}

Result<AddResult> parseAddResult(std::string_view text, const std::string& source) {
  Json::CharReaderBuilder settings;
  Result<Json::Value> parsed = json::parseWith(settings, text);
  if (!parsed.ok()) return invalidArgument(source + " printed a result that is not JSON: " + parsed.error().message);
  if (!parsed->isObject()) return invalidArgument(source + " printed a result that is not an object");
  const Json::Value& root = *parsed;
  AddResult result;
  result.json = root;
  auto addressOf = [&](const Json::Value& entry, bool v6, const std::string& field) -> Status {
    const Json::Value& address = entry.isMember("address") ? entry["address"] : entry["ip"];
    if (!address.isString() || address.asString().empty()) {
      return invalidArgument(source + " printed a result whose " + field + " has no address");
    }
    const std::string ip = withoutPrefix(address.asString());
    result.ips.push_back({v6 || ip.find(':') != std::string::npos, ip});
    return {};
  };
  if (root.isMember("ips")) {  // 0.3.0, 0.3.1, 0.4.0, 1.0.0
    const Json::Value& ips = root["ips"];
    if (!ips.isArray()) return invalidArgument(source + " printed a result whose ips is not an array");
    for (Json::ArrayIndex i = 0; i < ips.size(); ++i) {
      const bool v6 = ips[i]["version"].isString() && ips[i]["version"].asString() == "6";
      if (Status ok = addressOf(ips[i], v6, "ips[" + std::to_string(i) + "]"); !ok.ok()) return ok.error();
    }
  }
  for (const char* field : {"ip4", "ip6"}) {  // 0.1.0, 0.2.0
    if (root[field].isObject()) {
      if (Status ok = addressOf(root[field], field[2] == '6', field); !ok.ok()) return ok.error();
    }
  }
  const Json::Value& dns = root["dns"];
  if (dns.isObject()) {
    for (const Json::Value& server : dns["nameservers"]) {
      if (server.isString()) result.nameservers.push_back(server.asString());
    }
    for (const Json::Value& domain : dns["search"]) {
      if (domain.isString()) result.search.push_back(domain.asString());
    }
    if (dns["domain"].isString()) result.domain = dns["domain"].asString();
  }
  return result;
}

std::string pluginFailure(std::string_view out, std::string_view err, int exitStatus) {
  std::string message;
  Json::CharReaderBuilder settings;
  if (Result<Json::Value> parsed = json::parseWith(settings, out); parsed.ok() && parsed->isObject()) {
    const Json::Value& root = *parsed;
    if (root["msg"].isString()) message = root["msg"].asString();
    if (root["details"].isString() && !root["details"].asString().empty()) {
      message += " (" + root["details"].asString() + ")";
    }
    if (root["code"].isIntegral()) message += " [CNI error " + std::to_string(root["code"].asInt()) + "]";
  }
  if (message.empty()) {
    std::string text(err.empty() ? out : err);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    std::replace(text.begin(), text.end(), '\n', ' ');
    if (text.size() > 400) text = text.substr(0, 400) + "...";
    message = text.empty() ? "no output" : text;
  }
  return message + " (exit status " + std::to_string(exitStatus) + ")";
}

}  // namespace mantle::isolators::cni
