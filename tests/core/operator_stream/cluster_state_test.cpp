#include "operator_stream/cluster_state.hpp"

#include <gtest/gtest.h>

namespace mantle::operator_stream {
namespace {

using v1::master::Event;

v1::Task task(const std::string& framework, const std::string& id, v1::TaskState state) {
  v1::Task t;
  t.set_name(id);
  t.mutable_task_id()->set_value(id);
  t.mutable_framework_id()->set_value(framework);
  t.mutable_agent_id()->set_value("a1");
  t.set_state(state);
  return t;
}

Event subscribed(const std::vector<v1::Task>& tasks) {
  Event event;
  event.set_type(Event::SUBSCRIBED);
  auto* state = event.mutable_subscribed()->mutable_get_state();
  for (const v1::Task& t : tasks) *state->mutable_get_tasks()->add_tasks() = t;
  auto* agent = state->mutable_get_agents()->add_agents();
  agent->mutable_agent_info()->mutable_id()->set_value("a1");
  agent->mutable_agent_info()->set_hostname("node1");
  agent->set_pid("slave(1)@10.0.0.5:5051");
  auto* framework = state->mutable_get_frameworks()->add_frameworks();
  framework->mutable_framework_info()->mutable_id()->set_value("f1");
  framework->mutable_framework_info()->set_name("web");
  return event;
}

Event updated(const std::string& framework, const std::string& id, v1::TaskState state) {
  Event event;
  event.set_type(Event::TASK_UPDATED);
  event.mutable_task_updated()->mutable_framework_id()->set_value(framework);
  event.mutable_task_updated()->mutable_status()->mutable_task_id()->set_value(id);
  event.mutable_task_updated()->mutable_status()->set_state(state);
  event.mutable_task_updated()->set_state(state);
  return event;
}

TEST(ClusterStateTest, TheSnapshotReplacesEverythingAndKeepsOnlyTasksThatHaveNotEnded) {
  ClusterState state;
  state.tasks["old/x"] = task("old", "x", v1::TASK_RUNNING);
  EXPECT_TRUE(apply(subscribed({task("f1", "t1", v1::TASK_RUNNING), task("f1", "t2", v1::TASK_FINISHED)}), &state));
  ASSERT_EQ(state.tasks.size(), 1u);
  EXPECT_TRUE(state.tasks.count("f1/t1"));
  EXPECT_EQ(agentAddress(state.agents.at("a1")), "10.0.0.5");
  EXPECT_EQ(state.frameworks.at("f1").name(), "web");
}

TEST(ClusterStateTest, UpdatesKeepTheLatestStatusAndATerminalOneRemovesTheTask) {
  ClusterState state;
  apply(subscribed({}), &state);
  Event added;
  added.set_type(Event::TASK_ADDED);
  *added.mutable_task_added()->mutable_task() = task("f1", "t1", v1::TASK_STAGING);
  EXPECT_TRUE(apply(added, &state));
  Event running = updated("f1", "t1", v1::TASK_RUNNING);
  running.mutable_task_updated()->mutable_status()->set_healthy(true);
  running.mutable_task_updated()
      ->mutable_status()
      ->mutable_container_status()
      ->add_network_infos()
      ->add_ip_addresses()
      ->set_ip_address("172.16.0.3");
  EXPECT_TRUE(apply(running, &state));
  const v1::Task& t = state.tasks.at("f1/t1");
  EXPECT_EQ(t.state(), v1::TASK_RUNNING);
  ASSERT_NE(latestStatus(t), nullptr);
  EXPECT_TRUE(latestStatus(t)->healthy());
  EXPECT_EQ(containerIp(t), "172.16.0.3");
  EXPECT_FALSE(apply(updated("f1", "unknown", v1::TASK_RUNNING), &state));
  EXPECT_TRUE(apply(updated("f1", "t1", v1::TASK_KILLED), &state));
  EXPECT_TRUE(state.tasks.empty());
}

TEST(ClusterStateTest, ARemovedFrameworkTakesItsTasksAndARemovedAgentGoes) {
  ClusterState state;
  apply(subscribed({task("f1", "t1", v1::TASK_RUNNING), task("f2", "t1", v1::TASK_RUNNING)}), &state);
  Event removed;
  removed.set_type(Event::FRAMEWORK_REMOVED);
  removed.mutable_framework_removed()->mutable_framework_info()->mutable_id()->set_value("f1");
  EXPECT_TRUE(apply(removed, &state));
  EXPECT_FALSE(state.frameworks.count("f1"));
  ASSERT_EQ(state.tasks.size(), 1u);
  EXPECT_TRUE(state.tasks.count("f2/t1"));
  Event agentRemoved;
  agentRemoved.set_type(Event::AGENT_REMOVED);
  agentRemoved.mutable_agent_removed()->mutable_agent_id()->set_value("a1");
  EXPECT_TRUE(apply(agentRemoved, &state));
  EXPECT_TRUE(state.agents.empty());
  Event heartbeat;
  heartbeat.set_type(Event::HEARTBEAT);
  EXPECT_FALSE(apply(heartbeat, &state));
}

TEST(ClusterStateTest, PortsAndLabelsOfATask) {
  v1::Task t = task("f1", "t1", v1::TASK_RUNNING);
  v1::Resource* ports = t.add_resources();
  ports->set_name("ports");
  ports->set_type(v1::Value::RANGES);
  auto* range = ports->mutable_ranges()->add_range();
  range->set_begin(31000);
  range->set_end(31001);
  v1::Label* group = t.mutable_labels()->add_labels();
  group->set_key("HAPROXY_GROUP");
  group->set_value("external");
  EXPECT_EQ(taskPorts(t), (std::vector<std::uint32_t>{31000, 31001}));
  EXPECT_EQ(label(t.labels(), "HAPROXY_GROUP"), "external");
  EXPECT_EQ(label(t.labels(), "HAPROXY_0_PORT"), std::nullopt);
}

TEST(ClusterStateTest, TheLeadersHostAndPortComeFromItsUrlAnIpv6HostInBrackets) {
  Result<wire::HostPort> leader = urlAddress("http://10.1.2.3:5050/master");
  ASSERT_TRUE(leader.ok()) << leader.error().message;
  EXPECT_EQ(leader->host, "10.1.2.3");
  EXPECT_EQ(leader->port, 5050);
  Result<wire::HostPort> v6 = urlAddress("http://[fd00::1]:5050");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "fd00::1");
  EXPECT_FALSE(urlAddress("http://no-port").ok());
}

}  // namespace
}  // namespace mantle::operator_stream
