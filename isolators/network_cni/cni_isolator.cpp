// libmantle_network_cni.so: network/cni, Mesos' CNI isolator. A container
// whose ContainerInfo.network_infos name networks gets a network namespace of
// its own (asked in prepare, unshared by the agent right after the fork); at
// isolate its namespace is held by a bind mount under the isolator's root
// directory, loopback comes up and each network's plugins run ADD (eth0,
// eth1, ...). The addresses go to the agent through status(); cleanup runs
// DEL. Everything a DEL needs is on disk (Mesos' layout), so after an agent
// restart recover re-adopts the live containers and tears down the others.
//
// <root>/<container>/ns                               the namespace (nsfs bind mount)
// <root>/<container>/{hosts,hostname,resolv.conf}      bind-mounted into the container
// <root>/<container>/<network>/network.conf           the configuration ADD ran with
// <root>/<container>/<network>/<ifname>/runtime.json  port mappings and args given to the plugins
// <root>/<container>/<network>/<ifname>/network.info  the ADD result
#include <sched.h>

#include <json/writer.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "cni_spec.hpp"
#include "mantle/common/strict_json.hpp"
#include "mantle/module_api/sdk/isolator.hpp"
#include "plugin_runner.hpp"

namespace mantle::isolators::cni {

namespace {

namespace fs = std::filesystem;
namespace v1 = ::mantle::module::v1;

constexpr const char* kName = "network/cni";

std::string readText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Written in place (same inode): the files bind-mounted into a container
// change under its mount.
Status writeText(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return internalError(std::string(kName) + ": cannot write " + path.string());
  return {};
}

std::string compact(const Json::Value& value) {
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, value);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, separator);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// "0.4.0" >= "0.4.0": DEL and CHECK get prevResult since CNI 0.4.0.
bool atLeast040(const std::string& version) {
  std::vector<std::string> parts = split(version, '.');
  auto part = [&](std::size_t i) { return i < parts.size() ? std::atoi(parts[i].c_str()) : 0; };
  return part(0) > 0 || (part(0) == 0 && part(1) >= 4);
}

// Mesos' NetworkInfo JSON, as the plugins see it in args["org.apache.mesos"].
Json::Value networkInfoJson(const v1::NetworkInfo& info) {
  Json::Value out(Json::objectValue);
  out["name"] = info.name();
  for (const std::string& group : info.groups()) out["groups"].append(group);
  for (const auto& label : info.labels().labels()) {
    Json::Value entry;
    entry["key"] = label.key();
    if (label.has_value()) entry["value"] = label.value();
    out["labels"]["labels"].append(entry);
  }
  for (const auto& mapping : info.port_mappings()) {
    Json::Value entry;
    entry["host_port"] = mapping.host_port();
    entry["container_port"] = mapping.container_port();
    if (mapping.has_protocol()) entry["protocol"] = mapping.protocol();
    out["port_mappings"].append(entry);
  }
  return out;
}

v1::NetworkInfo networkInfoOf(const Json::Value& json) {
  v1::NetworkInfo info;
  info.set_name(json["name"].asString());
  for (const Json::Value& group : json["groups"]) info.add_groups(group.asString());
  for (const Json::Value& entry : json["labels"]["labels"]) {
    auto* label = info.mutable_labels()->add_labels();
    label->set_key(entry["key"].asString());
    if (entry.isMember("value")) label->set_value(entry["value"].asString());
  }
  for (const Json::Value& entry : json["port_mappings"]) {
    auto* mapping = info.add_port_mappings();
    mapping->set_host_port(entry["host_port"].asUInt());
    mapping->set_container_port(entry["container_port"].asUInt());
    if (entry.isMember("protocol")) mapping->set_protocol(entry["protocol"].asString());
  }
  return info;
}

// One network a container joined (or is about to).
struct Attachment {
  NetworkConfig config;
  std::string ifname;  // eth0, eth1, ...
  v1::NetworkInfo request;
  Json::Value runtime;  // {"portMappings": [...], "args": {...}, "cniArgs": "..."}
  std::optional<AddResult> result;
};

struct Container {
  std::string hostname;
  std::vector<Attachment> networks;
};

struct Settings {
  std::string configDir;
  std::vector<std::string> pluginDirs;
  std::string rootDir;
  std::chrono::milliseconds timeout{20000};
};

class CniIsolator final : public sdk::Isolator {
 public:
  CniIsolator(Settings settings, sdk::Host host) : settings_(std::move(settings)), host_(host) {}

