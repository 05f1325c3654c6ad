// Mesos' two formats of a resource's reservation, converted both ways
// (docs/reservation.md in Mesos).
//
//  - post-refinement (what Mantle keeps everywhere): the `reservations` stack,
//    empty for an unreserved resource; `role` and `reservation` unset.
//  - pre-refinement (what Mesos exchanges with frameworks that lack the
//    RESERVATION_REFINEMENT capability): the deprecated `role` ("*" when
//    unreserved) and, for a dynamic reservation, the singular `reservation`
//    (principal, labels); `reservations` empty.
//
// A resource carrying both (Mesos' "endpoint" format) is read by its
// `reservations`.
#pragma once

#include <google/protobuf/message.h>

#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace mantle::resources {

// `resource` in the post-refinement format. An error for a pre-refinement
// reservation that cannot exist: a `reservation` for role "*" or an empty role.
Result<::mesos::v1::Resource> toPostRefinement(::mesos::v1::Resource resource);

// `resource` in the pre-refinement format. An error for a refined reservation
// (more than one on the stack): that format cannot express it.
Result<::mesos::v1::Resource> toPreRefinement(::mesos::v1::Resource resource);

// Converts every mesos.v1.Resource inside `message`, at any depth (a scheduler
// Call, an Event, an Offer). Stops at the first resource that cannot be
// converted; the error names the field path.
Status upgradeResources(google::protobuf::Message* message);
Status downgradeResources(google::protobuf::Message* message);

}  // namespace mantle::resources
