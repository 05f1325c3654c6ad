// The flags of a `mantle` command.
#pragma once

#include <string>
#include <vector>

#include "flags/flags.hpp"

namespace mantle::cli {

// Parses a command's flag arguments `args` (without the program) into
// `set`, with `program` as their argv[0]: the command's exit code when it is
// done (2 after printing a bad flag's error, 0 after printing --help's
// usage), -1 to go on.
int parseCommandFlags(flags::FlagSet& set, const std::string& program, const std::vector<std::string>& args);

}  // namespace mantle::cli
