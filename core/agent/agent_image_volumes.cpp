// Image volumes (Volume.image, Mesos' volume/image): the agent pulls each
// volume's image through the image store and assembles it into a rootfs of
// its own under the container's provisioner directory, between the
// container's own rootfs and the fetcher; the volume/image isolator mounts
// them (ContainerConfig.image_volumes). They go with the container's rootfs:
// at its end, and at recovery for containers gone while the agent was down.
#include <glog/logging.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "agent/agent.hpp"
#include "mantle/common/convert.hpp"

namespace mantle::agent {

namespace asio = boost::asio;

Status Agent::checkImageVolumes(const mesos::v1::ExecutorInfo& info, const std::vector<mesos::v1::TaskInfo>& tasks,
                                bool group) const {
  // The container's config as launchExecutor() makes it, as far as volumes go.
  module::v1::ContainerConfig config;
  *config.mutable_executor_info() = convert<module::v1::ExecutorInfo>(info).value();
  const bool commandTask = !group && !tasks.empty() && !tasks.front().has_executor();
  for (const auto& task : tasks) {
    if (group) {
      *config.add_task_group() = convert<module::v1::TaskInfo>(task).value();
    } else if (commandTask) {
      *config.mutable_task_info() = convert<module::v1::TaskInfo>(task).value();
    } else {
      for (const auto& volume : task.container().volumes()) {
        if (volume.has_image()) {
          return invalidArgument("task '" + task.task_id().value() + "': an image volume (container_path '" +
                                 volume.container_path() +
                                 "') on a task of a custom executor is not supported; give it to the ExecutorInfo");
        }
      }
    }
  }
  for (const module::v1::ImageVolume& volume : imageVolumesOf(config)) {
    Result<ImageRequest> image = imageRequestOf(volume.volume().image(), "image", imageSupport_);
    if (!image.ok()) return image.error().withContext(volume.name());
  }
  return {};
}

void Agent::provisionVolumes(Executor& executor, module::v1::ContainerConfig config, LaunchPlan plan,
                             std::vector<mesos::v1::CommandInfo::URI> uris) {
  const std::string fw = executor.frameworkId, id = executor.executorId, cid = executor.containerId;
  const std::vector<module::v1::ImageVolume> volumes = imageVolumesOf(config);
  const std::size_t next = static_cast<std::size_t>(config.image_volumes_size());
  if (next == volumes.size() || executor.state != Executor::State::kRegistering) {
    // Every image volume is there (or the executor is shutting down): the
    // fetcher, then the container.
    if (uris.empty() || executor.state != Executor::State::kRegistering) {
      return fetched(fw, id, cid, Status{}, config, std::move(plan));
    }
    const std::optional<std::string> user = plan.user;
    return fetch(executor, std::move(uris), user, std::move(config), std::move(plan));
  }
  module::v1::ImageVolume volume = volumes[next];
  Result<ImageRequest> image = imageRequestOf(volume.volume().image(), "image", imageSupport_);
  if (!image.ok()) {
    return fetched(fw, id, cid, image.error().withContext(volume.name()), config, std::move(plan));
  }
  startPulling(executor);
  LOG(INFO) << "Provisioning " << image->describe() << " for " << volume.name() << " of container " << cid;
  const std::string what = "Failed to provision the image volume of " + volume.name() + ", " + image->describe();
  imageStore_->pull(
      image->reference, image->forcePull,
      [this, fw, id, cid, next, what, volume = std::move(volume), config = std::move(config), plan = std::move(plan),
       uris = std::move(uris)](Result<images::PulledImage> pulled) mutable {
        Executor* executor = pulledFor(fw, id, cid);
        if (executor == nullptr) return;
        if (!pulled.ok()) {
          ++counters_["image_pull_errors"];
          return fetched(fw, id, cid, Error(pulled.error().code, what + ": " + pulled.error().message), config,
                         std::move(plan));
        }
        executor->volumeImageIds.push_back(pulled->id);
        // Recovery reads them back (as the container's own image id), so
        // that the image GC keeps a recovered container's volume images by id.
        std::string ids;
        for (const std::string& imageId : executor->volumeImageIds) ids += imageId + "\n";
        if (Status saved =
                checkpoints_->writeFile(executor->runMeta + "/" + kVolumeImageIdsFile, ids, checkpointing(fw));
            !saved.ok()) {
          LOG(WARNING) << "Checkpointing the volume images of container " << cid << ": " << saved.error().message;
        }
        asio::post(*fetchPool_, [this, fw, id, cid, next, what, layers = std::move(pulled->layers),
                                 volume = std::move(volume), config = std::move(config), plan = std::move(plan),
                                 uris = std::move(uris)]() mutable {
          Result<std::string> rootfs = provisioner_->provisionVolume(cid, next, layers);
          asio::post(strand_, [this, fw, id, cid, what, rootfs, volume = std::move(volume), config = std::move(config),
                               plan = std::move(plan), uris = std::move(uris)]() mutable {
            Executor* executor = findExecutor(fw, id);
            if (executor == nullptr || executor->containerId != cid || !executor->fetching) {
              releaseRootfs(cid);  // ended meanwhile
              return;
            }
            if (!rootfs.ok()) {
              return fetched(fw, id, cid, Error(rootfs.error().code, what + ": " + rootfs.error().message), config,
                             std::move(plan));
            }
            volume.set_rootfs(*rootfs);
            *config.add_image_volumes() = std::move(volume);
            provisionVolumes(*executor, std::move(config), std::move(plan), std::move(uris));
          });
        });
      });
}

void Agent::keepVolumeImages(const Executor& executor, std::set<std::string>& inUse,
                             std::vector<images::ImageReference>& excluded) const {
  if (!executor.volumeImageIds.empty()) {
    inUse.insert(executor.volumeImageIds.begin(), executor.volumeImageIds.end());
    return;
  }
  auto byName = [&](const mesos::v1::ContainerInfo& container) {
    for (const auto& volume : container.volumes()) {
      if (!volume.has_image()) continue;
      Result<ImageRequest> request =
          imageRequestOf(convert<module::v1::Image>(volume.image()).value(), "image", imageSupport_);
      if (request.ok()) excluded.push_back(request->reference);
    }
  };
  byName(executor.info.container());
  for (const auto& [taskId, task] : executor.tasks) byName(task.info.container());
}

}  // namespace mantle::agent
