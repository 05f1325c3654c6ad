// libmantle_docker_runtime.so: docker/runtime. For a container in a Docker or
// OCI image (ContainerConfig.image_config, set by the agent's provisioner),
// prepare applies the image's Entrypoint, Cmd, Env, WorkingDir and User
// against the CommandInfo of the task (a command task) or of the executor,
// with Mesos' precedence (runtime_rule.hpp). It keeps no state.
#include "mantle/module_api/sdk/isolator.hpp"
#include "runtime_rule.hpp"

namespace mantle::isolators::docker {

namespace {

class DockerRuntimeIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<DockerRuntimeIsolator>> create(const sdk::Context&) {
    return std::make_unique<DockerRuntimeIsolator>();
  }

  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) override {
    v1::IsolatorPrepareResponse response;
    const v1::ContainerConfig& config = request.config();
    if (!config.has_image_config()) return response;
    const v1::ImageConfig& image = config.image_config();
    const v1::CommandInfo& command =
        config.has_task_info() ? config.task_info().command() : config.executor_info().command();
    v1::ContainerLaunchInfo& launch = *response.mutable_launch_info();

    Result<std::optional<v1::CommandInfo>> merged = launchCommand(command, image);
    if (!merged.ok()) return merged.error();
    if (*merged) *launch.mutable_command() = std::move(**merged);

    for (auto& [name, value] : imageEnvironment(image, command)) {
      auto* variable = launch.mutable_environment()->add_variables();
      variable->set_name(name);
      variable->set_value(value);
    }
    if (!image.working_dir().empty()) launch.set_working_directory(image.working_dir());

    // The image's User, unless the CommandInfo or the agent (--switch_user)
    // names one.
    if (!image.user().empty() && !command.has_user() && !config.has_user()) {
      Result<std::string> user = imageUser(image.user(), config.rootfs());
      if (!user.ok()) return user.error();
      launch.set_user(*user);
    }
    return response;
  }
};

}  // namespace

}  // namespace mantle::isolators::docker

MANTLE_MODULE_LIBRARY("mantle_docker_runtime", "0.1.0",
                      mantle::sdk::describe<mantle::isolators::docker::DockerRuntimeIsolator>(
                          "docker/runtime",
                          "Applies a Docker/OCI image's Entrypoint, Cmd, Env, WorkingDir and User to the container's "
                          "command with Mesos' precedence",
                          {}));
