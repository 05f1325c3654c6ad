// Running a CNI plugin: its environment, its configuration on stdin, its
// result on stdout, within a deadline. Also the network namespace handling
// network/cni does around the plugins (a namespace held by a bind mount,
// loopback brought up inside it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::isolators::cni {

struct PluginOutput {
  int exitStatus = 0;  // the exit code, or 128 + the signal
  std::string out;
  std::string err;
};

// Runs `path` with exactly `environment` ("NAME=value") and `input` on its
// stdin, in a process group of its own. Past `timeout` the group is killed
// and the error is kDeadlineExceeded; a plugin that cannot start is an error
// too. A plugin that exits non-zero is an output, not an error.
Result<PluginOutput> runPlugin(const std::string& path, const std::vector<std::string>& environment,
                               std::string_view input, std::chrono::milliseconds timeout);

// The first of `dirs` holding an executable `type`; "" when none does.
std::string findPlugin(const std::vector<std::string>& dirs, const std::string& type);

// Holds the network namespace of `pid` at `path` (an empty file bind-mounted
// over with /proc/<pid>/ns/net): it outlives the process and the agent.
Status bindNetworkNamespace(pid_t pid, const std::string& path);

// Whether `path` is a bind mount of a namespace (nsfs).
bool isNamespaceMount(const std::string& path);

// Unmounts (lazily) and removes `path`; nothing there is no error.
Status releaseNetworkNamespace(const std::string& path);

// Brings the loopback interface of the namespace at `path` up.
Status bringLoopbackUp(const std::string& path);

}  // namespace mantle::isolators::cni
