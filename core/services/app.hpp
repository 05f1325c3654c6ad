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

// Whether two definitions differ in more than `instances` (and versions).
bool configChanged(const App& before, const App& after);

}  // namespace mantle::services
