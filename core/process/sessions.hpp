// Finding and ending the processes of containers. Executors and their tasks
// run in sessions of their own, with their working directory in a sandbox, so
// "everything under this work dir" is the set of sessions of processes whose
// working directory lies under it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <set>

namespace mantle::process {

// Session ids of the processes whose working directory is under `root`.
std::set<pid_t> sessionsUnder(const std::filesystem::path& root);

// SIGKILLs every process of those sessions, again until none is left (or
// about a second has passed). Never touches the caller's own session.
void killSessionsUnder(const std::filesystem::path& root);

}  // namespace mantle::process
