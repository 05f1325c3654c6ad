// mantle-dns against real masters and agents, asked with Debian's dig: a
// running task's A and SRV records, their removal when it ends, forwarding
// to upstream resolvers, and leader.<domain> across a master failover.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <sstream>

#include "cluster.hpp"
#include "ha_cluster.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "test_framework.hpp"

namespace mantle::dns {
namespace {

using namespace std::chrono_literals;
using testing::binary;
using testing::ChildProcess;

// What `dig +short` prints for `name` and `type`, one answer per line (a
// query that times out prints an error line; a loaded machine gets 5 s and
// a second try).
std::vector<std::string> dig(int port, const std::string& name, const std::string& type = "A",
                             const std::string& extra = "") {
  const std::string command = "dig @127.0.0.1 -p " + std::to_string(port) + " +short +time=5 +tries=2 " + extra + " " +
                              name + " " + type + " 2>&1";
  std::vector<std::string> lines;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return lines;
  char line[512];
  while (fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty()) lines.push_back(text);
  }
  pclose(pipe);
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

std::unique_ptr<ChildProcess> startDns(const std::string& master, int port, const testing::TempDir& dir,
                                       const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {binary("mantle-dns"), "--master=" + master,
                                   "--address=127.0.0.1:" + std::to_string(port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto dns = std::make_unique<ChildProcess>(argv, dir.path() / ("dns-" + std::to_string(port) + ".log"));
  EXPECT_TRUE(
      testing::waitUntil([&] { return !dig(port, "leader.mesos").empty() || !dig(port, "leader.other").empty(); }, 30s))
      << dns->output();
  return dns;
}

class DnsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.start().ok()) << cluster_.logs(); }

  testing::TempDir dir_;
  testing::LocalCluster cluster_;
};

TEST_F(DnsTest, ARunningTaskResolvesOnceRunningAndGoesAwayWhenItEnds) {
  const int port = testing::freePort();
  auto dns = startDns(cluster_.masterAddress(), port, dir_);
  EXPECT_EQ(dig(port, "leader.mesos"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(dig(port, "master.mesos", "A", "+tcp"), std::vector<std::string>{"127.0.0.1"});

  testing::TestFramework framework(cluster_.masterUrl(), {.name = "Web Apps", .user = "root", .hostname = "127.0.0.1"});
  ASSERT_TRUE(framework.start().ok()) << cluster_.logs();
  mesos::v1::TaskInfo nginx = testing::shellTask("nginx-1", "sleep 600", "cpus:0.1;mem:32;ports:[31005-31005]");
  nginx.set_name("nginx");
  ASSERT_TRUE(framework.launch(nginx).ok()) << cluster_.logs();
  ASSERT_TRUE(framework.waitForState("nginx-1", mesos::v1::TASK_RUNNING, 30s)) << cluster_.logs();
  std::vector<std::string> a, srv;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        a = dig(port, "nginx.web-apps.mesos");
        srv = dig(port, "_nginx._tcp.web-apps.mesos", "SRV");
        return !a.empty() && !srv.empty();
      },
      30s))
      << dns->output();
  EXPECT_EQ(a, std::vector<std::string>{"127.0.0.1"});
  ASSERT_EQ(srv.size(), 1u) << joined(srv);
  std::istringstream record(srv[0]);
  std::string priority, weight, srvPort, target;
  record >> priority >> weight >> srvPort >> target;
  EXPECT_EQ(srvPort, "31005");
  EXPECT_EQ(dig(port, target), std::vector<std::string>{"127.0.0.1"}) << target;
  EXPECT_EQ(dig(port, "_nginx._udp.web-apps.mesos", "SRV", "+tcp").size(), 1u);
  EXPECT_EQ(dig(port, "web-apps.mesos"), std::vector<std::string>{"127.0.0.1"});

