// What the mantle-lb end-to-end tests read of the HAProxy mantle-lb runs:
// the configuration it wrote and the processes it left.
#pragma once

#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>

#include "temp_dir.hpp"

namespace mantle::lb::testing_support {

// The number of "server" lines of all backends in the configuration at `path`.
inline int serverCount(const std::string& path) {
  std::istringstream in(testing::readText(path));
  int count = 0;
  for (std::string line; std::getline(in, line);) count += line.starts_with("  server ") ? 1 : 0;
  return count;
}

// Kills whatever HAProxy is left of the configuration at `path` (mantle-lb
// killed before it could stop it).
inline void killLeftHaproxy(const std::string& path) {
  std::ifstream pids(path + ".pid");
  for (long pid = 0; pids >> pid;) {
    if (pid > 1) ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
}

}  // namespace mantle::lb::testing_support
