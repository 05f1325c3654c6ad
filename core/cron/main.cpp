// mantle-cron: Chronos-style scheduled and dependent jobs as a framework on
// a Mantle (or Mesos) cluster; docs/CRON.md.
#include <arpa/inet.h>
#include <glog/logging.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <json/value.h>
#include <json/writer.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "cron/cron.hpp"
#include "flags/flags.hpp"
#include "http/server.hpp"
#include "mantle/common/uuid.hpp"
#include "wire/host_port.hpp"
#include "zookeeper/contender.hpp"
#include "zookeeper/detector.hpp"
#include "zookeeper/url.hpp"

namespace {

using mantle::Status;
namespace cron = mantle::cron;
namespace zk = mantle::zookeeper;

[[noreturn]] void fatal(const std::string& message) {
  std::cerr << "mantle-cron: error: " << message << "\n";
  std::exit(1);
}

// Leaves at once, as a Mesos master does when it loses leadership: a
// supervisor restarts it as a standby; its tasks keep running and the next
// leader takes them over.
[[noreturn]] void stepDown(const std::string& why) {
  LOG(ERROR) << "No longer the leader: " << why << ". Exiting so that a supervisor restarts mantle-cron";
  google::FlushLogFiles(google::GLOG_INFO);
  std::fflush(stderr);
  ::_exit(1);
}

struct Flags {
  std::string master;
  std::string address = "0.0.0.0:4400";
  std::string zk;
  std::string workDir = "/var/lib/mantle-cron";
  std::string name = "mantle-cron";
  std::string role = "*";
  std::string user;
  std::string hostname;
  std::string webhookUrls;
  double zkSessionTimeout = 10;
  double failoverTimeout = 7 * 24 * 3600;
};

}  // namespace

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  ::signal(SIGPIPE, SIG_IGN);

  Flags flags;
  mantle::flags::FlagSet set("mantle-cron",
                             "Runs scheduled (ISO 8601) and dependent jobs on a Mantle or Mesos cluster, with "
                             "Chronos' REST API (docs/CRON.md).");
  set.addString("master", &flags.master, "The master: host:port, or zk://host:port,.../path to follow the leader.");
  set.addString("address", &flags.address, "Where the REST API listens, ip:port.");
  set.addString("zk", &flags.zk,
                "zk://host:port,.../path: keep the state in ZooKeeper and elect a leader among instances; "
                "without it the state is a file under --work_dir and there is one instance.");
  set.addString("work_dir", &flags.workDir, "Where the state file lives when --zk is not given.");
  set.addString("name", &flags.name, "The framework's name.");
  set.addString("role", &flags.role, "The role the jobs run in.");
  set.addString("user", &flags.user, "The user tasks run as (default: $USER, else root).");
  set.addString("hostname", &flags.hostname, "The host name advertised to the master and to standbys.");
  set.addString("webhook_url", &flags.webhookUrls,
                "Comma-separated http(s) URLs that get a JSON POST per job outcome (succeeded, failed, skipped).");
  set.addDuration("zk_session_timeout", &flags.zkSessionTimeout, "The ZooKeeper session timeout.");
  set.addDuration("failover_timeout", &flags.failoverTimeout,
                  "How long the master keeps the framework and its tasks while no instance is connected.");
  if (Status s = set.parse(argc, argv); !s.ok()) fatal(s.error().message);
  if (set.helpRequested()) {
    std::cout << set.usage();
    return 0;
  }
  if (flags.master.empty()) fatal("--master is required (host:port of the master, or zk://hosts/path)");
  mantle::Result<mantle::wire::HostPort> address = mantle::wire::parseHostPort(flags.address, {.allowPortZero = true});
  if (!address.ok()) fatal("--address: " + address.error().message);
  in_addr ip{};
  if (::inet_pton(AF_INET, address->host.c_str(), &ip) != 1) {
    fatal("--address: '" + flags.address + "' is not ip:port");
  }
  const std::string listenIp = address->host;
  int port = address->port;
  if (flags.user.empty()) {
    const char* user = std::getenv("USER");
    flags.user = user != nullptr && *user != '\0' ? user : "root";
  }
  if (flags.hostname.empty()) {
    char buffer[256] = {};
    flags.hostname = ::gethostname(buffer, sizeof(buffer) - 1) == 0 ? buffer : "localhost";
  }
  cron::CronOptions options;
  options.master = flags.master;
  options.name = flags.name;
  options.role = flags.role;
  options.user = flags.user;
  options.hostname = flags.hostname;
  options.failoverTimeoutSeconds = flags.failoverTimeout;
  for (size_t start = 0; start < flags.webhookUrls.size();) {
    size_t end = flags.webhookUrls.find(',', start);
    if (end == std::string::npos) end = flags.webhookUrls.size();
    const std::string url = flags.webhookUrls.substr(start, end - start);
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      fatal("--webhook_url: '" + url + "' is not an http:// or https:// URL");
    }
    options.webhookUrls.push_back(url);
    start = end + 1;
  }

  boost::asio::io_context io;
  std::unique_ptr<cron::Cron> leader;
  std::shared_ptr<zk::Session> session;
  std::unique_ptr<zk::Contender> contender;
  std::unique_ptr<zk::Detector> detector;
  std::string zkPath;

  mantle::http::Server server(io, [&](const mantle::http::Request& request, const mantle::http::Responder& responder) {
    std::optional<mesos::v1::MasterInfo> current = detector ? detector->leader() : std::nullopt;
    const bool standby = detector != nullptr && leader == nullptr;
    if (request.path == "/leader") {  // Chronos': {"leader": "host:port"}
      Json::Value body;
      body["leader"] = !standby  ? options.hostname + ":" + std::to_string(port)
                       : current ? current->hostname() + ":" + std::to_string(current->port())
                                 : "";
      responder.respond(mantle::http::Response::json(200, Json::writeString(Json::StreamWriterBuilder(), body)));
      return;
    }
    if (leader != nullptr) {
      leader->handle(request, responder);
      return;
    }
    if (standby && current) {
      // Chronos redirects standbys' requests to the leader.
      mantle::http::Response redirect = mantle::http::Response::text(307, "Not the leader\n");
      redirect.headers.emplace_back(
          "Location", "http://" + current->hostname() + ":" + std::to_string(current->port()) + request.target);
      responder.respond(redirect);
      return;
    }
    responder.respond(mantle::http::Response::text(503, "Not leading and no leader known yet\n"));
  });
  auto bound = server.listen(listenIp, static_cast<std::uint16_t>(port));
  if (!bound.ok()) fatal("--address: " + bound.error().message);
  port = *bound;
  options.webuiUrl = "http://" + options.hostname + ":" + std::to_string(port);
  LOG(INFO) << "mantle-cron's REST API listens on " << listenIp << ":" << port;

  auto lost = [](const std::string& why) { stepDown(why); };
  if (flags.zk.empty()) {
    std::error_code error;
    std::filesystem::create_directories(flags.workDir, error);
    if (error) fatal("--work_dir: cannot create " + flags.workDir + ": " + error.message());
    leader = std::make_unique<cron::Cron>(io, options,
                                          std::make_unique<zk::FileDocumentStore>(flags.workDir + "/state.json"), lost);
    if (Status s = leader->start(); !s.ok()) fatal(s.error().message);
  } else {
    auto url = zk::parseZkUrl(flags.zk);
    if (!url.ok()) fatal("--zk: " + url.error().message);
    zkPath = url->path;
    session = zk::Session::create(zk::SessionOptions{
        url->servers, std::chrono::milliseconds(static_cast<std::int64_t>(flags.zkSessionTimeout * 1000)),
        url->credentials});
    const std::string advertised = listenIp == "0.0.0.0" ? "127.0.0.1" : listenIp;
    in_addr advertisedIp{};
    ::inet_pton(AF_INET, advertised.c_str(), &advertisedIp);
    mesos::v1::MasterInfo info;  // what Contender publishes: here, this instance's REST API
    info.set_id(mantle::uuid::randomText());
    info.set_ip(advertisedIp.s_addr);
    info.set_port(static_cast<std::uint32_t>(port));
    info.set_hostname(advertised);
    info.mutable_address()->set_ip(advertised);
    info.mutable_address()->set_hostname(advertised);
    info.mutable_address()->set_port(port);
    const std::string electionPath = zk::joinPath(zkPath, "leader");
    detector = std::make_unique<zk::Detector>(session, electionPath, [](const auto&) {});
    contender = std::make_unique<zk::Contender>(session, electionPath, info, [&](zk::LeadershipEvent event) {
      boost::asio::post(io, [&, event] {
        if (event == zk::LeadershipEvent::kElected && leader == nullptr) {
          LOG(INFO) << "Elected the leading mantle-cron";
          zk::Contender* self = contender.get();
          leader = std::make_unique<cron::Cron>(
              io, options,
              std::make_unique<zk::ZooKeeperDocumentStore>(session, zk::joinPath(zkPath, "state"),
                                                           [self] { return self->candidacyPath(); }),
              lost);
          if (Status s = leader->start(); !s.ok()) stepDown(s.error().message);
        } else if (event == zk::LeadershipEvent::kSuspended || event == zk::LeadershipEvent::kLost) {
          if (leader != nullptr) stepDown(std::string("ZooKeeper: ") + zk::leadershipEventName(event));
        }
      });
    });
    LOG(INFO) << "Contending for leadership through ZooKeeper at " << url->redacted();
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int) {
    if (error) return;
    LOG(INFO) << "Stopping";
    if (leader) leader->stop();
    server.stop();
    io.stop();
  });
  io.run();
  leader.reset();
  contender.reset();
  detector.reset();
  session.reset();
  return 0;
}
