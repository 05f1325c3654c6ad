#pragma once

#include <string>
#include <vector>

namespace mantle::cli {

// `mantle modules check MANIFEST...` and `mantle modules list LIBRARY...`.
// Returns the process exit code.
int modulesCommand(const std::vector<std::string>& args);

}  // namespace mantle::cli
