// network/cni end to end: a real mantle-master and mantle-agent with the
// isolator, Debian's CNI plugins (bridge, host-local, portmap) and real
// network namespaces. Each test has a bridge and a private /24 of its own
// (tests/support/cni_network.hpp); the fixture checks afterwards that the
// isolator left no veth, rule, address or namespace mount behind, and the
// network removes whatever is left, even when the test failed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "cluster.hpp"
#include "cni_network.hpp"
#include "docker_registry.hpp"
#include "http/client.hpp"
#include "http_json.hpp"
#include "module_manifest.hpp"
#include "mounts.hpp"
#include "process.hpp"
#include "task_expectations.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"

namespace mantle::testing::e2e {
namespace {

namespace fs = std::filesystem;
namespace mv1 = ::mesos::v1;
using namespace std::chrono_literals;

// The body of GET http://<host>:<port>/<path>, nullopt when nothing answers.
std::optional<std::string> fetch(const std::string& host, int port, const std::string& path) {
  Result<http::ClientResponse> response = http::request(
      "GET", "http://" + host + ":" + std::to_string(port) + "/" + path, {}, "", http::ClientOptions{2, 1});
  if (!response.ok() || response->status != 200) return std::nullopt;
  return response->body;
}

bool canConnect(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

// The IPv4 addresses a task status reports for network `name`.
std::vector<std::string> addressesIn(const mv1::TaskStatus& status, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& network : status.container_status().network_infos()) {
    if (network.name() != name) continue;
    for (const auto& ip : network.ip_addresses()) out.push_back(ip.ip_address());
  }
  return out;
}

class NetworkCniE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "the tasks serve HTTP with python3";
    Result<std::unique_ptr<CniTestNetwork>> network = CniTestNetwork::create(files_.path());
    if (!network.ok()) GTEST_SKIP() << network.error().message;
    network_ = std::move(*network);
    network_->writeNetwork("10-web.conflist", "web", true);
  }

  // `moduleFlags`: --modules and --isolation, when not network/cni's alone.
  void startCluster(bool checkpoint = false, int pluginTimeoutMs = 20000, std::vector<std::string> moduleFlags = {}) {
    ClusterOptions options;
    if (moduleFlags.empty()) {
      moduleFlags = {"--modules=" + network_->manifest(pluginTimeoutMs), "--isolation=network/cni"};
    }
    // The executors run in their containers' namespaces: they reach the
    // agent at the bridge's address (the gateway), as Mesos requires.
    options.agentFlags = {"--ip=0.0.0.0", "--advertise_ip=" + network_->prefix() + "1"};
    options.agentFlags.insert(options.agentFlags.end(), moduleFlags.begin(), moduleFlags.end());
    auto cluster = std::make_unique<LocalCluster>(options);
    Status started = cluster->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    cluster_ = std::move(cluster);
    TestFramework::Options frameworkOptions;
    frameworkOptions.checkpoint = checkpoint;
    auto framework = std::make_unique<TestFramework>(cluster_->masterUrl(), frameworkOptions);
    Status subscribed = framework->start();
    ASSERT_TRUE(subscribed.ok()) << subscribed.error().message;
    framework_ = std::move(framework);
  }

  // A MESOS container on network `name`, mapping hostPort to containerPort when given.
  static mv1::ContainerInfo onNetwork(const std::string& name, int hostPort = 0, int containerPort = 0) {
    mv1::ContainerInfo container;
    container.set_type(mv1::ContainerInfo::MESOS);
    mv1::NetworkInfo* network = container.add_network_infos();
    network->set_name(name);
    if (hostPort != 0) {
      mv1::NetworkInfo::PortMapping* mapping = network->add_port_mappings();
      mapping->set_host_port(static_cast<std::uint32_t>(hostPort));
      mapping->set_container_port(static_cast<std::uint32_t>(containerPort));
      mapping->set_protocol("tcp");
    }
    return container;
  }

  // A task that serves its sandbox (with a file `whoami` holding its name)
  // on `port` in its own network namespace.
  static std::string server(const std::string& name, int port) {
    return "echo " + name + " > whoami && exec python3 -m http.server " + std::to_string(port) +
           " --bind 0.0.0.0 >/dev/null 2>&1";
  }

