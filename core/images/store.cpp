#include "images/store.hpp"

#include <fcntl.h>
#include <glog/logging.h>
#include <json/writer.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "images/digest.hpp"
#include "images/layer.hpp"
#include "images/reference.hpp"
#include "images/registry.hpp"
#include "images/source.hpp"
#include "mantle/common/durable_file.hpp"
#include "mantle/common/strict_json.hpp"
#include "mantle/common/uuid.hpp"

namespace mantle::images {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDockerHub = "https://registry-1.docker.io";

std::uint64_t diskBytes(const fs::path& root) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

Json::Value stringArray(const auto& values) {
  Json::Value out(Json::arrayValue);
  for (const auto& value : values) out.append(value);
  return out;
}

// An image record (images/<hex>.json).
struct Record {
  StoredImage image;
  mantle::module::v1::ImageConfig config;
};

std::string recordJson(const Record& record) {
  Json::Value root(Json::objectValue);
  root["id"] = record.image.id;
  root["references"] = stringArray(record.image.references);
  root["layers"] = stringArray(record.image.layers);
  root["bytes"] = Json::UInt64(record.image.bytes);
  Json::Value& config = root["config"];
  config["entrypoint"] = stringArray(record.config.entrypoint());
  config["cmd"] = stringArray(record.config.cmd());
  config["env"] = stringArray(record.config.env());
  if (record.config.has_working_dir()) config["working_dir"] = record.config.working_dir();
  if (record.config.has_user()) config["user"] = record.config.user();
  return Json::writeString(Json::StreamWriterBuilder(), root);
}

Result<Record> parseRecord(const std::string& text, const std::string& file) {
  auto root = json::parseWith(Json::CharReaderBuilder(), text);
  if (!root.ok() || !root->isObject() || !(*root)["id"].isString() || !isSha256Digest((*root)["id"].asString())) {
    return invalidArgument(file + ": not an image record");
  }
  Record out;
  out.image.id = (*root)["id"].asString();
  for (const auto& reference : (*root)["references"]) out.image.references.push_back(reference.asString());
  for (const auto& layer : (*root)["layers"]) {
    if (!layer.isString() || !isSha256Digest(layer.asString())) return invalidArgument(file + ": bad layer digest");
    out.image.layers.push_back(layer.asString());
  }
  out.image.bytes = (*root)["bytes"].asUInt64();
  const Json::Value& config = (*root)["config"];
  for (const auto& value : config["entrypoint"]) out.config.add_entrypoint(value.asString());
  for (const auto& value : config["cmd"]) out.config.add_cmd(value.asString());
  for (const auto& value : config["env"]) out.config.add_env(value.asString());
  if (config["working_dir"].isString()) out.config.set_working_dir(config["working_dir"].asString());
  if (config["user"].isString()) out.config.set_user(config["user"].asString());
  return out;
}

// Everything written under `dir` on its file system made durable.
Status syncFileSystem(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return internalError("cannot open " + dir + ": " + std::strerror(errno));
  const int result = ::syncfs(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) return internalError("cannot sync " + dir + ": " + std::strerror(error));
  return {};
}

// Where images without a registry in their name come from.
struct DefaultRegistry {
  std::string archiveDirectory;  // set: local docker-archive tarballs
  RegistryEndpoint endpoint;
};

// What one pull fetches: the key it is shared under and how to read it.
struct PullPlan {
  std::string key;      // the normalized reference, also recorded in the image record
  std::string display;  // the name as the caller gave it, for errors
  std::function<std::unique_ptr<ImageSource>(const std::string& scratch)> source;
};

class Store final : public ImageStore {
 public:
  Store(boost::asio::any_io_executor callbacks, StoreOptions options, DockerConfig dockerConfig,
        DefaultRegistry defaultRegistry)
      : callbacks_(std::move(callbacks)),
        options_(std::move(options)),
        dockerConfig_(std::move(dockerConfig)),
        defaultRegistry_(std::move(defaultRegistry)),
        pulls_(static_cast<size_t>(std::max(1, options_.concurrentPulls))),
        blobs_(static_cast<size_t>(std::max(1, options_.parallelDownloads))) {}

  ~Store() override {
    cancel_->store(true);
    pulls_.join();
    blobs_.join();
    state_.join();
  }

