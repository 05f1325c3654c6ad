// What the isolator modules of this tree share about containers: the key a
// container is known by, its scalar and range resources, and the processes
// rooted at its pid.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mantle/module/v1/isolator.pb.h"

namespace mantle::isolators::cgroups_common {

namespace v1 = ::mantle::module::v1;
using Resources = google::protobuf::RepeatedPtrField<v1::Resource>;

// A nested container's key names its ancestors: "parent.child". It is also
// the name of the container's cgroup below the configured root.
std::string containerKey(const v1::ContainerID& id);
// The inverse, for containers found in the cgroup tree at recovery.
v1::ContainerID containerIdFromKey(const std::string& key);

// The sum of the scalar resources named `name`; nullopt when there are none.
// `persistentToo` false skips disk resources that are persistent volumes.
std::optional<double> scalar(const Resources& resources, const std::string& name, bool persistentToo = true);
// Whether any resource named `name` is revocable.
bool revocable(const Resources& resources, const std::string& name);
// The ranges of the range resources named `name`, inclusive.
std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges(const Resources& resources, const std::string& name);

// A process's state letter and parent, from /proc/<pid>/stat; nullopt when
// it is gone.
struct ProcessStat {
  char state = '?';
  pid_t parent = 0;
};
std::optional<ProcessStat> processStat(pid_t pid);

// `root` and every process below it (by parent pid, from /proc), root first;
// empty when root is gone.
std::vector<pid_t> processTree(pid_t root);

}  // namespace mantle::isolators::cgroups_common
