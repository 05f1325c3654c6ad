// The image provisioner's rootfs side: assembles a container's root
// filesystem from an image's layer directories (lowest first, overlayfs form:
// a whiteout is a 0:0 character device, an opaque directory carries the xattr
// trusted.overlay.opaque=y), and takes it apart again. Everything of a
// container lives under <work_dir>/provisioner/containers/<container id>/:
//   backends/overlay/rootfs     the overlay mount (lowerdir = the layers,
//                               through the short links in layers/<n>)
//   backends/overlay/upperdir   what the container writes
//   backends/overlay/workdir
//   backends/copy/rootfs        the copy backend's tree: the layers copied in
//                               order, whiteouts applied
//   volumes/<n>/backends/...    the same for the container's n-th image
//                               volume (Volume.image)
// so a restarted agent finds (and removes) a rootfs whose container is gone.
//
// provision() blocks (the copy backend for seconds): the agent calls it off
// its loop. Calls for different containers may run at the same time.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::agent {

enum class ProvisionerBackend { kOverlay, kCopy };

// "overlay" or "copy" (Mesos' --image_provisioner_backend names).
Result<ProvisionerBackend> parseProvisionerBackend(const std::string& name);
const char* backendName(ProvisionerBackend backend);

// Whether an overlay filesystem can be mounted with its upper directory under
// `dir` (a real mount and unmount: overlayfs refuses some upper filesystems).
bool overlayWorksIn(const std::string& dir);

// Copies layer directory `layer` over `rootfs` as overlayfs would show it:
// a whiteout removes what the lower layers had at its path, an opaque
// directory hides everything below it; owners, modes, symlinks, devices and
// fifos are kept (hard links become copies).
Status copyLayer(const std::string& layer, const std::string& rootfs);

class Provisioner {
 public:
  Provisioner(std::string workDir, ProvisionerBackend backend);

  ProvisionerBackend backend() const { return backend_; }

  // Assembles the rootfs of `containerId` from `layers` (lowest first);
  // returns its path. On error nothing is left.
  Result<std::string> provision(const std::string& containerId, const std::vector<std::string>& layers) const;

  // The same for the container's `index`-th image volume; on error only that
  // volume's directory goes.
  Result<std::string> provisionVolume(const std::string& containerId, std::size_t index,
                                      const std::vector<std::string>& layers) const;

  // Unmounts whatever is mounted under the container's directory (deepest
  // first) and removes it, image volumes included. Nothing to do for a
  // container without one.
  Status destroy(const std::string& containerId) const;

  // After an agent restart: destroys every container directory whose id is
  // not in `live`; returns the ids destroyed.
  std::vector<std::string> recover(const std::set<std::string>& live) const;

  // The container's directory (whether it exists or not).
  std::string containerDir(const std::string& containerId) const;
  // Where provision() puts the container's rootfs with this backend.
  std::string rootfsOf(const std::string& containerId) const;
  // Where provisionVolume() puts the rootfs of the `index`-th image volume.
  std::string volumeRootfsOf(const std::string& containerId, std::size_t index) const;

 private:
  // The layers assembled at `rootfs`; on error `ownDir` is removed.
  Result<std::string> assemble(const std::string& rootfs, const std::vector<std::string>& layers,
                               const std::string& ownDir) const;
  // Unmounts what is mounted under `dir` (deepest first), then removes it.
  static Status removeDir(const std::string& dir);

  std::string root_;  // <work_dir>/provisioner
  ProvisionerBackend backend_;
};

// Mount points at or below `dir`, from /proc/self/mountinfo, deepest first.
std::vector<std::string> mountsUnder(const std::string& dir);

}  // namespace mantle::agent
