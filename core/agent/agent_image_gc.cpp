// The agent's image garbage collection (docs/CONTAINERS.md): PRUNE_IMAGES on
// the v1 operator API and the automatic pruning of --image_gc_config. Both
// keep the images of every live container: by the id of its image (known
// once pulled, checkpointed, so recovered containers keep theirs), and by
// name the image of a container still being pulled.
#include <glog/logging.h>

#include "agent/agent.hpp"

namespace mantle::agent {

namespace asio = boost::asio;

void Agent::pruneImages(std::vector<images::ImageReference> excluded,
                        std::function<void(Result<images::PruneReport>)> done) {
  if (!imageStore_) {
    return done(failedPrecondition("this agent keeps no images (--image_providers is empty)"));
  }
  std::set<std::string> inUse;
  for (const auto& [frameworkId, framework] : frameworks_) {
    for (const auto& [executorId, executor] : framework->executors) {
      if (executor->state == Executor::State::kTerminated) continue;
      keepVolumeImages(*executor, inUse, excluded);
      if (!executor->imageId.empty()) {
        inUse.insert(executor->imageId);
      } else if (Result<std::optional<ImageRequest>> image = imageFor(executor->info); image.ok() && *image) {
        excluded.push_back((*image)->reference);
      }
    }
  }
  imageStore_->prune(std::move(inUse), std::move(excluded),
                     [this, done = std::move(done)](Result<images::PruneReport> report) {
                       if (report.ok()) {
                         counters_["images_pruned"] += report->removedImages.size();
                         counters_["image_layers_pruned"] += report->removedLayers.size();
                         counters_["image_bytes_pruned"] += report->bytesFreed;
                       }
                       done(std::move(report));
                     });
}

Status Agent::startImageGc() {
  if (flags_.imageGcConfig.empty()) return {};
  if (!imageStore_) return invalidArgument("--image_gc_config needs --image_providers (there is no image store)");
  Result<images::ImageGcConfig> config = images::parseImageGcConfig(flags_.imageGcConfig);
  if (!config.ok()) return config.error();
  imageGc_ = *config;
  imageGcTimer_ = std::make_unique<asio::steady_timer>(strand_);
  scheduleImageGc();
  return {};
}

void Agent::scheduleImageGc() {
  imageGcTimer_->expires_after(imageGc_->watchInterval);
  imageGcTimer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) watchImageDisk();
  });
}

void Agent::watchImageDisk() {
  Result<double> usage = diskUsage(imageStore_->directory());
  if (!usage.ok()) {
    LOG(WARNING) << "Image GC: " << usage.error().message;
    return scheduleImageGc();
  }
  if (*usage <= 1.0 - imageGc_->diskHeadroom) return scheduleImageGc();
  LOG(INFO) << "Image GC: the file system of " << imageStore_->directory() << " is " << *usage * 100
            << "% used (headroom " << imageGc_->diskHeadroom * 100 << "%): pruning the images no container uses";
  pruneImages(imageGc_->excludedImages, [this](Result<images::PruneReport> report) {
    if (!report.ok()) LOG(WARNING) << "Image GC: " << report.error().message;
    scheduleImageGc();
  });
}

}  // namespace mantle::agent