  static Result<std::unique_ptr<CniIsolator>> create(const sdk::Context& ctx) {
    Settings settings;
    settings.configDir = ctx.config.getString("network_cni_config_dir");
    const std::string plugins = ctx.config.getString("network_cni_plugins_dir");
    settings.pluginDirs = split(plugins, ':');
    std::error_code error;
    if (!fs::is_directory(settings.configDir, error)) {
      return notFound(std::string(kName) + ": network_cni_config_dir '" + settings.configDir + "' is not a directory");
    }
    if (settings.pluginDirs.empty()) return invalidArgument(std::string(kName) + ": network_cni_plugins_dir is empty");
    for (const std::string& dir : settings.pluginDirs) {
      if (!fs::is_directory(dir, error)) {
        return notFound(std::string(kName) + ": network_cni_plugins_dir '" + dir + "' is not a directory");
      }
    }
    if (ctx.config.getBool("network_cni_root_dir_persist")) {
      if (ctx.config.stateDir().empty()) {
        return failedPrecondition(std::string(kName) + ": network_cni_root_dir_persist needs the agent's work dir");
      }
      settings.rootDir = ctx.config.stateDir() + "/isolators/network/cni";
    } else {
      settings.rootDir = ctx.config.getString("runtime_dir") + "/isolators/network/cni";
    }
    fs::create_directories(settings.rootDir, error);
    if (error) {
      return internalError(std::string(kName) + ": cannot create " + settings.rootDir + ": " + error.message());
    }
    const std::int64_t timeout = ctx.config.getInt("plugin_timeout_ms");
    if (timeout <= 0) return invalidArgument(std::string(kName) + ": plugin_timeout_ms must be positive");
    settings.timeout = std::chrono::milliseconds(timeout);
    return std::make_unique<CniIsolator>(std::move(settings), ctx.host);
  }

  Result<v1::Empty> recover(const v1::IsolatorRecoverRequest& request) override {
    std::map<std::string, const v1::ContainerState*> alive;
    for (const auto& state : request.states()) alive[state.container_id().value()] = &state;
    std::error_code error;
    for (fs::directory_iterator it(settings_.rootDir, error), end; !error && it != end; it.increment(error)) {
      const std::string id = it->path().filename().string();
      const fs::path dir = it->path();
      if (alive.count(id) != 0 && isNamespaceMount((dir / "ns").string())) {
        Result<Container> adopted = load(dir);
        if (adopted.ok()) {
          check(id, dir, *adopted);
          std::lock_guard lock(mutex_);
          containers_[id] = std::move(*adopted);
          continue;
        }
        host_.warning(std::string(kName) + ": container " + id + " cannot be re-adopted (" + adopted.error().message +
                      "); its networks are torn down");
      }
      // An orphan, or a container that died while the agent was away.
      if (Status down = teardown(id, dir); !down.ok()) host_.warning(down.error().message);
    }
    return v1::Empty();
  }

  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) override {
    v1::IsolatorPrepareResponse response;
    const v1::ContainerInfo* info = sdk::containerInfoOf(request.config());
    if (info == nullptr) return response;
    const std::string id = request.container_id().value();
    Container container;
    std::set<std::string> names;
    Result<ConfigDirectory> directory = ConfigDirectory{};
    for (int i = 0; i < info->network_infos_size(); ++i) {
      const v1::NetworkInfo& network = info->network_infos(i);
      if (!network.has_name()) continue;  // as Mesos: a nameless NetworkInfo is not a CNI network
      const std::string field = "ContainerInfo.network_infos[" + std::to_string(i) + "]";
      if (!names.insert(network.name()).second) {
        return invalidArgument(std::string(kName) + ": " + field + ".name: network '" + network.name() +
                               "' is named twice");
      }
      if (names.size() == 1) {
        directory = loadConfigDirectory(settings_.configDir);  // read at each launch: networks may be added
        if (!directory.ok()) return directory.error().withContext(std::string(kName) + ": network_cni_config_dir");
      }
      auto found = directory->networks.find(network.name());
      if (found == directory->networks.end()) {
        std::string message = std::string(kName) + ": " + field + ".name: unknown network '" + network.name() +
                              "': no configuration in " + settings_.configDir + " names it";
        for (const std::string& bad : directory->errors) message += "; " + bad;
        return notFound(message);
      }
      Result<Attachment> attachment = attach(found->second, network, field, container.networks.size());
      if (!attachment.ok()) return attachment.error();
      container.networks.push_back(std::move(*attachment));
    }
    if (container.networks.empty()) return response;
    if (id.empty() || id.find('/') != std::string::npos || id == "." || id == "..") {
      return invalidArgument(std::string(kName) + ": container id '" + id + "' cannot name a directory");
    }

    // Mesos' default host name is the container id.
    container.hostname = info->has_hostname() ? info->hostname() : id;
    const fs::path dir = fs::path(settings_.rootDir) / id;
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) return internalError(std::string(kName) + ": cannot create " + dir.string() + ": " + error.message());
    if (Status files = writeEtcFiles(dir, container.hostname, {}, nullptr); !files.ok()) return files.error();

