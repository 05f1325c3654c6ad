// What the operator event stream tells about the cluster: the agents, the
// frameworks and the tasks that have not ended, rebuilt from SUBSCRIBED's
// snapshot and kept current by TASK_ADDED, TASK_UPDATED, AGENT_*, FRAMEWORK_*.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "mesos/v1/master/master.pb.h"
#include "mesos/v1/mesos.pb.h"
#include "wire/host_port.hpp"

namespace mantle::operator_stream {

namespace v1 = ::mesos::v1;

struct ClusterState {
  // "http://host:port" of the master whose stream this is (the leader).
  std::string leaderUrl;
  // By agent id.
  std::map<std::string, v1::master::Response::GetAgents::Agent> agents;
  // Registered frameworks by framework id (disconnected ones included).
  std::map<std::string, v1::FrameworkInfo> frameworks;
  // Tasks not in a terminal state, by taskKey(). `statuses` holds only the
  // latest status (the one that carries health and network infos).
  std::map<std::string, v1::Task> tasks;
};

// Task ids are unique within a framework: "<framework id>/<task id>".
std::string taskKey(const v1::FrameworkID& frameworkId, const v1::TaskID& taskId);

// Applies one event. Returns whether the state changed (HEARTBEAT and
// unknown events do not).
bool apply(const v1::master::Event& event, ClusterState* state);

// The task's latest status, if any.
const v1::TaskStatus* latestStatus(const v1::Task& task);

// The IP of an agent: from its pid ("slave(1)@10.0.0.5:5051"), else its
// hostname as given. Empty when neither is known.
std::string agentAddress(const v1::master::Response::GetAgents::Agent& agent);

// An IPv4 address for a host: an IPv4 literal as it is, a name through
// getaddrinfo (blocking). nullopt: none.
std::optional<std::string> resolveIpv4(const std::string& host);

// Host and port of "http://host:port[/path]" (an IPv6 host in brackets).
Result<wire::HostPort> urlAddress(const std::string& url);

// The first container IP of the task's latest status (network infos), if any.
std::optional<std::string> containerIp(const v1::Task& task);

// The port numbers of the task's "ports" resources, in order.
std::vector<std::uint32_t> taskPorts(const v1::Task& task);

// The value of label `key` in `labels`, if present.
std::optional<std::string> label(const v1::Labels& labels, const std::string& key);

}  // namespace mantle::operator_stream
