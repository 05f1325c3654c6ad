// Marathon's placement constraints ([field, operator, value?]) on the
// hostname or an agent attribute: UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE,
// MAX_PER. An offer is judged against where the app's tasks already run.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mesos/v1/mesos.pb.h"

namespace mantle::services {

// Where a task runs, as constraints see it: "hostname" and every attribute.
using Placement = std::map<std::string, std::string>;

// The offer's hostname and attributes (text, scalar, ranges and sets in
// Mesos' text form).
Placement placementOf(const mesos::v1::Offer& offer);

// Whether a new task on `offer` keeps every constraint given the tasks
// already placed at `placed`. On false, `why` names the constraint.
bool meetsConstraints(const std::vector<std::vector<std::string>>& constraints, const Placement& offer,
                      const std::vector<Placement>& placed, std::string* why);

}  // namespace mantle::services
