#include "services/app.hpp"

#include <cmath>
#include <regex>
#include <set>

namespace mantle::services {

namespace {

// Fields a client may send back from a GET answer; they are not part of the
// definition.
const std::set<std::string> kReadOnlyFields = {
    "version",     "versionInfo", "tasksStaged", "tasksRunning",    "tasksHealthy",          "tasksUnhealthy",
    "deployments", "tasks",       "taskStats",   "lastTaskFailure", "readinessCheckResults", "servicePorts",
};

// Marathon fields mantle-services does not support: accepted only when null
// or empty.
const std::set<std::string> kUnsupportedFields = {
    "executor",
    "uris",
    "fetch",
    "storeUrls",
    "dependencies",
    "readinessChecks",

    "ipAddress",
    "unreachableStrategy",
    "role",
    "acceptedResourceRoles",
    "executorResources",
    "tty",
    "maxLaunchDelay",
};

bool isEmpty(const Json::Value& value) {
  if (value.isNull()) return true;
  if (value.isString()) return value.asString().empty();
  if (value.isArray() || value.isObject()) return value.empty();
  return false;
}

class Reader {
 public:
  Reader(std::vector<Violation>* violations) : violations_(violations) {}

  void fail(const std::string& path, const std::string& message) { violations_->push_back({path, message}); }

  bool number(const Json::Value& object, const char* key, const std::string& path, double* target, double min,
              std::optional<double> max = std::nullopt) {
    if (!object.isMember(key)) return false;
    const Json::Value& value = object[key];
    if (!value.isNumeric()) {
      fail(path, "expected a number");
      return false;
    }
    const double read = value.asDouble();
    if (!std::isfinite(read) || read < min) {
      fail(path, "got " + value.asString() + ", expected " + Json::Value(min).asString() + " or more");
      return false;
    }
    if (max && read > *max) {
      fail(path, "got " + value.asString() + ", expected " + Json::Value(*max).asString() + " or less");
      return false;
    }
    *target = read;
    return true;
  }

  bool integer(const Json::Value& object, const char* key, const std::string& path, std::int64_t* target,
               std::int64_t min, std::int64_t max = INT32_MAX) {
    if (!object.isMember(key)) return false;
    const Json::Value& value = object[key];
    if (!value.isIntegral() && !(value.isDouble() && value.asDouble() == std::floor(value.asDouble()))) {
      fail(path, "expected an integer");
      return false;
    }
    if (!value.isConvertibleTo(Json::intValue) || value.asInt64() < min || value.asInt64() > max) {
      fail(path,
           "got " + value.asString() + ", expected between " + std::to_string(min) + " and " + std::to_string(max));
      return false;
    }
    *target = value.asInt64();
    return true;
  }

  bool boolean(const Json::Value& object, const char* key, const std::string& path, bool* target) {
    if (!object.isMember(key)) return false;
    if (!object[key].isBool()) {
      fail(path, "expected true or false");
      return false;
    }
    *target = object[key].asBool();
    return true;
  }

  bool string(const Json::Value& object, const char* key, const std::string& path, std::string* target) {
    if (!object.isMember(key) || object[key].isNull()) return false;
    if (!object[key].isString()) {
      fail(path, "expected a string");
      return false;
    }
    *target = object[key].asString();
    return true;
  }

  void stringMap(const Json::Value& object, const char* key, const std::string& path,
                 std::map<std::string, std::string>* target) {
    if (!object.isMember(key) || object[key].isNull()) return;
    const Json::Value& value = object[key];
    if (!value.isObject()) return fail(path, "expected an object of strings");
    target->clear();
    for (const std::string& name : value.getMemberNames()) {
      if (!value[name].isString()) {
        fail(path + "/" + name, "expected a string");
        continue;
      }
      (*target)[name] = value[name].asString();
    }
  }

 private:
  std::vector<Violation>* violations_;
};

bool validSegment(const std::string& segment) {
  static const std::regex kSegment(
      "^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$");
  return std::regex_match(segment, kSegment);
}

const std::set<std::string> kConstraintOperators = {"UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER"};
const std::set<std::string> kHealthProtocols = {"HTTP",       "HTTPS",       "TCP",      "COMMAND",
                                                "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"};

void readConstraints(Reader& reader, const Json::Value& value, App* app) {
  if (value.isNull()) return;
  if (!value.isArray()) return reader.fail("/constraints", "expected an array of [field, operator, value?]");
  app->constraints.clear();
  for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
    const std::string path = "/constraints(" + std::to_string(i) + ")";
    const Json::Value& item = value[i];
    std::vector<std::string> constraint;
    bool strings = item.isArray() && item.size() >= 2 && item.size() <= 3;
    for (Json::ArrayIndex j = 0; strings && j < item.size(); ++j) {
      strings = item[j].isString();
      if (strings) constraint.push_back(item[j].asString());
    }
    if (!strings) {
      reader.fail(path, "expected [field, operator] or [field, operator, value] of strings");
      continue;
    }
    const std::string& op = constraint[1];
    if (kConstraintOperators.count(op) == 0) {
      reader.fail(path, "unknown operator " + op + "; one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER");
      continue;
    }
    if ((op == "LIKE" || op == "UNLIKE" || op == "MAX_PER") && constraint.size() < 3) {
      reader.fail(path, op + " needs a value");
      continue;
    }
    if (op == "UNIQUE" && constraint.size() == 3) {
      reader.fail(path, "UNIQUE takes no value");
      continue;
    }
    if ((op == "MAX_PER" || op == "GROUP_BY") && constraint.size() == 3) {
      const std::string& n = constraint[2];
      if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos || std::stoi(n) < 1) {
        reader.fail(path, op + " needs a positive integer value, got '" + n + "'");
        continue;
      }
    }
    if (op == "LIKE" || op == "UNLIKE") {
      try {
        std::regex check(constraint[2]);
      } catch (const std::regex_error&) {
        reader.fail(path, "'" + constraint[2] + "' is not a valid regular expression");
        continue;
      }
    }
    app->constraints.push_back(std::move(constraint));
  }
}

