// Where a framework that fails over (mantle-cron, mantle-services) keeps its
// state as one document: a file, replaced atomically and durably, or
// ZooKeeper through the registry store, each write conditional on the version
// last read or written and fenced by this instance's leader candidacy, so a
// deposed leader cannot overwrite its successor's state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mantle/result.hpp"
#include "zookeeper/registry_store.hpp"
#include "zookeeper/session.hpp"

namespace mantle::zookeeper {

class DocumentStore {
 public:
  virtual ~DocumentStore() = default;
  // The stored document; none when nothing was stored yet. Blocking.
  virtual Result<std::optional<std::string>> load() = 0;
  // Replaces the stored document; returns once it is durable. Blocking.
  virtual Status store(const std::string& data) = 0;
  // "file /var/lib/..." or "ZooKeeper /path", for logs and errors.
  virtual std::string describe() const = 0;
};

class FileDocumentStore : public DocumentStore {
 public:
  explicit FileDocumentStore(std::string path) : path_(std::move(path)) {}
  Result<std::optional<std::string>> load() override;
  Status store(const std::string& data) override;
  std::string describe() const override { return "file " + path_; }

 private:
  std::string path_;
};

class ZooKeeperDocumentStore : public DocumentStore {
 public:
  // `fence` gives the path of this instance's candidacy znode at write time;
  // while it has none ("") writes are refused.
  ZooKeeperDocumentStore(std::shared_ptr<Session> session, std::string path, std::function<std::string()> fence);
  Result<std::optional<std::string>> load() override;
  Status store(const std::string& data) override;
  std::string describe() const override { return "ZooKeeper " + path_; }

 private:
  std::string path_;
  RegistryStore store_;
  std::function<std::string()> fence_;
  std::int32_t version_ = -1;
};

}  // namespace mantle::zookeeper