  // Launches `id` and waits for TASK_RUNNING; its status (with addresses).
  std::optional<mv1::TaskStatus> launchRunning(const std::string& id, const std::string& command,
                                               const mv1::ContainerInfo& container) {
    Status launched = framework_->launch(id, command, "cpus:0.1;mem:64", 20s, container);
    EXPECT_TRUE(launched.ok()) << launched.error().message;
    launched_.push_back(id);
    std::optional<mv1::TaskStatus> running = framework_->waitForState(id, mv1::TASK_RUNNING, 30s);
    EXPECT_TRUE(running.has_value()) << id << " did not run";
    return running;
  }

  std::optional<mv1::TaskStatus> runToEnd(const std::string& id, const std::string& command,
                                          const mv1::ContainerInfo& container) {
    launched_.push_back(id);
    return ::mantle::testing::runToEnd(*framework_, id, command, "cpus:0.1;mem:64", 20s, container);
  }

  void killAndWait(const std::string& id) {
    ASSERT_TRUE(framework_->kill(id).ok());
    std::optional<mv1::TaskStatus> ended = framework_->waitForState(id, std::nullopt, 30s);
    ASSERT_TRUE(ended.has_value()) << id << " did not end";
    EXPECT_EQ(ended->state(), mv1::TASK_KILLED) << ended->message();
  }

  // Nothing of the isolator's left (once the agent has destroyed the
  // containers): no veth, rule, address, namespace or container directory.
  void expectNothingLeft() {
    waitUntil([&] { return network_->clean(); }, 15s);
    EXPECT_EQ(network_->vethsOnBridge(), "");
    EXPECT_EQ(network_->ipamAllocations(), std::vector<std::string>{});
    EXPECT_EQ(network_->newRules(), std::vector<std::string>{});
    EXPECT_EQ(network_->namespaceMounts(), std::vector<fs::path>{});
    EXPECT_TRUE(network_->clean());
  }

  void TearDown() override {
    if (!network_) return;
    if (HasFailure() && cluster_) std::cerr << cluster_->logs(60);
    // End what still runs through the agent (DEL), then check nothing is left.
    if (framework_ && cluster_) {
      for (const std::string& id : launched_) {
        if (!framework_->waitForState(id, std::nullopt, 0ms)) {
          (void)framework_->kill(id);
          framework_->waitForState(id, std::nullopt, 30s);
        }
      }
      expectNothingLeft();
    }
    framework_.reset();
    network_.reset();  // removes whatever is left (also in the agent's work dir)
    cluster_.reset();
  }

  TempDir files_;  // declared first: removed last
  std::unique_ptr<CniTestNetwork> network_;
  std::vector<std::string> launched_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<TestFramework> framework_;
};

