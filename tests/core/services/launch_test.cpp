#include "services/launch.hpp"

#include <gtest/gtest.h>

#include <map>

#include "http_json.hpp"

namespace mantle::services {
namespace {

namespace v1 = ::mesos::v1;

App appOf(const std::string& text) {
  std::vector<Violation> violations;
  App app = readApp(testing::parseJson(text), &violations);
  EXPECT_TRUE(violations.empty()) << violations[0].path << ": " << violations[0].message;
  return app;
}

std::map<std::string, std::string> envOf(const App& app, const TaskPorts& ports) {
  std::map<std::string, std::string> env;
  for (const auto& [name, value] : portEnvironment(app, ports)) env[name] = value;
  return env;
}

const std::vector<std::pair<std::uint64_t, std::uint64_t>> kOffered = {{31000, 31001}, {31005, 31010}};

TEST(LaunchTest, AMesosContainerRunsTheDockerImageWithItsVolumesAndForcePullIsCachedFalse) {
  App app = appOf(R"({"id":"/web","cmd":"serve","container":{"type":"MESOS",
      "docker":{"image":"127.0.0.1:5000/web:1","forcePullImage":true},
      "volumes":[{"containerPath":"/data","hostPath":"/srv/data","mode":"RO"},
                 {"containerPath":"/scratch","hostPath":"scratch","mode":"RW"}]}})");
  std::optional<TaskPorts> ports = allocatePorts(app, kOffered);
  ASSERT_TRUE(ports.has_value());
  EXPECT_EQ(ports->hostPortList(), (std::vector<std::uint64_t>{31000})) << "the host network: a host port";
  const v1::ContainerInfo info = containerInfoOf(app, "mesos-bridge", *ports);
  EXPECT_EQ(info.type(), v1::ContainerInfo::MESOS);
  EXPECT_EQ(info.mesos().image().type(), v1::Image::DOCKER);
  EXPECT_EQ(info.mesos().image().docker().name(), "127.0.0.1:5000/web:1");
  EXPECT_FALSE(info.mesos().image().cached());
  ASSERT_EQ(info.volumes_size(), 2);
  EXPECT_EQ(info.volumes(0).container_path(), "/data");
  EXPECT_EQ(info.volumes(0).host_path(), "/srv/data");
  EXPECT_EQ(info.volumes(0).mode(), v1::Volume::RO);
  EXPECT_EQ(info.volumes(1).host_path(), "scratch") << "relative: a sandbox directory, as Mesos reads it";
  EXPECT_EQ(info.volumes(1).mode(), v1::Volume::RW);
  EXPECT_EQ(info.network_infos_size(), 0);

  App cached = appOf(R"({"id":"/web","cmd":"serve","container":{"type":"MESOS","docker":{"image":"web"}}})");
  EXPECT_TRUE(containerInfoOf(cached, "mesos-bridge", *allocatePorts(cached, kOffered)).mesos().image().cached());
}

TEST(LaunchTest, TheBridgeIsTheMesosBridgeNetworkWithHostPortsMappedToContainerPorts) {
  App app = appOf(R"({"id":"/web","cmd":"serve","networks":[{"mode":"container/bridge"}],
      "container":{"type":"MESOS","docker":{"image":"web"},"portMappings":[
        {"containerPort":80,"name":"http"},{"containerPort":0,"hostPort":31007,"protocol":"udp,tcp"}]}})");
  std::optional<TaskPorts> ports = allocatePorts(app, kOffered);
  ASSERT_TRUE(ports.has_value());
  EXPECT_EQ(ports->hostPortList(), (std::vector<std::uint64_t>{31000, 31007}));
  EXPECT_EQ(ports->listen, (std::vector<std::uint64_t>{80, 31007})) << "containerPort 0 is the host port";
  const v1::ContainerInfo info = containerInfoOf(app, "my-bridge", *ports);
  ASSERT_EQ(info.network_infos_size(), 1);
  const v1::NetworkInfo& network = info.network_infos(0);
  EXPECT_EQ(network.name(), "my-bridge");
  ASSERT_EQ(network.port_mappings_size(), 3);
  EXPECT_EQ(network.port_mappings(0).host_port(), 31000u);
  EXPECT_EQ(network.port_mappings(0).container_port(), 80u);
  EXPECT_EQ(network.port_mappings(0).protocol(), "tcp");
  EXPECT_EQ(network.port_mappings(1).host_port(), 31007u);
  EXPECT_EQ(network.port_mappings(1).container_port(), 31007u);
  EXPECT_EQ(network.port_mappings(1).protocol(), "tcp");
  EXPECT_EQ(network.port_mappings(2).protocol(), "udp");
  // The environment names host ports, as Marathon's.
  const auto env = envOf(app, *ports);
  EXPECT_EQ(env.at("PORT0"), "31000");
  EXPECT_EQ(env.at("PORT_HTTP"), "31000");
  EXPECT_EQ(env.at("PORT1"), "31007");
  EXPECT_EQ(env.at("PORTS"), "31000,31007");
  // Discovery: the host ports, scoped.
  const v1::DiscoveryInfo discovery = discoveryOf(app, "web", *ports);
  ASSERT_EQ(discovery.ports().ports_size(), 2);
  EXPECT_EQ(discovery.ports().ports(0).number(), 31000u);
  EXPECT_EQ(discovery.ports().ports(0).name(), "http");
  EXPECT_EQ(discovery.ports().ports(0).labels().labels(0).key(), "network-scope");
  EXPECT_EQ(discovery.ports().ports(0).labels().labels(0).value(), "host");
  // A fixed host port the offer lacks: the offer does not fit.
  EXPECT_FALSE(allocatePorts(app, {{31000, 31003}}).has_value());
}

