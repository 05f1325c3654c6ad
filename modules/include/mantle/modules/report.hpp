// What the registry tells operators about its modules: GET /modules on the
// master and the agent (docs/MASTER.md, docs/AGENT.md), and the web UI's
// modules view.
#pragma once

#include <string>
#include <string_view>

#include "mantle/modules/registry.hpp"

namespace mantle::modules {

// Whether a configuration key looks like it names a secret (its name matches
// secret, password, token or credential, ignoring case). Module parameters
// carry no "secret" marking, so the name is all there is to go by.
bool isSecretKey(std::string_view key);

// {"modules": [...]}: every module the registry loaded, in manifest order,
// with its instance name, kind, library file and version, module name, kind
// API version, process ("shared" or "separate"), whether an instance of it is
// alive, and its configuration (values as the module receives them; those of
// secret-looking keys replaced by "********").
std::string renderModulesJson(const Registry& registry);

}  // namespace mantle::modules
