// Checks a manifest's configuration against the parameters a module declares,
// before the module sees it: unknown, missing and mistyped values are errors
// naming the manifest, the JSON path and the module; defaults are filled in.
#pragma once

#include "mantle/module/v1/module.pb.h"
#include "mantle/modules/library.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/result.hpp"

namespace mantle::modules {

Result<module::v1::ModuleConfig> buildConfig(const ModuleInfo& module, const ModuleSpec& spec);

// "42", "true", "a,b", "\"text\"": how a value is shown to operators.
std::string describeValue(const module::v1::ConfigValue& value);

}  // namespace mantle::modules
