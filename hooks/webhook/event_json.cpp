#include "event_json.hpp"

#include <json/value.h>
#include <json/writer.h>

namespace mantle::hooks::webhook {

namespace v1 = ::mantle::module::v1;

namespace {

Json::Value labelsJson(const v1::Labels& labels) {
  Json::Value out(Json::arrayValue);
  for (const v1::Label& label : labels.labels()) {
    Json::Value item(Json::objectValue);
    item["key"] = label.key();
    item["value"] = label.value();
    out.append(item);
  }
  return out;
}

Json::Value taskJson(const v1::TaskStatus& status) {
  Json::Value out(Json::objectValue);
  out["task_id"] = status.task_id().value();
  out["state"] = v1::TaskState_Name(status.state());
  if (status.has_message()) out["message"] = status.message();
  if (status.has_source()) out["source"] = v1::TaskStatus::Source_Name(status.source());
  if (status.has_reason()) out["reason"] = v1::TaskStatus::Reason_Name(status.reason());
  if (status.has_agent_id()) out["agent_id"] = status.agent_id().value();
  if (status.has_executor_id()) out["executor_id"] = status.executor_id().value();
  if (status.has_timestamp()) out["timestamp"] = status.timestamp();
  if (status.has_labels()) out["labels"] = labelsJson(status.labels());
  return out;
}

Json::Value agentJson(const v1::AgentInfo& agent) {
  Json::Value out(Json::objectValue);
  if (agent.has_id()) out["id"] = agent.id().value();
  out["hostname"] = agent.hostname();
  out["port"] = agent.port();
  return out;
}

Json::Value frameworkJson(const v1::FrameworkInfo& framework) {
  Json::Value out(Json::objectValue);
  if (framework.has_id()) out["id"] = framework.id().value();
  out["name"] = framework.name();
  out["user"] = framework.user();
  Json::Value roles(Json::arrayValue);
  for (const std::string& role : framework.roles()) roles.append(role);
  out["roles"] = roles;
  if (framework.has_principal()) out["principal"] = framework.principal();
  if (framework.has_hostname()) out["hostname"] = framework.hostname();
  return out;
}

std::string write(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

Json::Value envelope(const std::string& type, std::uint64_t sequence, const std::string& instance) {
  Json::Value out(Json::objectValue);
  out["type"] = type;
  out["sequence"] = static_cast<Json::UInt64>(sequence);
  out["instance"] = instance;
  return out;
}

}  // namespace

std::string eventTypeName(v1::StateEvent::Type type) {
  return v1::StateEvent::Type_Name(type);
}

std::string stateEventJson(const v1::StateEvent& event, std::uint64_t sequence, const std::string& instance) {
  Json::Value out = envelope(eventTypeName(event.type()), sequence, instance);
  if (event.has_timestamp()) out["timestamp"] = event.timestamp();
  if (event.has_framework_id()) out["framework_id"] = event.framework_id().value();
  if (event.has_task_status()) out["task"] = taskJson(event.task_status());
  if (event.has_agent_info()) out["agent"] = agentJson(event.agent_info());
  if (event.has_framework_info()) out["framework"] = frameworkJson(event.framework_info());
  return write(out);
}

std::string executorRemovedJson(const v1::ExecutorRemoved& removed, std::uint64_t sequence,
                                const std::string& instance, double timestamp) {
  Json::Value out = envelope(kExecutorRemovedType, sequence, instance);
  out["timestamp"] = timestamp;
  if (removed.framework_info().has_id()) out["framework_id"] = removed.framework_info().id().value();
  if (removed.has_framework_info()) out["framework"] = frameworkJson(removed.framework_info());
  Json::Value executor(Json::objectValue);
  executor["executor_id"] = removed.executor_info().executor_id().value();
  if (removed.executor_info().has_name()) executor["name"] = removed.executor_info().name();
  if (removed.executor_info().has_labels()) executor["labels"] = labelsJson(removed.executor_info().labels());
  out["executor"] = executor;
  return write(out);
}

}  // namespace mantle::hooks::webhook
