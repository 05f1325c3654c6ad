// The agent's side of container images: the flags, the image store and the
// rootfs provisioner, the checks of a launch's ContainerInfos, and the stage
// between an executor's launch and its container's start that pulls its image
// and assembles its rootfs (see container_images.hpp, provisioner.hpp).
#include <glog/logging.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <filesystem>
#include <sstream>

#include "agent/agent.hpp"
#include "flags/flags.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/common/convert.hpp"

namespace mantle::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using mesos::v1::TaskStatus;

void AgentFlags::addImageFlags(flags::FlagSet& set) {
  set.addString("image_providers", &imageProviders,
                "Image types tasks may run in, comma-separated: docker, oci (Mantle's OCI image layouts). Empty: a "
                "task naming an image is refused. Needs filesystem/linux (and, for docker, docker/runtime) in "
                "--isolation.");
  set.addString("image_provisioner_backend", &imageProvisionerBackend,
                "How a container's rootfs is assembled from its image's layers: overlay (an overlayfs mount) or "
                "copy (the layers copied, whiteouts applied). Default: overlay where it mounts, else copy.");
  set.addString("docker_registry", &dockerRegistry,
                "Default registry of docker images: https://host[:port] (http:// for a loopback host), or a "
                "directory of `docker save` tarballs <repository>:<tag>.tar. Default: Docker Hub.");
  set.addString("docker_store_dir", &dockerStoreDir,
                "Where pulled images and their layers are kept (default: <work_dir>/store/docker).");
  set.addString("docker_config", &dockerConfig,
                "A Docker config.json whose \"auths\" give registry credentials (Basic, or for bearer tokens).");
  set.addString("image_gc_config", &imageGcConfig,
                "Automatic image garbage collection, Mesos' JSON (inline or a file): {\"image_disk_headroom\": 0.1, "
                "\"image_disk_watch_interval\": {\"nanoseconds\": N}, \"excluded_images\": [Image, ...]}; when "
                "less than the headroom of the store's file system is free, the images no container uses are pruned. "
                "Empty: only PRUNE_IMAGES prunes.");
  set.addBool("allow_privileged_containers", &allowPrivilegedContainers,
              "Accept ContainerInfo.docker.privileged (refused otherwise).");
}

Status Agent::startImages() {
  Result<ImageSupport> support = parseImageProviders(flags_.imageProviders);
  if (!support.ok()) return support.error();
  imageSupport_ = *support;
  imageSupport_.allowPrivileged = flags_.allowPrivilegedContainers;
  std::set<std::string> isolation;
  std::istringstream names(flags_.isolation);
  for (std::string name; std::getline(names, name, ',');) isolation.insert(name);
  imageSupport_.cni = isolation.count("network/cni") > 0;
  if (!imageSupport_.docker && !imageSupport_.oci) {
    if (isolation.count("volume/image") > 0)
      return invalidArgument("volume/image in --isolation needs --image_providers");
    return {};
  }
  if (isolation.count("filesystem/linux") == 0) {
    return invalidArgument("--image_providers needs the filesystem/linux isolator in --isolation");
  }
  if (isolation.count("docker/runtime") == 0) {
    return invalidArgument("--image_providers needs the docker/runtime isolator in --isolation");
  }
  ProvisionerBackend backend = ProvisionerBackend::kOverlay;
  if (!flags_.imageProvisionerBackend.empty()) {
    Result<ProvisionerBackend> parsed = parseProvisionerBackend(flags_.imageProvisionerBackend);
    if (!parsed.ok()) return parsed.error().withContext("--image_provisioner_backend");
    backend = *parsed;
  } else if (!overlayWorksIn(flags_.workDir)) {
    LOG(WARNING) << "overlayfs does not mount in " << flags_.workDir << "; container rootfses are copies";
    backend = ProvisionerBackend::kCopy;
  }
  provisioner_ = std::make_unique<Provisioner>(flags_.workDir, backend);
  images::StoreOptions options;
  options.storeDir = flags_.dockerStoreDir.empty() ? flags_.workDir + "/store/docker" : flags_.dockerStoreDir;
  options.defaultRegistry = flags_.dockerRegistry;
  options.dockerConfigPath = flags_.dockerConfig;
  Result<std::unique_ptr<images::ImageStore>> store = images::ImageStore::create(strand_, options);
  if (!store.ok()) return store.error().withContext("image store");
  imageStore_ = std::move(*store);
  LOG(INFO) << "Images: store " << options.storeDir << ", rootfs backend " << backendName(backend);
  return {};
}

