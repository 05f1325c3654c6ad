#include "dns/zone.hpp"

#include <algorithm>
#include <cctype>
#include <functional>

namespace mantle::dns {

using operator_stream::ClusterState;
namespace v1 = ::mesos::v1;

std::string toLabel(const std::string& name) {
  std::string label;
  for (unsigned char c : name) {
    c = static_cast<unsigned char>(std::tolower(c));
    label.push_back(std::isalnum(c) != 0 || c == '-' ? static_cast<char>(c) : '-');
  }
  const std::size_t first = label.find_first_not_of('-');
  if (first == std::string::npos) return "";
  label = label.substr(first, label.find_last_not_of('-') - first + 1);
  if (label.size() > 63) label.resize(63);
  while (!label.empty() && label.back() == '-') label.pop_back();
  return label;
}

namespace {

// Five base-32 characters from the task id: tells tasks of one name apart in
// SRV targets, stable for a task.
std::string shortId(const std::string& taskId) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::size_t hash = std::hash<std::string>{}(taskId);
  std::string id;
  for (int i = 0; i < 5; ++i, hash >>= 5) id.push_back(kAlphabet[hash & 31]);
  return id;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

void Zone::add(const std::string& name, Record record) {
  std::vector<Record>& records = records_[name];
  if (std::find(records.begin(), records.end(), record) == records.end()) records.push_back(std::move(record));
}

Zone Zone::build(const ClusterState& state, const std::string& domain, const HostResolver& resolve) {
  Zone zone;
  zone.origin_ = lower(domain) + ".";
  const std::string& origin = zone.origin_;
  zone.add(origin, {"SOA", zone.soa()});
  zone.add(origin, {"NS", "ns1." + origin});

  const Result<wire::HostPort> leader = operator_stream::urlAddress(state.leaderUrl);
  if (auto ip = leader.ok() ? resolve(leader->host) : std::nullopt) {
    zone.add("ns1." + origin, {"A", *ip});
    zone.add("leader." + origin, {"A", *ip});
    zone.add("master." + origin, {"A", *ip});
    const std::string port = std::to_string(leader->port);
    zone.add("_leader._tcp." + origin, {"SRV", "0 0 " + port + " leader." + origin});
    zone.add("_leader._udp." + origin, {"SRV", "0 0 " + port + " leader." + origin});
  }

  std::map<std::string, std::string> agentIps;
  for (const auto& [id, agent] : state.agents) {
    if (auto ip = resolve(operator_stream::agentAddress(agent))) {
      agentIps[id] = *ip;
      zone.add("slave." + origin, {"A", *ip});
    }
  }
  std::map<std::string, std::string> frameworkLabels;
  for (const auto& [id, info] : state.frameworks) {
    const std::string label = toLabel(info.name());
    if (label.empty()) continue;
    frameworkLabels[id] = label;
    if (auto ip = resolve(info.hostname())) zone.add(label + "." + origin, {"A", *ip});
  }

  for (const auto& [key, task] : state.tasks) {
    if (task.state() != v1::TASK_RUNNING) continue;
    auto framework = frameworkLabels.find(task.framework_id().value());
    auto agentIp = agentIps.find(task.agent_id().value());
    if (framework == frameworkLabels.end() || agentIp == agentIps.end()) continue;
    const std::string name =
        toLabel(task.has_discovery() && !task.discovery().name().empty() ? task.discovery().name() : task.name());
    if (name.empty()) continue;
    const std::string base = name + "." + framework->second + ".";
    const std::string target = name + "-" + shortId(key) + "." + framework->second + ".slave." + origin;
    zone.add(base + origin, {"A", operator_stream::containerIp(task).value_or(agentIp->second)});
    zone.add(base + "slave." + origin, {"A", agentIp->second});
    zone.add(target, {"A", agentIp->second});

    auto srv = [&](const std::string& protocol, std::uint32_t port, const std::string& portName) {
      const std::string rdata = "0 1 " + std::to_string(port) + " " + target;
      const std::string service = "_" + name + "._" + protocol + "." + framework->second + ".";
      zone.add(service + origin, {"SRV", rdata});
      if (!portName.empty()) zone.add("_" + portName + "." + service + origin, {"SRV", rdata});
    };
    if (task.has_discovery() && task.discovery().ports().ports_size() > 0) {
      for (const v1::Port& port : task.discovery().ports().ports()) {
        const std::string protocol = port.protocol().empty() ? "tcp" : toLabel(port.protocol());
        srv(protocol, port.number(), toLabel(port.name()));
      }
    } else {
      for (std::uint32_t port : operator_stream::taskPorts(task)) {
        srv("tcp", port, "");
        srv("udp", port, "");
      }
    }
  }
  return zone;
}

const std::vector<Record>* Zone::find(const std::string& name) const {
  auto found = records_.find(name);
  return found == records_.end() ? nullptr : &found->second;
}

bool Zone::contains(const std::string& name) const {
  return name == origin_ || (name.size() > origin_.size() && name.ends_with("." + origin_));
}

std::string Zone::soa() const {
  return "ns1." + origin_ + " root.ns1." + origin_ + " 1 60 60 86400 1";
}

}  // namespace mantle::dns
