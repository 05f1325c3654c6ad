// The ACCEPT checks of master/validation (offers, tasks, task groups,
// reservation and volume operations) on their own, without a master.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "master/validation.hpp"

namespace mantle::master::validation {
namespace {

namespace v1 = ::mesos::v1;
using resources::Resources;
using ::testing::HasSubstr;

v1::Resource scalar(const std::string& name, double value, const std::string& allocatedTo = "") {
  v1::Resource r;
  r.set_name(name);
  r.set_type(v1::Value::SCALAR);
  r.mutable_scalar()->set_value(value);
  if (!allocatedTo.empty()) r.mutable_allocation_info()->set_role(allocatedTo);
  return r;
}

v1::Resource reserved(v1::Resource r, const std::string& role,
                      v1::Resource::ReservationInfo::Type type = v1::Resource::ReservationInfo::DYNAMIC) {
  v1::Resource::ReservationInfo* reservation = r.add_reservations();
  reservation->set_type(type);
  reservation->set_role(role);
  return r;
}

Resources resourcesOf(std::initializer_list<v1::Resource> list) {
  google::protobuf::RepeatedPtrField<v1::Resource> field(list.begin(), list.end());
  Result<Resources> out = Resources::from(field);
  EXPECT_TRUE(out.ok()) << out.error().message;
  return *out;
}

OfferEntry offer(const std::string& framework, const std::string& agent) {
  OfferEntry entry;
  entry.frameworkId = framework;
  entry.agentId = agent;
  return entry;
}

TEST(OfferValidationTest, AcceptsOutstandingOffersOfTheFrameworkOnOneAgentAndNamesTheAgent) {
  std::map<std::string, OfferEntry> outstanding{
      {"o1", offer("f1", "a1")}, {"o2", offer("f1", "a1")}, {"o3", offer("f1", "a2")}, {"o4", offer("f2", "a1")}};
  auto ids = [](std::initializer_list<const char*> values) {
    google::protobuf::RepeatedPtrField<v1::OfferID> out;
    for (const char* value : values) out.Add()->set_value(value);
    return out;
  };
  Result<std::string> agent = offers(ids({"o1", "o2"}), "f1", outstanding);
  ASSERT_TRUE(agent.ok()) << agent.error().message;
  EXPECT_EQ(*agent, "a1");

  EXPECT_THAT(offers(ids({}), "f1", outstanding).error().message, HasSubstr("No offers were given"));
  EXPECT_THAT(offers(ids({"o1", "o1"}), "f1", outstanding).error().message, HasSubstr("appears more than once"));
  EXPECT_THAT(offers(ids({"gone"}), "f1", outstanding).error().message, HasSubstr("no longer valid"));
  EXPECT_THAT(offers(ids({"o4"}), "f1", outstanding).error().message, HasSubstr("another framework"));
  EXPECT_THAT(offers(ids({"o1", "o3"}), "f1", outstanding).error().message, HasSubstr("different agents"));
  EXPECT_EQ(offers(ids({"o4"}), "f1", outstanding).error().code, StatusCode::kInvalidArgument);
}

class TaskValidationTest : public ::testing::Test {
 protected:
  v1::TaskInfo commandTask(const std::string& id, double cpus) {
    v1::TaskInfo task;
    task.set_name(id);
    task.mutable_task_id()->set_value(id);
    task.mutable_agent_id()->set_value(agentId_);
    task.mutable_command()->set_value("sleep 1");
    *task.add_resources() = scalar("cpus", cpus);
    return task;
  }
  LaunchContext context() {
    return LaunchContext{frameworkId_, agentId_, roles_, tasks_, unreachable_, launched_, executors_};
  }

