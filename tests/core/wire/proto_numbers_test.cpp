// The field numbers and enum values of core/proto match the Mesos v1 wire
// facts (shared/reference/mesos-v1-wire.md); a protobuf client of Mesos
// depends on every one of them.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <string>

#include "mesos/v1/agent/agent.pb.h"
#include "mesos/v1/executor/executor.pb.h"
#include "mesos/v1/master/master.pb.h"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/quota/quota.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;

struct FieldFact {
  const char* message;
  const char* field;
  int number;
};

struct EnumFact {
  const char* enumType;
  const char* value;
  int number;
};

void expectFields(const std::initializer_list<FieldFact>& facts) {
  for (const FieldFact& fact : facts) {
    const Descriptor* descriptor = DescriptorPool::generated_pool()->FindMessageTypeByName(fact.message);
    ASSERT_NE(descriptor, nullptr) << fact.message;
    const auto* field = descriptor->FindFieldByName(fact.field);
    ASSERT_NE(field, nullptr) << fact.message << "." << fact.field;
    EXPECT_EQ(field->number(), fact.number) << fact.message << "." << fact.field;
  }
}

void expectEnums(const std::initializer_list<EnumFact>& facts) {
  for (const EnumFact& fact : facts) {
    const EnumDescriptor* descriptor = DescriptorPool::generated_pool()->FindEnumTypeByName(fact.enumType);
    ASSERT_NE(descriptor, nullptr) << fact.enumType;
    const auto* value = descriptor->FindValueByName(fact.value);
    ASSERT_NE(value, nullptr) << fact.enumType << "." << fact.value;
    EXPECT_EQ(value->number(), fact.number) << fact.enumType << "." << fact.value;
  }
}

TEST(WireProtoNumbersTest, SchedulerApi) {
  // Force the generated files to register their descriptors.
  mesos::v1::scheduler::Call call;
  (void)call;
  expectFields({
      {"mesos.v1.scheduler.Call", "framework_id", 1},
      {"mesos.v1.scheduler.Call", "type", 2},
      {"mesos.v1.scheduler.Call", "subscribe", 3},
      {"mesos.v1.scheduler.Call", "accept", 4},
      {"mesos.v1.scheduler.Call", "decline", 5},
      {"mesos.v1.scheduler.Call", "kill", 6},
      {"mesos.v1.scheduler.Call", "shutdown", 7},
      {"mesos.v1.scheduler.Call", "acknowledge", 8},
      {"mesos.v1.scheduler.Call", "reconcile", 9},
      {"mesos.v1.scheduler.Call", "message", 10},
      {"mesos.v1.scheduler.Call", "request", 11},
      {"mesos.v1.scheduler.Call", "accept_inverse_offers", 13},
      {"mesos.v1.scheduler.Call", "decline_inverse_offers", 14},
      {"mesos.v1.scheduler.Call", "revive", 15},
      {"mesos.v1.scheduler.Call", "suppress", 16},
      {"mesos.v1.scheduler.Call", "acknowledge_operation_status", 17},
      {"mesos.v1.scheduler.Call", "reconcile_operations", 18},
      {"mesos.v1.scheduler.Call", "update_framework", 19},
      {"mesos.v1.scheduler.Call.Subscribe", "offer_constraints", 3},
      {"mesos.v1.scheduler.Call.Accept", "filters", 3},
      {"mesos.v1.scheduler.Call.Acknowledge", "uuid", 3},
      {"mesos.v1.scheduler.Call.AcknowledgeOperationStatus", "operation_id", 4},
      {"mesos.v1.scheduler.Call.Request", "requests", 1},
      {"mesos.v1.scheduler.Event", "type", 1},
      {"mesos.v1.scheduler.Event", "subscribed", 2},
      {"mesos.v1.scheduler.Event", "offers", 3},
      {"mesos.v1.scheduler.Event", "rescind", 4},
      {"mesos.v1.scheduler.Event", "update", 5},
      {"mesos.v1.scheduler.Event", "message", 6},
      {"mesos.v1.scheduler.Event", "failure", 7},
      {"mesos.v1.scheduler.Event", "error", 8},
      {"mesos.v1.scheduler.Event", "inverse_offers", 9},
      {"mesos.v1.scheduler.Event", "rescind_inverse_offer", 10},
      {"mesos.v1.scheduler.Event", "update_operation_status", 11},
      {"mesos.v1.scheduler.Event.Subscribed", "master_info", 3},
      {"mesos.v1.scheduler.AttributeConstraint.Predicate", "text_not_matches", 6},
  });
  expectEnums({
      {"mesos.v1.scheduler.Call.Type", "ACCEPT_INVERSE_OFFERS", 13},
      {"mesos.v1.scheduler.Call.Type", "ACKNOWLEDGE_OPERATION_STATUS", 15},
      {"mesos.v1.scheduler.Call.Type", "UPDATE_FRAMEWORK", 17},
      {"mesos.v1.scheduler.Event.Type", "HEARTBEAT", 8},
      {"mesos.v1.scheduler.Event.Type", "UPDATE_OPERATION_STATUS", 11},
  });
}

