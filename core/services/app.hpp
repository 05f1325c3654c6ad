// An app of mantle-services: the fields of Marathon's v2 app definition that
// mantle-services supports (docs/SERVICES.md), read from and written to
// Marathon's JSON with Marathon's field names. Reading validates: every
// violation is reported with its field path ("/cpus",
// "/healthChecks(0)/protocol") as Marathon's 422 answer lists them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <json/value.h>

namespace mantle::services {

struct PortDefinition {
  std::int64_t port = 0;  // the service port; 0: assigned by mantle-services
  std::string protocol = "tcp";
  std::string name;
  std::map<std::string, std::string> labels;
};

struct HealthCheckDefinition {
  // HTTP, HTTPS, TCP, COMMAND or their MESOS_ forms: all run as Mesos
  // health checks by the task's executor.
  std::string protocol = "HTTP";
  std::string path = "/";
  std::int64_t portIndex = 0;
  std::optional<std::int64_t> port;  // a fixed port instead of portIndex
  std::string command;               // COMMAND: a shell command
  double gracePeriodSeconds = 300;
  double intervalSeconds = 60;
  double timeoutSeconds = 20;
  double delaySeconds = 15;
  std::int64_t maxConsecutiveFailures = 3;  // 0: never kill
};

// A volume of `container.volumes`: Marathon's host volume, sent to Mesos as
// Volume.host_path (absolute: a host path; relative: a directory in the
// sandbox, as Mesos reads the legacy form), or a secret volume (a file
// holding one of the app's secrets).
struct VolumeDefinition {
  std::string containerPath;
  std::string hostPath;
  std::string mode = "RW";  // RO or RW
  std::string secret;       // a secret volume: the id of one of the app's `secrets`
};

// One of `container.portMappings` (container networks).
struct PortMapping {
  std::int64_t containerPort = 0;        // 0: the host port, else a generated one
  std::optional<std::int64_t> hostPort;  // none: no host port; 0: any offered
  std::int64_t servicePort = 0;          // 0: assigned by mantle-services
  std::string protocol = "tcp";
  std::string name;
  std::map<std::string, std::string> labels;
};

// One of `networks`: mode host, container (a named CNI network) or
// container/bridge (the CNI network --mesos_bridge_name names).
struct NetworkDefinition {
  std::string mode = "container";
  std::string name;
  std::map<std::string, std::string> labels;
};

// `container`: MESOS (Mesos' containerizer, optionally in a Docker image) or
// DOCKER (Marathon's Docker containerizer: ContainerInfo.type DOCKER, which
// Mantle's agent runs on the same runtime, host network only).
struct ContainerDefinition {
  std::string type = "DOCKER";  // Marathon's default
  std::string image;            // docker.image; empty: no image (MESOS only)
  bool forcePullImage = false;
  bool privileged = false;                                      // DOCKER only
  std::vector<std::pair<std::string, std::string>> parameters;  // DOCKER only
  std::vector<VolumeDefinition> volumes;
  std::vector<PortMapping> portMappings;  // container networks only
  // linuxInfo: seccomp (a profile of the agent's, or unconfined) and IPC.
  std::optional<std::string> seccompProfile;
  bool seccompUnconfined = false;
  std::string ipcMode;                  // "", PRIVATE or SHARE_PARENT
  std::optional<std::int64_t> shmSize;  // MiB, PRIVATE only
};

struct UpgradeStrategy {
  double minimumHealthCapacity = 1;
  double maximumOverCapacity = 1;
};

struct App {
  std::string id;  // absolute path, "/group/name"
  std::string cmd;
  std::vector<std::string> args;
  std::string user;
  double cpus = 1;
  double mem = 128;
  double disk = 0;
  std::int64_t gpus = 0;
  std::int64_t instances = 1;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> secretEnv;  // variable -> secret id ({"secret": id} in `env`)
  std::map<std::string, std::string> secrets;    // secret id -> source (a reference the agent resolves)
  std::map<std::string, std::string> labels;
  std::vector<std::vector<std::string>> constraints;
  std::vector<PortDefinition> portDefinitions{PortDefinition{}};
  bool requirePorts = false;
  std::vector<HealthCheckDefinition> healthChecks;
  UpgradeStrategy upgradeStrategy;
  double backoffSeconds = 1;
  double backoffFactor = 1.15;
  double maxLaunchDelaySeconds = 300;
  std::string killSelection = "YOUNGEST_FIRST";
  std::optional<double> taskKillGracePeriodSeconds;
  std::optional<ContainerDefinition> container;
  std::vector<NetworkDefinition> networks{NetworkDefinition{"host", "", {}}};

  // Set by mantle-services (read back only from its own state).
  std::string version;             // the last change of any kind
  std::string lastConfigChangeAt;  // tasks of an older config are replaced
  std::string lastScalingAt;
};

struct Violation {
  std::string path;  // "/cpus"
  std::string message;
};

// Reads an app definition as a client sends it. Read-only fields of a GET
// answer (version, tasks, counts...) are ignored, so a fetched app can be
// sent back; fields mantle-services does not support are violations unless
// null or empty. `violations` is empty when the app is valid.
App readApp(const Json::Value& json, std::vector<Violation>* violations);

// The app in Marathon's JSON with its version fields (without tasks, counts
// and deployments): what GET answers start from and the state store keeps.
Json::Value appJson(const App& app);
// Reads what appJson wrote (the state store's own data): versions included.
App readStoredApp(const Json::Value& json, std::vector<Violation>* violations);

// The canonical form of an app id: a leading '/', no trailing '/'; empty
// when `id` has an invalid segment.
std::string normalizeAppId(const std::string& id);

// The body of Marathon's 422 answer.
Json::Value violationsJson(const std::vector<Violation>& violations);

// Whether the app's tasks join container networks (modes container or
// container/bridge): their ports are container.portMappings, not
// portDefinitions.
bool onContainerNetworks(const App& app);

// The app's service ports, one per port definition (host network) or port
// mapping (container networks), in order; assignable through the pointers.
std::vector<std::int64_t*> servicePortSlots(App& app);
std::vector<std::int64_t> servicePortsOf(const App& app);

// Whether two definitions differ in more than `instances` (and versions).
bool configChanged(const App& before, const App& after);

}  // namespace mantle::services
