// libmantle_cgroups.so: the cgroups/* isolators.
#include "descriptors.hpp"
#include "mantle/module_api/sdk/module.hpp"

MANTLE_MODULE_LIBRARY("mantle_cgroups", "0.1.0", mantle::isolators::cgroups::cpuDescriptor(),
                      mantle::isolators::cgroups::memDescriptor(), mantle::isolators::cgroups::pidsDescriptor(),
                      mantle::isolators::cgroups::devicesDescriptor())
