// Where each cgroup controller lives on this host. Hosts come in three
// shapes: cgroups v1 (one hierarchy per controller, or a few co-mounted),
// cgroups v2 (one unified hierarchy whose controllers are enabled per subtree
// through cgroup.subtree_control), and hybrids of both, where a controller
// is bound to a v1 hierarchy and everything else is in the unified one. The
// layout is read from /proc/self/mountinfo and /proc/self/cgroup; nothing is
// assumed.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::isolators::cgroups_common {

enum class Version { kV1 = 1, kV2 = 2 };

// One mounted hierarchy, seen from this process.
struct Hierarchy {
  Version version = Version::kV1;
  std::filesystem::path mountPoint;  // e.g. /sys/fs/cgroup/memory
  std::string ownPath = "/";         // this process's cgroup in it, relative to the mount ("/a/b")

  // The directory of this process's own cgroup.
  std::filesystem::path ownDir() const;
  // Where a configured root lives: an absolute root ("/mantle") is relative to
  // the hierarchy's mount, a relative one ("mantle") to this process's cgroup.
  std::filesystem::path rootDir(const std::string& root) const;
  // The directory below which rootDir(root) is created (its parent chain
  // starts there): the mount for absolute roots, ownDir() otherwise.
  std::filesystem::path baseDir(const std::string& root) const;
};

class Layout {
 public:
  // Reads the layout of the running host.
  static Result<Layout> detect();
  // Builds a layout from the text of /proc/self/mountinfo and /proc/self/cgroup;
  // `readFile` reads a file (used for the unified hierarchy's
  // cgroup.controllers). Tests feed it fixed text.
  static Result<Layout> parse(const std::string& mountinfo, const std::string& procSelfCgroup,
                              const std::function<std::string(const std::filesystem::path&)>& readFile);

  // The hierarchy that controls `controller` ("cpu", "memory", ...), v1 first
  // (a controller bound to a v1 hierarchy is absent from the unified one).
  std::optional<Hierarchy> find(const std::string& controller) const;
  std::optional<Hierarchy> unified() const { return unified_; }
  // Every v1 hierarchy by controller name (co-mounted controllers repeat).
  const std::map<std::string, Hierarchy>& v1() const { return v1_; }
  std::vector<std::string> v2Controllers() const { return v2Controllers_; }
  // "cpu=v1:/sys/fs/cgroup/cpu memory=v1:... unified=v2:/sys/fs/cgroup/unified[cpu memory]".
  std::string describe() const;

 private:
  std::map<std::string, Hierarchy> v1_;
  std::optional<Hierarchy> unified_;
  std::vector<std::string> v2Controllers_;
};

}  // namespace mantle::isolators::cgroups_common