// Fields of an object at `path` that `known` lacks are violations.
void unknownFields(Reader& reader, const Json::Value& object, const std::string& path,
                   const std::set<std::string>& known) {
  for (const std::string& key : object.getMemberNames()) {
    if (known.count(key) == 0) reader.fail(path + "/" + key, "unknown field");
  }
}

// A port definition's or mapping's protocol, name (unique among `names`)
// and labels.
void readPortNaming(Reader& reader, const Json::Value& item, const std::string& path, std::string* protocol,
                    std::string* name, std::map<std::string, std::string>* labels, std::set<std::string>* names) {
  static const std::regex kName("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$");
  if (reader.string(item, "protocol", path + "/protocol", protocol) && *protocol != "tcp" && *protocol != "udp" &&
      *protocol != "udp,tcp") {
    reader.fail(path + "/protocol", "expected tcp, udp or udp,tcp");
  }
  if (reader.string(item, "name", path + "/name", name)) {
    if (!std::regex_match(*name, kName)) {
      reader.fail(path + "/name", "must fully match regular expression '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'");
    } else if (!names->insert(*name).second) {
      reader.fail(path + "/name", "port names must be unique");
    }
  }
  reader.stringMap(item, "labels", path + "/labels", labels);
}

void readPortDefinitions(Reader& reader, const Json::Value& value, App* app) {
  if (value.isNull()) return;
  if (!value.isArray()) return reader.fail("/portDefinitions", "expected an array");
  app->portDefinitions.clear();
  std::set<std::int64_t> fixed;
  std::set<std::string> names;
  for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
    const std::string path = "/portDefinitions(" + std::to_string(i) + ")";
    const Json::Value& item = value[i];
    if (!item.isObject()) {
      reader.fail(path, "expected an object");
      continue;
    }
    unknownFields(reader, item, path, {"port", "protocol", "name", "labels"});
    PortDefinition port;
    reader.integer(item, "port", path + "/port", &port.port, 0, 65535);
    readPortNaming(reader, item, path, &port.protocol, &port.name, &port.labels, &names);
    if (port.port != 0 && !fixed.insert(port.port).second) {
      reader.fail(path + "/port", "ports must be unique");
    }
    app->portDefinitions.push_back(port);
  }
}

void readHealthChecks(Reader& reader, const Json::Value& value, App* app) {
  if (value.isNull()) return;
  if (!value.isArray()) return reader.fail("/healthChecks", "expected an array");
  app->healthChecks.clear();
  for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
    const std::string path = "/healthChecks(" + std::to_string(i) + ")";
    const Json::Value& item = value[i];
    if (!item.isObject()) {
      reader.fail(path, "expected an object");
      continue;
    }
    static const std::set<std::string> kKnown = {"protocol",        "path",
                                                 "portIndex",       "port",
                                                 "command",         "gracePeriodSeconds",
                                                 "intervalSeconds", "timeoutSeconds",
                                                 "delaySeconds",    "maxConsecutiveFailures",
                                                 "ignoreHttp1xx"};
    for (const std::string& key : item.getMemberNames()) {
      if (kKnown.count(key) == 0) reader.fail(path + "/" + key, "unknown field");
    }
    HealthCheckDefinition check;
    if (reader.string(item, "protocol", path + "/protocol", &check.protocol) &&
        kHealthProtocols.count(check.protocol) == 0) {
      reader.fail(path + "/protocol", "expected one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP");
      continue;
    }
    if (reader.string(item, "path", path + "/path", &check.path) && check.path.rfind('/', 0) != 0) {
      reader.fail(path + "/path", "must start with '/' (Mesos refuses the task otherwise)");
    }
    reader.integer(item, "portIndex", path + "/portIndex", &check.portIndex, 0);
    std::int64_t port = 0;
    if (reader.integer(item, "port", path + "/port", &port, 0, 65535)) check.port = port;
    reader.number(item, "gracePeriodSeconds", path + "/gracePeriodSeconds", &check.gracePeriodSeconds, 0);
    reader.number(item, "intervalSeconds", path + "/intervalSeconds", &check.intervalSeconds, 0.001);
    reader.number(item, "timeoutSeconds", path + "/timeoutSeconds", &check.timeoutSeconds, 0.001);
    reader.number(item, "delaySeconds", path + "/delaySeconds", &check.delaySeconds, 0);
    reader.integer(item, "maxConsecutiveFailures", path + "/maxConsecutiveFailures", &check.maxConsecutiveFailures, 0);
    bool ignore = false;
    if (reader.boolean(item, "ignoreHttp1xx", path + "/ignoreHttp1xx", &ignore) && ignore) {
      reader.fail(path + "/ignoreHttp1xx", "not supported: 1xx answers count as failures");
    }
    if (check.protocol == "COMMAND") {
      const Json::Value& command = item["command"];
      if (!command.isObject() || !command["value"].isString() || command["value"].asString().empty()) {
        reader.fail(path + "/command", "COMMAND health checks need command.value, a shell command");
      } else {
        check.command = command["value"].asString();
      }
    } else if (const std::size_t ports = servicePortsOf(*app).size();
               !check.port && check.portIndex >= static_cast<std::int64_t>(ports)) {
      reader.fail(path + "/portIndex", "the app has " + std::to_string(ports) +
                                           (onContainerNetworks(*app) ? " port mappings" : " port definitions") +
                                           "; give a portIndex below that or a port");
    }
    app->healthChecks.push_back(check);
  }
}

