// libmantle_secrets.so: the environment_secret and volume/secret isolators
// (Mesos' names) and the secrets/directory secret resolver.
//
// The isolators reach the resolver through the host (sdk::Host::resolveSecret,
// mantle_host_api.resolve_secret): the agent answers inline VALUE secrets and
// hands REFERENCE secrets to the secret_resolver instance its
// --secret_resolver names. Only these isolators ever see a value.
#include <fcntl.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "mantle/module_api/sdk/isolator.hpp"
#include "mantle/module_api/sdk/secret_resolver.hpp"
#include "secret_directory.hpp"

namespace mantle::isolators::secrets {

namespace {

namespace fs = std::filesystem;
namespace v1 = ::mantle::module::v1;
using Prepared = Result<v1::IsolatorPrepareResponse>;

constexpr std::uint32_t kVariableSecret = 2;  // Environment.Variable.Type SECRET
constexpr std::uint32_t kSourceSecret = 3;    // Volume.Source.Type SECRET
constexpr std::uint32_t kModeRw = 1;          // Volume.Mode RW

class EnvironmentSecretIsolator final : public sdk::Isolator {
 public:
  explicit EnvironmentSecretIsolator(sdk::Host host) : host_(host) {}

  static Result<std::unique_ptr<EnvironmentSecretIsolator>> create(const sdk::Context& ctx) {
    return std::make_unique<EnvironmentSecretIsolator>(ctx.host);
  }

  // Every SECRET variable of the executor's and the task's command, resolved
  // into the container's environment.
  Prepared prepare(const v1::IsolatorPrepareRequest& request) override {
    v1::IsolatorPrepareResponse response;
    const v1::ContainerConfig& config = request.config();
    for (const v1::CommandInfo* command : {&config.executor_info().command(), &config.task_info().command()}) {
      for (const auto& variable : command->environment().variables()) {
        if (variable.type() != kVariableSecret) continue;
        const std::string where = "environment_secret: environment variable '" + variable.name() + "'";
        if (!variable.has_secret()) return invalidArgument(where + " of type SECRET has no secret");
        Result<std::string> value = host_.resolveSecret(variable.secret());
        if (!value.ok()) return Error(value.error().code, where + ": " + value.error().message);
        if (value->find('\0') != std::string::npos) {
          return invalidArgument(where + ": its secret contains a NUL byte, which an environment variable cannot hold");
        }
        v1::Environment::Variable* out = response.mutable_launch_info()->mutable_environment()->add_variables();
        out->set_name(variable.name());
        out->set_value(std::move(*value));
      }
    }
    return response;
  }

 private:
  sdk::Host host_;
};

// A file per SECRET volume on a tmpfs of the container's own
// (<state dir>/<container id>), bind-mounted at the volume's container_path
// in the container's mount namespace; the tmpfs goes at cleanup.
class VolumeSecretIsolator final : public sdk::Isolator {
 public:
  VolumeSecretIsolator(sdk::Host host, std::string stateDir) : host_(host), stateDir_(std::move(stateDir)) {}

  static Result<std::unique_ptr<VolumeSecretIsolator>> create(const sdk::Context& ctx) {
    if (ctx.config.stateDir().empty()) {
      return failedPrecondition("volume/secret needs a state directory (the agent gives one under --work_dir)");
    }
    return std::make_unique<VolumeSecretIsolator>(ctx.host, ctx.config.stateDir());
  }

  Result<v1::Empty> recover(const v1::IsolatorRecoverRequest& request) override {
    std::set<std::string> alive;
    for (const auto& state : request.states()) alive.insert(state.container_id().value());
    std::error_code ec;
    for (fs::directory_iterator it(stateDir_, ec), end; !ec && it != end; it.increment(ec)) {
      std::string id = it->path().filename().string();
      if (alive.count(id) == 0) removeContainerDir(it->path());
    }
    return v1::Empty();
  }

  Prepared prepare(const v1::IsolatorPrepareRequest& request) override {
    v1::IsolatorPrepareResponse response;
    const v1::ContainerConfig& config = request.config();
    const v1::ContainerInfo* info = sdk::containerInfoOf(config);
    if (info == nullptr) return response;
    std::vector<const v1::Volume*> volumes;
    for (const auto& volume : info->volumes()) {
      if (volume.source().type() == kSourceSecret) volumes.push_back(&volume);
    }
    if (volumes.empty()) return response;
    const std::string& id = request.container_id().value();
    if (id.empty() || id.find('/') != std::string::npos || id == "." || id == "..") {
      return invalidArgument("volume/secret: container id '" + id + "' cannot name a directory");
    }
    // Targets first: a bad volume fails before anything is mounted.
    std::vector<std::string> targets;
    for (const v1::Volume* volume : volumes) {
      Result<std::string> target = targetOf(*volume, config);
      if (!target.ok()) return target.error();
      targets.push_back(std::move(*target));
    }
    const fs::path dir = fs::path(stateDir_) / id;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return internalError("volume/secret: cannot create '" + dir.string() + "': " + ec.message());
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=8m") != 0) {
      int error = errno;
      fs::remove(dir, ec);
      return Error(error == EPERM ? StatusCode::kPermissionDenied : StatusCode::kInternal,
                   "volume/secret: cannot mount a tmpfs at '" + dir.string() + "': " + std::strerror(error));
    }
    std::optional<uid_t> owner;
    if (!config.user().empty()) {
      if (passwd* pw = ::getpwnam(config.user().c_str())) owner = pw->pw_uid;
    }
    for (std::size_t i = 0; i < volumes.size(); ++i) {
      const v1::Volume& volume = *volumes[i];
      const std::string where = "volume/secret: volume '" + volume.container_path() + "'";
      Result<std::string> value = host_.resolveSecret(volume.source().secret());
      if (!value.ok()) {
        removeContainerDir(dir);
        return Error(value.error().code, where + ": " + value.error().message);
      }
      const fs::path file = dir / std::to_string(i);
      if (Status written = writeSecretFile(file, *value, owner); !written.ok()) {
        removeContainerDir(dir);
        return Error(written.error().code, where + ": " + written.error().message);
      }
      v1::ContainerLaunchInfo::Mount* mount = response.mutable_launch_info()->add_mounts();
      mount->set_source(file.string());
      mount->set_target(targets[i]);
      mount->set_read_only(volume.mode() != kModeRw);
    }
    return response;
  }

  Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest& request) override {
    const std::string& id = request.container_id().value();
    if (!id.empty() && id.find('/') == std::string::npos && id != "." && id != "..") {
      removeContainerDir(fs::path(stateDir_) / id);
    }
    return v1::Empty();
  }

