#include "services/state_store.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mantle/common/durable_file.hpp"

namespace mantle::services {

Result<std::string> FileStateStore::load() {
  std::ifstream in(path_);
  if (!in) {
    if (!std::filesystem::exists(path_)) return std::string();
    return internalError("cannot read " + path_);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status FileStateStore::store(const std::string& data) {
  return durable::writeFile(path_, data);
}

ZooKeeperStateStore::ZooKeeperStateStore(std::shared_ptr<zookeeper::Session> session, std::string path,
                                         std::function<std::string()> fence)
    : store_(std::move(session), std::move(path)), fence_(std::move(fence)) {}

Result<std::string> ZooKeeperStateStore::load() {
  Result<zookeeper::RegistrySnapshot> snapshot = store_.load();
  if (!snapshot.ok()) return snapshot.error().withContext("loading the state from ZooKeeper");
  version_ = snapshot->version;
  return snapshot->data;
}

Status ZooKeeperStateStore::store(const std::string& data) {
  Result<std::int32_t> version = store_.store(data, version_, fence_());
  if (!version.ok()) return version.error().withContext("storing the state in ZooKeeper");
  version_ = *version;
  return {};
}

}  // namespace mantle::services
