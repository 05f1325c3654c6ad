// Outstanding offers, as the master keeps them.
#pragma once

#include <string>

#include "mesos/v1/mesos.pb.h"
#include "resources/resources.hpp"

namespace mantle::master {

struct OfferEntry {
  mesos::v1::Offer offer;
  std::string frameworkId;
  std::string agentId;
  resources::Resources resources;
  double createdSteady = 0;
};

}  // namespace mantle::master
