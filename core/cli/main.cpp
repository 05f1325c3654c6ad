// mantle: the command-line interface.
#include <iostream>
#include <string>
#include <vector>

#include <glog/logging.h>

#include "cluster_command.hpp"
#include "list_commands.hpp"
#include "modules_command.hpp"
#include "run_command.hpp"
#include "sim/sim_command.hpp"
#include "task_commands.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: mantle COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  cluster up|down             start or stop a master and an agent on this machine\n"
    "  run [options] -- COMMAND    run COMMAND as a task; exits with its exit code\n"
    "  agents                      list the agents (--json for scripts)\n"
    "  frameworks                  list the frameworks (--all, --json)\n"
    "  tasks                       list the tasks (--all, --framework=ID, --json)\n"
    "  logs [-f] [--stderr] TASK   print a task's output from its sandbox\n"
    "  kill TASK                   end a task (see 'mantle kill --help')\n"
    "  modules check MANIFEST...   check module manifests as master and agent load them\n"
    "  modules list LIBRARY...     show the modules a library provides\n"
    "  sim                         replay a trace through allocator modules (see 'mantle sim --help')\n"
    "  version                     print Mantle's version\n"
    "\n"
    "Run 'mantle COMMAND --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;  // warnings and errors only: the CLI prints its own output
  google::InitGoogleLogging(argv[0]);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::cout << "mantle " << MANTLE_VERSION << "\n";
    return 0;
  }
  if (command == "modules") return mantle::cli::modulesCommand(rest);
  if (command == "cluster") return mantle::cli::clusterCommand(rest);
  if (command == "run") return mantle::cli::runCommand(rest);
  if (command == "agents") return mantle::cli::agentsCommand(rest);
  if (command == "frameworks") return mantle::cli::frameworksCommand(rest);
  if (command == "tasks") return mantle::cli::tasksCommand(rest);
  if (command == "logs") return mantle::cli::logsCommand(rest);
  if (command == "kill") return mantle::cli::killCommand(rest);
  if (command == "sim") return mantle::sim::simCommand(rest);
  std::cerr << "mantle: error: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
