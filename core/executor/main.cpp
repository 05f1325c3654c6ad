// mantle-executor: the command executor the agent starts for tasks without
// an ExecutorInfo (and for task groups). See executor.hpp.
#include <signal.h>
#include <unistd.h>

#include <glog/logging.h>

#include <iostream>
#include <map>
#include <string>

#include "executor/executor.hpp"

extern char** environ;

int main(int argc, char** argv) {
  // Descriptors a parent leaked (a listening socket, a pipe) are not ours.
  ::close_range(3, ~0U, 0);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 2;  // the task's stderr is the sandbox's stderr: keep it the task's
  google::InitGoogleLogging(argv[0]);
  ::signal(SIGPIPE, SIG_IGN);
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text = *entry;
    std::size_t eq = text.find('=');
    if (eq != std::string::npos) environment[text.substr(0, eq)] = text.substr(eq + 1);
  }
  auto config = mantle::executor::configFromEnvironment(environment);
  if (!config.ok()) {
    std::cerr << "mantle-executor: " << config.error().message << std::endl;
    return 1;
  }
  if (mantle::Status applied = mantle::executor::applyArguments({argv + 1, argv + argc}, *config); !applied.ok()) {
    std::cerr << "mantle-executor: " << applied.error().message << std::endl;
    return 1;
  }
  return mantle::executor::runExecutor(*config);
}