  std::string frameworkId_ = "f1";
  std::string agentId_ = "a1";
  std::set<std::string> roles_{"web"};
  std::map<std::string, v1::Task> tasks_;
  std::map<std::string, v1::Task> unreachable_;
  std::set<std::string> launched_;
  std::map<std::string, v1::ExecutorInfo> executors_;
  Resources available_ = resourcesOf({scalar("cpus", 2, "web"), scalar("mem", 256, "web")});
};

TEST_F(TaskValidationTest, AValidTaskGetsTheOffersRoleAndConsumesItsResources) {
  Result<LaunchableTask> checked = task(commandTask("t1", 1), nullptr, available_, context());
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  ASSERT_EQ(checked->task.resources_size(), 1);
  EXPECT_EQ(checked->task.resources(0).allocation_info().role(), "web");
  EXPECT_EQ(checked->consumed.scalar("cpus"), 1);
}

TEST_F(TaskValidationTest, RefusesTasksThatCannotLaunchSayingWhy) {
  auto refused = [&](const v1::TaskInfo& t) {
    Result<LaunchableTask> checked = task(t, nullptr, available_, context());
    EXPECT_FALSE(checked.ok());
    return checked.ok() ? std::string() : checked.error().message;
  };
  EXPECT_THAT(refused(commandTask("a/b", 1)), HasSubstr("task id"));
  tasks_["running"];
  EXPECT_THAT(refused(commandTask("running", 1)), HasSubstr("already exists"));
  launched_.insert("twice");
  EXPECT_THAT(refused(commandTask("twice", 1)), HasSubstr("appears more than once"));
  v1::TaskInfo elsewhere = commandTask("t", 1);
  elsewhere.mutable_agent_id()->set_value("a2");
  EXPECT_THAT(refused(elsewhere), HasSubstr("offers are for agent 'a1'"));
  v1::TaskInfo both = commandTask("t", 1);
  both.mutable_executor()->mutable_executor_id()->set_value("e");
  EXPECT_THAT(refused(both), HasSubstr("exactly one of 'command' or 'executor'"));
  v1::TaskInfo empty = commandTask("t", 1);
  empty.mutable_command()->set_value("");
  EXPECT_THAT(refused(empty), HasSubstr("'command.value' is empty"));
  v1::TaskInfo nothing = commandTask("t", 1);
  nothing.clear_resources();
  EXPECT_THAT(refused(nothing), HasSubstr("uses no resources"));
  v1::TaskInfo limited = commandTask("t", 1);
  (*limited.mutable_limits())["cpus"].set_value(0.5);
  EXPECT_THAT(refused(limited), HasSubstr("limit for 'cpus' is below its request"));
  EXPECT_THAT(refused(commandTask("t", 3)), HasSubstr("more resources"));
  roles_ = {"web", "db"};
  EXPECT_THAT(refused(commandTask("t", 1)), HasSubstr("several roles"));
}

TEST_F(TaskValidationTest, AnExecutorMustMatchTheOneRunningUnderItsId) {
  v1::TaskInfo t = commandTask("t", 1);
  t.clear_command();
  v1::ExecutorInfo* executor = t.mutable_executor();
  executor->mutable_executor_id()->set_value("e1");
  executor->mutable_command()->set_value("run-executor");
  *executor->add_resources() = scalar("mem", 32);
  // A new executor: its resources are consumed too, with the framework id.
  Result<LaunchableTask> fresh = task(t, nullptr, available_, context());
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_EQ(fresh->consumed.scalar("mem"), 32);
  EXPECT_EQ(fresh->task.executor().framework_id().value(), "f1");
  // The same one again: nothing more consumed.
  executors_["e1"] = fresh->task.executor();
  Result<LaunchableTask> again = task(t, nullptr, available_, context());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->consumed.scalar("mem"), 0);
  // Another command under the same id: refused.
  t.mutable_executor()->mutable_command()->set_value("other");
  Result<LaunchableTask> differs = task(t, nullptr, available_, context());
  ASSERT_FALSE(differs.ok());
  EXPECT_THAT(differs.error().message, HasSubstr("differs from the one already running"));
}

TEST_F(TaskValidationTest, TaskGroupsNeedADefaultExecutorAndTasksThatKeepIt) {
  v1::Offer::Operation::LaunchGroup group;
  group.mutable_executor()->mutable_executor_id()->set_value("e1");
  group.mutable_executor()->set_type(v1::ExecutorInfo::CUSTOM);
  EXPECT_THAT(taskGroup(group).error().message, HasSubstr("DEFAULT"));
  group.mutable_executor()->set_type(v1::ExecutorInfo::DEFAULT);
  EXPECT_THAT(taskGroup(group).error().message, HasSubstr("empty"));
  *group.mutable_task_group()->add_tasks() = commandTask("t1", 1);
  EXPECT_TRUE(taskGroup(group).ok());
  group.mutable_executor()->mutable_executor_id()->set_value("");
  EXPECT_THAT(taskGroup(group).error().message, HasSubstr("executor id"));

  v1::TaskInfo member = commandTask("t1", 1);
  member.mutable_executor()->mutable_executor_id()->set_value("other");
  Result<LaunchableTask> checked = task(member, &group.executor(), available_, context());
  ASSERT_FALSE(checked.ok());
  EXPECT_THAT(checked.error().message, HasSubstr("other than the group's"));
}

TEST_F(TaskValidationTest, AGeneralCheckIsRefusedWhereMantlesOwnExecutorWouldHaveToRunIt) {
  v1::TaskInfo checked = commandTask("t1", 1);
  checked.mutable_check()->set_type(v1::CheckInfo::COMMAND);
  Result<LaunchableTask> command = task(checked, nullptr, available_, context());
  ASSERT_FALSE(command.ok());
  EXPECT_THAT(command.error().message, HasSubstr("Task 't1' sets 'check'"));

  v1::Offer::Operation::LaunchGroup group;
  group.mutable_executor()->mutable_executor_id()->set_value("e1");
  group.mutable_executor()->set_type(v1::ExecutorInfo::DEFAULT);
  EXPECT_FALSE(task(checked, &group.executor(), available_, context()).ok());

  // A custom executor gets the field and runs it itself.
  v1::TaskInfo custom = checked;
  custom.clear_command();
  custom.mutable_executor()->mutable_executor_id()->set_value("mine");
  custom.mutable_executor()->mutable_command()->set_value("./my-executor");
  Result<LaunchableTask> accepted = task(custom, nullptr, available_, context());
  EXPECT_TRUE(accepted.ok()) << accepted.error().message;
}

TEST_F(TaskValidationTest, AHealthCheckBreakingMesosRulesIsRefusedNamingTheField) {
  auto checkedWith = [&](const v1::HealthCheck& check) {
    v1::TaskInfo t = commandTask("t1", 1);
    *t.mutable_health_check() = check;
    return task(t, nullptr, available_, context());
  };
  auto refused = [&](const v1::HealthCheck& check) {
    Result<LaunchableTask> checked = checkedWith(check);
    EXPECT_FALSE(checked.ok());
    return checked.ok() ? std::string() : checked.error().message;
  };
  v1::HealthCheck http;
  http.set_type(v1::HealthCheck::HTTP);
  http.mutable_http()->set_port(8080);
  http.mutable_http()->set_path("/ready");
  for (const std::string scheme : {"http", "https"}) {
    http.mutable_http()->set_scheme(scheme);
    Result<LaunchableTask> accepted = checkedWith(http);
    EXPECT_TRUE(accepted.ok()) << scheme << ": " << accepted.error().message;
  }
  for (const std::string scheme : {"ftp", "HTTP", "", "http://evil:1/"}) {
    http.mutable_http()->set_scheme(scheme);
    const std::string message = refused(http);
    EXPECT_THAT(message, HasSubstr("Task 't1' has an invalid health check"));
    EXPECT_THAT(message, HasSubstr("health_check.http.scheme: unsupported scheme '" + scheme + "'"));
  }
  http.mutable_http()->set_scheme("http");
  http.mutable_http()->set_path("ready");
  EXPECT_THAT(refused(http), HasSubstr("health_check.http.path: 'ready' does not start with '/'"));

  v1::HealthCheck missing;
  missing.set_type(v1::HealthCheck::TCP);
  EXPECT_THAT(refused(missing), HasSubstr("health_check.tcp"));
  missing.set_type(v1::HealthCheck::HTTP);
  EXPECT_THAT(refused(missing), HasSubstr("health_check.http"));
  missing.set_type(v1::HealthCheck::COMMAND);
  EXPECT_THAT(refused(missing), HasSubstr("health_check.command.value"));
  EXPECT_THAT(refused(v1::HealthCheck()), HasSubstr("health_check.type"));

  v1::HealthCheck tcp;
  tcp.mutable_tcp()->set_port(80);  // no type: the one it sets
  EXPECT_TRUE(checkedWith(tcp).ok());
  tcp.set_interval_seconds(-1);
  EXPECT_THAT(refused(tcp), HasSubstr("health_check.interval_seconds is negative"));
}

TEST(OperationValidationTest, ReserveConsumesUnreservedAndProducesTheReservation) {
  v1::Offer::Operation op;
  op.set_type(v1::Offer::Operation::RESERVE);
  *op.mutable_reserve()->add_resources() = reserved(scalar("cpus", 1), "web");
  Result<Conversion> conversion = operation(op, nullptr);
  ASSERT_TRUE(conversion.ok()) << conversion.error().message;
  EXPECT_EQ(conversion->consumed.unreserved().scalar("cpus"), 1);
  EXPECT_EQ(conversion->produced.reservedTo("web").scalar("cpus"), 1);

  v1::Offer::Operation unreserve;
  unreserve.set_type(v1::Offer::Operation::UNRESERVE);
  *unreserve.mutable_unreserve()->add_resources() = reserved(scalar("cpus", 1), "web");
  Result<Conversion> back = operation(unreserve, nullptr);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->produced.unreserved().scalar("cpus"), 1);
}

