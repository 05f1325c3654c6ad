// mantle-services: Marathon's long-running services on Mantle (a framework
// on the scheduler library; docs/SERVICES.md). With --zk several instances
// elect a leader through ZooKeeper and keep the state there; the others
// redirect API requests to the leader.
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "auth/security.hpp"
#include "flags/flags.hpp"
#include "http/server.hpp"
#include "mantle/common/uuid.hpp"
#include "services/services.hpp"
#include "wire/host_port.hpp"
#include "zookeeper/contender.hpp"
#include "zookeeper/detector.hpp"
#include "zookeeper/document_store.hpp"
#include "zookeeper/master_detector.hpp"
#include "zookeeper/session.hpp"
#include "zookeeper/url.hpp"

namespace {

using mantle::Status;

struct Flags {
  std::string master = "127.0.0.1:5050";
  std::string address = "127.0.0.1:8080";
  std::string zk;
  std::string workDir;
  std::string name = "marathon";
  std::string role = "*";
  std::string user;
  double failoverTimeout = 604800;
  std::string mesosBridgeName = "mesos-bridge";
};

[[noreturn]] void fatal(const std::string& message) {
  std::cerr << "mantle-services: error: " << message << "\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  mantle::flags::FlagSet set("mantle-services",
                             "Runs long-running apps on a Mantle (or Mesos) cluster, with Marathon's v2 REST API "
                             "(docs/SERVICES.md). MANTLE_CREDENTIAL names the credential file it subscribes with.");
  set.addString("master", &f.master, "The master: host:port, or zk://host:port,.../path to follow the leader.");
  set.addString("address", &f.address, "host:port of the REST API (Marathon's /v2/...).");
  set.addString("zk", &f.zk,
                "zk://host:port,.../path: the state and leader election among mantle-services instances in "
                "ZooKeeper. Without it the state is a file in --work_dir.");
  set.addString("work_dir", &f.workDir, "Directory of the state file (state.json) when there is no --zk.");
  set.addString("name", &f.name, "The framework's name.");
  set.addString("role", &f.role, "The role the apps run in.");
  set.addString("user", &f.user, "The user tasks run as unless an app names one (default: yours).");
  set.addDuration("failover_timeout", &f.failoverTimeout,
                  "How long the master keeps the tasks while no mantle-services instance is subscribed.");
  set.addString("mesos_bridge_name", &f.mesosBridgeName,
                "The CNI network that apps with networks mode container/bridge join (Marathon's flag).");
  if (Status s = set.parse(argc, argv); !s.ok()) fatal(s.error().message);
  if (set.helpRequested()) {
    std::cout << set.usage();
    return 0;
  }
  if (f.mesosBridgeName.empty()) fatal("--mesos_bridge_name must name a CNI network");
  mantle::Result<mantle::wire::HostPort> address = mantle::wire::parseHostPort(f.address, {.allowPortZero = true});
  if (!address.ok()) fatal("--address must be host:port: " + address.error().message);
  const std::string host = address->host;
  const int port = address->port;
  if (f.user.empty()) {
    const char* user = std::getenv("USER");
    f.user = user != nullptr ? user : "root";
  }

  mantle::services::ServicesOptions options;
  options.master = f.master;
  options.name = f.name;
  options.role = f.role;
  options.user = f.user;
  options.failoverTimeoutSeconds = f.failoverTimeout;
  options.mesosBridgeName = f.mesosBridgeName;
  if (const char* file = std::getenv("MANTLE_CREDENTIAL"); file != nullptr && *file != '\0') {
    auto credential = mantle::auth::readCredential(file);
    if (!credential.ok()) fatal("MANTLE_CREDENTIAL: " + credential.error().message);
    options.principal = credential->principal;
    options.authorization = mantle::auth::basicAuthorization(*credential);
  }

  boost::asio::io_context io;
  std::optional<mantle::zookeeper::ZkUrl> zk;
  if (!f.zk.empty()) {
    auto url = mantle::zookeeper::parseZkUrl(f.zk);
    if (!url.ok()) fatal("--zk: " + url.error().message);
    zk = *url;
    options.zkRedacted = url->redacted();
  } else if (f.workDir.empty()) {
    fatal("give --zk (state in ZooKeeper) or --work_dir (state in a local file)");
  }

