// mantle-dns: Mesos-DNS's names for the cluster's tasks, served over UDP and
// TCP, kept current from the master's operator event stream (docs/DNS.md).
#include <csignal>
#include <iostream>
#include <memory>

#include <glog/logging.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "dns/server.hpp"
#include "dns/zone.hpp"
#include "flags/flags.hpp"
#include "operator_stream/follower.hpp"
#include "wire/host_port.hpp"

namespace {

int fail(const std::string& message) {
  std::cerr << "mantle-dns: error: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  std::string master, address = "0.0.0.0:53", domain = "mesos", resolvers;
  double ttl = 60, forwardTimeout = 2;
  mantle::flags::FlagSet flags("mantle-dns",
                               "Serves Mesos-DNS names (<task>.<framework>.<domain>, SRV records, leader.<domain>) "
                               "from the master's operator event stream, over UDP and TCP.");
  flags.addString("master", &master, "The master: host:port, or zk://host:port,.../path to follow the leader.");
  flags.addString("address", &address, "Where to answer DNS queries, IP:PORT (UDP and TCP).");
  flags.addString("domain", &domain, "The domain the cluster's names are in.");
  flags.addDuration("ttl", &ttl, "The time to live of the records served (whole seconds).");
  flags.addString("resolvers", &resolvers,
                  "Upstream resolvers for names outside --domain, IP[:PORT] separated by commas; none: REFUSED.");
  flags.addDuration("forward_timeout", &forwardTimeout, "How long to wait for an upstream resolver.");
  if (mantle::Status parsed = flags.parse(argc, argv); !parsed.ok()) return fail(parsed.error().message);
  if (flags.helpRequested()) {
    std::cout << flags.usage();
    return 0;
  }
  if (master.empty()) return fail("--master is required");
  while (!domain.empty() && domain.front() == '.') domain.erase(domain.begin());
  while (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (domain.empty() || mantle::dns::toLabel(domain.substr(domain.rfind('.') + 1)).empty()) {
    return fail("--domain must be a domain name such as 'mesos'");
  }
  if (ttl < 0 || ttl > 2147483647) return fail("--ttl must be between 0 and 2147483647 seconds");
  mantle::dns::ServerOptions options;
  mantle::Result<mantle::wire::HostPort> listen = mantle::wire::parseHostPort(address, {.allowPortZero = true});
  if (!listen.ok()) return fail("--address must be IP:PORT: " + listen.error().message);
  options.host = listen->host;
  options.port = static_cast<std::uint16_t>(listen->port);
  options.ttl = static_cast<std::uint32_t>(ttl);
  options.forwardTimeoutSeconds = forwardTimeout;
  auto upstreams = mantle::dns::parseResolvers(resolvers);
  if (!upstreams.ok()) return fail("--resolvers: " + upstreams.error().message);
  options.resolvers = *upstreams;

  boost::asio::io_context io;
  auto server = mantle::dns::Server::create(io, options);
  if (!server.ok()) return fail("--address: " + server.error().message);
  mantle::dns::Server& dns = **server;
  mantle::operator_stream::FollowerOptions followerOptions;
  followerOptions.master = master;
  mantle::operator_stream::Follower follower(followerOptions, [&](const mantle::operator_stream::ClusterState& state) {
    auto zone = std::make_shared<mantle::dns::Zone>(mantle::dns::Zone::build(state, domain));
    VLOG(1) << "Zone " << domain << ": " << zone->size() << " names";
    dns.setZone(std::move(zone));
  });
  if (mantle::Status started = follower.start(); !started.ok()) return fail(started.error().message);
  LOG(INFO) << "mantle-dns answering for " << domain << ". on " << options.host << ":" << dns.port()
            << " (UDP and TCP)";
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  io.run();
  follower.stop();
  return 0;
}