 private:
  // Where the file appears: a relative container_path in the sandbox, an
  // absolute one inside the container's image rootfs (Mesos refuses an
  // absolute path without an image too).
  static Result<std::string> targetOf(const v1::Volume& volume, const v1::ContainerConfig& config) {
    const std::string where = "volume/secret: volume '" + volume.container_path() + "'";
    if (!volume.source().has_secret())
      return invalidArgument(where + ": 'source.secret' is not set for a SECRET volume");
    const fs::path path(volume.container_path());
    if (path.empty()) return invalidArgument("volume/secret: a SECRET volume without container_path");
    for (const auto& part : path) {
      if (part == "..") return invalidArgument(where + ": container_path may not contain '..'");
    }
    if (path.is_absolute()) {
      if (config.rootfs().empty()) {
        return invalidArgument(where +
                               ": an absolute container_path needs a container image (give a path "
                               "relative to the sandbox)");
      }
      return (fs::path(config.rootfs()) / path.relative_path()).string();
    }
    if (config.directory().empty()) return invalidArgument(where + ": the container has no sandbox directory");
    return (fs::path(config.directory()) / path).string();
  }

  static Status writeSecretFile(const fs::path& file, const std::string& data, std::optional<uid_t> owner) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
    if (fd < 0) return internalError("cannot create '" + file.string() + "': " + std::strerror(errno));
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int error = errno;
        ::close(fd);
        return internalError("cannot write '" + file.string() + "': " + std::strerror(error));
      }
      done += static_cast<std::size_t>(n);
    }
    if (owner && ::fchown(fd, *owner, static_cast<gid_t>(-1)) != 0) {
      int error = errno;
      ::close(fd);
      return internalError("cannot hand '" + file.string() + "' to uid " + std::to_string(*owner) + ": " +
                           std::strerror(error));
    }
    ::close(fd);
    return {};
  }

  // Unmounts the container's tmpfs (the secrets vanish with it) and removes
  // its mount point.
  static void removeContainerDir(const fs::path& dir) {
    while (::umount2(dir.c_str(), MNT_DETACH) == 0) {
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  sdk::Host host_;
  std::string stateDir_;
};

// secrets/directory: references resolved from files under a root-owned
// directory (secret_directory.hpp).
class DirectoryResolver final : public sdk::SecretResolver {
 public:
  explicit DirectoryResolver(std::string dir) : dir_(std::move(dir)) {}

  static Result<std::unique_ptr<DirectoryResolver>> create(const sdk::Context& ctx) {
    std::string dir = ctx.config.getString("dir");
    if (dir.empty() || dir.front() != '/') {
      return invalidArgument("secrets/directory: 'dir' must be an absolute path, not '" + dir + "'");
    }
    if (Status trusted = checkTrustedDirectory(dir); !trusted.ok()) {
      return Error(trusted.error().code, "secrets/directory: 'dir': " + trusted.error().message);
    }
    return std::make_unique<DirectoryResolver>(std::move(dir));
  }

  Result<v1::ResolveSecretResponse> resolve(const v1::ResolveSecretRequest& request) override {
    const v1::Secret& secret = request.secret();
    constexpr std::uint32_t kReference = 1;
    if (secret.type() != kReference || !secret.has_reference()) {
      return invalidArgument("secrets/directory resolves only secrets of type REFERENCE");
    }
    const std::string name = sdk::describeReference(secret);
    Result<std::string> data = readSecret(dir_, secret.reference().name(), secret.reference().key());
    if (!data.ok()) return Error(data.error().code, "secret '" + name + "': " + data.error().message);
    v1::ResolveSecretResponse response;
    response.set_data(std::move(*data));
    return response;
  }

 private:
  std::string dir_;
};

}  // namespace

}  // namespace mantle::isolators::secrets

namespace s = mantle::isolators::secrets;
using mantle::sdk::Param;

MANTLE_MODULE_LIBRARY(
    "mantle_secrets", "0.1.0",
    mantle::sdk::describe<s::EnvironmentSecretIsolator>(
        "environment_secret",
        "Environment variables of type SECRET (the executor's and the task's command) resolved into the "
        "container's environment",
        {}),
    mantle::sdk::describe<s::VolumeSecretIsolator>(
        "volume/secret",
        "Volumes with source SECRET as read-only files on a tmpfs of the container's own, bind-mounted at "
        "container_path (relative: in the sandbox; absolute: in the image rootfs)",
        {}),
    mantle::sdk::describe<s::DirectoryResolver>(
        "secrets/directory",
        "Secret resolver: reference 'name' is the file <dir>/<name>, 'name' with 'key' the file "
        "<dir>/<name>/<key>; everything on the way owned by root and writable by nobody else",
        {Param::required(Param::string("dir", "The root-owned directory of secrets"))}))
