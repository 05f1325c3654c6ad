// mantle-agent: see README.md and docs/AGENT.md.
#include <signal.h>
#include <unistd.h>

#include <glog/logging.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <thread>

#include "agent/agent.hpp"
#include "auth/security.hpp"
#include "flags/flags.hpp"
#include "mantle/modules/defaults.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"
#include "zookeeper/master_detector.hpp"
#include "zookeeper/url.hpp"

namespace {

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

[[noreturn]] void fatal(const std::string& message) {
  std::cerr << "mantle-agent: " << message << std::endl;
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  // Descriptors a parent leaked (a listening socket, a pipe) are not ours.
  ::close_range(3, ~0U, 0);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  ::signal(SIGPIPE, SIG_IGN);

  mantle::agent::AgentFlags flags;
  mantle::flags::FlagSet set("mantle-agent", "Runs tasks in containers for a Mantle master.");
  flags.addTo(set);
  if (auto parsed = set.parse(argc, argv); !parsed.ok()) fatal(parsed.error().message);
  if (set.helpRequested()) {
    std::cout << set.usage();
    return 0;
  }
  if (flags.master.empty()) fatal("--master is required (host:port of the master, or zk://hosts/path)");
  if (mantle::zookeeper::isZooKeeperMaster(flags.master)) {
    if (auto url = mantle::zookeeper::parseZkUrl(flags.master); !url.ok()) fatal("--master: " + url.error().message);
  }
  if (flags.recover != "reconnect" && flags.recover != "cleanup") {
    fatal("--recover must be 'reconnect' or 'cleanup', not '" + flags.recover + "'");
  }
  if (flags.port < 0 || flags.port > 65535) fatal("--port must be between 0 and 65535");
  if (!(flags.gcDiskHeadroom >= 0 && flags.gcDiskHeadroom <= 1)) {
    fatal("--gc_disk_headroom must be between 0 and 1, not " + std::to_string(flags.gcDiskHeadroom));
  }
  if (!(flags.diskWatchInterval > 0)) fatal("--disk_watch_interval must be positive");
  if (!(flags.gcDelay >= 0)) fatal("--gc_delay must not be negative");
  if (auto checked = mantle::auth::checkSecurityFlags(flags.security, mantle::auth::Side::kAgent); !checked.ok()) {
    fatal(checked.error().message);
  }
  if (auto checked = mantle::agent::checkContainerFlags(flags.containers); !checked.ok()) {
    fatal(checked.error().message);
  }

  mantle::modules::Manifest manifest;
  const std::string modules = flags.modules.empty() ? mantle::modules::defaultManifestPath() : flags.modules;
  if (auto loaded = mantle::modules::loadManifest(modules, manifest); !loaded.ok()) {
    fatal("--modules: " + loaded.error().message);
  }
  // The agent loads only the instances it uses: those --isolation and
  // --hooks name and the security modules its flags select (the manifest
  // may also declare the master's allocators, or isolators this agent does
  // not run).
  const std::vector<std::string> isolation = splitList(flags.isolation);
  const std::vector<std::string> hookNames = splitList(flags.hooks);
  mantle::modules::Manifest used;
  for (const mantle::modules::ModuleSpec& spec : manifest.modules) {
    if (std::find(isolation.begin(), isolation.end(), spec.instance) != isolation.end() ||
        std::find(hookNames.begin(), hookNames.end(), spec.instance) != hookNames.end()) {
      if (auto added = used.add(spec); !added.ok()) fatal("--modules: " + added.error().message);
    }
  }
  if (auto added = mantle::auth::addSecurityModules(flags.security, manifest, used, mantle::auth::Side::kAgent);
      !added.ok()) {
    fatal("security modules: " + added.error().message);
  }
  if (auto added = mantle::agent::addContainerModules(flags.containers, manifest, used); !added.ok()) {
    fatal(added.error().message);
  }
  manifest = std::move(used);
  mantle::modules::RegistryOptions options;
  options.searchDirs = {mantle::modules::builtinModuleDir()};
  options.stateRoot = flags.workDir + "/modules";
  mantle::modules::Registry registry(options);
  if (auto loaded = registry.load(manifest); !loaded.ok()) fatal("loading modules: " + loaded.error().message);
  for (const std::string& warning : registry.warnings()) LOG(WARNING) << warning;
  auto secretResolver = mantle::agent::createSecretResolver(flags.containers, registry);
  if (!secretResolver.ok()) fatal(secretResolver.error().message);
  auto isolators = registry.createAll("isolator", isolation);
  if (!isolators.ok()) fatal("--isolation: " + isolators.error().message);
  auto hooks = registry.createAll("hook", hookNames);
  if (!hooks.ok()) fatal("--hooks: " + hooks.error().message);
  auto security = mantle::auth::createSecurity(flags.security, registry, mantle::auth::Side::kAgent);
  if (!security.ok()) fatal("security: " + security.error().message);

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });

  auto agent = std::make_unique<mantle::agent::Agent>(io, flags, set.values(), *isolators, *hooks,
                                                      std::move(*security), registry);
  if (auto started = agent->start(); !started.ok()) {
    LOG(ERROR) << started.error().message;
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
    agent.reset();
    fatal(started.error().message);
  }
  int code = 0;
  if (!agent->exitAfterCleanup()) {
    boost::asio::io_context signalIo;
    boost::asio::signal_set signals(signalIo, SIGTERM, SIGINT);
    signals.async_wait([](const boost::system::error_code&, int signal) {
      LOG(INFO) << "Received signal " << signal << "; stopping";
    });
    signalIo.run();
  }
  agent->stop();
  work.reset();
  io.stop();
  for (auto& thread : threads) thread.join();
  agent.reset();
  return code;
}