// A path's components without "..".
bool climbsOut(const std::string& path) {
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    if (path.compare(begin, end - begin, "..") == 0 && end - begin == 2) return true;
    begin = end + 1;
  }
  return false;
}

void readNetworks(Reader& reader, const Json::Value& value, App* app) {
  if (value.isNull()) return;
  if (!value.isArray()) return reader.fail("/networks", "expected an array of networks");
  if (value.empty()) return;  // the default: the host network
  app->networks.clear();
  std::set<std::string> modes, names;
  static const std::regex kName("^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$", std::regex::icase);
  for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
    const std::string path = "/networks(" + std::to_string(i) + ")";
    const Json::Value& item = value[i];
    if (!item.isObject()) {
      reader.fail(path, "expected an object");
      continue;
    }
    unknownFields(reader, item, path, {"mode", "name", "labels"});
    NetworkDefinition network;
    if (reader.string(item, "mode", path + "/mode", &network.mode) && network.mode != "host" &&
        network.mode != "container" && network.mode != "container/bridge") {
      reader.fail(path + "/mode", "expected host, container or container/bridge");
      continue;
    }
    reader.string(item, "name", path + "/name", &network.name);
    reader.stringMap(item, "labels", path + "/labels", &network.labels);
    if (network.mode == "container") {
      if (network.name.empty()) {
        reader.fail(path + "/name",
                    "a container network needs the name of a CNI network of the agents (mantle-services has no "
                    "--default_network_name)");
      } else if (!std::regex_match(network.name, kName)) {
        reader.fail(path + "/name", "'" + network.name + "' is not a network name");
      } else if (!names.insert(network.name).second) {
        reader.fail(path + "/name", "network " + network.name + " is given twice");
      }
    } else if (!network.name.empty()) {
      reader.fail(path + "/name", "only container networks have a name");
    }
    modes.insert(network.mode);
    app->networks.push_back(network);
  }
  if (modes.size() > 1) {
    reader.fail("/networks",
                "networking modes cannot be mixed: one host network, one container/bridge network, or "
                "container networks");
  } else if ((modes.count("host") != 0 || modes.count("container/bridge") != 0) && value.size() > 1) {
    reader.fail("/networks", "an app joins at most one " + *modes.begin() + " network");
  }
}

void readVolumes(Reader& reader, const Json::Value& value, const App& app, ContainerDefinition* container) {
  if (value.isNull()) return;
  if (!value.isArray()) return reader.fail("/container/volumes", "expected an array of volumes");
  for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
    const std::string path = "/container/volumes(" + std::to_string(i) + ")";
    const Json::Value& item = value[i];
    if (!item.isObject()) {
      reader.fail(path, "expected an object");
      continue;
    }
    VolumeDefinition volume;
    if (!isEmpty(item["secret"])) {
      // A file holding one of the app's secrets (the agent's volume/secret).
      unknownFields(reader, item, path, {"containerPath", "secret"});
      if (!reader.string(item, "secret", path + "/secret", &volume.secret)) continue;
      if (app.secrets.count(volume.secret) == 0) {
        reader.fail(path + "/secret",
                    "references the secret '" + volume.secret + "', which the app's secrets do not declare");
      }
      if (!reader.string(item, "containerPath", path + "/containerPath", &volume.containerPath) ||
          volume.containerPath.empty()) {
        reader.fail(path + "/containerPath", "is required");
      } else if (climbsOut(volume.containerPath)) {
        reader.fail(path + "/containerPath", "must not contain '..'");
      } else if (volume.containerPath[0] == '/' && container->image.empty()) {
        reader.fail(path + "/containerPath",
                    "an absolute path is inside an image: without docker.image give a path relative to the sandbox");
      }
      volume.mode = "RO";
      container->volumes.push_back(volume);
      continue;
    }
    unknownFields(reader, item, path, {"containerPath", "hostPath", "mode", "persistent", "external", "secret"});
    if (!isEmpty(item["persistent"])) {
      reader.fail(path + "/persistent",
                  "persistent volumes (with residency and reserved resources) are not supported by mantle-services");
      continue;
    }
    if (!isEmpty(item["external"])) {
      reader.fail(path + "/external", "external volumes (Docker volume drivers, DVDI) are not supported");
      continue;
    }
    if (!reader.string(item, "containerPath", path + "/containerPath", &volume.containerPath) ||
        volume.containerPath.empty()) {
      reader.fail(path + "/containerPath", "is required");
    } else if (climbsOut(volume.containerPath)) {
      reader.fail(path + "/containerPath", "must not contain '..'");
    }
    if (!reader.string(item, "hostPath", path + "/hostPath", &volume.hostPath) || volume.hostPath.empty()) {
      reader.fail(path + "/hostPath",
                  "is required: an absolute host path, or a relative path for a directory in the sandbox");
    } else if (climbsOut(volume.hostPath)) {
      reader.fail(path + "/hostPath", "must not contain '..'");
    } else if (volume.hostPath[0] != '/' && !volume.containerPath.empty() && volume.containerPath[0] != '/') {
      reader.fail(path + "/containerPath",
                  "a sandbox volume (relative hostPath) needs an absolute containerPath: the sandbox directory is "
                  "mounted there");
    }
    if (!reader.string(item, "mode", path + "/mode", &volume.mode)) {
      reader.fail(path + "/mode", "is required: RO or RW");
    } else if (volume.mode != "RO" && volume.mode != "RW") {
      reader.fail(path + "/mode", "expected RO or RW");
    }
    container->volumes.push_back(volume);
  }
}