TEST(OperationValidationTest, ASharedVolumeIsMadeOfPlainReservedDiskAndGoesBackToIt) {
  v1::Resource volume = reserved(scalar("disk", 64), "web");
  volume.mutable_disk()->mutable_persistence()->set_id("common");
  volume.mutable_disk()->mutable_volume()->set_container_path("common");
  volume.mutable_disk()->mutable_volume()->set_mode(v1::Volume::RW);
  volume.mutable_shared();
  v1::Offer::Operation create;
  create.set_type(v1::Offer::Operation::CREATE);
  *create.mutable_create()->add_volumes() = volume;
  Result<Conversion> conversion = operation(create, nullptr);
  ASSERT_TRUE(conversion.ok()) << conversion.error().message;
  ASSERT_EQ(conversion->consumed.items().size(), 1u);
  EXPECT_FALSE(conversion->consumed.items()[0].has_shared());
  EXPECT_FALSE(conversion->consumed.items()[0].has_disk());
  EXPECT_TRUE(conversion->produced.items()[0].has_shared());

  v1::Offer::Operation destroy;
  destroy.set_type(v1::Offer::Operation::DESTROY);
  *destroy.mutable_destroy()->add_volumes() = volume;
  Result<Conversion> back = operation(destroy, nullptr);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_FALSE(back->produced.items()[0].has_shared());
  EXPECT_EQ(back->produced.reservedTo("web").scalar("disk"), 64);
}

