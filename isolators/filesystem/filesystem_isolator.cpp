// libmantle_filesystem.so: filesystem/linux. For a container whose
// ContainerInfo names an image (the agent's provisioner assembled its rootfs,
// ContainerConfig.rootfs), prepare answers with the rootfs to pivot into and
// the mounts that make it a place to run in: the sandbox at
// sandbox_directory (MESOS_SANDBOX), a fresh /proc, a minimal /dev, and the
// container's /etc/hosts, /etc/hostname and /etc/resolv.conf written into the
// rootfs (the container's own copy: the overlay's upper layer, or the copy
// backend's private tree). A container on the host's filesystem is left as
// it is. Every mount lives in the container's mount namespace and goes with
// it: there is nothing to clean up.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mantle/module_api/sdk/isolator.hpp"

namespace mantle::isolators::filesystem {

namespace {

namespace fs = std::filesystem;
namespace v1 = ::mantle::module::v1;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Replaces `path` (a file, or a symlink that would lead out of the rootfs)
// with a regular file holding `content`.
Status writeRootfsFile(const fs::path& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (fs::is_symlink(path, ec) || (fs::exists(path, ec) && !fs::is_regular_file(path, ec))) fs::remove_all(path, ec);
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return internalError("filesystem/linux: cannot write " + path.string());
  ::chmod(path.c_str(), 0644);
  return {};
}

v1::ContainerLaunchInfo::Mount* addMount(v1::ContainerLaunchInfo& launch, const std::string& source,
                                         const std::string& target, const std::string& type = "",
                                         const std::string& options = "") {
  v1::ContainerLaunchInfo::Mount* mount = launch.add_mounts();
  mount->set_source(source);
  mount->set_target(target);
  if (!type.empty()) mount->set_type(type);
  if (!options.empty()) mount->set_options(options);
  return mount;
}

class LinuxFilesystemIsolator final : public sdk::Isolator {
 public:
  explicit LinuxFilesystemIsolator(std::string sandboxDirectory) : sandboxDirectory_(std::move(sandboxDirectory)) {}

  static Result<std::unique_ptr<LinuxFilesystemIsolator>> create(const sdk::Context& ctx) {
    std::string sandbox = ctx.config.getString("sandbox_directory");
    if (sandbox.empty() || sandbox.front() != '/' || sandbox == "/") {
      return invalidArgument("filesystem/linux: sandbox_directory '" + sandbox +
                             "' must be an absolute path other than /");
    }
    return std::make_unique<LinuxFilesystemIsolator>(fs::path(sandbox).lexically_normal().string());
  }

  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) override {
    v1::IsolatorPrepareResponse response;
    const v1::ContainerConfig& config = request.config();
    if (!config.has_rootfs()) return response;  // the host's filesystem, as before
    const std::string rootfs = fs::path(config.rootfs()).lexically_normal().string();
    std::error_code ec;
    if (!fs::is_directory(rootfs, ec)) {
      return failedPrecondition("filesystem/linux: the container's rootfs " + rootfs + " is not a directory");
    }
    if (config.directory().empty()) return invalidArgument("filesystem/linux: the container has no sandbox");
    v1::ContainerLaunchInfo& launch = *response.mutable_launch_info();
    launch.set_rootfs(rootfs);

    // The sandbox, where the container sees it.
    addMount(launch, config.directory(), rootfs + sandboxDirectory_)->set_recursive(true);
    auto* variable = launch.mutable_environment()->add_variables();
    variable->set_name("MESOS_SANDBOX");
    variable->set_value(sandboxDirectory_);

    // A fresh /proc and a minimal /dev.
    addMount(launch, "proc", rootfs + "/proc", "proc");
    addMount(launch, "tmpfs", rootfs + "/dev", "tmpfs", "mode=755,size=65536k");
    for (const char* device : {"null", "zero", "full", "random", "urandom", "tty"}) {
      addMount(launch, std::string("/dev/") + device, rootfs + "/dev/" + device);
    }
    addMount(launch, "devpts", rootfs + "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620");
    addMount(launch, rootfs + "/dev/pts/ptmx", rootfs + "/dev/ptmx");
    addMount(launch, "tmpfs", rootfs + "/dev/shm", "tmpfs", "mode=1777");

    // The container's host name (ContainerInfo.hostname, else the agent's)
    // and name resolution.
    const v1::ContainerInfo* info = sdk::containerInfoOf(config);
    std::string hostname = info != nullptr && info->has_hostname() ? info->hostname() : "";
    if (hostname.empty()) {
      hostname = readFile("/proc/sys/kernel/hostname");
      while (!hostname.empty() && (hostname.back() == '\n' || hostname.back() == ' ')) hostname.pop_back();
    }
    const std::string hosts =
        "127.0.0.1 localhost\n127.0.1.1 " + hostname + "\n::1 localhost ip6-localhost ip6-loopback\n";
    for (auto [file, content] : {std::pair<std::string, std::string>{"/etc/hosts", hosts},
                                 {"/etc/hostname", hostname + "\n"},
                                 {"/etc/resolv.conf", readFile("/etc/resolv.conf")}}) {
      if (Status written = writeRootfsFile(rootfs + file, content); !written.ok()) return written.error();
    }
    return response;
  }

 private:
  std::string sandboxDirectory_;
};

}  // namespace

}  // namespace mantle::isolators::filesystem

using mantle::sdk::Param;

MANTLE_MODULE_LIBRARY(
    "mantle_filesystem", "0.1.0",
    mantle::sdk::describe<mantle::isolators::filesystem::LinuxFilesystemIsolator>(
        "filesystem/linux",
        "Runs containers whose ContainerInfo names an image in their root filesystem (pivot_root): the sandbox at "
        "sandbox_directory, a fresh /proc, a minimal /dev, /etc/hosts, /etc/hostname and /etc/resolv.conf",
        {Param::string("sandbox_directory",
                       "Where the sandbox is mounted in the container, MESOS_SANDBOX (Mesos' --sandbox_directory)",
                       "/mnt/mesos/sandbox")}));
