// The master's registry (admitted agents, frameworks, maintenance, quota,
// weights: an opaque byte string here; the master owns its schema) kept in
// ZooKeeper under <path>:
//
//   <path>/registry           the manifest; its znode version is the
//                             registry's version
//   <path>/registry.chunks/   <generation>-<index> pieces of a registry too
//                             big for one znode
//
// A registry up to `chunkSize` bytes lives inline in the manifest. A bigger
// one is first written as immutable chunks of a fresh generation; then the
// manifest is switched to that generation in one conditional write (it
// lists each chunk's length and checksum); then the chunks of other
// generations are deleted. An append adds chunks to the generation the
// manifest names (indexes it does not list yet), then switches the manifest
// to list them too: it costs the bytes appended (and a manifest line per
// chunk), not the registry's. A reader reads the manifest, then the chunks
// it lists, and checks their lengths and checksums; if a chunk is gone (a
// newer write replaced its generation) it starts again from the manifest.
// So a reader sees one whole registry or another, never a mix.
//
// Writes are conditional: `expectedVersion` must be the manifest's version
// (-1: there is no registry yet), and the write is one ZooKeeper multi-op
// that also checks the writer's fence — its Contender::candidacyPath(),
// an ephemeral znode that exists only while that contender's session lives.
// A deposed leader (session expired, or another master wrote since) is
// refused: kFailedPrecondition for a lost fence, kAborted for a version
// that moved. Connection problems are kUnavailable; the outcome of such a
// write is unknown until the next load().
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "mantle/result.hpp"
#include "zookeeper/session.hpp"

namespace mantle::zookeeper {

struct RegistrySnapshot {
  std::string data;
  std::int32_t version = -1;  // -1: nothing stored yet (data is empty)
};

struct RegistryStoreOptions {
  // Largest piece stored in one znode; ZooKeeper's default limit for a whole
  // request (jute.maxbuffer) is 1 MiB.
  std::size_t chunkSize = 512 * 1024;
};

class RegistryStore {
 public:
  RegistryStore(std::shared_ptr<Session> session, std::string path, RegistryStoreOptions options = {});
  // Finishes the queued asynchronous calls (their callbacks run) first.
  ~RegistryStore();
  RegistryStore(const RegistryStore&) = delete;
  RegistryStore& operator=(const RegistryStore&) = delete;

  // Blocking forms: from a thread that may block (never a ZooKeeper or
  // session event thread).
  Result<RegistrySnapshot> load();
  // Stores `data` if the version is still `expectedVersion` and `fence`
  // exists; returns the new version. An empty `fence` skips that check (for
  // tools that run while no master does).
  Result<std::int32_t> store(const std::string& data, std::int32_t expectedVersion, const std::string& fence);
  // Appends `data` to the registry, on the same conditions; only to the
  // version this store wrote or read last (else kInternal: store the whole
  // registry).
  Result<std::int32_t> append(const std::string& data, std::int32_t expectedVersion, const std::string& fence);

  // Asynchronous forms, run one at a time in call order on the store's own
  // worker thread; `done` is called on that internal thread: post to your
  // strand.
  void loadAsync(std::function<void(Result<RegistrySnapshot>)> done);
  void storeAsync(std::string data, std::int32_t expectedVersion, std::string fence,
                  std::function<void(Result<std::int32_t>)> done);
  void appendAsync(std::string data, std::int32_t expectedVersion, std::string fence,
                   std::function<void(Result<std::int32_t>)> done);

  const std::string& manifestPath() const { return manifestPath_; }
  const std::string& chunksPath() const { return chunksPath_; }

 private:
  // The registry this store wrote or read last, what an append extends.
  struct Written {
    std::int32_t version = -1;
    std::size_t size = 0;
    bool inlined = true;
    std::string inlineData;
    std::string generation;
    std::size_t chunks = 0;
    std::string pieces;  // the manifest's chunk lines
  };

  Result<RegistrySnapshot> loadOnce(bool* retry);
  // Writes `data` as chunks firstIndex... of `generation`, adding their
  // manifest lines to `pieces`.
  Status writeChunks(const std::string& generation, std::size_t firstIndex, const std::string& data,
                     std::string* pieces);
  Result<std::int32_t> switchManifest(const std::string& manifest, std::int32_t expectedVersion,
                                      const std::string& fence);
  void removeGenerations(const std::string& keep, const std::string& only);
  void enqueue(std::function<void()> job);
  void runWorker();

  std::shared_ptr<Session> session_;
  const std::string path_;
  const std::string manifestPath_;
  const std::string chunksPath_;
  const RegistryStoreOptions options_;

  std::mutex writtenMutex_;  // one write at a time
  std::optional<Written> written_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread worker_;
};

// A checksum of `data` (64-bit FNV-1a), as the manifest records it.
std::uint64_t registryChecksum(const std::string& data);

}  // namespace mantle::zookeeper
