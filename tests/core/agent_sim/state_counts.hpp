// What a master's GET_STATE holds, counted (for the agent simulator tests).
#pragma once

#include <string>

#include <json/value.h>

#include "http/client.hpp"
#include "http_json.hpp"

namespace mantle::testing {

struct StateCounts {
  int agents = -1;  // -1: the master did not answer 200
  int tasksRunning = 0;
  int tasksOther = 0;
};

inline StateCounts stateCounts(const std::string& masterUrl) {
  StateCounts counts;
  auto response = http::request("POST", masterUrl + "/api/v1", {{"Content-Type", "application/json"}},
                                R"({"type":"GET_STATE"})", http::ClientOptions{30, 2});
  if (!response.ok() || response->status != 200) return counts;
  const Json::Value root = parseJson(response->body);
  counts.agents = static_cast<int>(root["get_state"]["get_agents"]["agents"].size());
  for (const Json::Value& task : root["get_state"]["get_tasks"]["tasks"]) {
    (task["state"].asString() == "TASK_RUNNING" ? counts.tasksRunning : counts.tasksOther)++;
  }
  return counts;
}

}  // namespace mantle::testing
