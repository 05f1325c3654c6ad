// Where a pull gets an image from: a registry, a docker-archive tarball
// (Mesos' image_tar_puller) or an OCI image layout on disk. Blocking: the
// store calls them from its worker threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "images/manifest.hpp"
#include "images/reference.hpp"
#include "images/registry.hpp"
#include "mantle/result.hpp"

namespace mantle::images {

struct ResolvedImage {
  std::string id;  // manifest digest (docker-archive: the config's digest, Docker's image id)
  ImageConfigDocument config;
  std::vector<Descriptor> layers;  // lowest first; digests name the layers in the store
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // Reads and verifies the manifest and the config.
  virtual Result<ResolvedImage> resolve() = 0;
  // Makes the layer's blob a verified local file and returns its path: a
  // download into `downloadPath`, or a file of the source itself. May run on
  // several threads at once.
  virtual Result<std::string> fetchLayer(const Descriptor& layer, const std::string& downloadPath) = 0;
};

std::unique_ptr<ImageSource> registrySource(RegistryEndpoint endpoint, DockerName name, std::string basicAuth,
                                            RegistryOptions options);

// `<directory>/<repository>:<tag>.tar`, unpacked into `scratch` (made and
// removed by the caller).
std::unique_ptr<ImageSource> dockerArchiveSource(std::string directory, DockerName name, std::string scratch);

std::unique_ptr<ImageSource> ociLayoutSource(OciLayoutName name);

}  // namespace mantle::images
