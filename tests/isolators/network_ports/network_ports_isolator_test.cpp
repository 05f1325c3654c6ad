// network/ports, loaded through the host from libmantle_network_ports.so,
// watching real processes that listen on real loopback ports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "../support/isolator_test_support.hpp"
#include "module_host.hpp"
#include "process.hpp"

namespace mantle::isolators::network_ports {
namespace {

using namespace ::mantle::testing::isolators;
using modules::Instance;
using modules::Registry;

// Async-signal-safe: a socket listening on 127.0.0.1:port; errno on failure.
int listenOn(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return errno;
  if (listen(fd, 4) != 0) return errno;
  return 0;
}

class NetworkPortsIsolatorTest : public ::testing::Test {
 protected:
  std::shared_ptr<Instance> create(bool enforce, const std::string& isolatedRange = "") {
    Json::Value module;
    module["name"] = "network/ports";
    module["instance"] = "ports#" + std::to_string(instances_++);
    module["config"]["enforce_container_ports"] = enforce;
    module["config"]["container_ports_watch_interval_ms"] = 50;
    module["config"]["container_ports_isolated_range"] = isolatedRange;
    Result<std::shared_ptr<Instance>> instance =
        testing::createModule(registry_, "mantle_network_ports", module, "isolator");
    EXPECT_TRUE(instance.ok()) << instance.error().message;
    return instance.ok() ? *instance : nullptr;
  }

  // A container process listening on `own`, with a child listening on `extra`
  // (when not 0), both ready when this returns.
  std::unique_ptr<GatedChild> start(Instance& isolator, const std::string& id, int own, int extra) {
    Channel ready;
    auto child = std::make_unique<GatedChild>([&ready, own, extra] {
      if (extra != 0 && fork() == 0) {
        ready.send(listenOn(extra));
        for (;;) pause();
      }
      ready.send(listenOn(own));
      for (;;) pause();
    });
    EXPECT_TRUE(isolate(isolator, id, child->pid()).ok());
    child->release();
    for (int i = 0; i < (extra != 0 ? 2 : 1); ++i) EXPECT_EQ(ready.receive(std::chrono::seconds(10)), 0L);
    return child;
  }

  // Waits until the isolator's status shows `key` = `value`.
  bool statusShows(Instance& isolator, const std::string& id, const std::string& key, const std::string& value) {
    return testing::waitUntil([&] { return statusLabels(isolator, id)[key] == value; }, std::chrono::seconds(10));
  }