TEST_F(NetworkCniE2ETest, ROOT_TwoTasksOnOneBridgeGetDistinctIpsReachEachOtherAndTheHostOnlyThroughTheMappedPort) {
  startCluster();
  ASSERT_NE(framework_, nullptr);
  const int hostPort = freePort();
  const int containerPort = freePort();  // free on the host: only the task listens on it, in its namespace
  std::optional<mv1::TaskStatus> a =
      launchRunning("a", server("a", containerPort), onNetwork("web", hostPort, containerPort));
  ASSERT_TRUE(a.has_value());
  std::vector<std::string> ipsA = addressesIn(*a, "web");
  ASSERT_EQ(ipsA.size(), 1u) << a->DebugString();
  EXPECT_EQ(ipsA[0].rfind(network_->prefix(), 0), 0u) << ipsA[0];
  ASSERT_EQ(a->container_status().network_infos(0).port_mappings_size(), 1);
  EXPECT_EQ(a->container_status().network_infos(0).port_mappings(0).host_port(), static_cast<std::uint32_t>(hostPort));

  std::optional<mv1::TaskStatus> b = launchRunning("b", server("b", containerPort), onNetwork("web"));
  ASSERT_TRUE(b.has_value());
  std::vector<std::string> ipsB = addressesIn(*b, "web");
  ASSERT_EQ(ipsB.size(), 1u);
  EXPECT_NE(ipsA[0], ipsB[0]);

  // One task reaches the other on the bridge (same port: separate namespaces).
  const std::string reachA =
      "for i in $(seq 100); do python3 -c \"import urllib.request,sys; "
      "sys.exit(urllib.request.urlopen('http://" +
      ipsA[0] + ":" + std::to_string(containerPort) +
      "/whoami', timeout=2).read().strip() != b'a')\" 2>/dev/null && exit 0; sleep 0.1; done; "
      "exit 1";
  std::optional<mv1::TaskStatus> client = runToEnd("client", reachA, onNetwork("web"));
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(client->state(), mv1::TASK_FINISHED) << client->message();

  // The host: the mapped port leads to a, the container port itself to nothing.
  std::optional<std::string> mapped;
  waitUntil([&] { return (mapped = fetch("127.0.0.1", hostPort, "whoami")).has_value(); }, 10s);
  ASSERT_TRUE(mapped.has_value());
  EXPECT_EQ(*mapped, "a\n");
  EXPECT_FALSE(canConnect("127.0.0.1", containerPort));

  // The task's own view: its hostname (the container id, as Mesos) in /etc/hosts with its address.
  const std::string agentHost = readText("/proc/sys/kernel/hostname");
  std::optional<mv1::TaskStatus> hosts = runToEnd(
      "hosts",
      "test \"$(hostname)\" != " + agentHost.substr(0, agentHost.find('\n')) + " && grep -Eq '^" + network_->prefix() +
          "[0-9]+ '\"$(hostname)\"'$' /etc/hosts && test \"$(cat /etc/hostname)\" = \"$(hostname)\"",
      onNetwork("web"));
  ASSERT_TRUE(hosts.has_value());
  EXPECT_EQ(hosts->state(), mv1::TASK_FINISHED) << hosts->message();

  // The addresses in /master/state, where Mesos-DNS style consumers read them.
  std::optional<Json::Value> state = getJson(cluster_->masterUrl() + "/master/state");
  ASSERT_TRUE(state.has_value());
  std::set<std::string> seen;
  for (const Json::Value& framework : (*state)["frameworks"]) {
    for (const Json::Value& task : framework["tasks"]) {
      for (const Json::Value& status : task["statuses"]) {
        for (const Json::Value& network : status["container_status"]["network_infos"]) {
          for (const Json::Value& ip : network["ip_addresses"]) {
            seen.insert(task["id"].asString() + "=" + network["name"].asString() + ":" + ip["ip_address"].asString());
          }
        }
      }
    }
  }
  EXPECT_EQ(seen.count("a=web:" + ipsA[0]), 1u) << Json::writeString(Json::StreamWriterBuilder(), *state);
  EXPECT_EQ(seen.count("b=web:" + ipsB[0]), 1u);

  // And in the agent's GET_CONTAINERS (v1 operator API), as Mesos reports them.
  Result<http::ClientResponse> containers = http::request(
      "POST", cluster_->agentUrl(0) + "/api/v1", {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
      R"({"type": "GET_CONTAINERS"})", http::ClientOptions{5, 1});
  ASSERT_TRUE(containers.ok() && containers->status == 200);
  EXPECT_NE(containers->body.find("\"ip_address\":\"" + ipsA[0] + "\""), std::string::npos) << containers->body;

  killAndWait("a");
  killAndWait("b");
  expectNothingLeft();
  EXPECT_FALSE(fetch("127.0.0.1", hostPort, "whoami").has_value());
}

TEST_F(NetworkCniE2ETest, ROOT_AfterAnAgentKill9NetworkedTasksStayReachableAndLeaveNothingWhenTheyEnd) {
  startCluster(/*checkpoint=*/true);
  ASSERT_NE(framework_, nullptr);
  const int portA = freePort(), portB = freePort(), containerPort = freePort();
  std::optional<mv1::TaskStatus> a =
      launchRunning("a", server("a", containerPort), onNetwork("web", portA, containerPort));
  std::optional<mv1::TaskStatus> b =
      launchRunning("b", "echo -n $$ > " + (files_.path() / "b.pid").string() + " && " + server("b", containerPort),
                    onNetwork("web", portB, containerPort));
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_TRUE(waitUntil([&] { return fetch("127.0.0.1", portA, "whoami").has_value(); }, 10s));
  ASSERT_TRUE(waitUntil([&] { return fetch("127.0.0.1", portB, "whoami").has_value(); }, 10s));

  // kill -9 of the agent; while it is away b's container dies entirely:
  // every process in b's network namespace.
  ASSERT_TRUE(cluster_->stopAgent(0, /*kill9=*/true).ok());
  struct stat bNamespace {};
  ASSERT_EQ(::stat(("/proc/" + readText(files_.path() / "b.pid") + "/ns/net").c_str(), &bNamespace), 0);
  int signalled = 0;
  std::error_code error;
  for (fs::directory_iterator proc("/proc", error), end; !error && proc != end; proc.increment(error)) {
    struct stat ns {};
    if (::stat((proc->path() / "ns/net").c_str(), &ns) == 0 && ns.st_ino == bNamespace.st_ino &&
        ns.st_dev == bNamespace.st_dev) {
      signalled += ::kill(std::atoi(proc->path().filename().c_str()), SIGKILL) == 0;
    }
  }
  ASSERT_GE(signalled, 2);  // the executor and the server at least
  ASSERT_TRUE(cluster_->startAgent(0).ok()) << cluster_->logs();
  ASSERT_TRUE(cluster_->waitForAgents(1, 30s).ok()) << cluster_->logs();

  // a was re-adopted and still answers on its mapped port; b's network was torn down at recovery.
  EXPECT_EQ(fetch("127.0.0.1", portA, "whoami").value_or(""), "a\n");
  std::optional<mv1::TaskStatus> bEnded = framework_->waitForState("b", std::nullopt, 30s);
  ASSERT_TRUE(bEnded.has_value());
  EXPECT_TRUE(waitUntil([&] { return network_->ipamAllocations().size() == 1; }, 10s))
      << network_->ipamAllocations().size();
  EXPECT_FALSE(fetch("127.0.0.1", portB, "whoami").has_value());

  // The re-adopted task's addresses still reach its status updates.
  killAndWait("a");
  std::optional<mv1::TaskStatus> killed = framework_->waitForState("a", mv1::TASK_KILLED, 1s);
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(addressesIn(*killed, "web"), addressesIn(*a, "web"));
  expectNothingLeft();
}

TEST_F(NetworkCniE2ETest, ROOT_BadNetworkInputFailsTheTaskNamingItAndTheAgentKeepsRunning) {
  // A configuration that parses but has no plugin type, a plugin that fails
  // with a CNI error, one that hangs, and a network without portmap.
  files_.write("cni/20-typeless.conflist", R"({"cniVersion": "1.0.0", "name": "typeless", "plugins": [{}]})");
  files_.write("cni/30-failing.conf", R"({"cniVersion": "1.0.0", "name": "failing", "type": "mtl-fail"})");
  files_.write("cni/40-hanging.conf", R"({"cniVersion": "1.0.0", "name": "hanging", "type": "mtl-hang"})");
  network_->writeNetwork("50-plain.conflist", "plain", /*portmap=*/false);
  files_.write("plugins/mtl-fail",
               "#!/bin/sh\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\necho '{\"code\": 11, \"msg\": \"no addresses "
               "left\"}'\nexit 1\n");
  files_.write("plugins/mtl-hang", "#!/bin/sh\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\nexec sleep 600\n");
  ::chmod((files_.path() / "plugins/mtl-fail").c_str(), 0755);
  ::chmod((files_.path() / "plugins/mtl-hang").c_str(), 0755);
  startCluster(false, /*pluginTimeoutMs=*/1500);
  ASSERT_NE(framework_, nullptr);

  struct Case {
    std::string id;
    mv1::ContainerInfo container;
    std::vector<std::string> named;  // what the message must name
  };
  const int port = freePort();
  std::vector<Case> cases{
      {"unknown", onNetwork("nosuchnet"), {"network_infos[0].name", "nosuchnet"}},
      {"typeless", onNetwork("typeless"), {"typeless", "20-typeless.conflist", "plugins[0].type"}},
      {"failing", onNetwork("failing"), {"network 'failing'", "plugin 'mtl-fail'", "no addresses left"}},
      {"hanging", onNetwork("hanging"), {"network 'hanging'", "plugin 'mtl-hang'", "1500 ms"}},
      {"unmapped", onNetwork("plain", port, 80), {"port_mappings", "plain", "portMappings"}},
  };
  for (const Case& c : cases) {
    const auto start = std::chrono::steady_clock::now();
    std::optional<mv1::TaskStatus> ended = runToEnd(c.id, "true", c.container);
    ASSERT_TRUE(ended.has_value()) << c.id;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s) << c.id;
    EXPECT_TRUE(ended->state() == mv1::TASK_FAILED || ended->state() == mv1::TASK_ERROR)
        << c.id << ": " << mv1::TaskState_Name(ended->state());
    for (const std::string& name : c.named) {
      EXPECT_NE(ended->message().find(name), std::string::npos) << c.id << ": " << ended->message();
    }
  }
  // The agent keeps running tasks, on the network and off it.
  std::optional<mv1::TaskStatus> after = runToEnd("after", "true", onNetwork("plain"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->state(), mv1::TASK_FINISHED) << after->message();
  expectNothingLeft();
}

TEST_F(NetworkCniE2ETest, ROOT_WithNamespacesUtsTooTheContainerIsNamedAfterItsHostname) {
  // Both isolators set the host name from ContainerInfo.hostname: the agent takes the same name twice.
  startCluster(
      false, 20000,
      {"--modules=" + moduleManifest({network_->module(), isolatorModule("mantle_hardening", "namespaces/uts")}),
       "--isolation=namespaces/uts,network/cni"});
  ASSERT_NE(framework_, nullptr);
  mv1::ContainerInfo named = onNetwork("web");
  named.set_hostname("web-task");
  std::optional<mv1::TaskStatus> ended =
      runToEnd("named", "test \"$(hostname)\" = web-task && grep -q ' web-task$' /etc/hosts", named);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->state(), mv1::TASK_FINISHED) << ended->message();
}

