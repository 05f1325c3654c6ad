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
// Format 1: inline, or chunks with one checksum of the whole (read only now).
// Format 2: chunks, each with its size and checksum on a line of its own.
constexpr int kInlineFormat = 1;
constexpr int kChunksFormat = 2;
constexpr int kLoadAttempts = 10;

struct Manifest {
  bool inlined = true;
  int format = kInlineFormat;
  std::string generation;  // chunked only
  std::size_t chunks = 0;  // chunked only
  std::size_t size = 0;
  std::uint64_t checksum = 0;  // inline and format 1 chunks: of the whole
  // Format 2: each chunk's size and checksum.
  std::vector<std::pair<std::size_t, std::uint64_t>> pieces;
  std::size_t headerLength = 0;  // inline data starts here
};

std::string hex64(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016" PRIx64, value);
  return buffer;
}

std::string inlineManifest(const std::string& data) {
  std::string out = std::string(kMagic) + " " + std::to_string(kInlineFormat) + " inline " +
                    std::to_string(data.size()) + " " + hex64(registryChecksum(data)) + "\n";
  out += data;
  return out;
}

// `pieces`: a "<size> <checksum>" line per chunk.
std::string chunkedManifest(const std::string& generation, std::size_t chunks, std::size_t size,
                            const std::string& pieces) {
  return std::string(kMagic) + " " + std::to_string(kChunksFormat) + " chunks " + generation + " " +
         std::to_string(chunks) + " " + std::to_string(size) + "\n" + pieces;
}

