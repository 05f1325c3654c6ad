#include "task_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include "command_flags.hpp"
#include "flags/flags.hpp"
#include "master_queries.hpp"
#include "wire/task_state.hpp"

namespace mantle::cli {

namespace {

int fail(const std::string& message, int code = 1) {
  std::cerr << "mantle: error: " << message << "\n";
  return code;
}

// Splits `args` into flags and positional arguments. `valued` names the
// flags that may take their value as the next argument (--name value).
void splitArgs(const std::vector<std::string>& args, const std::set<std::string>& valued,
               std::vector<std::string>& flagArgs, std::vector<std::string>& positional) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("-", 0) != 0 || arg == "-") {
      positional.push_back(arg);
      continue;
    }
    flagArgs.push_back(arg == "-f" ? "--follow" : arg);
    if (arg.find('=') == std::string::npos && valued.count(arg.substr(arg.find_first_not_of('-'))) &&
        i + 1 < args.size()) {
      flagArgs.push_back(args[++i]);
    }
  }
}

Result<Json::Value> frameworkOf(const std::string& master, const std::string& frameworkId) {
  auto state = getJson(baseUrl(master) + "/master/frameworks");
  if (!state.ok()) return state.error();
  for (const char* list : {"frameworks", "completed_frameworks"}) {
    for (const Json::Value& fw : (*state)[list]) {
      if (fw["id"].asString() == frameworkId) {
        Json::Value found = fw;
        found["completed"] = std::string(list) == "completed_frameworks";
        return found;
      }
    }
  }
  return notFound("framework " + frameworkId + " is not known to the master");
}

bool startedByRun(const Json::Value& framework) {
  for (const Json::Value& label : framework["labels"]) {
    if (label["key"].asString() == kRunFrameworkLabel) return true;
  }
  return false;
}

Status teardown(const std::string& master, const std::string& frameworkId) {
  Json::Value call;
  call["type"] = "TEARDOWN";
  call["teardown"]["framework_id"]["value"] = frameworkId;
  return postJson(baseUrl(master) + "/api/v1", call.toStyledString());
}

}  // namespace

int logsCommand(const std::vector<std::string>& args) {
  std::string master = "127.0.0.1:5050";
  bool follow = false;
  bool stderrFile = false;
  flags::FlagSet set("mantle logs",
                     "Prints a task's output (its sandbox stdout, or stderr) from its agent:\n"
                     "  mantle logs [-f] [--stderr] TASK");
  set.addString("master", &master, "The master, host:port or zk://hosts/path (or MANTLE_MASTER).");
  set.addBool("follow", &follow, "Keep printing what the task writes until it ends (also -f).");
  set.addBool("stderr", &stderrFile, "Print the task's stderr instead of its stdout.");
  std::vector<std::string> flagArgs, positional;
  splitArgs(args, {"master"}, flagArgs, positional);
  if (int rc = parseCommandFlags(set, "mantle logs", flagArgs); rc >= 0) return rc;
  if (Result<std::string> leader = resolveMaster(master); leader.ok()) {
    master = *leader;
  } else {
    return fail(leader.error().message);
  }
  if (positional.size() != 1) return fail("name one task (mantle logs [-f] [--stderr] TASK)", 2);

  auto location = locateTask(master, positional[0]);
  if (!location.ok()) return fail(location.error().message);
  const std::string file = stderrFile ? "/stderr" : "/stdout";
  std::int64_t offset = 0;
  std::string state = location->task["state"].asString();
  auto lastCheck = std::chrono::steady_clock::now();
  while (true) {
    std::string why;  // the agent's answer while there is no sandbox (none yet, 401, unreachable)
    if (location->sandbox.empty()) {
      auto sandbox = sandboxOf(location->agent, location->frameworkId, location->id);
      if (sandbox.ok()) {
        location->sandbox = *sandbox;
      } else {
        why = sandbox.error().message;
      }
    }
    bool drained = true;
    if (!location->sandbox.empty()) {
      auto data = readSandboxFile(location->agent, location->sandbox + file, offset);
      if (!data.ok()) return fail("reading " + location->id + file + ": " + data.error().message);
      std::cout << *data << std::flush;
      drained = data->empty();
    } else if (!follow) {
      return fail(why.empty() ? "the agent has no sandbox for task " + location->id + " (yet)" : why);
    }
    if (!drained) continue;
    if (!follow || wire::isTerminal(state)) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (std::chrono::steady_clock::now() - lastCheck > std::chrono::seconds(1)) {
      lastCheck = std::chrono::steady_clock::now();
      auto now = locateTask(master, location->id);
      if (now.ok()) state = now->task["state"].asString();  // one more read after it ended
    }
  }
}

