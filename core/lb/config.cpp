#include "lb/config.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace mantle::lb {

namespace v1 = ::mesos::v1;
using operator_stream::label;

std::string safeName(const std::string& text) {
  std::string name;
  for (unsigned char c : text) {
    name.push_back(std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' ? static_cast<char>(c) : '_');
  }
  return name.empty() ? "_" : name;
}

std::optional<std::uint32_t> portNumber(const std::string& text) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  const auto value = static_cast<std::uint32_t>(std::stoul(text));
  if (value < 1 || value > 65535) return std::nullopt;
  return value;
}

Service& serviceFor(std::map<std::uint32_t, Service>* result, std::uint32_t servicePort, const std::string& appName,
                    const std::optional<std::string>& vhost, const std::optional<std::string>& mode) {
  Service& service = (*result)[servicePort];
  if (service.name.empty()) {
    service.servicePort = servicePort;
    service.name = safeName(appName) + "_" + std::to_string(servicePort);
  }
  if (vhost && !vhost->empty()) {
    std::string host = *vhost;
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    if (std::find(service.vhosts.begin(), service.vhosts.end(), safeName(host)) == service.vhosts.end()) {
      service.vhosts.push_back(safeName(host));
    }
    service.mode = "http";
  }
  if (mode == "http") service.mode = "http";
  return service;
}

void sortServices(std::map<std::uint32_t, Service>* services) {
  for (auto& [port, service] : *services) {
    std::sort(service.servers.begin(), service.servers.end(),
              [](const Server& a, const Server& b) { return a.name < b.name; });
    std::sort(service.vhosts.begin(), service.vhosts.end());
  }
}

namespace {

// Tasks with a health check count only once a status says healthy.
bool healthy(const v1::Task& task) {
  if (task.state() != v1::TASK_RUNNING) return false;
  if (!task.has_health_check()) return true;
  const v1::TaskStatus* status = operator_stream::latestStatus(task);
  return status != nullptr && status->has_healthy() && status->healthy();
}

}  // namespace

std::map<std::uint32_t, Service> services(const operator_stream::ClusterState& state, const std::string& group,
                                          const HostResolver& resolve, std::vector<std::string>* problems) {
  std::map<std::uint32_t, Service> result;
  for (const auto& [key, task] : state.tasks) {
    if (label(task.labels(), "HAPROXY_GROUP") != group) continue;
    const std::optional<std::string> portLabel = label(task.labels(), "HAPROXY_0_PORT");
    if (!portLabel) continue;  // no service port: not load balanced
    const std::optional<std::uint32_t> servicePort = portNumber(*portLabel);
    if (!servicePort) {
      problems->push_back("task " + key + ": HAPROXY_0_PORT '" + *portLabel + "' is not a port (1-65535)");
      continue;
    }
    Service& service = serviceFor(&result, *servicePort, task.name(), label(task.labels(), "HAPROXY_0_VHOST"),
                                  label(task.labels(), "HAPROXY_0_MODE"));
    if (!healthy(task)) continue;
    std::uint32_t port = 0;
    if (task.has_discovery() && task.discovery().ports().ports_size() > 0) {
      port = task.discovery().ports().ports(0).number();
    } else if (auto ports = operator_stream::taskPorts(task); !ports.empty()) {
      port = ports.front();
    }
    auto agent = state.agents.find(task.agent_id().value());
    if (port == 0 || agent == state.agents.end()) continue;
    auto ip = resolve(operator_stream::agentAddress(agent->second));
    if (!ip) continue;
    service.servers.push_back({safeName(task.task_id().value()), *ip, port});
  }
  sortServices(&result);
  return result;
}

std::string render(const std::map<std::uint32_t, Service>& services, const ConfigOptions& options) {
  std::ostringstream out;
  out << "# Written by mantle-lb (group '" << options.group << "'); changes here are overwritten.\n"
      << "global\n"
      << "  maxconn 4096\n";
  if (!options.adminSocket.empty()) {
    // A reload's new process takes the listening sockets from this one
    // (haproxy -x), so no connection is refused while it starts.
    out << "  stats socket " << options.adminSocket << " mode 600 level admin expose-fd listeners\n";
  }
  out << "\ndefaults\n"
      << "  timeout connect 5s\n"
      << "  timeout client 60s\n"
      << "  timeout server 60s\n"
      << "  timeout http-request 15s\n"
      << "  retries 3\n"
      << "  option redispatch\n";
  bool anyVhost = false;
  for (const auto& [port, service] : services) anyVhost = anyVhost || !service.vhosts.empty();
  if (anyVhost) {
    out << "\nfrontend mantle_http_in\n"
        << "  bind " << options.bindAddress << ":" << options.httpPort << "\n"
        << "  mode http\n";
    for (const auto& [port, service] : services) {
      for (const std::string& vhost : service.vhosts) {
        out << "  use_backend " << service.name << " if { req.hdr(host),field(1,:),lower -m str " << vhost << " }\n";
      }
    }
  }
  for (const auto& [port, service] : services) {
    out << "\nfrontend " << service.name << "\n"
        << "  bind " << options.bindAddress << ":" << service.servicePort << "\n"
        << "  mode " << service.mode << "\n"
        << "  use_backend " << service.name << "\n"
        << "\nbackend " << service.name << "\n"
        << "  balance roundrobin\n"
        << "  mode " << service.mode << "\n";
    for (const Server& server : service.servers) {
      out << "  server " << server.name << " " << server.ip << ":" << server.port << "\n";
    }
  }
  return out.str();
}

}  // namespace mantle::lb
