#include "dns/zone.hpp"
#include "dns/server.hpp"

#include <gtest/gtest.h>

namespace mantle::dns {
namespace {

namespace v1 = ::mesos::v1;

operator_stream::ClusterState cluster() {
  operator_stream::ClusterState state;
  state.leaderUrl = "http://10.0.0.1:5050";
  auto& agent = state.agents["a1"];
  agent.mutable_agent_info()->mutable_id()->set_value("a1");
  agent.set_pid("slave(1)@10.0.0.5:5051");
  auto& framework = state.frameworks["f1"];
  framework.mutable_id()->set_value("f1");
  framework.set_name("Marathon_Prod");
  framework.set_hostname("10.0.0.9");
  v1::Task task;
  task.set_name("My.Web");
  task.mutable_task_id()->set_value("web.1");
  task.mutable_framework_id()->set_value("f1");
  task.mutable_agent_id()->set_value("a1");
  task.set_state(v1::TASK_RUNNING);
  v1::Resource* ports = task.add_resources();
  ports->set_name("ports");
  auto* range = ports->mutable_ranges()->add_range();
  range->set_begin(31000);
  range->set_end(31000);
  state.tasks["f1/web.1"] = task;
  return state;
}

TEST(ZoneTest, LabelsAreLowercaseWithOtherCharactersAsHyphens) {
  EXPECT_EQ(toLabel("My.Web_App"), "my-web-app");
  EXPECT_EQ(toLabel("--x--"), "x");
  EXPECT_EQ(toLabel("..."), "");
  EXPECT_EQ(toLabel(std::string(80, 'a')).size(), 63u);
}

TEST(ZoneTest, ARunningTaskHasAAndSrvRecordsUnderItsFramework) {
  Zone zone = Zone::build(cluster(), "mesos");
  ASSERT_NE(zone.find("my-web.marathon-prod.mesos."), nullptr);
  EXPECT_EQ(*zone.find("my-web.marathon-prod.mesos."), (std::vector<Record>{{"A", "10.0.0.5"}}));
  EXPECT_EQ(*zone.find("my-web.marathon-prod.slave.mesos."), (std::vector<Record>{{"A", "10.0.0.5"}}));
  const std::vector<Record>* srv = zone.find("_my-web._tcp.marathon-prod.mesos.");
  ASSERT_NE(srv, nullptr);
  ASSERT_EQ(srv->size(), 1u);
  const std::string target = srv->at(0).rdata.substr(srv->at(0).rdata.rfind(' ') + 1);
  EXPECT_EQ(srv->at(0).rdata, "0 1 31000 " + target);
  ASSERT_NE(zone.find(target), nullptr);
  EXPECT_NE(zone.find("_my-web._udp.marathon-prod.mesos."), nullptr);
  EXPECT_EQ(*zone.find("leader.mesos."), (std::vector<Record>{{"A", "10.0.0.1"}}));
  EXPECT_EQ(*zone.find("_leader._tcp.mesos."), (std::vector<Record>{{"SRV", "0 0 5050 leader.mesos."}}));
  EXPECT_EQ(*zone.find("marathon-prod.mesos."), (std::vector<Record>{{"A", "10.0.0.9"}}));
  EXPECT_TRUE(zone.contains("x.mesos."));
  EXPECT_FALSE(zone.contains("example.com."));
  EXPECT_FALSE(zone.contains("notmesos."));
}

TEST(ZoneTest, ContainerIpsAndDiscoveryPortsWinOverTheAgentsAndTheResources) {
  operator_stream::ClusterState state = cluster();
  v1::Task& task = state.tasks["f1/web.1"];
  v1::TaskStatus* status = task.add_statuses();
  status->mutable_container_status()->add_network_infos()->add_ip_addresses()->set_ip_address("172.16.0.3");
  task.mutable_discovery()->set_name("api");
  v1::Port* port = task.mutable_discovery()->mutable_ports()->add_ports();
  port->set_number(8080);
  port->set_name("http");
  port->set_protocol("udp");
  Zone zone = Zone::build(state, "cluster.example");
  EXPECT_EQ(*zone.find("api.marathon-prod.cluster.example."), (std::vector<Record>{{"A", "172.16.0.3"}}));
  EXPECT_EQ(zone.find("_api._tcp.marathon-prod.cluster.example."), nullptr);
  ASSERT_NE(zone.find("_api._udp.marathon-prod.cluster.example."), nullptr);
  ASSERT_NE(zone.find("_http._api._udp.marathon-prod.cluster.example."), nullptr);
  EXPECT_EQ(zone.find("_api._udp.marathon-prod.cluster.example.")->at(0).rdata.substr(0, 9), "0 1 8080 ");
}

TEST(ZoneTest, TasksNotRunningHaveNoRecords) {
  operator_stream::ClusterState state = cluster();
  state.tasks["f1/web.1"].set_state(v1::TASK_STAGING);
  Zone zone = Zone::build(state, "mesos");
  EXPECT_EQ(zone.find("my-web.marathon-prod.mesos."), nullptr);
  EXPECT_EQ(zone.find("_my-web._tcp.marathon-prod.mesos."), nullptr);
}

TEST(ZoneTest, ResolversAreIpv4WithAnOptionalPort) {
  auto parsed = parseResolvers("10.0.0.2,10.0.0.3:5353");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ(parsed->at(1).port, 5353);
  EXPECT_EQ(parsed->at(0).port, 53);
  EXPECT_NE(parseResolvers("10.0.0.2:99999").error().message.find("10.0.0.2:99999"), std::string::npos);
  EXPECT_FALSE(parseResolvers("dns.example").ok());
}

}  // namespace
}  // namespace mantle::dns