int killCommand(const std::vector<std::string>& args) {
  std::string master = "127.0.0.1:5050";
  bool tearDown = false;
  std::string framework;
  double wait = 10;
  flags::FlagSet set("mantle kill",
                     "Ends a task from the operator side:\n  mantle kill TASK            a task `mantle run` started "
                     "(its framework is torn down)\n  mantle kill --teardown TASK tears down the task's framework, "
                     "with ALL its tasks\n  mantle kill --framework=ID  tears down a framework\nThe master's operator "
                     "API has no call that kills one task (neither has Mesos'): a framework's\ntask is killed "
                     "through that framework.");
  set.addString("master", &master, "The master, host:port or zk://hosts/path (or MANTLE_MASTER).");
  set.addBool("teardown", &tearDown, "Tear down the task's framework even if `mantle run` did not start it.");
  set.addString("framework", &framework, "Tear down this framework (an id) instead of naming a task.");
  set.addDuration("wait", &wait, "How long to wait for the task to end.");
  std::vector<std::string> flagArgs, positional;
  splitArgs(args, {"master", "framework", "wait"}, flagArgs, positional);
  if (int rc = parseCommandFlags(set, "mantle kill", flagArgs); rc >= 0) return rc;
  if (Result<std::string> leader = resolveMaster(master); leader.ok()) {
    master = *leader;
  } else {
    return fail(leader.error().message);
  }

  if (!framework.empty()) {
    if (!positional.empty()) return fail("name a task or --framework, not both", 2);
    auto fw = frameworkOf(master, framework);
    if (!fw.ok()) return fail(fw.error().message);
    if ((*fw)["completed"].asBool()) return fail("framework " + framework + " has already been removed");
    if (Status s = teardown(master, framework); !s.ok()) return fail("tearing down: " + s.error().message);
    std::cout << "framework " << framework << " (" << (*fw)["name"].asString() << ") torn down\n";
    return 0;
  }
  if (positional.size() != 1) return fail("name one task (mantle kill [--teardown] TASK)", 2);
  auto location = locateTask(master, positional[0]);
  if (!location.ok()) return fail(location.error().message);
  const std::string state = location->task["state"].asString();
  if (wire::isTerminal(state)) return fail("task " + location->id + " has already ended (" + state + ")");
  auto fw = frameworkOf(master, location->frameworkId);
  if (!fw.ok()) return fail(fw.error().message);
  const std::string name = (*fw)["name"].asString();
  if (!startedByRun(*fw) && !tearDown) {
    return fail("task " + location->id + " belongs to framework '" + name + "' (" + location->frameworkId +
                "), which `mantle run` did not start; the operator API cannot kill a single task, so ask that "
                "framework to kill it, or pass --teardown to tear the framework down with all " +
                std::to_string((*fw)["tasks"].size()) + " of its tasks");
  }
  if (Status s = teardown(master, location->frameworkId); !s.ok()) {
    return fail("tearing down framework " + location->frameworkId + ": " + s.error().message);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait);
  std::string now = state;
  while (!wire::isTerminal(now) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto again = locateTask(master, location->id);
    if (again.ok()) now = again->task["state"].asString();
  }
  if (!wire::isTerminal(now)) {
    return fail("framework '" + name + "' was torn down but task " + location->id + " is still " + now);
  }
  std::cout << "task " << location->id << " " << now << " (framework '" << name << "' torn down)\n";
  return 0;
}

}  // namespace mantle::cli
