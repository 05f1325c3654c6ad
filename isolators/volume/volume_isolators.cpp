// libmantle_volume.so: volume/sandbox_path, volume/host_path and
// volume/image. Each reads the container's volumes in prepare and answers with
// bind mounts (ContainerLaunchInfo.mounts) that the agent makes in the
// container's own mount namespace, so nothing is left mounted on the host;
// none keeps state per container (volume/image mounts what the agent
// provisioned and removes).
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "mantle/module_api/sdk/isolator.hpp"
#include "volume_paths.hpp"

namespace mantle::isolators::volume {

namespace {

namespace fs = std::filesystem;
using Prepared = Result<v1::IsolatorPrepareResponse>;

// Makes the mount point of a volume whose source is `source` at `at`: a
// directory, or an empty file (and its directory) for a file source.
Status makeMountPoint(const std::string& source, const std::string& at, const std::string& what) {
  std::error_code error;
  const bool directory = fs::is_directory(source, error);
  fs::create_directories(directory ? fs::path(at) : fs::path(at).parent_path(), error);
  if (error) return internalError(what + ": cannot create the mount point " + at + ": " + error.message());
  if (!directory && !fs::exists(at, error)) {
    std::ofstream touch(at);
    if (!touch) return internalError(what + ": cannot create the mount point " + at);
  }
  return {};
}

// The mount of one volume at its container_path, with the mount point made.
Result<v1::ContainerLaunchInfo::Mount> bindMount(const std::string& source, const ContainerVolume& entry,
                                                 const v1::ContainerConfig& config,
                                                 const std::string& sandboxDirectory) {
  Result<MountPoint> point =
      mountPoint(entry.volume->container_path(), config.directory(), config.rootfs(), sandboxDirectory, entry.name);
  if (!point.ok()) return point.error();
  std::error_code error;
  if (point->mustExist && !fs::exists(point->target, error)) {
    return invalidArgument(entry.name + ": mount point '" + point->target +
                           "' is an absolute path; it must exist when the container shares the host's file system");
  }
  if (!point->sandboxMountPoint.empty()) {
    if (Status made = makeMountPoint(source, point->sandboxMountPoint, entry.name); !made.ok()) return made.error();
  } else if (!config.rootfs().empty()) {
    if (Status made = makeMountPoint(source, point->target, entry.name); !made.ok()) return made.error();
  }
  v1::ContainerLaunchInfo::Mount mount;
  mount.set_source(source);
  mount.set_target(point->target);
  mount.set_recursive(true);
  mount.set_read_only(entry.volume->mode() == kReadOnly);
  return mount;
}

// The sandbox_directory parameter: absolute.
Result<std::string> sandboxDirectoryOf(const sdk::Context& ctx, const std::string& name) {
  std::string dir = ctx.config.getString("sandbox_directory");
  if (dir.empty() || dir.front() != '/') {
    return invalidArgument(name + ": sandbox_directory '" + dir + "' is not an absolute path");
  }
  return dir;
}

// What both path isolators share: the sandbox_directory parameter, and a prepare
// that walks the container's volumes of one kind and answers with the mount
// mountOf() gives each (none: nothing to mount), errors prefixed with the
// isolator's name.
class VolumeIsolator : public sdk::Isolator {
 public:
  VolumeIsolator(std::string name, VolumeKind::Type type, std::string sandboxDirectory)
      : name_(std::move(name)), type_(type), sandboxDirectory_(std::move(sandboxDirectory)) {}

  Prepared prepare(const v1::IsolatorPrepareRequest& request) final {
    const v1::ContainerConfig& config = request.config();
    v1::IsolatorPrepareResponse response;
    for (const ContainerVolume& entry : containerVolumes(config)) {
      Result<VolumeKind> kind = classify(entry);
      if (!kind.ok()) return fail(kind.error());
      if (kind->type != type_) continue;
      Result<std::optional<v1::ContainerLaunchInfo::Mount>> mount = mountOf(entry, *kind, config);
      if (!mount.ok()) return fail(mount.error());
      if (*mount) *response.mutable_launch_info()->add_mounts() = std::move(**mount);
    }
    return response;
  }

 protected:
  virtual Result<std::optional<v1::ContainerLaunchInfo::Mount>> mountOf(const ContainerVolume& entry,
                                                                        const VolumeKind& kind,
                                                                        const v1::ContainerConfig& config) = 0;

  const std::string& sandboxDirectory() const { return sandboxDirectory_; }

 private:
  Error fail(const Error& error) const { return Error(error.code, name_ + ": " + error.message); }

  std::string name_;
  VolumeKind::Type type_;
  std::string sandboxDirectory_;
};

class SandboxPathIsolator final : public VolumeIsolator {
 public:
  explicit SandboxPathIsolator(std::string sandboxDirectory)
      : VolumeIsolator("volume/sandbox_path", VolumeKind::kSandboxPath, std::move(sandboxDirectory)) {}

