#include "zookeeper/registry_store.hpp"

#include <cinttypes>
#include <cstdio>
#include <future>
#include <random>
#include <sstream>
#include <vector>

#include <glog/logging.h>

namespace mantle::zookeeper {
namespace {

constexpr const char* kMagic = "mantle-registry";
constexpr int kFormat = 1;
constexpr int kLoadAttempts = 10;

struct Manifest {
  bool inlined = true;
  std::string generation;  // chunked only
  std::size_t chunks = 0;  // chunked only
  std::size_t size = 0;
  std::uint64_t checksum = 0;
  std::size_t headerLength = 0;  // inline data starts here
};

std::string hex64(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016" PRIx64, value);
  return buffer;
}

std::string inlineManifest(const std::string& data) {
  std::string out = std::string(kMagic) + " " + std::to_string(kFormat) + " inline " + std::to_string(data.size()) +
                    " " + hex64(registryChecksum(data)) + "\n";
  out += data;
  return out;
}

std::string chunkedManifest(const std::string& generation, std::size_t chunks, const std::string& data) {
  return std::string(kMagic) + " " + std::to_string(kFormat) + " chunks " + generation + " " +
         std::to_string(chunks) + " " + std::to_string(data.size()) + " " + hex64(registryChecksum(data)) + "\n";
}

Result<Manifest> parseManifest(const std::string& content) {
  std::size_t newline = content.find('\n');
  if (newline == std::string::npos) return internalError("registry manifest has no header line");
  std::istringstream header(content.substr(0, newline));
  std::string magic;
  int format = 0;
  std::string kind;
  header >> magic >> format >> kind;
  if (magic != kMagic) return internalError("registry manifest has an unknown header");
  if (format != kFormat) {
    return internalError("registry manifest format " + std::to_string(format) + " is not supported (this build reads " +
                         std::to_string(kFormat) + ")");
  }
  Manifest manifest;
  std::string checksum;
  if (kind == "inline") {
    header >> manifest.size >> checksum;
  } else if (kind == "chunks") {
    manifest.inlined = false;
    header >> manifest.generation >> manifest.chunks >> manifest.size >> checksum;
  } else {
    return internalError("registry manifest kind '" + kind + "' is unknown");
  }
  if (header.fail() || checksum.size() != 16) return internalError("registry manifest header is malformed");
  manifest.checksum = std::strtoull(checksum.c_str(), nullptr, 16);
  manifest.headerLength = newline + 1;
  return manifest;
}

std::string newGeneration() {
  std::random_device device;
  std::uint64_t value = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return hex64(value);
}

template <typename R>
Result<R> waitFor(std::future<Result<R>>& future, std::chrono::milliseconds timeout) {
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Error(StatusCode::kDeadlineExceeded, "zookeeper: no answer within " + std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

}  // namespace

std::uint64_t registryChecksum(const std::string& data) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

RegistryStore::RegistryStore(std::shared_ptr<Session> session, std::string path, RegistryStoreOptions options)
    : session_(std::move(session)),
      path_(std::move(path)),
      manifestPath_(joinPath(path_, "registry")),
      chunksPath_(joinPath(path_, "registry.chunks")),
      options_(options) {
  CHECK(session_ != nullptr);
  CHECK(!path_.empty() && path_.front() == '/') << "znode paths are absolute: " << path_;
  CHECK_GT(options_.chunkSize, 0u);
  worker_ = std::thread([this] { runWorker(); });
}

RegistryStore::~RegistryStore() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void RegistryStore::enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CHECK(!stopping_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void RegistryStore::runWorker() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) break;  // stopping, all done
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void RegistryStore::loadAsync(std::function<void(Result<RegistrySnapshot>)> done) {
  enqueue([this, done = std::move(done)] { done(load()); });
}

void RegistryStore::storeAsync(std::string data, std::int32_t expectedVersion, std::string fence,
                               std::function<void(Result<std::int32_t>)> done) {
  enqueue([this, data = std::move(data), expectedVersion, fence = std::move(fence), done = std::move(done)] {
    done(store(data, expectedVersion, fence));
  });
}

Result<RegistrySnapshot> RegistryStore::load() {
  for (int attempt = 0; attempt < kLoadAttempts; ++attempt) {
    bool retry = false;
    Result<RegistrySnapshot> snapshot = loadOnce(&retry);
    if (!retry) return snapshot;
  }
  return Error(StatusCode::kUnavailable, "registry " + manifestPath_ + " kept changing while being read");
}

Result<RegistrySnapshot> RegistryStore::loadOnce(bool* retry) {
  Result<NodeData> node = session_->getSync(manifestPath_);
  if (!node.ok()) {
    if (node.error().code == StatusCode::kNotFound) return RegistrySnapshot{};
    return node.error();
  }
  Result<Manifest> manifest = parseManifest(node->data);
  if (!manifest.ok()) return manifest.error().withContext(manifestPath_);
  RegistrySnapshot snapshot;
  snapshot.version = node->stat.version;
  if (manifest->inlined) {
    snapshot.data = node->data.substr(manifest->headerLength);
  } else {
    // All chunk reads in flight at once, then collected in order.
    std::vector<std::future<Result<NodeData>>> pieces;
    for (std::size_t i = 0; i < manifest->chunks; ++i) {
      auto promise = std::make_shared<std::promise<Result<NodeData>>>();
      pieces.push_back(promise->get_future());
      session_->getNode(joinPath(chunksPath_, manifest->generation + "-" + std::to_string(i)), false,
                        [promise](Result<NodeData> piece) { promise->set_value(std::move(piece)); });
    }
    snapshot.data.reserve(manifest->size);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      Result<NodeData> piece = waitFor(pieces[i], session_->syncTimeout());
      if (!piece.ok()) {
        if (piece.error().code != StatusCode::kNotFound) return piece.error();
        // Replaced by a newer write while we read, or damaged: tell by the manifest.
        Result<std::optional<NodeStat>> now = session_->existsSync(manifestPath_);
        if (!now.ok()) return now.error();
        if (now->has_value() && (*now)->version == snapshot.version) {
          return internalError("registry " + manifestPath_ + " version " + std::to_string(snapshot.version) +
                               " names chunk " + std::to_string(i) + " of generation " + manifest->generation +
                               ", which does not exist");
        }
        *retry = true;
        return internalError("retry");
      }
      snapshot.data += piece->data;
    }
  }
  if (snapshot.data.size() != manifest->size || registryChecksum(snapshot.data) != manifest->checksum) {
    return internalError("registry " + manifestPath_ + " version " + std::to_string(snapshot.version) +
                         " fails its length or checksum");
  }
  return snapshot;
}

Status RegistryStore::writeChunks(const std::string& generation, const std::string& data) {
  Status ensured = session_->ensurePathSync(chunksPath_);
  if (!ensured.ok()) return ensured;
  std::vector<std::future<Result<std::string>>> created;
  for (std::size_t offset = 0, index = 0; offset < data.size(); offset += options_.chunkSize, ++index) {
    auto promise = std::make_shared<std::promise<Result<std::string>>>();
    created.push_back(promise->get_future());
    session_->createNode(joinPath(chunksPath_, generation + "-" + std::to_string(index)),
                         data.substr(offset, options_.chunkSize), CreateMode::kPersistent,
                         [promise](Result<std::string> path) { promise->set_value(std::move(path)); });
  }
  Status status;
  for (auto& future : created) {
    Result<std::string> path = waitFor(future, session_->syncTimeout());
    if (!path.ok() && status.ok()) status = path.error();
  }
  return status;
}

void RegistryStore::removeGenerations(const std::string& keep, const std::string& only) {
  Result<std::vector<std::string>> children = session_->childrenSync(chunksPath_);
  if (!children.ok()) return;  // no chunks ever, or unreachable: the next write tidies up
  for (const std::string& child : *children) {
    std::string generation = child.substr(0, child.find('-'));
    if (generation == keep || (!only.empty() && generation != only)) continue;
    std::string path = joinPath(chunksPath_, child);
    session_->removeNode(path, -1, [path](Status removed) {
      LOG_IF(WARNING, !removed.ok() && removed.error().code != StatusCode::kNotFound)
          << "removing old registry chunk: " << removed.error().message;
    });
  }
}

Result<std::int32_t> RegistryStore::store(const std::string& data, std::int32_t expectedVersion,
                                          const std::string& fence) {
  CHECK_GE(expectedVersion, -1);
  if (expectedVersion == -1) {
    Status ensured = session_->ensurePathSync(path_);
    if (!ensured.ok()) return ensured.error();
  }
  const bool chunked = data.size() > options_.chunkSize;
  std::string generation;
  std::string manifest;
  if (chunked) {
    generation = newGeneration();
    Status written = writeChunks(generation, data);
    if (!written.ok()) {
      removeGenerations("", generation);
      return written.error().withContext("writing registry chunks");
    }
    std::size_t chunks = (data.size() + options_.chunkSize - 1) / options_.chunkSize;
    manifest = chunkedManifest(generation, chunks, data);
  } else {
    manifest = inlineManifest(data);
  }

  std::vector<MultiOp> ops;
  if (!fence.empty()) ops.push_back(MultiOp::check(fence));
  ops.push_back(expectedVersion == -1 ? MultiOp::create(manifestPath_, manifest)
                                      : MultiOp::set(manifestPath_, manifest, expectedVersion));
  std::optional<std::size_t> failed;
  Status switched = session_->multiSync(std::move(ops), &failed);
  if (!switched.ok()) {
    if (chunked) removeGenerations("", generation);
    const Error& error = switched.error();
    if (failed && !fence.empty() && *failed == 0) {
      return Error(StatusCode::kFailedPrecondition,
                   "registry write refused: fence " + fence + " is gone (this master no longer leads)");
    }
    if (failed && (error.code == StatusCode::kAborted || error.code == StatusCode::kAlreadyExists ||
                   error.code == StatusCode::kNotFound)) {
      return Error(StatusCode::kAborted, "registry write refused: " + manifestPath_ + " is no longer at version " +
                                             std::to_string(expectedVersion) + " (" + error.message + ")");
    }
    return error.withContext("registry write");
  }
  // Chunks of every other generation are now unreferenced.
  removeGenerations(generation, "");
  return expectedVersion + 1;
}

}  // namespace mantle::zookeeper
