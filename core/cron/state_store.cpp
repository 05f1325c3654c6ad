#include "cron/state_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <json/writer.h>

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
  // A temporary file beside the real one, flushed to disk, then renamed over it.
  const std::string data = serialize(state);
  const std::string temporary = path_ + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failure("cannot write", temporary);
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = failure("cannot write", temporary);
      ::close(fd);
      return s;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = failure("cannot flush", temporary);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path_.c_str()) != 0) return failure("cannot replace", path_);
  return {};
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