  static Result<std::unique_ptr<SandboxPathIsolator>> create(const sdk::Context& ctx) {
    Result<std::string> dir = sandboxDirectoryOf(ctx, "volume/sandbox_path");
    if (!dir.ok()) return dir.error();
    return std::make_unique<SandboxPathIsolator>(std::move(*dir));
  }

 private:
  Result<std::optional<v1::ContainerLaunchInfo::Mount>> mountOf(const ContainerVolume& entry, const VolumeKind& kind,
                                                                const v1::ContainerConfig& config) override {
    if (Status relative = checkRelative(kind.path, entry.name + ": SANDBOX_PATH path"); !relative.ok()) {
      return relative.error();
    }
    if (kind.sandboxType == kSandboxSelf && entry.volume->container_path().front() != '/') {
      // A volume from the sandbox into the sandbox: a symlink does that.
      return invalidArgument(entry.name + ": container_path is relative for a SANDBOX_PATH volume of type SELF");
    }
    if (kind.sandboxType == kSandboxParent && !entry.groupTask) {
      return invalidArgument(entry.name + ": SANDBOX_PATH volume PARENT type only works for a task of a task group");
    }
    // A task group's tasks run in their executor's sandbox: for them SELF
    // and PARENT are both that sandbox.
    const std::string& sandbox = config.directory();
    const std::string source = (fs::path(sandbox) / kind.path).lexically_normal().string();
    if (Status made = makeSource(source, sandbox, entry.name); !made.ok()) return made.error();
    Result<v1::ContainerLaunchInfo::Mount> mount = bindMount(source, entry, config, sandboxDirectory());
    if (!mount.ok()) return mount.error();
    return std::optional(std::move(*mount));
  }

  // A missing source is made, owned like the sandbox (Mesos); an existing one
  // is left as it is.
  static Status makeSource(const std::string& source, const std::string& sandbox, const std::string& what) {
    std::error_code error;
    if (fs::exists(source, error)) return {};
    fs::create_directories(source, error);
    if (error) return internalError(what + ": cannot create " + source + " in the sandbox: " + error.message());
    struct stat owner {};
    if (::stat(sandbox.c_str(), &owner) != 0 || ::chown(source.c_str(), owner.st_uid, owner.st_gid) != 0) {
      return internalError(what + ": cannot give " + source + " to the sandbox's owner: " + std::strerror(errno));
    }
    return {};
  }
};

class HostPathIsolator final : public VolumeIsolator {
 public:
  HostPathIsolator(std::vector<std::string> allowed, std::vector<std::string> creatable, std::string sandboxDirectory)
      : VolumeIsolator("volume/host_path", VolumeKind::kHostPath, std::move(sandboxDirectory)),
        allowed_(std::move(allowed)),
        creatable_(std::move(creatable)) {}

  static Result<std::unique_ptr<HostPathIsolator>> create(const sdk::Context& ctx) {
    std::vector<std::string> lists[2] = {ctx.config.getStringList("allowed_paths"),
                                         ctx.config.getStringList("force_creation")};
    const char* names[2] = {"allowed_paths", "force_creation"};
    for (int i = 0; i < 2; ++i) {
      for (std::string& path : lists[i]) {
        if (path.empty() || path.front() != '/') {
          return invalidArgument(std::string("volume/host_path: ") + names[i] + ": '" + path +
                                 "' is not an absolute path");
        }
        path = fs::path(path).lexically_normal().string();
      }
    }
    Result<std::string> dir = sandboxDirectoryOf(ctx, "volume/host_path");
    if (!dir.ok()) return dir.error();
    return std::make_unique<HostPathIsolator>(std::move(lists[0]), std::move(lists[1]), std::move(*dir));
  }

 private:
  Result<std::optional<v1::ContainerLaunchInfo::Mount>> mountOf(const ContainerVolume& entry, const VolumeKind& kind,
                                                                const v1::ContainerConfig& config) override {
    Result<std::string> source = hostPath(kind.path, entry.name);
    if (!source.ok()) return source.error();
    Result<v1::ContainerLaunchInfo::Mount> mount = bindMount(*source, entry, config, sandboxDirectory());
    if (!mount.ok()) return mount.error();
    // The host's own path at the same place needs no mount, unless it must
    // become read-only there.
    if (mount->source() == mount->target() && !mount->read_only()) {
      return std::optional<v1::ContainerLaunchInfo::Mount>();
    }
    return std::optional(std::move(*mount));
  }

  static std::string joined(const std::vector<std::string>& paths) {
    std::string out;
    for (const std::string& path : paths) out += (out.empty() ? "" : ", ") + path;
    return out.empty() ? "none" : out;
  }

