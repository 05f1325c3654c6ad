// Operations on one cgroup directory, v1 or v2: creating it (enabling v2
// controllers on the way down), moving a process in, listing its processes,
// and destroying it even when processes linger in it (freeze, kill, wait,
// remove).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "layout.hpp"
#include "mantle/result.hpp"

namespace mantle::isolators::cgroups_common {

// mkdir -p.
Status makeDirs(const std::filesystem::path& dir);

// On a v2 hierarchy, enables `controllers` in cgroup.subtree_control of every
// cgroup from `h.baseDir(root)` down to `h.rootDir(root)` (creating the
// latter), so that cgroups created below the root get them. A controller the
// base cgroup does not offer, or a base cgroup that holds processes (the
// no-internal-processes rule), is an error that says so. On v1 it only
// creates the root.
Status prepareRoot(const Hierarchy& h, const std::string& root, const std::vector<std::string>& controllers);

// Moves `pid` (and its threads) into the cgroup.
Status addProcess(const std::filesystem::path& dir, pid_t pid);
// The processes in the cgroup (cgroup.procs). kNotFound when it is gone.
Result<std::vector<pid_t>> processes(const std::filesystem::path& dir);
// The threads in the cgroup (v1 `tasks`, v2 `cgroup.threads`).
Result<std::vector<pid_t>> threads(Version version, const std::filesystem::path& dir);
// The names of the cgroups directly below `dir` (none when it is missing).
std::vector<std::string> children(const std::filesystem::path& dir);

struct DestroyOptions {
  // A v1 freezer cgroup that holds the same processes; used to freeze them
  // before killing, so that none forks while being killed.
  std::optional<std::filesystem::path> v1Freezer;
  std::chrono::milliseconds timeout{10000};
};

// Kills every process in the cgroup and waits until it is empty: v2
// cgroup.kill where the kernel has it; otherwise freeze (v2 cgroup.freeze, or
// the v1 freezer), SIGKILL each process, thaw; then SIGKILL whatever is left
// until the cgroup is empty or the timeout passes.
Status killAll(Version version, const std::filesystem::path& dir, const DestroyOptions& options);
// killAll, then rmdir (retried while the kernel still reports it busy). A
// cgroup that does not exist is already destroyed.
Status destroy(Version version, const std::filesystem::path& dir, const DestroyOptions& options);

}  // namespace mantle::isolators::cgroups_common