// A health check every half second from the start, killing the task after
// `failures` failures in a row.
mv1::HealthCheck everyHalfSecond(std::uint32_t failures) {
  mv1::HealthCheck check;
  check.set_delay_seconds(0);
  check.set_interval_seconds(0.5);
  check.set_timeout_seconds(5);
  check.set_grace_period_seconds(0);
  check.set_consecutive_failures(failures);
  return check;
}

mv1::HealthCheck httpCheck(int port, const std::string& scheme, std::uint32_t failures = 1000000) {
  mv1::HealthCheck check = everyHalfSecond(failures);
  check.set_type(mv1::HealthCheck::HTTP);
  check.mutable_http()->set_port(static_cast<std::uint32_t>(port));
  check.mutable_http()->set_path("/whoami");
  check.mutable_http()->set_scheme(scheme);
  return check;
}

mv1::HealthCheck tcpCheck(int port, std::uint32_t failures = 1000000) {
  mv1::HealthCheck check = everyHalfSecond(failures);
  check.set_type(mv1::HealthCheck::TCP);
  check.mutable_tcp()->set_port(static_cast<std::uint32_t>(port));
  return check;
}

mv1::CommandInfo shellCommand(const std::string& script) {
  mv1::CommandInfo command;
  command.set_shell(true);
  command.set_value(script);
  return command;
}