    v1::ContainerLaunchInfo& launch = *response.mutable_launch_info();
    launch.set_clone_namespaces(CLONE_NEWNET | CLONE_NEWUTS);
    launch.set_hostname(container.hostname);
    const std::string rootfs = request.config().rootfs();
    for (const char* file : {"hosts", "hostname", "resolv.conf"}) {
      v1::ContainerLaunchInfo::Mount& mount = *launch.add_mounts();
      mount.set_source((dir / file).string());
      mount.set_target(rootfs + "/etc/" + file);
    }
    std::lock_guard lock(mutex_);
    containers_[id] = std::move(container);
    return response;
  }

  Result<v1::Empty> isolate(const v1::IsolatorIsolateRequest& request) override {
    const std::string id = request.container_id().value();
    Container container;
    {
      std::lock_guard lock(mutex_);
      auto it = containers_.find(id);
      if (it == containers_.end()) return v1::Empty();  // not on a CNI network
      container = it->second;
    }
    const fs::path dir = fs::path(settings_.rootDir) / id;
    const std::string ns = (dir / "ns").string();
    if (Status bound = bindNetworkNamespace(static_cast<pid_t>(request.pid()), ns); !bound.ok()) {
      return bound.error().withContext(kName);
    }
    if (Status lo = bringLoopbackUp(ns); !lo.ok()) return lo.error().withContext(kName);
    for (Attachment& network : container.networks) {
      const fs::path networkDir = dir / network.config.name;
      const fs::path ifDir = networkDir / network.ifname;
      std::error_code error;
      fs::create_directories(ifDir, error);
      // What DEL needs goes to disk before ADD runs.
      if (Status saved = writeText(networkDir / "network.conf", compact(network.config.source)); !saved.ok()) {
        return saved.error();
      }
      if (Status saved = writeText(ifDir / "runtime.json", compact(network.runtime)); !saved.ok()) {
        return saved.error();
      }
      const auto start = std::chrono::steady_clock::now();
      Result<AddResult> added = run("ADD", id, ns, network, Json::Value());
      if (!added.ok()) return added.error();
      const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
      host_.info(std::string(kName) + ": container " + id + " joined network '" + network.config.name + "' as " +
                 network.ifname + " (" + (added->ips.empty() ? std::string("no address") : added->ips.front().address) +
                 ") in " + std::to_string(took.count() / 1000.0) + " ms of plugins");
      if (Status saved = writeText(ifDir / "network.info", compact(added->json)); !saved.ok()) return saved.error();
      network.result = std::move(*added);
      std::lock_guard lock(mutex_);
      containers_[id].networks = container.networks;  // status() shows what is attached so far
    }
    const AddResult* first = container.networks.front().result ? &*container.networks.front().result : nullptr;
    if (Status files = writeEtcFiles(dir, container.hostname, addressesOf(container), first); !files.ok()) {
      return files.error();
    }
    return v1::Empty();
  }

  Result<v1::IsolatorStatusResponse> status(const v1::IsolatorStatusRequest& request) override {
    v1::IsolatorStatusResponse response;
    std::lock_guard lock(mutex_);
    auto it = containers_.find(request.container_id().value());
    if (it == containers_.end()) return response;
    for (const Attachment& network : it->second.networks) {
      if (!network.result) continue;
      v1::NetworkInfo& info = *response.mutable_container_status()->add_network_infos();
      info = network.request;
      info.clear_ip_addresses();
      for (const IpAddress& ip : network.result->ips) {
        auto* address = info.add_ip_addresses();
        address->set_protocol(ip.v6 ? 2 : 1);
        address->set_ip_address(ip.address);
      }
    }
    return response;
  }

  Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest& request) override {
    const std::string id = request.container_id().value();
    {
      std::lock_guard lock(mutex_);
      containers_.erase(id);
    }
    if (id.empty() || id.find('/') != std::string::npos || id == "." || id == "..") return v1::Empty();
    const fs::path dir = fs::path(settings_.rootDir) / id;
    std::error_code error;
    if (!fs::exists(dir, error)) return v1::Empty();
    if (Status down = teardown(id, dir); !down.ok()) return down.error();
    return v1::Empty();
  }

 private:
  // Checks what the container asks of `config` and what it will run with.
  Result<Attachment> attach(const NetworkConfig& config, const v1::NetworkInfo& network, const std::string& field,
                            std::size_t index) {
    for (const Json::Value& plugin : config.plugins) {
      if (findPlugin(settings_.pluginDirs, plugin["type"].asString()).empty()) {
        return notFound(std::string(kName) + ": network '" + config.name + "' (" + config.file + "): plugin '" +
                        plugin["type"].asString() + "' is not in network_cni_plugins_dir");
      }
    }
    Attachment attachment;
    attachment.config = config;
    attachment.ifname = "eth" + std::to_string(index);
    attachment.request = network;
    Json::Value& runtime = attachment.runtime;
    runtime["args"]["org.apache.mesos"]["network_info"] = networkInfoJson(network);
    if (network.port_mappings_size() > 0) {
      bool capable = false;
      for (std::size_t i = 0; i < config.plugins.size(); ++i) capable = capable || hasPortMappingsCapability(config, i);
      if (!capable) {
        return invalidArgument(std::string(kName) + ": " + field + ".port_mappings: network '" + config.name + "' (" +
                               config.file + ") has no plugin with the portMappings capability (add portmap)");
      }
      for (int m = 0; m < network.port_mappings_size(); ++m) {
        const auto& mapping = network.port_mappings(m);
        std::string protocol = mapping.has_protocol() ? mapping.protocol() : "tcp";
        std::transform(protocol.begin(), protocol.end(), protocol.begin(), ::tolower);
        if (mapping.host_port() == 0 || mapping.host_port() > 65535 || mapping.container_port() == 0 ||
            mapping.container_port() > 65535 || (protocol != "tcp" && protocol != "udp" && protocol != "sctp")) {
          return invalidArgument(std::string(kName) + ": " + field + ".port_mappings[" + std::to_string(m) +
                                 "]: needs host_port and container_port in 1-65535 and protocol tcp, udp or sctp");
        }
        Json::Value entry;
        entry["hostPort"] = mapping.host_port();
        entry["containerPort"] = mapping.container_port();
        entry["protocol"] = protocol;
        runtime["portMappings"].append(entry);
      }
    }
    // The NetworkInfo's labels as CNI_ARGS (host-local reads IP=<address>).
    std::string cniArgs = "IgnoreUnknown=1";
    for (const auto& label : network.labels().labels()) {
      const std::string pair = label.key() + "=" + label.value();
      if (label.key().empty() || pair.find(';') != std::string::npos || label.value().find('=') != std::string::npos) {
        continue;
      }
      cniArgs += ";" + pair;
    }
    runtime["cniArgs"] = cniArgs;
    return attachment;
  }

  // Runs `command` (ADD, CHECK, DEL) over the plugins of `network`: ADD in
  // order, each given the previous result; CHECK in order and DEL in reverse,
  // each given `previous` (the ADD result) from CNI 0.4.0 on.
  Result<AddResult> run(const std::string& command, const std::string& id, const std::string& ns,
                        const Attachment& network, const Json::Value& previous) {
    const NetworkConfig& config = network.config;
    std::vector<std::string> environment{
        "CNI_COMMAND=" + command,
        "CNI_CONTAINERID=" + id,
        "CNI_NETNS=" + ns,
        "CNI_IFNAME=" + network.ifname,
        "CNI_ARGS=" + network.runtime["cniArgs"].asString(),
        "CNI_PATH=" + joined(settings_.pluginDirs),
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    };
    Invocation invocation;
    invocation.portMappings = network.runtime["portMappings"];
    invocation.args = network.runtime["args"];
    const bool add = command == "ADD";
    if (!add && atLeast040(config.cniVersion)) invocation.prevResult = previous;
    AddResult result;
    const std::size_t count = config.plugins.size();
    for (std::size_t step = 0; step < count; ++step) {
      const std::size_t i = command == "DEL" ? count - 1 - step : step;
      const std::string type = config.plugins[i]["type"].asString();
      const std::string where = std::string(kName) + ": network '" + config.name + "' (" + config.file +
                                "), interface " + network.ifname + ": plugin '" + type + "' " + command;
      const std::string path = findPlugin(settings_.pluginDirs, type);
      if (path.empty()) return notFound(where + ": not in network_cni_plugins_dir");
      Result<PluginOutput> output = runPlugin(path, environment, pluginInput(config, i, invocation), settings_.timeout);
      if (!output.ok()) return Error(output.error().code, where + ": " + output.error().message);
      if (output->exitStatus != 0) {
        return Error(StatusCode::kFailedPrecondition,
                     where + " failed: " + pluginFailure(output->out, output->err, output->exitStatus));
      }
      if (!add) continue;
      Result<AddResult> parsed = parseAddResult(output->out, where);
      if (!parsed.ok()) return parsed.error();
      result = std::move(*parsed);
      invocation.prevResult = result.json;
    }
    return result;
  }

  static std::string joined(const std::vector<std::string>& dirs) {
    std::string out;
    for (const std::string& dir : dirs) out += (out.empty() ? "" : ":") + dir;
    return out;
  }

  static std::vector<std::string> addressesOf(const Container& container) {
    std::vector<std::string> out;
    for (const Attachment& network : container.networks) {
      if (network.result && !network.result->ips.empty()) out.push_back(network.result->ips.front().address);
    }
    return out;
  }

  // /etc/hosts (localhost, then the container's addresses with its host
  // name), /etc/hostname, and /etc/resolv.conf: the first network's DNS
  // servers when its result names some, else the agent's.
  static Status writeEtcFiles(const fs::path& dir, const std::string& hostname, const std::vector<std::string>& ips,
                              const AddResult* first) {
    std::string hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n";
    for (const std::string& ip : ips) hosts += ip + " " + hostname + "\n";
    if (Status ok = writeText(dir / "hosts", hosts); !ok.ok()) return ok;
    if (Status ok = writeText(dir / "hostname", hostname + "\n"); !ok.ok()) return ok;
    std::string resolv;
    if (first != nullptr && !first->nameservers.empty()) {
      if (!first->domain.empty()) resolv += "domain " + first->domain + "\n";
      if (!first->search.empty()) {
        resolv += "search";
        for (const std::string& domain : first->search) resolv += " " + domain;
        resolv += "\n";
      }
      for (const std::string& server : first->nameservers) resolv += "nameserver " + server + "\n";
    } else {
      resolv = readText("/etc/resolv.conf");
    }
    return writeText(dir / "resolv.conf", resolv);
  }

  // A container's networks as its directory records them (recovery).
  Result<Container> load(const fs::path& dir) {
    Container container;
    container.hostname = readText(dir / "hostname");
    while (!container.hostname.empty() && container.hostname.back() == '\n') container.hostname.pop_back();
    for (Attachment& network : attachmentsIn(dir)) {
      if (!network.result) return internalError("network '" + network.config.name + "' has no ADD result");
      container.networks.push_back(std::move(network));
    }
    return container;
  }

  // The networks recorded under `dir`, in interface order; those whose
  // files do not parse are skipped with a warning.
  std::vector<Attachment> attachmentsIn(const fs::path& dir) {
    std::vector<Attachment> out;
    std::error_code error;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
      if (!it->is_directory(error)) continue;
      const fs::path conf = it->path() / "network.conf";
      Result<NetworkConfig> config = parseNetworkConfig(readText(conf), conf.string());
      if (!config.ok()) {
        host_.warning(std::string(kName) + ": " + config.error().message);
        continue;
      }
      std::error_code inner;
      for (fs::directory_iterator ifs(it->path(), inner), stop; !inner && ifs != stop; ifs.increment(inner)) {
        if (!ifs->is_directory(inner)) continue;
        Attachment network;
        network.config = *config;
        network.ifname = ifs->path().filename().string();
        Result<Json::Value> runtime = json::parseStrict(readText(ifs->path() / "runtime.json"), "runtime.json");
        if (runtime.ok()) network.runtime = *runtime;
        network.request = networkInfoOf(network.runtime["args"]["org.apache.mesos"]["network_info"]);
        const std::string info = readText(ifs->path() / "network.info");
        if (!info.empty()) {
          Result<AddResult> result = parseAddResult(info, (ifs->path() / "network.info").string());
          if (result.ok()) network.result = std::move(*result);
        }
        out.push_back(std::move(network));
      }
    }
    std::sort(out.begin(), out.end(), [](const Attachment& a, const Attachment& b) {
      return a.ifname.size() != b.ifname.size() ? a.ifname.size() < b.ifname.size() : a.ifname < b.ifname;
    });
    return out;
  }

  // CHECK on a re-adopted container's networks (CNI 0.4.0 and later): a
  // failure is logged, the container keeps running.
  void check(const std::string& id, const fs::path& dir, const Container& container) {
    for (const Attachment& network : container.networks) {
      if (!atLeast040(network.config.cniVersion)) continue;
      Result<AddResult> checked = run("CHECK", id, (dir / "ns").string(), network, network.result->json);
      if (!checked.ok()) host_.warning(checked.error().message);
    }
  }

  // DEL of every network recorded under `dir` (in reverse interface order),
  // then the namespace and the directory. A DEL that fails keeps them, so the
  // next recovery tries again.
  Status teardown(const std::string& id, const fs::path& dir) {
    const std::string ns = (dir / "ns").string();
    const std::string netns = isNamespaceMount(ns) ? ns : "";
    std::vector<Attachment> networks = attachmentsIn(dir);
    std::string failures;
    for (auto it = networks.rbegin(); it != networks.rend(); ++it) {
      Json::Value previous = it->result ? it->result->json : Json::Value();
      Result<AddResult> deleted = run("DEL", id, netns, *it, previous);
      if (!deleted.ok()) failures += (failures.empty() ? "" : "; ") + deleted.error().message;
    }
    if (!failures.empty()) return Error(StatusCode::kFailedPrecondition, failures);
    if (Status released = releaseNetworkNamespace(ns); !released.ok()) return released.error().withContext(kName);
    std::error_code error;
    fs::remove_all(dir, error);
    if (error) return internalError(std::string(kName) + ": cannot remove " + dir.string() + ": " + error.message());
    return {};
  }

  Settings settings_;
  sdk::Host host_;
  std::mutex mutex_;
  std::map<std::string, Container> containers_;
};

}  // namespace

}  // namespace mantle::isolators::cni

namespace c = mantle::isolators::cni;
using mantle::sdk::Param;

MANTLE_MODULE_LIBRARY(
    "mantle_network_cni", "0.1.0",
    mantle::sdk::describe<c::CniIsolator>(
        "network/cni",
        "Joins containers to the CNI networks their ContainerInfo.network_infos name: a network namespace each, "
        "the plugins' ADD/DEL, addresses in the task status, port mappings through portmap",
        {Param::required(Param::string("network_cni_config_dir",
                                       "Directory of the network configurations (.conf, .conflist)")),
         Param::required(Param::string("network_cni_plugins_dir", "Search path (':'-separated) of the plugins")),
         Param::boolean("network_cni_root_dir_persist",
                        "Keep the isolator's state under the agent's work dir (survives a reboot) instead of "
                        "runtime_dir",
                        "false"),
         Param::string("runtime_dir", "Root of the state that does not survive a reboot (Mesos' --runtime_dir)",
                       "/var/run/mantle"),
         Param::integer("plugin_timeout_ms", "How long one plugin call may take before the launch fails", "20000")}))
