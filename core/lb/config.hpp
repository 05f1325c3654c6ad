// The HAProxy configuration mantle-lb writes, computed from the cluster's
// tasks as Marathon-LB computed it from Marathon's apps (docs/LB.md): tasks
// labelled HAPROXY_GROUP=<group> with a service port (HAPROXY_0_PORT) are
// the servers of one frontend/backend per service port; HAPROXY_0_VHOST
// routes by Host header on the shared HTTP frontend; only running tasks that
// are healthy (or have no health check) are servers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "operator_stream/cluster_state.hpp"

namespace mantle::lb {

struct Server {
  std::string name;  // "<task id>" made safe for HAProxy
  std::string ip;
  std::uint32_t port = 0;
  bool operator==(const Server&) const = default;
};

struct Service {
  std::string name;  // backend name: "<app label>_<service port>"
  std::uint32_t servicePort = 0;
  std::string mode = "tcp";  // "http" with a vhost or HAPROXY_0_MODE=http
  std::vector<std::string> vhosts;
  std::vector<Server> servers;  // sorted by name
};

struct ConfigOptions {
  std::string group = "external";
  std::string bindAddress = "0.0.0.0";
  std::uint32_t httpPort = 80;  // the shared frontend of HAPROXY_0_VHOST apps
  std::string adminSocket;      // the stats socket new processes take the listeners from
};

// A host name or IP literal to an IPv4 address (nullopt: none).
using HostResolver = std::function<std::optional<std::string>(const std::string& host)>;

// Letters, digits, '-', '_' and '.' only: what HAProxy takes in names.
std::string safeName(const std::string& text);
// `text` as a port number in 1-65535; nullopt: it is not one.
std::optional<std::uint32_t> portNumber(const std::string& text);
// The service of `servicePort` in `result` (made, named after `appName`,
// when new), taking the app's HAPROXY_0_VHOST and HAPROXY_0_MODE.
Service& serviceFor(std::map<std::uint32_t, Service>* result, std::uint32_t servicePort, const std::string& appName,
                    const std::optional<std::string>& vhost, const std::optional<std::string>& mode);
// Sorts each service's servers and vhosts, so equal sets render equally.
void sortServices(std::map<std::uint32_t, Service>* services);

// The services of `group` by service port. Tasks whose labels are broken (a
// service port that is not a number in 1-65535) are skipped with a warning
// in `problems`.
std::map<std::uint32_t, Service> services(const operator_stream::ClusterState& state, const std::string& group,
                                          const HostResolver& resolve, std::vector<std::string>* problems);

// The whole haproxy.cfg text for `services`.
std::string render(const std::map<std::uint32_t, Service>& services, const ConfigOptions& options);

}  // namespace mantle::lb
