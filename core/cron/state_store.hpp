// Where mantle-cron keeps its state (jobs, counters, runs in flight, the
// framework id): a file under --work_dir, replaced atomically, or
// ZooKeeper (--zk) through the registry store, each write conditional on the
// version last read and fenced by this instance's leader candidacy, so a
// deposed leader cannot overwrite its successor's state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cron/job.hpp"
#include "mantle/result.hpp"
#include "zookeeper/registry_store.hpp"

namespace mantle::cron {

class StateStore {
 public:
  virtual ~StateStore() = default;
  // None when nothing was stored yet. Errors: unreadable, not parseable.
  virtual Result<std::optional<CronState>> load() = 0;
  // Blocks until the state is durable.
  virtual Status save(const CronState& state) = 0;
  // "file /var/lib/..." or "ZooKeeper /path", for logs.
  virtual std::string describe() const = 0;
};

class FileStateStore : public StateStore {
 public:
  explicit FileStateStore(std::string path) : path_(std::move(path)) {}
  Result<std::optional<CronState>> load() override;
  Status save(const CronState& state) override;
  std::string describe() const override { return "file " + path_; }

 private:
  std::string path_;
};

class ZooKeeperStateStore : public StateStore {
 public:
  // `fence` gives the path of this instance's candidacy znode at write time.
  ZooKeeperStateStore(std::shared_ptr<zookeeper::Session> session, std::string path,
                      std::function<std::string()> fence);
  Result<std::optional<CronState>> load() override;
  Status save(const CronState& state) override;
  std::string describe() const override { return "ZooKeeper " + path_; }

 private:
  std::string path_;
  zookeeper::RegistryStore store_;
  std::function<std::string()> fence_;
  std::int32_t version_ = -1;
};

}  // namespace mantle::cron