  ASSERT_TRUE(framework.kill("nginx-1").ok());
  ASSERT_TRUE(framework.waitForState("nginx-1", mesos::v1::TASK_KILLED, 30s));
  EXPECT_TRUE(testing::waitUntil(
      [&] {
        return dig(port, "nginx.web-apps.mesos").empty() && dig(port, "_nginx._tcp.web-apps.mesos", "SRV").empty();
      },
      30s))
      << joined(dig(port, "nginx.web-apps.mesos"));
}

TEST_F(DnsTest, NamesOutsideTheDomainAreAskedOfTheResolversAndUnknownOnesInsideAreNxdomain) {
  const int upstreamPort = testing::freePort();
  auto upstream = startDns(cluster_.masterAddress(), upstreamPort, dir_, {"--domain=other"});
  const int port = testing::freePort();
  auto dns = startDns(cluster_.masterAddress(), port, dir_,
                      {"--resolvers=127.0.0.1:" + std::to_string(upstreamPort), "--ttl=5secs"});
  EXPECT_EQ(dig(port, "leader.other"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(dig(port, "leader.other", "A", "+tcp"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(dig(port, "nothing.mesos").empty());
  const std::string full = joined(dig(port, "nothing.mesos", "A", "+noshort +noall +comments +authority"));
  EXPECT_NE(full.find("NXDOMAIN"), std::string::npos) << full;
  EXPECT_NE(full.find("SOA"), std::string::npos) << full;
  const std::string ttl = joined(dig(port, "leader.mesos", "A", "+noshort +noall +answer"));
  EXPECT_NE(ttl.find("\t5\tIN\tA"), std::string::npos) << ttl;
}

TEST(DnsHaTest, LeaderFollowsAMasterFailover) {
  testing::HaClusterOptions options;
  options.masters = 2;
  options.agents = 0;
  testing::HaCluster cluster(options);
  ASSERT_TRUE(cluster.start().ok()) << cluster.logs();
  auto leader = cluster.waitForLeader(30s);
  ASSERT_TRUE(leader.ok()) << cluster.logs();
  testing::TempDir dir;
  const int port = testing::freePort();
  auto dns = startDns(cluster.zkUrl(), port, dir);
  auto leaderPort = [&](int index) {
    const std::string url = cluster.masterUrl(index);
    return url.substr(url.rfind(':') + 1);
  };
  auto srvPort = [&] {
    auto srv = dig(port, "_leader._tcp.mesos", "SRV");
    if (srv.size() != 1) return std::string();
    std::istringstream record(srv[0]);
    std::string priority, weight, value;
    record >> priority >> weight >> value;
    return value;
  };
  EXPECT_TRUE(testing::waitUntil([&] { return srvPort() == leaderPort(*leader); }, 30s)) << srvPort();
  EXPECT_EQ(dig(port, "leader.mesos"), std::vector<std::string>{"127.0.0.1"});

  cluster.killMaster(*leader);
  auto next = cluster.waitForLeader(30s);
  ASSERT_TRUE(next.ok()) << cluster.logs();
  ASSERT_NE(*next, *leader);
  EXPECT_TRUE(testing::waitUntil([&] { return srvPort() == leaderPort(*next); }, 30s)) << srvPort() << "\n"
                                                                                       << dns->output();
  EXPECT_EQ(dig(port, "leader.mesos"), std::vector<std::string>{"127.0.0.1"});
}

}  // namespace
}  // namespace mantle::dns

namespace mantle::dns {
namespace {

TEST(DnsFlagsTest, BadFlagsAreRefusedWithTheFlagNamed) {
  testing::TempDir dir;
  for (const auto& [flag, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--address=localhost", "--address must be IP:PORT"},
           {"--resolvers=10.0.0.1:0", "--resolvers: resolver '10.0.0.1:0'"},
           {"--domain=...", "--domain"}}) {
    ChildProcess dns({binary("mantle-dns"), "--master=127.0.0.1:1", flag}, dir.path() / "dns.log");
    const int status = dns.wait(10s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << flag;
    EXPECT_NE(dns.output().find(expected), std::string::npos) << dns.output();
  }
}

}  // namespace
}  // namespace mantle::dns
