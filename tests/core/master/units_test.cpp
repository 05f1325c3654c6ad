// Pieces of the master that need no process: the registry file and the
// stateless call checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "master/master_impl.hpp"
#include "master/registry_file.hpp"
#include "master/validation.hpp"
#include "temp_dir.hpp"

namespace mantle::master {
namespace {

using ::testing::HasSubstr;
namespace v1 = ::mesos::v1;

TEST(RegistryFileTest, StoresAndLoadsAgentsFrameworksAndGoneAgents) {
  testing::TempDir dir;
  RegistryFile file((dir.path() / "sub" / "registry.json").string());
  Result<RegistryState> empty = file.load();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->agents.empty());

  RegistryState state;
  v1::AgentInfo agent;
  agent.set_hostname("h1");
  agent.mutable_id()->set_value("m-S0");
  agent.set_port(5051);
  state.agents.push_back(agent);
  state.goneAgents.push_back("m-S9");
  v1::FrameworkInfo framework;
  framework.set_user("u");
  framework.set_name("n");
  framework.mutable_id()->set_value("m-0000");
  framework.set_failover_timeout(12.5);
  state.frameworks.push_back(framework);
  ASSERT_TRUE(file.replace(serializeRegistry(state)).ok());
  EXPECT_FALSE(std::filesystem::exists(file.path() + ".tmp"));

  Result<RegistryState> loaded = RegistryFile(file.path()).load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->agents.size(), 1u);
  EXPECT_EQ(loaded->agents[0].id().value(), "m-S0");
  EXPECT_EQ(loaded->agents[0].hostname(), "h1");
  EXPECT_EQ(loaded->goneAgents, std::vector<std::string>{"m-S9"});
  ASSERT_EQ(loaded->frameworks.size(), 1u);
  EXPECT_EQ(loaded->frameworks[0].failover_timeout(), 12.5);
}

TEST(RegistryFileTest, StoresAndLoadsTheMaintenanceScheduleAndMachineModes) {
  testing::TempDir dir;
  RegistryFile file((dir.path() / "registry.json").string());
  RegistryState state;
  v1::maintenance::Window* window = state.schedule.add_windows();
  window->add_machine_ids()->set_hostname("m1");
  window->add_machine_ids()->set_ip("10.0.0.2");
  window->mutable_unavailability()->mutable_start()->set_nanoseconds(1700000000000000000);
  window->mutable_unavailability()->mutable_duration()->set_nanoseconds(60000000000);
  v1::MachineInfo machine;
  machine.mutable_id()->set_ip("10.0.0.2");
  machine.set_mode(v1::MachineInfo::DOWN);
  *machine.mutable_unavailability() = window->unavailability();
  state.machines.push_back(machine);
  ASSERT_TRUE(file.replace(serializeRegistry(state)).ok());

  Result<RegistryState> loaded = file.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->schedule.SerializeAsString(), state.schedule.SerializeAsString());
  ASSERT_EQ(loaded->machines.size(), 1u);
  EXPECT_EQ(loaded->machines[0].SerializeAsString(), machine.SerializeAsString());

  // A registry without maintenance (as older masters wrote it) loads empty.
  ASSERT_TRUE(file.replace(serializeRegistry(RegistryState{})).ok());
  Result<RegistryState> plain = file.load();
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->schedule.windows_size(), 0);
  EXPECT_TRUE(plain->machines.empty());
}

TEST(RegistryFileTest, CorruptFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  auto path = dir.write("registry.json", "{\"agents\": [");
  Result<RegistryState> loaded = RegistryFile(path.string()).load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr(path.string()));
}

TEST(RegistryFileTest, InMemoryRegistryKeepsNothing) {
  RegistryFile file("");
  EXPECT_TRUE(file.replace(serializeRegistry(RegistryState{})).ok());
  EXPECT_TRUE(file.append(serializeRegistryChange(RegistryState{}, {})).ok());
  EXPECT_TRUE(file.load().ok());
}

v1::AgentInfo agentInfo(const std::string& id, const std::string& hostname) {
  v1::AgentInfo agent;
  agent.mutable_id()->set_value(id);
  agent.set_hostname(hostname);
  return agent;
}

std::map<std::string, std::string> hostnamesById(const RegistryState& state) {
  std::map<std::string, std::string> out;
  for (const v1::AgentInfo& agent : state.agents) out[agent.id().value()] = agent.hostname();
  return out;
}

