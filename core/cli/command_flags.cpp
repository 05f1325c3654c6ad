#include "command_flags.hpp"

#include <iostream>

namespace mantle::cli {

int parseCommandFlags(flags::FlagSet& set, const std::string& program, const std::vector<std::string>& args) {
  std::vector<const char*> argv = {program.c_str()};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  if (Status s = set.parse(static_cast<int>(argv.size()), argv.data()); !s.ok()) {
    std::cerr << "mantle: error: " << s.error().message << "\n";
    return 2;
  }
  if (set.helpRequested()) {
    std::cout << set.usage();
    return 0;
  }
  return -1;
}

}  // namespace mantle::cli
