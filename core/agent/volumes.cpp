#include "agent/volumes.hpp"

#include <unistd.h>

#include <glog/logging.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "resources/resources.hpp"

namespace mantle::agent::volumes {

namespace {

namespace fs = std::filesystem;
using mesos::v1::Resource;

// Mesos' ID rule: not empty, not "." or "..", no '/', no whitespace or
// control character.
bool validComponent(const std::string& text) {
  if (text.empty() || text == "." || text == "..") return false;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || std::isspace(u) || std::iscntrl(u)) return false;
  }
  return true;
}

std::string describe(const Resource& volume) {
  return "persistent volume '" + volume.disk().persistence().id() + "'";
}

}  // namespace

bool isPersistentVolume(const Resource& resource) {
  return resource.has_disk() && resource.disk().has_persistence();
}

Result<std::string> persistentVolumePath(const std::string& workDir, const Resource& volume) {
  const std::string& id = volume.disk().persistence().id();
  if (!validComponent(id)) return invalidArgument(describe(volume) + ": the persistence id is not a valid ID");
  if (volume.disk().has_source()) {
    return unimplemented(describe(volume) + ": volumes on PATH or MOUNT disks are not supported");
  }
  std::string role = resources::reservationRole(volume);
  for (std::size_t start = 0;;) {
    const std::size_t slash = role.find('/', start);
    if (role == "*" || !validComponent(role.substr(start, slash - start))) {
      return invalidArgument(describe(volume) + ": role '" + role + "' cannot hold a persistent volume");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (char& c : role) {
    if (c == '/') c = ' ';
  }
  return (fs::path(workDir) / "volumes" / "roles" / role / id).string();
}

Status syncPersistentVolumes(const std::string& workDir, const std::vector<Resource>& before,
                             const std::vector<Resource>& after,
                             const std::function<bool(const std::string& path)>& inUse) {
  auto paths = [&](const std::vector<Resource>& list) {
    std::map<std::string, Resource> out;
    for (const Resource& resource : list) {
      if (!isPersistentVolume(resource)) continue;
      Result<std::string> path = persistentVolumePath(workDir, resource);
      if (path.ok()) out.emplace(*path, resource);
    }
    return out;
  };
  const std::map<std::string, Resource> old = paths(before), now = paths(after);
  Status first;
  auto keep = [&first](const Error& error) {
    LOG(ERROR) << error.message;
    if (first.ok()) first = error;
  };
  for (const auto& [path, volume] : now) {
    if (old.count(path) != 0) continue;
    std::error_code error;
    fs::create_directories(path, error);
    if (error) {
      keep(internalError("cannot create " + describe(volume) + " at " + path + ": " + error.message()));
    } else {
      LOG(INFO) << "Created " << describe(volume) << " at " << path;
    }
  }
  for (const auto& [path, volume] : old) {
    if (now.count(path) != 0) continue;
    if (inUse(path)) {
      keep(failedPrecondition(describe(volume) + " at " + path + " was destroyed while a container uses it; kept"));
      continue;
    }
    std::error_code error;
    fs::remove_all(path, error);
    if (error) {
      keep(internalError("cannot remove " + describe(volume) + " at " + path + ": " + error.message()));
    } else {
      LOG(INFO) << "Removed " << describe(volume) << " at " << path;
    }
  }
  return first;
}

Result<std::vector<PersistentMount>> persistentVolumeMounts(const std::string& workDir,
                                                            const std::vector<Resource>& resources,
                                                            const std::string& sandbox) {
  std::vector<PersistentMount> out;
  std::set<std::string> targets;
  for (const Resource& resource : resources) {
    if (!isPersistentVolume(resource)) continue;
    Result<std::string> source = persistentVolumePath(workDir, resource);
    if (!source.ok()) return source.error();
    const std::string& containerPath = resource.disk().volume().container_path();
    const fs::path relative(containerPath);
    bool escapes = containerPath.empty() || relative.is_absolute();
    for (const fs::path& part : relative) escapes = escapes || part == "..";
    if (escapes) {
      return invalidArgument(describe(resource) + ": container_path '" + containerPath +
                             "' must be a relative path below the sandbox (persistent volumes are mounted there)");
    }
    std::error_code error;
    if (!fs::is_directory(*source, error)) {
      return notFound(describe(resource) + ": its directory " + *source + " does not exist on this agent");
    }
    PersistentMount mount;
    mount.persistenceId = resource.disk().persistence().id();
    mount.source = *source;
    mount.shared = resource.has_shared();
    mount.mount.source = *source;
    mount.mount.target = (fs::path(sandbox) / relative).lexically_normal().string();
    mount.mount.readOnly = resource.disk().volume().mode() == mesos::v1::Volume::RO;
    if (!targets.insert(mount.mount.target).second) continue;
    out.push_back(std::move(mount));
  }
  return out;
}

Status giveVolume(const std::string& path, uid_t uid, gid_t gid) {
  if (::chown(path.c_str(), uid, gid) != 0) {
    return internalError("cannot give the persistent volume at " + path + " to uid " + std::to_string(uid) + ": " +
                         std::strerror(errno));
  }
  return {};
}

Status checkSupportedVolumes(const mesos::v1::ContainerInfo& container, const std::string& owner,
                             const std::vector<std::string>& isolators) {
  using Source = mesos::v1::Volume::Source;
  for (int i = 0; i < container.volumes_size(); ++i) {
    const mesos::v1::Volume& volume = container.volumes(i);
    const std::string name =
        owner + ": ContainerInfo.volumes[" + std::to_string(i) + "] (container_path '" + volume.container_path() + "')";
    std::string isolator;
    if (volume.has_image()) {
      isolator = "volume/image";
    } else if (volume.has_host_path()) {
      isolator =
          !volume.host_path().empty() && volume.host_path().front() == '/' ? "volume/host_path" : "volume/sandbox_path";
    } else if (volume.has_source()) {
      switch (volume.source().type()) {
        case Source::SANDBOX_PATH: isolator = "volume/sandbox_path"; break;
        case Source::HOST_PATH: isolator = "volume/host_path"; break;
        case Source::SECRET: isolator = "volume/secret"; break;
        case Source::DOCKER_VOLUME: isolator = "docker/volume"; break;
        case Source::CSI_VOLUME: isolator = "volume/csi"; break;
        default: return invalidArgument(name + " has no known source type");
      }
    } else {
      return invalidArgument(name + " has none of host_path, image and source");
    }
    if (std::find(isolators.begin(), isolators.end(), isolator) == isolators.end()) {
      return failedPrecondition(name + " needs the " + isolator + " isolator, which this agent's --isolation lacks");
    }
  }
  return {};
}

Status checkSecretEnvironment(const mesos::v1::CommandInfo& command, const std::string& owner,
                              const std::vector<std::string>& isolators) {
  if (std::find(isolators.begin(), isolators.end(), "environment_secret") != isolators.end()) return {};
  for (const auto& variable : command.environment().variables()) {
    if (variable.type() == mesos::v1::Environment::Variable::SECRET) {
      return failedPrecondition(owner + ": environment variable " + variable.name() +
                                " is a secret and needs the environment_secret isolator, which this agent's "
                                "--isolation lacks");
    }
  }
  return {};
}

Status checkJoiningTask(const mesos::v1::ExecutorInfo& executor, bool taskGroup, const mesos::v1::TaskInfo& task) {
  const std::string owner = "task '" + task.task_id().value() + "'";
  for (const Resource& resource : task.resources()) {
    if (!isPersistentVolume(resource)) continue;
    bool mounted = false;
    for (const Resource& own : executor.resources()) {
      mounted =
          mounted || (isPersistentVolume(own) && own.disk().persistence().id() == resource.disk().persistence().id() &&
                      own.disk().volume().container_path() == resource.disk().volume().container_path());
    }
    if (!mounted) {
      return unimplemented(owner + ": " + describe(resource) +
                           " cannot be mounted into the running container of executor '" +
                           executor.executor_id().value() +
                           "'; give the volume to the executor, or launch the task with a new executor");
    }
  }
  if (taskGroup && task.container().volumes_size() > 0) {
    return unimplemented(owner + ": ContainerInfo volumes cannot be mounted into the running container of executor '" +
                         executor.executor_id().value() + "'; launch them with the group that starts the executor");
  }
  return {};
}

}  // namespace mantle::agent::volumes