void readPortMappings(Reader& reader, const Json::Value& value, const App& app, ContainerDefinition* container) {
  const bool bridge = app.networks.front().mode == "container/bridge";
  if (value.isNull()) {
    // Marathon's default: one port; on the bridge with a host port.
    if (!onContainerNetworks(app)) return;
    PortMapping mapping;
    mapping.name = "default";
    if (bridge) mapping.hostPort = 0;
    container->portMappings.push_back(mapping);
    return;
  }
  if (!value.isArray()) return reader.fail("/container/portMappings", "expected an array of port mappings");
  std::set<std::int64_t> hostPorts;
  std::set<std::string> names;
  for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
    const std::string path = "/container/portMappings(" + std::to_string(i) + ")";
    const Json::Value& item = value[i];
    if (!item.isObject()) {
      reader.fail(path, "expected an object");
      continue;
    }
    unknownFields(reader, item, path,
                  {"containerPort", "hostPort", "servicePort", "protocol", "name", "labels", "networkNames"});
    PortMapping mapping;
    reader.integer(item, "containerPort", path + "/containerPort", &mapping.containerPort, 0, 65535);
    std::int64_t hostPort = 0;
    if (reader.integer(item, "hostPort", path + "/hostPort", &hostPort, 0, 65535)) {
      mapping.hostPort = hostPort;
      if (app.networks.size() > 1) {
        reader.fail(path + "/hostPort", "host ports cannot be mapped when the app joins several container networks");
      } else if (hostPort != 0 && !hostPorts.insert(hostPort).second) {
        reader.fail(path + "/hostPort", "host ports must be unique");
      }
    } else if (bridge && !item.isMember("hostPort")) {
      mapping.hostPort = 0;  // Marathon: unspecified is 0 on the bridge
    }
    reader.integer(item, "servicePort", path + "/servicePort", &mapping.servicePort, 0, 65535);
    readPortNaming(reader, item, path, &mapping.protocol, &mapping.name, &mapping.labels, &names);
    if (!isEmpty(item["networkNames"])) {
      reader.fail(path + "/networkNames", "not supported: a mapping belongs to the app's network");
    }
    container->portMappings.push_back(mapping);
  }
}

void readDocker(Reader& reader, const Json::Value& docker, ContainerDefinition* container) {
  if (docker.isNull()) return;
  if (!docker.isObject()) return reader.fail("/container/docker", "expected an object");
  unknownFields(
      reader, docker, "/container/docker",
      {"image", "forcePullImage", "privileged", "parameters", "network", "portMappings", "credential", "pullConfig"});
  const bool mesos = container->type == "MESOS";
  if (!reader.string(docker, "image", "/container/docker/image", &container->image) || container->image.empty()) {
    reader.fail("/container/docker/image", "is required: the name of a Docker image");
  }
  reader.boolean(docker, "forcePullImage", "/container/docker/forcePullImage", &container->forcePullImage);
  if (reader.boolean(docker, "privileged", "/container/docker/privileged", &container->privileged) &&
      container->privileged && mesos) {
    reader.fail("/container/docker/privileged", "privileged is for the Docker containerizer (type DOCKER) only");
  }
  if (!isEmpty(docker["parameters"])) {
    static const std::set<std::string> kParameters = {"env", "e", "user", "u", "workdir", "w", "entrypoint"};
    if (mesos) {
      reader.fail("/container/docker/parameters", "parameters are for the Docker containerizer (type DOCKER) only");
    } else if (!docker["parameters"].isArray()) {
      reader.fail("/container/docker/parameters", "expected an array of {key, value}");
    } else {
      for (Json::ArrayIndex i = 0; i < docker["parameters"].size(); ++i) {
        const std::string path = "/container/docker/parameters(" + std::to_string(i) + ")";
        const Json::Value& item = docker["parameters"][i];
        std::string key, value;
        if (!item.isObject() || !reader.string(item, "key", path + "/key", &key) ||
            !reader.string(item, "value", path + "/value", &value)) {
          reader.fail(path, "expected {\"key\": string, \"value\": string}");
        } else if (kParameters.count(key) == 0) {
          reader.fail(path + "/key", "'" + key +
                                         "' is not supported: Mantle's agent runs Docker images without a Docker "
                                         "daemon and maps only env, user, workdir and entrypoint");
        } else {
          container->parameters.emplace_back(key, value);
        }
      }
    }
  }
  std::string network;
  if (reader.string(docker, "network", "/container/docker/network", &network) && network != "HOST") {
    reader.fail("/container/docker/network",
                "deprecated and only HOST is read; give the network as networks ([{\"mode\": "
                "\"container/bridge\"}] or [{\"mode\": \"container\", \"name\": ...}])");
  }
  if (!isEmpty(docker["portMappings"])) {
    reader.fail("/container/docker/portMappings", "deprecated: give them as container.portMappings");
  }
  if (!isEmpty(docker["credential"]) || !isEmpty(docker["pullConfig"])) {
    reader.fail(docker.isMember("credential") && !isEmpty(docker["credential"]) ? "/container/docker/credential"
                                                                                : "/container/docker/pullConfig",
                "not supported: the agents authenticate to registries with their --docker_config");
  }
}

