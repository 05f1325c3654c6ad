#include "master/registry_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <glog/logging.h>
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

namespace {

// Applies one line of the registry (the whole registry or a change, see
// registry_file.hpp) to `state`; `agentAt` indexes state->agents by id.
Status applyLine(std::string_view text, const std::string& where, RegistryState* state,
                 std::unordered_map<std::string, std::size_t>* agentAt) {
  Result<Json::Value> root = json::parseStrict(text, where);
  if (!root.ok()) return root.error();
  if (!root->isObject()) return invalidArgument(where + ": the registry is not a JSON object");
  const Json::Value& removed = (*root)["removed_agents"];
  for (Json::ArrayIndex i = 0; i < removed.size(); ++i) {
    auto at = agentAt->find(removed[i].asString());
    if (at == agentAt->end()) continue;
    // The last agent takes the removed one's place.
    const std::size_t index = at->second;
    agentAt->erase(at);
    if (index + 1 != state->agents.size()) {
      state->agents[index] = std::move(state->agents.back());
      (*agentAt)[state->agents[index].id().value()] = index;
    }
    state->agents.pop_back();
  }
  const Json::Value& agents = (*root)["agents"];
  for (Json::ArrayIndex i = 0; i < agents.size(); ++i) {
    Result<mesos::v1::AgentInfo> info =
        messageFrom<mesos::v1::AgentInfo>(text, agents[i]["info"], where + ": agents[" + std::to_string(i) + "].info");
    if (!info.ok()) return info.error();
    auto [at, added] = agentAt->try_emplace(info->id().value(), state->agents.size());
    if (added) {
      state->agents.push_back(std::move(*info));
    } else {
      state->agents[at->second] = std::move(*info);
    }
  }
  const Json::Value& gone = (*root)["gone_agents"];
  state->goneAgents.clear();
  for (Json::ArrayIndex i = 0; i < gone.size(); ++i) state->goneAgents.push_back(gone[i].asString());
  state->frameworks.clear();
  if (Status s = messagesFrom(text, *root, "frameworks", where, &state->frameworks); !s.ok()) return s.error();
  const Json::Value& weights = (*root)["weights"];
  state->weights.clear();
  if (weights.isObject()) {
    for (const std::string& role : weights.getMemberNames()) {
      if (!weights[role].isNumeric()) return invalidArgument(where + ": weights." + role + " is not a number");
      state->weights[role] = weights[role].asDouble();
    }
  }
  state->quotas.clear();
  if (Status s = messagesFrom(text, *root, "quotas", where, &state->quotas); !s.ok()) return s.error();
  state->schedule.Clear();
  if (root->isMember("maintenance_schedule")) {
    Result<mesos::v1::maintenance::Schedule> schedule = messageFrom<mesos::v1::maintenance::Schedule>(
        text, (*root)["maintenance_schedule"], where + ": maintenance_schedule");
    if (!schedule.ok()) return schedule.error();
    state->schedule = std::move(*schedule);
  }
  state->machines.clear();
  if (Status s = messagesFrom(text, *root, "machines", where, &state->machines); !s.ok()) return s.error();
  return {};
}

}  // namespace

Result<RegistryState> parseRegistry(const std::string& text, const std::string& where) {
  RegistryState state;
  std::unordered_map<std::string, std::size_t> agentAt;
  const std::string_view all(text);
  std::size_t line = 0;
  for (std::size_t begin = 0; begin < all.size(); ++line) {
    const std::size_t end = all.find('\n', begin);
    if (end == std::string_view::npos && line > 0) {
      LOG(WARNING) << where << ": dropping its last line (" << all.size() - begin
                   << " bytes without a newline): a write that never completed";
      break;
    }
    const std::string lineWhere = line == 0 ? where : where + " (change " + std::to_string(line) + ")";
    const std::size_t length = end == std::string_view::npos ? all.size() - begin : end - begin;
    if (Status s = applyLine(all.substr(begin, length), lineWhere, &state, &agentAt); !s.ok()) return s.error();
    begin += length + 1;
  }
  return state;
}

namespace {

std::string serialize(const RegistryState& state, const std::vector<std::string>* removedAgents) {
  std::string out = "{\"version\":1,\"agents\":[";
  for (std::size_t i = 0; i < state.agents.size(); ++i) {
    if (i > 0) out += ",";
    out += "{\"info\":";
    wire::appendJson(state.agents[i], &out);
    out += "}";
  }
  if (removedAgents != nullptr) {
    out += "],\"removed_agents\":[";
    for (std::size_t i = 0; i < removedAgents->size(); ++i) {
      if (i > 0) out += ",";
      out += Json::valueToQuotedString((*removedAgents)[i].c_str());
    }
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

}  // namespace

std::string serializeRegistry(const RegistryState& state) {
  return serialize(state, nullptr);
}

std::string serializeRegistryChange(const RegistryState& state, const std::vector<std::string>& removedAgents) {
  return serialize(state, &removedAgents);
}

Result<RegistryState> RegistryFile::load() const {
  if (path_.empty() || !std::filesystem::exists(path_)) return RegistryState{};
  std::ifstream in(path_, std::ios::binary);
  if (!in) return internalError(errnoText("cannot read registry", path_));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parseRegistry(buffer.str(), path_);
}

Status RegistryFile::replace(std::string_view text) const {
  if (path_.empty()) return {};
  return durable::writeFile(path_, text);
}

Status RegistryFile::append(std::string_view text) const {
  if (path_.empty()) return {};
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return internalError(errnoText("cannot open registry", path_));
  Status status;
  for (std::size_t done = 0; done < text.size() && status.ok();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = internalError(errnoText("cannot append to registry", path_));
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (status.ok() && ::fdatasync(fd) != 0) status = internalError(errnoText("cannot sync registry", path_));
  ::close(fd);
  return status;
}

}  // namespace mantle::master