TEST_F(NetworkCniE2ETest, ROOT_HealthChecksOfATaskOnANetworkReachItsServerOnItsOwnLoopback) {
  startCluster();
  ASSERT_NE(framework_, nullptr);
  // Servers on 127.0.0.1 of their network namespace only, on a port nothing
  // listens on in the host's.
  const int port = freePort();
  const std::string bindLoopback = " --bind 127.0.0.1 >/dev/null 2>&1";
  const std::string serve = "echo up > whoami && exec python3 -m http.server " + std::to_string(port) + bindLoopback;
  // An HTTPS server with a certificate of its own (Mesos does not verify it).
  const fs::path key = files_.path() / "key.pem", certificate = files_.path() / "cert.pem";
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=task -keyout " + key.string() +
                         " -out " + certificate.string() + " >/dev/null 2>&1")
                            .c_str()),
            0);
  const std::string serveTls =
      "echo up > whoami && exec python3 -c \"import http.server, ssl; "
      "s = http.server.HTTPServer(('127.0.0.1', " +
      std::to_string(port) +
      "), http.server.SimpleHTTPRequestHandler); c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); "
      "c.load_cert_chain('" +
      certificate.string() + "', '" + key.string() +
      "'); s.socket = c.wrap_socket(s.socket, server_side=True); s.serve_forever()\" >/dev/null 2>&1";
  // A task whose process moved to a network namespace of its own: its checks
  // follow it there (the executor's is the container's).
  const std::string serveApart =
      "echo up > whoami && exec unshare -n sh -c 'ip link set lo up && exec python3 -m "
      "http.server " +
      std::to_string(port) + bindLoopback + "'";
  struct Case {
    std::string id;
    std::string script;
    mv1::HealthCheck check;
  };
  const std::vector<Case> cases{{"http", serve, httpCheck(port, "http")},
                                {"https", serveTls, httpCheck(port, "https")},
                                {"tcp", serve, tcpCheck(port)},
                                {"apart", serveApart, tcpCheck(port)}};
  for (const Case& c : cases) {
    ASSERT_TRUE(
        framework_->launch(c.id, shellCommand(c.script), "cpus:0.1;mem:64", 20s, onNetwork("web"), c.check).ok());
    launched_.push_back(c.id);
  }
  for (const Case& c : cases) {
    std::optional<mv1::TaskStatus> healthy = framework_->waitForHealth(c.id, true, 60s);
    EXPECT_TRUE(healthy.has_value()) << c.id;
  }
  EXPECT_FALSE(canConnect("127.0.0.1", port));  // not the host's loopback
  for (const Case& c : cases) killAndWait(c.id);
  expectNothingLeft();
}