TEST(LaunchTest, OnANamedContainerNetworkUnmappedPortsAreContainerPortsAndNoHostPortIsTaken) {
  App app = appOf(R"({"id":"/web","cmd":"serve","networks":[{"name":"shop","labels":{"zone":"a"}}],
      "container":{"type":"MESOS","portMappings":[{"containerPort":8080,"name":"http"},{"containerPort":0},
        {"containerPort":9000,"hostPort":0}]},"healthChecks":[{"protocol":"MESOS_HTTP","portIndex":0}]})");
  std::optional<TaskPorts> ports = allocatePorts(app, kOffered);
  ASSERT_TRUE(ports.has_value());
  EXPECT_EQ(ports->hostPortList(), (std::vector<std::uint64_t>{31000}));
  ASSERT_EQ(ports->generated.size(), 1u);
  EXPECT_GT(ports->generated[0], 1024u);
  EXPECT_EQ(ports->values, (std::vector<std::uint64_t>{8080, ports->generated[0], 31000}));
  EXPECT_EQ(ports->listen, (std::vector<std::uint64_t>{8080, ports->generated[0], 9000}));
  const auto env = envOf(app, *ports);
  EXPECT_EQ(env.at("PORT0"), "8080");
  EXPECT_EQ(env.count("PORT_HTTP"), 0u) << "Marathon names only ports with a host port";
  EXPECT_EQ(env.at("PORTS"), "31000," + std::to_string(ports->generated[0]));
  const v1::ContainerInfo info = containerInfoOf(app, "mesos-bridge", *ports);
  EXPECT_EQ(info.type(), v1::ContainerInfo::MESOS);
  EXPECT_FALSE(info.mesos().has_image());
  ASSERT_EQ(info.network_infos_size(), 1);
  EXPECT_EQ(info.network_infos(0).name(), "shop");
  EXPECT_EQ(info.network_infos(0).labels().labels(0).key(), "zone");
  ASSERT_EQ(info.network_infos(0).port_mappings_size(), 1);
  EXPECT_EQ(info.network_infos(0).port_mappings(0).host_port(), 31000u);
  EXPECT_EQ(info.network_infos(0).port_mappings(0).container_port(), 9000u);
}

TEST(LaunchTest, ADockerContainerIsContainerInfoTypeDockerOnTheHostNetwork) {
  App app = appOf(R"({"id":"/web","container":{"docker":{"image":"busybox","forcePullImage":true,
      "parameters":[{"key":"env","value":"A=1"}]},
      "volumes":[{"containerPath":"/data","hostPath":"/srv/data","mode":"RW"}]}})");
  EXPECT_EQ(app.container->type, "DOCKER") << "Marathon's default type";
  std::optional<TaskPorts> ports = allocatePorts(app, kOffered);
  ASSERT_TRUE(ports.has_value());
  const v1::ContainerInfo info = containerInfoOf(app, "mesos-bridge", *ports);
  EXPECT_EQ(info.type(), v1::ContainerInfo::DOCKER);
  EXPECT_EQ(info.docker().image(), "busybox");
  EXPECT_EQ(info.docker().network(), v1::ContainerInfo::DockerInfo::HOST);
  EXPECT_TRUE(info.docker().force_pull_image());
  ASSERT_EQ(info.docker().parameters_size(), 1);
  EXPECT_EQ(info.docker().parameters(0).value(), "A=1");
  ASSERT_EQ(info.volumes_size(), 1);
  EXPECT_EQ(info.volumes(0).host_path(), "/srv/data");
}

