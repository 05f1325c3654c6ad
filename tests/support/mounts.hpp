// What tests of containers check on the host's mount table: the mount
// points left below a directory, and whether the kernel has overlayfs; and
// how they remove what a failed test left mounted.
#pragma once

#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mantle::testing {

// The mount points in /proc/self/mountinfo at or below `dir`, in mount order.
inline std::vector<std::string> mountsUnder(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    if (fields >> id >> parent >> device >> root >> point && point.rfind(dir.string(), 0) == 0) {
      out.push_back(point);
    }
  }
  return out;
}

// Detaches every mount at or below `dir`, the last mounted first.
inline void unmountAllUnder(const std::filesystem::path& dir) {
  const std::vector<std::string> mounts = mountsUnder(dir);
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
}

inline bool overlayAvailable() {
  std::ifstream in("/proc/filesystems");
  for (std::string line; std::getline(in, line);) {
    if (line.find("\toverlay") != std::string::npos) return true;
  }
  return false;
}

}  // namespace mantle::testing
