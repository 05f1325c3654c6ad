#include "listening.hpp"

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include "container.hpp"
#include "text.hpp"

namespace mantle::isolators::network_ports {

namespace cc = ::mantle::isolators::cgroups_common;
namespace fs = std::filesystem;

namespace {

constexpr const char* kListen = "0A";  // TCP_LISTEN, as /proc/net/tcp prints it

std::string readLink(const fs::path& path) {
  char buffer[256];
  ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

// The inodes of the sockets process `pid` holds.
std::set<std::uint64_t> socketInodes(pid_t pid) {
  std::set<std::uint64_t> inodes;
  std::error_code error;
  for (fs::directory_iterator it(fs::path("/proc") / std::to_string(pid) / "fd", error), end; !error && it != end;
       it.increment(error)) {
    std::string target = readLink(it->path());
    if (target.rfind("socket:[", 0) != 0) continue;
    try {
      inodes.insert(std::stoull(target.substr(8)));
    } catch (const std::exception&) {
    }
  }
  return inodes;
}

}  // namespace

std::map<std::uint64_t, std::uint16_t> parseListening(const std::string& procNetTcp) {
  std::map<std::uint64_t, std::uint16_t> out;
  std::istringstream lines(procNetTcp);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    std::vector<std::string> f = cc::splitWhitespace(line);
    if (f.size() < 10 || f[3] != kListen) continue;
    std::size_t colon = f[1].rfind(':');
    if (colon == std::string::npos) continue;
    try {
      auto port = static_cast<std::uint16_t>(std::stoul(f[1].substr(colon + 1), nullptr, 16));
      std::uint64_t inode = std::stoull(f[9]);
      if (inode != 0) out[inode] = port;
    } catch (const std::exception&) {
      continue;  // a line we do not understand
    }
  }
  return out;
}

std::set<std::uint16_t> listeningPorts(const std::vector<pid_t>& pids) {
  // Sockets the processes share with a parent outside the set are not
  // theirs: a container root is a fork of the agent and holds the agent's
  // sockets (its listening ones too) until it has closed what it inherited.
  const std::set<pid_t> members(pids.begin(), pids.end());
  std::set<pid_t> outsideParents;
  for (pid_t pid : pids) {
    std::optional<cc::ProcessStat> stat = cc::processStat(pid);
    if (stat && stat->parent > 1 && members.count(stat->parent) == 0) outsideParents.insert(stat->parent);
  }
  std::set<std::uint64_t> inherited;
  for (pid_t parent : outsideParents) inherited.merge(socketInodes(parent));
  // Socket inodes per network namespace, and one process to read it through.
  std::map<std::string, std::pair<pid_t, std::set<std::uint64_t>>> byNamespace;
  for (pid_t pid : pids) {
    const fs::path proc = fs::path("/proc") / std::to_string(pid);
    std::string netns = readLink(proc / "ns" / "net");
    if (netns.empty()) continue;  // gone
    auto& entry = byNamespace[netns];
    entry.first = pid;
    for (std::uint64_t inode : socketInodes(pid)) {
      if (inherited.count(inode) == 0) entry.second.insert(inode);
    }
  }
  std::set<std::uint16_t> ports;
  for (const auto& [netns, entry] : byNamespace) {
    if (entry.second.empty()) continue;
    for (const char* file : {"tcp", "tcp6"}) {
      Result<std::string> text = cc::readText(fs::path("/proc") / std::to_string(entry.first) / "net" / file);
      if (!text.ok()) continue;
      for (const auto& [inode, port] : parseListening(*text)) {
        if (entry.second.count(inode) > 0) ports.insert(port);
      }
    }
  }
  return ports;
}

}  // namespace mantle::isolators::network_ports
