// Real child processes for tests: spawned with arguments and environment,
// output captured to a file, and always gone (whole process group killed and
// reaped) when the object goes away, even when the test fails.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mantle::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` (a path) in its own process group, stdout and stderr
  // appended to `logFile`. Extra environment entries override the parent's.
  ChildProcess(std::vector<std::string> argv, std::filesystem::path logFile,
               std::map<std::string, std::string> environment = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // From now on, children this process starts get SIGKILL when the thread
  // that started them ends (PR_SET_PDEATHSIG), above all when this process
  // is killed and no destructor runs: for programs such as the benchmarks,
  // which a timeout may kill. Start children from a thread that outlives them.
  static void dieWithThisProcess();

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `signal` to the whole process group.
  void signal(int signal);
  // SIGTERM to the group, SIGKILL after `grace`, then reaps. Returns the
  // wait status (or -1 when it was already reaped).
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // kill -9 of the process group, then reap.
  int kill();
  // Waits for the process to exit on its own; -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  // What the process wrote so far.
  std::string output() const;
  // Its last `lines` lines.
  std::string outputTail(int lines) const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::filesystem::path log_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int freePort();
// A TCP port free on every address a moment ago, outside the ephemeral range
// (10000-19999), for a server listening on 0.0.0.0: a port freePort() gives
// may be the local port of some connection on another address.
int freePortOnAllAddresses();

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Whether this process runs as root (the effective user): tests that need
// root skip without it.
bool isRoot();

// The name of the user this process runs as ("root" when it has none): the
// user a test's framework gives its tasks.
std::string currentUser();

// Path of a binary built by this build (build/bin/<name>).
std::string binary(const std::string& name);

}  // namespace mantle::testing