  Status open() {
    for (const char* sub : {"layers", "images", "staging"}) {
      if (Status made = durable::createDirectories(options_.storeDir + "/" + sub); !made.ok()) return made;
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(options_.storeDir + "/staging", ec)) {
      fs::remove_all(entry.path(), ec);  // interrupted downloads and extractions
    }
    for (const auto& entry : fs::directory_iterator(options_.storeDir + "/images", ec)) {
      if (entry.path().extension() != ".json") {
        fs::remove(entry.path(), ec);  // a record write cut short
        continue;
      }
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      auto record = parseRecord(text.str(), entry.path().string());
      if (!record.ok()) {
        LOG(WARNING) << "Image store: ignoring " << record.error().message;
        continue;
      }
      for (const auto& reference : record->image.references) references_[reference] = record->image.id;
      images_[record->image.id] = std::move(*record);
    }
    if (ec) return internalError("cannot read " + options_.storeDir + ": " + ec.message());
    return {};
  }

  void pull(const ImageReference& image, bool forcePull, std::function<void(Result<PulledImage>)> done) override {
    auto plan = planPull(image);
    if (!plan.ok()) {
      boost::asio::post(callbacks_, [done = std::move(done), error = plan.error()] { done(error); });
      return;
    }
    boost::asio::post(state_, [this, plan = std::move(*plan), forcePull, done = std::move(done)]() mutable {
      if (!forcePull) {
        if (auto stored = storedImage(plan.key); stored.has_value()) {
          boost::asio::post(callbacks_, [done = std::move(done), stored = std::move(*stored)] { done(stored); });
          return;
        }
      }
      auto [it, first] = inFlight_.try_emplace(plan.key);
      it->second.push_back(std::move(done));
      if (!first) return;  // shares the pull in flight
      boost::asio::post(pulls_, [this, plan = std::move(plan)] {
        std::vector<std::string> pinned;
        Result<Record> result = runPull(plan, pinned);
        boost::asio::post(state_, [this, key = plan.key, result = std::move(result), pinned = std::move(pinned)] {
          finishPull(key, result, pinned);
        });
      });
    });
  }

  void prune(std::set<std::string> imageIdsInUse, std::vector<ImageReference> excluded,
             std::function<void(Result<PruneReport>)> done) override {
    std::vector<std::string> excludedKeys;
    for (const auto& image : excluded) {
      auto plan = planPull(image);
      if (!plan.ok()) {
        boost::asio::post(
            callbacks_, [done = std::move(done), error = plan.error()] { done(error.withContext("excluded image")); });
        return;
      }
      excludedKeys.push_back(plan->key);
    }
    boost::asio::post(state_, [this, keep = std::move(imageIdsInUse), excludedKeys = std::move(excludedKeys),
                               done = std::move(done)]() mutable {
      for (const auto& key : excludedKeys) {
        if (auto it = references_.find(key); it != references_.end()) keep.insert(it->second);
      }
      boost::asio::post(callbacks_, [done = std::move(done), report = pruneOnState(keep)] { done(report); });
    });
  }

  Result<PruneReport> prune(const std::set<std::string>& imageIdsInUse) override {
    return onState<Result<PruneReport>>([&] { return pruneOnState(imageIdsInUse); });
  }

  std::vector<StoredImage> images() const override {
    return onState<std::vector<StoredImage>>([&] {
      std::vector<StoredImage> out;
      for (const auto& [id, record] : images_) out.push_back(record.image);
      return out;
    });
  }

  const std::string& directory() const override { return options_.storeDir; }

 private:
  // Runs `work` on the state thread and waits for it (never call from there).
  template <typename T>
  T onState(const std::function<T()>& work) const {
    std::promise<T> promise;
    boost::asio::post(state_, [&] { promise.set_value(work()); });
    return promise.get_future().get();
  }

  std::string layerDir(const std::string& digest) const { return options_.storeDir + "/layers/" + digestHex(digest); }
  std::string layerRootfs(const std::string& digest) const { return layerDir(digest) + "/rootfs"; }