  Registry registry_;
  int instances_ = 0;
};

TEST_F(NetworkPortsIsolatorTest, APortOutsideTheAllocationIsALimitationWhenEnforced) {
  std::shared_ptr<Instance> ports = create(/*enforce=*/true);
  ASSERT_NE(ports, nullptr);
  Limitations limitations(*ports);
  int allowed = testing::freePort();
  int other = testing::freePort();
  ASSERT_TRUE(
      prepare(*ports, "c1", {rangesResource("ports", {{std::uint64_t(allowed), std::uint64_t(allowed)}})}).ok());
  std::unique_ptr<GatedChild> child = start(*ports, "c1", allowed, other);

  std::optional<v1::ContainerLimitation> limitation = limitations.waitFor("c1", std::chrono::seconds(10));
  ASSERT_TRUE(limitation.has_value()) << "the grandchild's port was not noticed";
  EXPECT_EQ(limitation->reason(), v1::TaskStatus::REASON_CONTAINER_LIMITATION);
  ASSERT_EQ(limitation->resources_size(), 1);
  EXPECT_EQ(limitation->resources(0).name(), "ports");
  ASSERT_EQ(limitation->resources(0).ranges().range_size(), 1);
  EXPECT_EQ(limitation->resources(0).ranges().range(0).begin(), std::uint64_t(other));
  EXPECT_NE(limitation->message().find(std::to_string(other)), std::string::npos) << limitation->message();
  EXPECT_EQ(statusLabels(*ports, "c1")["network/ports.violations"], std::to_string(other));
  ASSERT_TRUE(cleanup(*ports, "c1").ok());
}

TEST_F(NetworkPortsIsolatorTest, WithoutEnforcementAViolationIsOnlyVisible) {
  std::shared_ptr<Instance> ports = create(/*enforce=*/false);
  ASSERT_NE(ports, nullptr);
  Limitations limitations(*ports);
  int allowed = testing::freePort();
  int other = testing::freePort();
  ASSERT_TRUE(
      prepare(*ports, "c1", {rangesResource("ports", {{std::uint64_t(allowed), std::uint64_t(allowed)}})}).ok());
  std::unique_ptr<GatedChild> child = start(*ports, "c1", other, 0);
  EXPECT_TRUE(statusShows(*ports, "c1", "network/ports.violations", std::to_string(other)));
  EXPECT_EQ(statusLabels(*ports, "c1")["network/ports.listening"], std::to_string(other));
  EXPECT_TRUE(limitations.all().empty());
  ASSERT_TRUE(cleanup(*ports, "c1").ok());
}

// A container root is a fork of the agent: until it has closed what it
// inherited, it holds the agent's listening sockets. Those are not the
// container's (the test process plays the agent here).
TEST_F(NetworkPortsIsolatorTest, AListeningSocketInheritedFromTheProcessThatStartedTheContainerIsNotItsOwn) {
  std::shared_ptr<Instance> ports = create(/*enforce=*/true);
  ASSERT_NE(ports, nullptr);
  Limitations limitations(*ports);
  int agentPort = testing::freePort();
  int agentSocket = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(agentSocket, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(agentPort));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(agentSocket, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(agentSocket, 4), 0);
  int allowed = testing::freePort();
  ASSERT_TRUE(
      prepare(*ports, "c1", {rangesResource("ports", {{std::uint64_t(allowed), std::uint64_t(allowed)}})}).ok());
  // The child keeps the inherited socket and listens on its own port.
  std::unique_ptr<GatedChild> child = start(*ports, "c1", allowed, 0);
  // A scan's whole result: its own port alone.
  EXPECT_TRUE(statusShows(*ports, "c1", "network/ports.listening", std::to_string(allowed)));
  EXPECT_EQ(statusLabels(*ports, "c1")["network/ports.violations"], "");
  EXPECT_TRUE(limitations.all().empty());
  ASSERT_TRUE(cleanup(*ports, "c1").ok());
  close(agentSocket);
}

TEST_F(NetworkPortsIsolatorTest, AllocatedPortsAndPortsOutsideTheIsolatedRangeAreFine) {
  int allowed = testing::freePort();
  int other = testing::freePort();
  // Only a range that holds neither port is checked.
  int lowest = std::min(allowed, other);
  std::string isolated = "[1-" + std::to_string(lowest - 1) + "]";
  std::shared_ptr<Instance> ports = create(/*enforce=*/true, isolated);
  ASSERT_NE(ports, nullptr);
  Limitations limitations(*ports);
  ASSERT_TRUE(
      prepare(*ports, "good", {rangesResource("ports", {{std::uint64_t(allowed), std::uint64_t(allowed)}})}).ok());
  ASSERT_TRUE(prepare(*ports, "outside", {}).ok());
  std::unique_ptr<GatedChild> good = start(*ports, "good", allowed, 0);
  std::unique_ptr<GatedChild> outside = start(*ports, "outside", other, 0);
  EXPECT_TRUE(statusShows(*ports, "good", "network/ports.listening", std::to_string(allowed)));
  EXPECT_TRUE(statusShows(*ports, "outside", "network/ports.listening", std::to_string(other)));
  EXPECT_EQ(statusLabels(*ports, "good")["network/ports.violations"], "");
  EXPECT_EQ(statusLabels(*ports, "outside")["network/ports.violations"], "");
  EXPECT_TRUE(limitations.all().empty());
  for (const char* id : {"good", "outside"}) ASSERT_TRUE(cleanup(*ports, id).ok());
}

TEST_F(NetworkPortsIsolatorTest, BadConfigurationAndUnknownContainers) {
  Json::Value module;
  module["name"] = "network/ports";
  module["instance"] = "bad";
  module["config"]["container_ports_isolated_range"] = "[9-3]";
  Result<std::shared_ptr<Instance>> bad = testing::createModule(registry_, "mantle_network_ports", module, "isolator");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("9-3"), std::string::npos) << bad.error().message;
  std::shared_ptr<Instance> ports = create(false);
  ASSERT_NE(ports, nullptr);
  Status unknown = isolate(*ports, "nobody", getpid());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, StatusCode::kNotFound);
  EXPECT_TRUE(cleanup(*ports, "nobody").ok());
}

}  // namespace
}  // namespace mantle::isolators::network_ports
