#include "services/launch.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include <set>

namespace mantle::services {

namespace v1 = ::mesos::v1;

namespace {

// The host port each of an app's ports needs: none (a container port only),
// any offered one (0), or that one.
std::vector<std::optional<std::uint64_t>> hostPortRequests(const App& app) {
  std::vector<std::optional<std::uint64_t>> requests;
  if (onContainerNetworks(app)) {
    for (const PortMapping& mapping : app.container->portMappings) {
      if (mapping.hostPort) {
        requests.emplace_back(static_cast<std::uint64_t>(*mapping.hostPort));
      } else {
        requests.emplace_back();
      }
    }
  } else {
    for (const PortDefinition& port : app.portDefinitions) {
      requests.emplace_back(app.requirePorts ? static_cast<std::uint64_t>(port.port) : 0);
    }
  }
  return requests;
}

// The host ports of `requests` from the offered `ranges` (fixed ones as
// asked, the others the lowest free); none when the offer lacks them.
std::optional<std::vector<std::optional<std::uint64_t>>> allocateHostPorts(
    const std::vector<std::optional<std::uint64_t>>& requests,
    const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges) {
  auto offered = [&](std::uint64_t port) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const auto& r) { return port >= r.first && port <= r.second; });
  };
  std::vector<std::optional<std::uint64_t>> out(requests.size());
  std::set<std::uint64_t> taken;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i] || *requests[i] == 0) continue;
    if (!offered(*requests[i]) || !taken.insert(*requests[i]).second) return std::nullopt;
    out[i] = requests[i];
  }
  auto range = ranges.begin();
  std::uint64_t candidate = range != ranges.end() ? range->first : 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i] || *requests[i] != 0) continue;
    while (range != ranges.end() && (candidate > range->second || taken.count(candidate) != 0)) {
      if (candidate >= range->second) {
        if (++range != ranges.end()) candidate = range->first;
      } else {
        ++candidate;
      }
    }
    if (range == ranges.end()) return std::nullopt;
    taken.insert(candidate);
    out[i] = candidate;
  }
  return out;
}

// A container port for a mapping without host or container port, as
// Marathon generates one: above 1024 and unlike the task's other ports.
std::uint64_t generatedPort(std::set<std::uint64_t>* consumed) {
  static thread_local std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<std::uint64_t> pick(1025, 65535);
  std::uint64_t port = pick(random);
  while (!consumed->insert(port).second) port = pick(random);
  return port;
}

// A secret as Marathon sends it: a reference named by the secret's source.
v1::Secret secretReference(const std::string& source) {
  v1::Secret secret;
  secret.set_type(v1::Secret::REFERENCE);
  secret.mutable_reference()->set_name(source);
  return secret;
}

}  // namespace

void addSecretEnvironment(const App& app, v1::Environment* environment) {
  for (const auto& [name, id] : app.secretEnv) {
    v1::Environment::Variable* variable = environment->add_variables();
    variable->set_name(name);
    variable->set_type(v1::Environment::Variable::SECRET);
    *variable->mutable_secret() = secretReference(app.secrets.at(id));
  }
}

std::vector<std::uint64_t> TaskPorts::hostPortList() const {
  std::vector<std::uint64_t> out;
  for (const auto& port : host) {
    if (port) out.push_back(*port);
  }
  return out;
}

std::optional<TaskPorts> allocatePorts(const App& app,
                                       const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges) {
  std::optional<std::vector<std::optional<std::uint64_t>>> host = allocateHostPorts(hostPortRequests(app), ranges);
  if (!host) return std::nullopt;
  TaskPorts ports;
  ports.host = std::move(*host);
  const bool containerNetworks = onContainerNetworks(app);
  const std::vector<std::uint64_t> hostList = ports.hostPortList();
  std::set<std::uint64_t> consumed(hostList.begin(), hostList.end());
  if (containerNetworks) {
    for (const PortMapping& mapping : app.container->portMappings) {
      consumed.insert(static_cast<std::uint64_t>(mapping.containerPort));
    }
  }
  for (std::size_t i = 0; i < ports.host.size(); ++i) {
    const std::uint64_t containerPort =
        containerNetworks ? static_cast<std::uint64_t>(app.container->portMappings[i].containerPort) : 0;
    std::uint64_t value = 0;
    if (ports.host[i]) {
      value = *ports.host[i];
    } else if (containerPort != 0) {
      value = containerPort;
    } else {
      value = generatedPort(&consumed);
      ports.generated.push_back(value);
    }
    ports.values.push_back(value);
    ports.listen.push_back(containerPort != 0 ? containerPort : value);
  }
  return ports;
}

