#include "lb/haproxy.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <glog/logging.h>

namespace mantle::lb {

namespace fs = std::filesystem;

std::string shellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

CommandResult runCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    result.output = "cannot run /bin/sh";
    return result;
  }
  char buffer[4096];
  std::size_t read = 0;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    if (result.output.size() < 65536) result.output.append(buffer, read);
  }
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

namespace {

std::vector<pid_t> readPids(const std::string& path) {
  std::vector<pid_t> pids;
  std::ifstream in(path);
  long pid = 0;
  while (in >> pid) {
    if (pid > 1 && ::kill(static_cast<pid_t>(pid), 0) == 0) pids.push_back(static_cast<pid_t>(pid));
  }
  return pids;
}

}  // namespace

Haproxy::Haproxy(HaproxyOptions options) : options_(std::move(options)) {}

std::string Haproxy::adminSocket() const {
  return options_.reloadCommand.empty() ? options_.configPath + ".sock" : "";
}

Status Haproxy::apply(const std::string& config) {
  const std::string staged = options_.configPath + ".new";
  {
    std::ofstream out(staged, std::ios::trunc);
    out << config;
    out.close();
    if (!out) return Error(StatusCode::kUnavailable, "cannot write " + staged);
  }
  CommandResult check = runCommand(shellQuote(options_.binary) + " -c -q -f " + shellQuote(staged));
  if (check.status != 0) {
    std::error_code ignored;
    fs::remove(staged, ignored);
    return Error(StatusCode::kInvalidArgument, "HAProxy refuses the configuration: " + check.output);
  }
  std::error_code error;
  fs::rename(staged, options_.configPath, error);
  if (error) return Error(StatusCode::kUnavailable, "cannot replace " + options_.configPath + ": " + error.message());
  return reload();
}

Status Haproxy::reload() {
  std::string command;
  if (!options_.reloadCommand.empty()) {
    command = options_.reloadCommand;
  } else {
    command =
        shellQuote(options_.binary) + " -f " + shellQuote(options_.configPath) + " -p " + shellQuote(pidFile()) + " -D";
    const std::vector<pid_t> running = readPids(pidFile());
    if (!running.empty()) {
      if (fs::exists(adminSocket())) command += " -x " + shellQuote(adminSocket());
      command += " -sf";
      for (pid_t pid : running) command += " " + std::to_string(pid);
    }
  }
  CommandResult result = runCommand(command);
  if (result.status != 0) {
    return Error(StatusCode::kUnavailable,
                 "'" + command + "' exited with " + std::to_string(result.status) + ": " + result.output);
  }
  LOG(INFO) << "HAProxy (re)loaded: " << command;
  return {};
}

void Haproxy::stop() {
  if (!options_.reloadCommand.empty()) return;
  for (pid_t pid : readPids(pidFile())) ::kill(pid, SIGUSR1);
  for (int i = 0; i < 150 && !readPids(pidFile()).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (pid_t pid : readPids(pidFile())) ::kill(pid, SIGTERM);
}

}  // namespace mantle::lb
