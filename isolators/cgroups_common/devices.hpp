// Device access rules ("c 1:3 rwm") and how they are applied to a cgroup:
// on v1 through devices.allow / devices.deny. (On v2 the kernel has no device
// controller files; see isolators/cgroups/README.md.)
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::isolators::cgroups_common {

struct DeviceEntry {
  char type = 'a';                // 'a' (all), 'c' (character), 'b' (block)
  std::optional<unsigned> major;  // nullopt: any ('*')
  std::optional<unsigned> minor;  // nullopt: any ('*')
  std::string access = "rwm";     // a subset of "rwm"

  // The kernel's text: "c 1:3 rwm", "a *:* rwm".
  std::string format() const;
  // Whether this entry allows everything `other` allows.
  bool covers(const DeviceEntry& other) const;
  bool operator==(const DeviceEntry&) const = default;
};

// "c 1:3 rwm", "b 8:* r", "a", or a device path with optional access
// ("/dev/fuse rw"; the type and numbers are read with stat()).
Result<DeviceEntry> parseDeviceEntry(const std::string& text);

// What every container may use: mknod of any node, the memory devices
// (null, zero, full, random, urandom), tty, console, ptmx, the pseudo
// terminals and net/tun.
std::vector<DeviceEntry> defaultDevices();

// v1: replaces the cgroup's rules with exactly `allowed`.
Status restrictV1(const std::filesystem::path& dir, const std::vector<DeviceEntry>& allowed);
// v1: adds rules to devices.allow or devices.deny.
Status allowV1(const std::filesystem::path& dir, const std::vector<DeviceEntry>& entries);
Status denyV1(const std::filesystem::path& dir, const std::vector<DeviceEntry>& entries);
// v1: the cgroup's current rules (devices.list).
Result<std::vector<DeviceEntry>> listV1(const std::filesystem::path& dir);

}  // namespace mantle::isolators::cgroups_common
