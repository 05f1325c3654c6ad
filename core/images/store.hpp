// The agent's image store: Docker and OCI images pulled from a registry
// (Docker Registry HTTP API v2) or from local archives, kept content-addressed
// under one directory (Mesos' --docker_store_dir), each layer extracted once
// and shared by every image that has it.
//
// Layout of `StoreOptions::storeDir`:
//   layers/<sha256 hex>/rootfs   one extracted layer, named by the digest of the
//                                blob the manifest lists (compressed or not);
//                                present only when complete (extracted under
//                                staging/ and renamed in)
//   images/<sha256 hex>.json     one pulled image (manifest digest): the
//                                references that named it, its layer digests
//                                lowest first, its runtime config
//   staging/                     downloads in progress (<hex>.partial, kept so
//                                a later try resumes them) and extractions in
//                                progress; whatever is here at start-up that
//                                is not a partial download is removed
// Every blob is verified against its sha256 digest before it is used; a
// layer blob is removed once extracted.
//
// Layers are stored in overlayfs form, so the rootfs code stacks
// `PulledImage::layers` as lowerdirs as they are:
//   - an OCI/Docker whiteout `.wh.<name>` becomes a character device 0:0
//     named `<name>` (overlayfs' whiteout),
//   - an opaque-directory marker `.wh..wh..opq` becomes the xattr
//     `trusted.overlay.opaque=y` on its directory.
// Both need root (CAP_MKNOD, CAP_SYS_ADMIN for trusted.* xattrs); a layer
// with whiteouts fails to extract without them, naming the layer. Entries
// that would land outside the layer directory (`..`, through a symlink) fail
// the layer.
//
// Image names (`ImageReference::name`):
//   kDocker  Mesos' form `[registry/]repository[:tag|@digest]`. The first
//            component is a registry host when it holds '.' or ':' or is
//            `localhost`; otherwise the image comes from the default registry
//            (StoreOptions::defaultRegistry), where a single-component
//            repository gets `library/` (Docker Hub's convention). Tag
//            default: `latest`. When the default registry is a local
//            directory (Mesos' image_tar_puller), `<dir>/<repository>:<tag>.tar`
//            holds a `docker save` (docker-archive) tarball, with `/` in the
//            repository kept as sub-directories.
//   kOci     (Mantle extension) an OCI image layout on disk:
//            `<absolute layout dir>[:<tag>]`; the tag matches the
//            `org.opencontainers.image.ref.name` annotation of an entry of
//            the layout's index.json (default `latest`; an index with a single
//            entry and no annotation matches any tag).
// An index / manifest list resolves to its linux/amd64 manifest.
//
// Threads: pulls run on the store's own worker threads (one per pull in
// flight up to `concurrentPulls`, plus `parallelDownloads` for layer blobs),
// never on the caller's; `done` is posted to the `callbacks` executor. One
// pull per image reference is in flight at a time; every caller asking for it
// meanwhile gets the same result.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "mantle/module/v1/isolator.pb.h"
#include "mantle/result.hpp"

namespace mantle::images {

struct ImageReference {
  enum class Type { kDocker, kOci };
  Type type = Type::kDocker;
  std::string name;
};

struct PulledImage {
  std::string id;                          // the manifest's digest, "sha256:<hex>"
  std::vector<std::string> layers;         // extracted layer directories, LOWEST FIRST, read-only
  mantle::module::v1::ImageConfig config;  // entrypoint, cmd, env, working_dir, user
};

struct StoreOptions {
  // Where images and layers live (Mesos' --docker_store_dir; the agent's
  // default is <work_dir>/store/docker). Created when missing.
  std::string storeDir = {};
  // Mesos' --docker_registry: a registry URL (https://host[:port]; http:// only
  // for a loopback host) or an absolute directory of docker-archive tarballs.
  // Empty: Docker Hub (https://registry-1.docker.io).
  std::string defaultRegistry = {};
  // Mesos' --docker_config: a Docker config.json whose "auths" map registry
  // hosts (or URLs) to {"auth": base64("user:password")}. Empty: anonymous.
  std::string dockerConfigPath = {};
  int parallelDownloads = 4;  // layer blobs downloaded at once (all pulls together)
  int concurrentPulls = 4;    // pulls of distinct images run at once; more wait
  // A download that drops or stalls is resumed (HTTP Range) this many times
  // before the pull fails.
  int downloadRetries = 5;
  double stallTimeoutSeconds = 60;  // less than 1 byte/s for this long drops the connection
};

// One image in the store.
struct StoredImage {
  std::string id;                       // manifest digest
  std::vector<std::string> references;  // the names it was pulled by (normalized)
  std::vector<std::string> layers;      // layer digests, lowest first
  std::uint64_t bytes = 0;              // on disk, its layers together (shared layers count in full)
};

struct PruneReport {
  std::vector<std::string> removedImages;  // image ids
  std::vector<std::string> removedLayers;  // layer digests
  std::uint64_t bytesFreed = 0;
};

class ImageStore {
 public:
  // Opens (creating) the store: loads the images recorded there and clears
  // staging/ of interrupted extractions. Errors: the store directory cannot
  // be made, the docker config cannot be read or parsed, a bad registry URL.
  static Result<std::unique_ptr<ImageStore>> create(boost::asio::any_io_executor callbacks, StoreOptions options);

  virtual ~ImageStore() = default;

  // The image, from the store when it holds it (and !forcePull), else
  // pulled. `done` runs on the callbacks executor, exactly once, unless the
  // store is destroyed first. Errors name the image and the cause.
  virtual void pull(const ImageReference& image, bool forcePull, std::function<void(Result<PulledImage>)> done) = 0;

  // Removes every image whose id is not in `imageIdsInUse` and that no name
  // in `excluded` names (names the store does not hold are skipped; a
  // malformed one fails the prune, InvalidArgument), then every layer no
  // remaining image lists and no pull in flight uses. Runs on the store's
  // threads; `done` runs on the callbacks executor.
  virtual void prune(std::set<std::string> imageIdsInUse, std::vector<ImageReference> excluded,
                     std::function<void(Result<PruneReport>)> done) = 0;

  // The same, blocking (removes directories): call it off the agent's loop,
  // never from a callback of the store.
  virtual Result<PruneReport> prune(const std::set<std::string>& imageIdsInUse) = 0;

  // The images in the store now.
  virtual std::vector<StoredImage> images() const = 0;

  // The store's directory (StoreOptions::storeDir with symlinks resolved).
  virtual const std::string& directory() const = 0;
};

}  // namespace mantle::images
