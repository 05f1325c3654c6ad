#pragma once

#include <string>
#include <vector>

namespace mantle::cli {

// `mantle agents`, `mantle frameworks`, `mantle tasks`: what the master knows,
// as aligned tables or (--json) as a JSON array of the master's objects.
int agentsCommand(const std::vector<std::string>& args);
int frameworksCommand(const std::vector<std::string>& args);
int tasksCommand(const std::vector<std::string>& args);

}  // namespace mantle::cli