  Result<PullPlan> planPull(const ImageReference& image) const {
    PullPlan plan;
    plan.display = image.name;
    const RegistryOptions registryOptions{options_.downloadRetries, options_.stallTimeoutSeconds, cancel_};
    if (image.type == ImageReference::Type::kOci) {
      auto name = parseOciLayoutName(image.name);
      if (!name.ok()) return name.error();
      plan.key = "oci:" + name->directory + ":" + name->tag;
      plan.source = [name = *name](const std::string&) { return ociLayoutSource(name); };
      return plan;
    }
    const bool archives = !defaultRegistry_.archiveDirectory.empty();
    auto name = parseDockerName(image.name, !archives);
    if (!name.ok()) return name.error();
    if (name->registry.empty() && archives) {
      plan.key = "archive:" + defaultRegistry_.archiveDirectory + "/" + name->text();
      plan.source = [directory = defaultRegistry_.archiveDirectory, name = *name](const std::string& scratch) {
        return dockerArchiveSource(directory, name, scratch);
      };
      return plan;
    }
    const RegistryEndpoint endpoint =
        name->registry.empty() ? defaultRegistry_.endpoint : endpointForHost(name->registry);
    DockerName normalized = *name;
    normalized.registry = endpoint.host;
    plan.key = normalized.text();
    plan.source = [endpoint, name = *name, auth = dockerConfig_.basicAuth(endpoint.host), registryOptions](
                      const std::string&) { return registrySource(endpoint, name, auth, registryOptions); };
    return plan;
  }

  // On the state thread: the stored image `key` names, when all its layers are there.
  std::optional<PulledImage> storedImage(const std::string& key) const {
    auto ref = references_.find(key);
    if (ref == references_.end()) return std::nullopt;
    auto it = images_.find(ref->second);
    if (it == images_.end()) return std::nullopt;
    PulledImage out{it->first, {}, it->second.config};
    for (const auto& layer : it->second.image.layers) {
      if (!fs::is_directory(layerRootfs(layer))) return std::nullopt;
      out.layers.push_back(layerRootfs(layer));
    }
    return out;
  }

  // On a pull thread: fetches what the store lacks and records the image.
  // `pinned`: the layers it pinned against prune, to unpin when it ends.
  Result<Record> runPull(const PullPlan& plan, std::vector<std::string>& pinned) {
    const std::string scratch = options_.storeDir + "/staging/pull-" + uuid::randomText();
    std::error_code ec;
    fs::create_directories(scratch, ec);
    Result<Record> result = fetchImage(plan, scratch, pinned);
    fs::remove_all(scratch, ec);
    if (!result.ok()) return result.error().withContext("image " + plan.display);
    return result;
  }

  Result<Record> fetchImage(const PullPlan& plan, const std::string& scratch, std::vector<std::string>& pinned) {
    if (cancel_->load()) return Error(StatusCode::kCancelled, "the image store is shutting down");
    std::unique_ptr<ImageSource> source = plan.source(scratch);
    auto resolved = source->resolve();
    if (!resolved.ok()) return resolved.error();
    std::vector<std::string> digests;
    for (const auto& layer : resolved->layers) digests.push_back(layer.digest);
    // On the state thread, at once: the layers pinned (a prune from now on
    // keeps them) and, for each layer not in the store, this pull's own
    // fetch or the one another pull has in flight.
    std::map<std::string, std::shared_ptr<std::promise<Status>>> owned;
    std::map<std::string, std::shared_future<Status>> joined;
    std::map<std::string, std::shared_future<Status>> fetches;  // this pull's own
    onState<int>([&] {
      for (const auto& digest : digests) ++pinned_[digest];
      for (const auto& digest : digests) {
        if (owned.count(digest) > 0 || joined.count(digest) > 0) continue;
        if (auto it = layerFetches_.find(digest); it != layerFetches_.end()) {
          joined[digest] = it->second;
        } else if (!fs::is_directory(layerRootfs(digest))) {
          owned[digest] = std::make_shared<std::promise<Status>>();
          layerFetches_[digest] = fetches[digest] = owned[digest]->get_future().share();
        }
      }
      return 0;
    });
    pinned = digests;
    for (const auto& layer : resolved->layers) {
      auto promise = owned.find(layer.digest);
      if (promise == owned.end()) continue;
      boost::asio::post(blobs_, [this, &source, layer, scratch, promise = promise->second] {
        promise->set_value(fetchLayer(*source, layer, scratch));
        // Gone from the map only once the layer is in layers/ (or failed).
        boost::asio::post(state_, [this, digest = layer.digest] { layerFetches_.erase(digest); });
      });
    }
    Status failed;
    for (auto& [digest, fetch] : fetches) {
      Status status = fetch.get();
      if (!status.ok() && failed.ok()) failed = status.error().withContext("layer " + digest);
    }
    // A layer another pull was fetching: when that failed (its source may be
    // the culprit), this pull fetches it itself.
    for (auto& [digest, fetch] : joined) {
      if (fetch.get().ok() || !failed.ok()) continue;
      auto layer = std::find_if(resolved->layers.begin(), resolved->layers.end(),
                                [&](const Descriptor& d) { return d.digest == digest; });
      if (Status status = fetchLayer(*source, *layer, scratch); !status.ok()) {
        failed = status.error().withContext("layer " + digest);
      }
    }
    if (!failed.ok()) return failed.error();
    Record record;
    record.image.id = resolved->id;
    record.image.references = {plan.key};
    record.image.layers = digests;
    for (const auto& digest : digests) record.image.bytes += diskBytes(layerDir(digest));
    record.config = resolved->config.runtime;
    return record;
  }

