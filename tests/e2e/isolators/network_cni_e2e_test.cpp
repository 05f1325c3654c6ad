// network/cni end to end: a real mantle-master and mantle-agent with the
// isolator, Debian's CNI plugins (bridge, host-local, portmap) and real
// network namespaces. Each test has a bridge of its own, a private /24 and a
// host-local store in its temp dir; the fixture records the host's iptables
// rules and ip_forward before, checks afterwards that the isolator left no
// veth, rule, address or namespace mount behind, and then removes whatever
// is left (even when the test failed) so the host's networking is as it was.
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
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cluster.hpp"
#include "http/client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"

namespace mantle::testing::e2e {
namespace {

namespace fs = std::filesystem;
namespace mv1 = ::mesos::v1;
using namespace std::chrono_literals;

constexpr const char* kPluginDir = "/usr/lib/cni";

// What a shell command printed (stdout), "" when it could not run.
std::string shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  ::pclose(pipe);
  return out;
}

std::string readText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.insert(line);
  return out;
}

// The rules and chains of the nat and filter tables, without counters.
std::set<std::string> iptablesRules() {
  std::set<std::string> out;
  for (const char* table : {"nat", "filter"}) {
    for (const std::string& line : lines(shell(std::string("iptables-save -t ") + table + " 2>/dev/null"))) {
      if (line.rfind("-A ", 0) == 0) out.insert(std::string(table) + " " + line);
      if (line.rfind(":", 0) == 0) out.insert(std::string(table) + " " + line.substr(0, line.find(' ')));
    }
  }
  return out;
}

