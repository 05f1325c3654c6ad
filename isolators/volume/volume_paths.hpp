// The path rules of the volume isolators (Mesos' volume/sandbox_path and
// volume/host_path), free of file-system access so that they are unit-tested
// alone: which ContainerInfo volumes a container has, what kind each is, and
// where on the host its mount lands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mantle/module/v1/isolator.pb.h"
#include "mantle/module/v1/mesos.pb.h"
#include "mantle/result.hpp"

namespace mantle::isolators::volume {

namespace v1 = ::mantle::module::v1;

// Mesos' numbers: Volume.mode, Volume.Source.type, SandboxPath.type.
inline constexpr std::uint32_t kReadOnly = 2;
inline constexpr std::uint32_t kSourceSandboxPath = 2;
inline constexpr std::uint32_t kSourceHostPath = 4;
inline constexpr std::uint32_t kSandboxSelf = 1;
inline constexpr std::uint32_t kSandboxParent = 2;

// Where containers with a root filesystem see their sandbox (Mesos'
// --sandbox_directory).
inline constexpr const char* kDefaultSandboxDirectory = "/mnt/mesos/sandbox";

// One ContainerInfo volume of a container, with the name errors give it
// ("task 't1' volumes[0] (container_path '/data')").
struct ContainerVolume {
  const v1::Volume* volume = nullptr;
  std::string name;
  bool groupTask = false;  // a task of a task group (PARENT: the executor's sandbox)
};

// The volumes of a container: its command task's ContainerInfo (else its
// executor's) and, for a task group, the executor's and every task's.
std::vector<ContainerVolume> containerVolumes(const v1::ContainerConfig& config);

// What a volume is, as Mesos reads it. The legacy form (Volume.host_path
// without a source) is a HOST_PATH volume when absolute and a SANDBOX_PATH
// SELF volume when relative.
struct VolumeKind {
  enum Type { kSandboxPath, kHostPath, kOther } type = kOther;  // kOther: another isolator's (image, secret, ...)
  std::string path;                                             // the sandbox path or host path
  std::uint32_t sandboxType = kSandboxSelf;
};
Result<VolumeKind> classify(const ContainerVolume& volume);

// `path` is relative and stays below its base: not empty, no ".." component.
Status checkRelative(const std::string& path, const std::string& what);

// `path` equals `root` or lies below it, comparing whole components of the
// two (lexically normal, absolute) paths.
bool isWithin(const std::string& path, const std::string& root);

// Where a volume at `containerPath` is mounted, on the host, for a container
// whose sandbox is `sandbox` and root filesystem `rootfs` ("": the host's):
//  - absolute, with a rootfs: <rootfs>/<container_path>;
//  - absolute, without: <container_path> itself, which must already exist
//    (mustExist), so that no mount point is made in the host's file system;
//  - relative (below the sandbox): <sandbox>/<container_path>, or with a
//    rootfs <rootfs>/<sandbox_directory>/<container_path>; the mount point is
//    made in the sandbox first (sandboxMountPoint), where the sandbox's own
//    bind mount into the rootfs cannot hide it.
struct MountPoint {
  std::string target;
  bool mustExist = false;
  std::string sandboxMountPoint;  // empty: none to make
};
Result<MountPoint> mountPoint(const std::string& containerPath, const std::string& sandbox, const std::string& rootfs,
                              const std::string& sandboxDirectory, const std::string& what);

}  // namespace mantle::isolators::volume