Result<Manifest> parseManifest(const std::string& content) {
  std::size_t newline = content.find('\n');
  if (newline == std::string::npos) return internalError("registry manifest has no header line");
  std::istringstream header(content.substr(0, newline));
  std::string magic;
  Manifest manifest;
  std::string kind;
  header >> magic >> manifest.format >> kind;
  if (magic != kMagic) return internalError("registry manifest has an unknown header");
  if (manifest.format != kInlineFormat && manifest.format != kChunksFormat) {
    return internalError("registry manifest format " + std::to_string(manifest.format) +
                         " is not supported (this build reads 1 and 2)");
  }
  std::string checksum(16, '0');
  if (kind == "inline" && manifest.format == kInlineFormat) {
    header >> manifest.size >> checksum;
  } else if (kind == "chunks") {
    manifest.inlined = false;
    header >> manifest.generation >> manifest.chunks >> manifest.size;
    if (manifest.format == kInlineFormat) header >> checksum;
  } else {
    return internalError("registry manifest kind '" + kind + "' is unknown");
  }
  if (header.fail() || checksum.size() != 16) return internalError("registry manifest header is malformed");
  manifest.checksum = std::strtoull(checksum.c_str(), nullptr, 16);
  manifest.headerLength = newline + 1;
  if (manifest.format == kChunksFormat) {
    std::istringstream lines(content.substr(manifest.headerLength));
    for (std::size_t i = 0; i < manifest.chunks; ++i) {
      std::size_t size = 0;
      std::string sum;
      lines >> size >> sum;
      if (lines.fail() || sum.size() != 16) return internalError("registry manifest chunk line is malformed");
      manifest.pieces.emplace_back(size, std::strtoull(sum.c_str(), nullptr, 16));
    }
  }
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
    return Error(StatusCode::kDeadlineExceeded,
                 "zookeeper: no answer within " + std::to_string(timeout.count()) + " ms");
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

void RegistryStore::appendAsync(std::string data, std::int32_t expectedVersion, std::string fence,
                                std::function<void(Result<std::int32_t>)> done) {
  enqueue([this, data = std::move(data), expectedVersion, fence = std::move(fence), done = std::move(done)] {
    done(append(data, expectedVersion, fence));
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
  // What an append extends, if this registry is read whole.
  Written read;
  read.version = snapshot.version;
  read.inlined = manifest->inlined;
  read.generation = manifest->generation;
  read.chunks = manifest->chunks;
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
      if (manifest->format == kChunksFormat && (piece->data.size() != manifest->pieces[i].first ||
                                                registryChecksum(piece->data) != manifest->pieces[i].second)) {
        return internalError("registry " + manifestPath_ + " version " + std::to_string(snapshot.version) + ": chunk " +
                             std::to_string(i) + " fails its length or checksum");
      }
      read.pieces += std::to_string(piece->data.size()) + " " + hex64(registryChecksum(piece->data)) + "\n";
      snapshot.data += piece->data;
    }
  }
  if (snapshot.data.size() != manifest->size ||
      (manifest->format == kInlineFormat && registryChecksum(snapshot.data) != manifest->checksum)) {
    return internalError("registry " + manifestPath_ + " version " + std::to_string(snapshot.version) +
                         " fails its length or checksum");
  }
  read.size = snapshot.data.size();
  if (read.inlined) read.inlineData = snapshot.data;
  std::lock_guard<std::mutex> lock(writtenMutex_);
  written_ = std::move(read);
  return snapshot;
}

Status RegistryStore::writeChunks(const std::string& generation, std::size_t firstIndex, const std::string& data,
                                  std::string* pieces) {
  Status ensured = session_->ensurePathSync(chunksPath_);
  if (!ensured.ok()) return ensured;
  std::vector<std::future<Result<std::string>>> created;
  for (std::size_t offset = 0, index = firstIndex; offset < data.size(); offset += options_.chunkSize, ++index) {
    auto promise = std::make_shared<std::promise<Result<std::string>>>();
    created.push_back(promise->get_future());
    std::string chunk = data.substr(offset, options_.chunkSize);
    *pieces += std::to_string(chunk.size()) + " " + hex64(registryChecksum(chunk)) + "\n";
    session_->createNode(joinPath(chunksPath_, generation + "-" + std::to_string(index)), std::move(chunk),
                         CreateMode::kPersistent,
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

Result<std::int32_t> RegistryStore::switchManifest(const std::string& manifest, std::int32_t expectedVersion,
                                                   const std::string& fence) {
  std::vector<MultiOp> ops;
  if (!fence.empty()) ops.push_back(MultiOp::check(fence));
  ops.push_back(expectedVersion == -1 ? MultiOp::create(manifestPath_, manifest)
                                      : MultiOp::set(manifestPath_, manifest, expectedVersion));
  std::optional<std::size_t> failed;
  Status switched = session_->multiSync(std::move(ops), &failed);
  if (switched.ok()) return expectedVersion + 1;
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

Result<std::int32_t> RegistryStore::store(const std::string& data, std::int32_t expectedVersion,
                                          const std::string& fence) {
  CHECK_GE(expectedVersion, -1);
  std::lock_guard<std::mutex> lock(writtenMutex_);
  if (expectedVersion == -1) {
    Status ensured = session_->ensurePathSync(path_);
    if (!ensured.ok()) return ensured.error();
  }
  Written written;
  written.size = data.size();
  written.inlined = data.size() <= options_.chunkSize;
  std::string manifest;
  if (written.inlined) {
    written.inlineData = data;
    manifest = inlineManifest(data);
  } else {
    written.generation = newGeneration();
    Status chunksWritten = writeChunks(written.generation, 0, data, &written.pieces);
    if (!chunksWritten.ok()) {
      removeGenerations("", written.generation);
      return chunksWritten.error().withContext("writing registry chunks");
    }
    written.chunks = (data.size() + options_.chunkSize - 1) / options_.chunkSize;
    manifest = chunkedManifest(written.generation, written.chunks, written.size, written.pieces);
  }
  Result<std::int32_t> version = switchManifest(manifest, expectedVersion, fence);
  if (!version.ok()) {
    // Refused: its chunks are no one's (on an unknown outcome they may be).
    const StatusCode code = version.error().code;
    if (!written.inlined && (code == StatusCode::kFailedPrecondition || code == StatusCode::kAborted)) {
      removeGenerations("", written.generation);
    }
    written_.reset();
    return version;
  }
  // Chunks of every other generation are now unreferenced.
  removeGenerations(written.generation, "");
  written.version = *version;
  written_ = std::move(written);
  return version;
}

Result<std::int32_t> RegistryStore::append(const std::string& data, std::int32_t expectedVersion,
                                           const std::string& fence) {
  std::unique_lock<std::mutex> lock(writtenMutex_);
  if (!written_ || written_->version != expectedVersion) {
    return Error(StatusCode::kInternal, "registry append at version " + std::to_string(expectedVersion) +
                                            ": this store did not write that version (write the whole registry)");
  }
  if (written_->inlined) {
    // Small: one inline registry (or the first chunks) again.
    std::string whole = written_->inlineData + data;
    lock.unlock();
    return store(whole, expectedVersion, fence);
  }
  Written written = *written_;
  written_.reset();  // until this write is known to have gone through
  const std::size_t added = (data.size() + options_.chunkSize - 1) / options_.chunkSize;
  Status chunksWritten = writeChunks(written.generation, written.chunks, data, &written.pieces);
  if (!chunksWritten.ok()) return chunksWritten.error().withContext("writing registry chunks");
  written.chunks += added;
  written.size += data.size();
  Result<std::int32_t> version = switchManifest(
      chunkedManifest(written.generation, written.chunks, written.size, written.pieces), expectedVersion, fence);
  // Chunks of a refused append stay until the next whole write (another
  // generation) removes this one: the outcome may be unknown.
  if (!version.ok()) return version;
  written.version = *version;
  written_ = std::move(written);
  return version;
}
}  // namespace mantle::zookeeper
