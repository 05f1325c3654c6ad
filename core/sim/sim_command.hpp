// `mantle sim`: the command line of the simulator (flags, errors, exit codes).
#pragma once

#include <string>
#include <vector>

namespace mantle::sim {

// `args` follow "sim". Exit codes: 0 done, 1 a run failed, 2 bad usage or input.
int simCommand(const std::vector<std::string>& args);

}  // namespace mantle::sim
