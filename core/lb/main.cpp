// mantle-lb: what Marathon-LB did. Follows the leading master's operator
// event stream (--master) or mantle-services' apps and events (--services),
// writes an HAProxy configuration for the tasks of --group
// (docs/LB.md) and reloads HAProxy whenever it changes; SIGHUP reloads it
// again even when it did not.
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

#include <glog/logging.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "flags/flags.hpp"
#include "lb/config.hpp"
#include "lb/haproxy.hpp"
#include "lb/services_follower.hpp"
#include "operator_stream/follower.hpp"

namespace {

int fail(const std::string& message) {
  std::cerr << "mantle-lb: error: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  std::string master, services, reloadCommand, configPath = "/etc/haproxy/haproxy.cfg", haproxyBinary = "haproxy";
  mantle::lb::ConfigOptions config;
  std::int64_t httpPort = 80;
  double healthRefresh = 1;
  mantle::flags::FlagSet flags(
      "mantle-lb",
      "Writes an HAProxy configuration for the apps and tasks labelled HAPROXY_GROUP=<--group> "
      "with a service port and reloads HAProxy when it changes. Follows either the master's "
      "tasks (--master; service port HAPROXY_0_PORT) or mantle-services' apps (--services; "
      "service port HAPROXY_0_PORT, else the app's first portDefinitions port).");
  flags.addString("master", &master, "The master: host:port, or zk://host:port,.../path to follow the leader.");
  flags.addString("services", &services,
                  "mantle-services' address, HOST:PORT: follow its apps (GET /v2/apps, /v2/events) "
                  "instead of the master; a standby's redirect is followed to the leader.");
  flags.addString("group", &config.group, "The HAPROXY_GROUP label value whose apps or tasks this balancer serves.");
  flags.addString("haproxy_config", &configPath, "Where to write the HAProxy configuration.");
  flags.addString("haproxy_reload_command", &reloadCommand,
                  "Run through /bin/sh after each new configuration; default: start HAProxy, or reload it "
                  "with -sf (taking over its listening sockets with -x).");
  flags.addString("haproxy_binary", &haproxyBinary, "The haproxy program of the default reload.");
  flags.addString("bind_address", &config.bindAddress, "The address HAProxy's frontends bind.");
  flags.addInt("http_port", &httpPort, "The port of the shared HTTP frontend for HAPROXY_0_VHOST apps.");
  flags.addDuration("health_refresh_interval", &healthRefresh,
                    "How often to ask the master for the tasks' health (the event stream carries state changes "
                    "only; --master only).");
  if (mantle::Status parsed = flags.parse(argc, argv); !parsed.ok()) return fail(parsed.error().message);
  if (flags.helpRequested()) {
    std::cout << flags.usage();
    return 0;
  }
  if (master.empty() == services.empty()) return fail("give exactly one of --master and --services");
  if (config.group.empty()) return fail("--group may not be empty");
  if (httpPort < 1 || httpPort > 65535) return fail("--http_port must be 1-65535");
  if (configPath.empty()) return fail("--haproxy_config may not be empty");
  if (healthRefresh < 0.1) return fail("--health_refresh_interval must be at least 100ms");
  config.httpPort = static_cast<std::uint32_t>(httpPort);

  mantle::lb::Haproxy haproxy({configPath, reloadCommand, haproxyBinary});
  config.adminSocket = haproxy.adminSocket();

  // The follower computes the newest configuration; this thread applies it,
  // so that a burst of events costs one reload.
  std::mutex mutex;
  std::condition_variable changed;
  std::string wanted, applied;
  bool forceReload = false, stopping = false;
  std::thread applier([&] {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      changed.wait(lock, [&] { return stopping || forceReload || (!wanted.empty() && wanted != applied); });
      if (stopping) return;
      const std::string next = wanted;
      const bool force = forceReload;
      forceReload = false;
      lock.unlock();
      mantle::Status status = next != applied ? haproxy.apply(next) : (force ? haproxy.reload() : mantle::Status());
      if (!status.ok()) LOG(ERROR) << status.error().message;
      lock.lock();
      if (status.ok()) applied = next;
    }
  });

  // Both sources produce the services of --group; this renders them for the
  // applier.
  auto publish = [&](const std::map<std::uint32_t, mantle::lb::Service>& found,
                     const std::vector<std::string>& problems) {
    for (const std::string& problem : problems) LOG(WARNING) << problem;
    std::string text = mantle::lb::render(found, config);
    std::lock_guard<std::mutex> lock(mutex);
    wanted = std::move(text);
    changed.notify_all();
  };
  std::unique_ptr<mantle::operator_stream::Follower> follower;
  std::unique_ptr<mantle::lb::ServicesFollower> servicesFollower;
  if (!master.empty()) {
    mantle::operator_stream::FollowerOptions followerOptions;
    followerOptions.master = master;
    followerOptions.statusRefreshSeconds = healthRefresh;
    follower = std::make_unique<mantle::operator_stream::Follower>(
        followerOptions, [&](const mantle::operator_stream::ClusterState& state) {
          std::vector<std::string> problems;
          auto found = mantle::lb::services(state, config.group, mantle::operator_stream::resolveIpv4, &problems);
          publish(found, problems);
        });
    if (mantle::Status started = follower->start(); !started.ok()) return fail(started.error().message);
  } else {
    servicesFollower = std::make_unique<mantle::lb::ServicesFollower>(
        mantle::lb::ServicesFollowerOptions{services}, [&](const Json::Value& apps) {
          std::vector<std::string> problems;
          auto found = mantle::lb::appServices(apps, config.group, mantle::operator_stream::resolveIpv4, &problems);
          publish(found, problems);
        });
    servicesFollower->start();
  }
  LOG(INFO) << "mantle-lb: group '" << config.group << "', writing " << configPath;

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> onSignal = [&](const boost::system::error_code& error,
                                                                            int signal) {
    if (error) return;
    if (signal != SIGHUP) {
      io.stop();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      forceReload = true;
      changed.notify_all();
    }
    signals.async_wait(onSignal);
  };
  signals.async_wait(onSignal);
  io.run();
  if (follower) follower->stop();
  if (servicesFollower) servicesFollower->stop();
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
    changed.notify_all();
  }
  applier.join();
  haproxy.stop();
  return 0;
}