TEST_F(NetworkCniE2ETest, ROOT_ATaskOnANetworkWhoseServerDoesNotListenGoesUnhealthyAndIsKilled) {
  startCluster();
  ASSERT_NE(framework_, nullptr);
  // The host listens on the port: only the task's own loopback counts.
  const int port = freePort();
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const bool listening =
      ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && ::listen(listener, 16) == 0;
  std::unique_ptr<int, void (*)(int*)> closer(new int(listener), [](int* fd) {
    ::close(*fd);
    delete fd;
  });
  ASSERT_TRUE(listening) << std::strerror(errno);
  ASSERT_TRUE(canConnect("127.0.0.1", port));

  const std::map<std::string, mv1::HealthCheck> checks{{"deaf-tcp", tcpCheck(port, 3)},
                                                       {"deaf-http", httpCheck(port, "http", 3)}};
  for (const auto& [id, check] : checks) {
    ASSERT_TRUE(
        framework_->launch(id, shellCommand("sleep 600"), "cpus:0.1;mem:64", 20s, onNetwork("web"), check).ok());
    launched_.push_back(id);
  }
  for (const auto& [id, check] : checks) {
    std::optional<mv1::TaskStatus> unhealthy = framework_->waitForHealth(id, false, 60s);
    ASSERT_TRUE(unhealthy.has_value()) << id;
    EXPECT_NE(unhealthy->message().find("127.0.0.1"), std::string::npos) << id << ": " << unhealthy->message();
    std::optional<mv1::TaskStatus> ended = framework_->waitForState(id, std::nullopt, 60s);
    ASSERT_TRUE(ended.has_value()) << id;
    EXPECT_EQ(ended->state(), mv1::TASK_KILLED) << id << ": " << ended->message();
    EXPECT_NE(ended->message().find("after 3 failed health checks"), std::string::npos)
        << id << ": " << ended->message();
    EXPECT_FALSE(framework_->waitForHealth(id, true, 0s).has_value()) << id;
  }

  // A scheme other than http or https is refused at launch, naming the field.
  ASSERT_TRUE(
      framework_
          ->launch("ftp", shellCommand("sleep 600"), "cpus:0.1;mem:64", 20s, onNetwork("web"), httpCheck(port, "ftp"))
          .ok());
  launched_.push_back("ftp");
  std::optional<mv1::TaskStatus> refused = framework_->waitForState("ftp", std::nullopt, 30s);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->state(), mv1::TASK_ERROR) << refused->message();
  EXPECT_NE(refused->message().find("health_check.http.scheme: unsupported scheme 'ftp'"), std::string::npos)
      << refused->message();
  expectNothingLeft();
}

