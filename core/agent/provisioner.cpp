#include "agent/provisioner.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mantle::agent {

namespace fs = std::filesystem;

namespace {

Error systemError(const std::string& what) {
  return internalError(what + ": " + std::strerror(errno));
}

// Overlay's data for mount(2) must fit in a page.
constexpr std::size_t kMaxMountData = 4000;

bool isWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool isOpaque(const fs::path& dir) {
  char value[2] = {0, 0};
  const ssize_t n = ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", value, sizeof(value));
  return n == 1 && value[0] == 'y';
}

void removeAny(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

Status copyRegular(const fs::path& from, const fs::path& to, mode_t mode) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return systemError("cannot read " + from.string());
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
  if (out < 0) {
    ::close(in);
    return systemError("cannot create " + to.string());
  }
  char buffer[1 << 16];
  Status status;
  for (;;) {
    const ssize_t n = ::read(in, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      status = systemError("cannot read " + from.string());
      break;
    }
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buffer + done, static_cast<std::size_t>(n - done));
      if (w < 0) {
        if (errno == EINTR) continue;
        status = systemError("cannot write " + to.string());
        break;
      }
      done += w;
    }
    if (!status.ok()) break;
  }
  ::close(in);
  ::close(out);
  return status;
}

// Owner and mode of `st` on `to` (mode after owner: chown clears set-id bits).
Status copyAttributes(const fs::path& to, const struct stat& st) {
  if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0) return systemError("cannot chown " + to.string());
  if (!S_ISLNK(st.st_mode) && ::chmod(to.c_str(), st.st_mode & 07777) != 0) {
    return systemError("cannot chmod " + to.string());
  }
  return {};
}

Status copyTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::directory_iterator it(from, ec);
  if (ec) return internalError("cannot list " + from.string() + ": " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path source = it->path();
    const fs::path target = to / source.filename();
    const std::string name = source.filename().string();
    struct stat st;
    if (::lstat(source.c_str(), &st) != 0) return systemError("cannot stat " + source.string());
    if (isWhiteout(st)) {
      removeAny(target);
      continue;
    }
    struct stat existing;
    const bool exists = ::lstat(target.c_str(), &existing) == 0;
    if (S_ISDIR(st.st_mode)) {
      // A directory replaces anything but a directory; an opaque one also
      // what the lower layers had in it.
      if (exists && (!S_ISDIR(existing.st_mode) || isOpaque(source))) removeAny(target);
      if (::mkdir(target.c_str(), 0700) != 0 && errno != EEXIST) return systemError("cannot create " + target.string());
      if (Status copied = copyTree(source, target); !copied.ok()) return copied;
      if (Status attributes = copyAttributes(target, st); !attributes.ok()) return attributes;
      continue;
    }
    if (exists) removeAny(target);
    if (S_ISREG(st.st_mode)) {
      if (Status copied = copyRegular(source, target, st.st_mode); !copied.ok()) return copied;
    } else if (S_ISLNK(st.st_mode)) {
      std::string link(static_cast<std::size_t>(st.st_size) + 1, '\0');
      const ssize_t n = ::readlink(source.c_str(), link.data(), link.size());
      if (n < 0) return systemError("cannot read the link " + source.string());
      link.resize(static_cast<std::size_t>(n));
      if (::symlink(link.c_str(), target.c_str()) != 0) return systemError("cannot create the link " + target.string());
    } else if (::mknod(target.c_str(), st.st_mode, st.st_rdev) != 0) {
      return systemError("cannot create the special file " + target.string());
    }
    if (Status attributes = copyAttributes(target, st); !attributes.ok()) return attributes;
  }
  if (ec) return internalError("cannot list " + from.string() + ": " + ec.message());
  return {};
}

