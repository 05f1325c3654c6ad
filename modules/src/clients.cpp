#include "mantle/modules/clients.hpp"

#include <glog/logging.h>

namespace mantle::modules::detail {

ClientBase::ClientBase(Instance& instance, std::string_view kind) : instance_(&instance) {
  CHECK(instance.kind() == kind) << "host bug: a " << kind << " client for " << instance.describe() << ", a "
                                 << instance.kind();
}

}  // namespace mantle::modules::detail
