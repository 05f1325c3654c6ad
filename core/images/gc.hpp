// Automatic image garbage collection, Mesos' --image_gc_config: a JSON
// object (inline, or the path of a file holding it)
//   {"image_disk_headroom": 0.1,
//    "image_disk_watch_interval": {"nanoseconds": 3600000000000},
//    "excluded_images": [{"type": "DOCKER", "docker": {"name": "busybox"}}]}
// Every watch interval the agent checks the file system of the image store;
// when less than `image_disk_headroom` of it is free, it prunes the images no
// container uses, except the excluded ones (Image type DOCKER or OCI).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "images/store.hpp"
#include "mantle/result.hpp"

namespace mantle::images {

struct ImageGcConfig {
  double diskHeadroom = 0.1;  // the free fraction below which the agent prunes, in [0, 1]
  std::chrono::nanoseconds watchInterval = std::chrono::hours(1);
  std::vector<ImageReference> excludedImages;
};

// Errors (InvalidArgument) name the flag and the JSON path.
Result<ImageGcConfig> parseImageGcConfig(const std::string& value);

}  // namespace mantle::images
