// Where a Mantle binary finds its built-in modules and default manifest:
// relative to its own executable (<prefix>/bin/mantle-*), so the build tree and
// an installation behave the same.
#pragma once

#include <string>

namespace mantle::modules {

// <prefix>/lib/mantle/modules
std::string builtinModuleDir();
// <prefix>/etc/mantle/modules.json: the manifest loaded when no --modules is given.
std::string defaultManifestPath();

}  // namespace mantle::modules
