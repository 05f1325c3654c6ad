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
    "executor",          "uris",      "fetch",          "storeUrls",           "dependencies", "readinessChecks",
    "secrets",           "ipAddress", "networks",       "unreachableStrategy", "role",         "acceptedResourceRoles",
    "executorResources", "tty",       "maxLaunchDelay",
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

void readPortDefinitions(Reader& reader, const Json::Value& value, App* app) {
  if (value.isNull()) return;
  if (!value.isArray()) return reader.fail("/portDefinitions", "expected an array");
  app->portDefinitions.clear();
  std::set<std::int64_t> fixed;
  std::set<std::string> names;
  static const std::regex kName("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$");
  for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
    const std::string path = "/portDefinitions(" + std::to_string(i) + ")";
    const Json::Value& item = value[i];
    if (!item.isObject()) {
      reader.fail(path, "expected an object");
      continue;
    }
    for (const std::string& key : item.getMemberNames()) {
      if (key != "port" && key != "protocol" && key != "name" && key != "labels") {
        reader.fail(path + "/" + key, "unknown field");
      }
    }
    PortDefinition port;
    reader.integer(item, "port", path + "/port", &port.port, 0, 65535);
    if (reader.string(item, "protocol", path + "/protocol", &port.protocol) && port.protocol != "tcp" &&
        port.protocol != "udp" && port.protocol != "udp,tcp") {
      reader.fail(path + "/protocol", "expected tcp, udp or udp,tcp");
    }
    if (reader.string(item, "name", path + "/name", &port.name)) {
      if (!std::regex_match(port.name, kName)) {
        reader.fail(path + "/name", "must fully match regular expression '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'");
      } else if (!names.insert(port.name).second) {
        reader.fail(path + "/name", "port names must be unique");
      }
    }
    reader.stringMap(item, "labels", path + "/labels", &port.labels);
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
    reader.string(item, "path", path + "/path", &check.path);
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
    } else if (!check.port && check.portIndex >= static_cast<std::int64_t>(app->portDefinitions.size())) {
      reader.fail(path + "/portIndex", "the app has " + std::to_string(app->portDefinitions.size()) +
                                           " port definitions; give a portIndex below that or a port");
    }
    app->healthChecks.push_back(check);
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
  if (!isEmpty(json["container"])) {
    reader.fail("/container",
                "containers are not supported yet: mantle-services runs commands on the agent's "
                "default containerizer only");
  }
  if (!isEmpty(json["residency"])) {
    reader.fail("/residency", "residency and persistent volumes are not supported yet");
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
  if (app->cmd.empty() && app->args.empty()) reader.fail("/", "AppDefinition must contain one of 'cmd' or 'args'");
  reader.string(json, "user", "/user", &app->user);
  reader.number(json, "cpus", "/cpus", &app->cpus, 0.001);
  reader.number(json, "mem", "/mem", &app->mem, 0);
  reader.number(json, "disk", "/disk", &app->disk, 0);
  reader.integer(json, "gpus", "/gpus", &app->gpus, 0);
  reader.integer(json, "instances", "/instances", &app->instances, 0);
  reader.stringMap(json, "env", "/env", &app->env);
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
  out["container"] = Json::Value();
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
