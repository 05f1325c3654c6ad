// The process side of a container: starts the container's root process
// (mantle-container-root, container_root.hpp) in a session of its own, which holds the executor back until the
// isolators have seen its pid, then runs the executor with the container's user, environment and working directory, and
// copies the executor's stdout and stderr into the sandbox files `stdout` and `stderr`, rotating them at a size cap
// (`stdout.1`, `stdout.2`, ...).
//
// The root process outlives the agent: it and everything it starts belong to
// the container, not to the agent, so an agent crash leaves them running. It
// ignores SIGTERM (so a graceful kill lets it drain the executor's last output)
// and exits with the executor's status (128 + signal when the executor was
// killed by a signal).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "process/users.hpp"

namespace mantle::agent {

struct LaunchPlan {
  // The container root program to run: mantle-container-root in the agent's
  // --launcher_dir. Required.
  std::string rootProgram;
  // The program's argv; argv[0] is what the program sees as its name.
  std::vector<std::string> argv;
  // The path of the program run (no PATH search); empty: argv[0].
  std::string executable;
  std::map<std::string, std::string> environment;
  std::string sandbox;           // where stdout/stderr go
  std::string workingDirectory;  // empty: the sandbox (with a rootfs: a path inside it, empty: "/")
  // Run as this user (uid, gid, supplementary groups); empty: as the agent.
  // "uid" or "uid:gid" in digits is taken as is (a user of an image's
  // /etc/passwd, which the host may not know), with no supplementary groups.
  std::optional<std::string> user;
  // The root filesystem the executor runs in (a host path; its mounts are in
  // `mounts`): the executor's process unshares a mount namespace of its own
  // and pivot_roots into it after the pre-exec commands (which run on the
  // host's filesystem, in the sandbox), so the container's root process keeps
  // the host's paths for the log files. A program without a '/' is looked up
  // in the environment's PATH inside the rootfs. Empty: the host's filesystem.
  std::string rootfs;
  // Shell commands of the isolators, run as root inside the container's new
  // namespaces (from its pid 1, in the working directory) before the executor.
  std::vector<std::string> preExecCommands;
  // CLONE_NEW* flags the container root unshares right after the fork,
  // before the isolators' isolate (so a network namespace exists by then).
  std::uint32_t cloneNamespaces = 0;
  // Mounts made, in order, in the container's own mount namespace right after
  // the unshare (CLONE_NEWNS is added when there are any; every mount is first
  // made a slave of the host's). A missing target is created: a directory, or
  // an empty file when the source is not a directory.
  struct Mount {
    std::string source;
    std::string target;
    std::string type;  // empty: a bind mount
    std::string options;
    bool readOnly = false;
    bool recursive = false;
  };
  std::vector<Mount> mounts;
  // Hardening the isolators ask for, applied after the pre-exec commands in
  // this order, right before exec (see ContainerLaunchInfo in isolator.proto).
  std::string hostname;  // empty: unchanged
  struct RLimit {
    int resource = 0;
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
  };
  std::vector<RLimit> rlimits;
  struct Capabilities {
    std::uint64_t bounding = 0;   // CAP_* bit mask
    std::uint64_t effective = 0;  // a subset of bounding
  };
  std::optional<Capabilities> capabilities;  // nullopt: unchanged
  bool noNewPrivileges = false;
  std::string seccompFilter;                     // struct sock_filter[]; empty: none
  std::uint64_t logMaxBytes = 10 * 1024 * 1024;  // per file
  int logMaxFiles = 3;                           // rotated copies kept
};

// A started container root that waits for release().
class PendingLaunch {
 public:
  PendingLaunch(pid_t pid, int releaseFd) : pid_(pid), releaseFd_(releaseFd) {}
  ~PendingLaunch();
  PendingLaunch(PendingLaunch&& other) noexcept;
  PendingLaunch& operator=(PendingLaunch&&) = delete;
  PendingLaunch(const PendingLaunch&) = delete;

  pid_t pid() const { return pid_; }
  // Lets the executor start. Without it the root process exits (status 127)
  // when this object goes away.
  Status release();

 private:
  pid_t pid_ = -1;
  int releaseFd_ = -1;
};

// Starts the container root (plan.rootProgram); with namespaces or mounts to set up, returns once they are in
// place. Errors: the user does not exist, the root program could not be
// started (the message names it), the set-up failed.
Result<PendingLaunch> forkContainer(const LaunchPlan& plan);

using UserIds = process::UserIds;

// The ids of `user` on the host ("uid[:gid]" in digits, or a name). Errors:
// no such user (the message names it).
Result<UserIds> lookupUser(const std::string& user);

// Gives `path` and everything under it (symlinks themselves, not their
// targets) to `user` and the user's primary group, as looked up in
// `rootfs`'s /etc/passwd (an image's), or on the host when `rootfs` is empty.
// Errors: no such user, a file that cannot be changed.
Status chownTree(const std::string& path, const std::string& user, const std::string& rootfs = "");

// The start time of `pid` in clock ticks since boot (field 22 of
// /proc/<pid>/stat), to tell a pid from its reuse; nullopt when no such
// process (zombies count as gone).
std::optional<std::uint64_t> processStartTime(pid_t pid);

// Every process whose session id is `sid`.
std::vector<pid_t> sessionProcesses(pid_t sid);

// Sends `signal` to every process of session `sid`; the number signalled.
int signalSession(pid_t sid, int signal);

}  // namespace mantle::agent
