#include "operator_stream/cluster_state.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include "wire/host_port.hpp"
#include "wire/task_state.hpp"

namespace mantle::operator_stream {

using v1::master::Event;

std::string taskKey(const v1::FrameworkID& frameworkId, const v1::TaskID& taskId) {
  return frameworkId.value() + "/" + taskId.value();
}

namespace {

void addTask(const v1::Task& task, ClusterState* state) {
  if (wire::isTerminal(task.state())) return;
  v1::Task kept = task;
  if (kept.statuses_size() > 1) {
    v1::TaskStatus last = kept.statuses(kept.statuses_size() - 1);
    kept.clear_statuses();
    *kept.add_statuses() = std::move(last);
  }
  state->tasks[taskKey(task.framework_id(), task.task_id())] = std::move(kept);
}

void reset(const Event::Subscribed& subscribed, ClusterState* state) {
  state->agents.clear();
  state->frameworks.clear();
  state->tasks.clear();
  const auto& snapshot = subscribed.get_state();
  for (const auto& agent : snapshot.get_agents().agents()) state->agents[agent.agent_info().id().value()] = agent;
  for (const auto& framework : snapshot.get_frameworks().frameworks()) {
    state->frameworks[framework.framework_info().id().value()] = framework.framework_info();
  }
  for (const v1::Task& task : snapshot.get_tasks().tasks()) addTask(task, state);
}

}  // namespace

bool apply(const Event& event, ClusterState* state) {
  switch (event.type()) {
    case Event::SUBSCRIBED: reset(event.subscribed(), state); return true;
    case Event::TASK_ADDED: addTask(event.task_added().task(), state); return true;
    case Event::TASK_UPDATED: {
      const auto& updated = event.task_updated();
      const std::string key = taskKey(updated.framework_id(), updated.status().task_id());
      auto task = state->tasks.find(key);
      if (task == state->tasks.end()) return false;
      if (wire::isTerminal(updated.state())) {
        state->tasks.erase(task);
        return true;
      }
      task->second.set_state(updated.state());
      task->second.clear_statuses();
      *task->second.add_statuses() = updated.status();
      return true;
    }
    case Event::AGENT_ADDED: {
      const auto& agent = event.agent_added().agent();
      state->agents[agent.agent_info().id().value()] = agent;
      return true;
    }
    case Event::AGENT_REMOVED: return state->agents.erase(event.agent_removed().agent_id().value()) > 0;
    case Event::FRAMEWORK_ADDED:
    case Event::FRAMEWORK_UPDATED: {
      const auto& framework = event.type() == Event::FRAMEWORK_ADDED ? event.framework_added().framework()
                                                                     : event.framework_updated().framework();
      state->frameworks[framework.framework_info().id().value()] = framework.framework_info();
      return true;
    }
    case Event::FRAMEWORK_REMOVED: {
      const std::string id = event.framework_removed().framework_info().id().value();
      std::erase_if(state->tasks, [&](const auto& entry) { return entry.second.framework_id().value() == id; });
      state->frameworks.erase(id);
      return true;
    }
    default: return false;
  }
}

const v1::TaskStatus* latestStatus(const v1::Task& task) {
  return task.statuses_size() == 0 ? nullptr : &task.statuses(task.statuses_size() - 1);
}

std::string agentAddress(const v1::master::Response::GetAgents::Agent& agent) {
  const std::string& pid = agent.pid();
  const std::size_t at = pid.find('@');
  if (at != std::string::npos) return wire::hostOf(std::string_view(pid).substr(at + 1));
  return agent.agent_info().hostname();
}

Result<wire::HostPort> urlAddress(const std::string& url) {
  std::size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  const std::size_t slash = url.find('/', start);
  return wire::parseHostPort(std::string_view(url).substr(start, slash == std::string::npos ? slash : slash - start));
}

std::optional<std::string> containerIp(const v1::Task& task) {
  const v1::TaskStatus* status = latestStatus(task);
  if (status == nullptr) return std::nullopt;
  for (const auto& network : status->container_status().network_infos()) {
    for (const auto& address : network.ip_addresses()) {
      if (!address.ip_address().empty()) return address.ip_address();
    }
  }
  return std::nullopt;
}

std::vector<std::uint32_t> taskPorts(const v1::Task& task) {
  std::vector<std::uint32_t> ports;
  for (const v1::Resource& resource : task.resources()) {
    if (resource.name() != "ports") continue;
    for (const auto& range : resource.ranges().range()) {
      for (std::uint64_t port = range.begin(); port <= range.end() && ports.size() < 1024; ++port) {
        ports.push_back(static_cast<std::uint32_t>(port));
      }
    }
  }
  return ports;
}

std::optional<std::string> label(const v1::Labels& labels, const std::string& key) {
  for (const v1::Label& entry : labels.labels()) {
    if (entry.key() == key) return entry.value();
  }
  return std::nullopt;
}

std::optional<std::string> resolveIpv4(const std::string& host) {
  if (host.empty()) return std::nullopt;
  in_addr address{};
  if (inet_pton(AF_INET, host.c_str(), &address) == 1) return host;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0 || result == nullptr) return std::nullopt;
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr, text, sizeof(text));
  freeaddrinfo(result);
  return std::string(text);
}

}  // namespace mantle::operator_stream