// linuxInfo: {seccomp: {profileName | unconfined}, ipcInfo: {mode, shmSize}}.
void readLinuxInfo(Reader& reader, const Json::Value& value, ContainerDefinition* container) {
  if (value.isNull()) return;
  if (!value.isObject()) return reader.fail("/container/linuxInfo", "expected an object");
  unknownFields(reader, value, "/container/linuxInfo", {"seccomp", "ipcInfo"});
  if (const Json::Value& seccomp = value["seccomp"]; !seccomp.isNull()) {
    const std::string path = "/container/linuxInfo/seccomp";
    if (!seccomp.isObject()) {
      reader.fail(path, "expected an object");
    } else {
      unknownFields(reader, seccomp, path, {"profileName", "unconfined"});
      std::string profile;
      const bool named = reader.string(seccomp, "profileName", path + "/profileName", &profile);
      reader.boolean(seccomp, "unconfined", path + "/unconfined", &container->seccompUnconfined);
      if (named) container->seccompProfile = profile;
      if (named == container->seccompUnconfined) {
        reader.fail(path, "give either a profileName (a profile of the agents) or unconfined: true");
      }
    }
  }
  if (const Json::Value& ipc = value["ipcInfo"]; !ipc.isNull()) {
    const std::string path = "/container/linuxInfo/ipcInfo";
    if (!ipc.isObject()) {
      reader.fail(path, "expected an object");
    } else {
      unknownFields(reader, ipc, path, {"mode", "shmSize"});
      if (!reader.string(ipc, "mode", path + "/mode", &container->ipcMode) ||
          (container->ipcMode != "PRIVATE" && container->ipcMode != "SHARE_PARENT")) {
        reader.fail(path + "/mode", "expected PRIVATE or SHARE_PARENT");
      }
      std::int64_t size = 0;
      if (reader.integer(ipc, "shmSize", path + "/shmSize", &size, 1)) {
        container->shmSize = size;
        if (container->ipcMode == "SHARE_PARENT") {
          reader.fail(path + "/shmSize", "a shared memory size is for mode PRIVATE (SHARE_PARENT uses the agent's)");
        }
      }
    }
  }
}

void readContainer(Reader& reader, const Json::Value& value, App* app) {
  if (value.isNull()) {
    if (onContainerNetworks(*app)) {
      // Container networks without a container: a MESOS container without
      // an image, with Marathon's default port mapping.
      ContainerDefinition container;
      container.type = "MESOS";
      readPortMappings(reader, Json::Value(), *app, &container);
      app->container = container;
    }
    return;
  }
  if (!value.isObject()) return reader.fail("/container", "expected an object");
  unknownFields(reader, value, "/container", {"type", "docker", "appc", "volumes", "portMappings", "linuxInfo"});
  ContainerDefinition container;
  if (reader.string(value, "type", "/container/type", &container.type) && container.type != "MESOS" &&
      container.type != "DOCKER") {
    return reader.fail("/container/type", "expected MESOS or DOCKER");
  }
  if (!isEmpty(value["appc"])) reader.fail("/container/appc", "AppC images are not supported: use docker.image");
  readLinuxInfo(reader, value["linuxInfo"], &container);
  if (container.type == "DOCKER" && isEmpty(value["docker"])) {
    reader.fail("/container/docker", "a DOCKER container needs docker.image");
  }
  readDocker(reader, value["docker"], &container);
  if (container.type == "DOCKER" && onContainerNetworks(*app)) {
    reader.fail("/networks",
                "the Docker containerizer's bridge and user networks need a Docker daemon, which Mantle's agent does "
                "not have: use container type MESOS with docker.image on container networks");
  }
  readVolumes(reader, value["volumes"], *app, &container);
  readPortMappings(reader, value["portMappings"], *app, &container);
  app->container = container;
}

void readSecrets(Reader& reader, const Json::Value& value, App* app) {
  if (value.isNull()) return;
  if (!value.isObject()) return reader.fail("/secrets", "expected an object of {\"source\": ...} by secret id");
  for (const std::string& id : value.getMemberNames()) {
    const std::string path = "/secrets/" + id;
    const Json::Value& secret = value[id];
    if (!secret.isObject()) {
      reader.fail(path, "expected {\"source\": ...}");
      continue;
    }
    unknownFields(reader, secret, path, {"source"});
    std::string source;
    if (!reader.string(secret, "source", path + "/source", &source) || source.empty()) {
      reader.fail(path + "/source", "is required: the secret's reference in the agents' secret store");
      continue;
    }
    app->secrets[id] = source;
  }
}

// `env`: strings, or {"secret": id} naming one of the app's secrets.
void readEnv(Reader& reader, const Json::Value& value, App* app) {
  if (value.isNull()) return;
  if (!value.isObject()) return reader.fail("/env", "expected an object of strings or {\"secret\": id}");
  app->env.clear();
  app->secretEnv.clear();
  for (const std::string& name : value.getMemberNames()) {
    const Json::Value& item = value[name];
    if (item.isString()) {
      app->env[name] = item.asString();
    } else if (item.isObject() && item.size() == 1 && item["secret"].isString()) {
      if (app->secrets.count(item["secret"].asString()) == 0) {
        reader.fail("/env/" + name, "references the secret '" + item["secret"].asString() +
                                        "', which the app's secrets do not declare");
        continue;
      }
      app->secretEnv[name] = item["secret"].asString();
    } else {
      reader.fail("/env/" + name, "expected a string or {\"secret\": id}");
    }
  }
}

