// Role weights: the checks and the registry operation UPDATE_WEIGHTS and the
// legacy PUT /master/weights share.
#include <cmath>

#include "master/master_impl.hpp"
#include "master/validation.hpp"

namespace mantle::master {

Status validateWeights(const google::protobuf::RepeatedPtrField<v1::WeightInfo>& infos) {
  for (const v1::WeightInfo& info : infos) {
    if (Status valid = validateRole(info.role()); !valid.ok()) return valid;
    if (!(info.weight() > 0) || !std::isfinite(info.weight())) {
      return invalidArgument("Weight of role '" + info.role() + "' must be a positive number");
    }
  }
  return Status();
}

void MasterImpl::recordWeights(std::vector<v1::WeightInfo> infos, const http::Responder& responder, int status) {
  // Recorded first; the allocator and the caller learn them after.
  RegistryOperation op;
  op.stage = [infos](RegistryState& state) {
    for (const v1::WeightInfo& info : infos) state.weights[info.role()] = info.weight();
  };
  op.apply = [this, infos, responder, status] {
    module::v1::AllocatorUpdateWeights request;
    for (const v1::WeightInfo& info : infos) {
      weights_[info.role()] = info.weight();
      auto* w = request.add_weights();
      w->set_role(info.role());
      w->set_weight(info.weight());
    }
    allocator_.updateWeights(request);
    requestAllocation();
    responder.respond(http::Response{status, {}, ""});
  };
  op.fail = registryFailure(responder);
  registrar_.submit(std::move(op));
}

}  // namespace mantle::master