TEST(LaunchTest, SecretsAreReferencesNamedByTheirSourceInTheEnvironmentAndAsReadOnlyVolumes) {
  App app = appOf(R"({"id":"/db","cmd":"serve","secrets":{"pw":{"source":"db-password"}},
      "env":{"DB_PASSWORD":{"secret":"pw"}},
      "container":{"type":"MESOS","volumes":[{"containerPath":"creds/password","secret":"pw"}]}})");
  v1::Environment environment;
  addSecretEnvironment(app, &environment);
  ASSERT_EQ(environment.variables_size(), 1);
  EXPECT_EQ(environment.variables(0).name(), "DB_PASSWORD");
  EXPECT_EQ(environment.variables(0).type(), v1::Environment::Variable::SECRET);
  EXPECT_EQ(environment.variables(0).secret().type(), v1::Secret::REFERENCE);
  EXPECT_EQ(environment.variables(0).secret().reference().name(), "db-password");
  const v1::ContainerInfo info = containerInfoOf(app, "mesos-bridge", *allocatePorts(app, kOffered));
  ASSERT_EQ(info.volumes_size(), 1);
  EXPECT_EQ(info.volumes(0).container_path(), "creds/password");
  EXPECT_EQ(info.volumes(0).mode(), v1::Volume::RO);
  EXPECT_FALSE(info.volumes(0).has_host_path());
  EXPECT_EQ(info.volumes(0).source().type(), v1::Volume::Source::SECRET);
  EXPECT_EQ(info.volumes(0).source().secret().reference().name(), "db-password");
}

TEST(LaunchTest, LinuxInfoCarriesTheSeccompProfileAndThePrivateIpcNamespaceWithItsSharedMemory) {
  App app = appOf(R"({"id":"/h","cmd":"x","container":{"type":"MESOS","docker":{"image":"busybox"},
      "linuxInfo":{"seccomp":{"profileName":"strict.json"},"ipcInfo":{"mode":"PRIVATE","shmSize":64}}}})");
  const v1::ContainerInfo info = containerInfoOf(app, "mesos-bridge", *allocatePorts(app, kOffered));
  EXPECT_EQ(info.linux_info().seccomp().profile_name(), "strict.json");
  EXPECT_FALSE(info.linux_info().seccomp().unconfined());
  EXPECT_EQ(info.linux_info().ipc_mode(), v1::LinuxInfo::PRIVATE);
  EXPECT_EQ(info.linux_info().shm_size(), 64u);
  App unconfined = appOf(R"({"id":"/u","cmd":"x","container":{"type":"MESOS",
      "linuxInfo":{"seccomp":{"unconfined":true},"ipcInfo":{"mode":"SHARE_PARENT"}}}})");
  const v1::ContainerInfo open = containerInfoOf(unconfined, "mesos-bridge", *allocatePorts(unconfined, kOffered));
  EXPECT_TRUE(open.linux_info().seccomp().unconfined());
  EXPECT_EQ(open.linux_info().ipc_mode(), v1::LinuxInfo::SHARE_PARENT);
  EXPECT_FALSE(open.linux_info().has_shm_size());
  App plain = appOf(R"({"id":"/p","cmd":"x","container":{"type":"MESOS"}})");
  EXPECT_FALSE(containerInfoOf(plain, "mesos-bridge", *allocatePorts(plain, kOffered)).has_linux_info());
}

TEST(LaunchTest, HostPortsAreTheLowestFreeOnesAroundFixedOnes) {
  App app = appOf(R"({"id":"/web","cmd":"x","requirePorts":false,"portDefinitions":[{"port":0},{"port":0}]})");
  std::optional<TaskPorts> ports = allocatePorts(app, kOffered);
  ASSERT_TRUE(ports.has_value());
  EXPECT_EQ(ports->hostPortList(), (std::vector<std::uint64_t>{31000, 31001}));
  App fixed = appOf(R"({"id":"/web","cmd":"x","networks":[{"mode":"container/bridge"}],"container":{"type":"MESOS",
      "portMappings":[{"containerPort":1,"hostPort":0},{"containerPort":2,"hostPort":31000},
        {"containerPort":3,"hostPort":0},{"containerPort":4,"hostPort":0}]}})");
  ports = allocatePorts(fixed, kOffered);
  ASSERT_TRUE(ports.has_value());
  EXPECT_EQ(ports->hostPortList(), (std::vector<std::uint64_t>{31001, 31000, 31005, 31006}));
  EXPECT_FALSE(allocatePorts(fixed, {{31000, 31002}}).has_value()) << "three dynamic ports beside 31000";
  App required = appOf(R"({"id":"/r","cmd":"x","requirePorts":true,"portDefinitions":[{"port":31010}]})");
  ports = allocatePorts(required, kOffered);
  ASSERT_TRUE(ports.has_value());
  EXPECT_EQ(ports->hostPortList(), (std::vector<std::uint64_t>{31010}));
}

}  // namespace
}  // namespace mantle::services