Result<std::optional<ImageRequest>> Agent::imageFor(const mesos::v1::ExecutorInfo& info) const {
  if (!info.has_container()) return std::optional<ImageRequest>();
  Result<module::v1::ContainerInfo> container = convert<module::v1::ContainerInfo>(info.container());
  if (!container.ok()) return container.error();
  return imageRequestOf(*container, imageSupport_);
}

Status Agent::checkContainers(const mesos::v1::ExecutorInfo& info, const std::vector<mesos::v1::TaskInfo>& tasks,
                              bool group) const {
  Result<std::optional<ImageRequest>> image = imageFor(info);
  if (!image.ok()) return image.error();
  if (Status volumes = checkImageVolumes(info, tasks, group); !volumes.ok()) return volumes;
  if (group && *image) {
    return invalidArgument(
        "an image on a task group's executor is not supported (the default executor runs on the "
        "host's filesystem)");
  }
  const bool commandTask = !group && !tasks.empty() && !tasks.front().has_executor();
  if (commandTask) return {};  // its ContainerInfo is the executor's, checked above
  for (const auto& task : tasks) {
    if (!task.has_container()) continue;
    Result<module::v1::ContainerInfo> container = convert<module::v1::ContainerInfo>(task.container());
    if (!container.ok()) return container.error();
    Result<std::optional<ImageRequest>> own = imageRequestOf(*container, imageSupport_);
    if (!own.ok()) return own.error().withContext("task '" + task.task_id().value() + "'");
    if (*own && group) {
      return invalidArgument("task '" + task.task_id().value() + "': " + (*own)->describe() +
                             " on a task of a task group is not supported (nested containers: the group's tasks run "
                             "in their executor's container, on the host's filesystem)");
    }
    if (*own) {
      return invalidArgument("task '" + task.task_id().value() + "': " + (*own)->describe() +
                             " on a task of a custom executor is not supported (nested containers); give the image "
                             "to the ExecutorInfo");
    }
  }
  return {};
}

void Agent::startPulling(Executor& executor) {
  executor.fetching = true;
  executor.pulling = true;
  if (!executor.fetchCancel) executor.fetchCancel = std::make_shared<std::atomic<bool>>(false);
  if (!fetchPool_) fetchPool_ = std::make_unique<asio::thread_pool>(2);
}

Agent::Executor* Agent::pulledFor(const std::string& frameworkId, const std::string& executorId,
                                  const std::string& containerId) {
  Executor* executor = findExecutor(frameworkId, executorId);
  // Ended while its image was pulled: nothing was made for it.
  if (executor == nullptr || executor->containerId != containerId || !executor->fetching) return nullptr;
  executor->pulling = false;
  return executor;
}