TEST_F(NetworkCniE2ETest,
       ROOT_AnImageTaskOnANetworkHasItsAddressAndEtcFilesInItsRootfsReachesAPeerAndIsReachedThroughItsMappedPort) {
  for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/umoci", "/bin/busybox"}) {
    if (::access(tool, X_OK) != 0) GTEST_SKIP() << "the image comes from " << tool;
  }
  if (!overlayAvailable()) GTEST_SKIP() << "no overlayfs";
  // The network's DNS servers (the bridge plugin returns its configuration's).
  const fs::path conflist = network_->configDir() / "10-web.conflist";
  Json::Value config;
  std::istringstream(readText(conflist)) >> config;
  config["plugins"][0]["dns"]["nameservers"].append("10.9.8.7");
  config["plugins"][0]["dns"]["search"].append("mantle.test");
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  std::ofstream(conflist) << Json::writeString(writer, config);

  // Debian's busybox as an image in a registry on loopback (the images tests' fixture).
  DockerRegistry registry;
  const fs::path layout = files_.path() / "image";
  buildBusyboxLayout(layout, BusyboxImage{});
  skopeoCopy("oci:" + layout.string() + ":latest", "docker://" + registry.host() + "/library/busybox:latest",
             {"--format", "v2s2"});
  startCluster(
      false, 20000,
      {"--modules=" + moduleManifest({network_->module(), isolatorModule("mantle_filesystem", "filesystem/linux"),
                                      isolatorModule("mantle_docker_runtime", "docker/runtime"),
                                      isolatorModule("mantle_hardening", "namespaces/uts")}),
       "--isolation=network/cni,namespaces/uts,filesystem/linux,docker/runtime", "--image_providers=docker",
       "--docker_registry=" + registry.url()});
  ASSERT_NE(framework_, nullptr);
  // The image's rootfs is mounted under the agent's work dir: unmounted with the network even when the test fails.
  network_->alsoUnmountUnder(cluster_->agentWorkDir(0));

  const int hostPort = freePort();
  const int containerPort = freePort();
  std::optional<mv1::TaskStatus> peer = launchRunning("peer", server("peer", containerPort), onNetwork("web"));
  ASSERT_TRUE(peer.has_value());
  ASSERT_EQ(addressesIn(*peer, "web").size(), 1u);
  const std::string peerUrl = "http://" + addressesIn(*peer, "web")[0] + ":" + std::to_string(containerPort);

  // The image task records what it sees in its sandbox, fetches the peer's
  // name from it, then serves its sandbox on the container port.
  mv1::ContainerInfo image = onNetwork("web", hostPort, containerPort);
  image.mutable_mesos()->mutable_image()->set_type(mv1::Image::DOCKER);
  image.mutable_mesos()->mutable_image()->mutable_docker()->set_name("busybox");
  image.set_hostname("img-task");
  const std::string script =
      "B=/bin/busybox; cd $MESOS_SANDBOX && $B hostname > hostname.seen && $B cat /etc/hostname > etc-hostname && "
      "$B cat /etc/hosts > etc-hosts && $B cat /etc/resolv.conf > etc-resolv && $B test -f /etc/hello && "
      "until $B wget -q -O peer.seen " +
      peerUrl + "/whoami; do $B sleep 0.1; done && echo img > whoami && exec $B httpd -f -p " +
      std::to_string(containerPort) + " -h $MESOS_SANDBOX";
  std::optional<mv1::TaskStatus> img = launchRunning("img", script, image);
  ASSERT_TRUE(img.has_value());
  std::vector<std::string> ips = addressesIn(*img, "web");
  ASSERT_EQ(ips.size(), 1u) << img->DebugString();
  EXPECT_EQ(ips[0].rfind(network_->prefix(), 0), 0u) << ips[0];
  EXPECT_NE(ips[0], addressesIn(*peer, "web")[0]);

  // The host reaches it through the mapped port only; it reached its peer.
  std::optional<std::string> mapped;
  ASSERT_TRUE(waitUntil([&] { return (mapped = fetch("127.0.0.1", hostPort, "whoami")).has_value(); }, 30s))
      << cluster_->logs(40);
  EXPECT_EQ(*mapped, "img\n");
  EXPECT_FALSE(canConnect("127.0.0.1", containerPort));
  EXPECT_EQ(fetch("127.0.0.1", hostPort, "peer.seen").value_or(""), "peer\n");

  // Its host name and /etc files, inside its rootfs: the network's.
  EXPECT_EQ(fetch("127.0.0.1", hostPort, "hostname.seen").value_or(""), "img-task\n");
  EXPECT_EQ(fetch("127.0.0.1", hostPort, "etc-hostname").value_or(""), "img-task\n");
  const std::string hosts = fetch("127.0.0.1", hostPort, "etc-hosts").value_or("");
  EXPECT_NE(hosts.find("\n" + ips[0] + " img-task\n"), std::string::npos) << hosts;
  EXPECT_EQ(hosts.find("127.0.1.1"), std::string::npos) << hosts;  // not the host-filesystem default
  const std::string resolv = fetch("127.0.0.1", hostPort, "etc-resolv").value_or("");
  EXPECT_NE(resolv.find("nameserver 10.9.8.7\n"), std::string::npos) << resolv;
  EXPECT_NE(resolv.find("search mantle.test\n"), std::string::npos) << resolv;

  // Its address in /master/state too.
  std::optional<Json::Value> state = getJson(cluster_->masterUrl() + "/master/state");
  ASSERT_TRUE(state.has_value());
  const std::string body = Json::writeString(writer, *state);
  EXPECT_NE(body.find("\"ip_address\":\"" + ips[0] + "\""), std::string::npos) << body;

  // Once it ends: no veth, rule, lease or namespace, and no mount of its rootfs.
  killAndWait("img");
  killAndWait("peer");
  expectNothingLeft();
  const fs::path workDir = cluster_->agentWorkDir(0);
  EXPECT_TRUE(waitUntil([&] { return mountsUnder(workDir).empty(); }, 15s)) << mountsUnder(workDir).front();
}