void readFields(Reader& reader, const Json::Value& json, App* app) {
  if (!json.isObject()) return reader.fail("/", "expected an app definition, a JSON object");
  static const std::set<std::string> kSupported = {"id",
                                                   "cmd",
                                                   "args",
                                                   "user",
                                                   "cpus",
                                                   "mem",
                                                   "disk",
                                                   "gpus",
                                                   "instances",
                                                   "env",
                                                   "labels",
                                                   "constraints",
                                                   "portDefinitions",
                                                   "ports",
                                                   "requirePorts",
                                                   "healthChecks",
                                                   "upgradeStrategy",
                                                   "backoffSeconds",
                                                   "backoffFactor",
                                                   "maxLaunchDelaySeconds",
                                                   "killSelection",
                                                   "taskKillGracePeriodSeconds",
                                                   "container",
                                                   "networks",
                                                   "secrets",
                                                   "residency"};
  for (const std::string& key : json.getMemberNames()) {
    if (kSupported.count(key) != 0 || kReadOnlyFields.count(key) != 0) continue;
    if (kUnsupportedFields.count(key) != 0) {
      if (!isEmpty(json[key]) && !(key == "acceptedResourceRoles" && json[key].size() == 1 && json[key][0] == "*")) {
        reader.fail("/" + key, "not supported by mantle-services (docs/SERVICES.md)");
      }
      continue;
    }
    reader.fail("/" + key, "unknown field");
  }
  if (!isEmpty(json["residency"])) {
    reader.fail("/residency",
                "residency (persistent volumes on reserved resources) is not supported by mantle-services");
  }

  std::string id;
  if (!reader.string(json, "id", "/id", &id) || id.empty()) {
    reader.fail("/id", "is required");
  } else {
    app->id = normalizeAppId(id);
    if (app->id.empty()) {
      reader.fail("/id",
                  "path segments must fully match regular expression "
                  "'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$'");
    }
  }
  reader.string(json, "cmd", "/cmd", &app->cmd);
  if (json.isMember("args") && !json["args"].isNull()) {
    const Json::Value& args = json["args"];
    app->args.clear();
    if (!args.isArray()) {
      reader.fail("/args", "expected an array of strings");
    } else {
      for (Json::ArrayIndex i = 0; i < args.size(); ++i) {
        if (!args[i].isString()) {
          reader.fail("/args(" + std::to_string(i) + ")", "expected a string");
          continue;
        }
        app->args.push_back(args[i].asString());
      }
    }
  }
  if (!app->cmd.empty() && !app->args.empty()) {
    reader.fail("/", "AppDefinition must either contain one of 'cmd' or 'args', not both");
  }
  reader.string(json, "user", "/user", &app->user);
  reader.number(json, "cpus", "/cpus", &app->cpus, 0.001);
  reader.number(json, "mem", "/mem", &app->mem, 0);
  reader.number(json, "disk", "/disk", &app->disk, 0);
  reader.integer(json, "gpus", "/gpus", &app->gpus, 0);
  reader.integer(json, "instances", "/instances", &app->instances, 0);
  readSecrets(reader, json["secrets"], app);
  readEnv(reader, json["env"], app);
  reader.stringMap(json, "labels", "/labels", &app->labels);
  readConstraints(reader, json["constraints"], app);
  if (json.isMember("ports") && !json["ports"].isNull() && !json.isMember("portDefinitions")) {
    // The older form: service ports as plain numbers.
    const Json::Value& ports = json["ports"];
    Json::Value definitions(Json::arrayValue);
    if (!ports.isArray()) {
      reader.fail("/ports", "expected an array of port numbers");
    } else {
      for (const Json::Value& port : ports) {
        Json::Value definition;
        definition["port"] = port;
        definitions.append(definition);
      }
      readPortDefinitions(reader, definitions, app);
    }
  }
  readPortDefinitions(reader, json["portDefinitions"], app);
  reader.boolean(json, "requirePorts", "/requirePorts", &app->requirePorts);
  readNetworks(reader, json["networks"], app);
  readContainer(reader, json["container"], app);
  if (onContainerNetworks(*app)) {
    // Marathon reads portDefinitions only with the host network.
    const Json::Value& definitions = json.isMember("portDefinitions") ? json["portDefinitions"] : json["ports"];
    if (!isEmpty(definitions)) {
      reader.fail(json.isMember("portDefinitions") ? "/portDefinitions" : "/ports",
                  "with container networks the ports are container.portMappings; leave portDefinitions empty");
    }
    app->portDefinitions.clear();
  } else if (app->container && !app->container->portMappings.empty()) {
    reader.fail("/container/portMappings",
                "port mappings need a container network (networks mode container or container/bridge); with the "
                "host network the ports are portDefinitions");
  }
  if (app->cmd.empty() && app->args.empty() && !(app->container && !app->container->image.empty())) {
    reader.fail("/", "AppDefinition must contain one of 'cmd' or 'args', or a container with docker.image");
  }
  readHealthChecks(reader, json["healthChecks"], app);
  if (json.isMember("upgradeStrategy") && !json["upgradeStrategy"].isNull()) {
    const Json::Value& strategy = json["upgradeStrategy"];
    if (!strategy.isObject()) {
      reader.fail("/upgradeStrategy", "expected an object");
    } else {
      reader.number(strategy, "minimumHealthCapacity", "/upgradeStrategy/minimumHealthCapacity",
                    &app->upgradeStrategy.minimumHealthCapacity, 0, 1);
      reader.number(strategy, "maximumOverCapacity", "/upgradeStrategy/maximumOverCapacity",
                    &app->upgradeStrategy.maximumOverCapacity, 0, 1);
    }
  }
  reader.number(json, "backoffSeconds", "/backoffSeconds", &app->backoffSeconds, 0);
  reader.number(json, "backoffFactor", "/backoffFactor", &app->backoffFactor, 1);
  reader.number(json, "maxLaunchDelaySeconds", "/maxLaunchDelaySeconds", &app->maxLaunchDelaySeconds, 0);
  if (reader.string(json, "killSelection", "/killSelection", &app->killSelection) &&
      app->killSelection != "YOUNGEST_FIRST" && app->killSelection != "OLDEST_FIRST") {
    reader.fail("/killSelection", "expected YOUNGEST_FIRST or OLDEST_FIRST");
  }
  double grace = 0;
  if (reader.number(json, "taskKillGracePeriodSeconds", "/taskKillGracePeriodSeconds", &grace, 0)) {
    app->taskKillGracePeriodSeconds = grace;
  }
}

