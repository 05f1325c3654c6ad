#include "list_commands.hpp"

#include <cmath>
#include <iostream>
#include <map>
#include <sstream>

#include <json/writer.h>

#include "command_flags.hpp"
#include "flags/flags.hpp"
#include "master_queries.hpp"
#include "wire/task_state.hpp"

namespace mantle::cli {

namespace {

struct ListFlags {
  std::string master = "127.0.0.1:5050";
  bool json = false;
  bool all = false;
  std::string framework;
};

// Parses `args` into `f`; returns an exit code when the command is done
// (help printed or a bad flag), -1 to go on.
int parseFlags(const std::string& program, const std::string& summary, const std::vector<std::string>& args,
               ListFlags& f, bool withAll, bool withFramework) {
  flags::FlagSet set(program, summary);
  set.addString("master", &f.master, "The master, host:port or zk://hosts/path (or MANTLE_MASTER).");
  set.addBool("json", &f.json, "Print a JSON array of the master's objects instead of a table.");
  if (withAll) set.addBool("all", &f.all, "Include completed ones.");
  if (withFramework) set.addString("framework", &f.framework, "Only this framework's (an id).");
  if (int rc = parseCommandFlags(set, program, args); rc >= 0) return rc;
  Result<std::string> leader = resolveMaster(f.master);
  if (!leader.ok()) {
    std::cerr << "mantle: error: " << leader.error().message << "\n";
    return 1;
  }
  f.master = *leader;
  return -1;
}

std::string number(double value) {
  if (std::fabs(value - std::round(value)) < 1e-9) return std::to_string(static_cast<long long>(std::round(value)));
  std::ostringstream out;
  out << value;
  return out.str();
}

// "used/total" of one scalar from the master's legacy resource objects.
std::string usage(const Json::Value& used, const Json::Value& total, const char* name) {
  return number(used.get(name, 0.0).asDouble()) + "/" + number(total.get(name, 0.0).asDouble());
}

void printJson(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "  ";
  std::cout << Json::writeString(builder, value) << "\n";
}

int fail(const Error& error) {
  std::cerr << "mantle: error: " << error.message << "\n";
  return 1;
}

}  // namespace

int agentsCommand(const std::vector<std::string>& args) {
  ListFlags f;
  if (int rc = parseFlags("mantle agents", "Lists the agents registered with the master:\n  mantle agents [--json]",
                          args, f, false, false);
      rc >= 0) {
    return rc;
  }
  auto slaves = getJson(baseUrl(f.master) + "/master/slaves");
  if (!slaves.ok()) return fail(slaves.error());
  const Json::Value& agents = (*slaves)["slaves"];
  if (f.json) {
    printJson(agents.isArray() ? agents : Json::Value(Json::arrayValue));
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Json::Value& a : agents) {
    const std::string pid = a["pid"].asString();
    const std::size_t at = pid.find('@');
    rows.push_back(
        {a["id"].asString(), at == std::string::npos ? a["hostname"].asString() : pid.substr(at + 1),
         a["active"].asBool() ? (a["deactivated"].asBool() ? "deactivated" : "active") : "inactive",
         usage(a["used_resources"], a["resources"], "cpus"), usage(a["used_resources"], a["resources"], "mem"),
         usage(a["used_resources"], a["resources"], "disk"), usage(a["used_resources"], a["resources"], "gpus")});
  }
  printTable(std::cout, {"ID", "ADDRESS", "STATE", "CPUS", "MEM(MB)", "DISK(MB)", "GPUS"}, rows);
  return 0;
}

int frameworksCommand(const std::vector<std::string>& args) {
  ListFlags f;
  if (int rc = parseFlags("mantle frameworks",
                          "Lists the frameworks the master knows:\n  mantle frameworks [--all] [--json]", args, f, true,
                          false);
      rc >= 0) {
    return rc;
  }
  auto state = getJson(baseUrl(f.master) + "/master/frameworks");
  if (!state.ok()) return fail(state.error());
  Json::Value frameworks(Json::arrayValue);
  for (const Json::Value& fw : (*state)["frameworks"]) frameworks.append(fw);
  const Json::ArrayIndex active = frameworks.size();
  if (f.all) {
    for (const Json::Value& fw : (*state)["completed_frameworks"]) frameworks.append(fw);
  }
  if (f.json) {
    printJson(frameworks);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (Json::ArrayIndex i = 0; i < frameworks.size(); ++i) {
    const Json::Value& fw = frameworks[i];
    std::string roles;
    if (fw.isMember("roles")) {
      for (const Json::Value& r : fw["roles"]) roles += (roles.empty() ? "" : ",") + r.asString();
    } else {
      roles = fw["role"].asString();
    }
    std::string state = fw["active"].asBool() ? "active" : (fw["connected"].asBool() ? "inactive" : "disconnected");
    if (i >= active) state = "completed";
    rows.push_back({fw["id"].asString(), fw["name"].asString(), roles, state, std::to_string(fw["tasks"].size()),
                    number(fw["used_resources"].get("cpus", 0.0).asDouble()),
                    number(fw["used_resources"].get("mem", 0.0).asDouble())});
  }
  printTable(std::cout, {"ID", "NAME", "ROLES", "STATE", "TASKS", "CPUS", "MEM(MB)"}, rows);
  return 0;
}

int tasksCommand(const std::vector<std::string>& args) {
  ListFlags f;
  if (int rc = parseFlags("mantle tasks",
                          "Lists tasks (those not yet ended, or --all):\n  mantle tasks [--all] [--framework=ID] "
                          "[--json]",
                          args, f, true, true);
      rc >= 0) {
    return rc;
  }
  auto tasks = getJson(baseUrl(f.master) + "/master/tasks?limit=1000000&order=asc");
  if (!tasks.ok()) return fail(tasks.error());
  Json::Value selected(Json::arrayValue);
  for (const Json::Value& t : (*tasks)["tasks"]) {
    if (!f.framework.empty() && t["framework_id"].asString() != f.framework) continue;
    if (!f.all && wire::isTerminal(t["state"].asString())) continue;
    selected.append(t);
  }
  if (f.json) {
    printJson(selected);
    return 0;
  }
  // Framework names and agent addresses make the table readable.
  std::map<std::string, std::string> frameworkNames;
  std::map<std::string, std::string> agentNames;
  if (auto fws = getJson(baseUrl(f.master) + "/master/frameworks"); fws.ok()) {
    for (const char* list : {"frameworks", "completed_frameworks"}) {
      for (const Json::Value& fw : (*fws)[list]) frameworkNames[fw["id"].asString()] = fw["name"].asString();
    }
  }
  if (auto slaves = getJson(baseUrl(f.master) + "/master/slaves"); slaves.ok()) {
    for (const Json::Value& a : (*slaves)["slaves"]) agentNames[a["id"].asString()] = a["hostname"].asString();
  }
  std::vector<std::vector<std::string>> rows;
  for (const Json::Value& t : selected) {
    std::string health = "-";
    const Json::Value& statuses = t["statuses"];
    if (!statuses.empty() && statuses[statuses.size() - 1].isMember("healthy")) {
      health = statuses[statuses.size() - 1]["healthy"].asBool() ? "healthy" : "unhealthy";
    }
    auto name = [](const std::map<std::string, std::string>& names, const std::string& id) {
      auto it = names.find(id);
      return it == names.end() || it->second.empty() ? id : it->second;
    };
    rows.push_back({t["id"].asString(), t["state"].asString(), health,
                    name(frameworkNames, t["framework_id"].asString()), name(agentNames, t["slave_id"].asString()),
                    number(t["resources"].get("cpus", 0.0).asDouble()),
                    number(t["resources"].get("mem", 0.0).asDouble())});
  }
  printTable(std::cout, {"ID", "STATE", "HEALTH", "FRAMEWORK", "AGENT", "CPUS", "MEM(MB)"}, rows);
  return 0;
}

}  // namespace mantle::cli
