// The floor a container launch is measured against: fork + (cgroup) + exec of
// a program, timed from before the fork until the exec happened (the child's
// close-on-exec pipe closes) or until the program exited. Shared by
// mantle_agent_launch_bench and mantle_master_launch_bench. And the same for
// mantle-executor until its SUBSCRIBE reaches a socket standing in for the
// agent.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace mantle::bench {

// Where a cgroup can be created: the unified (v2) hierarchy if mounted, else
// the v1 cpu controller; nullopt when neither is writable here.
inline std::optional<std::string> cgroupRoot() {
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  std::optional<std::string> v2;
  std::optional<std::string> v1;
  while (std::getline(mounts, line)) {
    std::istringstream in(line);
    std::string device, path, type, options;
    in >> device >> path >> type >> options;
    if (type == "cgroup2") v2 = path;
    if (type == "cgroup" && ("," + options + ",").find(",cpu,") != std::string::npos) v1 = path;
  }
  for (const auto& root : {v2, v1}) {
    if (!root) continue;
    const std::string probe = *root + "/mantle-bench-probe-" + std::to_string(::getpid());
    if (::mkdir(probe.c_str(), 0755) == 0) {
      ::rmdir(probe.c_str());
      return root;
    }
  }
  return std::nullopt;
}

// fork + (a new cgroup under `cgroupParent`, the child moved into it) + exec
// of `argv`; seconds until the exec happened, or with `untilExit` until the
// program exited. The cgroup is removed afterwards.
inline double spawnOnce(const std::optional<std::string>& cgroupParent, int serial,
                        std::vector<std::string> argv = {"/bin/true"}, bool untilExit = false) {
  const auto start = std::chrono::steady_clock::now();
  std::string cgroup;
  if (cgroupParent) {
    cgroup = *cgroupParent + "/mantle-bench-" + std::to_string(::getpid()) + "-" + std::to_string(serial);
    ::mkdir(cgroup.c_str(), 0755);
  }
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  char* noEnvironment[] = {nullptr};
  int execed[2];
  if (::pipe2(execed, O_CLOEXEC) != 0) return 0;
  const std::string procs = cgroup + "/cgroup.procs";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(execed[0]);
    if (!cgroup.empty()) {
      int fd = ::open(procs.c_str(), O_WRONLY);
      if (fd >= 0) {
        (void)!::write(fd, "0", 1);
        ::close(fd);
      }
    }
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    ::execve(args[0], args.data(), noEnvironment);
    ::_exit(127);
  }
  ::close(execed[1]);
  char byte;
  while (::read(execed[0], &byte, 1) > 0) {
  }
  auto end = std::chrono::steady_clock::now();
  ::close(execed[0]);
  ::waitpid(pid, nullptr, 0);
  if (untilExit) end = std::chrono::steady_clock::now();
  if (!cgroup.empty()) ::rmdir(cgroup.c_str());
  return std::chrono::duration<double>(end - start).count();
}

// fork + exec of mantle-executor (`path`) with the environment an agent
// gives it, pointed at a socket of ours: seconds from before the fork until
// the headers of its SUBSCRIBE request have arrived (0 when none came within
// 10 s). The executor is killed afterwards.
inline double executorSubscribeOnce(const std::string& path) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listener, 4) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (listener >= 0) ::close(listener);
    return 0;
  }
  std::vector<std::string> environment = {"MESOS_FRAMEWORK_ID=bench", "MESOS_EXECUTOR_ID=bench",
                                          "MESOS_AGENT_ENDPOINT=127.0.0.1:" + std::to_string(ntohs(address.sin_port)),
                                          "MESOS_SANDBOX=/tmp"};
  std::vector<char*> envp;
  for (std::string& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::string program = path;
  char* argv[] = {program.data(), nullptr};
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    ::execve(argv[0], argv, envp.data());
    ::_exit(127);
  }
  double seconds = 0;
  pollfd waiting{listener, POLLIN, 0};
  if (pid > 0 && ::poll(&waiting, 1, 10000) == 1) {
    int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    std::string received;
    char buffer[4096];
    pollfd reading{connection, POLLIN, 0};
    while (connection >= 0 && received.find("\r\n\r\n") == std::string::npos && ::poll(&reading, 1, 10000) == 1) {
      ssize_t n = ::read(connection, buffer, sizeof(buffer));
      if (n <= 0) break;
      received.append(buffer, static_cast<std::size_t>(n));
    }
    if (received.find("\r\n\r\n") != std::string::npos) {
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (connection >= 0) ::close(connection);
  }
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  ::close(listener);
  return seconds;
}

}  // namespace mantle::bench
