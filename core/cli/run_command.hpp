#pragma once

#include <string>
#include <vector>

namespace mantle::cli {

// `mantle run [flags] -- COMMAND...`: a one-shot framework that runs COMMAND
// as a task, prints its output and exits with its exit code.
int runCommand(const std::vector<std::string>& args);

}  // namespace mantle::cli
