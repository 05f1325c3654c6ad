#include "format.hpp"

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mantle::resources {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using ::mesos::v1::Resource;

using Convert = std::function<Result<Resource>(Resource)>;
using google::protobuf::Descriptor;

// Whether a message of `type` holds a Resource at some depth (`seen`: the
// types this search has entered, for recursive messages).
bool reachesResource(const Descriptor* type, std::unordered_set<const Descriptor*>* seen) {
  if (type == Resource::descriptor()) return true;
  if (!seen->insert(type).second) return false;
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && reachesResource(field->message_type(), seen)) {
      return true;
    }
  }
  return false;
}

// reachesResource, remembered per type (per thread: no lock): an offer's
// URL, attributes or domain are not walked field by field for resources.
bool mayHoldResources(const Descriptor* type) {
  thread_local std::unordered_map<const Descriptor*, bool> known;
  auto [it, fresh] = known.try_emplace(type, false);
  if (fresh) {
    std::unordered_set<const Descriptor*> seen;
    it->second = reachesResource(type, &seen);
  }
  return it->second;
}

// Where a message lies under the converted one ("offers.offers[0].resources[2]"),
// spelt out only for an error.
struct Where {
  const Where* parent = nullptr;
  const FieldDescriptor* field = nullptr;
  int index = -1;  // in a repeated field

  std::string text() const {
    if (field == nullptr) return "";
    std::string out = parent == nullptr ? "" : parent->text();
    if (!out.empty()) out += ".";
    out += field->name();
    if (index >= 0) out += "[" + std::to_string(index) + "]";
    return out;
  }
};

// Applies `convert` to each Resource under `message`, at `where`.
Status convertAll(Message* message, const Convert& convert, const Where& where) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || !mayHoldResources(field->message_type())) continue;
    auto visit = [&](Message* child, const Where& at) -> Status {
      if (child->GetDescriptor() != Resource::descriptor()) return convertAll(child, convert, at);
      Result<Resource> converted = convert(static_cast<const Resource&>(*child));
      if (!converted.ok()) return converted.error().withContext(at.text());
      child->CopyFrom(*converted);
      return {};
    };
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
        Status s = visit(reflection->MutableRepeatedMessage(message, field, i), Where{&where, field, i});
        if (!s.ok()) return s;
      }
    } else if (Status s = visit(reflection->MutableMessage(message, field), Where{&where, field}); !s.ok()) {
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
  return convertAll(message, toPostRefinement, Where{});
}

Status downgradeResources(Message* message) {
  return convertAll(message, toPreRefinement, Where{});
}

}  // namespace mantle::resources
