#include "format.hpp"

#include <functional>
#include <string>
#include <vector>

namespace mantle::resources {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using ::mesos::v1::Resource;

using Convert = std::function<Result<Resource>(Resource)>;

// Applies `convert` to each Resource under `message`; `path` names where we are
// ("offers.offers[0].resources[2]") for the error.
Status convertAll(Message* message, const Convert& convert, const std::string& path) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string name = path.empty() ? field->name() : path + "." + field->name();
    auto visit = [&](Message* child, const std::string& where) -> Status {
      if (child->GetDescriptor() != Resource::descriptor()) return convertAll(child, convert, where);
      Result<Resource> converted = convert(static_cast<const Resource&>(*child));
      if (!converted.ok()) return converted.error().withContext(where);
      child->CopyFrom(*converted);
      return {};
    };
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
        Status s = visit(reflection->MutableRepeatedMessage(message, field, i), name + "[" + std::to_string(i) + "]");
        if (!s.ok()) return s;
      }
    } else if (Status s = visit(reflection->MutableMessage(message, field), name); !s.ok()) {
      return s;
    }
  }
  return {};
}

}  // namespace

Result<Resource> toPostRefinement(Resource resource) {
  if (resource.reservations_size() > 0) {
    // Post-refinement already, or the endpoint format: the stack decides.
    resource.clear_role();
    resource.clear_reservation();
    return resource;
  }
  const std::string what = "resource '" + resource.name() + "'";
  const std::string role = resource.role();  // "*" when unset
  if (role.empty()) return invalidArgument(what + ": empty 'role'");
  if (role == "*") {
    if (resource.has_reservation()) {
      return invalidArgument(what + ": a 'reservation' needs a role other than '*' in 'role'");
    }
    resource.clear_role();
    return resource;
  }
  Resource::ReservationInfo* reservation = resource.add_reservations();
  if (resource.has_reservation()) {
    *reservation = resource.reservation();
    reservation->set_type(Resource::ReservationInfo::DYNAMIC);
  } else {
    reservation->set_type(Resource::ReservationInfo::STATIC);
  }
  reservation->set_role(role);
  resource.clear_role();
  resource.clear_reservation();
  return resource;
}

Result<Resource> toPreRefinement(Resource resource) {
  if (resource.reservations_size() == 0) {
    resource.clear_reservation();
    resource.set_role("*");
    return resource;
  }
  if (resource.reservations_size() > 1) {
    return invalidArgument("resource '" + resource.name() +
                           "': a refined reservation (several roles) has no pre-refinement format");
  }
  const Resource::ReservationInfo source = resource.reservations(0);
  resource.clear_reservations();
  resource.clear_reservation();
  resource.set_role(source.role());
  if (source.type() == Resource::ReservationInfo::DYNAMIC) {
    Resource::ReservationInfo* target = resource.mutable_reservation();
    if (source.has_principal()) target->set_principal(source.principal());
    if (source.has_labels()) *target->mutable_labels() = source.labels();
  }
  return resource;
}

Status upgradeResources(Message* message) {
  return convertAll(message, toPostRefinement, "");
}

Status downgradeResources(Message* message) {
  return convertAll(message, toPreRefinement, "");
}

}  // namespace mantle::resources