Json::Value stringMapJson(const std::map<std::string, std::string>& map) {
  Json::Value out(Json::objectValue);
  for (const auto& [key, value] : map) out[key] = value;
  return out;
}

Json::Value containerJson(const ContainerDefinition& container) {
  Json::Value out;
  out["type"] = container.type;
  if (!container.image.empty()) {
    Json::Value& docker = out["docker"];
    docker["image"] = container.image;
    docker["forcePullImage"] = container.forcePullImage;
    if (container.type == "DOCKER") {
      docker["privileged"] = container.privileged;
      docker["parameters"] = Json::Value(Json::arrayValue);
      for (const auto& [key, value] : container.parameters) {
        Json::Value parameter;
        parameter["key"] = key;
        parameter["value"] = value;
        docker["parameters"].append(parameter);
      }
    }
  }
  out["volumes"] = Json::Value(Json::arrayValue);
  for (const VolumeDefinition& volume : container.volumes) {
    Json::Value item;
    item["containerPath"] = volume.containerPath;
    if (!volume.secret.empty()) {
      item["secret"] = volume.secret;
    } else {
      item["hostPath"] = volume.hostPath;
      item["mode"] = volume.mode;
    }
    out["volumes"].append(item);
  }
  if (container.seccompProfile) out["linuxInfo"]["seccomp"]["profileName"] = *container.seccompProfile;
  if (container.seccompUnconfined) out["linuxInfo"]["seccomp"]["unconfined"] = true;
  if (!container.ipcMode.empty()) out["linuxInfo"]["ipcInfo"]["mode"] = container.ipcMode;
  if (container.shmSize) out["linuxInfo"]["ipcInfo"]["shmSize"] = static_cast<Json::Int64>(*container.shmSize);
  out["portMappings"] = Json::Value(Json::arrayValue);
  for (const PortMapping& mapping : container.portMappings) {
    Json::Value item;
    item["containerPort"] = static_cast<Json::Int64>(mapping.containerPort);
    if (mapping.hostPort) item["hostPort"] = static_cast<Json::Int64>(*mapping.hostPort);
    item["servicePort"] = static_cast<Json::Int64>(mapping.servicePort);
    item["protocol"] = mapping.protocol;
    if (!mapping.name.empty()) item["name"] = mapping.name;
    item["labels"] = stringMapJson(mapping.labels);
    out["portMappings"].append(item);
  }
  return out;
}

}  // namespace

std::string normalizeAppId(const std::string& id) {
  std::string out;
  std::size_t begin = 0;
  while (begin <= id.size()) {
    std::size_t end = id.find('/', begin);
    if (end == std::string::npos) end = id.size();
    const std::string segment = id.substr(begin, end - begin);
    if (!segment.empty()) {
      if (!validSegment(segment)) return "";
      out += "/" + segment;
    } else if (begin != 0 && end != id.size()) {
      return "";  // "a//b"
    }
    begin = end + 1;
  }
  return out;
}

bool onContainerNetworks(const App& app) {
  return !app.networks.empty() && app.networks.front().mode != "host";
}

namespace {

// The service port fields of `app` (const or not), in order.
template <typename AppType>
auto servicePortFields(AppType& app) {
  std::vector<decltype(&app.portDefinitions.front().port)> fields;
  if (onContainerNetworks(app)) {
    if (app.container) {
      for (auto& mapping : app.container->portMappings) fields.push_back(&mapping.servicePort);
    }
  } else {
    for (auto& port : app.portDefinitions) fields.push_back(&port.port);
  }
  return fields;
}

}  // namespace

std::vector<std::int64_t*> servicePortSlots(App& app) {
  return servicePortFields(app);
}

std::vector<std::int64_t> servicePortsOf(const App& app) {
  std::vector<std::int64_t> ports;
  for (const std::int64_t* port : servicePortFields(app)) ports.push_back(*port);
  return ports;
}

App readApp(const Json::Value& json, std::vector<Violation>* violations) {
  App app;
  Reader reader(violations);
  readFields(reader, json, &app);
  return app;
}

