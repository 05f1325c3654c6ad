#include "acls.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <json/value.h>

#include "mantle/common/strict_json.hpp"

namespace mantle::authenticators::local_authorizer {

namespace {

using Object = ActionSpec::Object;

const std::vector<ActionSpec> kActions = {
    {"register_frameworks", "roles", Object::kRole},
    {"run_tasks", "users", Object::kValue},
    {"teardown_frameworks", "framework_principals", Object::kValue},
    {"reserve_resources", "roles", Object::kRole},
    {"unreserve_resources", "reserver_principals", Object::kValue},
    {"create_volumes", "roles", Object::kRole},
    {"destroy_volumes", "creator_principals", Object::kValue},
    {"resize_volumes", "roles", Object::kRole},
    {"create_block_disks", "roles", Object::kRole},
    {"destroy_block_disks", "roles", Object::kRole},
    {"create_mount_disks", "roles", Object::kRole},
    {"destroy_mount_disks", "roles", Object::kRole},
    {"destroy_raw_disks", "roles", Object::kRole},
    {"get_quotas", "roles", Object::kRole},
    {"update_quotas", "roles", Object::kRole},
    {"view_roles", "roles", Object::kRole},
    {"update_weights", "roles", Object::kRole},
    {"get_endpoints", "paths", Object::kValue},
    {"view_frameworks", "users", Object::kValue},
    {"view_tasks", "users", Object::kValue},
    {"view_executors", "users", Object::kValue},
    {"view_containers", "users", Object::kValue},
    {"access_sandboxes", "users", Object::kValue},
    {"access_mesos_logs", "logs", Object::kImplicit},
    {"view_flags", "flags", Object::kImplicit},
    {"set_log_level", "level", Object::kImplicit},
    {"launch_nested_containers_as_user", "users", Object::kValue},
    {"launch_nested_containers_under_parent_with_user", "users", Object::kValue},
    {"launch_nested_container_sessions_as_user", "users", Object::kValue},
    {"launch_nested_container_sessions_under_parent_with_user", "users", Object::kValue},
    {"kill_nested_containers", "users", Object::kValue},
    {"wait_nested_containers", "users", Object::kValue},
    {"remove_nested_containers", "users", Object::kValue},
    {"attach_containers_input", "users", Object::kValue},
    {"attach_containers_output", "users", Object::kValue},
    {"register_agents", "agents", Object::kImplicit},
    {"update_maintenance_schedules", "machines", Object::kImplicit},
    {"get_maintenance_schedules", "machines", Object::kImplicit},
    {"start_maintenances", "machines", Object::kImplicit},
    {"stop_maintenances", "machines", Object::kImplicit},
    {"get_maintenance_statuses", "machines", Object::kImplicit},
    {"mark_agents_gone", "agents", Object::kImplicit},
    {"drain_agents", "agents", Object::kImplicit},
    {"deactivate_agents", "agents", Object::kImplicit},
    {"reactivate_agents", "agents", Object::kImplicit},
    {"launch_standalone_containers", "users", Object::kImplicit},
    {"kill_standalone_containers", "users", Object::kImplicit},
    {"wait_standalone_containers", "users", Object::kImplicit},
    {"remove_standalone_containers", "users", Object::kImplicit},
    {"view_standalone_containers", "users", Object::kImplicit},
    {"modify_resource_provider_configs", "resource_providers", Object::kImplicit},
    {"mark_resource_providers_gone", "resource_providers", Object::kImplicit},
    {"view_resource_providers", "resource_providers", Object::kImplicit},
    {"prune_images", "images", Object::kImplicit},
};

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest known action, when close enough.
std::string suggestion(std::string_view key) {
  const ActionSpec* best = nullptr;
  std::size_t bestDistance = 4;
  for (const ActionSpec& a : kActions) {
    std::size_t d = editDistance(key, a.name);
    if (d < bestDistance) {
      best = &a;
      bestDistance = d;
    }
  }
  return best != nullptr ? " (did you mean '" + std::string(best->name) + "'?)" : "";
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Result<Acls> parse(const std::string& text) {
    Result<Json::Value> parsed = json::parseStrict(text, source_);
    if (!parsed.ok()) return parsed.error();
    const Json::Value& root = *parsed;
    if (!root.isObject()) return error("(root)", "expected an object of ACLs");
    Acls acls;
    for (const std::string& key : root.getMemberNames()) {
      const Json::Value& value = root[key];
      if (key == "permissive") {
        if (!value.isBool()) return error(key, "expected true or false");
        acls.permissive = value.asBool();
        continue;
      }
      const ActionSpec* action = findAction(key);
      if (action == nullptr) return error(key, "unknown key: not 'permissive' nor a known action" + suggestion(key));
      if (!value.isArray()) return error(key, "expected an array of ACLs");
      std::vector<Acl>& list = acls.byAction[key];
      for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
        Result<Acl> acl = parseAcl(value[i], key + "[" + std::to_string(i) + "]", *action);
        if (!acl.ok()) return acl.error();
        list.push_back(std::move(*acl));
      }
    }
    return acls;
  }

 private:
  Error error(const std::string& path, const std::string& message) const {
    return invalidArgument(source_ + ": " + path + ": " + message);
  }

