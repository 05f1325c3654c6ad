// The container's root process: the program mantle-container-root, which the
// agent starts for every container (launcher.hpp's forkContainer) with the
// container's plan. Started from the agent with an exec instead of as a fork
// of it, it owns none of the agent's memory: a fork would copy the page
// tables of the agent (dozens of threads and their arenas) for every
// container, and write-protect the agent's memory, whose every later write
// then faults (bench/README.md, "Launch speed on one agent").
//
// mantle-container-root runs in a session of its own (the agent makes it the
// session's leader before the exec) with
//   fd 3: the release pipe (a byte: start the executor; end of file: exit 127),
//   fd 4: the set-up pipe (closed once the namespaces and mounts are in place;
//         errno and a message when they failed, then exit 126),
//   fd 5: the plan, encodeRootPlan's bytes (read from offset 0).
// It then runs the executor with the container's user, environment and
// working directory, copies its stdout and stderr into the sandbox files,
// ignores SIGTERM and exits with the executor's status (see launcher.hpp).
#pragma once

#include <linux/capability.h>
#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/launcher.hpp"

namespace mantle::agent {

// Everything the container root needs, built in the agent (launcher.cpp's
// prepare) and handed to mantle-container-root encoded (encodeRootPlan). The
// root and the executor's process before its exec make only
// async-signal-safe calls with it. `argv`, `envp` and `preExec` point into
// the storage beside them (linkPointers).
struct RootPlan {
  std::string executable;
  std::vector<std::string> argvStorage;
  std::vector<char*> argv;
  std::vector<std::string> envStorage;
  std::vector<char*> envp;
  std::vector<std::string> stdoutPaths;  // stdout, stdout.1, ...
  std::vector<std::string> stderrPaths;
  std::string workingDirectory;
  std::string preExecDirectory;  // the working directory, or the sandbox with a rootfs
  std::string rootfs;
  // With a rootfs, a program named without a '/': where to try it, in PATH order.
  std::vector<std::string> executableCandidates;
  bool switchUser = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<std::vector<std::string>> preExecStorage;
  std::vector<std::vector<char*>> preExec;
  std::uint32_t cloneNamespaces = 0;
  struct Mount {
    std::string source;
    std::string target;
    std::string type;
    std::string options;
    unsigned long flags = 0;
    bool readOnlyRemount = false;     // a bind mount made read-only afterwards
    std::vector<std::string> mkdirs;  // the target's ancestors (and itself), outermost first
    bool createFile = false;          // the target is an empty file
  };
  std::vector<Mount> mounts;
  std::uint64_t logMaxBytes = 0;
  std::string hostname;
  std::vector<LaunchPlan::RLimit> rlimits;
  std::optional<LaunchPlan::Capabilities> capabilities;
  int lastCap = CAP_LAST_CAP;  // the kernel's, from /proc/sys/kernel/cap_last_cap
  bool noNewPrivileges = false;
  std::vector<sock_filter> seccompFilter;
};

// Points `argv`, `envp` and `preExec` at their storage (null-terminated).
void linkPointers(RootPlan& plan);

// The plan as bytes for mantle-container-root, and back (false: the bytes
// are not a whole plan).
std::string encodeRootPlan(const RootPlan& plan);
bool decodeRootPlan(std::string_view bytes, RootPlan& plan);

// mantle-container-root's work: reads its plan, and goes on as above. A plan
// that is not whole fails its set-up (EINVAL).
[[noreturn]] void runContainerRoot();

}  // namespace mantle::agent