void Agent::provisionImage(Executor& executor, const ImageRequest& image, module::v1::ContainerConfig config,
                           LaunchPlan plan, std::vector<mesos::v1::CommandInfo::URI> uris) {
  startPulling(executor);
  LOG(INFO) << "Provisioning " << image.describe() << " for executor " << executor.executorId << " of framework "
            << executor.frameworkId;
  const std::string fw = executor.frameworkId, id = executor.executorId, cid = executor.containerId;
  imageStore_->pull(
      image.reference, image.forcePull,
      [this, fw, id, cid, image, config = std::move(config), plan = std::move(plan),
       uris = std::move(uris)](Result<images::PulledImage> pulled) mutable {
        Executor* executor = pulledFor(fw, id, cid);
        if (executor == nullptr) return;
        traceLaunch(*executor, "image_pulled");
        if (!pulled.ok()) {
          ++counters_["image_pull_errors"];
          return fetched(
              fw, id, cid,
              Error(pulled.error().code, "Failed to provision " + image.describe() + ": " + pulled.error().message),
              config, std::move(plan));
        }
        executor->imageId = pulled->id;
        // Recovery reads it back, so that the image GC keeps a recovered
        // container's image by id, whatever its name points to by then.
        if (Status saved =
                checkpoints_->writeFile(executor->runMeta + "/" + kImageIdFile, pulled->id, checkpointing(fw));
            !saved.ok()) {
          LOG(WARNING) << "Checkpointing the image of container " << cid << ": " << saved.error().message;
        }
        module::v1::ImageConfig imageConfig = pulled->config;
        applyDockerParameters(image, imageConfig);
        *config.mutable_image_config() = std::move(imageConfig);
        // The rootfs is assembled on a pool thread; the fetcher follows.
        asio::post(*fetchPool_, [this, fw, id, cid, image, layers = std::move(pulled->layers),
                                 config = std::move(config), plan = std::move(plan), uris = std::move(uris)]() mutable {
          Result<std::string> rootfs = provisioner_->provision(cid, layers);
          const std::int64_t provisioned = steadyNanos();
          if (rootfs.ok()) config.set_rootfs(*rootfs);
          asio::post(strand_, [this, fw, id, cid, image, rootfs, provisioned, config = std::move(config),
                               plan = std::move(plan), uris = std::move(uris)]() mutable {
            Executor* executor = findExecutor(fw, id);
            if (executor == nullptr || executor->containerId != cid || !executor->fetching) {
              releaseRootfs(cid);  // ended meanwhile
              return;
            }
            traceLaunch(*executor, "rootfs_provisioned", provisioned);
            if (!rootfs.ok()) {
              return fetched(
                  fw, id, cid,
                  Error(rootfs.error().code, "Failed to provision " + image.describe() + ": " + rootfs.error().message),
                  config, std::move(plan));
            }
            provisionVolumes(*executor, std::move(config), std::move(plan), std::move(uris));
          });
        });
      });
}

void Agent::shutdownWhilePulling(Executor& executor) {
  executor.fetching = false;
  executor.pulling = false;
  containers_.erase(executor.containerId);
  Termination termination;
  termination.destroyed = true;
  termination.message = "Shut down while its image was being pulled";
  executorTerminated(executor, termination);
}

void Agent::releaseRootfs(const std::string& containerId) {
  if (!provisioner_) return;
  if (Status removed = provisioner_->destroy(containerId); !removed.ok()) {
    LOG(WARNING) << "Removing the rootfs of container " << containerId << ": " << removed.error().message;
  }
}

void Agent::describeFilesystem(const Executor& executor,
                               mesos::v1::agent::Response::GetContainers::Container& container) const {
  using Described = mesos::v1::agent::Response::GetContainers;
  Result<std::optional<ImageRequest>> image = imageFor(executor.info);
  std::optional<Containerizer::Filesystem> filesystem = containerizer_->filesystem(executor.containerId);
  if (image.ok() && *image) {
    Described::ContainerImage* out = container.mutable_image();
    out->set_type((*image)->reference.type == images::ImageReference::Type::kOci ? mesos::v1::Image::OCI
                                                                                 : mesos::v1::Image::DOCKER);
    out->set_name((*image)->reference.name);
    if (!executor.imageId.empty()) out->set_id(executor.imageId);
    if (provisioner_) {
      const std::string rootfs =
          filesystem && !filesystem->rootfs.empty() ? filesystem->rootfs : provisioner_->rootfsOf(executor.containerId);
      out->set_rootfs(rootfs);
    }
  }
  if (!filesystem) return;
  for (const LaunchPlan::Mount& mount : filesystem->mounts) {
    Described::ContainerMount* out = container.add_mounts();
    out->set_source(mount.source);
    out->set_target(mount.target);
    if (!mount.type.empty()) out->set_type(mount.type);
    if (mount.readOnly) out->set_read_only(true);
  }
}

void Agent::recoverRootfses(const std::set<std::string>& alive) {
  if (!provisioner_) return;
  for (const std::string& id : provisioner_->recover(alive)) {
    LOG(INFO) << "Removed the rootfs of container " << id << ", gone while the agent was down";
  }
}

}  // namespace mantle::agent
