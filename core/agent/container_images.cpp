#include "agent/container_images.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace mantle::agent {

namespace {

constexpr std::uint32_t kDockerContainer = 1;
constexpr std::uint32_t kMesosContainer = 2;
constexpr std::uint32_t kAppcImage = 1;
constexpr std::uint32_t kDockerImage = 2;
constexpr std::uint32_t kOciImage = 3;
constexpr std::uint32_t kNetworkBridge = 2;
constexpr std::uint32_t kNetworkNone = 3;
constexpr std::uint32_t kNetworkUser = 4;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The docker.parameters keys that map, by their long name.
std::optional<std::string> mappedParameter(const std::string& key) {
  static const std::vector<std::pair<std::string, std::string>> kMapped = {{"env", "env"},
                                                                           {"e", "env"},
                                                                           {"user", "user"},
                                                                           {"u", "user"},
                                                                           {"workdir", "workdir"},
                                                                           {"w", "workdir"},
                                                                           {"entrypoint", "entrypoint"}};
  for (const auto& [name, canonical] : kMapped) {
    if (key == name) return canonical;
  }
  return std::nullopt;
}

// An image type without its --image_providers entry is refused.
Status checkProvider(const ImageRequest& request, const ImageSupport& support) {
  const bool oci = request.reference.type == images::ImageReference::Type::kOci;
  if (oci ? !support.oci : !support.docker) {
    return invalidArgument(request.describe() + ": this agent does not run " + (oci ? "OCI" : "docker") +
                           " images (--image_providers)");
  }
  return {};
}

}  // namespace

Result<ImageSupport> parseImageProviders(const std::string& providers) {
  ImageSupport support;
  std::istringstream in(providers);
  for (std::string name; std::getline(in, name, ',');) {
    const std::string provider = lower(name);
    if (provider.empty()) continue;
    if (provider == "docker") {
      support.docker = true;
    } else if (provider == "oci") {
      support.oci = true;
    } else if (provider == "appc") {
      return invalidArgument("--image_providers: APPC images are not supported (docker and oci are)");
    } else {
      return invalidArgument("--image_providers: unknown image provider '" + name + "' (docker, oci)");
    }
  }
  return support;
}

std::string ImageRequest::describe() const {
  return std::string(reference.type == images::ImageReference::Type::kOci ? "OCI" : "docker") + " image '" +
         reference.name + "'";
}

Result<std::optional<ImageRequest>> imageRequestOf(const module::v1::ContainerInfo& info, const ImageSupport& support) {
  ImageRequest request;
  if (info.type() == kDockerContainer) {
    const auto& docker = info.docker();
    if (docker.image().empty()) return invalidArgument("ContainerInfo type DOCKER needs docker.image");
    if (docker.privileged() && !support.allowPrivileged) {
      return invalidArgument(
          "docker.privileged is not allowed on this agent (an operator allows it with "
          "--allow_privileged_containers)");
    }
    if (docker.network() == kNetworkBridge) {
      return invalidArgument("docker.network BRIDGE is not supported: use network_infos with the network/cni isolator");
    }
    if (docker.network() == kNetworkNone) return invalidArgument("docker.network NONE is not supported");
    if ((docker.network() == kNetworkUser || docker.port_mappings_size() > 0) && !support.cni) {
      return invalidArgument(
          "docker.network USER and docker.port_mappings need the network/cni isolator, which this agent does not run");
    }
    for (const auto& parameter : docker.parameters()) {
      std::optional<std::string> mapped = mappedParameter(parameter.key());
      if (!mapped) {
        return invalidArgument("docker.parameters '" + parameter.key() +
                               "' is not supported (env, user, workdir and entrypoint are)");
      }
      if (*mapped == "env" && parameter.value().find('=') == std::string::npos) {
        return invalidArgument("docker.parameters env '" + parameter.value() + "' needs the form NAME=value");
      }
      request.parameters.emplace_back(*mapped, parameter.value());
    }
    request.reference = {images::ImageReference::Type::kDocker, docker.image()};
    request.forcePull = docker.force_pull_image();
  } else if (info.type() == kMesosContainer || !info.has_type()) {
    if (!info.mesos().has_image()) return std::optional<ImageRequest>();
    Result<ImageRequest> image = imageRequestOf(info.mesos().image(), "mesos.image", support);
    if (!image.ok()) return image.error();
    return std::optional<ImageRequest>(std::move(*image));
  } else {
    return invalidArgument("ContainerInfo type " + std::to_string(info.type()) + " is not supported");
  }
  if (Status provided = checkProvider(request, support); !provided.ok()) return provided.error();
  return std::optional<ImageRequest>(std::move(request));
}

Result<ImageRequest> imageRequestOf(const module::v1::Image& image, const std::string& field,
                                    const ImageSupport& support) {
  if (image.type() == kAppcImage) return invalidArgument("APPC images are not supported (docker and OCI are)");
  if (image.type() != kDockerImage && image.type() != kOciImage) {
    return invalidArgument(field + " type " + std::to_string(image.type()) + " is not supported");
  }
  if (image.docker().name().empty()) return invalidArgument(field + " needs docker.name");
  ImageRequest request;
  request.reference = {
      image.type() == kOciImage ? images::ImageReference::Type::kOci : images::ImageReference::Type::kDocker,
      image.docker().name()};
  request.forcePull = !image.cached();
  if (Status provided = checkProvider(request, support); !provided.ok()) return provided.error();
  return request;
}

void applyDockerParameters(const ImageRequest& request, module::v1::ImageConfig& config) {
  for (const auto& [key, value] : request.parameters) {
    if (key == "env") {
      config.add_env(value);
    } else if (key == "user") {
      config.set_user(value);
    } else if (key == "workdir") {
      config.set_working_dir(value);
    } else if (key == "entrypoint") {
      config.clear_entrypoint();
      config.clear_cmd();
      config.add_entrypoint(value);
    }
  }
}

std::vector<module::v1::ImageVolume> imageVolumesOf(const module::v1::ContainerConfig& config) {
  std::vector<module::v1::ImageVolume> out;
  auto add = [&out](const module::v1::ContainerInfo& container, const std::string& owner) {
    for (int i = 0; i < container.volumes_size(); ++i) {
      const module::v1::Volume& volume = container.volumes(i);
      if (!volume.has_image()) continue;
      module::v1::ImageVolume entry;
      *entry.mutable_volume() = volume;
      entry.set_name(owner + ": ContainerInfo.volumes[" + std::to_string(i) + "] (container_path '" +
                     volume.container_path() + "')");
      out.push_back(std::move(entry));
    }
  };
  if (config.has_task_info() && config.task_info().has_container()) {
    add(config.task_info().container(), "task '" + config.task_info().task_id().value() + "'");
  } else if (config.executor_info().has_container()) {
    add(config.executor_info().container(), "executor '" + config.executor_info().executor_id().value() + "'");
  }
  for (const module::v1::TaskInfo& task : config.task_group()) {
    if (task.has_container()) add(task.container(), "task '" + task.task_id().value() + "'");
  }
  return out;
}

}  // namespace mantle::agent