TEST(RegistryFileTest, AppendedChangesAddReplaceAndRemoveAgentsAndReplaceEverythingElse) {
  testing::TempDir dir;
  RegistryFile file((dir.path() / "registry.json").string());
  RegistryState whole;
  whole.agents = {agentInfo("a", "ha"), agentInfo("b", "hb"), agentInfo("c", "hc")};
  whole.weights["web"] = 2;
  whole.goneAgents = {"x"};
  ASSERT_TRUE(file.replace(serializeRegistry(whole)).ok());

  RegistryState first;  // adds d, changes a, drops b; the weights change
  first.agents = {agentInfo("d", "hd"), agentInfo("a", "ha2")};
  first.weights["web"] = 3;
  first.goneAgents = {"x"};
  ASSERT_TRUE(file.append(serializeRegistryChange(first, {"b"})).ok());
  RegistryState second;  // drops a and one never recorded; no weights left
  second.goneAgents = {"x", "y"};
  v1::FrameworkInfo framework;
  framework.set_user("u");
  framework.set_name("n");
  framework.mutable_id()->set_value("m-0000");
  second.frameworks.push_back(framework);
  ASSERT_TRUE(file.append(serializeRegistryChange(second, {"a", "never"})).ok());

  Result<RegistryState> loaded = file.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(hostnamesById(*loaded), (std::map<std::string, std::string>{{"c", "hc"}, {"d", "hd"}}));
  EXPECT_TRUE(loaded->weights.empty());
  EXPECT_EQ(loaded->goneAgents, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(loaded->frameworks.size(), 1u);
  EXPECT_EQ(loaded->frameworks[0].id().value(), "m-0000");

  // Replacing drops the changes.
  ASSERT_TRUE(file.replace(serializeRegistry(whole)).ok());
  loaded = file.load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(hostnamesById(*loaded), (std::map<std::string, std::string>{{"a", "ha"}, {"b", "hb"}, {"c", "hc"}}));
}

// A crash while a change is appended leaves part of its line: it was never
// acknowledged, so the registry is the one before it; a damaged change that
// did complete is an error naming it.
TEST(RegistryFileTest, AChangeCutShortByACrashIsDroppedAndADamagedOneIsAnError) {
  testing::TempDir dir;
  RegistryFile file((dir.path() / "registry.json").string());
  RegistryState whole;
  whole.agents = {agentInfo("a", "ha")};
  ASSERT_TRUE(file.replace(serializeRegistry(whole)).ok());
  RegistryState change;
  change.agents = {agentInfo("b", "hb")};
  const std::string line = serializeRegistryChange(change, {});
  ASSERT_TRUE(file.append(line).ok());
  RegistryState torn;
  torn.agents = {agentInfo("c", "hc")};
  ASSERT_TRUE(file.append(serializeRegistryChange(torn, {}).substr(0, 30)).ok());

  Result<RegistryState> loaded = file.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(hostnamesById(*loaded), (std::map<std::string, std::string>{{"a", "ha"}, {"b", "hb"}}));

  auto damaged = dir.write("damaged.json", serializeRegistry(whole) + "{\"agents\": [\n" + line);
  Result<RegistryState> refused = RegistryFile(damaged.string()).load();
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr(damaged.string() + " (change 1)"));
}

TEST(ValidationTest, RolesAndFrameworkInfo) {
  EXPECT_TRUE(validateRole("*").ok());
  EXPECT_TRUE(validateRole("eng/backend").ok());
  EXPECT_FALSE(validateRole("").ok());
  EXPECT_FALSE(validateRole("/a").ok());
  EXPECT_FALSE(validateRole("a/../b").ok());
  EXPECT_FALSE(validateRole("a b").ok());
  EXPECT_FALSE(validateRole("a/*").ok());

  v1::FrameworkInfo info;
  info.set_user("u");
  info.set_name("n");
  google::protobuf::RepeatedPtrField<std::string> none;
  EXPECT_TRUE(validateFrameworkInfo(info, none).ok());
  info.add_roles("a");
  EXPECT_THAT(validateFrameworkInfo(info, none).error().message, HasSubstr("MULTI_ROLE"));
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  EXPECT_TRUE(validateFrameworkInfo(info, none).ok());
  info.add_roles("a");
  EXPECT_THAT(validateFrameworkInfo(info, none).error().message, HasSubstr("twice"));
  info.mutable_roles()->RemoveLast();
  google::protobuf::RepeatedPtrField<std::string> suppressed;
  *suppressed.Add() = "other";
  EXPECT_THAT(validateFrameworkInfo(info, suppressed).error().message, HasSubstr("not one of the framework's roles"));
  info.set_failover_timeout(-1);
  EXPECT_THAT(validateFrameworkInfo(info, none).error().message, HasSubstr("failover_timeout"));
}

