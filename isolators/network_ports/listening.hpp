// Which TCP ports a set of processes listens on: their socket inodes (from
// /proc/<pid>/fd) matched against the listening sockets of their network
// namespaces (/proc/<pid>/net/tcp and tcp6).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace mantle::isolators::network_ports {

// inode -> port of the sockets in state LISTEN, from the text of a
// /proc/net/tcp or /proc/net/tcp6 file.
std::map<std::uint64_t, std::uint16_t> parseListening(const std::string& procNetTcp);

// The TCP ports that `pids` listen on, but for sockets one of them shares
// with its parent when that parent is not in `pids` (inherited, such as the
// agent's own sockets in a container root it just forked).
std::set<std::uint16_t> listeningPorts(const std::vector<pid_t>& pids);

}  // namespace mantle::isolators::network_ports
