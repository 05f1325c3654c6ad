#include "volume_paths.hpp"

#include <filesystem>

namespace mantle::isolators::volume {

namespace {

namespace fs = std::filesystem;

std::string describe(const v1::Volume& volume, std::size_t index, const std::string& owner) {
  return owner + " volumes[" + std::to_string(index) + "] (container_path '" + volume.container_path() + "')";
}

void addVolumes(const v1::ContainerInfo& info, const std::string& owner, bool groupTask,
                std::vector<ContainerVolume>& out) {
  for (int i = 0; i < info.volumes_size(); ++i) {
    out.push_back({&info.volumes(i), describe(info.volumes(i), static_cast<std::size_t>(i), owner), groupTask});
  }
}

bool isAbsolute(const std::string& path) {
  return !path.empty() && path.front() == '/';
}

bool hasDotDot(const std::string& path) {
  for (const fs::path& part : fs::path(path)) {
    if (part == "..") return true;
  }
  return false;
}

// Lexically normal, without a trailing '/'.
std::string normal(const fs::path& path) {
  std::string out = path.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// `relative` below `base` ("/a/" + "b/./c" = "/a/b/c").
std::string below(const std::string& base, const std::string& relative) {
  return normal(fs::path(base) / fs::path(relative).relative_path());
}

}  // namespace

std::vector<ContainerVolume> containerVolumes(const v1::ContainerConfig& config) {
  std::vector<ContainerVolume> out;
  if (config.has_task_info() && config.task_info().has_container()) {
    addVolumes(config.task_info().container(), "task '" + config.task_info().task_id().value() + "'", false, out);
  } else if (config.executor_info().has_container()) {
    addVolumes(config.executor_info().container(), "executor '" + config.executor_info().executor_id().value() + "'",
               false, out);
  }
  for (const v1::TaskInfo& task : config.task_group()) {
    if (task.has_container()) addVolumes(task.container(), "task '" + task.task_id().value() + "'", true, out);
  }
  return out;
}

Result<VolumeKind> classify(const ContainerVolume& entry) {
  const v1::Volume& volume = *entry.volume;
  const int forms = (volume.has_host_path() ? 1 : 0) + (volume.has_image() ? 1 : 0) + (volume.has_source() ? 1 : 0);
  if (forms > 1) {
    return invalidArgument(entry.name + ": only one of 'host_path', 'image' and 'source' may be set");
  }
  if (volume.container_path().empty()) return invalidArgument(entry.name + ": container_path is empty");
  VolumeKind kind;
  if (volume.has_host_path()) {
    // The legacy form.
    kind.path = volume.host_path();
    kind.type = isAbsolute(kind.path) ? VolumeKind::kHostPath : VolumeKind::kSandboxPath;
    return kind;
  }
  if (!volume.has_source()) return kind;
  const v1::Volume::Source& source = volume.source();
  if (source.type() == kSourceSandboxPath) {
    if (!source.has_sandbox_path()) return invalidArgument(entry.name + ": SANDBOX_PATH without source.sandbox_path");
    kind.type = VolumeKind::kSandboxPath;
    kind.path = source.sandbox_path().path();
    kind.sandboxType = source.sandbox_path().type();
    if (kind.sandboxType != kSandboxSelf && kind.sandboxType != kSandboxParent) {
      return invalidArgument(entry.name + ": unknown SANDBOX_PATH type " + std::to_string(kind.sandboxType));
    }
  } else if (source.type() == kSourceHostPath) {
    if (!source.has_host_path()) return invalidArgument(entry.name + ": HOST_PATH without source.host_path");
    kind.type = VolumeKind::kHostPath;
    kind.path = source.host_path().path();
    if (!isAbsolute(kind.path)) {
      return invalidArgument(entry.name + ": path '" + kind.path + "' in HOST_PATH volume is not absolute");
    }
  }
  return kind;
}

Status checkRelative(const std::string& path, const std::string& what) {
  if (path.empty()) return invalidArgument(what + " is empty");
  if (isAbsolute(path)) return invalidArgument(what + " '" + path + "' is absolute");
  if (hasDotDot(path)) return invalidArgument(what + " '" + path + "' leaves its directory ('..')");
  return {};
}

bool isWithin(const std::string& path, const std::string& root) {
  const fs::path p = fs::path(path).lexically_normal();
  const fs::path r = fs::path(root).lexically_normal();
  auto pi = p.begin();
  for (auto ri = r.begin(); ri != r.end(); ++ri) {
    if (ri->empty()) continue;  // a trailing '/'
    if (pi == p.end() || *pi != *ri) return false;
    ++pi;
  }
  return true;
}

Result<MountPoint> mountPoint(const std::string& containerPath, const std::string& sandbox, const std::string& rootfs,
                              const std::string& sandboxDirectory, const std::string& what) {
  MountPoint out;
  if (isAbsolute(containerPath)) {
    if (hasDotDot(containerPath)) {
      return invalidArgument(what + ": container_path '" + containerPath + "' has a '..' component");
    }
    if (rootfs.empty()) {
      out.target = normal(containerPath);
      out.mustExist = true;
    } else {
      out.target = below(rootfs, containerPath);
    }
    return out;
  }
  if (Status relative = checkRelative(containerPath, what + ": container_path"); !relative.ok()) {
    return relative.error();
  }
  out.sandboxMountPoint = below(sandbox, containerPath);
  out.target = rootfs.empty() ? out.sandboxMountPoint : below(below(rootfs, sandboxDirectory), containerPath);
  return out;
}

}  // namespace mantle::isolators::volume
