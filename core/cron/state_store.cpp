#include "cron/state_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <json/writer.h>

#include "mantle/common/durable_file.hpp"
#include "mantle/common/strict_json.hpp"

namespace mantle::cron {

namespace {

std::string serialize(const CronState& state) {
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, state.toJson());
}

Result<CronState> deserialize(const std::string& text, const std::string& source) {
  auto json = json::parseStrict(text, source);
  if (!json.ok()) return json.error();
  auto state = CronState::fromJson(*json);
  if (!state.ok()) return state.error().withContext(source);
  return state;
}

Status failure(const std::string& what, const std::string& path) {
  return internalError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::optional<CronState>> FileStateStore::load() {
  std::ifstream in(path_);
  if (!in) {
    if (!std::filesystem::exists(path_)) return std::optional<CronState>();
    return failure("cannot read", path_).error();
  }
  std::stringstream text;
  text << in.rdbuf();
  auto state = deserialize(text.str(), path_);
  if (!state.ok()) return state.error();
  return std::optional<CronState>(std::move(*state));
}

Status FileStateStore::save(const CronState& state) {
  return durable::writeFile(path_, serialize(state));
}

ZooKeeperStateStore::ZooKeeperStateStore(std::shared_ptr<zookeeper::Session> session, std::string path,
                                         std::function<std::string()> fence)
    : path_(path), store_(std::move(session), std::move(path)), fence_(std::move(fence)) {}

Result<std::optional<CronState>> ZooKeeperStateStore::load() {
  auto snapshot = store_.load();
  if (!snapshot.ok()) return snapshot.error();
  version_ = snapshot->version;
  if (snapshot->version < 0) return std::optional<CronState>();
  auto state = deserialize(snapshot->data, "ZooKeeper " + store_.manifestPath());
  if (!state.ok()) return state.error();
  return std::optional<CronState>(std::move(*state));
}

Status ZooKeeperStateStore::save(const CronState& state) {
  const std::string fence = fence_();
  if (fence.empty()) return failedPrecondition("no longer a candidate for leadership");
  auto version = store_.store(serialize(state), version_, fence);
  if (!version.ok()) return version.error();
  version_ = *version;
  return {};
}

}  // namespace mantle::cron