TEST(OperationValidationTest, RefusesOperationsThatCannotApplySayingWhy) {
  auto refused = [](const v1::Offer::Operation& op, const std::set<std::string>* roles = nullptr) {
    Result<Conversion> conversion = operation(op, roles);
    EXPECT_FALSE(conversion.ok());
    return conversion.ok() ? std::string() : conversion.error().message;
  };
  v1::Offer::Operation empty;
  empty.set_type(v1::Offer::Operation::RESERVE);
  empty.mutable_reserve();
  EXPECT_THAT(refused(empty), HasSubstr("names no resources"));
  v1::Offer::Operation plain = empty;
  *plain.mutable_reserve()->add_resources() = scalar("cpus", 1);
  EXPECT_THAT(refused(plain), HasSubstr("is not reserved"));
  v1::Offer::Operation fixed = empty;
  *fixed.mutable_reserve()->add_resources() = reserved(scalar("cpus", 1), "web", v1::Resource::ReservationInfo::STATIC);
  EXPECT_THAT(refused(fixed), HasSubstr("dynamic reservations"));
  v1::Offer::Operation volume;
  volume.set_type(v1::Offer::Operation::CREATE);
  *volume.mutable_create()->add_volumes() = reserved(scalar("disk", 64), "web");
  EXPECT_THAT(refused(volume), HasSubstr("is not a persistent volume"));
  v1::Resource bare = reserved(scalar("disk", 64), "web");
  bare.mutable_disk()->mutable_persistence()->set_id("data");
  v1::Offer::Operation noPath = volume;
  *noPath.mutable_create()->mutable_volumes(0) = bare;
  EXPECT_THAT(refused(noPath), HasSubstr("persistent volume 'data' needs 'disk.volume'"));
  bare.mutable_disk()->mutable_volume()->set_container_path("data");
  bare.mutable_disk()->mutable_volume()->set_mode(v1::Volume::RO);
  v1::Offer::Operation readOnly = volume;
  *readOnly.mutable_create()->mutable_volumes(0) = bare;
  EXPECT_THAT(refused(readOnly), HasSubstr("read-only persistent volumes are not supported"));
  v1::Offer::Operation launch;
  launch.set_type(v1::Offer::Operation::LAUNCH);
  EXPECT_THAT(refused(launch), HasSubstr("unsupported operation LAUNCH"));
  std::set<std::string> roles{"web", "db"};
  v1::Offer::Operation unallocated = empty;
  *unallocated.mutable_reserve()->add_resources() = reserved(scalar("cpus", 1), "web");
  EXPECT_THAT(refused(unallocated, &roles), HasSubstr("several roles"));
}

}  // namespace
}  // namespace mantle::master::validation
