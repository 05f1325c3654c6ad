// Drives an allocator module through the host's Registry/Instance: the real
// ABI path, protobuf encoding included. Used by the conformance kit's
// allocator cases and the benchmarks; it knows nothing about any module's C++
// classes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mantle/module/v1/allocator.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/conformance/resource_text.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::modules::conformance {

struct FrameworkSpec {
  std::string id;
  std::vector<std::string> roles;
  bool gpu = false;
  bool refinement = false;
  std::vector<std::string> suppressedRoles;
};

class AllocatorDriver {
 public:
  // Loads `module` from the library file `library` and creates an instance.
  // `configJson` is the manifest's "config" object ("{}" for defaults).
  static Result<std::unique_ptr<AllocatorDriver>> open(const std::string& library, const std::string& module,
                                                       const std::string& configJson = "{}") {
    std::string text = R"({"libraries":[{"file":")" + library + R"(","modules":[{"name":")" + module +
                       R"(","kind":"allocator","config":)" + configJson + "}]}]}";
    Result<Manifest> manifest = parseManifest(text, "allocator test manifest", "");
    if (!manifest.ok()) return manifest.error();
    auto driver = std::unique_ptr<AllocatorDriver>(new AllocatorDriver());
    if (Status s = driver->registry_.load(*manifest); !s.ok()) return s.error();
    Result<std::shared_ptr<Instance>> instance = driver->registry_.create("allocator", module);
    if (!instance.ok()) return instance.error();
    driver->instance_ = *instance;
    return driver;
  }

  Instance& instance() { return *instance_; }

  Status addAgent(const std::string& id, const std::string& resources) {
    v1::AllocatorAddAgent request;
    request.mutable_agent_info()->mutable_id()->set_value(id);
    request.mutable_agent_info()->set_hostname(id);
    *request.mutable_total() = parseResources(resources);
    return empty(&AllocatorClient::addAgent, request);
  }
  Status addAgent(const v1::AllocatorAddAgent& request) { return empty(&AllocatorClient::addAgent, request); }

  static v1::AllocatorAddFramework frameworkRequest(const FrameworkSpec& spec) {
    v1::AllocatorAddFramework request;
    v1::FrameworkInfo* info = request.mutable_framework_info();
    info->mutable_id()->set_value(spec.id);
    info->set_name(spec.id);
    info->set_user("nobody");
    for (const std::string& role : spec.roles) info->add_roles(role);
    info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
    if (spec.gpu) info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::GPU_RESOURCES);
    if (spec.refinement) info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT);
    for (const std::string& role : spec.suppressedRoles) request.add_suppressed_roles(role);
    return request;
  }
  Status addFramework(const FrameworkSpec& spec) {
    return empty(&AllocatorClient::addFramework, frameworkRequest(spec));
  }
  Status addFramework(const std::string& id, std::vector<std::string> roles, bool gpu = false) {
    FrameworkSpec spec;
    spec.id = id;
    spec.roles = std::move(roles);
    spec.gpu = gpu;
    return addFramework(spec);
  }
  Status addFramework(const v1::AllocatorAddFramework& request) {
    return empty(&AllocatorClient::addFramework, request);
  }

  Status removeFramework(const std::string& id) {
    v1::AllocatorFrameworkRef request;
    request.mutable_framework_id()->set_value(id);
    return empty(&AllocatorClient::removeFramework, request);
  }
  Status setFrameworkActive(const std::string& id, bool active) {
    v1::AllocatorSetFrameworkActive request;
    request.mutable_framework_id()->set_value(id);
    request.set_active(active);
    return empty(&AllocatorClient::setFrameworkActive, request);
  }
  Status setAgentState(const std::string& id, v1::AllocatorUpdateAgent::State state) {
    v1::AllocatorUpdateAgent request;
    request.mutable_agent_id()->set_value(id);
    request.set_state(state);
    return empty(&AllocatorClient::updateAgent, request);
  }
  Status removeAgent(const std::string& id) {
    v1::AllocatorAgentRef request;
    request.mutable_agent_id()->set_value(id);
    return empty(&AllocatorClient::removeAgent, request);
  }
  static v1::AllocatorRecoverResources recoverRequest(const v1::AllocatorOffer& offer, double refuseSeconds,
                                                      double now) {
    v1::AllocatorRecoverResources request;
    *request.mutable_framework_id() = offer.framework_id();
    *request.mutable_agent_id() = offer.agent_id();
    *request.mutable_resources() = offer.resources();
    if (refuseSeconds > 0) request.set_refuse_seconds(refuseSeconds);
    request.set_now_seconds(now);
    return request;
  }
  // Declines a whole offer.
  Status decline(const v1::AllocatorOffer& offer, double refuseSeconds, double now) {
    return empty(&AllocatorClient::recoverResources, recoverRequest(offer, refuseSeconds, now));
  }
  Status recover(const v1::AllocatorRecoverResources& request) {
    return empty(&AllocatorClient::recoverResources, request);
  }
  Status recoverBatch(const v1::AllocatorRecoverResourcesBatch& request) {
    return empty(&AllocatorClient::recoverResourcesBatch, request);
  }
  Status suppress(const std::string& framework, const std::vector<std::string>& roles = {}) {
    return empty(&AllocatorClient::suppress, rolesRequest(framework, roles));
  }
  Status revive(const std::string& framework, const std::vector<std::string>& roles = {}) {
    return empty(&AllocatorClient::revive, rolesRequest(framework, roles));
  }
  Status setWeight(const std::string& role, double weight) {
    v1::AllocatorUpdateWeights request;
    auto* w = request.add_weights();
    w->set_role(role);
    w->set_weight(weight);
    return empty(&AllocatorClient::updateWeights, request);
  }
  Status setQuota(const std::string& role, const std::string& guarantees, const std::string& limits) {
    v1::AllocatorUpdateQuota request;
    request.set_role(role);
    *request.mutable_guarantees() = parseResources(guarantees);
    *request.mutable_limits() = parseResources(limits);
    return empty(&AllocatorClient::updateQuota, request);
  }
  Result<v1::AllocateResponse> allocate(double now) {
    v1::AllocateRequest request;
    request.set_now_seconds(now);
    return AllocatorClient(*instance_).allocate(request);
  }
  Result<v1::ExplainResponse> explainFramework(const std::string& framework) {
    v1::ExplainRequest request;
    request.mutable_framework_id()->set_value(framework);
    return AllocatorClient(*instance_).explain(request);
  }
  Result<v1::ExplainResponse> explainRole(const std::string& role) {
    v1::ExplainRequest request;
    request.set_role(role);
    return AllocatorClient(*instance_).explain(request);
  }

 private:
  AllocatorDriver() = default;

  static v1::AllocatorRoles rolesRequest(const std::string& framework, const std::vector<std::string>& roles) {
    v1::AllocatorRoles request;
    request.mutable_framework_id()->set_value(framework);
    for (const std::string& role : roles) request.add_roles(role);
    return request;
  }
  template <class Request>
  Status empty(Result<v1::Empty> (AllocatorClient::*method)(const Request&) const, const Request& request) {
    Result<v1::Empty> result = (AllocatorClient(*instance_).*method)(request);
    if (!result.ok()) return result.error();
    return {};
  }

  Registry registry_;
  std::shared_ptr<Instance> instance_;
};

}  // namespace mantle::modules::conformance