std::string envName(const std::string& text) {
  std::string out;
  for (char c : text)
    out += std::isalnum(static_cast<unsigned char>(c)) != 0 ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

namespace {

const std::string& portName(const App& app, std::size_t i) {
  return onContainerNetworks(app) ? app.container->portMappings[i].name : app.portDefinitions[i].name;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> portEnvironment(const App& app, const TaskPorts& ports) {
  std::vector<std::pair<std::string, std::string>> env;
  for (std::size_t i = 0; i < ports.values.size(); ++i) {
    env.emplace_back("PORT" + std::to_string(i), std::to_string(ports.values[i]));
    if (!portName(app, i).empty() && ports.host[i]) {
      env.emplace_back("PORT_" + envName(portName(app, i)), std::to_string(ports.values[i]));
    }
  }
  std::vector<std::uint64_t> assigned = ports.hostPortList();
  assigned.insert(assigned.end(), ports.generated.begin(), ports.generated.end());
  if (!assigned.empty()) {
    std::string all;
    for (std::size_t i = 0; i < assigned.size(); ++i) all += (i > 0 ? "," : "") + std::to_string(assigned[i]);
    env.emplace_back("PORT", std::to_string(assigned[0]));
    env.emplace_back("PORTS", all);
  }
  return env;
}

v1::DiscoveryInfo discoveryOf(const App& app, const std::string& name, const TaskPorts& ports) {
  const bool containerNetworks = onContainerNetworks(app);
  v1::DiscoveryInfo discovery;
  discovery.set_visibility(v1::DiscoveryInfo::FRAMEWORK);
  discovery.set_name(name);
  for (std::size_t i = 0; i < ports.host.size(); ++i) {
    if (!ports.host[i]) continue;
    const std::string& protocol =
        containerNetworks ? app.container->portMappings[i].protocol : app.portDefinitions[i].protocol;
    const std::map<std::string, std::string>& labels =
        containerNetworks ? app.container->portMappings[i].labels : app.portDefinitions[i].labels;
    v1::Port* port = discovery.mutable_ports()->add_ports();
    port->set_number(static_cast<std::uint32_t>(*ports.host[i]));
    if (!portName(app, i).empty()) port->set_name(portName(app, i));
    port->set_protocol(protocol == "udp" ? "udp" : "tcp");
    for (const auto& [key, value] : labels) {
      v1::Label* label = port->mutable_labels()->add_labels();
      label->set_key(key);
      label->set_value(value);
    }
    if (containerNetworks) {
      v1::Label* scope = port->mutable_labels()->add_labels();
      scope->set_key("network-scope");
      scope->set_value("host");
    }
  }
  return discovery;
}

v1::ContainerInfo containerInfoOf(const App& app, const std::string& bridgeName, const TaskPorts& ports) {
  const ContainerDefinition& container = *app.container;
  v1::ContainerInfo info;
  if (container.type == "DOCKER") {
    info.set_type(v1::ContainerInfo::DOCKER);
    v1::ContainerInfo::DockerInfo* docker = info.mutable_docker();
    docker->set_image(container.image);
    docker->set_network(v1::ContainerInfo::DockerInfo::HOST);
    docker->set_privileged(container.privileged);
    docker->set_force_pull_image(container.forcePullImage);
    for (const auto& [key, value] : container.parameters) {
      v1::Parameter* parameter = docker->add_parameters();
      parameter->set_key(key);
      parameter->set_value(value);
    }
  } else {
    info.set_type(v1::ContainerInfo::MESOS);
    if (!container.image.empty()) {
      v1::Image* image = info.mutable_mesos()->mutable_image();
      image->set_type(v1::Image::DOCKER);
      image->mutable_docker()->set_name(container.image);
      image->set_cached(!container.forcePullImage);
    }
  }
  if (container.seccompProfile)
    info.mutable_linux_info()->mutable_seccomp()->set_profile_name(*container.seccompProfile);
  if (container.seccompUnconfined) info.mutable_linux_info()->mutable_seccomp()->set_unconfined(true);
  if (!container.ipcMode.empty()) {
    info.mutable_linux_info()->set_ipc_mode(container.ipcMode == "PRIVATE" ? v1::LinuxInfo::PRIVATE
                                                                           : v1::LinuxInfo::SHARE_PARENT);
  }
  if (container.shmSize) info.mutable_linux_info()->set_shm_size(static_cast<std::uint64_t>(*container.shmSize));
  for (const VolumeDefinition& definition : container.volumes) {
    v1::Volume* volume = info.add_volumes();
    volume->set_container_path(definition.containerPath);
    volume->set_mode(definition.mode == "RO" ? v1::Volume::RO : v1::Volume::RW);
    if (!definition.secret.empty()) {
      volume->mutable_source()->set_type(v1::Volume::Source::SECRET);
      *volume->mutable_source()->mutable_secret() = secretReference(app.secrets.at(definition.secret));
    } else {
      // Mesos' legacy form, as Marathon sends it: an absolute host_path is
      // a host path, a relative one a directory in the sandbox.
      volume->set_host_path(definition.hostPath);
    }
  }
  if (!onContainerNetworks(app)) return info;
  for (const NetworkDefinition& network : app.networks) {
    v1::NetworkInfo* networkInfo = info.add_network_infos();
    networkInfo->set_name(network.mode == "container/bridge" ? bridgeName : network.name);
    for (const auto& [key, value] : network.labels) {
      v1::Label* label = networkInfo->mutable_labels()->add_labels();
      label->set_key(key);
      label->set_value(value);
    }
    for (std::size_t i = 0; i < ports.host.size(); ++i) {
      if (!ports.host[i]) continue;
      const std::string& protocols = container.portMappings[i].protocol;
      for (const std::string protocol : {"tcp", "udp"}) {
        if (protocols.find(protocol) == std::string::npos) continue;
        v1::NetworkInfo::PortMapping* mapping = networkInfo->add_port_mappings();
        mapping->set_host_port(static_cast<std::uint32_t>(*ports.host[i]));
        mapping->set_container_port(static_cast<std::uint32_t>(ports.listen[i]));
        mapping->set_protocol(protocol);
      }
    }
  }
  return info;
}

}  // namespace mantle::services