  Result<Acl> parseAcl(const Json::Value& json, const std::string& path, const ActionSpec& action) const {
    const std::string objectField(action.objectField);
    if (!json.isObject()) return error(path, "expected an object with 'principals' and '" + objectField + "'");
    for (const std::string& key : json.getMemberNames()) {
      if (key != "principals" && key != objectField) {
        return error(path + "." + key, "unknown key (a " + std::string(action.name) +
                                           " ACL has 'principals' and '" + objectField + "')");
      }
    }
    for (const std::string& required : {std::string("principals"), objectField}) {
      if (!json.isMember(required)) return error(path, "missing '" + required + "'");
    }
    Acl acl;
    Result<Entity> principals = parseEntity(json["principals"], path + ".principals");
    if (!principals.ok()) return principals.error();
    Result<Entity> objects = parseEntity(json[objectField], path + "." + objectField);
    if (!objects.ok()) return objects.error();
    if (action.object == Object::kImplicit && objects->type == Entity::Type::kSome) {
      return error(path + "." + objectField, "must be {\"type\": \"ANY\"} or {\"type\": \"NONE\"}: " +
                                                 std::string(action.name) + " names no objects");
    }
    acl.principals = std::move(*principals);
    acl.objects = std::move(*objects);
    return acl;
  }

  Result<Entity> parseEntity(const Json::Value& json, const std::string& path) const {
    if (!json.isObject()) return error(path, "expected an entity: {\"values\": [...]} or {\"type\": \"ANY\"|\"NONE\"}");
    Entity entity;
    for (const std::string& key : json.getMemberNames()) {
      if (key != "type" && key != "values") return error(path + "." + key, "unknown key (expected: type, values)");
    }
    if (json.isMember("type")) {
      const Json::Value& type = json["type"];
      std::string name = type.isString() ? type.asString() : "";
      if (name == "SOME") {
        entity.type = Entity::Type::kSome;
      } else if (name == "ANY") {
        entity.type = Entity::Type::kAny;
      } else if (name == "NONE") {
        entity.type = Entity::Type::kNone;
      } else {
        return error(path + ".type", (type.isString() ? "'" + name + "'" : std::string("a non-string value")) +
                                         " is not one of SOME, ANY, NONE");
      }
    }
    if (json.isMember("values")) {
      const Json::Value& values = json["values"];
      if (!values.isArray()) return error(path + ".values", "expected an array of strings");
      for (Json::ArrayIndex i = 0; i < values.size(); ++i) {
        if (!values[i].isString()) return error(path + ".values[" + std::to_string(i) + "]", "expected a string");
        entity.values.push_back(values[i].asString());
      }
    }
    if (entity.type != Entity::Type::kSome) entity.values.clear();  // ignored for ANY and NONE
    return entity;
  }

  std::string source_;
};

// Whether ACL value `aclValue` names `value`. For roles, "parent/%" names
// every role nested under parent (not parent itself).
bool names(const std::string& aclValue, const std::string& value, Object kind) {
  if (aclValue == value) return true;
  if (kind != Object::kRole || aclValue.size() < 2 || aclValue.compare(aclValue.size() - 2, 2, "/%") != 0) return false;
  std::string_view prefix(aclValue.data(), aclValue.size() - 1);  // "parent/"
  return value.size() > prefix.size() && value.compare(0, prefix.size(), prefix) == 0;
}

// A request side is one named value, or "any" (std::nullopt).
bool matches(const Entity& acl, const std::optional<std::string>& request, Object kind) {
  if (acl.type != Entity::Type::kSome) return true;  // ANY and NONE match every request
  if (!request) return false;                          // "any" is not within a list of names
  return std::any_of(acl.values.begin(), acl.values.end(),
                     [&](const std::string& v) { return names(v, *request, kind); });
}

}  // namespace

const std::vector<ActionSpec>& allActions() { return kActions; }

const ActionSpec* findAction(std::string_view name) {
  for (const ActionSpec& a : kActions) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

Result<Acls> parseAcls(const std::string& text, const std::string& source) { return Parser(source).parse(text); }

Result<Acls> loadAcls(const std::string& parameter) {
  std::size_t first = parameter.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return invalidArgument("parameter 'acls' is empty");
  if (parameter[first] == '{') return parseAcls(parameter, "inline acls");
  std::string path = parameter;
  if (path.rfind("file://", 0) == 0) path = path.substr(7);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return notFound("acls file '" + path + "' " +
                    (std::filesystem::exists(path, ec) ? "is not a regular file" : "does not exist"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("acls file '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parseAcls(text.str(), "acls file '" + path + "'");
}

bool authorize(const Acls& acls, const ActionSpec& action, const std::optional<std::string>& subject,
               const std::optional<std::string>& object) {
  std::optional<std::string> requestObject = action.object == Object::kImplicit ? std::nullopt : object;
  auto it = acls.byAction.find(action.name);
  if (it != acls.byAction.end()) {
    for (const Acl& acl : it->second) {
      if (matches(acl.principals, subject, Object::kValue) && matches(acl.objects, requestObject, action.object)) {
        return acl.principals.type != Entity::Type::kNone && acl.objects.type != Entity::Type::kNone;
      }
    }
  }
  return acls.permissive;
}

}  // namespace mantle::authenticators::local_authorizer
