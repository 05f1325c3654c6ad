// Where mantle-services keeps its state (the framework id, apps, tasks and
// deployments as one JSON document): a local file written atomically, or a
// znode in ZooKeeper whose writes are fenced by the leader's candidacy, so a
// deposed leader cannot overwrite its successor's state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mantle/result.hpp"
#include "zookeeper/registry_store.hpp"
#include "zookeeper/session.hpp"

namespace mantle::services {

class StateStore {
 public:
  virtual ~StateStore() = default;
  // The stored document; "" when nothing is stored yet. Blocking.
  virtual Result<std::string> load() = 0;
  // Replaces the stored document. Blocking.
  virtual Status store(const std::string& data) = 0;
};

class FileStateStore : public StateStore {
 public:
  explicit FileStateStore(std::string path) : path_(std::move(path)) {}
  Result<std::string> load() override;
  Status store(const std::string& data) override;

 private:
  std::string path_;
};

class ZooKeeperStateStore : public StateStore {
 public:
  // `fence` gives the path of this instance's candidacy znode (the write
  // fails once it is gone).
  ZooKeeperStateStore(std::shared_ptr<zookeeper::Session> session, std::string path,
                      std::function<std::string()> fence);
  Result<std::string> load() override;
  Status store(const std::string& data) override;

 private:
  zookeeper::RegistryStore store_;
  std::function<std::string()> fence_;
  std::int32_t version_ = -1;
};

}  // namespace mantle::services
