// Mesos' legacy quota calls: SET_QUOTA and REMOVE_QUOTA on the operator API
// and GET/POST/DELETE /master/quota (docs/MASTER.md, "Quota"). Both end in the
// same registry operation as UPDATE_QUOTA.
#include <cmath>
#include <map>
#include <set>

#include "master/master_impl.hpp"
#include "master/validation.hpp"
#include "wire/json.hpp"

namespace mantle::master {

using v1::master::Call;

namespace {

void scalarsToModule(const google::protobuf::Map<std::string, v1::Value::Scalar>& map,
                     google::protobuf::RepeatedPtrField<module::v1::Resource>* out) {
  for (const auto& [name, scalar] : map) {
    module::v1::Resource* r = out->Add();
    r->set_name(name);
    r->set_type(module::v1::Value::SCALAR);
    r->mutable_scalar()->set_value(scalar.value());
  }
}

}  // namespace

void MasterImpl::recordQuotaConfigs(std::vector<v1::quota::QuotaConfig> configs, const http::Responder& responder) {
  // Recorded first; the allocator and the caller learn them after.
  RegistryOperation op;
  op.stage = [configs](RegistryState& state) {
    for (const v1::quota::QuotaConfig& config : configs) {
      std::erase_if(state.quotas, [&](const auto& q) { return q.role() == config.role(); });
      if (!config.guarantees().empty() || !config.limits().empty()) state.quotas.push_back(config);
    }
  };
  op.apply = [this, configs, responder] {
    for (const v1::quota::QuotaConfig& config : configs) {
      if (config.guarantees().empty() && config.limits().empty()) {
        quotas_.erase(config.role());
      } else {
        quotas_[config.role()] = config;
      }
      module::v1::AllocatorUpdateQuota request;
      request.set_role(config.role());
      scalarsToModule(config.guarantees(), request.mutable_guarantees());
      scalarsToModule(config.limits(), request.mutable_limits());
      allocator_.updateQuota(request);
    }
    requestAllocation();
    responder.respond(http::Response{200, {}, ""});
  };
  op.fail = registryFailure(responder);
  registrar_.submit(std::move(op));
}

Result<v1::quota::QuotaConfig> MasterImpl::quotaConfigFromRequest(const v1::quota::QuotaRequest& request) const {
  const std::string& role = request.role();
  auto bad = [](const std::string& what) { return invalidArgument("Failed to validate set quota request: " + what); };
  if (!request.has_role()) return bad("'role' is not set");
  if (Status valid = validateRole(role); !valid.ok()) return bad(valid.error().message);
  if (role == "*") return bad("quota cannot be set on role '*'");
  if (role.find('/') != std::string::npos) {
    return invalidArgument("Setting quota on nested role '" + role + "' is not supported (use UPDATE_QUOTA)");
  }
  if (request.guarantee().empty()) return bad("'guarantee' is empty");
  v1::quota::QuotaConfig config;
  config.set_role(role);
  std::set<std::string> names;
  for (const v1::Resource& r : request.guarantee()) {
    std::string what = "guarantee '" + r.name() + "'";
    if (r.name().empty()) return bad("a guarantee has no 'name'");
    if (r.type() != v1::Value::SCALAR || !r.has_scalar()) return bad(what + " is not a scalar");
    if (!std::isfinite(r.scalar().value()) || r.scalar().value() < 0) {
      return bad(what + " must be a non-negative number");
    }
    if (r.reservations_size() > 0 || (r.has_role() && r.role() != "*") || r.has_reservation()) {
      return bad(what + " must not be reserved");
    }
    if (r.has_disk() || r.has_revocable() || r.has_shared() || r.has_provider_id()) {
      return bad(what + " must be a plain quantity (no disk info, revocable, shared or provider)");
    }
    if (!names.insert(r.name()).second) return bad(what + " is given twice");
    // Mesos' SET_QUOTA makes the guarantee the limit too.
    (*config.mutable_guarantees())[r.name()].set_value(r.scalar().value());
    (*config.mutable_limits())[r.name()].set_value(r.scalar().value());
  }
  if (quotas_.count(role)) {
    return bad("cannot set quota for role '" + role + "' which already has quota (use UPDATE_QUOTA to change it)");
  }
  if (!request.force()) {
    // The guarantees of all roles must fit in the registered agents.
    std::map<std::string, double> guaranteed;
    for (const auto& [other, existing] : quotas_) {
      for (const auto& [name, scalar] : existing.guarantees()) guaranteed[name] += scalar.value();
    }
    for (const auto& [name, scalar] : config.guarantees()) guaranteed[name] += scalar.value();
    for (const auto& [name, total] : guaranteed) {
      double capacity = 0;
      for (const auto& [id, agent] : agents_) capacity += agent.total.scalar(name);
      if (total > capacity + 1e-9) {
        return failedPrecondition("Quota guarantees overcommit the cluster (use 'force' to bypass this check): '" +
                                  name + "' guarantees total " + std::to_string(total) + " of a capacity of " +
                                  std::to_string(capacity));
      }
    }
  }
  return config;
}

Status MasterImpl::onSetQuota(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  Result<v1::quota::QuotaConfig> config = quotaConfigFromRequest(call.set_quota().quota_request());
  if (!config.ok()) return config.error();
  recordQuotaConfigs({*config}, responder);
  return Status();
}

Status MasterImpl::onRemoveQuota(const Call& call, const wire::ResponseFormat&, const http::Responder& responder) {
  const std::string& role = call.remove_quota().role();
  if (Status valid = validateRole(role); !valid.ok()) {
    return invalidArgument("Failed to validate remove quota request: " + valid.error().message);
  }
  if (!quotas_.count(role)) return invalidArgument("Failed to remove quota: Role '" + role + "' has no quota set");
  v1::quota::QuotaConfig config;  // no guarantees, no limits: the default
  config.set_role(role);
  recordQuotaConfigs({config}, responder);
  return Status();
}

v1::quota::QuotaStatus MasterImpl::quotaStatus() const {
  v1::quota::QuotaStatus status;
  for (const auto& [role, config] : quotas_) {
    *status.add_configs() = config;
    // The deprecated infos: the guarantees only.
    v1::quota::QuotaInfo* info = status.add_infos();
    info->set_role(role);
    for (const auto& [name, scalar] : config.guarantees()) {
      v1::Resource* r = info->add_guarantee();
      r->set_name(name);
      r->set_type(v1::Value::SCALAR);
      r->mutable_scalar()->set_value(scalar.value());
    }
  }
  return status;
}

}  // namespace mantle::master
