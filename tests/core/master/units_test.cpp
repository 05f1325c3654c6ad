// Pieces of the master that need no process: the registry file and the
// stateless call checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

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
  ASSERT_TRUE(file.store(state).ok());
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
  ASSERT_TRUE(file.store(state).ok());

  Result<RegistryState> loaded = file.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->schedule.SerializeAsString(), state.schedule.SerializeAsString());
  ASSERT_EQ(loaded->machines.size(), 1u);
  EXPECT_EQ(loaded->machines[0].SerializeAsString(), machine.SerializeAsString());

  // A registry without maintenance (as older masters wrote it) loads empty.
  ASSERT_TRUE(file.store(RegistryState{}).ok());
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
  EXPECT_TRUE(file.store(RegistryState{}).ok());
  EXPECT_TRUE(file.load().ok());
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

}  // namespace
}  // namespace mantle::master
