#include "master/allocator_client.hpp"

#include <glog/logging.h>

namespace mantle::master {

namespace {

template <typename To, typename From>
To convert(const From& from) {
  To to;
  to.ParseFromString(from.SerializeAsString());
  return to;
}

}  // namespace

AllocatorClient::AllocatorClient(std::function<double()> now,
                                 std::function<void(const std::string&, const Error&)> failed)
    : now_(std::move(now)), failed_(std::move(failed)) {}

template <typename Response, typename Request>
Result<Response> AllocatorClient::call(const char* method, const Request& request) {
  Result<Response> result = allocator_->call<Response>(method, request);
  if (!result.ok()) {
    LOG(ERROR) << "allocator " << method << ": " << result.error().message;
    failed_(method, result.error());
  }
  return result;
}

template <typename Request>
bool AllocatorClient::update(const char* method, const Request& request) {
  flushRecoveries();
  return call<module::v1::Empty>(method, request).ok();
}

bool AllocatorClient::addFramework(const module::v1::AllocatorAddFramework& request) {
  return update("add_framework", request);
}

bool AllocatorClient::updateFramework(const module::v1::AllocatorUpdateFramework& request) {
  return update("update_framework", request);
}

bool AllocatorClient::setFrameworkActive(const std::string& frameworkId, bool active) {
  module::v1::AllocatorSetFrameworkActive request;
  request.mutable_framework_id()->set_value(frameworkId);
  request.set_active(active);
  return update("set_framework_active", request);
}

bool AllocatorClient::removeFramework(const std::string& frameworkId) {
  module::v1::AllocatorFrameworkRef request;
  request.mutable_framework_id()->set_value(frameworkId);
  return update("remove_framework", request);
}

bool AllocatorClient::suppress(const module::v1::AllocatorRoles& request) {
  return update("suppress", request);
}

bool AllocatorClient::revive(const module::v1::AllocatorRoles& request) {
  return update("revive", request);
}

bool AllocatorClient::addAgent(const module::v1::AllocatorAddAgent& request) {
  return update("add_agent", request);
}

bool AllocatorClient::updateAgent(const module::v1::AllocatorUpdateAgent& request) {
  return update("update_agent", request);
}

bool AllocatorClient::removeAgent(const std::string& agentId) {
  module::v1::AllocatorAgentRef request;
  request.mutable_agent_id()->set_value(agentId);
  return update("remove_agent", request);
}

bool AllocatorClient::updateWeights(const module::v1::AllocatorUpdateWeights& request) {
  return update("update_weights", request);
}

bool AllocatorClient::updateQuota(const module::v1::AllocatorUpdateQuota& request) {
  return update("update_quota", request);
}

void AllocatorClient::recoverResources(const std::string& frameworkId, const std::string& agentId,
                                       const resources::Resources& resources, double refuseSeconds) {
  if (resources.empty()) return;
  module::v1::AllocatorRecoverResources item;
  item.mutable_framework_id()->set_value(frameworkId);
  item.mutable_agent_id()->set_value(agentId);
  for (const mesos::v1::Resource& r : resources.items()) *item.add_resources() = convert<module::v1::Resource>(r);
  item.set_refuse_seconds(refuseSeconds);
  item.set_now_seconds(now_());
  pendingRecoveries_.push_back(std::move(item));
}

void AllocatorClient::flushRecoveries() {
  if (pendingRecoveries_.empty() || !allocator_) return;
  module::v1::AllocatorRecoverResourcesBatch batch;
  for (auto& item : pendingRecoveries_) *batch.add_items() = std::move(item);
  pendingRecoveries_.clear();
  Result<module::v1::Empty> result = allocator_->call<module::v1::Empty>("recover_resources_batch", batch);
  if (!result.ok() && result.error().code == StatusCode::kUnimplemented) {
    for (const auto& item : batch.items()) (void)call<module::v1::Empty>("recover_resources", item);
    return;
  }
  if (!result.ok()) {
    LOG(ERROR) << "allocator recover_resources_batch: " << result.error().message;
    failed_("recover_resources_batch", result.error());
  }
}

Result<module::v1::AllocateResponse> AllocatorClient::allocate() {
  flushRecoveries();
  module::v1::AllocateRequest request;
  request.set_now_seconds(now_());
  return call<module::v1::AllocateResponse>("allocate", request);
}

Result<module::v1::ExplainResponse> AllocatorClient::explain(const module::v1::ExplainRequest& request) {
  flushRecoveries();
  return allocator_->call<module::v1::ExplainResponse>("explain", request);
}

}  // namespace mantle::master
