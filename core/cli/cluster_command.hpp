#pragma once

#include <string>
#include <vector>

namespace mantle::cli {

// `mantle cluster up|down`: a single-machine cluster (one master, one agent)
// running in the background. Returns the process exit code.
int clusterCommand(const std::vector<std::string>& args);

}  // namespace mantle::cli
