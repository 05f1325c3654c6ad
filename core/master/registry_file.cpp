#include "master/registry_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <json/json.h>

#include "mantle/common/durable_file.hpp"
#include "mantle/common/strict_json.hpp"
#include "wire/json.hpp"

namespace mantle::master {
namespace {

std::string errnoText(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

// The message written at `value` in `text` (the document `value` was
// parsed from): decoded from its own span of the text, not written out
// again first (a registry of 40,000 agents is read at every failover).
template <typename T>
Result<T> messageFrom(std::string_view text, const Json::Value& value, const std::string& where) {
  const std::size_t start = static_cast<std::size_t>(value.getOffsetStart());
  const std::size_t limit = static_cast<std::size_t>(value.getOffsetLimit());
  if (!value.isObject() || limit <= start || limit > text.size()) {
    return invalidArgument(where + ": expected an object");
  }
  T message;
  Status s = wire::fromJson(text.substr(start, limit - start), &message);
  if (!s.ok()) return s.error().withContext(where);
  return message;
}

// Appends each message of the JSON array `root[field]` to `out`.
template <typename T>
Status messagesFrom(std::string_view text, const Json::Value& root, const char* field, const std::string& where,
                    std::vector<T>* out) {
  const Json::Value& array = root[field];
  for (Json::ArrayIndex i = 0; i < array.size(); ++i) {
    Result<T> message = messageFrom<T>(text, array[i], where + ": " + field + "[" + std::to_string(i) + "]");
    if (!message.ok()) return message.error();
    out->push_back(std::move(*message));
  }
  return {};
}

}  // namespace

Result<RegistryState> parseRegistry(const std::string& text, const std::string& where) {
  RegistryState state;
  Result<Json::Value> root = json::parseStrict(text, where);
  if (!root.ok()) return root.error();
  if (!root->isObject()) return invalidArgument(where + ": the registry is not a JSON object");
  const Json::Value& agents = (*root)["agents"];
  for (Json::ArrayIndex i = 0; i < agents.size(); ++i) {
    Result<mesos::v1::AgentInfo> info =
        messageFrom<mesos::v1::AgentInfo>(text, agents[i]["info"], where + ": agents[" + std::to_string(i) + "].info");
    if (!info.ok()) return info.error();
    state.agents.push_back(std::move(*info));
  }
  const Json::Value& gone = (*root)["gone_agents"];
  for (Json::ArrayIndex i = 0; i < gone.size(); ++i) state.goneAgents.push_back(gone[i].asString());
  if (Status s = messagesFrom(text, *root, "frameworks", where, &state.frameworks); !s.ok()) return s.error();
  const Json::Value& weights = (*root)["weights"];
  if (weights.isObject()) {
    for (const std::string& role : weights.getMemberNames()) {
      if (!weights[role].isNumeric()) return invalidArgument(where + ": weights." + role + " is not a number");
      state.weights[role] = weights[role].asDouble();
    }
  }
  if (Status s = messagesFrom(text, *root, "quotas", where, &state.quotas); !s.ok()) return s.error();
  if (root->isMember("maintenance_schedule")) {
    Result<mesos::v1::maintenance::Schedule> schedule = messageFrom<mesos::v1::maintenance::Schedule>(
        text, (*root)["maintenance_schedule"], where + ": maintenance_schedule");
    if (!schedule.ok()) return schedule.error();
    state.schedule = std::move(*schedule);
  }
  if (Status s = messagesFrom(text, *root, "machines", where, &state.machines); !s.ok()) return s.error();
  return state;
}

std::string serializeRegistry(const RegistryState& state) {
  std::string out = "{\"version\":1,\"agents\":[";
  for (std::size_t i = 0; i < state.agents.size(); ++i) {
    if (i > 0) out += ",";
    out += "{\"info\":";
    wire::appendJson(state.agents[i], &out);
    out += "}";
  }
  out += "],\"gone_agents\":[";
  for (std::size_t i = 0; i < state.goneAgents.size(); ++i) {
    if (i > 0) out += ",";
    out += Json::valueToQuotedString(state.goneAgents[i].c_str());
  }
  out += "],\"frameworks\":[";
  for (std::size_t i = 0; i < state.frameworks.size(); ++i) {
    if (i > 0) out += ",";
    wire::appendJson(state.frameworks[i], &out);
  }
  out += "],\"weights\":{";
  bool first = true;
  for (const auto& [role, weight] : state.weights) {
    if (!first) out += ",";
    first = false;
    out += Json::valueToQuotedString(role.c_str());
    out += ":";
    out += Json::valueToString(weight);
  }
  out += "},\"quotas\":[";
  for (std::size_t i = 0; i < state.quotas.size(); ++i) {
    if (i > 0) out += ",";
    wire::appendJson(state.quotas[i], &out);
  }
  out += "]";
  if (state.schedule.windows_size() > 0) {
    out += ",\"maintenance_schedule\":";
    wire::appendJson(state.schedule, &out);
  }
  if (!state.machines.empty()) {
    out += ",\"machines\":[";
    for (std::size_t i = 0; i < state.machines.size(); ++i) {
      if (i > 0) out += ",";
      wire::appendJson(state.machines[i], &out);
    }
    out += "]";
  }
  out += "}\n";
  return out;
}

Result<RegistryState> RegistryFile::load() const {
  if (path_.empty() || !std::filesystem::exists(path_)) return RegistryState{};
  std::ifstream in(path_, std::ios::binary);
  if (!in) return internalError(errnoText("cannot read registry", path_));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parseRegistry(buffer.str(), path_);
}

Status RegistryFile::store(const RegistryState& state) const {
  if (path_.empty()) return {};
  return durable::writeFile(path_, serializeRegistry(state));
}

}  // namespace mantle::master
