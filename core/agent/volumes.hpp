// Persistent volumes on this agent, with Mesos' layout and rules. The agent
// owns them rather than an isolator module: it keeps the checkpointed
// resources that say which volumes exist (so it makes and removes their
// directories on CREATE and DESTROY), it knows which containers use a volume
// (DESTROY, ownership of a shared volume), and every container with a
// persistent volume must get it whatever --isolation says. The volume is a
// bind mount made by the launcher in the container's own mount namespace
// (LaunchPlan.mounts), so nothing is mounted on the host and nothing is left
// when the container ends.
//
// Also here: the ContainerInfo volumes no isolator of this agent can give
// (image volumes), refused rather than ignored.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "agent/launcher.hpp"
#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace mantle::agent::volumes {

bool isPersistentVolume(const mesos::v1::Resource& resource);

// <work_dir>/volumes/roles/<role>/<persistence id>, a '/' of a hierarchical
// role written as ' ' (as Mesos does). Errors: an id or role that is not a
// safe path component; a volume on a PATH or MOUNT disk (not supported).
Result<std::string> persistentVolumePath(const std::string& workDir, const mesos::v1::Resource& volume);

// The checkpointed resources went from `before` to `after`: makes the
// directory of every new persistent volume (an existing one is kept, as
// Mesos does) and removes the directory of every destroyed one, unless
// `inUse(path)` says a container still has it (an error naming it, the
// directory kept). Goes on past a failing volume; the first error is returned.
Status syncPersistentVolumes(const std::string& workDir, const std::vector<mesos::v1::Resource>& before,
                             const std::vector<mesos::v1::Resource>& after,
                             const std::function<bool(const std::string& path)>& inUse);

struct PersistentMount {
  std::string persistenceId;
  std::string source;  // the volume's directory
  LaunchPlan::Mount mount;
  bool shared = false;
};

// The mounts of the persistent volumes among `resources` for a container
// whose sandbox is `sandbox`: each at <sandbox>/<disk.volume.container_path>
// (relative, below the sandbox, as Mesos mounts them; a container with a root
// filesystem sees them under its sandbox directory), read-only for mode RO.
// A volume named twice (a shared volume of two tasks of a group) is mounted
// once. Errors name the volume.
Result<std::vector<PersistentMount>> persistentVolumeMounts(const std::string& workDir,
                                                            const std::vector<mesos::v1::Resource>& resources,
                                                            const std::string& sandbox);

// Gives the volume's directory itself (not what is in it) to `uid`:`gid`,
// as Mesos does for a container whose user is not root.
Status giveVolume(const std::string& path, uid_t uid, gid_t gid);

// Refuses the ContainerInfo volumes this agent would not give: volumes whose
// isolator (Mesos' name: volume/image, volume/sandbox_path, volume/host_path,
// volume/secret, docker/volume, volume/csi) is not among `isolators`, the modules in --isolation, rather
// than run the task without them. `owner` names the task in the message.
Status checkSupportedVolumes(const mesos::v1::ContainerInfo& container, const std::string& owner,
                             const std::vector<std::string>& isolators);

// Refuses SECRET environment variables of `command` when environment_secret
// is not among `isolators`, rather than run the task without them.
Status checkSecretEnvironment(const mesos::v1::CommandInfo& command, const std::string& owner,
                              const std::vector<std::string>& isolators);

// A task joining a running executor's container cannot get a mount there any
// more: its persistent volumes must be the executor's own (mounted at the
// container's launch), and a task group's task may bring no ContainerInfo
// volumes. The error names the task and the volume.
Status checkJoiningTask(const mesos::v1::ExecutorInfo& executor, bool taskGroup, const mesos::v1::TaskInfo& task);

}  // namespace mantle::agent::volumes