  // On a blob thread: one layer fetched, verified, extracted and moved in.
  Status fetchLayer(ImageSource& source, const Descriptor& layer, const std::string& scratch) {
    const std::string download = scratch + "/" + digestHex(layer.digest) + ".blob";
    auto file = source.fetchLayer(layer, download);
    if (!file.ok()) return file.error();
    const std::string extraction = options_.storeDir + "/staging/layer-" + uuid::randomText();
    std::error_code ec;
    fs::create_directories(extraction + "/rootfs", ec);
    if (ec) return internalError("cannot create " + extraction + ": " + ec.message());
    Status status = extractArchive(*file, extraction + "/rootfs", Whiteouts::kOverlay);
    if (*file == download) fs::remove(download, ec);
    if (status.ok()) status = syncFileSystem(extraction);
    if (status.ok() && ::rename(extraction.c_str(), layerDir(layer.digest).c_str()) != 0) {
      // Another pull extracted the same layer meanwhile: keep that one.
      if (errno != EEXIST && errno != ENOTEMPTY) {
        status = internalError("cannot move the layer into " + layerDir(layer.digest) + ": " + std::strerror(errno));
      }
    }
    fs::remove_all(extraction, ec);
    if (status.ok()) status = durable::syncDirectory(options_.storeDir + "/layers");
    return status;
  }

  // On the state thread: a pull ended; its waiters get the result.
  void finishPull(const std::string& key, const Result<Record>& result, const std::vector<std::string>& pinned) {
    const Result<PulledImage> answer = result.ok() ? recordImage(key, *result) : Result<PulledImage>(result.error());
    for (const auto& digest : pinned) {
      if (--pinned_[digest] <= 0) pinned_.erase(digest);
    }
    auto waiters = std::move(inFlight_[key]);
    inFlight_.erase(key);
    for (auto& done : waiters) boost::asio::post(callbacks_, [done = std::move(done), answer] { done(answer); });
  }

  // On the state thread: a pulled image recorded under `key` (its layers
  // still pinned).
  Result<PulledImage> recordImage(const std::string& key, const Record& record) {
    Record& stored = images_[record.image.id];
    if (stored.image.id.empty()) {
      stored = record;
    } else if (std::find(stored.image.references.begin(), stored.image.references.end(), key) ==
               stored.image.references.end()) {
      stored.image.references.push_back(key);
    }
    // The image this name meant before (a tag moved) keeps its record but loses the name.
    if (auto old = references_.find(key); old != references_.end() && old->second != record.image.id) {
      if (auto previous = images_.find(old->second); previous != images_.end()) {
        std::erase(previous->second.image.references, key);
        if (Status written = writeRecord(previous->second); !written.ok()) {
          LOG(WARNING) << "Image store: " << written.error().message;
        }
      }
    }
    references_[key] = record.image.id;
    if (Status written = writeRecord(stored); !written.ok()) return written.error();
    std::optional<PulledImage> pulled = storedImage(key);
    if (!pulled) return internalError("a layer of image " + record.image.id + " vanished from the store");
    return *pulled;
  }