App readStoredApp(const Json::Value& json, std::vector<Violation>* violations) {
  App app = readApp(json, violations);
  app.version = json["version"].asString();
  app.lastConfigChangeAt = json["versionInfo"]["lastConfigChangeAt"].asString();
  app.lastScalingAt = json["versionInfo"]["lastScalingAt"].asString();
  return app;
}

Json::Value appJson(const App& app) {
  Json::Value out;
  out["id"] = app.id;
  out["cmd"] = app.cmd.empty() ? Json::Value() : Json::Value(app.cmd);
  out["args"] = Json::Value(Json::arrayValue);
  for (const std::string& arg : app.args) out["args"].append(arg);
  out["user"] = app.user.empty() ? Json::Value() : Json::Value(app.user);
  out["cpus"] = app.cpus;
  out["mem"] = app.mem;
  out["disk"] = app.disk;
  out["gpus"] = static_cast<Json::Int64>(app.gpus);
  out["instances"] = static_cast<Json::Int64>(app.instances);
  out["env"] = stringMapJson(app.env);
  for (const auto& [name, id] : app.secretEnv) out["env"][name]["secret"] = id;
  out["secrets"] = Json::Value(Json::objectValue);
  for (const auto& [id, source] : app.secrets) out["secrets"][id]["source"] = source;
  out["labels"] = stringMapJson(app.labels);
  out["constraints"] = Json::Value(Json::arrayValue);
  for (const auto& constraint : app.constraints) {
    Json::Value item(Json::arrayValue);
    for (const std::string& part : constraint) item.append(part);
    out["constraints"].append(item);
  }
  out["portDefinitions"] = Json::Value(Json::arrayValue);
  out["ports"] = Json::Value(Json::arrayValue);
  for (const PortDefinition& port : app.portDefinitions) {
    Json::Value item;
    item["port"] = static_cast<Json::Int64>(port.port);
    item["protocol"] = port.protocol;
    if (!port.name.empty()) item["name"] = port.name;
    item["labels"] = stringMapJson(port.labels);
    out["portDefinitions"].append(item);
    out["ports"].append(static_cast<Json::Int64>(port.port));
  }
  out["requirePorts"] = app.requirePorts;
  out["healthChecks"] = Json::Value(Json::arrayValue);
  for (const HealthCheckDefinition& check : app.healthChecks) {
    Json::Value item;
    item["protocol"] = check.protocol;
    if (check.protocol == "COMMAND") {
      item["command"]["value"] = check.command;
    } else {
      if (check.protocol.find("HTTP") != std::string::npos) item["path"] = check.path;
      if (check.port) {
        item["port"] = static_cast<Json::Int64>(*check.port);
      } else {
        item["portIndex"] = static_cast<Json::Int64>(check.portIndex);
      }
    }
    item["gracePeriodSeconds"] = check.gracePeriodSeconds;
    item["intervalSeconds"] = check.intervalSeconds;
    item["timeoutSeconds"] = check.timeoutSeconds;
    item["delaySeconds"] = check.delaySeconds;
    item["maxConsecutiveFailures"] = static_cast<Json::Int64>(check.maxConsecutiveFailures);
    out["healthChecks"].append(item);
  }
  out["upgradeStrategy"]["minimumHealthCapacity"] = app.upgradeStrategy.minimumHealthCapacity;
  out["upgradeStrategy"]["maximumOverCapacity"] = app.upgradeStrategy.maximumOverCapacity;
  out["backoffSeconds"] = app.backoffSeconds;
  out["backoffFactor"] = app.backoffFactor;
  out["maxLaunchDelaySeconds"] = app.maxLaunchDelaySeconds;
  out["killSelection"] = app.killSelection;
  if (app.taskKillGracePeriodSeconds) out["taskKillGracePeriodSeconds"] = *app.taskKillGracePeriodSeconds;
  out["container"] = app.container ? containerJson(*app.container) : Json::Value();
  out["networks"] = Json::Value(Json::arrayValue);
  for (const NetworkDefinition& network : app.networks) {
    Json::Value item;
    item["mode"] = network.mode;
    if (!network.name.empty()) item["name"] = network.name;
    if (!network.labels.empty()) item["labels"] = stringMapJson(network.labels);
    out["networks"].append(item);
  }
  out["residency"] = Json::Value();
  out["version"] = app.version;
  out["versionInfo"]["lastConfigChangeAt"] = app.lastConfigChangeAt;
  out["versionInfo"]["lastScalingAt"] = app.lastScalingAt;
  return out;
}

Json::Value violationsJson(const std::vector<Violation>& violations) {
  Json::Value out;
  out["message"] = "Object is not valid";
  out["details"] = Json::Value(Json::arrayValue);
  // Marathon groups the messages by path.
  std::map<std::string, Json::Value> byPath;
  std::vector<std::string> order;
  for (const Violation& violation : violations) {
    if (byPath.count(violation.path) == 0) {
      order.push_back(violation.path);
      byPath[violation.path] = Json::Value(Json::arrayValue);
    }
    byPath[violation.path].append(violation.message);
  }
  for (const std::string& path : order) {
    Json::Value detail;
    detail["path"] = path;
    detail["errors"] = byPath[path];
    out["details"].append(detail);
  }
  return out;
}

bool configChanged(const App& before, const App& after) {
  Json::Value a = appJson(before);
  Json::Value b = appJson(after);
  for (Json::Value* json : {&a, &b}) {
    json->removeMember("instances");
    json->removeMember("version");
    json->removeMember("versionInfo");
  }
  return a != b;
}

}  // namespace mantle::services
