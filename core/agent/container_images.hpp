// What the agent does with a ContainerInfo before the containerizer sees it:
// which image the container runs in (ContainerInfo type MESOS with
// mesos.image, or type DOCKER with docker.image: one runtime for both), and
// whether the agent can honour the rest. Anything it cannot honour is refused
// with a message saying what, so a task never runs without its image or with
// a setting silently dropped.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "images/store.hpp"
#include "mantle/module/v1/isolator.pb.h"
#include "mantle/result.hpp"

namespace mantle::agent {

// The file in a run's checkpoint directory (<meta>/.../runs/<container>)
// that holds the id of the image its container runs in, written once the
// image is pulled.
inline constexpr char kImageIdFile[] = "image.id";
// Beside it: the ids of the images of its image volumes, one per line, in
// the order they were pulled.
inline constexpr char kVolumeImageIdsFile[] = "volume_images.ids";

struct ImageSupport {
  bool docker = false;           // --image_providers has docker
  bool oci = false;              // --image_providers has oci
  bool allowPrivileged = false;  // --allow_privileged_containers
  bool cni = false;              // network/cni is in --isolation
};

// --image_providers: a comma-separated list of "docker" and "oci" (any case);
// "appc" is refused (Mesos' APPC images are not supported).
Result<ImageSupport> parseImageProviders(const std::string& providers);

struct ImageRequest {
  images::ImageReference reference;
  bool forcePull = false;
  // docker.parameters that map onto the image's config: env/e ("NAME=value",
  // added to the image's Env), user/u (the image's User), workdir/w (its
  // WorkingDir) and entrypoint (its Entrypoint, Cmd cleared, as Docker does).
  std::vector<std::pair<std::string, std::string>> parameters;

  // "docker image 'busybox:latest'", "OCI image '/images/app:v1'".
  std::string describe() const;
};

// The image `info` names (nullopt: none, the host's filesystem), or an
// InvalidArgument error saying what this agent cannot honour: an APPC image,
// an image type without its --image_providers entry, a DOCKER container
// without docker.image, docker.privileged without --allow_privileged_containers,
// a docker.parameters key that does not map, docker.network BRIDGE or NONE,
// USER or port mappings without network/cni.
Result<std::optional<ImageRequest>> imageRequestOf(const module::v1::ContainerInfo& info, const ImageSupport& support);

// The image of an image volume (Volume.image; `field` names it in errors):
// DOCKER or OCI, of a type in --image_providers.
Result<ImageRequest> imageRequestOf(const module::v1::Image& image, const std::string& field,
                                    const ImageSupport& support);

// The image volumes (Volume.image) of a container, in the order the agent
// provisions them: its command task's ContainerInfo (else its executor's),
// then a task group's tasks' (as the volume isolators read them). Each with
// its name for messages ("task 't1': ContainerInfo.volumes[0] (container_path
// '/data')"), its rootfs not yet set.
std::vector<module::v1::ImageVolume> imageVolumesOf(const module::v1::ContainerConfig& config);

// The image's config with the request's docker.parameters applied.
void applyDockerParameters(const ImageRequest& request, module::v1::ImageConfig& config);

}  // namespace mantle::agent