  Status writeRecord(const Record& record) {
    return durable::writeFile(options_.storeDir + "/images/" + digestHex(record.image.id) + ".json",
                              recordJson(record));
  }

  Result<PruneReport> pruneOnState(const std::set<std::string>& inUse) {
    PruneReport report;
    std::error_code ec;
    for (auto it = images_.begin(); it != images_.end();) {
      if (inUse.count(it->first) > 0) {
        ++it;
        continue;
      }
      fs::remove(options_.storeDir + "/images/" + digestHex(it->first) + ".json", ec);
      if (ec) return internalError("cannot remove the record of image " + it->first + ": " + ec.message());
      for (const auto& reference : it->second.image.references) references_.erase(reference);
      report.removedImages.push_back(it->first);
      it = images_.erase(it);
    }
    std::set<std::string> kept;
    for (const auto& [id, record] : images_) kept.insert(record.image.layers.begin(), record.image.layers.end());
    for (const auto& [digest, count] : pinned_) kept.insert(digest);
    for (const auto& entry : fs::directory_iterator(options_.storeDir + "/layers", ec)) {
      const std::string digest = "sha256:" + entry.path().filename().string();
      if (kept.count(digest) > 0) continue;
      const std::uint64_t bytes = diskBytes(entry.path());
      // Renamed out of layers/ first: a removal cut short leaves no half layer behind.
      const std::string doomed = options_.storeDir + "/staging/prune-" + uuid::randomText();
      if (::rename(entry.path().c_str(), doomed.c_str()) != 0) {
        return internalError("cannot remove layer " + entry.path().string() + ": " + std::strerror(errno));
      }
      std::error_code removeError;
      fs::remove_all(doomed, removeError);
      report.removedLayers.push_back(digest);
      report.bytesFreed += bytes;
    }
    if (ec) return internalError("cannot list " + options_.storeDir + "/layers: " + ec.message());
    LOG(INFO) << "Image store: pruned " << report.removedImages.size() << " images and " << report.removedLayers.size()
              << " layers (" << report.bytesFreed << " bytes)";
    return report;
  }

  boost::asio::any_io_executor callbacks_;
  const StoreOptions options_;
  const DockerConfig dockerConfig_;
  const DefaultRegistry defaultRegistry_;
  const std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);

  // State, touched on the state thread only.
  std::map<std::string, Record> images_;                                                   // by id
  std::map<std::string, std::string> references_;                                          // key -> id
  std::map<std::string, std::vector<std::function<void(Result<PulledImage>)>>> inFlight_;  // key -> waiters
  std::map<std::string, int> pinned_;                               // layer digest -> pulls in flight that use it
  std::map<std::string, std::shared_future<Status>> layerFetches_;  // layer digest -> its fetch in flight

  mutable boost::asio::thread_pool state_{1};
  boost::asio::thread_pool pulls_;
  boost::asio::thread_pool blobs_;
};

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::create(boost::asio::any_io_executor callbacks, StoreOptions options) {
  if (options.storeDir.empty()) return invalidArgument("--docker_store_dir is empty");
  if (Status made = durable::createDirectories(options.storeDir); !made.ok()) return made.error();
  std::error_code ec;
  options.storeDir = fs::canonical(options.storeDir, ec).string();
  if (ec) return internalError("cannot resolve --docker_store_dir: " + ec.message());
  auto dockerConfig = DockerConfig::load(options.dockerConfigPath);
  if (!dockerConfig.ok()) return dockerConfig.error();
  DefaultRegistry registry;
  const std::string url = options.defaultRegistry.empty() ? kDockerHub : options.defaultRegistry;
  if (url.starts_with("/")) {
    registry.archiveDirectory = url;
    while (registry.archiveDirectory.size() > 1 && registry.archiveDirectory.back() == '/') {
      registry.archiveDirectory.pop_back();
    }
  } else {
    auto endpoint = parseRegistryUrl(url);
    if (!endpoint.ok()) return endpoint.error();
    registry.endpoint = *endpoint;
  }
  auto store =
      std::make_unique<Store>(std::move(callbacks), std::move(options), std::move(*dockerConfig), std::move(registry));
  if (Status opened = store->open(); !opened.ok()) return opened.error();
  return std::unique_ptr<ImageStore>(std::move(store));
}

}  // namespace mantle::images
