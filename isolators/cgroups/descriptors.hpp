// The module descriptors of the mantle_cgroups library, one per module file.
#pragma once

#include "mantle/module_api/abi.h"

namespace mantle::isolators::cgroups {

const mantle_module_descriptor* cpuDescriptor();
const mantle_module_descriptor* memDescriptor();
const mantle_module_descriptor* pidsDescriptor();
const mantle_module_descriptor* devicesDescriptor();

}  // namespace mantle::isolators::cgroups
