#include "master/allocator_client.hpp"

#include <glog/logging.h>

#include "mantle/common/convert.hpp"

namespace mantle::master {

AllocatorClient::AllocatorClient(std::function<double()> now, std::function<void(const Error&)> failed)
    : now_(std::move(now)), failed_(std::move(failed)) {}

template <typename Response, typename Request>
Result<Response> AllocatorClient::call(Method<Response, Request> method, const Request& request) {
  Result<Response> result = (modules::AllocatorClient(*allocator_).*method)(request);
  if (!result.ok()) {
    // The error names the module and the method.
    LOG(ERROR) << "allocator: " << result.error().message;
    failed_(result.error());
  }
  return result;
}

template <typename Request>
bool AllocatorClient::update(Method<module::v1::Empty, Request> method, const Request& request) {
  flushRecoveries();
  return call(method, request).ok();
}

bool AllocatorClient::addFramework(const module::v1::AllocatorAddFramework& request) {
  return update(&modules::AllocatorClient::addFramework, request);
}

bool AllocatorClient::updateFramework(const module::v1::AllocatorUpdateFramework& request) {
  return update(&modules::AllocatorClient::updateFramework, request);
}

bool AllocatorClient::setFrameworkActive(const std::string& frameworkId, bool active) {
  module::v1::AllocatorSetFrameworkActive request;
  request.mutable_framework_id()->set_value(frameworkId);
  request.set_active(active);
  return update(&modules::AllocatorClient::setFrameworkActive, request);
}

bool AllocatorClient::removeFramework(const std::string& frameworkId) {
  module::v1::AllocatorFrameworkRef request;
  request.mutable_framework_id()->set_value(frameworkId);
  return update(&modules::AllocatorClient::removeFramework, request);
}

bool AllocatorClient::suppress(const module::v1::AllocatorRoles& request) {
  return update(&modules::AllocatorClient::suppress, request);
}

bool AllocatorClient::revive(const module::v1::AllocatorRoles& request) {
  return update(&modules::AllocatorClient::revive, request);
}

bool AllocatorClient::addAgent(const module::v1::AllocatorAddAgent& request) {
  return update(&modules::AllocatorClient::addAgent, request);
}

bool AllocatorClient::updateAgent(const module::v1::AllocatorUpdateAgent& request) {
  return update(&modules::AllocatorClient::updateAgent, request);
}

bool AllocatorClient::removeAgent(const std::string& agentId) {
  module::v1::AllocatorAgentRef request;
  request.mutable_agent_id()->set_value(agentId);
  return update(&modules::AllocatorClient::removeAgent, request);
}

bool AllocatorClient::updateWeights(const module::v1::AllocatorUpdateWeights& request) {
  return update(&modules::AllocatorClient::updateWeights, request);
}

bool AllocatorClient::updateQuota(const module::v1::AllocatorUpdateQuota& request) {
  return update(&modules::AllocatorClient::updateQuota, request);
}

void AllocatorClient::recoverResources(const std::string& frameworkId, const std::string& agentId,
                                       const resources::Resources& resources, double refuseSeconds) {
  if (resources.empty()) return;
  if (pending_ == nullptr) {
    pending_ = google::protobuf::Arena::CreateMessage<module::v1::AllocatorRecoverResourcesBatch>(&pendingArena_);
  }
  module::v1::AllocatorRecoverResources* item = pending_->add_items();
  item->mutable_framework_id()->set_value(frameworkId);
  item->mutable_agent_id()->set_value(agentId);
  // Converted straight into the arena.
  for (const mesos::v1::Resource& r : resources.items()) (void)convertInto(r, item->add_resources());
  item->set_refuse_seconds(refuseSeconds);
  item->set_now_seconds(now_());
}

void AllocatorClient::flushRecoveries() {
  if (pending_ == nullptr || !allocator_) return;
  const module::v1::AllocatorRecoverResourcesBatch& batch = *pending_;
  Result<module::v1::Empty> result = modules::AllocatorClient(*allocator_).recoverResourcesBatch(batch);
  if (!result.ok() && result.error().code == StatusCode::kUnimplemented) {
    for (const auto& item : batch.items()) (void)call(&modules::AllocatorClient::recoverResources, item);
  } else if (!result.ok()) {
    LOG(ERROR) << "allocator: " << result.error().message;
    failed_(result.error());
  }
  pending_ = nullptr;
  pendingArena_.Reset();
}

Result<module::v1::AllocateResponse> AllocatorClient::allocate() {
  flushRecoveries();
  module::v1::AllocateRequest request;
  request.set_now_seconds(now_());
  return call(&modules::AllocatorClient::allocate, request);
}

Result<module::v1::ExplainResponse> AllocatorClient::explain(const module::v1::ExplainRequest& request) {
  flushRecoveries();
  return modules::AllocatorClient(*allocator_).explain(request);
}

}  // namespace mantle::master