  // The host path, resolved (symbolic links and '..' followed) and inside
  // allowed_paths; a missing one is made when force_creation holds it.
  Result<std::string> hostPath(const std::string& requested, const std::string& what) const {
    std::error_code error;
    const std::string path = fs::weakly_canonical(requested, error).string();
    if (error) return invalidArgument(what + ": cannot resolve host path '" + requested + "': " + error.message());
    auto within = [&](const std::vector<std::string>& roots) {
      for (const std::string& root : roots) {
        if (isWithin(path, root)) return true;
      }
      return false;
    };
    if (!within(allowed_)) {
      const std::string resolved = path == requested ? "" : " ('" + path + "')";
      return Error(StatusCode::kPermissionDenied,
                   what + ": host path '" + requested + "'" + resolved +
                       " is outside the allowed host paths (allowed_paths: " + joined(allowed_) + ")");
    }
    if (!fs::exists(path, error)) {
      if (!within(creatable_)) {
        return notFound(what + ": path '" + requested + "' in HOST_PATH volume does not exist");
      }
      fs::create_directories(path, error);
      if (error) return internalError(what + ": cannot create the host path " + path + ": " + error.message());
    }
    return path;
  }

  std::vector<std::string> allowed_;
  std::vector<std::string> creatable_;
};

// volume/image: the agent provisions each image volume's image into a root
// filesystem of its own (ContainerConfig.image_volumes, under the container's
// provisioner directory, removed with the container); this isolator puts it
// at the volume's container_path, read-only for mode RO.
class ImageVolumeIsolator final : public sdk::Isolator {
 public:
  explicit ImageVolumeIsolator(std::string sandboxDirectory) : sandboxDirectory_(std::move(sandboxDirectory)) {}

  static Result<std::unique_ptr<ImageVolumeIsolator>> create(const sdk::Context& ctx) {
    Result<std::string> dir = sandboxDirectoryOf(ctx, "volume/image");
    if (!dir.ok()) return dir.error();
    return std::make_unique<ImageVolumeIsolator>(std::move(*dir));
  }

  Prepared prepare(const v1::IsolatorPrepareRequest& request) override {
    const v1::ContainerConfig& config = request.config();
    v1::IsolatorPrepareResponse response;
    for (const v1::ImageVolume& image : config.image_volumes()) {
      const ContainerVolume entry{&image.volume(), image.name(), false};
      std::error_code error;
      if (image.rootfs().empty() || !fs::is_directory(image.rootfs(), error)) {
        return Error(StatusCode::kFailedPrecondition, "volume/image: " + entry.name + ": the provisioned rootfs '" +
                                                          image.rootfs() + "' does not exist");
      }
      Result<v1::ContainerLaunchInfo::Mount> mount = bindMount(image.rootfs(), entry, config, sandboxDirectory_);
      if (!mount.ok()) return Error(mount.error().code, "volume/image: " + mount.error().message);
      *response.mutable_launch_info()->add_mounts() = std::move(*mount);
    }
    return response;
  }

 private:
  std::string sandboxDirectory_;
};

}  // namespace

}  // namespace mantle::isolators::volume

namespace vol = mantle::isolators::volume;
using mantle::sdk::Param;

MANTLE_MODULE_LIBRARY(
    "mantle_volume", "0.1.0",
    mantle::sdk::describe<vol::SandboxPathIsolator>(
        "volume/sandbox_path",
        "SANDBOX_PATH volumes (SELF, and PARENT for a task group's tasks) and relative legacy host_path volumes, "
        "bind-mounted in the container's mount namespace",
        {Param::string("sandbox_directory", "Where a container with a root filesystem sees its sandbox",
                       "/mnt/mesos/sandbox")}),
    mantle::sdk::describe<vol::HostPathIsolator>(
        "volume/host_path",
        "HOST_PATH volumes (and absolute legacy host_path volumes) inside the operator's allowed_paths, "
        "bind-mounted in the container's mount namespace",
        {Param::stringList("allowed_paths",
                           "Host paths (and everything below them) a HOST_PATH volume may name; empty: none"),
         Param::stringList("force_creation",
                           "Host paths below which a missing HOST_PATH volume is made as a directory "
                           "(Mesos' --host_path_volume_force_creation)"),
         Param::string("sandbox_directory", "Where a container with a root filesystem sees its sandbox",
                       "/mnt/mesos/sandbox")}),
    mantle::sdk::describe<vol::ImageVolumeIsolator>(
        "volume/image",
        "Image volumes (Volume.image): the image the agent provisioned, bind-mounted at container_path in the "
        "container's mount namespace (read-only for mode RO)",
        {Param::string("sandbox_directory", "Where a container with a root filesystem sees its sandbox",
                       "/mnt/mesos/sandbox")}))