TEST(WireProtoNumbersTest, ExecutorApi) {
  mesos::v1::executor::Call call;
  (void)call;
  expectFields({
      {"mesos.v1.executor.Call", "executor_id", 1},
      {"mesos.v1.executor.Call", "framework_id", 2},
      {"mesos.v1.executor.Call", "type", 3},
      {"mesos.v1.executor.Call", "subscribe", 4},
      {"mesos.v1.executor.Call", "update", 5},
      {"mesos.v1.executor.Call", "message", 6},
      {"mesos.v1.executor.Call.Message", "data", 2},
      {"mesos.v1.executor.Event", "subscribed", 2},
      {"mesos.v1.executor.Event", "acknowledged", 3},
      {"mesos.v1.executor.Event", "launch", 4},
      {"mesos.v1.executor.Event", "kill", 5},
      {"mesos.v1.executor.Event", "message", 6},
      {"mesos.v1.executor.Event", "error", 7},
      {"mesos.v1.executor.Event", "launch_group", 8},
      {"mesos.v1.executor.Event.Subscribed", "container_id", 4},
  });
  expectEnums({
      {"mesos.v1.executor.Call.Type", "HEARTBEAT", 4},
      {"mesos.v1.executor.Event.Type", "LAUNCH_GROUP", 8},
      {"mesos.v1.executor.Event.Type", "HEARTBEAT", 9},
  });
}