TEST(ValidationTest, SchedulerCallEnvelope) {
  v1::scheduler::Call call;
  EXPECT_THAT(validateSchedulerCall(call).error().message, HasSubstr("'type'"));
  call.set_type(v1::scheduler::Call::SUBSCRIBE);
  EXPECT_THAT(validateSchedulerCall(call).error().message, HasSubstr("'subscribe'"));
  call.mutable_subscribe()->mutable_framework_info()->mutable_id()->set_value("a");
  call.mutable_framework_id()->set_value("b");
  EXPECT_THAT(validateSchedulerCall(call).error().message, HasSubstr("differs"));
  call.mutable_framework_id()->set_value("a");
  EXPECT_TRUE(validateSchedulerCall(call).ok());

  v1::scheduler::Call ack;
  ack.set_type(v1::scheduler::Call::ACKNOWLEDGE);
  EXPECT_THAT(validateSchedulerCall(ack).error().message, HasSubstr("framework_id"));
  ack.mutable_framework_id()->set_value("f");
  EXPECT_THAT(validateSchedulerCall(ack).error().message, HasSubstr("acknowledge"));
  ack.mutable_acknowledge()->set_uuid("short");
  EXPECT_THAT(validateSchedulerCall(ack).error().message, HasSubstr("UUID"));
  ack.mutable_acknowledge()->set_uuid(std::string(16, 'x'));
  EXPECT_TRUE(validateSchedulerCall(ack).ok());

  v1::scheduler::Call update;
  update.set_type(v1::scheduler::Call::UPDATE_FRAMEWORK);
  update.mutable_framework_id()->set_value("f");
  update.mutable_update_framework()->mutable_framework_info()->mutable_id()->set_value("g");
  EXPECT_THAT(validateSchedulerCall(update).error().message, HasSubstr("differs"));
}

TEST(ValidationTest, TerminalStates) {
  EXPECT_TRUE(isTerminal(v1::TASK_FINISHED));
  EXPECT_TRUE(isTerminal(v1::TASK_GONE_BY_OPERATOR));
  EXPECT_FALSE(isTerminal(v1::TASK_RUNNING));
  EXPECT_FALSE(isTerminal(v1::TASK_UNREACHABLE));
}

// The HTTP thread that reads a REREGISTER prepares its tasks for the state
// thread: what the master keeps and shows of them carries no secret value
// and the ids of the framework and agent they were reported under.
TEST(AgentCallTest, AReregistrationsTasksLoseTheirSecretValuesAndGetTheirFrameworkAndAgentIds) {
  internal::Call call;
  call.set_type(internal::Call::REREGISTER);
  internal::Call::Reregister* rr = call.mutable_reregistration();
  rr->mutable_agent_info()->mutable_id()->set_value("m-S1");
  internal::FrameworkState* state = rr->add_frameworks();
  state->mutable_framework_info()->mutable_id()->set_value("fw-1");
  v1::Task* task = state->add_tasks();
  task->mutable_task_id()->set_value("t1");
  task->mutable_framework_id()->set_value("another");
  v1::Secret* secret = task->mutable_container()->add_volumes()->mutable_source()->mutable_secret();
  secret->set_type(v1::Secret::VALUE);
  secret->mutable_value()->set_data("hunter2");

  prepareAgentCall(call);

  const v1::Task& prepared = call.reregistration().frameworks(0).tasks(0);
  EXPECT_EQ(prepared.framework_id().value(), "fw-1");
  EXPECT_EQ(prepared.agent_id().value(), "m-S1");
  EXPECT_EQ(prepared.container().volumes(0).source().secret().value().data(), "");
  EXPECT_EQ(prepared.task_id().value(), "t1");
}

}  // namespace
}  // namespace mantle::master
