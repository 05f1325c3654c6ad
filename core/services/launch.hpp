// What a task of an app is launched with, as Marathon builds it: its ports
// (host ports from the offer, PORT<n> values, the ports it listens on), the
// port environment, the DiscoveryInfo and the ContainerInfo (Marathon's
// translation of `container` and `networks` for the Mesos containerizer, or
// ContainerInfo.type DOCKER). Pure functions of the app and the offer's
// ports, so the translation is tested without a cluster.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mesos/v1/mesos.pb.h"
#include "services/app.hpp"

namespace mantle::services {

// Per port of the app (port definition, or port mapping on container
// networks), in order.
struct TaskPorts {
  std::vector<std::optional<std::uint64_t>> host;  // its host port; none: a container port only
  std::vector<std::uint64_t> values;               // its PORT<n> value
  std::vector<std::uint64_t> listen;               // where the task listens (health checks go there)
  std::vector<std::uint64_t> generated;            // container ports generated for mappings without any
  // The host ports in order: the task's `ports` resources and Marathon's task.ports.
  std::vector<std::uint64_t> hostPortList() const;
};

// The app's ports from the offered port `ranges`: fixed host ports as asked
// (requirePorts, a mapping's non-zero hostPort), the others the lowest free
// ones; none when the offer lacks them. On container networks a mapping
// without a host port gets its containerPort, or (containerPort 0) a
// generated port above 1024, as Marathon does.
std::optional<TaskPorts> allocatePorts(const App& app,
                                       const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges);

// Upper-case with non-alphanumerics as '_' (PORT_<NAME>, MARATHON_APP_LABEL_<NAME>).
std::string envName(const std::string& text);

// PORT<n>, PORT_<NAME> (named ports with a host port), PORT and PORTS (the
// host ports, then generated container ports).
std::vector<std::pair<std::string, std::string>> portEnvironment(const App& app, const TaskPorts& ports);

// The app's secret variables (`env` entries {"secret": id}): variables of
// type SECRET with a reference named by the secret's source, as Marathon
// sends them (the agent's environment_secret resolves them).
void addSecretEnvironment(const App& app, ::mesos::v1::Environment* environment);

// The DiscoveryInfo Marathon sets: visibility FRAMEWORK, `name`, the ports
// with host ports (names, protocols, labels; on container networks labelled
// network-scope host).
::mesos::v1::DiscoveryInfo discoveryOf(const App& app, const std::string& name, const TaskPorts& ports);

// The ContainerInfo of the app's tasks (the app has a container): MESOS with
// mesos.image {DOCKER, cached: !forcePullImage}, or DOCKER with DockerInfo
// (host network); host volumes in Mesos' legacy host_path form, secret
// volumes as Volume.source SECRET (a reference, read-only); linuxInfo as
// LinuxInfo seccomp, ipc_mode and shm_size; on container
// networks one NetworkInfo per network (container/bridge: `bridgeName`)
// with the mapped host ports.
::mesos::v1::ContainerInfo containerInfoOf(const App& app, const std::string& bridgeName, const TaskPorts& ports);

}  // namespace mantle::services
