#include "zookeeper/document_store.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mantle/common/durable_file.hpp"

namespace mantle::zookeeper {

Result<std::optional<std::string>> FileDocumentStore::load() {
  std::ifstream in(path_);
  if (!in) {
    if (!std::filesystem::exists(path_)) return std::optional<std::string>();
    return internalError("cannot read " + path_ + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

Status FileDocumentStore::store(const std::string& data) {
  return durable::writeFile(path_, data);
}

ZooKeeperDocumentStore::ZooKeeperDocumentStore(std::shared_ptr<Session> session, std::string path,
                                               std::function<std::string()> fence)
    : path_(path), store_(std::move(session), std::move(path)), fence_(std::move(fence)) {}

Result<std::optional<std::string>> ZooKeeperDocumentStore::load() {
  Result<RegistrySnapshot> snapshot = store_.load();
  if (!snapshot.ok()) return snapshot.error();
  version_ = snapshot->version;
  if (snapshot->version < 0) return std::optional<std::string>();
  return std::optional<std::string>(std::move(snapshot->data));
}

Status ZooKeeperDocumentStore::store(const std::string& data) {
  const std::string fence = fence_();
  if (fence.empty()) return failedPrecondition("no longer a candidate for leadership");
  Result<std::int32_t> version = store_.store(data, version_, fence);
  if (!version.ok()) return version.error();
  version_ = *version;
  return {};
}

}  // namespace mantle::zookeeper