TEST(WireProtoNumbersTest, OperatorApis) {
  mesos::v1::master::Call master;
  mesos::v1::agent::Call agent;
  (void)master;
  (void)agent;
  expectFields({
      {"mesos.v1.master.Call", "update_weights", 6},
      {"mesos.v1.master.Call", "reserve_resources", 7},
      {"mesos.v1.master.Call", "unreserve_resources", 8},
      {"mesos.v1.master.Call", "teardown", 16},
      {"mesos.v1.master.Call", "mark_agent_gone", 17},
      {"mesos.v1.master.Call", "update_quota", 20},
      {"mesos.v1.master.Call", "drain_agent", 21},
      {"mesos.v1.master.Call", "deactivate_agent", 22},
      {"mesos.v1.master.Call", "reactivate_agent", 23},
      {"mesos.v1.master.Response", "get_state", 9},
      {"mesos.v1.master.Response", "get_agents", 10},
      {"mesos.v1.master.Response", "get_roles", 14},
      {"mesos.v1.master.Response", "get_weights", 15},
      {"mesos.v1.master.Response", "get_master", 16},
      {"mesos.v1.master.Response", "get_quota", 19},
      {"mesos.v1.master.Response", "get_operations", 20},
      {"mesos.v1.master.Response.GetAgents.Agent", "drain_info", 13},
      {"mesos.v1.master.Response.GetFrameworks.Framework", "offer_constraints", 12},
      {"mesos.v1.master.Response.GetTasks", "unreachable_tasks", 5},
      {"mesos.v1.master.Event", "framework_removed", 9},
      {"mesos.v1.master.Event.TaskUpdated", "state", 3},
      {"mesos.v1.agent.Call", "get_containers", 20},
      {"mesos.v1.agent.Response", "get_agent", 15},
      {"mesos.v1.agent.Response", "get_tasks", 13},
      {"mesos.v1.quota.QuotaConfig", "limits", 3},
      {"mesos.v1.quota.QuotaStatus", "configs", 2},
  });
  expectEnums({
      {"mesos.v1.master.Call.Type", "GET_MASTER", 17},
      {"mesos.v1.master.Call.Type", "SUBSCRIBE", 18},
      {"mesos.v1.master.Call.Type", "GET_QUOTA", 28},
      {"mesos.v1.master.Call.Type", "MARK_AGENT_GONE", 32},
      {"mesos.v1.master.Call.Type", "UPDATE_QUOTA", 36},
      {"mesos.v1.master.Call.Type", "REACTIVATE_AGENT", 39},
      {"mesos.v1.master.Response.Type", "GET_MASTER", 15},
      {"mesos.v1.master.Response.Type", "GET_QUOTA", 18},
      {"mesos.v1.master.Event.Type", "HEARTBEAT", 9},
      {"mesos.v1.agent.Call.Type", "GET_AGENT", 20},
      {"mesos.v1.agent.Response.Type", "GET_AGENT", 14},
  });
}

TEST(WireProtoNumbersTest, CoreMessages) {
  mesos::v1::TaskInfo task;
  (void)task;
  expectFields({
      {"mesos.v1.FrameworkInfo", "roles", 12},
      {"mesos.v1.FrameworkInfo", "offer_filters", 13},
      {"mesos.v1.Resource", "allocation_info", 11},
      {"mesos.v1.Resource", "provider_id", 12},
      {"mesos.v1.Resource", "reservations", 13},
      {"mesos.v1.Resource.ReservationInfo", "type", 4},
      {"mesos.v1.Offer", "allocation_info", 10},
      {"mesos.v1.Offer", "domain", 11},
      {"mesos.v1.Offer.Operation", "launch_group", 7},
      {"mesos.v1.Offer.Operation", "id", 12},
      {"mesos.v1.TaskInfo", "kill_policy", 12},
      {"mesos.v1.TaskInfo", "max_completion_time", 14},
      {"mesos.v1.TaskInfo", "limits", 15},
      {"mesos.v1.Task", "limits", 17},
      {"mesos.v1.TaskStatus", "limitation", 16},
      {"mesos.v1.TaskStatus", "check_status", 15},
      {"mesos.v1.ExecutorInfo", "type", 15},
      {"mesos.v1.HealthCheck", "tcp", 9},
      {"mesos.v1.ResourceStatistics", "mem_total_bytes", 36},
      {"mesos.v1.ResourceStatistics", "processes", 30},
      {"mesos.v1.MasterInfo", "capabilities", 9},
      {"mesos.v1.AgentInfo", "domain", 10},
  });
  expectEnums({
      {"mesos.v1.TaskState", "TASK_STAGING", 6},
      {"mesos.v1.TaskState", "TASK_UNKNOWN", 13},
      {"mesos.v1.TaskStatus.Reason", "REASON_AGENT_DRAINING", 34},
      {"mesos.v1.FrameworkInfo.Capability.Type", "REGION_AWARE", 8},
      {"mesos.v1.AgentInfo.Capability.Type", "TASK_RESOURCE_LIMITS", 8},
      {"mesos.v1.MasterInfo.Capability.Type", "QUOTA_V2", 3},
      {"mesos.v1.Offer.Operation.Type", "DESTROY_DISK", 14},
      {"mesos.v1.OperationState", "OPERATION_UNKNOWN", 9},
  });
}

}  // namespace