// mountinfo escapes spaces, tabs, newlines and backslashes as \ooo.
std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const std::string digits = text.substr(i + 1, 3);
      if (digits.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(digits, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace

Result<ProvisionerBackend> parseProvisionerBackend(const std::string& name) {
  if (name == "overlay") return ProvisionerBackend::kOverlay;
  if (name == "copy") return ProvisionerBackend::kCopy;
  return invalidArgument("unknown image provisioner backend '" + name + "' (overlay or copy)");
}

const char* backendName(ProvisionerBackend backend) {
  return backend == ProvisionerBackend::kOverlay ? "overlay" : "copy";
}

bool overlayWorksIn(const std::string& dir) {
  const fs::path probe = fs::path(dir) / ".overlay-probe";
  std::error_code ec;
  fs::remove_all(probe, ec);
  for (const char* sub : {"lower", "upper", "work", "merged"}) fs::create_directories(probe / sub, ec);
  if (ec) return false;
  const std::string options = "lowerdir=" + (probe / "lower").string() + ",upperdir=" + (probe / "upper").string() +
                              ",workdir=" + (probe / "work").string();
  const bool mounted = ::mount("overlay", (probe / "merged").c_str(), "overlay", 0, options.c_str()) == 0;
  if (mounted) ::umount2((probe / "merged").c_str(), MNT_DETACH);
  fs::remove_all(probe, ec);
  return mounted;
}

Status copyLayer(const std::string& layer, const std::string& rootfs) {
  std::error_code ec;
  if (!fs::is_directory(layer, ec)) return notFound("the layer " + layer + " is not a directory");
  return copyTree(layer, rootfs);
}

std::vector<std::string> mountsUnder(const std::string& dir) {
  const std::string prefix = fs::path(dir).lexically_normal().string();
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mountPoint;
    if (!(fields >> id >> parent >> device >> root >> mountPoint)) continue;
    mountPoint = unescape(mountPoint);
    if (mountPoint == prefix || mountPoint.rfind(prefix + "/", 0) == 0) out.push_back(mountPoint);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

Provisioner::Provisioner(std::string workDir, ProvisionerBackend backend)
    : root_(std::move(workDir) + "/provisioner"), backend_(backend) {}

std::string Provisioner::containerDir(const std::string& containerId) const {
  return root_ + "/containers/" + containerId;
}

std::string Provisioner::rootfsOf(const std::string& containerId) const {
  return containerDir(containerId) + "/backends/" + backendName(backend_) + "/rootfs";
}

Result<std::string> Provisioner::provision(const std::string& containerId,
                                           const std::vector<std::string>& layers) const {
  return assemble(rootfsOf(containerId), layers, containerDir(containerId));
}

Result<std::string> Provisioner::provisionVolume(const std::string& containerId, std::size_t index,
                                                 const std::vector<std::string>& layers) const {
  return assemble(volumeRootfsOf(containerId, index), layers,
                  containerDir(containerId) + "/volumes/" + std::to_string(index));
}

Result<std::string> Provisioner::assemble(const std::string& path, const std::vector<std::string>& layers,
                                          const std::string& ownDir) const {
  if (layers.empty()) return invalidArgument("the image has no layers");
  const fs::path rootfs = path;
  const fs::path base = rootfs.parent_path();
  std::error_code ec;
  fs::create_directories(rootfs, ec);
  if (ec) return internalError("cannot create " + rootfs.string() + ": " + ec.message());
  ::chmod(rootfs.c_str(), 0755);
  auto failed = [&](const Error& error) -> Error {
    (void)removeDir(ownDir);
    return error;
  };
  if (backend_ == ProvisionerBackend::kCopy) {
    for (const std::string& layer : layers) {
      if (Status copied = copyLayer(layer, rootfs.string()); !copied.ok()) {
        return failed(copied.error().withContext("copying the image's layers"));
      }
    }
    return rootfs.string();
  }
  // overlayfs lists the lower directories topmost first.
  std::string lower;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const fs::path link = base / "layers" / std::to_string(i);
    fs::create_directories(link.parent_path(), ec);
    if (::symlink(layers[i].c_str(), link.c_str()) != 0 && errno != EEXIST) {
      return failed(systemError("cannot link the layer " + layers[i]));
    }
    lower = link.string() + (lower.empty() ? "" : ":") + lower;
  }
  for (const char* sub : {"upperdir", "workdir"}) fs::create_directories(base / sub, ec);
  if (ec) return failed(internalError("cannot create " + base.string() + ": " + ec.message()));
  const std::string options =
      "lowerdir=" + lower + ",upperdir=" + (base / "upperdir").string() + ",workdir=" + (base / "workdir").string();
  if (options.size() > kMaxMountData) {
    return failed(invalidArgument("the image has too many layers (" + std::to_string(layers.size()) +
                                  ") for one overlay mount; use --image_provisioner_backend=copy"));
  }
  if (::mount("overlay", rootfs.c_str(), "overlay", 0, options.c_str()) != 0) {
    return failed(systemError("cannot mount the overlay at " + rootfs.string()));
  }
  return rootfs.string();
}

std::string Provisioner::volumeRootfsOf(const std::string& containerId, std::size_t index) const {
  return containerDir(containerId) + "/volumes/" + std::to_string(index) + "/backends/" + backendName(backend_) +
         "/rootfs";
}

Status Provisioner::destroy(const std::string& containerId) const {
  return removeDir(containerDir(containerId));
}

Status Provisioner::removeDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {};
  for (const std::string& mountPoint : mountsUnder(dir)) {
    if (::umount2(mountPoint.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return systemError("cannot unmount " + mountPoint);
    }
  }
  fs::remove_all(dir, ec);
  if (ec) return internalError("cannot remove " + dir + ": " + ec.message());
  return {};
}

std::vector<std::string> Provisioner::recover(const std::set<std::string>& live) const {
  std::vector<std::string> destroyed;
  std::error_code ec;
  for (fs::directory_iterator it(root_ + "/containers", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string id = it->path().filename().string();
    if (live.count(id) > 0) continue;
    if (Status removed = destroy(id); !removed.ok()) continue;
    destroyed.push_back(id);
  }
  return destroyed;
}

}  // namespace mantle::agent