TEST_F(NetworkCniE2ETest, ROOT_WithRootDirPersistTheStateLivesUnderTheAgentsWorkDir) {
  startCluster(false, 20000, {"--modules=" + network_->manifest(20000, /*persist=*/true), "--isolation=network/cni"});
  ASSERT_NE(framework_, nullptr);
  std::optional<mv1::TaskStatus> a = launchRunning("a", "sleep 600", onNetwork("web"));
  ASSERT_TRUE(a.has_value());
  network_->alsoUnmountUnder(cluster_->agentWorkDir(0));
  const fs::path root = cluster_->agentWorkDir(0) / "modules/network/cni/isolators/network/cni";
  std::vector<fs::path> containers;
  std::error_code error;
  for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
    containers.push_back(it->path());
  }
  ASSERT_EQ(containers.size(), 1u) << root;
  EXPECT_TRUE(fs::exists(containers[0] / "web/eth0/network.info"));
  EXPECT_EQ(network_->namespaceMounts().size(), 0u);  // nothing under runtime_dir
  EXPECT_FALSE(fs::exists(network_->cniRoot()));
  killAndWait("a");
  EXPECT_TRUE(waitUntil([&] { return fs::is_empty(root, error); }, 15s));
  expectNothingLeft();
}

TEST_F(NetworkCniE2ETest, ROOT_AMissingConfigDirectoryFailsTheAgentAtStartNamingTheKey) {
  ClusterOptions options;
  Json::Value config;
  config["network_cni_config_dir"] = (files_.path() / "absent").string();
  config["network_cni_plugins_dir"] = "/usr/lib/cni";
  config["runtime_dir"] = network_->runtimeDir().string();
  options.agentFlags = {"--modules=" + moduleManifest({isolatorModule("mantle_network_cni", "network/cni", config)}),
                        "--isolation=network/cni"};
  options.startTimeout = 5s;
  LocalCluster cluster(options);
  Status started = cluster.start();
  ASSERT_FALSE(started.ok());
  EXPECT_FALSE(cluster.agent(0).running());
  EXPECT_NE(started.error().message.find("network_cni_config_dir"), std::string::npos) << started.error().message;
}

}  // namespace
}  // namespace mantle::testing::e2e