  // The REST API listens first: with port 0 the address it got is the one
  // published for leader election.
  std::unique_ptr<mantle::services::Services> services;
  std::unique_ptr<mantle::zookeeper::Detector> detector;
  mantle::http::Server server(io, [&](const mantle::http::Request& request, const mantle::http::Responder& responder) {
    boost::asio::post(io, [&, request, responder] {
      if (services && services->started()) return services->handle(request, responder);
      // A standby: the leader answers.
      std::optional<mesos::v1::MasterInfo> leader = detector ? detector->leader() : std::nullopt;
      if (request.path == "/ping") return responder.respond(mantle::http::Response::text(200, "pong\n"));
      if (!leader) {
        return responder.respond(mantle::http::Response::json(
            503, "{\"message\":\"no mantle-services instance leads yet; try again shortly\"}"));
      }
      mantle::http::Response redirect = mantle::http::Response::json(307, "");
      redirect.headers.emplace_back("Location", mantle::zookeeper::masterBaseUrl(*leader) + request.target);
      responder.respond(redirect);
    });
  });
  auto bound = server.listen(host, static_cast<std::uint16_t>(port));
  if (!bound.ok()) fatal("--address " + f.address + ": " + bound.error().message);
  options.address = mantle::wire::joinHostPort(host, *bound);
  std::cout << "mantle-services: REST API on http://" << options.address << std::endl;

  std::shared_ptr<mantle::zookeeper::Session> session;
  std::unique_ptr<mantle::zookeeper::Contender> contender;
  if (zk) {
    mantle::zookeeper::SessionOptions sessionOptions;
    sessionOptions.servers = zk->servers;
    sessionOptions.credentials = zk->credentials;
    session = mantle::zookeeper::Session::create(sessionOptions);
    const std::string leaderPath = mantle::zookeeper::joinPath(zk->path, "leader");
    auto store = std::make_unique<mantle::zookeeper::ZooKeeperDocumentStore>(
        session, mantle::zookeeper::joinPath(zk->path, "state"),
        [&contender] { return contender ? contender->candidacyPath() : std::string(); });
    services = std::make_unique<mantle::services::Services>(io, options, std::move(store));
    detector = std::make_unique<mantle::zookeeper::Detector>(session, leaderPath, [](const auto&) {});
    mesos::v1::MasterInfo info;
    info.set_id("mantle-services-" + mantle::uuid::randomText());
    info.set_ip(0);
    info.set_port(*bound);
    info.set_hostname(host);
    info.mutable_address()->set_hostname(host);
    info.mutable_address()->set_ip(host);
    info.mutable_address()->set_port(*bound);
    contender = std::make_unique<mantle::zookeeper::Contender>(
        session, leaderPath, info, [&](mantle::zookeeper::LeadershipEvent event) {
          std::cout << "mantle-services: leadership: " << mantle::zookeeper::leadershipEventName(event) << std::endl;
          if (event == mantle::zookeeper::LeadershipEvent::kElected) {
            boost::asio::post(io, [&] {
              if (Status s = services->start(); !s.ok()) {
                std::cerr << "mantle-services: error: " << s.error().message << std::endl;
                std::_Exit(1);
              }
            });
          } else if (event == mantle::zookeeper::LeadershipEvent::kLost ||
                     (event == mantle::zookeeper::LeadershipEvent::kSuspended && services->started())) {
            // Another instance may lead now (or soon, if ZooKeeper expires
            // the session): stop acting at once, as Marathon does; a
            // restarted instance contends again.
            std::cerr << "mantle-services: lost leadership (" << mantle::zookeeper::leadershipEventName(event)
                      << "); exiting" << std::endl;
            std::_Exit(3);
          }
        });
  } else {
    std::error_code error;
    std::filesystem::create_directories(f.workDir, error);
    if (error) fatal("--work_dir " + f.workDir + ": " + error.message());
    services =
        std::make_unique<mantle::services::Services>(io, options,
                                                     std::make_unique<mantle::zookeeper::FileDocumentStore>(
                                                         (std::filesystem::path(f.workDir) / "state.json").string()));
    if (Status s = services->start(); !s.ok()) fatal(s.error().message);
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const auto&, int) {
    server.stop();
    if (services) services->stop();
    io.stop();
  });
  io.run();
  // The tasks keep running for --failover_timeout; a restarted instance takes
  // them back.
  contender.reset();
  detector.reset();
  services.reset();
  return 0;
}
