// The agent's launch traces ("Launch trace of task <id> (CLOCK_MONOTONIC ns):
// step=ns step=ns ..." lines of its log, one per task: when each step of the
// launch happened, until TASK_RUNNING is acknowledged). Used by
// mantle_master_launch_bench and mantle_images_launch_bench.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace mantle::bench {

// The traces in `log`, by task id, steps in the order the agent took them.
inline std::map<std::string, std::vector<std::pair<std::string, std::int64_t>>> launchTraces(const std::string& log) {
  std::map<std::string, std::vector<std::pair<std::string, std::int64_t>>> traces;
  std::istringstream lines(log);
  std::string line;
  const std::string marker = "Launch trace of task ";
  while (std::getline(lines, line)) {
    std::size_t at = line.find(marker);
    if (at == std::string::npos) continue;
    std::istringstream words(line.substr(at + marker.size()));
    std::string task, word;
    words >> task;
    auto& steps = traces[task];
    while (words >> word) {
      std::size_t eq = word.find('=');
      if (eq != std::string::npos) steps.emplace_back(word.substr(0, eq), std::stoll(word.substr(eq + 1)));
    }
  }
  return traces;
}

}  // namespace mantle::bench