std::optional<Json::Value> getJson(const std::string& url) {
  Result<http::ClientResponse> response = http::request("GET", url, {}, "", http::ClientOptions{2, 1});
  if (!response.ok() || response->status != 200) return std::nullopt;
  Json::Value root;
  std::istringstream in(response->body);
  if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) return std::nullopt;
  return root;
}

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
    if (::geteuid() != 0) GTEST_SKIP() << "network namespaces, bridges and iptables need root";
    for (const char* plugin : {"bridge", "host-local", "portmap", "loopback"}) {
      if (::access((std::string(kPluginDir) + "/" + plugin).c_str(), X_OK) != 0) {
        GTEST_SKIP() << "needs the CNI plugins in " << kPluginDir << " (containernetworking-plugins)";
      }
    }
    if (shell("command -v iptables-save").empty() || shell("command -v ip").empty()) {
      GTEST_SKIP() << "needs iptables and iproute2";
    }
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "the tasks serve HTTP with python3";
    // A bridge name and a /24 of this process: 10.(200..249).(0..249).0/24.
    const pid_t pid = ::getpid();
    bridge_ = "mtlcni" + std::to_string(pid % 100000);
    prefix_ = "10." + std::to_string(200 + pid % 50) + "." + std::to_string((pid / 50) % 250) + ".";
    if (!shell("ip -4 route show to match " + prefix_ + "1").empty() &&
        shell("ip -4 route show to match " + prefix_ + "1").find("default") == std::string::npos) {
      GTEST_SKIP() << prefix_ << "0/24 is routed on this host already";
    }
    if (!shell("ip link show " + bridge_ + " 2>/dev/null").empty()) GTEST_SKIP() << bridge_ << " exists already";
    rulesBefore_ = iptablesRules();
    ipForward_ = readText("/proc/sys/net/ipv4/ip_forward");
    armed_ = true;
    writeNetwork("10-web.conflist", "web", true);
  }

  // A bridge network named `name` on this test's bridge and subnet, with
  // portmap when `portmap`.
  void writeNetwork(const std::string& file, const std::string& name, bool portmap) {
    Json::Value config;
    config["cniVersion"] = "1.0.0";
    config["name"] = name;
    Json::Value bridge;
    bridge["type"] = "bridge";
    bridge["bridge"] = bridge_;
    bridge["isGateway"] = true;
    bridge["ipMasq"] = false;
    bridge["ipam"]["type"] = "host-local";
    bridge["ipam"]["subnet"] = prefix_ + "0/24";
    bridge["ipam"]["dataDir"] = ipamDir().string();
    config["plugins"].append(bridge);
    if (portmap) {
      Json::Value mapper;
      mapper["type"] = "portmap";
      mapper["capabilities"]["portMappings"] = true;
      config["plugins"].append(mapper);
    }
    Json::StreamWriterBuilder writer;
    files_.write("cni/" + file, Json::writeString(writer, config));
  }

  fs::path ipamDir() const { return files_.path() / "ipam"; }
  fs::path runtimeDir() const { return files_.path() / "run"; }
  fs::path cniRoot() const { return runtimeDir() / "isolators/network/cni"; }

  std::string moduleConfig(int pluginTimeoutMs = 20000) const {
    Json::Value root, library, module;
    library["name"] = "mantle_network_cni";
    module["name"] = "network/cni";
    module["kind"] = "isolator";
    module["config"]["network_cni_config_dir"] = (files_.path() / "cni").string();
    module["config"]["network_cni_plugins_dir"] = (files_.path() / "plugins").string() + ":" + kPluginDir;
    module["config"]["runtime_dir"] = runtimeDir().string();
    module["config"]["plugin_timeout_ms"] = pluginTimeoutMs;
    library["modules"].append(module);
    root["libraries"].append(library);
    Json::StreamWriterBuilder writer;
    writer["indentation"] = "";
    return Json::writeString(writer, root);
  }

  void startCluster(bool checkpoint = false, int pluginTimeoutMs = 20000) {
    fs::create_directories(files_.path() / "plugins");
    ClusterOptions options;
    // The executors run in their containers' namespaces: they reach the
    // agent at the bridge's address (the gateway), as Mesos requires.
    options.agentFlags = {"--modules=" + moduleConfig(pluginTimeoutMs), "--isolation=network/cni", "--ip=0.0.0.0",
                          "--advertise_ip=" + prefix_ + "1"};
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
    Status launched = framework_->launch(id, command, "cpus:0.1;mem:64", 20s, container);
    EXPECT_TRUE(launched.ok()) << launched.error().message;
    launched_.push_back(id);
    return framework_->waitForState(id, std::nullopt, 60s);
  }

  void killAndWait(const std::string& id) {
    ASSERT_TRUE(framework_->kill(id).ok());
    std::optional<mv1::TaskStatus> ended = framework_->waitForState(id, std::nullopt, 30s);
    ASSERT_TRUE(ended.has_value()) << id << " did not end";
    EXPECT_EQ(ended->state(), mv1::TASK_KILLED) << ended->message();
  }

  // veths on this test's bridge.
  std::string vethsOnBridge() const { return shell("ip -o link show master " + bridge_ + " 2>/dev/null"); }

  // Addresses host-local still holds (files named after an address).
  std::vector<std::string> ipamAllocations() const {
    std::vector<std::string> out;
    std::error_code error;
    for (fs::recursive_directory_iterator it(ipamDir(), error), end; !error && it != end; it.increment(error)) {
      const std::string name = it->path().filename().string();
      if (std::regex_match(name, std::regex(R"(\d+\.\d+\.\d+\.\d+)"))) out.push_back(name);
    }
    return out;
  }

  // Rules and chains the test added, but for portmap's shared CNI-HOSTPORT-*
  // set-up (never removed by the plugin, per container or not).
  std::vector<std::string> newRules() const {
    std::vector<std::string> out;
    for (const std::string& rule : iptablesRules()) {
      if (rulesBefore_.count(rule) == 0 && rule.find("CNI-HOSTPORT-") == std::string::npos) out.push_back(rule);
    }
    return out;
  }

  std::vector<fs::path> namespaceMounts() const {
    std::vector<fs::path> out;
    for (const std::string& line : lines(readText("/proc/self/mountinfo"))) {
      std::istringstream fields(line);
      std::string id, parent, device, root, mountPoint;
      fields >> id >> parent >> device >> root >> mountPoint;
      if (mountPoint.rfind(files_.path().string(), 0) == 0) out.push_back(mountPoint);
    }
    return out;
  }

  // Nothing of the isolator's left: no veth, rule, address, namespace or
  // container directory (once the agent has destroyed the containers).
  void expectNothingLeft() {
    std::error_code error;
    waitUntil(
        [&] {
          return vethsOnBridge().empty() && ipamAllocations().empty() && namespaceMounts().empty() &&
                 (!fs::exists(cniRoot(), error) || fs::is_empty(cniRoot(), error));
        },
        15s);
    EXPECT_EQ(vethsOnBridge(), "");
    EXPECT_EQ(ipamAllocations(), std::vector<std::string>{});
    EXPECT_EQ(newRules(), std::vector<std::string>{});
    EXPECT_EQ(namespaceMounts(), std::vector<fs::path>{});
    EXPECT_TRUE(!fs::exists(cniRoot(), error) || fs::is_empty(cniRoot(), error));
  }

  void TearDown() override {
    if (!armed_) return;
    if (HasFailure() && cluster_) std::cerr << cluster_->logs(60);
    // End what still runs through the agent (DEL), then check nothing is left.
    if (framework_ && cluster_) {
      for (const std::string& id : launched_) {
        std::optional<mv1::TaskStatus> ended = framework_->waitForState(id, std::nullopt, 0ms);
        if (!ended) {
          (void)framework_->kill(id);
          framework_->waitForState(id, std::nullopt, 30s);
        }
      }
      expectNothingLeft();
    }
    framework_.reset();
    cluster_.reset();
    forceCleanup();
  }

  // Whatever a failed test left, removed by hand: processes in the
  // containers' namespaces, the namespace mounts, the veths and bridge, the
  // rules and chains added, ip_forward.
  void forceCleanup() {
    std::error_code error;
    for (fs::directory_iterator it(cniRoot(), error), end; !error && it != end; it.increment(error)) {
      struct stat ns {};
      if (::stat((it->path() / "ns").c_str(), &ns) != 0) continue;
      for (fs::directory_iterator proc("/proc", error), stop; !error && proc != stop; proc.increment(error)) {
        struct stat other {};
        if (::stat((proc->path() / "ns/net").c_str(), &other) == 0 && other.st_ino == ns.st_ino &&
            other.st_dev == ns.st_dev) {
          ::kill(std::atoi(proc->path().filename().c_str()), SIGKILL);
        }
      }
    }
    for (const fs::path& mount : namespaceMounts()) ::umount2(mount.c_str(), MNT_DETACH);
    for (const std::string& line : lines(vethsOnBridge())) {
      std::smatch match;
      if (std::regex_search(line, match, std::regex(R"(^\d+: ([^@:]+))"))) shell("ip link del " + match[1].str());
    }
    shell("ip link del " + bridge_ + " 2>/dev/null");
    // Rules first (with -D), then the chains they jumped to.
    std::vector<std::string> added;
    for (const std::string& rule : iptablesRules()) {
      if (rulesBefore_.count(rule) == 0) added.push_back(rule);
    }
    for (const std::string& rule : added) {
      const std::string table = rule.substr(0, rule.find(' '));
      const std::string body = rule.substr(table.size() + 1);
      if (body.rfind("-A ", 0) == 0) shell("iptables -t " + table + " -D " + body.substr(3) + " 2>/dev/null");
    }
    for (const std::string& rule : added) {
      const std::string table = rule.substr(0, rule.find(' '));
      const std::string body = rule.substr(table.size() + 1);
      if (body.rfind(":", 0) == 0) {
        shell("iptables -t " + table + " -F " + body.substr(1) + " 2>/dev/null; iptables -t " + table + " -X " +
              body.substr(1) + " 2>/dev/null");
      }
    }
    std::ofstream("/proc/sys/net/ipv4/ip_forward") << ipForward_;
  }

  TempDir files_;
  std::string bridge_;
  std::string prefix_;
  std::set<std::string> rulesBefore_;
  std::string ipForward_;
  bool armed_ = false;
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
  EXPECT_EQ(ipsA[0].rfind(prefix_, 0), 0u) << ipsA[0];
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
  std::optional<mv1::TaskStatus> hosts =
      runToEnd("hosts",
               "test \"$(hostname)\" != " + agentHost.substr(0, agentHost.find('\n')) + " && grep -Eq '^" + prefix_ +
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
  EXPECT_TRUE(waitUntil([&] { return ipamAllocations().size() == 1; }, 10s)) << ipamAllocations().size();
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
  writeNetwork("50-plain.conflist", "plain", /*portmap=*/false);
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

TEST_F(NetworkCniE2ETest, ROOT_AMissingConfigDirectoryFailsTheAgentAtStartNamingTheKey) {
  ClusterOptions options;
  Json::Value root, library, module;
  library["name"] = "mantle_network_cni";
  module["name"] = "network/cni";
  module["kind"] = "isolator";
  module["config"]["network_cni_config_dir"] = (files_.path() / "absent").string();
  module["config"]["network_cni_plugins_dir"] = kPluginDir;
  module["config"]["runtime_dir"] = runtimeDir().string();
  library["modules"].append(module);
  root["libraries"].append(library);
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  options.agentFlags = {"--modules=" + Json::writeString(writer, root), "--isolation=network/cni"};
  options.startTimeout = 5s;
  LocalCluster cluster(options);
  Status started = cluster.start();
  ASSERT_FALSE(started.ok());
  EXPECT_FALSE(cluster.agent(0).running());
  EXPECT_NE(started.error().message.find("network_cni_config_dir"), std::string::npos) << started.error().message;
}

}  // namespace
}  // namespace mantle::testing::e2e
